"""Queries behind the wall display and the district map; `snapshot` gathers one screen's data."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from pipeline import metrics, privacy, rollup, settings, surge
from pipeline.queries import incidents, overview
from pipeline.queries.filters import Filters
from pipeline.queries.filters import OPEN
from pipeline.queries.rows import by_ids

TYPICAL_WEEKS = 8
DAYS = 30  # the wall's period for feedback in time, shares, the trend and the map


def _local_midnight(now: dt.datetime) -> dt.datetime:
    tz = ZoneInfo(settings.get("TZ"))
    local = now.astimezone(tz)
    return dt.datetime.combine(local.date(), dt.time(), tz)


def today_vs_typical(con: duckdb.DuckDBPyConnection, now: dt.datetime, region: str | None = None) -> dict:
    """Submissions since local midnight, and the median of the same weekday in the previous weeks
    counted up to the same time of day (so a morning is compared with mornings)."""
    midnight = _local_midnight(now)
    offsets = [0, *range(1, TYPICAL_WEEKS + 1)]
    # one range count per week, each on its own slice of received_at (a join of the offsets with
    # the submissions scanned all of them: 70 ms at 10 million rows)
    one = "SELECT ? AS k, count(*) AS n FROM submissions WHERE received_at >= ? AND received_at < ? " \
          "AND (CAST(? AS VARCHAR) IS NULL OR region = ?)"
    params: list = []
    for k in offsets:
        params += [k, midnight - dt.timedelta(days=7 * k), now - dt.timedelta(days=7 * k), region, region]
    rows = con.execute(" UNION ALL ".join([one] * len(offsets)), params).fetchall()
    counts = dict(rows)
    typical = metrics.median([counts.get(k, 0) for k in offsets[1:]])
    today = counts.get(0, 0)
    change = None if not typical else 100.0 * (today - typical) / typical
    return {"today": today, "typical": typical, "change_pct": change}


def case_figures(con: duckdb.DuckDBPyConnection, now: dt.datetime, region: str | None = None,
                 days: int = DAYS) -> dict:
    """Open and overdue cases now (whenever received); feedback in time over the last `days`."""
    since = now - dt.timedelta(days=days)
    open_, overdue = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE due_at < ?)
        FROM {rollup.live(con)} WHERE status IN {OPEN} AND (CAST(? AS VARCHAR) IS NULL OR region = ?)""",
        [now, region, region]).fetchall()[0]
    in_time, due = con.execute("""
        SELECT count(*) FILTER (WHERE feedback_at <= feedback_due_at),
               count(*) FILTER (WHERE feedback_at IS NOT NULL OR feedback_due_at < ?)
        FROM submissions WHERE received_at >= ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?)""",
        [now, since, region, region]).fetchall()[0]
    return {"open": open_, "overdue": overdue, "feedback_in_time_pct": 100.0 * in_time / due if due else None}


def shares(con: duckdb.DuckDBPyConnection, now: dt.datetime, region: str | None = None, days: int = DAYS) -> pd.DataFrame:
    """Category, count and percent of the submissions in the last `days` local days."""
    today = _local_midnight(now).date()
    return overview.category_shares(con, Filters(today - dt.timedelta(days=days - 1), today, region=region))


