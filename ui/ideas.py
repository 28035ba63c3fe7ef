"""Pieces of the ideas page: the ranked ideas and an idea's proposals as tables in the interface
language, and staff's writes with refusals in words. Reads and writes go through pipeline.ideas,
which checks the viewer's permissions and masks texts for the viewer itself."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline import auth, ideas
from ui import cases, core
from ui.widgets import done, show_done  # noqa: F401  (the page calls them as ui.done, ui.show_done)

DECISIONS = ideas.DECISIONS


def decision_name(code) -> str:
    return core.t("ideas.decision.none") if code is None or pd.isna(code) else core.t(f"ideas.decision.{code}")


# ---- reads ---------------------------------------------------------------------------------------
def ranked(viewer, district=None, category=None, decision=None) -> pd.DataFrame:
    return ideas.ideas_table(core.cursor(), viewer, district=district, category=category, decision=decision)


def members(idea_id: int, viewer) -> pd.DataFrame:
    return ideas.members(core.cursor(), idea_id, viewer)


def ranked_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The ranked ideas in words: residents' text as data (st.dataframe shows it as plain text)."""
    t = core.t
    return pd.DataFrame({
        t("ideas.col.idea"): frame["idea_id"].astype(int).map(lambda i: f"№ {i}"),
        t("ideas.col.supporters"): frame["supporters"].astype(int),
        t("ideas.col.text"): frame["text"].fillna("").astype(str),
        t("ideas.col.category"): cases.names("category", frame["category"]),
        t("ideas.col.districts"): [", ".join(cases.district_name(d) for d in ds[:3]) + (" …" if len(ds) > 3 else "")
                                   for ds in frame["districts"]],
        t("ideas.col.last"): frame["last_at"].map(cases.day),
        t("ideas.col.decision"): frame["decision"].map(decision_name),
    })


def members_table(frame: pd.DataFrame) -> pd.DataFrame:
    t = core.t
    return pd.DataFrame({
        t("ideas.col.number"): frame["id"].astype(int).map(lambda i: f"{i:06d}"),
        t("ideas.col.received"): frame["received_at"].map(cases.day),
        t("ideas.col.district"): frame["district"].map(cases.district_name),
        t("ideas.col.text"): frame["text"].fillna("").astype(str),
    })


def label(row) -> str:
    """An idea in a picker: its number, supporters and the start of its text (plain text)."""
    text = " ".join(str(row["text"] or "").split())
    return core.t("ideas.label", idea=int(row["idea_id"]), n=int(row["supporters"]),
                  text=text[:70] + ("…" if len(text) > 70 else ""))


# ---- writes --------------------------------------------------------------------------------------
def refusal(exc: Exception) -> str:
    if isinstance(exc, auth.Forbidden):
        return core.t("auth.forbidden_action")
    if isinstance(exc, ideas.IdeaError):
        return core.t(f"ideas.error.{exc.code}", **{k: v for k, v in exc.params.items() if k != "decision"})
    return core.t("ideas.error.unexpected")


def act(action, *args, **kwargs):
    """Run a write; a refusal is shown in the interface language. The result (True for None), or
    None when refused."""
    try:
        out = action(core.cursor(), *args, **kwargs)
        return True if out is None else out
    except (ideas.IdeaError, auth.Forbidden) as exc:
        st.error(refusal(exc))
    return None


def publish(viewer):
    """Publish decisions.json for the public form (people who may decide only)."""
    try:
        auth.actor_of(viewer, "idea:decide")
    except auth.Forbidden as exc:
        st.error(refusal(exc))
        return None
    return act(ideas.publish_decisions)
