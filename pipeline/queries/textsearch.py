"""Search in residents' texts by word forms, as SQL: each stored submission carries its search
terms (the distinct stems of its text as numbers, made once at ingest by pipeline.search), and a
query word matches when the number of one of its stems is among them. Rows written before terms
existed fall back to a substring test of the stem in the lower-cased text until the backfill
reaches them."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline import search


MAX_WORDS = 8


def terms(q: str | None) -> list[str]:
    """Every stem of the query's words (for highlighting)."""
    return search.query_terms(q or "")


SIG_BITS = 64
# The signature of a list of term numbers, in SQL: bit (term % 64) of each, OR-ed (0 for no terms).
SIGNATURE = ("list_reduce(list_prepend(CAST(0 AS UBIGINT), list_transform({col}, "
             "lambda t: CAST(1 AS UBIGINT) << CAST(t % 64 AS INTEGER))), lambda a, b: a | b)")


def signature_bits(term_ids) -> int:
    """The signature bits of these term numbers, as SIGNATURE computes them."""
    bits = 0
    for t in term_ids:
        bits |= 1 << (t % SIG_BITS)
    return bits


@dataclass(frozen=True)
class Parts:
    """A search as SQL pieces: `signatures` (each word's bits, a conjunct of its own, so DuckDB's
    scan reads search_terms only for the rows they pass; a NULL signature passes), `terms` (each word
    in one of its readings among the row's search terms) and `texts` (for rows without terms yet:
    stored, not yet classified, each word's shortest reading in the lower-cased text; always of
    `submissions` itself, unaliased: a subquery's or a query's of its own)."""
    signatures: str
    signature_params: list
    terms: str
    term_params: list
    texts: str
    text_params: list

    def indexed(self) -> tuple[str, list]:
        """Rows with search terms that match."""
        return f"{self.signatures} AND {self.terms}", self.signature_params + self.term_params


def parts(q: str | None, p: str = "") -> Parts | None:
    """The search's SQL pieces (see Parts); None when `q` has no words. Every word of `q` must occur
    in one of its readings (a Cyrillic word without Kazakh letters may be Russian or Kazakh)."""
    groups = search.query_groups(q or "")[:MAX_WORDS]
    if not groups:
        return None
    ids = [[search.term_id(s) for s in group] for group in groups]
    return Parts(
        signatures=" AND ".join(f"coalesce({p}search_sig & CAST(? AS UBIGINT), 1) <> 0" for _ in groups),
        signature_params=[str(signature_bits(g)) for g in ids],
        terms=" AND ".join("(" + " OR ".join(f"list_contains({p}search_terms, CAST(? AS UINTEGER))" for _ in g) + ")"
                           for g in ids),
        term_params=[t for g in ids for t in g],
        texts="search_terms IS NULL AND " + " AND ".join("contains(lower(text), ?)" for _ in groups),
        text_params=[min(group, key=len) for group in groups])


def condition(q: str | None, p: str = "") -> tuple[str, list]:
    """SQL condition and parameters of the search; ('', []) when `q` has no words. Rows without
    terms are found by their text in a subquery, so the scan never reads the texts of the others.
    A page ordered by time uses the pieces apart instead (pipeline.queries.explore.page): the
    subquery's join would keep DuckDB from pruning by the rows it has already found."""
    got = parts(q, p)
    if got is None:
        return "", []
    return (f"{got.signatures} AND (({got.terms}) OR {p}id IN (SELECT id FROM submissions WHERE {got.texts}))",
            got.signature_params + got.term_params + got.text_params)


def sign(con) -> None:
    """Give the rows written since the last call their signature (one UPDATE; rows that have one
    are skipped by the column's statistics). Called after every write, with the rollups."""
    con.execute(f"UPDATE submissions SET search_sig = {SIGNATURE.format(col='search_terms')} "
                "WHERE search_sig IS NULL AND search_terms IS NOT NULL")


def missing_terms(con, limit: int) -> pd.DataFrame:
    return con.execute("SELECT id, text FROM submissions WHERE search_terms IS NULL LIMIT ?", [limit]).df()


def write_terms(con, terms: pd.DataFrame) -> None:
    """terms: id, search_terms."""
    con.register("_terms", terms)
    try:
        con.execute("UPDATE submissions SET search_terms = CAST(k.search_terms AS UINTEGER[]), search_sig = NULL FROM _terms k "
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
