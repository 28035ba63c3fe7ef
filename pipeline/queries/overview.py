"""Queries behind the overview: category shares, KPIs, trends, rising problems."""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from dataclasses import replace

from pipeline import reference, rollup
from pipeline.queries.filters import OPEN, Filters, where


def category_shares(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Per category of the filtered submissions: n (labels counted), counted_pct (their share),
    pct (the share corrected for the classifier's errors: the figure every screen shows) and
    low/high (its 90 % interval), all percents of the filtered total, each column summing to 100.
    How it was corrected is in .attrs: method ('reviews', 'cross_validation' or 'none') and basis;
    .attrs['pending']: the filtered rows not yet classified, which are in none of the shares."""
    from pipeline import classify, quantify, settings
    from pipeline.queries import review

    threshold = settings.get_float("REVIEW_THRESHOLD")
    # Rows stored but not yet classified (pipeline.pending) are in no share: counted apart, and the
    # page says how many are left out.
    if rollup.usable(con, f):
        table, params = rollup.cells(f)
        cells = con.execute(f"""
            SELECT CASE WHEN pending THEN NULL ELSE category END AS category, operator AND NOT pending AS exact,
                   CASE WHEN pending THEN NULL WHEN below THEN 'low' ELSE 'high' END AS band, sum(n) AS n
            FROM {table} GROUP BY ALL""", params).df()  # the pending rows in one cell of their own
        held = cells["category"].isna()
        pending = int(cells.loc[held, "n"].sum())
        cells = cells[~held].reset_index(drop=True)
    else:
        cond, params = where(f)
        cells = con.execute(f"""
            SELECT coalesce(category, 'other') AS category, coalesce(category_source = 'operator', false) AS exact,
                   CASE WHEN category_confidence < ? THEN 'low' ELSE 'high' END AS band, count(*) AS n
            FROM submissions WHERE {cond} AND category_source IS DISTINCT FROM 'pending' GROUP BY ALL""",
            [threshold, *params]).df()
        pending = con.execute(f"SELECT count(*) FROM submissions WHERE {cond} AND category_source = 'pending'",
                              params).fetchall()[0][0]
    if cells.empty:
        empty = pd.DataFrame(columns=["category", "n", "counted_pct", "pct", "low", "high"])
        empty.attrs.update(pending=pending)
        return empty
    classes = sorted(set(reference.category_codes()) | set(cells["category"]))
    shares = quantify.estimate(cells, review.decisions(con, threshold), (classify.model_info() or {}).get("cross_validation"),
                               classes, settings.get_int("REVIEW_MIN"), settings.get_int("REVIEW_MIN_AUDIT"),
                               settings.get("SHARE_CORRECTION"))
    t = shares.table
    keep = ((t["n"] > 0) | (t["adj_pct"] >= 0.05)).to_numpy()
    cols = {name: t[col].to_numpy()[keep] for name, col in (("category", "category"), ("n", "n"), ("counted_pct", "pct"),
                                                            ("pct", "adj_pct"), ("low", "low"), ("high", "high"))}
    order = sorted(range(len(cols["category"])), key=lambda i: (-cols["pct"][i], cols["category"][i]))
    out = pd.DataFrame({name: values[order] for name, values in cols.items()})
    out.attrs.update(method=shares.method, basis=shares.basis, pending=pending)
    return out


def kpis(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime) -> dict:
    """Total and previous-period total; open, overdue and feedback in time for the filtered cases."""
    if rollup.usable(con, f) and rollup.settled(con, now):  # counts from the rollup; what depends on `now` from the cases
        return _kpis_rolled(con, f, now)
    cond, params = where(f)
    prev_cond, prev_params = where(f.previous())
    row = con.execute(f"""
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status IN {OPEN}) AS open,
               count(*) FILTER (WHERE status IN {OPEN} AND due_at < ?) AS overdue,
               count(*) FILTER (WHERE feedback_at <= feedback_due_at) AS feedback_in_time,
               count(*) FILTER (WHERE feedback_at IS NOT NULL OR feedback_due_at < ?) AS feedback_due,
               (SELECT count(*) FROM submissions WHERE {prev_cond}) AS previous
        FROM submissions WHERE {cond}""", [now, now, *prev_params, *params]).fetchall()[0]
    total, open_, overdue, in_time, due, previous = row
    return {"total": total, "previous": previous, "open": open_, "overdue": overdue,
            "feedback_in_time_pct": (100.0 * in_time / due) if due else None}


def _kpis_rolled(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime) -> dict:
    """kpis() for a filter the rollup answers: totals, feedback given and feedback that lapsed for
    good from rollup_daily; open, overdue and feedback still awaited past its deadline (they change
    with `now` and the status) from the live cases."""
    table, params = rollup.cells(f)
    prev_table, prev_params = rollup.cells(f.previous())
    total, given, in_time, lapsed, previous = con.execute(f"""
        SELECT coalesce(sum(n), 0), coalesce(sum(feedback_given), 0), coalesce(sum(feedback_in_time), 0),
               coalesce(sum(feedback_lapsed), 0), (SELECT coalesce(sum(n), 0) FROM {prev_table})
        FROM {table}""", [*prev_params, *params]).fetchall()[0]
    cond, params = where(f)
    open_, overdue, awaited = con.execute(f"""
        SELECT count(*) FILTER (WHERE status IN {OPEN}), count(*) FILTER (WHERE status IN {OPEN} AND due_at < ?),
               count(*) FILTER (WHERE feedback_at IS NULL AND feedback_due_at < ?)
        FROM {rollup.LIVE} WHERE {cond} AND (status IN {OPEN} OR feedback_at IS NULL)""",
        [now, now, *params]).fetchall()[0]
    due = given + lapsed + awaited
    return {"total": int(total), "previous": int(previous), "open": open_, "overdue": overdue,
            "feedback_in_time_pct": (100.0 * in_time / due) if due else None}


def trend_grain(f: Filters) -> str:
    """The trend's time step for a period: hour, day, week or month (see trend)."""
    days = (f.end - f.start).days + 1
    return "hour" if days == 1 else "day" if days <= 92 else "week" if days <= 366 else "month"


def trend(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime | None = None) -> pd.DataFrame:
    """Submissions per time step and category over the filter's period: at (local time, naive), category,
    n; .attrs["grain"] (grain()) is 'hour' for a one-day period (its hours up to now), 'day' up to
    three months, 'week' (from Monday) up to a year, else 'month': two years of days drew 700 points
    per line, a band rather than a trend. Every step of the period is there for every category that
    has any, with zeros, so each draws a whole line and nothing outside the period (local days; a
    stray day came from cutting days at UTC midnight). A week or month the period cuts is counted
    only inside the period."""
    grain = trend_grain(f)
    if grain != "hour" and rollup.usable(con, f):  # days and weeks from the daily rollup, months from the monthly
        table, params, step = rollup.steps(f, grain)
        df = con.execute(f"""
            SELECT CAST(date_trunc('{grain}', {step}) AS TIMESTAMP) AS "at", category, sum(n) AS n
            FROM {table} GROUP BY ALL ORDER BY 1, 2""", params).df()
    else:
        cond, params = where(f)
        df = con.execute(f"""
            SELECT CAST(date_trunc('{grain}', received_at) AS TIMESTAMP) AS "at", coalesce(category, 'other') AS category,
                   count(*) AS n
            FROM submissions WHERE {cond} GROUP BY ALL ORDER BY 1, 2""", params).df()
    if grain == "hour":
        last = dt.datetime.combine(f.end, dt.time(23))
        local_now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(f.bounds()[0].tzinfo).replace(tzinfo=None)
        last = min(last, local_now.replace(minute=0, second=0, microsecond=0))
        steps = pd.date_range(dt.datetime.combine(f.start, dt.time()), max(last, dt.datetime.combine(f.start, dt.time())), freq="h")
    elif grain == "day":
        steps = pd.date_range(f.start, f.end, freq="D")
    elif grain == "week":
        steps = pd.date_range(f.start - dt.timedelta(days=f.start.weekday()), f.end, freq="W-MON")
    else:
        steps = pd.date_range(f.start.replace(day=1), f.end, freq="MS")
    if len(df):
        # a row after `now` (clock skew) still shows; each step once (a step with two categories came
        # twice, and the grid then counted both categories twice there)
        steps = steps.union(pd.DatetimeIndex(df["at"].unique()))
        grid = pd.MultiIndex.from_product([steps, sorted(df["category"].unique())], names=["at", "category"])
        df = (df.assign(at=pd.to_datetime(df["at"])).set_index(["at", "category"])["n"]
              .reindex(grid, fill_value=0).reset_index())
    df.attrs["grain"] = grain
    return df


def comparison(f: Filters, first: dt.date | None, days: int = 30) -> tuple[Filters, Filters] | None:
    """What a change is measured over, and against: the period and the one of equal length just
    before it, when the data reach back that far. Otherwise (all time, or a period that starts at
    the first data) there is no previous period: the last `days` days of the period against the
    `days` before them; None when the data do not cover even those."""
    if first is None:
        return None
    before = f.previous()
    if before.start >= first:
        return f, before
    last = replace(f, start=max(f.start, f.end - dt.timedelta(days=days - 1)))
    before = last.previous()
    return (last, before) if last != f and before.start >= first else None


def top_rising(con: duckdb.DuckDBPyConnection, f: Filters, limit: int = 10, min_count: int = 5,
               previous: Filters | None = None) -> pd.DataFrame:
    """Category and district pairs that grew most against the previous period of equal length (or
    against `previous`, e.g. the calendar month before for a briefing)."""
    before = previous or f.previous()
    if rollup.usable(con, f) and rollup.usable(con, before):
        (table, params), (prev_table, prev_params) = rollup.cells(f), rollup.cells(before)
        cond = prev_cond = "true"
        category, count = "category", "sum(n)"
    else:
        (cond, params), (prev_cond, prev_params) = where(f), where(before)
        table = prev_table = "submissions"
        category, count = "coalesce(category, 'other') AS category", "count(*)"
    return con.execute(f"""
        WITH cur AS (SELECT {category}, district, {count} AS n FROM {table} WHERE {cond} GROUP BY ALL),
             prev AS (SELECT {category}, district, {count} AS n FROM {prev_table} WHERE {prev_cond} GROUP BY ALL)
        SELECT cur.category, cur.district, cur.n, coalesce(prev.n, 0) AS previous,
               cur.n - coalesce(prev.n, 0) AS change
        FROM cur LEFT JOIN prev USING (category, district)
        WHERE cur.n >= ? AND cur.n > coalesce(prev.n, 0) AND cur.district IS NOT NULL
        ORDER BY change DESC, cur.n DESC, cur.category, cur.district LIMIT ?""", [*params, *prev_params, min_count, limit]).df()


def district_stats(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime, category: str | None = None) -> pd.DataFrame:
    """Per district of the filtered period (every district of the region, whatever district is
    picked, so the map keeps its context): submissions (of one category when given), per 10,000
    residents, open, overdue and the overdue share of the open ones."""
    whole = replace(f, district=None)
    if rollup.usable(con, whole):  # counts from the rollup, open and overdue from the open cases
        table, params = rollup.cells(whole)
        n = con.execute(f"""
            SELECT district, sum(n) FILTER (WHERE CAST(? AS VARCHAR) IS NULL OR category = ?) AS n
            FROM {table} WHERE district IS NOT NULL GROUP BY district""",
            [category, category, *params]).df()
        cond, params = where(whole)
        open_ = con.execute(f"""
            SELECT district, count(*) AS open, count(*) FILTER (WHERE due_at < ?) AS overdue
            FROM {rollup.LIVE} WHERE {cond} AND status IN {OPEN} AND district IS NOT NULL
            GROUP BY district""",
            [now, *params]).df()
        df = n.merge(open_, on="district", how="outer")
        return per_district(df.astype({"n": "float"}).fillna({"n": 0, "open": 0, "overdue": 0}), f.region)
    cond, params = where(whole)
    df = con.execute(f"""
        SELECT district,
               count(*) FILTER (WHERE CAST(? AS VARCHAR) IS NULL OR coalesce(category, 'other') = ?) AS n,
               count(*) FILTER (WHERE status IN {OPEN}) AS open,
               count(*) FILTER (WHERE status IN {OPEN} AND due_at < ?) AS overdue
        FROM submissions WHERE {cond} AND district IS NOT NULL GROUP BY district""",
        [category, category, now, *params]).df()
    return per_district(df, f.region)


def per_district(counts: pd.DataFrame, region: str | None) -> pd.DataFrame:
    """Counts (district, n, open, overdue) on every district of the region, with submissions per
    10,000 residents and the overdue share of open cases; districts without rows get zeros."""
    d = reference.districts()[["code", "region", "population"]].rename(columns={"code": "district"})
    if region:
        d = d[d["region"] == region]
    out = d.merge(counts, on="district", how="left").fillna({"n": 0, "open": 0, "overdue": 0})
    out["per_10k"] = 10_000 * out["n"] / out["population"]
    out["overdue_share"] = (100.0 * out["overdue"] / out["open"]).where(out["open"] > 0)
    return out


def points(con: duckdb.DuckDBPyConnection, f: Filters, category: str | None = None, cell: float = 0.01) -> pd.DataFrame:
    """Submissions with coordinates binned to a `cell`-degree grid: lat, lon, n, area (the point
    layer; binning keeps it to a few thousand points at any volume)."""
    cond, params = where(f)
    df = con.execute(f"""
        SELECT district, round(lat / ?) * ? AS lat, round(lon / ?) * ? AS lon, count(*) AS n
        FROM submissions
        WHERE {cond} AND lat IS NOT NULL AND lon IS NOT NULL AND district IS NOT NULL
          AND (CAST(? AS VARCHAR) IS NULL OR category = ?)
        GROUP BY ALL""", [cell, cell, cell, cell, *params, category, category]).df()
    return df.assign(area=df["district"].map(reference.districts().set_index("code")["map_area"]))


def data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """First and last local day with submissions."""
    row = con.execute("SELECT CAST(min(received_at) AS DATE), CAST(max(received_at) AS DATE) FROM submissions").fetchall()[0]
    return row[0], row[1]


def data_version(con: duckdb.DuckDBPyConnection) -> tuple:
    """Changes whenever a submission or an event is added: the key for cached query results."""
    return tuple(con.execute(
        "SELECT (SELECT count(*) FROM submissions), (SELECT max(id) FROM submissions), "
        "(SELECT max(id) FROM events)").fetchall()[0])
