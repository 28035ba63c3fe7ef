"""Shared pieces for case work: names of codes in the UI language, local times, actions with messages."""
from __future__ import annotations


import pandas as pd
import streamlit as st

from pipeline import auth, calendar, i18n, reference, sla, workflow
from ui import core

def when(value) -> str:
    return "—" if value is None or pd.isna(value) else calendar.local(value).strftime("%d.%m.%Y %H:%M")


def registration_numbers(ids: pd.Series, received: pd.Series) -> pd.Series:
    """workflow.registration_number for a whole column."""
    year = pd.to_datetime(received, utc=True).dt.tz_convert(calendar.settings.get("TZ")).dt.year
    return "109-" + year.astype(str) + "-" + ids.astype(str).str.zfill(6)


def when_column(values: pd.Series) -> pd.Series:
    local = pd.to_datetime(values, utc=True).dt.tz_convert(calendar.settings.get("TZ"))
    return local.dt.strftime("%d.%m.%Y %H:%M").fillna("—")


def end_of_local_day(day) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(calendar.settings.get("TZ")) + pd.Timedelta(hours=23, minutes=59, seconds=59)


def name_map(kind: str, lang: str) -> dict[str, str]:
    table = {"category": reference.taxonomy, "district": reference.districts, "department": sla.departments}[kind]()
    return reference.column_map(table, f"name_{lang}")  # kept per table there


def names(kind: str, codes: pd.Series) -> pd.Series:
    """A whole column of codes in the UI language at once (tables list thousands of cases)."""
    return codes.map(name_map(kind, core.lang())).fillna("—")


def category_name(code) -> str:
    return name_map("category", core.lang()).get(code, str(code))


def district_name(code) -> str:
    return "—" if code is None or pd.isna(code) else name_map("district", core.lang()).get(code, str(code))


def department_name(code) -> str:
    return "—" if code is None or pd.isna(code) else name_map("department", core.lang()).get(code, str(code))


def day(value) -> str:
    """A date as staff read it: dd.mm.yyyy."""
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d.%m.%Y")


def refusal(exc: workflow.WorkflowError) -> str:
    """A refused action in the UI language (`workflow.error.<code>`), codes put in words."""
    status = lambda s: core.t(f"status.{s}")  # noqa: E731
    params = dict(exc.params)
    for key in ("current", "to", "status"):
        if key in params:
            params[key] = status(params[key])
    if "allowed" in params:
        params["allowed"] = ", ".join(status(s) for s in params["allowed"]) or core.t("workflow.error.none_allowed")
    if "department" in params:
        params["department"] = department_name(params["department"])
    if "district" in params:
        params["district"] = district_name(params["district"])
    if "priority" in params:
        params["priority"] = core.t(f"priority.{params['priority']}")
    if "limit" in params:
        params["limit"] = day(params["limit"])
    return core.t(f"workflow.error.{exc.code}", **params)


def act(action, *args, **kwargs) -> bool:
    """Run a workflow action on the writer connection; show what was refused and why."""
    try:
        action(core.cursor(), *args, **kwargs)
    except workflow.WorkflowError as exc:
        st.error(refusal(exc))
        return False
    st.session_state["flash"] = core.t("deadlines.done")
    return True


def history_value(field: str, value) -> str:
    """One value of the event log as staff read it: names instead of codes, local times."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return ""
    if field == "status":
        return core.t(f"status.{value}")
    if field == "priority":
        return core.t(f"priority.{value}")
    if field in ("category", "district", "department"):
        return name_map(field, core.lang()).get(value, str(value))
    if field == "category_source":
        return core.t(f"history.source.{value}")
    if field == "category_confidence":
        return core.share(float(value))
    if field == "due_extended":
        return core.t("common.yes" if str(value).lower() == "true" else "common.no")
    if field.endswith("_at"):
        return when(pd.Timestamp(value))
    if field == "forwarded_to" and f"forwarded.{value}" in i18n.table():  # a known body by its code
        return core.t(f"forwarded.{value}")
    return str(value)


def who(name, names: dict[str, str] | None = None) -> str:
    """Who acted: a person by display name when `names` (user name -> display name) is given, else
    by user name; 'system' for the command line and scheduled jobs, 'demo data' for the demo's
    generated events."""
    if name == auth.SYSTEM:
        return core.t("audit.system")
    if (names or {}).get(name):
        return names[name]
    return core.t("history.actor.demo") if name == "demo" else name


def display_names() -> dict[str, str]:
    """User name -> display name, from the users table (who acted, in words)."""
    con = auth.connect()
    try:
        table = auth.users(con)
    finally:
        con.close()
    return dict(zip(table["username"], table["display_name"]))


def who_column(names: pd.Series, display: bool = False) -> list[str]:
    """A column of actors; `display`: people by their display names (case histories), else by
    user name (the audit log, where the account is what matters)."""
    known = display_names() if display else None
    return [who(n, known) for n in names]


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """A case's event log in words: what changed, from what to what, by whom, when (local time)."""
    return pd.DataFrame({
        core.t("deadlines.when"): history["happened_at"].map(when),
        core.t("deadlines.who"): who_column(history["actor"], display=True),
        core.t("deadlines.what"): [core.t(f"history.field.{f}") for f in history["field"]],
        core.t("deadlines.old"): [history_value(f, v) for f, v in zip(history["field"], history["old"])],
        core.t("deadlines.new"): ["" if f == "created" else history_value(f, v)
                                  for f, v in zip(history["field"], history["new"])],
        core.t("deadlines.comment"): history["comment"].fillna(""),
    })
