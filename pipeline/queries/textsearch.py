"""Search in residents' texts by word forms, as SQL: each stored submission carries a search key
(the distinct stems of its text, space-separated, made once at ingest by pipeline.search), and a
query word matches when its stem is one of them. Rows written before keys existed fall back to a
substring test of the stem in the lower-cased text until the backfill reaches them."""
from __future__ import annotations

import pandas as pd

from pipeline import search


MAX_WORDS = 8


def terms(q: str | None) -> list[str]:
    """Every stem of the query's words (for highlighting)."""
    return search.query_terms(q or "")


def condition(q: str | None, p: str = "") -> tuple[str, list]:
    """SQL condition and parameters: every word of `q` occurs in one of its readings (a Cyrillic
    word without Kazakh letters may be Russian or Kazakh); ('', []) when `q` has no words."""
    parts, params = [], []
    for group in search.query_groups(q or "")[:MAX_WORDS]:
        needles = [f" {s} " for s in group]
        shortest = min(group, key=len)
        parts.append("(" + " OR ".join(f"contains({p}search_key, ?)" for _ in needles)
                     + f" OR ({p}search_key IS NULL AND contains(lower({p}text), ?)))")
        params += [*needles, shortest]
    return " AND ".join(parts), params


def missing_keys(con, limit: int) -> pd.DataFrame:
    return con.execute("SELECT id, text FROM submissions WHERE search_key IS NULL LIMIT ?", [limit]).df()


def write_keys(con, keys: pd.DataFrame) -> None:
    """keys: id, search_key."""
    con.register("_keys", keys)
    try:
        con.execute("UPDATE submissions SET search_key = k.search_key FROM _keys k WHERE submissions.id = k.id")
    finally:
        con.unregister("_keys")


def backfill(con, batch: int = 50_000, progress=None) -> int:
    """Key the rows that have no search key yet (rows from before the column existed). Returns
    how many were keyed; safe to interrupt and run again."""
    done = 0
    while True:
        rows = missing_keys(con, batch)
        if rows.empty:
            return done
        write_keys(con, pd.DataFrame({"id": rows["id"], "search_key": [search.doc_key(t) for t in rows["text"]]}))
        done += len(rows)
        if progress:
            progress(done)
