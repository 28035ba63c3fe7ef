"""Residents' ideas: proposals grouped by what they say, ranked by support and recency; an idea's
proposals; merge and split (idea:group); a decision and its answer (idea:decide); publishing the
accepted ones for the public form."""
import datetime as dt

import streamlit as st

from pipeline import reference, sla
from ui import cases, core
from ui import ideas as ui

viewer = core.page_guard("page:ideas")
t = core.t
st.title(t("ideas.title"))
st.caption(t("ideas.caption"))
ui.show_done()

left, middle, right = st.columns(3)
district = left.selectbox(t("ideas.filter.district"), [None, *reference.in_order(reference.districts(), core.lang())], key="id_district",
                          format_func=lambda c: t("filter.all") if c is None else cases.district_name(c),
                          placeholder=core.t("widget.choose"))
category = middle.selectbox(t("ideas.filter.category"), [None, *reference.category_codes()], key="id_category",
                            format_func=lambda c: t("filter.all") if c is None else cases.category_name(c),
                            placeholder=core.t("widget.choose"))
decision = right.selectbox(t("ideas.filter.decision"), [None, "none", *ui.DECISIONS], key="id_decision",
                           format_func=lambda d: t("filter.all") if d is None else ui.decision_name(None if d == "none" else d),
                           placeholder=core.t("widget.choose"))
frame = ui.ranked(viewer, district, category, decision)
st.caption(t("ideas.count", n=core.num(len(frame)), proposals=core.num(frame["supporters"].sum() if len(frame) else 0)))
if frame.empty:
    st.info(t("ideas.none"))
    st.stop()
st.dataframe(ui.ranked_table(frame), hide_index=True, height=360)

rows = {int(r["idea_id"]): r for r in frame.to_dict("records")}
idea = st.selectbox(t("ideas.pick"), list(rows), key="id_pick", format_func=lambda i: ui.label(rows[i]),
                    placeholder=core.t("widget.choose"))
row = rows[idea]
st.subheader(t("ideas.idea", idea=idea))
st.text(row["text"] or "")  # residents' text: plain text, never Markdown
st.caption(t("ideas.summary", n=core.num(row["supporters"]), first=cases.day(row["first_at"]), last=cases.day(row["last_at"]),
             decision=ui.decision_name(row["decision"])))
if isinstance(row["answer"], str) and row["answer"]:
    st.text(t("ideas.answer_was") + " " + row["answer"])
proposals = ui.members(idea, viewer)
if len(proposals) < int(row["supporters"]):
    st.caption(t("ideas.members_shown", shown=core.num(len(proposals)), n=core.num(row["supporters"])))
st.dataframe(ui.members_table(proposals), hide_index=True)

if viewer.can("idea:group"):
    with st.expander(t("ideas.group")):
        others = [i for i in rows if i != idea]
        other = st.selectbox(t("ideas.merge_with"), others, key="id_merge_other", format_func=lambda i: ui.label(rows[i]),
                             placeholder=core.t("widget.choose"))
        if st.button(t("ideas.merge"), key="id_merge", disabled=not others):
            if ui.act(ui.ideas.merge, viewer, idea, other):
                ui.done(t("ideas.merged", idea=idea, other=other))
        ids = proposals["id"].astype(int).tolist()
        one = st.selectbox(t("ideas.split_pick"), ids, key="id_split_pick", format_func=lambda i: f"{i:06d}",
                           placeholder=core.t("widget.choose"))
        if st.button(t("ideas.split"), key="id_split", disabled=len(ids) < 2):
            new = ui.act(ui.ideas.split, viewer, one)
            if new:
                ui.done(t("ideas.splitted", number=f"{one:06d}", idea=new))

if viewer.can("idea:decide"):
    with st.form(f"id_decide_{idea}"):
        st.subheader(t("ideas.decide"))
        # nothing chosen for an undecided idea (a pre-selected "accepted" read as a decision already
        # made); the current decision for a decided one, and each idea's choice its own
        current = row["decision"] if row["decision"] in ui.DECISIONS else None
        choice = st.radio(t("ideas.decision"), list(ui.DECISIONS), key=f"id_choice_{idea}", horizontal=True,
                          format_func=ui.decision_name,
                          index=None if current is None else list(ui.DECISIONS).index(current))
        departments = sla.departments()["code"].tolist()
        department = st.selectbox(t("ideas.department"), [None, *departments], key="id_department",
                                  format_func=lambda c: t("ideas.department_none") if c is None else cases.department_name(c),
                                  placeholder=core.t("widget.choose"))
        decided_on = st.date_input(t("ideas.date"), value=dt.date.today(), key="id_date", format="DD.MM.YYYY")
        reason = st.text_input(t("ideas.reason"), key="id_reason", max_chars=2000)
        title = st.text_input(t("ideas.title_field"), key="id_title", max_chars=200)
        answer = st.text_area(t("ideas.answer"), key="id_answer", max_chars=4000)
        if st.form_submit_button(t("ideas.save")):
            if choice is None:
                st.error(t("ideas.error.no_decision"))
            elif ui.act(ui.ideas.decide, viewer, idea, choice, answer=answer, department=department,
                      decided_on=decided_on, reason=reason, title=title):
                ui.done(t("ideas.saved", idea=idea, decision=ui.decision_name(choice)))
    if st.button(t("ideas.publish"), key="id_publish"):
        result = ui.publish(viewer)
        if result:
            ui.done(t("ideas.published", n=result[1]))
