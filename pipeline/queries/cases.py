"""Queries behind the deadlines page: buckets of open cases, one case with its history, and the
frame the metrics are computed from."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from pipeline import auth, metrics, privacy, rollup, settings, store
from pipeline.queries import textsearch
from pipeline.queries.filters import OPEN, Filters, open_sql, where
from pipeline.queries.rows import by_ids

TEXT_SHOWN = 140  # characters of a text in the deadlines table
OPEN_CASE = open_sql()
BUCKETS = ("overdue", "feedback_overdue", "due_today", "due_week", "at_risk")
# overdue: past the resolution deadline; feedback_overdue: no feedback yet and its deadline passed;
# due_today: due before local midnight; due_week: within 7 days; at_risk: under a quarter of the
# time left and no work started (still new or only feedback given).
_BUCKET_SQL = {
    "overdue": "due_at < $now",
    "feedback_overdue": "status = 'new' AND feedback_due_at < $now",
    "due_today": "due_at >= $now AND due_at < $midnight",
    "due_week": "due_at >= $now AND due_at < $now + INTERVAL 7 DAY",
    "at_risk": "due_at >= $now AND status IN ('new', 'feedback_given') "
               "AND epoch_us(due_at) - epoch_us($now) < 0.25 * (epoch_us(due_at) - epoch_us(received_at))",
}
_SCOPE = ("(CAST($department AS VARCHAR) IS NULL OR department = $department) "
          "AND (CAST($region AS VARCHAR) IS NULL OR region = $region) "
          "AND (CAST($district AS VARCHAR) IS NULL OR district = $district) "
          "AND (CAST($category AS VARCHAR) IS NULL OR category = $category)")


def _params(now: dt.datetime, department, district, category, region=None) -> dict:
    tz = ZoneInfo(settings.get("TZ"))
    local = now.astimezone(tz)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tz)
    return {"now": now, "midnight": midnight, "department": department, "district": district, "category": category,
            "region": region}


def _run(con, sql: str, params: dict) -> pd.DataFrame:
    """Execute with the named parameters the statement uses (DuckDB rejects unused ones)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).df()


def bucket_counts(con: duckdb.DuckDBPyConnection, now: dt.datetime, department=None, district=None,
                  category=None, region=None) -> dict[str, int]:
    """Open cases now, received at any time, in each bucket (overdue as filters.overdue_sql)."""
    cols = ", ".join(f"count(*) FILTER (WHERE {sql}) AS {name}" for name, sql in _BUCKET_SQL.items())
    row = _run(con, f"SELECT {cols} FROM {rollup.live(con)} WHERE status IN {OPEN} AND {_SCOPE}",
               _params(now, department, district, category, region)).iloc[0]
    return {k: int(v) for k, v in row.items()}


_PAGE_COLUMNS = ("id", "received_at", "status", "priority", "category", "district", "department", "feedback_due_at",
                 "due_at")


