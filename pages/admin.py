"""Administration: users and roles, wall-screen tokens, and the audit log."""
import pandas as pd
import streamlit as st

from pipeline import auth, events
from ui import cases, core

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
                            format_func=lambda r: core.t(f"role.{r}"))
        password = st.text_input(core.t("auth.password"), type="password")
        if st.form_submit_button(core.t("admin.add"), type="primary"):
            try:
                viewer.require("users")
                auth.add_user(con, username, role, password, name, actor=viewer.username)
                st.success(core.t("admin.done"))
            except (auth.AuthError, auth.Forbidden) as exc:
                st.error(str(exc))
    with change.form("admin_change"):
        st.markdown(f"**{core.t('admin.change')}**")
        who = st.selectbox(core.t("auth.username"), table["username"].tolist())
        what = st.selectbox(core.t("admin.action"), ["disable", "enable", "role", "password"],
                            format_func=lambda a: core.t(f"admin.action.{a}"))
        new_role = st.selectbox(core.t("admin.role"), [r for r in auth.roles() if r != "wall"],
                                format_func=lambda r: core.t(f"role.{r}"))
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
                st.error(str(exc))

    st.subheader(core.t("admin.audit"))
    f1, f2 = st.columns(2)
    actor = f1.text_input(core.t("admin.filter_actor")).strip().lower() or None
    action = f2.selectbox(core.t("admin.filter_action"), [None, "sign_in", "sign_out", "user.add", "user.disable",
                                                          "user.enable", "user.role", "user.password", "wall_token.add",
                                                          "model.retrain", "model.rollback"],
                          format_func=lambda a: core.t("filter.all") if a is None else a)
    log = auth.audit_log(con, viewer, actor=actor, action=action, limit=500)
    st.dataframe(pd.DataFrame({
        core.t("deadlines.when"): pd.to_datetime(log["happened_at"], utc=True, format="ISO8601").map(cases.when),
        core.t("deadlines.who"): log["actor"], core.t("admin.action"): log["action"], core.t("admin.target"): log["target"],
        core.t("admin.ok"): log["ok"].astype(bool), core.t("admin.detail"): log["detail"].fillna(""),
    }), hide_index=True, height=300)
    st.subheader(core.t("admin.case_changes"))
    changes = events.actions(core.cursor(), actor=actor, limit=500)
    st.dataframe(pd.DataFrame({
        core.t("deadlines.when"): changes["happened_at"].map(cases.when), core.t("deadlines.who"): changes["actor"],
        core.t("deadlines.what"): changes["field"], "№": changes["submission_id"],
        core.t("deadlines.old"): changes["old"].fillna(""), core.t("deadlines.new"): changes["new"].fillna(""),
        core.t("deadlines.comment"): changes["comment"].fillna(""),
    }), hide_index=True, height=300)
finally:
    con.close()
