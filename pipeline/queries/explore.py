"""Queries behind the analyst explorer: facet counts, the row count, a page of rows, a time
series and cross-tabs, all of exactly the rows `where(f)` selects, so that a figure anywhere
equals the explorer's count for the same filter."""
from __future__ import annotations

import datetime as dt
import math
import threading
import time
import uuid
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import auth, privacy, reference, rollup, settings, store
from pipeline.queries import textsearch
from pipeline.queries.filters import OPEN, Filters, overdue_sql, where
from pipeline.queries.rows import by_ids

# facet -> SQL expression of its value (the value a click puts into the filter)
FACETS = {
    "region": "region",
    "district": "district",
    "category": "coalesce(category, 'other')",
    "source": "source",
    "language": "language",
    "status": "status",
    "department": "department",
    "placement": "placement",
    "confidence": "CASE WHEN category_source = 'operator' THEN 'operator' "
                  "WHEN coalesce(category_confidence, 0) < ? THEN 'low' ELSE 'high' END",
    "overdue": overdue_sql(),
    "reviewed": "coalesce(category_source = 'operator', false)",
    "confirmed": "resident_confirmed_at IS NOT NULL",
}
GRAINS = ("day", "week", "month", "year")
SORTS = {"received_desc": "received_at DESC, id DESC", "received_asc": "received_at, id",
         "due_asc": "due_at NULLS LAST, id", "confidence_asc": "category_confidence NULLS LAST, id",
         "id_desc": "id DESC"}
SORT_KEYS = "id, received_at, due_at, category_confidence"  # every column SORTS orders by
PAGE_COLUMNS = ("id", "received_at", "source", "region", "district", "category", "category_confidence",
                "category_source", "priority", "status", "department", "due_at", "text")
CROSS_DIMENSIONS = ("category", "district", "month", "region", "source", "department", "status")
_DIM_SQL = {"category": "coalesce(category, 'other')", "district": "coalesce(district, '?')",
            "month": "strftime(received_at, '%Y-%m')", "region": "coalesce(region, '?')", "source": "source",
            "department": "coalesce(department, '?')", "status": "status"}


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.timezone.utc)


def count(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime | None = None) -> int:
    if rollup.usable(con, f):
        table, params = rollup.cells(f)
        return int(con.execute(f"SELECT coalesce(sum(n), 0) FROM {table}", params).fetchall()[0][0])
    cube = _search_cube(con, f, now, build=False)  # a count alone is cheaper than a cube
    if cube is not None:
        return int(_from_cube(con, cube, f, "SELECT coalesce(sum(n), 0) AS n FROM {t} WHERE {cond}")["n"].iloc[0])
    cond, params = where(f, now=_now(now))
    return con.execute(f"SELECT count(*) FROM submissions WHERE {cond}", params).fetchall()[0][0]


# A search's cube: the rows a search finds in a period, counted by every column a facet or a filter
# reads (the confidence band, overdue at `now` and confirmed by their condition; each cell gets a
# value on the same side of each condition as all its rows, made from the condition after counting:
# reading the rows' least values instead took 20-30 ms more of 410-460 at 10,000,000 rows), so that
# `where` and FACETS, unchanged, count a search's rows under any facet filter from the cube (a few
# thousand cells) instead of from the rows: after the first, a facet click with a search word reads
# no text's terms and no row. Kept for the same store, data version, words, period and review
# threshold, for CUBE_SECONDS when the caller's `now` is the clock's, else for that `now` only.
CUBE_SECONDS = 60
_CUBE_KEYS = ("region", "district", "source", "language", "category", "department", "placement", "status",
              "category_source")
_cubes: dict[tuple, tuple[float, dt.datetime, pa.Table]] = {}
_CUBES_KEPT = 16
_cubes_lock = threading.Lock()  # the app's sessions run in threads of one process


def _store_key(con) -> tuple | None:
    """The store's file and data version, or None for an in-memory store (not cached)."""
    path = store.db_file(con)
    if path is None:
        return None
    from pipeline.queries.overview import data_version
    return (str(path), *data_version(con))