def bucket_cases(con: duckdb.DuckDBPyConnection, bucket: str, now: dt.datetime, department=None, district=None,
                 category=None, limit: int | None = None, viewer: auth.Viewer | None = None,
                 region=None, offset: int = 0) -> pd.DataFrame:
    """Every case in the bucket (or `limit` of them from `offset`), soonest deadline first; the first
    `TEXT_SHOWN` characters of each text, masked for a viewer who may not see contacts.

    Masked first, cut after: the masker knows a phone or an IIN by its length, so one cut short
    ("+7 701 123 4") would pass it and show most of its digits."""
    if bucket not in _BUCKET_SQL:
        raise ValueError(f"unknown bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    params = _params(now, department, district, category, region)
    window = f"LIMIT {int(limit)} " if limit is not None else ""
    # the page's columns from the live cases, only the texts by id from the submissions: live_cases
    # keeps no texts (personal data stay in one table, and a store imported without feedback times
    # is all live: a copy would double it). Fetching the other columns by id too read their row
    # groups in the submissions: 30-50 ms for a page of 500 at 10 million rows, the texts alone 9.
    sql = f"""
        SELECT {', '.join(_PAGE_COLUMNS)} FROM {rollup.live(con)}
        WHERE status IN {OPEN} AND {_SCOPE} AND {_BUCKET_SQL[bucket]}
        ORDER BY due_at, id {window}OFFSET {max(0, int(offset))}"""
    rows = store.frame(con, sql, {k: v for k, v in params.items() if f"${k}" in sql})
    texts = by_ids(con, ("id", "text"), rows["id"].tolist())
    texts = dict(zip(texts["id"].tolist(), texts["text"].tolist()))
    rows["text"] = [texts.get(i, "") for i in rows["id"].tolist()]
    rows = privacy.for_viewer(rows, viewer)
    rows["text"] = [t[:TEXT_SHOWN] for t in rows["text"]]
    return rows


def by_department(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> pd.DataFrame:
    """Open cases now (received at any time) and the overdue among them, per department and district."""
    return con.execute(f"""
        SELECT department, district, count(*) AS open, count(*) FILTER (WHERE due_at < $now) AS overdue
        FROM {rollup.live(con)} WHERE status IN {OPEN} GROUP BY ALL ORDER BY overdue DESC, open DESC, department, district""",
                       {"now": now}).df()


def case(con: duckdb.DuckDBPyConnection, case_id: int, viewer: auth.Viewer | None = None) -> dict | None:
    """One case; its text, contact and address masked for a viewer who may not see contacts."""
    rows = privacy.for_viewer(con.execute(f"SELECT * EXCLUDE ({', '.join(textsearch.BITS)}) FROM submissions WHERE id = ?",
                                          [case_id]).df(), viewer)
    return None if rows.empty else rows.iloc[0].to_dict()


def metrics_frame(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Cases registered in the period, with whether each was ever reopened (from the event log)."""
    cond, params = where(f, "s")
    return con.execute(f"""
        SELECT s.id, s.received_at, s.feedback_due_at, s.feedback_at, s.due_at, s.resolved_at, s.status,
               s.category, s.district, s.department,
               EXISTS (SELECT 1 FROM events e WHERE e.submission_id = s.id AND e.field = 'status'
                       AND e.new = 'reopened') AS reopened
        FROM submissions s WHERE {cond}""", params).df()


def summary(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime) -> dict:
    """metrics.summary of the cases registered in the period, computed in SQL with the same
    definitions (pipeline.metrics), without pulling the period's cases into memory (all time at
    10 million rows took 13 s through pandas). tests/test_workflow.py checks that the two agree,
    tests/test_rollup.py that the rollups' path and the rows' path do.

    A filter the rollups answer (rollup.usable) counts from rollup_daily and the live cases (what
    changes with the clock), and ranks durations from rollup_durations' whole months; anything
    else reads the rows."""
    rolled = rollup.usable(con, f) and rollup.settled(con, now)
    c = _counts_rolled(con, f, now) if rolled else _counts(con, f, now)
    took = _durations(con, f, rolled)
    days = lambda measure, q: _days(metrics.quantile_counted(took.get(measure, ()), q))  # noqa: E731
    share = lambda hit, base: None if not base else hit / base  # noqa: E731
    return {
        "cases": c["cases"],
        "feedback_in_time": share(c["fb_hit"], c["fb_base"]),
        "resolved_on_time": share(c["res_hit"], c["res_base"]),
        "median_days_to_feedback": days("feedback", 0.5),
        "p90_days_to_feedback": days("feedback", 0.9),
        "median_days_to_resolution": days("resolution", 0.5),
        "p90_days_to_resolution": days("resolution", 0.9),
        "backlog": c["backlog"],
        "backlog_median_age_days": c["age50"],
        "overdue": c["overdue"],
        "reopen_rate": share(c["reopened"], c["ever_resolved"]),
    }


_COUNTS = ("cases", "fb_hit", "fb_base", "res_hit", "res_base", "backlog", "age50", "overdue", "reopened",
           "ever_resolved")
_OPEN_AGE = f"""count(*) FILTER (WHERE {OPEN_CASE}),
               quantile_cont((epoch_us(t.now) - epoch_us(received_at)) / 86400e6, 0.5) FILTER (WHERE {OPEN_CASE}),
               count(*) FILTER (WHERE {OPEN_CASE} AND due_at < t.now)"""


def _days(minutes) -> float | None:
    return None if minutes is None else float(minutes) / 1440


def _counts(con, f: Filters, now: dt.datetime) -> dict:
    """summary()'s counts from the rows."""
    cond, params = where(f, "s")
    row = con.execute(f"""
        WITH t AS (SELECT CAST(? AS TIMESTAMPTZ) AS now),
        c AS (
            SELECT s.received_at, s.feedback_due_at, s.feedback_at, s.due_at, s.resolved_at, s.status,
                   r.submission_id IS NOT NULL AS reopened
            FROM submissions s
            LEFT JOIN {rollup.reopened(con)} r ON r.submission_id = s.id
            WHERE {cond})
        SELECT count(*),
               count(*) FILTER (WHERE feedback_at <= feedback_due_at),
               count(*) FILTER (WHERE feedback_at IS NOT NULL OR feedback_due_at < t.now),
               count(*) FILTER (WHERE resolved_at <= due_at),
               count(*) FILTER (WHERE resolved_at IS NOT NULL OR due_at < t.now),
               {_OPEN_AGE},
               count(*) FILTER (WHERE reopened),
               count(*) FILTER (WHERE resolved_at IS NOT NULL OR reopened)
        FROM c, t GROUP BY t.now""", [now, *params]).fetchall()
    return dict(zip(_COUNTS, row[0] if row else (0, 0, 0, 0, 0, 0, None, 0, 0, 0)))


def _counts_rolled(con, f: Filters, now: dt.datetime) -> dict:
    """_counts() for a filter the rollups answer: what does not change with the clock from
    rollup_daily (with the closed cases whose feedback lapsed for good before rollup.lapsed_before);
    the cases still waiting for feedback or a decision (whose lateness does) from the live cases; and the rejected or forwarded cases whose deadline is still ahead (or not set: a row
    closed before its classification gave it one), which do not count as late yet, from the rows
    (recent ones only: the store's row groups of older ones are skipped; with NOT coalesce(due_at <
    ?, false) DuckDB read all 100 row groups of 10,000,000 rows, 66 ms instead of 5)."""
    table, params = rollup.cells(f)
    cases, fb_hit, fb_given, fb_lapsed, res_hit, resolved, closed_unresolved, reopened, ever_resolved = con.execute(f"""
        SELECT coalesce(sum(n), 0), coalesce(sum(feedback_in_time), 0), coalesce(sum(feedback_given), 0),
               coalesce(sum(feedback_lapsed), 0), coalesce(sum(resolved_in_time), 0), coalesce(sum(resolved), 0),
               coalesce(sum(closed_unresolved), 0), coalesce(sum(reopened), 0), coalesce(sum(ever_resolved), 0)
        FROM {table}""", params).fetchall()[0]
    lcond, lparams = where(f)
    fb_late, res_late, backlog, age50, overdue = con.execute(f"""
        WITH t AS (SELECT CAST(? AS TIMESTAMPTZ) AS now)
        SELECT count(*) FILTER (WHERE feedback_at IS NULL AND feedback_due_at < t.now),
               count(*) FILTER (WHERE resolved_at IS NULL AND due_at < t.now),
               {_OPEN_AGE}
        FROM {rollup.LIVE}, t WHERE {lcond}""", [now, *lparams]).fetchall()[0]
    not_yet_due = con.execute(f"""
        SELECT count(*) FROM submissions WHERE {lcond} AND (due_at >= ? OR due_at IS NULL) AND resolved_at IS NULL
        AND (feedback_at IS NOT NULL OR feedback_due_at < ?) AND NOT {OPEN_CASE}""",
        [*lparams, now, rollup.lapsed_before(con)]).fetchall()[0][0]
    return dict(zip(_COUNTS, (cases, fb_hit, fb_given + fb_lapsed + fb_late, res_hit,
                              resolved + res_late + closed_unresolved - not_yet_due, backlog, age50, overdue,
                              reopened, ever_resolved)))


def _durations(con, f: Filters, rolled: bool) -> dict[str, list[tuple[int, int]]]:
    """(counted minutes, cases) to feedback and to resolution, per measure: the period's whole
    months from rollup_durations when it answers the filter, the rest from the rows."""
    ranges, parts = [(f.start, f.end)], []
    if rolled and rollup.durations_usable(f):
        months, ranges = rollup.split_months(f.start, f.end)
        if months:
            parts += con.execute("""
                SELECT measure, minutes, sum(n) FROM rollup_durations
                WHERE month BETWEEN ? AND ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?) GROUP BY ALL""",
                [*months, f.region, f.region]).fetchall()
    for lo, hi in ranges:
        cond, params = where(replace(f, start=lo, end=hi))
        parts += con.execute(rollup.durations_sql(cond), params).fetchall()
    out: dict[str, list[tuple[int, int]]] = {}
    for measure, minutes, n in parts:
        out.setdefault(measure, []).append((minutes, n))
    return out
