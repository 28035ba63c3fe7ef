"""Deadlines: what is overdue, due today, this week or at risk; open a case, see its history, act."""
import datetime as dt

import pandas as pd
import streamlit as st

from pipeline import events, figures, reference, sla, workflow
from pipeline.queries import cases as q
from ui import cases, core, widgets

LIST_PAGE = 500  # cases per page of the list

viewer = core.page_guard("page:deadlines")
st.title(core.t("deadlines.title"))
core.demo_banner()
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"))

now = dt.datetime.now(dt.timezone.utc)
con = core.cursor()
lang = core.lang()
f = widgets.filters()  # the one district (and region) selector, in the side panel; its period is the metrics'
c1, c3 = st.columns(2)
department = c1.selectbox(core.t("deadlines.department"), [None, *sla.departments()["code"]], key="dl_department",
                          format_func=lambda c: core.t("filter.all") if c is None else cases.department_name(c),
                          placeholder=core.t("widget.choose"))
category = c3.selectbox(core.t("common.category"), [None, *reference.category_codes()], key="dl_category",
                        format_func=lambda c: core.t("filter.all") if c is None else cases.category_name(c),
                        placeholder=core.t("widget.choose"))
district, region = f.district, f.region

counts = q.bucket_counts(con, now, department, district, category, region=region)
bucket = st.segmented_control(
    core.t("deadlines.bucket"), q.BUCKETS, default="overdue", key="dl_bucket", label_visibility="collapsed",
    format_func=lambda b: f"{core.t(f'deadlines.bucket.{b}')}: {counts[b]}") or "overdue"
