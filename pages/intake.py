"""Call intake: register a 109 call while the caller is on the line, with a live category."""
import streamlit as st

from pipeline import reference, sla, workflow
from pipeline.queries import cases as q
from ui import cases, core

viewer = core.page_guard("page:intake")
st.title(core.t("intake.title"))
lang = core.lang()
form = st.session_state.setdefault("intake_form", 0)  # a new number clears the fields

text = st.text_area(core.t("intake.text"), key=f"intake_text_{form}", height=140)
left, mid, right = st.columns(3)
address = left.text_input(core.t("intake.address"), key=f"intake_address_{form}")
districts = reference.districts()
district = mid.selectbox(core.t("intake.district"), [None, *districts["code"]], key=f"intake_district_{form}",
                         format_func=lambda c: "—" if c is None else cases.district_name(c))
contact = right.text_input(core.t("intake.contact"), key=f"intake_contact_{form}")

if text.strip():
    suggestion = workflow.suggest(text, district)
    st.info(core.t("intake.suggested", category=cases.category_name(suggestion["category"]),
                   confidence=100 * suggestion["confidence"], priority=core.t(f"priority.{suggestion['priority']}")))
    codes = reference.category_codes()
    c1, c2 = st.columns(2)
    category = c1.selectbox(core.t("intake.category"), codes, index=codes.index(suggestion["category"]),
                            format_func=cases.category_name, key=f"intake_category_{form}")
    priority = c2.selectbox(core.t("intake.priority"), sla.PRIORITIES, index=sla.PRIORITIES.index(suggestion["priority"]),
                            format_func=lambda p: core.t(f"priority.{p}"), key=f"intake_priority_{form}")
    if st.button(core.t("intake.register"), type="primary", shortcut="ctrl+enter"):
        try:
            case_id, number = workflow.register_call(
                core.cursor(), text, viewer, district=district, address=address, contact=contact,
                category=category if category != suggestion["category"] else None,
                priority=priority if priority != suggestion["priority"] else None)
        except workflow.WorkflowError as exc:
            st.error(cases.refusal(exc))
        else:
            st.session_state["intake_last"] = (case_id, number)
            st.session_state["intake_form"] = form + 1
            st.rerun()
else:
    st.caption(core.t("intake.type_text"))

if "intake_last" in st.session_state:
    case_id, number = st.session_state["intake_last"]
    case = q.case(core.cursor(), case_id)
    st.success(core.t("intake.read_back", number=number, feedback=cases.when(case["feedback_due_at"]),
                      due=cases.when(case["due_at"])))
    st.markdown(f"<div style='font-size:3rem;font-weight:700' data-testid='registration-number'>{number}</div>",
                unsafe_allow_html=True)
