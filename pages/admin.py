"""Administration: users and roles, wall-screen tokens, and the audit log."""
import json

import pandas as pd
import streamlit as st

from pipeline import auth, events, reference
from ui import cases, core, explorer

ACTIONS = ("sign_in", "sign_out", "user.add", "user.disable", "user.enable", "user.role", "user.password",
           "wall_token.add", "model.retrain", "model.rollback", "export", "export.contacts", "sql",
           "placement.add", "placement.edit", "placement.deactivate", "placement.activate", "placement.import")


def refusal(exc: Exception) -> str:
    """An AuthError or Forbidden in the UI language (auth.error.<code>); an error the page made
    itself is already translated."""
    if isinstance(exc, auth.Forbidden):
        return core.t("auth.forbidden_action")
    if getattr(exc, "code", None):
        params = dict(exc.params)
        if "role" in params:
            params["role"] = core.t(f"role.{params['role']}")
        return core.t(f"auth.error.{exc.code}", **params)
    return str(exc)


def detail_value(key: str, value) -> str:
    if key == "role":
        return core.t(f"role.{value}")
    if key == "reason":
        return core.t(f"audit.reason.{value}")
    if isinstance(value, bool):
        return core.t("common.yes" if value else "common.no")
    if key == "region":
        return reference.name(reference.regions(), value, core.lang())
    if key in ("filter", "filters") and isinstance(value, dict):
        return "; ".join(f"{filter_name(k)}: {filter_value(k, v)}" for k, v in value.items() if v not in (None, ""))
    if key == "format":
        return str(value).upper()
    if key == "fields" and isinstance(value, list):  # a placement's changed fields
        return ", ".join(core.t(f"placements.col.{f}") for f in value)
    return str(value)


def filter_name(key: str) -> str:
    names = {"start": "explorer.from", "end": "explorer.to", "q": "explorer.search"}
    return core.t(names.get(key, f"explorer.facet.{key}"))


def filter_value(key: str, value) -> str:
    if key in ("start", "end"):
        return cases.day(value)
    return str(value) if key == "q" else explorer.value_name(key, value)


def detail(text) -> str:
    """The audit record's detail (JSON) in words."""
    if text is None or pd.isna(text) or text == "":
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return str(text)
    if not isinstance(data, dict):
        return str(data)
    return "; ".join(f"{core.t(f'audit.detail.{k}')}: {detail_value(k, v)}" for k, v in data.items())


viewer = core.page_guard("page:admin")
st.title(core.t("admin.title"))
con = auth.connect()
try:
    st.subheader(core.t("admin.users"))
    table = auth.users(con)
    st.dataframe(pd.DataFrame({
        core.t("auth.username"): table["username"], core.t("admin.name"): table["display_name"],
        core.t("admin.role"): table["role"].map(lambda r: core.t(f"role.{r}")),
        core.t("admin.disabled"): table["disabled"].astype(bool), core.t("admin.locked_until"): table["locked_until"].fillna(""),
    }), hide_index=True)
    add, change = st.columns(2)
    with add.form("admin_add", clear_on_submit=True):
        st.markdown(f"**{core.t('admin.add')}**")
        username = st.text_input(core.t("auth.username"))
        name = st.text_input(core.t("admin.name"))
        role = st.selectbox(core.t("admin.role"), [r for r in auth.roles() if r != "wall"],
                            format_func=lambda r: core.t(f"role.{r}"), placeholder=core.t("widget.choose"))
        password = st.text_input(core.t("auth.password"), type="password")
        if st.form_submit_button(core.t("admin.add"), type="primary"):
            try:
                viewer.require("users")
                auth.add_user(con, username, role, password, name, actor=viewer.username)
                st.success(core.t("admin.done"))
            except (auth.AuthError, auth.Forbidden) as exc:
                st.error(refusal(exc))
    with change.form("admin_change"):
        st.markdown(f"**{core.t('admin.change')}**")
        who = st.selectbox(core.t("auth.username"), table["username"].tolist(), placeholder=core.t("widget.choose"))
        what = st.selectbox(core.t("admin.action"), ["disable", "enable", "role", "password"],
                            format_func=lambda a: core.t(f"admin.action.{a}"), placeholder=core.t("widget.choose"))
        new_role = st.selectbox(core.t("admin.role"), [r for r in auth.roles() if r != "wall"],
                                format_func=lambda r: core.t(f"role.{r}"), placeholder=core.t("widget.choose"))
        new_password = st.text_input(core.t("auth.password"), type="password", key="admin_new_password")
        if st.form_submit_button(core.t("admin.apply")) and who:
            try:
                viewer.require("users")
                if what in ("disable", "enable"):
                    if who == viewer.username and what == "disable":
                        raise auth.AuthError(core.t("admin.not_yourself"))
                    auth.set_disabled(con, who, what == "disable", actor=viewer.username)
                elif what == "role":
                    auth.set_role(con, who, new_role, actor=viewer.username)
                else:
                    auth.set_password(con, who, new_password, actor=viewer.username)
                st.success(core.t("admin.done"))
            except (auth.AuthError, auth.Forbidden) as exc:
                st.error(refusal(exc))

    st.subheader(core.t("admin.audit"))
    f1, f2 = st.columns(2)
    actor = f1.text_input(core.t("admin.filter_actor")).strip().lower() or None
    action = f2.selectbox(core.t("admin.filter_action"), [None, *ACTIONS],
                          format_func=lambda a: core.t("filter.all") if a is None else core.t(f"audit.action.{a}"),
                          placeholder=core.t("widget.choose"))
    log = auth.audit_log(con, viewer, actor=actor, action=action, limit=500)
    st.dataframe(pd.DataFrame({
        core.t("deadlines.when"): pd.to_datetime(log["happened_at"], utc=True, format="ISO8601").map(cases.when),
        core.t("deadlines.who"): cases.who_column(log["actor"]), core.t("admin.action"): [core.t(f"audit.action.{a}") for a in log["action"]],
        core.t("admin.target"): log["target"],
        core.t("admin.ok"): log["ok"].astype(bool), core.t("admin.detail"): log["detail"].map(detail),
    }), hide_index=True, height=300)
    st.subheader(core.t("admin.case_changes"))
    changes = events.actions(core.cursor(), actor=actor, limit=500)
    st.dataframe(pd.DataFrame({
        core.t("deadlines.when"): changes["happened_at"].map(cases.when), core.t("deadlines.who"): cases.who_column(changes["actor"]),
        core.t("deadlines.what"): [core.t(f"history.field.{f}") for f in changes["field"]],
        "№": cases.registration_numbers(changes["submission_id"], changes["received_at"]),
        core.t("deadlines.old"): [cases.history_value(f, v) for f, v in zip(changes["field"], changes["old"])],
        core.t("deadlines.new"): [cases.history_value(f, v) for f, v in zip(changes["field"], changes["new"])],
        core.t("deadlines.comment"): changes["comment"].fillna(""),
    }), hide_index=True, height=300)
finally:
    con.close()
