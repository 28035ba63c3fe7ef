"""Queries behind the overview: category shares, KPIs, trends, rising problems."""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from pipeline.queries.filters import Filters, where

OPEN = "('new', 'feedback_given', 'in_progress', 'reopened')"


def category_shares(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """count and percent per category; percents of the filtered total, summing to 100."""
    cond, params = where(f)
    return con.execute(f"""
        SELECT coalesce(category, 'other') AS category, count(*) AS n,
               100.0 * count(*) / sum(count(*)) OVER () AS pct
        FROM submissions WHERE {cond}
        GROUP BY 1 ORDER BY n DESC, category""", params).df()


def kpis(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime) -> dict:
    """Total and previous-period total; open, overdue and feedback in time for the filtered cases."""
    cond, params = where(f)
    prev_cond, prev_params = where(f.previous())
    row = con.execute(f"""
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status IN {OPEN}) AS open,
               count(*) FILTER (WHERE status IN {OPEN} AND due_at < ?) AS overdue,
               count(*) FILTER (WHERE feedback_at <= feedback_due_at) AS feedback_in_time,
               count(*) FILTER (WHERE feedback_at <= feedback_due_at OR feedback_at > feedback_due_at
                                OR (feedback_at IS NULL AND feedback_due_at < ?)) AS feedback_due,
               (SELECT count(*) FROM submissions WHERE {prev_cond}) AS previous
        FROM submissions WHERE {cond}""", [now, now, *prev_params, *params]).fetchall()[0]
    total, open_, overdue, in_time, due, previous = row
    return {"total": total, "previous": previous, "open": open_, "overdue": overdue,
            "feedback_in_time_pct": (100.0 * in_time / due) if due else None}


def daily_trend(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    cond, params = where(f)
    return con.execute(f"""
        SELECT CAST(date_trunc('day', received_at) AS DATE) AS day, coalesce(category, 'other') AS category,
               count(*) AS n
        FROM submissions WHERE {cond} GROUP BY ALL ORDER BY day, category""", params).df()


def top_rising(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10, min_count: int = 5) -> pd.DataFrame:
    """Category and district pairs that grew most against the previous period of equal length."""
    cond, params = where(f)
    prev_cond, prev_params = where(f.previous())
    return con.execute(f"""
        WITH cur AS (SELECT category, district, count(*) AS n FROM submissions WHERE {cond} GROUP BY ALL),
             prev AS (SELECT category, district, count(*) AS n FROM submissions WHERE {prev_cond} GROUP BY ALL)
        SELECT cur.category, cur.district, cur.n, coalesce(prev.n, 0) AS previous,
               cur.n - coalesce(prev.n, 0) AS change
        FROM cur LEFT JOIN prev USING (category, district)
        WHERE cur.n >= ? AND cur.n > coalesce(prev.n, 0) AND cur.district IS NOT NULL
        ORDER BY change DESC, cur.n DESC LIMIT ?""", [*params, *prev_params, min_count, limit]).df()


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """First and last local day with submissions."""
    row = con.execute("SELECT CAST(min(received_at) AS DATE), CAST(max(received_at) AS DATE) FROM submissions").fetchall()[0]
    return row[0], row[1]


def data_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """Changes whenever a submission or an event is added: the key for cached query results."""
    return tuple(con.execute(
        "SELECT (SELECT count(*) FROM submissions), (SELECT max(id) FROM submissions), "
        "(SELECT max(id) FROM events)").fetchall()[0])
