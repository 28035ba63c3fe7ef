"""Category review: confirm or correct the model's doubtful labels, one by one or in bulk."""
import pandas as pd
import streamlit as st

from pipeline import classify, reference, settings, workflow
from pipeline.queries import review
from ui import cases, core

viewer = core.page_guard("page:review")
st.title(core.t("review.title"))
core.demo_banner()
if "flash" in st.session_state:
    st.success(st.session_state.pop("flash"))

threshold = settings.get_float("REVIEW_THRESHOLD")
con = core.cursor()
c1, c2 = st.columns(2)
category = c1.selectbox(core.t("common.category"), [None, *reference.category_codes()], key="rv_category",
                        format_func=lambda c: core.t("filter.all") if c is None else cases.category_name(c),
                        placeholder=core.t("widget.choose"))
district = c2.selectbox(core.t("filter.district"), [None, *reference.in_order(reference.districts(), core.lang())], key="rv_district",
                        format_func=lambda c: core.t("filter.all") if c is None else cases.district_name(c),
                        placeholder=core.t("widget.choose"))
remaining = review.queue_size(con, threshold, category, district)
st.caption(core.t("review.remaining", n=core.num(remaining), threshold=core.share(threshold)))
rows = review.queue(con, threshold, category, district, limit=50, viewer=viewer)
if rows.empty:
    st.info(core.t("review.empty"))
    st.stop()

codes = reference.category_codes()
mode = st.segmented_control(core.t("review.mode"), ["one", "bulk"], default="one", key="rv_mode", label_visibility="collapsed",
                            format_func=lambda m: core.t("review.one_by_one" if m == "one" else "review.bulk")) or "one"


def save(decisions: dict) -> None:
    review.label(core.cursor(), decisions, viewer)
    st.session_state["flash"] = core.t("review.saved", n=core.num(len(decisions)))
    st.rerun()


if mode == "one":
    skipped = st.session_state.setdefault("rv_skipped", [])
    pending = rows[~rows["id"].isin(skipped)]
    row = (pending if len(pending) else rows).iloc[0]
    top = classify.classify_texts([row["text"]]).iloc[0]
    st.subheader(workflow.registration_number(int(row["id"]), row["received_at"]))
    st.text(row["text"])  # a resident's text is data: never Markdown
    st.caption(f"{cases.when(row['received_at'])} · {cases.district_name(row['district'])}")
    st.info(core.t("review.suggested", first=cases.category_name(row["category"]), c1=row["category_confidence"],
                   second=cases.category_name(top["category2"]), c2=top["confidence2"]))
    b1, b2, b3 = st.columns([1, 2, 1])
    if b1.button(core.t("review.confirm"), type="primary", key=f"rv_ok_{row['id']}"):
        save({int(row["id"]): row["category"]})
    with b2.form(f"rv_fix_{row['id']}", border=False):
        other = [c for c in codes if c != row["category"]]
        new = st.selectbox(core.t("review.correct"), other, index=other.index(top["category2"]) if top["category2"] in other else 0,
                           format_func=cases.category_name, key=f"rv_new_{row['id']}",
                           placeholder=core.t("widget.choose"))
        if st.form_submit_button(core.t("review.save")):
            save({int(row["id"]): new})
    if b3.button(core.t("review.skip"), key=f"rv_skip_{row['id']}"):
        skipped.append(int(row["id"]))
        st.rerun()
else:
    names = {c: cases.category_name(c) for c in codes}
    numbers = cases.registration_numbers(rows["id"], rows["received_at"])  # staff know a case by its number
    ids = dict(zip(numbers, rows["id"]))
    table = pd.DataFrame({"№": numbers, core.t("intake.text"): rows["text"],
                          "%": (100 * rows["category_confidence"]).round(0),
                          core.t("common.category"): rows["category"].map(names), core.t("review.ok"): False})
    edited = st.data_editor(table, hide_index=True, key="rv_bulk", disabled=["№", core.t("intake.text"), "%"],
                            column_config={core.t("common.category"): st.column_config.SelectboxColumn(
                                options=list(names.values()), required=True)})
    if st.button(core.t("review.apply_bulk"), type="primary"):
        by_name = {v: k for k, v in names.items()}
        ticked = edited[edited[core.t("review.ok")]]
        if len(ticked):
            save({int(ids[i]): by_name[n] for i, n in zip(ticked["№"], ticked[core.t("common.category")])})
