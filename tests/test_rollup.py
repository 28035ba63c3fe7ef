"""The daily rollup answers exactly what counting the submissions answers, and keeps up with every
kind of write: ingest drains, registered calls, operator labels, feedback, and a threshold change."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import pandas as pd
import pytest

from pipeline import demo, events, rollup, store, workflow
from pipeline.queries import explore, overview, review
from pipeline.queries.filters import Filters
from tests.conftest import built_once, copy_of

END = pd.Timestamp("2026-11-20 18:00", tz="Asia/Almaty")
NOW = END.to_pydatetime()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    return built_once(tmp_path_factory, "rollup_demo", lambda c: demo.build_demo(c, rows=4000, seed=11, end=END))


@pytest.fixture
def built(demo_file, tmp_path):
    con = copy_of(demo_file, tmp_path)
    yield con
    con.close()


def both(con, fn, monkeypatch):
    """fn(con) through the rollup, and again counting the submissions."""
    assert rollup.fresh(con)
    with_rollup = fn(con)
    monkeypatch.setattr(rollup, "usable", lambda c, f: False)
    counted = fn(con)
    monkeypatch.undo()
    return with_rollup, counted


def same(a, b):
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)
    else:
        assert a == (pytest.approx(b) if isinstance(b, dict) else b)


def random_filters(seed: int, n: int) -> list[Filters]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        start = dt.date(2024, 11, 1) + dt.timedelta(days=rng.randrange(0, 700))
        end = min(start + dt.timedelta(days=rng.choice([0, 6, 29, 90, 400])), dt.date(2026, 11, 20))
        out.append(Filters(start, end, region=rng.choice([None, None, "aktobe", "shymkent"]),
                           district=rng.choice([None, None, None, "abai", "al_farabi"]),
                           category=rng.choice([None, None, "roads", "water", "other"]),
                           confidence=rng.choice([None, None, "low", "high", "operator"]),
                           reviewed=rng.choice([None, None, True, False])))
    return out


def test_every_overview_figure_is_the_same_from_the_rollup(built, monkeypatch):
    con = built
    filters = [Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20))] + random_filters(1, 25)
    for f in filters:
        assert rollup.usable(con, f)
        for fn in (lambda c: overview.kpis(c, f, NOW), lambda c: overview.category_shares(c, f),
                   lambda c: overview.trend(c, f, NOW), lambda c: overview.top_rising(c, f),
                   lambda c: explore.count(c, f, NOW), lambda c: overview.district_stats(c, f, NOW),
                   lambda c: overview.district_stats(c, f, NOW, category="roads"), lambda c: explore.timeline(c, f, "week", "district"),
                   lambda c: explore.timeline(c, f, "month", None), lambda c: explore.facets(c, f, NOW)):
            same(*both(con, fn, monkeypatch))


def test_filters_the_rollup_cannot_answer_count_the_submissions(built):
    assert not rollup.usable(built, Filters(dt.date(2026, 1, 1), dt.date(2026, 11, 20), status="open"))
    assert not rollup.usable(built, Filters(dt.date(2026, 1, 1), dt.date(2026, 11, 20), q="яма"))
    assert not rollup.usable(built, Filters(dt.date(2026, 1, 1), dt.date(2026, 11, 20), source="qr"))


def counts(con) -> pd.DataFrame:
    """Every counting rollup, sorted, in one frame."""
    return pd.concat({t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df()
                      for t in ("rollup_daily", "rollup_monthly", "rollup_durations")}, names=["table", "row"])


def test_it_keeps_up_with_every_kind_of_write(built, monkeypatch):
    con = built
    case_id, _ = workflow.register_call(con, "Нет воды в доме 5 по улице Абая", "op", district="abai", at=NOW)
    assert rollup.fresh(con)
    workflow.transition(con, case_id, "feedback_given", "op", at=NOW)  # feedback: a rollup field
    assert rollup.fresh(con)                                           # refreshed after its own commit
    old = int(con.execute("SELECT min(id) FROM submissions WHERE category = 'roads'").fetchall()[0][0])
    review.label(con, {old: "water"}, "op")                           # an old day's category changes
    events.change(con, old, {"feedback_at": NOW, "district": "turan"}, "op")  # and its feedback and district
    assert rollup.fresh(con)
    incremental = counts(con)
    rollup.rebuild(con)
    pd.testing.assert_frame_equal(incremental, counts(con))
    f = Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20))
    same(*both(con, lambda c: overview.category_shares(c, f), monkeypatch))


def test_a_status_change_recounts_its_day_and_moves_the_live_case(built, monkeypatch):
    con = built
    case_id = int(con.execute("SELECT min(id) FROM submissions WHERE status = 'new'").fetchall()[0][0])
    before = counts(con)
    monkeypatch.setattr(rollup, "keep_up", lambda c, since=None: None)  # no refresh after the commit
    with store.transaction(con):   # an event it has not seen yet: readers count the submissions
        events.change(con, case_id, {"status": "in_progress"}, "op")
        assert not rollup.fresh(con) and rollup.live(con) == "submissions"
    monkeypatch.undo()
    assert rollup.refresh(con) == 1        # the case's day only (the period metrics count statuses)
    assert rollup.fresh(con)
    pd.testing.assert_frame_equal(before, counts(con))
    assert con.execute("SELECT status FROM live_cases WHERE id = ?", [case_id]).fetchall() == [("in_progress",)]
    events.change(con, case_id, {"status": "resolved", "resolved_at": NOW, "feedback_at": NOW}, "op")
    assert con.execute("SELECT count(*) FROM live_cases WHERE id = ?", [case_id]).fetchall() == [(0,)]


def live_rows(con) -> pd.DataFrame:
    return con.execute("SELECT * FROM live_cases ORDER BY id").df()


def expected_live_rows(con) -> pd.DataFrame:
    cols = ", ".join(rollup.LIVE_COLUMNS)
    return con.execute(f"SELECT {cols} FROM submissions WHERE status IN ('new', 'feedback_given', 'in_progress', "
                       "'reopened') OR (feedback_at IS NULL AND (feedback_due_at IS NULL OR feedback_due_at >= ?)) "
                       "ORDER BY id", [rollup.lapsed_before(con)]).df()


def test_closed_cases_without_feedback_lapse_out_of_the_live_cases(built, monkeypatch):
    """A history imported without feedback times (a call centre's export) is not all live: a closed
    case whose feedback deadline passed before the cutoff is counted in rollup_daily, and every
    figure is still the rows' figure; a moment before the cutoff counts the rows; the cutoff moves
    up with newer rows, recounting the days of the cases that cross it."""
    from pipeline.queries import cases
    con = built
    con.execute("UPDATE submissions SET feedback_at = NULL WHERE status NOT IN ('new', 'feedback_given', "
                "'in_progress', 'reopened') AND id % 3 <> 0")  # as imported: no feedback times
    rollup.rebuild(con)
    cutoff = rollup.lapsed_before(con)
    assert cutoff == con.execute("SELECT max(received_at) FROM submissions").fetchall()[0][0] - dt.timedelta(days=30)
    unanswered = con.execute("SELECT count(*) FROM submissions WHERE feedback_at IS NULL").fetchall()[0][0]
    assert 0 < len(live_rows(con)) < unanswered / 4
    pd.testing.assert_frame_equal(live_rows(con), expected_live_rows(con))
    filters = [Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20))] + random_filters(7, 5)
    for f in filters:
        for fn in (lambda c: overview.kpis(c, f, NOW), lambda c: cases.summary(c, f, NOW)):
            same(*both(con, fn, monkeypatch))
    before = cutoff - dt.timedelta(days=1)  # a moment before the cutoff: the rows, not the rollups
    assert rollup.settled(con, NOW) and not rollup.settled(con, before)
    assert not rollup.settled(con, before.replace(tzinfo=None))  # a naive moment, as DuckDB reads one: local
    monkeypatch.setattr(rollup, "cells", lambda f: pytest.fail("rollups read for a moment before the cutoff"))
    f = Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20))
    want = (overview.kpis(con, f, before), cases.summary(con, f, before))
    monkeypatch.undo()
    monkeypatch.setattr(rollup, "usable", lambda c, f: False)
    assert (overview.kpis(con, f, before), cases.summary(con, f, before)) == want
    monkeypatch.undo()
    later = NOW + dt.timedelta(days=45)  # a newer row, 45 days on: the cutoff moves up 45 days
    monkeypatch.setattr(rollup, "_utcnow", lambda: later + dt.timedelta(hours=1))
    workflow.register_call(con, "Нет воды в доме 5 по улице Абая", "op", district="abai", at=later)
    assert rollup.fresh(con) and rollup.lapsed_before(con) == later - dt.timedelta(days=30)
    pd.testing.assert_frame_equal(live_rows(con), expected_live_rows(con))
    incremental = counts(con)
    rollup.rebuild(con)
    pd.testing.assert_frame_equal(incremental, counts(con))
    for fn in (lambda c: overview.kpis(c, f, later), lambda c: cases.summary(c, f, later)):
        assert rollup.settled(con, later)
        same(*both(con, fn, monkeypatch))
        monkeypatch.setattr(rollup, "_utcnow", lambda: later + dt.timedelta(hours=1))


def test_live_cases_are_exactly_the_open_or_unanswered_rows_after_every_kind_of_write(built):
    con = built
    pd.testing.assert_frame_equal(live_rows(con), expected_live_rows(con))
    assert 0 < len(live_rows(con)) < con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
    case_id, _ = workflow.register_call(con, "Нет воды в доме 5 по улице Абая", "op", district="abai", at=NOW)
    old = int(con.execute("SELECT min(id) FROM live_cases").fetchall()[0][0])
    events.change(con, old, {"department": "water", "due_at": NOW + dt.timedelta(days=3)}, "op")
    workflow.transition(con, case_id, "feedback_given", "op", at=NOW)
    closed = int(con.execute("SELECT min(id) FROM submissions WHERE status = 'resolved'").fetchall()[0][0])
    events.change(con, closed, {"status": "reopened"}, "op")          # a closed case comes back to life
    events.change(con, closed, {"resident_confirmed_at": NOW}, "resident")
    assert rollup.fresh(con) and rollup.live(con) == "live_cases"
    pd.testing.assert_frame_equal(live_rows(con), expected_live_rows(con))
    incremental = facet_rows(con)
    rollup.rebuild(con)
    pd.testing.assert_frame_equal(live_rows(con), expected_live_rows(con))
    pd.testing.assert_frame_equal(incremental, facet_rows(con))


def facet_rows(con) -> pd.DataFrame:
    return pd.concat([con.execute("SELECT * FROM rollup_facets ORDER BY ALL").df(),
                      con.execute("SELECT * FROM rollup_facets_monthly ORDER BY ALL").df()])


def test_a_period_is_its_whole_months_and_the_days_around_them():
    D = dt.date
    assert rollup.split_months(D(2024, 1, 1), D(2026, 11, 30)) == ((D(2024, 1, 1), D(2026, 11, 1)), [])
    assert rollup.split_months(D(2024, 1, 15), D(2026, 11, 20)) == (
        (D(2024, 2, 1), D(2026, 10, 1)), [(D(2024, 1, 15), D(2024, 1, 31)), (D(2026, 11, 1), D(2026, 11, 20))])
    assert rollup.split_months(D(2026, 11, 2), D(2026, 11, 30)) == (None, [(D(2026, 11, 2), D(2026, 11, 30))])
    assert rollup.split_months(D(2024, 2, 1), D(2024, 2, 29)) == ((D(2024, 2, 1), D(2024, 2, 1)), [])
    assert rollup.split_months(D(2026, 10, 31), D(2026, 12, 1)) == (
        (D(2026, 11, 1), D(2026, 11, 1)), [(D(2026, 10, 31), D(2026, 10, 31)), (D(2026, 12, 1), D(2026, 12, 1))])


def test_open_and_overdue_figures_are_the_same_from_the_live_cases(built, monkeypatch):
    from pipeline.queries import cases, wall

    con = built
    for region, district, category, department in [(None, None, None, None), ("shymkent", None, None, None),
                                                   (None, "abai", "roads", None), (None, None, None, "roads")]:
        fns = [lambda c: cases.bucket_counts(c, NOW, department, district, category, region),
               lambda c: cases.by_department(c, NOW),
               lambda c: wall.case_figures(c, NOW, region), lambda c: wall.district_stats(c, NOW, region=region),
               lambda c: wall.district_stats(c, NOW, category="roads")]
        fns += [lambda c, b=b: cases.bucket_cases(c, b, NOW, department, district, category, limit=50, region=region)
                for b in cases.BUCKETS]
        for fn in fns:
            assert rollup.live(con) == "live_cases"
            via_live = fn(con)
            monkeypatch.setattr(rollup, "live", lambda c, f=None: "submissions")
            counted = fn(con)
            monkeypatch.undo()
            same(via_live, counted)


def test_another_review_threshold_rebuilds_it(built, monkeypatch):
    monkeypatch.setenv("SC_REVIEW_THRESHOLD", "0.7")
    assert not rollup.fresh(built)
    assert rollup.refresh(built) == -1
    f = Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20), confidence="low")
    same(*both(built, lambda c: overview.kpis(c, f, NOW), monkeypatch))


def test_rows_stored_unclassified_are_apart_and_move_when_classified(built, monkeypatch):
    from pipeline import pending

    con = built
    con.execute("""
        INSERT INTO submissions (source, source_id, received_at, text, region, district, category_source, status)
        SELECT 'import', 'p' || i, CAST(? AS TIMESTAMPTZ) - INTERVAL 3 DAY, 'Нет горячей воды в доме ' || i,
               'shymkent', 'abai', 'pending', 'new' FROM range(40) t(i)""", [NOW])
    events.record_created(con)
    rollup.refresh(con)
    f = Filters(dt.date(2026, 11, 1), dt.date(2026, 11, 20))
    via_rollup, counted = both(con, lambda c: overview.category_shares(c, f), monkeypatch)
    same(via_rollup, counted)
    assert via_rollup.attrs["pending"] == counted.attrs["pending"] == 40
    assert pending.classify_batch(con, 100) == 40
    assert rollup.fresh(con)
    after = counts(con)
    rollup.rebuild(con)
    pd.testing.assert_frame_equal(after, counts(con))
    assert overview.category_shares(con, f).attrs["pending"] == 0


def test_the_walls_trend_against_last_year_is_the_same_from_the_rollup(built, monkeypatch):
    from pipeline.queries import wall

    for now in (NOW, NOW - dt.timedelta(days=200, hours=5)):
        for region in (None, "aktobe"):
            same(*both(built, lambda c: wall.trend_vs_last_year(c, now, region), monkeypatch))


def reopened_ids(con, sql: str) -> list[int]:
    return [r[0] for r in con.execute(f"SELECT submission_id FROM {sql} ORDER BY 1").fetchall()]


def test_reopened_cases_follow_the_event_log_and_the_period_metrics_agree(built, monkeypatch):
    """reopened_cases is the event log's set of reopened cases after a reopen (added by the
    incremental refresh, once however often a case comes back), and cases.summary gives the same
    figures through it as reading the log."""
    from pipeline.queries import cases
    con = built
    from_log = f"({rollup.REOPENED_SQL})"
    assert reopened_ids(con, "reopened_cases") == reopened_ids(con, from_log) != []
    closed = [r[0] for r in con.execute("SELECT id FROM submissions WHERE status = 'resolved' "
                                        "AND id NOT IN (SELECT submission_id FROM reopened_cases) ORDER BY id LIMIT 2").fetchall()]
    for case_id in closed:
        events.change(con, case_id, {"status": "reopened", "resolved_at": None}, "op")
    events.change(con, closed[0], {"status": "resolved", "resolved_at": NOW}, "op")
    events.change(con, closed[0], {"status": "reopened", "resolved_at": None}, "op")   # a second time
    assert rollup.fresh(con) and rollup.reopened(con) == "reopened_cases"
    ids = reopened_ids(con, "reopened_cases")
    assert ids == reopened_ids(con, from_log) and set(closed) <= set(ids) and len(ids) == len(set(ids))
    for f in [Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20))] + random_filters(3, 6):
        through_table = cases.summary(con, f, NOW)
        monkeypatch.setattr(rollup, "fresh", lambda c: False)
        assert rollup.reopened(con) == from_log
        assert cases.summary(con, f, NOW) == pytest.approx(through_table), f
        monkeypatch.undo()
    rollup.rebuild(con)
    assert reopened_ids(con, "reopened_cases") == ids


def test_period_metrics_are_the_same_from_the_rollups_after_every_kind_of_case_change(built, monkeypatch):
    """cases.summary through rollup_daily, the live cases and rollup_durations equals counting and
    ranking the rows, after the changes that move its figures: feedback, a resolution, a reopen, a
    rejection still before its deadline (not late yet), a deadline extended past the resolution, and
    a row rejected before its classification gave it deadlines (not late either: a review found it
    counted late through the rollups)."""
    from pipeline.queries import cases
    con = built
    ids = lambda sql: [r[0] for r in con.execute(sql).fetchall()]  # noqa: E731
    new = ids("SELECT id FROM submissions WHERE status = 'new' ORDER BY id LIMIT 4")
    late = ids("SELECT id FROM submissions WHERE resolved_at > due_at ORDER BY id LIMIT 1")
    soon = NOW - dt.timedelta(hours=5)
    events.change(con, new[0], {"status": "feedback_given", "feedback_at": soon}, "op")
    events.change(con, new[1], {"status": "rejected", "feedback_at": soon, "due_at": NOW + dt.timedelta(days=9)}, "op")
    events.change(con, new[2], {"status": "resolved", "feedback_at": soon, "resolved_at": NOW}, "op")
    events.change(con, late[0], {"due_at": NOW + dt.timedelta(days=400)}, "op")
    events.change(con, new[2], {"status": "reopened", "resolved_at": None}, "op")
    events.change(con, new[3], {"category": None, "category_source": "pending", "category_confidence": None,
                                "due_at": None, "feedback_due_at": None}, "ingest")
    events.change(con, new[3], {"status": "rejected", "feedback_at": soon}, "op")
    assert rollup.fresh(con)
    whole = Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20))
    filters = [whole, Filters(dt.date(2025, 2, 1), dt.date(2026, 10, 31), region="shymkent"),
               Filters(dt.date(2025, 2, 11), dt.date(2026, 11, 20), region="aktobe")] + random_filters(5, 20)
    for f in filters:
        same(*both(con, lambda c: cases.summary(c, f, NOW), monkeypatch))
    assert rollup.durations_usable(whole) and not rollup.durations_usable(replace(whole, district="abai"))
    assert con.execute("SELECT sum(n) FROM rollup_durations").fetchall()[0][0] == con.execute(
        "SELECT count(feedback_at) + count(resolved_at) FROM submissions").fetchall()[0][0]
    s = cases.summary(con, whole, NOW)
    assert 0 < s["median_days_to_feedback"] < s["median_days_to_resolution"] < s["p90_days_to_resolution"]
    incremental = counts(con)
    rollup.rebuild(con)
    pd.testing.assert_frame_equal(incremental, counts(con))



def test_rollups_of_an_older_layout_are_not_read_and_are_rebuilt(built):
    """A store not yet migrated after an upgrade, opened by a reader (`export`, a notebook), has the
    old rollup tables and meta: its figures come from the submissions, not from tables it lacks."""
    from pipeline.queries import cases
    con = built
    f = Filters(dt.date(2024, 1, 1), dt.date(2026, 11, 20))
    want = (overview.kpis(con, f, NOW), explore.count(con, f, NOW), cases.summary(con, f, NOW))
    con.execute("UPDATE meta SET value = '109' WHERE key = 'rollup_version'")
    con.execute("ALTER TABLE rollup_monthly RENAME TO rollup_monthly_later")   # as before migration 110
    assert not rollup.fresh(con)
    assert (overview.kpis(con, f, NOW), explore.count(con, f, NOW), cases.summary(con, f, NOW)) == want
    con.execute("ALTER TABLE rollup_monthly_later RENAME TO rollup_monthly")  # the writer migrates
    assert rollup.refresh(con) == -1 and rollup.fresh(con)