def _search_cube(con, f: Filters, now: dt.datetime | None, build: bool = True) -> tuple[pa.Table, dt.datetime] | None:
    """(cube, the `now` it was counted at) for a filter with search words, else None (also when
    none is kept and `build` is false)."""
    if not f.q or textsearch.parts(f.q) is None or not isinstance(con, duckdb.DuckDBPyConnection):
        return None  # (another engine, pipeline.engines, counts from the rows: the same figures)
    store_key = _store_key(con)
    threshold = settings.get_float("REVIEW_THRESHOLD")
    key = (store_key, f.q, f.start, f.end, threshold)
    with _cubes_lock:
        got = _cubes.get(key) if store_key is not None else None
    if got is not None and ((now is None and time.monotonic() - got[0] < CUBE_SECONDS) or now == got[1]):
        return got[2], got[1]
    if not build:
        return None
    when = _now(now)
    cond, params = where(Filters(start=f.start, end=f.end, q=f.q), now=when)
    keys = ", ".join(_CUBE_KEYS)
    # the cells' values: below the threshold or at it; before `when` or at it; confirmed or not (NULL
    # stays NULL); every row's receipt lies in the period, so its first instant stands for them
    table = con.sql(f"""
        SELECT {keys}, CASE WHEN below THEN ? - 1 ELSE ? END AS category_confidence,
               CASE WHEN overdue THEN CAST(? AS TIMESTAMPTZ) - INTERVAL 1 SECOND
                    WHEN NOT overdue THEN CAST(? AS TIMESTAMPTZ) END AS due_at,
               CASE WHEN NOT unconfirmed THEN CAST(? AS TIMESTAMPTZ) END AS resident_confirmed_at,
               CAST(? AS TIMESTAMPTZ) AS received_at, n
        FROM (SELECT {keys}, coalesce(category_confidence, 0) < ? AS below, due_at < ? AS overdue,
                     resident_confirmed_at IS NULL AS unconfirmed, count(*) AS n
              FROM submissions WHERE {cond} GROUP BY ALL)""",
        params=[threshold, threshold, when, when, when, f.bounds()[0], threshold, when, *params]).to_arrow_table()
    if store_key is not None:
        with _cubes_lock:
            while len(_cubes) >= _CUBES_KEPT:
                _cubes.pop(next(iter(_cubes)))
            _cubes[key] = (time.monotonic(), when, table)
    return table, when


def _from_cube(con, cube: tuple[pa.Table, dt.datetime], f: Filters, sql: str, before: tuple = ()) -> pd.DataFrame:
    """The result of `sql` on a search's cube: {t} names the cube (registered on `con` for the call
    only), {cond} is `where` of `f` but its words (the cube holds only their rows) at the cube's
    `now`; `before` are the parameters of the placeholders ahead of {cond}."""
    table, when = cube
    cond, params = where(replace(f, q=None), now=when)
    name = f"_cube_{uuid.uuid4().hex}"
    con.register(name, table)
    try:
        return con.execute(sql.format(t=name, cond=cond), [*before, *params]).df()
    finally:
        con.unregister(name)


def facets(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime | None = None) -> pd.DataFrame:
    """facet, value, n: for every facet the count of each value among the filtered rows, in one
    pass over them (GROUPING SETS). A facet already chosen shows only its value. With search words,
    from the search's cube (`_search_cube`)."""
    if rollup.usable(con, f):
        return _sorted(_facets_rolled(con, f, _now(now)))
    cube = _search_cube(con, f, now)
    now = _now(now)
    threshold = settings.get_float("REVIEW_THRESHOLD")
    cols = ", ".join(f"{sql} AS {name}" for name, sql in FACETS.items())
    sets = ", ".join(f"({name})" for name in FACETS)
    sql = f"""
        SELECT {', '.join(FACETS)}, GROUPING_ID({', '.join(FACETS)}) AS gid, {{n}} AS n
        FROM (SELECT {cols}{{weight}} FROM {{t}} WHERE {{cond}})
        GROUP BY GROUPING SETS ({sets})"""
    if cube is not None:
        df = _from_cube(con, cube, f, sql.format(n="sum(n)", weight=", n", t="{t}", cond="{cond}"), (threshold, cube[1]))
    else:
        cond, params = where(f, now=now)
        df = con.execute(sql.format(n="count(*)", weight="", t="submissions", cond=cond), [threshold, now, *params]).df()
    out = []
    names = list(FACETS)
    gid, counts = df["gid"].to_numpy(), df["n"].to_numpy()
    for i, name in enumerate(names):
        bit = 1 << (len(names) - 1 - i)
        mine = (gid & bit) == 0
        # a list, not Series.map: with pandas' string dtype a None put back into the column is NaN again
        values = [None if pd.api.types.is_scalar(v) and pd.isna(v) else _as_param(v)
                  for v in df[name].to_numpy(dtype=object)[mine]]
        out.append(pd.DataFrame({"facet": name, "value": pd.Series(values, dtype=object),
                                 "n": counts[mine].astype(int)}))
    return _sorted(pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["facet", "value", "n"]))


