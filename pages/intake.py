"""Call intake: register a 109 call while the caller is on the line, with a live category.

The form is a fragment, so typing reruns only the form. The call's text and the address are
Streamlit text inputs with `live`: they report a pause in typing (INTAKE_LIVE) without leaving the
box, and the suggested category, priority and district follow the words as they are typed (a text
area reports only on leaving it or on Ctrl+Enter, which made the operator press twice). The
register button is always there, so one Ctrl+Enter registers, also within the pause. After a
call the form is cleared and its number moves to a small "previous call" line with its time."""
import html

import pandas as pd
import streamlit as st

from pipeline import calendar, reference, sla, workflow
from pipeline.queries import cases as q
from ui import cases, core

LIVE = "300ms"  # pause in typing after which the text is read (Streamlit's own debounce)

viewer = core.page_guard("page:intake")
st.title(core.t("intake.title"))
lang = core.lang()


def _manual(key: str) -> None:
    """The operator chose this field: suggestions no longer overwrite it for this call."""
    st.session_state[f"{key}_manual"] = True


def _follow(key: str, suggested) -> None:
    """Pre-select a suggestion in a field the operator has not chosen by hand."""
    if suggested is not None and not st.session_state.get(f"{key}_manual") and st.session_state.get(key) != suggested:
        st.session_state[key] = suggested


@st.fragment
def call_form() -> None:
    form = st.session_state.setdefault("intake_form", 0)  # a new number clears the fields
    text = st.text_input(core.t("intake.text"), key=f"intake_text_{form}", live=LIVE,
                         placeholder=core.t("intake.text.placeholder"))
    left, mid, right = st.columns(3)
    address = left.text_input(core.t("intake.address"), key=f"intake_address_{form}", live=LIVE)
    contact = right.text_input(core.t("intake.contact"), key=f"intake_contact_{form}")
    district_key = f"intake_district_{form}"
    from_address = reference.district_from_address(address)
    _follow(district_key, from_address)
    district = mid.selectbox(core.t("intake.district"), reference.in_order(reference.districts(), core.lang()), index=None,
                             key=district_key, format_func=cases.district_name,
                             placeholder=core.t("intake.district.pick"), on_change=_manual, args=(district_key,))
    if from_address and district == from_address:
        mid.caption(core.t("intake.district.from_address"))
    elif address.strip() and not from_address and district is None:
        mid.caption(core.t("intake.district.not_found"))

    category = priority = suggestion = None
    if text.strip():
        suggestion = workflow.suggest(text, district)
        st.info(core.t("intake.suggested", category=cases.category_name(suggestion["category"]),
                       confidence=100 * suggestion["confidence"], priority=core.t(f"priority.{suggestion['priority']}")))
        c1, c2 = st.columns(2)
        category_key, priority_key = f"intake_category_{form}", f"intake_priority_{form}"
        _follow(category_key, suggestion["category"])
        _follow(priority_key, suggestion["priority"])
        category = c1.selectbox(core.t("intake.category"), reference.category_codes(), key=category_key,
                                format_func=cases.category_name, on_change=_manual, args=(category_key,),
                                placeholder=core.t("widget.choose"))
        priority = c2.selectbox(core.t("intake.priority"), sla.PRIORITIES, key=priority_key,
                                format_func=lambda p: core.t(f"priority.{p}"), on_change=_manual, args=(priority_key,),
                                placeholder=core.t("widget.choose"))
    else:
        st.caption(core.t("intake.type_text"))

    if st.button(core.t("intake.register.button"), type="primary", shortcut="ctrl+enter", key="intake_register"):
        try:
            case_id, number = workflow.register_call(
                core.cursor(), text, viewer, district=district, address=address, contact=contact,
                category=category if suggestion and category != suggestion["category"] else None,
                priority=priority if suggestion and priority != suggestion["priority"] else None)
        except workflow.WorkflowError as exc:
            st.error(cases.refusal(exc))
        else:
            st.session_state["intake_last"] = (case_id, number)
            st.session_state["intake_form"] = form + 1
            st.rerun()  # the whole page: the previous call's line below changes too


call_form()

if "intake_last" in st.session_state:  # small, with its time: not the number of the call now on the line
    case_id, number = st.session_state["intake_last"]
    case = q.case(core.cursor(), case_id)
    received = calendar.local(case["received_at"])
    today = calendar.local(pd.Timestamp.now(tz="UTC")).date()
    at = received.strftime("%H:%M") if received.date() == today else cases.when(case["received_at"])
    st.divider()
    line = html.escape(core.t("intake.previous", at=at, number="\0", feedback=cases.when(case["feedback_due_at"]),
                              due=cases.when(case["due_at"])))
    st.html("<div style='font-size:0.95rem;opacity:0.8'>" + line.replace(
        "\0", f"<b data-testid='registration-number'>{html.escape(number)}</b>") + "</div>")