def trend_vs_last_year(con: duckdb.DuckDBPyConnection, now: dt.datetime, region: str | None = None,
                       days: int = DAYS) -> pd.DataFrame:
    """day, n, last_year: daily counts of the last `days` days and of the same days 52 weeks
    earlier (364 days, so Mondays meet Mondays); today is the day so far."""
    start = _local_midnight(now) - dt.timedelta(days=days - 1)
    first, today = start.date(), now.astimezone(start.tzinfo).date()
    if rollup.usable(con, Filters(first - dt.timedelta(days=364), today, region=region)):
        # whole days from the daily rollup; only today, counted up to `now`, from the submissions
        return con.execute("""
            WITH days AS (SELECT CAST(d AS DATE) AS day FROM range(CAST(? AS DATE), CAST(? AS DATE) + 1, INTERVAL 1 DAY) t(d)),
            r AS (SELECT day, sum(n) AS n FROM rollup_daily
                  WHERE day BETWEEN CAST(? AS DATE) - 364 AND ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?) GROUP BY day),
            today AS (SELECT count(*) AS n FROM submissions
                      WHERE received_at >= ? AND received_at <= ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?))
            SELECT days.day,
                   CAST(CASE WHEN days.day = ? THEN (SELECT n FROM today) ELSE coalesce(cur.n, 0) END AS BIGINT) AS n,
                   CAST(ly.n AS BIGINT) AS last_year
            FROM days LEFT JOIN r cur ON cur.day = days.day LEFT JOIN r ly ON ly.day = days.day - 364
            ORDER BY days.day""",
            [first, today, first, today, region, region, _local_midnight(now), now, region, region, today]).df()
    return con.execute("""
        WITH days AS (SELECT CAST(d AS DATE) AS day FROM range(CAST(? AS DATE), CAST(? AS DATE) + 1, INTERVAL 1 DAY) t(d)),
        cur AS (SELECT CAST(received_at AS DATE) AS day, count(*) AS n FROM submissions
                WHERE received_at >= ? AND received_at <= ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?) GROUP BY 1),
        ly AS (SELECT CAST(received_at AS DATE) + 364 AS day, count(*) AS n FROM submissions
               WHERE received_at >= CAST(? AS TIMESTAMPTZ) - INTERVAL 364 DAY
                 AND received_at < CAST(? AS TIMESTAMPTZ) - INTERVAL 363 DAY
                 AND (CAST(? AS VARCHAR) IS NULL OR region = ?) GROUP BY 1)
        SELECT days.day, coalesce(cur.n, 0) AS n, ly.n AS last_year
        FROM days LEFT JOIN cur USING (day) LEFT JOIN ly USING (day) ORDER BY days.day""",
        [first, today, start, now, region, region, start, now, region, region]).df()


def district_stats(con: duckdb.DuckDBPyConnection, now: dt.datetime, days: int = DAYS,
                   category: str | None = None, region: str | None = None) -> pd.DataFrame:
    """Per district: submissions in the last `days` (of one category when given), per 10,000
    residents, open, overdue and the overdue share of open cases."""
    start = _local_midnight(now) - dt.timedelta(days=days - 1)
    n = con.execute("""
        SELECT district, count(*) FILTER (WHERE CAST(? AS VARCHAR) IS NULL OR category = ?) AS n
        FROM submissions
        WHERE district IS NOT NULL AND received_at >= ? AND received_at <= ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?)
        GROUP BY district""", [category, category, start, now, region, region]).df()
    open_ = con.execute(f"""
        SELECT district, count(*) AS open, count(*) FILTER (WHERE due_at < ?) AS overdue
        FROM {rollup.live(con)}
        WHERE district IS NOT NULL AND status IN {OPEN} AND received_at <= ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?)
        GROUP BY district""", [now, now, region, region]).df()
    df = n.merge(open_, on="district", how="outer")
    return overview.per_district(df.astype({"n": "float"}).fillna({"n": 0, "open": 0, "overdue": 0}), region)


def latest(con: duckdb.DuckDBPyConnection, now: dt.datetime, limit: int = 12, region: str | None = None) -> pd.DataFrame:
    """The newest submissions with their texts masked for a shared screen."""
    ids = con.execute(f"""
        SELECT id FROM submissions
        WHERE received_at <= ? AND (CAST(? AS VARCHAR) IS NULL OR region = ?)
        ORDER BY received_at DESC, id DESC LIMIT {int(limit)}""", [now, region, region]).df()["id"].tolist()
    df = by_ids(con, ("id", "received_at", "category", "district", "text"), ids).drop(columns="id")
    df["text"] = [privacy.mask(" ".join(str(t).split()))[:160] for t in df["text"]]
    return df


def snapshot(con: duckdb.DuckDBPyConnection, now: dt.datetime, region: str | None = None) -> dict:
    """Everything one wall screen shows, at `now`."""
    return {"now": now, "region": region,
            "today": today_vs_typical(con, now, region),
            "cases": case_figures(con, now, region),
            "shares": shares(con, now, region),
            "trend": trend_vs_last_year(con, now, region),
            "districts": district_stats(con, now, region=region),
            "alerts": surge.current_alerts(con, now, region=region),
            "latest": latest(con, now, region=region),
            "incidents": incidents.counts_between(con, _local_midnight(now), now, region)}
