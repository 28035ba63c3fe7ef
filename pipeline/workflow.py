"""The case workflow: feedback to the resident first, then the work, each step an event.

Allowed transitions are data (data/workflow.csv): a case cannot go to work or be resolved before
the resident has had feedback. Every change goes through events.change, so who, when and why is
in the append-only log. "Closed by the department" (resolved_at) and "confirmed by the resident"
(resident_confirmed_at) are recorded separately: a closed case is not always a fixed one.
"""
from __future__ import annotations

import datetime as dt
import functools
import uuid

import duckdb
import pandas as pd

from pipeline import auth, calendar, classify, events, reference, rollup, search, sla, store
from pipeline.queries.filters import OPEN_STATUSES

STATUSES = ("new", "feedback_given", "in_progress", "resolved", "rejected", "forwarded", "reopened")
OPEN = OPEN_STATUSES


class WorkflowError(ValueError):
    """A refused action. str() is the English message for the command line and the logs; pages show
    the translation of `workflow.error.<code>` (data/i18n/workflow.csv) formatted with `params`:
    `case` is the registration number, statuses (`current`, `to`, `status`, the list `allowed`),
    `department`, `district` and `priority` are codes the page puts in words."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


@functools.cache
def transitions() -> dict[str, dict[str, bool]]:
    frame = pd.read_csv(reference.DATA / "workflow.csv", keep_default_na=False)
    out: dict[str, dict[str, bool]] = {s: {} for s in STATUSES}
    for row in frame.itertuples():
        out[row[1]][row.to] = row.requires_comment == "yes"
    return out


def allowed(status: str) -> list[str]:
    return list(transitions().get(status, {}))


def _now(at):
    return at or dt.datetime.now(dt.timezone.utc)


def _case(con, case_id: int) -> dict:
    rows = con.execute("SELECT * FROM submissions WHERE id = ?", [case_id]).df()
    if rows.empty:
        raise WorkflowError("not_found", f"case {case_id} does not exist", case=str(case_id))
    return rows.iloc[0].to_dict()


def _number(case: dict) -> str:
    return registration_number(int(case["id"]), case["received_at"])


def transition(con: duckdb.DuckDBPyConnection, case_id: int, to: str, actor, comment: str | None = None,
               at: dt.datetime | None = None, forwarded_to: str | None = None) -> list[str]:
    """`actor`, here and in every action: a signed-in auth.Viewer (who must be allowed to act on
    cases) or the name of a trusted process."""
    actor = auth.actor_of(actor, "case:act")
    at = _now(at)
    with store.transaction(con):
        case = _case(con, case_id)
        current = case["status"]
        targets = transitions().get(current, {})
        if to not in targets:
            raise WorkflowError("not_allowed", f"case {case_id}: cannot go from '{current}' to '{to}'; allowed: "
                                f"{', '.join(targets) or 'none (final status)'}",
                                case=_number(case), current=current, to=to, allowed=list(targets))
        if targets[to] and not (comment or "").strip():
            raise WorkflowError("needs_comment", f"case {case_id}: going from '{current}' to '{to}' needs a comment",
                                case=_number(case), current=current, to=to)
        changes: dict = {"status": to}
        if to == "feedback_given":
            changes["feedback_at"] = at
        elif to == "resolved":
            changes["resolved_at"] = at
        elif to == "reopened":
            changes.update(resolved_at=None, resident_confirmed_at=None)
        elif to == "forwarded":
            changes["forwarded_to"] = forwarded_to or comment
        return events.change(con, case_id, changes, actor, comment, at)


def confirm_by_resident(con, case_id: int, actor, comment: str | None = None, at=None) -> list[str]:
    actor = auth.actor_of(actor, "case:act")
    with store.transaction(con):
        case = _case(con, case_id)
        if case["status"] != "resolved":
            raise WorkflowError("confirm_not_resolved",
                                f"case {case_id}: only a resolved case can be confirmed by the resident "
                                f"(status is '{case['status']}'); if it is not fixed, reopen it",
                                case=_number(case), status=case["status"])
        return events.change(con, case_id, {"resident_confirmed_at": _now(at)}, actor, comment, _now(at))


def extend(con, case_id: int, new_due: dt.datetime, reason: str, actor, at=None) -> list[str]:
    """Once, with a reason, up to two months in total from registration (APC art. 76)."""
    actor = auth.actor_of(actor, "case:act")
    new_due = pd.Timestamp(new_due)
    new_due = new_due.tz_localize("UTC") if new_due.tzinfo is None else new_due
    with store.transaction(con):
        case = _case(con, case_id)
        if not (reason or "").strip():
            raise WorkflowError("extend_no_reason", f"case {case_id}: an extension needs a reason", case=_number(case))
        if case["status"] not in OPEN:
            raise WorkflowError("extend_closed", f"case {case_id}: status '{case['status']}' is closed; nothing to extend",
                                case=_number(case), status=case["status"])
        if bool(case["due_extended"]):
            raise WorkflowError("extend_twice", f"case {case_id}: the deadline was already extended once",
                                case=_number(case))
        limit = pd.Timestamp(case["received_at"]) + pd.Timedelta(days=int(sla.policy()["extension_max_days"]))
        if new_due <= pd.Timestamp(case["due_at"]):
            raise WorkflowError("extend_not_later", f"case {case_id}: the new deadline must be later than the current one",
                                case=_number(case))
        if new_due > limit:
            raise WorkflowError("extend_too_late", f"case {case_id}: an extension may reach at most {limit.date()} "
                                f"(two months from registration)", case=_number(case), limit=calendar.local(limit).date())
        return events.change(con, case_id, {"due_at": new_due.to_pydatetime(), "due_extended": True},
                             actor, reason, _now(at))


def reassign(con, case_id: int, department: str, actor, comment: str | None = None, at=None) -> list[str]:
    actor = auth.actor_of(actor, "case:act")
    if department not in set(sla.departments()["code"]):
        raise WorkflowError("unknown_department", f"unknown department {department!r}; see data/departments.csv",
                            department=department)
    _case(con, case_id)
    return events.change(con, case_id, {"department": department}, actor, comment, _now(at))


def set_priority(con, case_id: int, priority: str, actor, comment: str | None = None, at=None) -> list[str]:
    """A new priority recomputes both deadlines from registration, unless the case was extended."""
    actor = auth.actor_of(actor, "case:act")
    if priority not in sla.PRIORITIES:
        raise WorkflowError("unknown_priority", f"unknown priority {priority!r}; use one of {', '.join(sla.PRIORITIES)}",
                            priority=priority)
    with store.transaction(con):
        case = _case(con, case_id)
        changes: dict = {"priority": priority}
        if not bool(case["due_extended"]):
            fb, due = sla.deadlines(pd.Series([pd.Timestamp(case["received_at"])]), pd.Series([case["category"]]),
                                    pd.Series([priority]))
            changes.update(feedback_due_at=fb.iloc[0].to_pydatetime(), due_at=due.iloc[0].to_pydatetime())
        return events.change(con, case_id, changes, actor, comment, _now(at))


def registration_number(case_id: int, received_at) -> str:
    """109-<local year of registration>-<id>: what the operator reads back to the caller."""
    return f"109-{calendar.local(received_at).year}-{case_id:06d}"


def register_call(con, text: str, actor, district: str | None = None, address: str | None = None,
                  contact: str | None = None, category: str | None = None, priority: str | None = None,
                  at: dt.datetime | None = None) -> tuple[int, str]:
    """Register a 109 call while the operator is on the phone; returns (id, registration number)."""
    actor = auth.actor_of(actor, "case:act")
    if not (text or "").strip():
        raise WorkflowError("empty_text", "the text of the call is empty")
    if not district:  # a call without a district reaches no department's list and no district's figures
        raise WorkflowError("no_district", "a call needs a district (pick one, or type an address that names it)")
    if district not in set(reference.districts()["code"]):
        raise WorkflowError("unknown_district", f"unknown district {district!r}", district=district)
    at = pd.Timestamp(_now(at))
    label = classify.classify_texts([text]).iloc[0]
    row = pd.DataFrame({"received_at": [at], "category": [category or label["category"]], "text": [text],
                        "district": [district]})
    case = sla.initial_case_fields(row).iloc[0]
    if priority and priority != case["priority"]:
        fb, due = sla.deadlines(row["received_at"], row["category"], pd.Series([priority]))
        case = case.copy()
        case["priority"], case["feedback_due_at"], case["due_at"] = priority, fb.iloc[0], due.iloc[0]
    with store.transaction(con):
        case_id = con.execute(
            "INSERT INTO submissions (source, source_id, received_at, text, language, region, district, address, "
            "contact, category, category_confidence, category_source, priority, status, department, "
            "feedback_due_at, due_at, search_terms) VALUES ('hotline_109', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?) "
            "RETURNING id",
            [f"call-{uuid.uuid4().hex}", at.to_pydatetime(), text.strip(), label["language"],
             reference.region_of(district) if district else None, district, address or None, contact or None,
             row["category"][0], 1.0 if category else float(label["confidence"]),
             "operator" if category and category != label["category"] else "model", case["priority"],
             case["department"], pd.Timestamp(case["feedback_due_at"]).to_pydatetime(),
             pd.Timestamp(case["due_at"]).to_pydatetime(), search.stored_terms(text.strip())]).fetchall()[0][0]
        con.execute("INSERT INTO events (submission_id, happened_at, actor, field, new) "
                    "SELECT id, received_at, ?, 'created', to_json(json_object(" +
                    ", ".join(f"'{f}', {f}" for f in events.STATE_FIELDS) + "))::VARCHAR FROM submissions WHERE id = ?",
                    [actor, case_id])
    rollup.keep_up(con)  # the call counts on every screen from the moment it is registered
    return case_id, registration_number(case_id, at)


def suggest(text: str, district: str | None = None, at: dt.datetime | None = None) -> dict:
    """What the intake form shows while the operator types: category, confidence, priority."""
    label = classify.classify_texts([text]).iloc[0]
    row = pd.DataFrame({"received_at": [pd.Timestamp(_now(at))], "category": [label["category"]],
                        "text": [text], "district": [district]})
    return {"category": label["category"], "confidence": float(label["confidence"]),
            "priority": sla.priority_of(row).iloc[0]}
