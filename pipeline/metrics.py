"""Case metrics as pure functions of a DataFrame of cases (columns received_at, feedback_due_at,
feedback_at, due_at, resolved_at, status, reopened, category, district, department) and a `now`.

Definitions (the same everywhere in the app):
- feedback in time: feedback_at <= feedback_due_at, among cases whose feedback is given or due;
- resolved on time: resolved_at <= due_at, among cases resolved or already past due;
- open: status in new, feedback_given, in_progress, reopened; backlog age in days since received;
- reopen rate: share of resolved-at-some-point cases that were reopened.
"""
from __future__ import annotations

import math

import pandas as pd

from pipeline.queries.filters import OPEN_STATUSES

OPEN = OPEN_STATUSES
DAY = pd.Timedelta(days=1)


def quantile(values, q: float) -> float | None:
    """Linear-interpolated quantile of the non-missing values (None when there are none)."""
    xs = sorted(v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)))
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values) -> float | None:
    return quantile(values, 0.5)


def _share(hit: pd.Series, base: pd.Series) -> float | None:
    n = int(base.sum())
    return None if n == 0 else float((hit & base).sum()) / n


def feedback_in_time(df: pd.DataFrame, now) -> float | None:
    due = df["feedback_at"].notna() | (df["feedback_due_at"] < now)
    return _share(df["feedback_at"].notna() & (df["feedback_at"] <= df["feedback_due_at"]), due)


def resolved_on_time(df: pd.DataFrame, now) -> float | None:
    counted = df["resolved_at"].notna() | (df["due_at"] < now)
    return _share(df["resolved_at"].notna() & (df["resolved_at"] <= df["due_at"]), counted)


def days_between(start: pd.Series, end: pd.Series) -> list[float]:
    return [d for d in ((end - start) / DAY).tolist() if d == d]


def summary(df: pd.DataFrame, now) -> dict:
    open_ = df["status"].isin(OPEN)
    to_feedback = days_between(df["received_at"], df["feedback_at"])
    to_resolution = days_between(df["received_at"], df["resolved_at"])
    ever_resolved = df["resolved_at"].notna() | df["reopened"]
    age = ((now - df.loc[open_, "received_at"]) / DAY).tolist()
    return {
        "cases": len(df),
        "feedback_in_time": feedback_in_time(df, now),
        "resolved_on_time": resolved_on_time(df, now),
        "median_days_to_feedback": median(to_feedback),
        "p90_days_to_feedback": quantile(to_feedback, 0.9),
        "median_days_to_resolution": median(to_resolution),
        "p90_days_to_resolution": quantile(to_resolution, 0.9),
        "backlog": int(open_.sum()),
        "backlog_median_age_days": median(age),
        "overdue": int((open_ & (df["due_at"] < now)).sum()),
        "reopen_rate": _share(df["reopened"], ever_resolved),
    }


def summary_by(df: pd.DataFrame, now, by: str) -> pd.DataFrame:
    """summary() for each value of a column (category, district or department)."""
    rows = [{by: key, **summary(group, now)} for key, group in df.groupby(by, dropna=False)]
    return pd.DataFrame(rows).sort_values("cases", ascending=False, ignore_index=True)