def _sorted(res: pd.DataFrame) -> pd.DataFrame:
    return res.sort_values(["facet", "n", "value"], ascending=[True, False, True], na_position="last").reset_index(drop=True)


def _rolled_facet_counts(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """facet, value, n of rollup_facets for the filter: whole months from the monthly table (all
    time at 10 million rows: 190,000 rows instead of 3.9 million), the odd days from the daily one."""
    table, params = rollup.periods(f, "SELECT facet, value, n FROM rollup_facets_monthly",
                                   "SELECT facet, value, n FROM rollup_facets")
    return con.execute(f"SELECT facet, value, sum(n) AS n FROM {table} GROUP BY ALL", params).df()


def _facets_rolled(con: duckdb.DuckDBPyConnection, f: Filters, now: dt.datetime) -> pd.DataFrame:
    """facets() for a filter the rollup answers: the territory, category and label facets from
    rollup_daily, the others from rollup_facets, overdue (it changes with `now`) from the live cases."""
    table, params = rollup.cells(f)
    threshold = settings.get_float("REVIEW_THRESHOLD")
    parts = [con.execute(f"""
        WITH c AS (SELECT * FROM {table})
        SELECT 'region' AS facet, region AS value, sum(n) AS n FROM c GROUP BY ALL
        UNION ALL SELECT 'district', district, sum(n) FROM c GROUP BY ALL
        UNION ALL SELECT 'category', category, sum(n) FROM c GROUP BY ALL
        UNION ALL SELECT 'confidence', CASE WHEN operator THEN 'operator'
                                            WHEN below OR (unscored AND 0 < ?) THEN 'low' ELSE 'high' END, sum(n)
                  FROM c GROUP BY ALL
        UNION ALL SELECT 'reviewed', CASE WHEN operator THEN '1' ELSE '0' END, sum(n) FROM c GROUP BY ALL""",
        [*params, threshold]).df(),
        _rolled_facet_counts(con, f)]
    total = int(parts[0].loc[parts[0]["facet"] == "region", "n"].sum())
    lcond, lparams = where(f, now=now)
    late, undated = con.execute(f"""
        SELECT count(*) FILTER (WHERE due_at < ?), count(*) FILTER (WHERE due_at IS NULL)
        FROM {rollup.LIVE} WHERE {lcond} AND status IN {OPEN}""", [now, *lparams]).fetchall()[0]
    overdue = [("overdue", "1", late), ("overdue", None, undated), ("overdue", "0", total - late - undated)]
    parts.append(pd.DataFrame([o for o in overdue if o[2]], columns=["facet", "value", "n"]))
    res = pd.concat(parts, ignore_index=True)
    res = res[res["n"] > 0]
    values = [None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in res["value"]]
    return pd.DataFrame({"facet": res["facet"].astype(object).tolist(), "value": pd.Series(values, dtype=object),
                         "n": res["n"].astype(int).tolist()})


def _as_param(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    return str(v)


def page(con: duckdb.DuckDBPyConnection, f: Filters, sort: str = "received_desc", offset: int = 0, limit: int = 50,
         viewer: auth.Viewer | None = None, now: dt.datetime | None = None) -> pd.DataFrame:
    """One page of the filtered rows, texts masked for a viewer who may not see contacts."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}")
    limit, offset = int(limit), max(0, int(offset))
    words = textsearch.parts(f.q)
    if words is None:
        cond, params = where(f, now=_now(now))
        ids = con.execute(f"SELECT id FROM submissions WHERE {cond} ORDER BY {SORTS[sort]} LIMIT {limit} OFFSET {offset}",
                          params).df()["id"].tolist()
    else:
        # The signed rows and the others (not signed yet, or stored but not classified), each ordered
        # and cut on its own, then merged: each half is one scan that DuckDB prunes by the rows it
        # has already found (the newest page of a common word in the 10-million-row demo of short
        # texts: 0.03 s, 0.25 s with the subquery; among 10 million letters of 300-400 characters
        # 0.26-0.29 s).
        cond, params = where(replace(f, q=None), now=_now(now))
        first = offset + limit
        signed = _signed_first(con, cond, params, words, sort, first)
        ids = con.execute(f"""
            SELECT id FROM (
                (SELECT {SORT_KEYS} FROM submissions WHERE id IN (SELECT unnest(?)))
                UNION ALL
                (SELECT {SORT_KEYS} FROM submissions WHERE {cond} AND {words.unsigned} ORDER BY {SORTS[sort]} LIMIT {first}))
            ORDER BY {SORTS[sort]} LIMIT {limit} OFFSET {offset}""",
                          [signed, *params, *words.unsigned_params]).df()["id"].tolist()
    return privacy.for_viewer(by_ids(con, PAGE_COLUMNS, ids), viewer)


_CANDIDATES_EXTRA = 64  # candidates beyond twice the rows wanted, at first


def _signed_first(con, cond: str, params: list, words: textsearch.Parts, sort: str, first: int) -> list[int]:
    """Ids of the first `first` signed rows that hold the search's words, in `sort` order. The rows
    whose bits alone may hold them come first, `first` and some more, and only they are looked
    into (their terms read by id). Scanning the condition itself read the terms of every candidate
    of the store (a newest page of 'ямы' at 10,000,000 rows: 302/317 ms p50/p95).

    When too few candidates hold the words, more are taken, as many as the share that did says is
    enough (four times as many at least), unless that share is so small that the condition itself is
    cheaper: a word no text holds (a typo) took 1.0 s at 10,000,000 rows while the candidates grew
    fourfold again and again, 0.3 s with the condition."""
    want = first * 2 + _CANDIDATES_EXTRA
    while True:
        cand = [r[0] for r in con.execute(f"SELECT id FROM submissions WHERE {cond} AND {words.bits} "
                                          f"ORDER BY {SORTS[sort]} LIMIT {want}", [*params, *words.bits_params]).fetchall()]
        got = [r[0] for r in con.execute(
            f"SELECT id FROM submissions WHERE id IN (SELECT unnest(?)) AND {words.signed} ORDER BY {SORTS[sort]} "
            f"LIMIT {first}", [cand, *words.signed_params]).fetchall()]
        if len(got) >= first or len(cand) < want:
            return got
        need = math.ceil(first * len(cand) / len(got) * 1.25) if got else None
        if need is None or need > want * 16:
            return [r[0] for r in con.execute(f"SELECT id FROM submissions WHERE {cond} AND {words.signed} "
                                              f"ORDER BY {SORTS[sort]} LIMIT {first}",
                                              [*params, *words.signed_params]).fetchall()]
        want = max(want * 4, need)


def timeline(con: duckdb.DuckDBPyConnection, f: Filters, grain: str = "day", by: str | None = "category",
             now: dt.datetime | None = None) -> pd.DataFrame:
    """period (local start of the day/week/month/year), [by], n."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; one of {', '.join(GRAINS)}")
    if by is not None and by not in _DIM_SQL:
        raise ValueError(f"unknown dimension {by!r}")
    group = f", {_DIM_SQL[by]} AS {by}" if by else ""
    if by in (None, "category", "district", "region") and rollup.usable(con, f):
        table, params, step = rollup.steps(f, grain)
        return con.execute(f"""
            SELECT CAST(date_trunc('{grain}', {step}) AS DATE) AS period{group}, sum(n) AS n
            FROM {table} GROUP BY ALL ORDER BY ALL""", params).df()
    cond, params = where(f, now=_now(now))
    return con.execute(f"""
        SELECT CAST(date_trunc('{grain}', received_at) AS DATE) AS period{group}, count(*) AS n
        FROM submissions WHERE {cond} GROUP BY ALL ORDER BY ALL""", params).df()


def crosstab(con: duckdb.DuckDBPyConnection, f: Filters, rows: str, cols: str, measure: str = "count",
             now: dt.datetime | None = None) -> pd.DataFrame:
    """A table rows x cols of the filtered submissions. measure: 'count', 'share' (percent of the
    row's total) or 'per_10k' (per 10,000 residents; needs rows or cols to be 'district').
    Index and columns are codes (months as YYYY-MM)."""
    for d in (rows, cols):
        if d not in CROSS_DIMENSIONS:
            raise ValueError(f"unknown dimension {d!r}; one of {', '.join(CROSS_DIMENSIONS)}")
    if rows == cols:
        raise ValueError("rows and columns must differ")
    if measure not in ("count", "share", "per_10k"):
        raise ValueError(f"unknown measure {measure!r}")
    if measure == "per_10k" and "district" not in (rows, cols):
        raise ValueError("per 10,000 residents needs districts as rows or columns")
    # a search's cube counts every dimension but the month: a kept one answers (build=False: a cube
    # costs more than this one query; the explorer's facets have made it)
    cube = _search_cube(con, f, now, build=False) if "month" not in (rows, cols) else None
    if cube is not None:
        df = _from_cube(con, cube, f, f"SELECT {_DIM_SQL[rows]} AS r, {_DIM_SQL[cols]} AS c, CAST(sum(n) AS BIGINT) AS n "
                                      "FROM {t} WHERE {cond} GROUP BY ALL")
    else:
        cond, params = where(f, now=_now(now))
        df = con.execute(f"""
            SELECT {_DIM_SQL[rows]} AS r, {_DIM_SQL[cols]} AS c, count(*) AS n
            FROM submissions WHERE {cond} GROUP BY ALL""", params).df()
    table = df.pivot_table(index="r", columns="c", values="n", aggfunc="sum", fill_value=0)
    table.index.name, table.columns.name = rows, cols
    if measure == "share":
        table = 100.0 * table.div(table.sum(axis=1).where(lambda s: s > 0), axis=0)
    elif measure == "per_10k":
        pop = reference.districts().set_index("code")["population"]
        if rows == "district":
            table = 10_000 * table.div(table.index.map(pop).astype(float), axis=0)
        else:
            table = 10_000 * table.div(table.columns.map(pop).astype(float), axis=1)
    return table


def similar(con: duckdb.DuckDBPyConnection, case_id: int, limit: int = 5, viewer: auth.Viewer | None = None) -> pd.DataFrame:
    """Submissions whose texts share the most word stems with this one (same category first),
    within a year of it in its district or category."""
    row = con.execute("SELECT search_terms, category, district, received_at FROM submissions WHERE id = ?",
                      [case_id]).fetchall()
    empty = pd.DataFrame(columns=["id", "received_at", "category", "district", "status", "text", "shared"])
    if not row or not row[0][0]:
        return empty
    terms, category, district, received = row[0]
    tokens = terms.split(" ")[:-1]  # its terms' tokens without their space (search.encode), as string_split gives them
    df = con.execute("""
        SELECT id, received_at, category, district, status, text,
               len(list_intersect(string_split(search_terms, ' '), CAST(? AS VARCHAR[]))) AS shared
        FROM submissions
        WHERE id <> ? AND received_at >= ? - INTERVAL 365 DAY AND received_at < ? + INTERVAL 365 DAY
          AND (category = ? OR district = ?) AND search_terms IS NOT NULL
        ORDER BY shared DESC, (category = ?) DESC, abs(epoch_us(received_at) - epoch_us(CAST(? AS TIMESTAMPTZ))) LIMIT ?""",
        [tokens, case_id, received, received, category, district, category, received, limit]).df()
    df = df[df["shared"] >= max(2, len(tokens) // 4)]
    return privacy.for_viewer(df, viewer)
