"""Feedback first, then the work: transitions, extension, confirmation, intake; metrics by hand."""
import datetime as dt

import pandas as pd
import pytest

from pipeline import events, metrics, workflow as wf
from pipeline.queries import cases
from pipeline.queries.filters import Filters

T0 = dt.datetime(2026, 3, 2, 5, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 local


def new_case(con, **kw):
    kw.setdefault("category", "roads")
    return wf.register_call(con, "Яма у дома на Маресьева 12", "op1", district="abai", at=T0, **kw)[0]


def test_registration_number_uses_the_local_year():
    # 1 January 03:00 local is still 31 December in UTC.
    assert wf.registration_number(7, pd.Timestamp("2025-12-31 22:00", tz="UTC")) == "109-2026-000007"


def test_register_call_reads_back_a_number_and_sets_deadlines(con):
    case_id, number = wf.register_call(con, "Нет света во всём доме", "op1", district="turan",
                                       contact="+7 701 111 22 33", category="electricity", at=T0)
    assert number == f"109-2026-{case_id:06d}"
    row = cases.case(con, case_id)
    assert (row["status"], row["priority"], row["department"], row["region"]) == (
        "new", "emergency", "energy", "shymkent")
    assert events.inconsistencies(con).empty
    with pytest.raises(wf.WorkflowError, match="empty"):
        wf.register_call(con, "  ", "op1")
    with pytest.raises(wf.WorkflowError, match="unknown district"):
        wf.register_call(con, "x", "op1", district="narnia")


def test_feedback_comes_first_and_illegal_moves_are_refused(con):
    cid = new_case(con)
    with pytest.raises(wf.WorkflowError, match="cannot go from 'new' to 'in_progress'; allowed: feedback_given"):
        wf.transition(con, cid, "in_progress", "op1")
    with pytest.raises(wf.WorkflowError, match="needs a comment"):
        wf.transition(con, cid, "rejected", "op1", "  ")
    wf.transition(con, cid, "feedback_given", "op1", "called back", at=T0 + dt.timedelta(hours=2))
    wf.transition(con, cid, "in_progress", "op2", at=T0 + dt.timedelta(days=1))
    wf.transition(con, cid, "resolved", "op2", at=T0 + dt.timedelta(days=3))
    with pytest.raises(wf.WorkflowError, match="needs a comment"):
        wf.transition(con, cid, "reopened", "op1")
    wf.transition(con, cid, "reopened", "op1", "resident says the pothole is back", at=T0 + dt.timedelta(days=5))
    row = cases.case(con, cid)
    assert row["status"] == "reopened" and pd.isna(row["resolved_at"])
    wf.transition(con, cid, "resolved", "op2", at=T0 + dt.timedelta(days=6))
    wf.confirm_by_resident(con, cid, "op1", "resident confirmed by phone", at=T0 + dt.timedelta(days=7))
    fields = events.history(con, cid)["field"].tolist()
    assert fields.count("status") == 5 and "resident_confirmed_at" in fields
    assert events.inconsistencies(con).empty


def test_extension_once_with_reason_within_two_months(con):
    cid = new_case(con)
    wf.transition(con, cid, "feedback_given", "op1", at=T0)
    with pytest.raises(wf.WorkflowError, match="needs a reason"):
        wf.extend(con, cid, T0 + dt.timedelta(days=40), "", "op1")
    with pytest.raises(wf.WorkflowError, match="at most 2026-05-02"):
        wf.extend(con, cid, T0 + dt.timedelta(days=70), "waiting for asphalt season", "op1")
    wf.extend(con, cid, T0 + dt.timedelta(days=50), "waiting for asphalt season", "op1")
    with pytest.raises(wf.WorkflowError, match="already extended once"):
        wf.extend(con, cid, T0 + dt.timedelta(days=55), "again", "op1")


def test_forward_confirm_reassign_and_priority(con):
    cid = new_case(con)
    with pytest.raises(wf.WorkflowError, match="only a resolved case"):
        wf.confirm_by_resident(con, cid, "op1")
    wf.set_priority(con, cid, "emergency", "op1", "child fell into it")
    assert cases.case(con, cid)["due_at"] == pd.Timestamp(T0) + pd.Timedelta(hours=24)
    wf.reassign(con, cid, "district_akimat", "op1")
    with pytest.raises(wf.WorkflowError, match="unknown department"):
        wf.reassign(con, cid, "nowhere", "op1")
    wf.transition(con, cid, "forwarded", "op1", "gas service", forwarded_to="QazaqGaz")
    assert cases.case(con, cid)["forwarded_to"] == "QazaqGaz"
    with pytest.raises(wf.WorkflowError, match="final status"):
        wf.transition(con, cid, "in_progress", "op1")


def test_metrics_against_a_hand_computed_example():
    d = lambda h: pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(hours=h)  # noqa: E731
    df = pd.DataFrame({
        #                 received  fb_due   fb_at    due      resolved  status         reopened
        "received_at":     [d(0),    d(0),    d(0),    d(0),    d(0)],
        "feedback_due_at": [d(24),   d(24),   d(24),   d(24),   d(24)],
        "feedback_at":     [d(12),   d(48),   None,    d(6),    None],
        "due_at":          [d(240),  d(240),  d(240),  d(48),   d(480)],
        "resolved_at":     [d(120),  d(360),  None,    None,    None],
        "status":          ["resolved", "resolved", "new", "in_progress", "new"],
        "reopened":        [False,   True,    False,   False,   False],
    }).astype({"feedback_at": "datetime64[us, UTC]", "resolved_at": "datetime64[us, UTC]"})
    now = d(100)
    s = metrics.summary(df, now)
    # feedback given or due: all five (rows 2 and 4 are past due with none given) -> in time: 0, 3 -> 2/5
    assert s["feedback_in_time"] == 0.4
    # resolved or past due: rows 0, 1 (resolved), 3 (due 48 < now) -> on time: row 0 -> 1/3
    assert s["resolved_on_time"] == pytest.approx(1 / 3)
    # days to feedback: 0.5, 2.0, 0.25 -> median 0.5, p90 = 0.5 + 0.8 * 1.5 = 1.7
    assert s["median_days_to_feedback"] == 0.5 and s["p90_days_to_feedback"] == pytest.approx(1.7)
    # days to resolution: 5, 15 -> median 10
    assert s["median_days_to_resolution"] == 10
    assert s["backlog"] == 3 and s["overdue"] == 1
    assert s["backlog_median_age_days"] == pytest.approx(100 / 24)
    assert s["reopen_rate"] == 0.5  # rows 0 and 1 were resolved at some point; row 1 reopened
    assert metrics.median([]) is None and metrics.median([3, 1, 2]) == 2


def test_durations_are_counted_in_minutes_under_two_days_and_in_hours_beyond(con):
    """The one unit of days to feedback and to resolution (README, Metrics), in pandas and in SQL:
    halves round up, 2,880 minutes and more go to the nearest hour."""
    minutes = [0, 0.49, 0.5, 96.4, 2879.4, 2879.6, 2880, 2909.9, 2910, 4000, -0.5]
    counted = [0, 0, 1, 96, 2879, 2880, 2880, 2880, 2940, 4020, 0]
    assert metrics.counted_minutes(pd.Series(minutes)).tolist() == counted
    sql = metrics.COUNTED_MINUTES_SQL.format(d="m")
    assert [r[0] for r in con.execute(f"SELECT {sql} FROM (SELECT unnest(?) AS m, generate_subscripts(?, 1) AS i) "
                                      "ORDER BY i", [minutes, minutes]).fetchall()] == counted
    assert metrics.quantile_counted([(30, 2), (90, 1), (2880, 1)], 0.5) == metrics.quantile([30, 30, 90, 2880], 0.5) == 60


def test_bucket_counts_match_direct_sql_and_overdue_listed_once(con):
    from pipeline import demo
    end = pd.Timestamp("2026-11-20 18:00", tz="Asia/Almaty")
    demo.build_demo(con, rows=4000, seed=3, end=end)
    now = end.to_pydatetime()
    counts = cases.bucket_counts(con, now)
    direct = con.execute("SELECT count(*) FROM submissions WHERE status IN "
                         "('new','feedback_given','in_progress','reopened') AND due_at < ?", [now]).fetchall()[0][0]
    assert counts["overdue"] == direct > 0
    listed = cases.bucket_cases(con, "overdue", now)
    assert len(listed) == direct and listed["id"].is_unique
    paged = pd.concat([cases.bucket_cases(con, "overdue", now, limit=100, offset=o) for o in range(0, direct, 100)])
    assert paged["id"].tolist() == listed["id"].tolist()  # pages in SQL: every case once, in the same order
    frame = cases.metrics_frame(con, Filters(dt.date(2026, 1, 1), dt.date(2026, 11, 20)))
    assert metrics.summary(frame, now)["overdue"] == con.execute(
        "SELECT count(*) FROM submissions WHERE status IN ('new','feedback_given','in_progress','reopened') "
        "AND due_at < ? AND received_at >= TIMESTAMPTZ '2026-01-01 00:00:00+05'", [now]).fetchall()[0][0]


def test_sql_summary_equals_the_pandas_definitions(con):
    """cases.summary (SQL, what the screens use) and metrics.summary (pandas, the definitions
    written out) agree on a demo with reopened, extended, overdue and unanswered cases."""
    from pipeline import demo
    end = pd.Timestamp("2026-11-20 18:00", tz="Asia/Almaty")
    demo.build_demo(con, rows=3000, seed=5, end=end)
    now = end.to_pydatetime()
    for f in (Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20)), Filters(dt.date(2026, 10, 1), dt.date(2026, 11, 20)),
              Filters(dt.date(2025, 1, 1), dt.date(2026, 11, 20), category="roads", region="shymkent"),
              Filters(dt.date(2030, 1, 1), dt.date(2030, 1, 2))):
        sql, frame = cases.summary(con, f, now), metrics.summary(cases.metrics_frame(con, f), now)
        assert sql.keys() == frame.keys()
        for key, value in frame.items():
            assert sql[key] == (pytest.approx(value) if value is not None else None), (f, key)
    assert cases.summary(con, Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20)), now)["reopen_rate"] > 0
