"""Search in residents' texts by word forms, as SQL: each stored submission carries its search
terms (the distinct stems of its text as numbers, made once at ingest by pipeline.search), and a
query word matches when the number of one of its stems is among them. Rows written before terms
existed fall back to a substring test of the stem in the lower-cased text until the backfill
reaches them."""
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
        shortest = min(group, key=len)
        parts.append("(" + " OR ".join(f"list_contains({p}search_terms, CAST(? AS UINTEGER))" for _ in group)
                     + f" OR ({p}search_terms IS NULL AND contains(lower({p}text), ?)))")
        params += [*(search.term_id(s) for s in group), shortest]
    return " AND ".join(parts), params


def missing_terms(con, limit: int) -> pd.DataFrame:
    return con.execute("SELECT id, text FROM submissions WHERE search_terms IS NULL LIMIT ?", [limit]).df()


def write_terms(con, terms: pd.DataFrame) -> None:
    """terms: id, search_terms."""
    con.register("_terms", terms)
    try:
        con.execute("UPDATE submissions SET search_terms = CAST(k.search_terms AS UINTEGER[]) FROM _terms k "
                    "WHERE submissions.id = k.id")
    finally:
        con.unregister("_terms")


def backfill(con, batch: int = 50_000, progress=None) -> int:
    """Give search terms to the rows that have none yet (rows from before the column existed).
    Returns how many were given theirs; safe to interrupt and run again."""
    done = 0
    while True:
        rows = missing_terms(con, batch)
        if rows.empty:
            return done
        write_terms(con, pd.DataFrame({"id": rows["id"], "search_terms": [search.doc_terms(t) for t in rows["text"]]}))
        done += len(rows)
        if progress:
            progress(done)
