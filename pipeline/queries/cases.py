"""Queries behind the deadlines page: buckets of open cases, one case with its history, and the
frame the metrics are computed from."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from pipeline import auth, privacy, rollup, settings
from pipeline.queries import textsearch
from pipeline.queries.filters import OPEN, Filters, where
from pipeline.queries.rows import by_ids

TEXT_SHOWN = 140  # characters of a text in the deadlines table
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
    ids = _run(con, f"""
        SELECT id FROM {rollup.live(con)} WHERE status IN {OPEN} AND {_SCOPE} AND {_BUCKET_SQL[bucket]}
        ORDER BY due_at, id {window}OFFSET {max(0, int(offset))}""", params)["id"].tolist()
    rows = privacy.for_viewer(by_ids(con, ("id", "received_at", "status", "priority", "category", "district",
                                           "department", "feedback_due_at", "due_at", "text"), ids), viewer)
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


_US_PER_DAY = 86400e6


def _quantiles(values, unit: float = 1.0) -> tuple:
    """(median, p90) from a list of two quantiles, divided by `unit`; None for each when there was
    nothing to rank (NULL in DuckDB, NaN in ClickHouse)."""
    if values is None:
        return None, None
    return tuple(None if v is None or v != v else float(v) / unit for v in list(values))


def summary(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime) -> dict:
    """metrics.summary of the cases registered in the period, computed in SQL with the same
    definitions (pipeline.metrics), without pulling the period's cases into memory (all time at
    10 million rows took 13 s through pandas). tests/test_workflow.py checks that the two agree."""
    cond, params = where(f, "s")
    row = con.execute(f"""
        WITH t AS (SELECT CAST(? AS TIMESTAMPTZ) AS now),
        c AS (
            SELECT s.received_at, s.feedback_due_at, s.feedback_at, s.due_at, s.resolved_at,
                   s.status IN {OPEN} AS is_open, r.submission_id IS NOT NULL AS reopened
            FROM submissions s
            LEFT JOIN {rollup.reopened(con)} r ON r.submission_id = s.id
            WHERE {cond})
        SELECT count(*),
               count(*) FILTER (WHERE feedback_at <= feedback_due_at),
               count(*) FILTER (WHERE feedback_at IS NOT NULL OR feedback_due_at < t.now),
               count(*) FILTER (WHERE resolved_at <= due_at),
               count(*) FILTER (WHERE resolved_at IS NOT NULL OR due_at < t.now),
               -- both quantiles of a duration from one sort (a list), not two; of whole microseconds
               -- (BIGINT), converted to days after: a quarter faster than ranking DOUBLE days at 10M rows
               quantile_cont(epoch_us(feedback_at) - epoch_us(received_at), [0.5, 0.9]),
               quantile_cont(epoch_us(resolved_at) - epoch_us(received_at), [0.5, 0.9]),
               count(*) FILTER (WHERE is_open),
               quantile_cont((epoch_us(t.now) - epoch_us(received_at)) / 86400e6, 0.5) FILTER (WHERE is_open),
               count(*) FILTER (WHERE is_open AND due_at < t.now),
               count(*) FILTER (WHERE reopened),
               count(*) FILTER (WHERE resolved_at IS NOT NULL OR reopened)
        FROM c, t GROUP BY t.now""", [now, *params]).fetchall()
    (cases, fb_hit, fb_base, res_hit, res_base, fb, res, backlog, age50, overdue,
     reopened, ever_resolved) = row[0] if row else (0, 0, 0, 0, 0, None, None, 0, None, 0, 0, 0)
    fb50, fb90 = _quantiles(fb, _US_PER_DAY)
    res50, res90 = _quantiles(res, _US_PER_DAY)
    share = lambda hit, base: None if not base else hit / base  # noqa: E731
    return {
        "cases": cases,
        "feedback_in_time": share(fb_hit, fb_base),
        "resolved_on_time": share(res_hit, res_base),
        "median_days_to_feedback": fb50,
        "p90_days_to_feedback": fb90,
        "median_days_to_resolution": res50,
        "p90_days_to_resolution": res90,
        "backlog": backlog,
        "backlog_median_age_days": age50,
        "overdue": overdue,
        "reopen_rate": share(reopened, ever_resolved),
    }
