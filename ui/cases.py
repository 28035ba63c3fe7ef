"""Shared pieces for case work: names of codes in the UI language, local times, actions with messages."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline import calendar, reference, sla, workflow
from ui import core

ACTOR_KEY = "actor"


def actor() -> str:
    # No login yet: actions are signed by the session's operator name.
    return st.session_state.get(ACTOR_KEY, "operator")


def when(value) -> str:
    return "—" if value is None or pd.isna(value) else calendar.local(value).strftime("%d.%m.%Y %H:%M")


def end_of_local_day(day) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(calendar.settings.get("TZ")) + pd.Timedelta(hours=23, minutes=59, seconds=59)


def category_name(code) -> str:
    return reference.name(reference.taxonomy(), code, core.lang())


def district_name(code) -> str:
    return "—" if code is None or pd.isna(code) else reference.name(reference.districts(), code, core.lang())


def department_name(code) -> str:
    return "—" if code is None or pd.isna(code) else reference.name(sla.departments(), code, core.lang())


def act(action, *args, **kwargs) -> bool:
    """Run a workflow action on the writer connection; show what was refused and why."""
    try:
        action(core.cursor(), *args, **kwargs)
    except workflow.WorkflowError as exc:
        st.error(str(exc))
        return False
    st.session_state["flash"] = core.t("deadlines.done")
    return True
