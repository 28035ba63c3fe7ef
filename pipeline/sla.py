"""Initial case fields for new submissions: priority, department and the two deadlines.

Rules are data: data/sla_rules.csv (per category and priority: feedback and resolution terms in
working days or hours), data/emergency_words.csv (words that make a case an emergency or high
priority, some only in the heating season), data/departments.csv (category -> department).
Contract: initial_case_fields(frame[received_at, category, text, district]) ->
frame[priority, department, feedback_due_at, due_at] with the same index.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from pipeline import calendar, reference, settings

PRIORITIES = ("emergency", "high", "normal")


@functools.cache
def rules() -> pd.DataFrame:
    return pd.read_csv(reference.DATA / "sla_rules.csv", keep_default_na=False)


@functools.cache
def policy() -> dict[str, str]:
    frame = pd.read_csv(reference.DATA / "sla_policy.csv", dtype=str, keep_default_na=False)
    return dict(zip(frame["key"], frame["value"]))


@functools.cache
def emergency_words() -> pd.DataFrame:
    return pd.read_csv(reference.DATA / "emergency_words.csv", keep_default_na=False)


@functools.cache
def departments() -> pd.DataFrame:
    return pd.read_csv(reference.DATA / "departments.csv", keep_default_na=False)


@functools.cache
def department_of() -> dict[str, str]:
    return {cat: row.code for row in departments().itertuples() for cat in row.categories.split("|")}


def in_heating_season(instants: pd.Series) -> np.ndarray:
    local = instants.dt.tz_convert(settings.get("TZ"))
    md = local.dt.month * 100 + local.dt.day
    start = int(policy()["heating_season_start"].replace("-", ""))
    end = int(policy()["heating_season_end"].replace("-", ""))
    return ((md >= start) | (md <= end)).to_numpy()


def priority_of(frame: pd.DataFrame) -> pd.Series:
    """Emergency words of the case's own category win, then words that make any case high."""
    text = frame["text"].fillna("").str.lower().str.replace("ё", "е")
    received = pd.to_datetime(frame["received_at"], utc=True)
    out = pd.Series("normal", index=frame.index, dtype=object)
    heating = in_heating_season(received)
    for row in emergency_words().sort_values("priority", key=lambda s: s.map(PRIORITIES.index),
                                             ascending=False).itertuples():
        hit = text.str.contains(row.pattern, regex=True).to_numpy().copy()
        if row.category != "*":
            hit &= (frame["category"] == row.category).to_numpy()
        if row.season == "heating":
            hit &= heating
        out[hit] = row.priority  # applied from lowest to highest, so the highest wins
    return out


def deadlines(received: pd.Series, category: pd.Series, priority: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Feedback and resolution deadlines from the rule of each (category, priority)."""
    r = rules()
    specific = r[r["category"] != "*"].set_index(["category", "priority"])
    generic = r[r["category"] == "*"].set_index("priority")
    keys = pd.MultiIndex.from_arrays([category.fillna("other"), priority])
    picked = specific.reindex(keys)
    fallback = generic.reindex(priority.to_numpy())
    picked = picked.reset_index(drop=True).combine_first(fallback.reset_index(drop=True))
    picked.index = received.index
    out = []
    for kind in ("feedback", "resolution"):
        due = pd.Series(pd.NaT, index=received.index, dtype="datetime64[us, UTC]")
        for unit, rows in picked.groupby(f"{kind}_unit").groups.items():
            values = picked.loc[rows, f"{kind}_value"].astype(float)
            if unit == "working_days":
                due[rows] = calendar.add_working_days_series(received[rows], values.astype(int).to_numpy())
            elif unit == "hours":
                due[rows] = calendar.add_hours_series(received[rows], values.to_numpy())
            else:
                raise ValueError(f"data/sla_rules.csv: unknown unit {unit!r} (working_days or hours)")
        out.append(due)
    return out[0], out[1]


def initial_case_fields(frame: pd.DataFrame) -> pd.DataFrame:
    received = pd.to_datetime(frame["received_at"], utc=True)
    priority = priority_of(frame)
    feedback_due, due = deadlines(received, frame["category"], priority)
    return pd.DataFrame({
        "priority": priority,
        "department": frame["category"].map(department_of()).fillna("district_akimat"),
        "feedback_due_at": feedback_due,
        "due_at": due,
    }, index=frame.index)