# The list is every open case, whenever received: the side panel's period is for the metrics below.
st.caption(figures.caption("open", lang, region=region, district=district) + ". " + core.t("deadlines.list_scope"))
# Paged in SQL: at national scale a bucket holds hundreds of thousands of cases.
pages = max(1, -(-counts[bucket] // LIST_PAGE))
page = 1
if pages > 1:
    page = st.number_input(core.t("deadlines.page").format(pages=pages), 1, pages, 1, key=f"dl_page_{bucket}")
    st.caption(core.t("deadlines.page_rows").format(first=core.num((page - 1) * LIST_PAGE + 1),
                                                    last=core.num(min(page * LIST_PAGE, counts[bucket])),
                                                    total=core.num(counts[bucket])))
rows = q.bucket_cases(con, bucket, now, department, district, category, viewer=viewer, region=region,
                      limit=LIST_PAGE, offset=(page - 1) * LIST_PAGE)
if bucket == "overdue":  # the same cases in the explorer, where they can be searched and exported
    st.page_link("pages/explorer.py", label=core.t("deadlines.open_overdue"), icon=":material/search:",
                 query_params=widgets.open_cases_filters(department, district, category, overdue=True,
                                                         region=region).params())
if rows.empty:
    st.caption(core.t("deadlines.none"))
else:
    widgets.without_table_toolbar("dl_list")
    st.container(key="dl_list").dataframe(pd.DataFrame({
        "№": cases.registration_numbers(rows["id"], rows["received_at"]),
        core.t("deadlines.received"): cases.when_column(rows["received_at"]),
        core.t("deadlines.status"): rows["status"].map({s: core.t(f"status.{s}") for s in workflow.STATUSES}),
        core.t("intake.priority"): rows["priority"].map({p: core.t(f"priority.{p}") for p in sla.PRIORITIES}),
        core.t("common.category"): cases.names("category", rows["category"]),
        core.t("filter.district"): cases.names("district", rows["district"]),
        core.t("deadlines.department"): cases.names("department", rows["department"]),
        core.t("deadlines.due"): cases.when_column(rows["due_at"]),
        core.t("intake.text"): rows["text"],
    }), hide_index=True, height=320)

with st.expander(core.t("deadlines.by_department")):
    st.caption(figures.caption("open", lang))
    table = q.by_department(con, now)
    st.dataframe(pd.DataFrame({
        core.t("deadlines.department"): cases.names("department", table["department"]),
        core.t("filter.district"): cases.names("district", table["district"]),
        core.t("overview.kpi.open"): table["open"], core.t("overview.kpi.overdue"): table["overdue"],
    }), hide_index=True, height=300)

options = [None, *rows["id"].tolist()]  # this page of the list; any number can be typed below
numbers = {i: workflow.registration_number(i, at) for i, at in zip(rows["id"], rows["received_at"])}
picked = st.selectbox(core.t("deadlines.case"), options, key="dl_case",
                      format_func=lambda i: "—" if i is None else numbers[i], placeholder=core.t("widget.choose"))
typed = st.text_input(core.t("deadlines.case_number"), key="dl_case_typed", placeholder="109-2026-000123")
case_id = picked
if typed.strip():
    digits = typed.strip().split("-")[-1]
    case_id = int(digits) if digits.isdigit() else -1

if case_id is not None:
    case = q.case(con, case_id, viewer)
    if case is None:
        st.warning(core.t("deadlines.not_found", number=core.typed_words(typed)))
    else:
        number = workflow.registration_number(case_id, case["received_at"])
        st.subheader(f"{number} · {cases.category_name(case['category'])} · {cases.district_name(case['district'])}")
        st.text(case["text"])  # a resident's text is data: never Markdown
        m = st.columns(5)
        m[0].metric(core.t("deadlines.status"), core.t(f"status.{case['status']}"))
        m[1].metric(core.t("intake.priority"), core.t(f"priority.{case['priority']}"))
        for col, key, field in ((m[2], "deadlines.received", "received_at"),
                                (m[3], "deadlines.feedback_due", "feedback_due_at"), (m[4], "deadlines.due", "due_at")):
            col.markdown(f"{core.t(key)}  \n**{cases.when(case[field])}**")
        st.caption(f"{core.t('deadlines.department')}: {cases.department_name(case['department'])}")

        if viewer.can("case:act"):  # analysts and the akim see cases, operators act on them
            a1, a2 = st.columns(2)
            targets = workflow.allowed(case["status"])
            with a1.form(f"status_{case_id}"):
                st.markdown(f"**{core.t('deadlines.change_status')}**")
                if targets:
                    to = st.selectbox(core.t("deadlines.status"), targets, format_func=lambda s: core.t(f"status.{s}"),
                                      key=f"to_{case_id}", placeholder=core.t("widget.choose"))
                    comment = st.text_input(core.t("deadlines.comment"), key=f"comment_{case_id}")
                    if st.form_submit_button(core.t("deadlines.apply"), type="primary"):
                        if cases.act(workflow.transition, case_id, to, viewer, comment or None):
                            st.rerun()
                else:
                    st.caption(core.t("deadlines.final"))
                    st.form_submit_button(core.t("deadlines.apply"), disabled=True)
            with a2.form(f"extend_{case_id}"):
                st.markdown(f"**{core.t('deadlines.extend')}**")
                new_due = st.date_input(core.t("deadlines.new_due"), value=None, format="DD.MM.YYYY", key=f"due_{case_id}")
                reason = st.text_input(core.t("deadlines.reason"), key=f"reason_{case_id}")
                if st.form_submit_button(core.t("deadlines.apply")) and new_due is not None:
                    if cases.act(workflow.extend, case_id, cases.end_of_local_day(new_due), reason, viewer):
                        st.rerun()
            b1, b2 = st.columns(2)
            with b1.form(f"reassign_{case_id}"):
                st.markdown(f"**{core.t('deadlines.reassign')}**")
                dept = st.selectbox(core.t("deadlines.department"), sla.departments()["code"].tolist(),
                                    format_func=cases.department_name, key=f"dept_{case_id}",
                                    placeholder=core.t("widget.choose"))
                if st.form_submit_button(core.t("deadlines.apply")):
                    if cases.act(workflow.reassign, case_id, dept, viewer):
                        st.rerun()
            if case["status"] == "resolved" and pd.isna(case["resident_confirmed_at"]):
                if b2.button(core.t("deadlines.confirm"), key=f"confirm_{case_id}"):
                    if cases.act(workflow.confirm_by_resident, case_id, viewer):
                        st.rerun()

        st.markdown(f"**{core.t('deadlines.history')}**")
        history = events.history(con, case_id, viewer)
        st.table(cases.history_table(history), hide_index=True)

st.divider()
st.subheader(core.t("deadlines.metrics"))
st.caption(figures.caption_for("received", lang, f))
s = q.summary(con, f, now)
pct = lambda v: core.share(v, 1)  # noqa: E731
num = lambda v: "—" if v is None else core.decimal(v)  # noqa: E731
said = lambda population: figures.caption_for(population, lang, f)  # noqa: E731
# Two rows of four: seven in one row cut the longer labels at 1920 wide ("Медиана до обратной связи, …").
m = st.columns(4)  # shares and counts
m[0].metric(core.t("deadlines.m.feedback_in_time"), pct(s["feedback_in_time"]), help=said("feedback_in_time"))
m[1].metric(core.t("deadlines.m.resolved_on_time"), pct(s["resolved_on_time"]), help=said("resolved_on_time"))
m[2].metric(core.t("deadlines.m.reopen_rate"), pct(s["reopen_rate"]), help=said("received"))
m[3].metric(core.t("deadlines.m.backlog"), core.num(s["backlog"]), help=said("open"))
m = st.columns(4)  # durations in days
m[0].metric(core.t("deadlines.m.median_feedback"), num(s["median_days_to_feedback"]), help=said("received"))
m[1].metric(core.t("deadlines.m.median_resolution"), num(s["median_days_to_resolution"]), help=said("received"))
m[2].metric(core.t("deadlines.m.p90_resolution"), num(s["p90_days_to_resolution"]), help=said("received"))
