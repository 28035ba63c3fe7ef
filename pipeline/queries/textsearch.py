"""Search in residents' texts by word forms, as SQL: each stored submission carries its search
terms (the distinct stems of its text as numbers, made once at ingest by pipeline.search, kept as
one string of six-character tokens, search.encode), and a query word matches when the token of
one of its stems is in that string. Rows written before terms
existed fall back to a substring test of the stem in the lower-cased text until the backfill
reaches them."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import search


MAX_WORDS = 8


def terms(q: str | None) -> list[str]:
    """Every stem of the query's words (for highlighting)."""
    return search.query_terms(q or "")


# Signatures: twelve 64-bit columns per row (search_b0..search_b11), filled by `sign` after every
# write. Columns 0-3 hold one bit of its own for each of the 256 stems most frequent in residents'
# texts (data/search_top_stems.csv): exact, so a word among them is answered from the bits alone and
# the scan never reads the stored terms. Columns 4-11 are a blocked Bloom filter of the other stems:
# three bits in one column chosen by the stem's number; a row whose bits for a word are not all set
# cannot hold it, the others are looked up in search_terms (about 1 in 100 wrongly at 60 stems a text).
# Changing the stems file or this scheme needs a migration that clears the columns (UNSIGN).
BITS = [f"search_b{i}" for i in range(12)]
TOP_COLUMNS, BLOOM_COLUMNS, BLOOM_K = 4, 8, 3
TOP_STEMS_SHA1 = "7d653f007b92716f67bea09080e7df236fc80799"
_MIX = 2654435761  # Knuth's multiplier: a stem number (< 2**32) times it fits 64 bits
UNSIGN = ", ".join(f"{c} = NULL" for c in BITS)  # for an UPDATE's SET: the row is signed again


@functools.cache
def _top() -> dict[int, int]:
    """Stem number -> its own bit (0..255) in columns 0-3."""
    return {search.term_id(s): i for i, s in enumerate(search.frequent_stems()[:64 * TOP_COLUMNS])}


@functools.cache
def _top_arrays() -> tuple[np.ndarray, np.ndarray]:
    top = _top()
    ids = np.array(sorted(top), dtype=np.uint64)
    return ids, np.array([top[int(t)] for t in ids], dtype=np.uint64)


def placement(term: int) -> tuple[int, int, bool]:
    """(column, mask, exact) of one stem number: its own bit among the frequent stems (exact), or
    its three Bloom bits in one of the other columns."""
    slot = _top().get(term)
    if slot is not None:
        return slot // 64, 1 << (slot % 64), True
    h = term * _MIX
    return (TOP_COLUMNS + (h >> 32) % BLOOM_COLUMNS,
            sum({1 << ((h >> (35 + 6 * k)) & 63) for k in range(BLOOM_K)}), False)


def signature(term_ids) -> list[int]:
    """The twelve signature columns of one list of stem numbers, or of a stored terms string (as
    `bits_of` makes them)."""
    out = [0] * len(BITS)
    for t in (search.decode(term_ids) if isinstance(term_ids, str) or term_ids is None else term_ids):
        col, mask, _ = placement(int(t))
        out[col] |= mask
    return out


def bits_of(offsets: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """The signatures of many lists at once: offsets (n + 1, from 0) into terms -> (n, 12) uint64."""
    n = len(offsets) - 1
    out = np.zeros((n, len(BITS)), dtype=np.uint64)
    if terms.size == 0:
        return out
    t = terms.astype(np.uint64)
    ids, slots = _top_arrays()
    i = np.minimum(np.searchsorted(ids, t), len(ids) - 1)
    exact = ids[i] == t
    h = t * np.uint64(_MIX)
    one = np.uint64(1)
    bloom = np.zeros_like(h)
    for k in range(BLOOM_K):
        bloom |= one << ((h >> np.uint64(35 + 6 * k)) & np.uint64(63))
    col = np.where(exact, slots[i] >> np.uint64(6), np.uint64(TOP_COLUMNS) + ((h >> np.uint64(32)) % np.uint64(BLOOM_COLUMNS)))
    mask = np.where(exact, one << (slots[i] & np.uint64(63)), bloom)
    filled = np.diff(offsets) > 0
    starts = offsets[:-1][filled]
    zero = np.uint64(0)
    for c in range(len(BITS)):
        out[filled, c] = np.bitwise_or.reduceat(np.where(col == np.uint64(c), mask, zero), starts)
    return out


def signatures(stored) -> dict[str, np.ndarray]:
    """The signature columns (BITS) of stored terms strings (search.encode): an Arrow string array
    (as sign() reads them back) or a sequence of strings (the pending step signs the rows it
    stores, so sign() skips them)."""
    bits = bits_of(*search.decode_many(stored))
    return {c: bits[:, i] for i, c in enumerate(BITS)}


@dataclass(frozen=True)
class Parts:
    """A search as SQL pieces. `signed`: the rows with signatures, by their bits alone for words
    among the frequent stems, else by the Bloom bits and then the term list (inside a CASE, so the
    terms are looked into only where the bits are set). `unsigned`: the rows without signatures
    (not signed since their terms were written, or stored but not classified yet: by their text,
    each word's shortest reading in the lower-cased text); always of `submissions` itself,
    unaliased, so it fits a subquery or a query of its own."""
    signed: str
    signed_params: list
    unsigned: str
    unsigned_params: list
    bits: str = "false"  # the signed rows' bits alone: every row of `signed` and the Bloom filter's
    bits_params: tuple = ()  # false positives (a superset, never reading the terms)


def _word_bits(readings: list[int], p: str) -> tuple[str, list]:
    """The signed rows that may hold one word by their bits alone (the Bloom filter's false
    positives included)."""
    sql, params = [], []
    for t in readings:
        col, mask, exact = placement(t)
        sql.append(f"{p}{BITS[col]} & CAST(? AS UBIGINT) " + ("<> 0" if exact else "= CAST(? AS UBIGINT)"))
        params += [str(mask)] if exact else [str(mask), str(mask)]
    return "(" + " OR ".join(sql) + ")", params


def _word(readings: list[int], p: str) -> tuple[str, list]:
    """The signed condition of one word: any of its readings."""
    exact: dict[int, int] = {}
    bloom: list[tuple[int, int, int]] = []
    for t in readings:
        col, mask, is_exact = placement(t)
        if is_exact:
            exact[col] = exact.get(col, 0) | mask
        else:
            bloom.append((col, mask, t))
    sql = [f"{p}{BITS[col]} & CAST(? AS UBIGINT) <> 0" for col in exact]
    params: list = [str(m) for m in exact.values()]
    if bloom:
        sql.append("CASE WHEN " + " OR ".join(f"{p}{BITS[col]} & CAST(? AS UBIGINT) = CAST(? AS UBIGINT)"
                                                for col, _, _ in bloom)
                   + " THEN " + " OR ".join(f"contains({p}search_terms, ?)" for _ in bloom)
                   + " ELSE false END")
        params += [str(m) for _, m, _ in bloom for _ in (0, 1)] + [search.token(t) for _, _, t in bloom]
    return "(" + " OR ".join(sql) + ")", params


def parts(q: str | None, p: str = "") -> Parts | None:
    """The search's SQL pieces (see Parts); None when `q` has no words. Every word of `q` must occur
    in one of its readings (a Cyrillic word without Kazakh letters may be Russian or Kazakh)."""
    groups = search.query_groups(q or "")[:MAX_WORDS]
    if not groups:
        return None
    ids = [[search.term_id(s) for s in group] for group in groups]
    words = [_word(g, p) for g in ids]
    bits = [_word_bits(g, p) for g in ids]
    terms = " AND ".join("(" + " OR ".join("contains(search_terms, ?)" for _ in g) + ")" for g in ids)
    texts = " AND ".join("contains(lower(text), ?)" for _ in groups)
    return Parts(
        signed=" AND ".join(sql for sql, _ in words),
        signed_params=[v for _, params in words for v in params],
        unsigned=f"{BITS[0]} IS NULL AND ((search_terms IS NOT NULL AND {terms}) OR (search_terms IS NULL AND {texts}))",
        unsigned_params=[search.token(t) for g in ids for t in g] + [min(group, key=len) for group in groups],
        bits=" AND ".join(sql for sql, _ in bits), bits_params=tuple(v for _, params in bits for v in params))


def condition(q: str | None, p: str = "") -> tuple[str, list]:
    """SQL condition and parameters of the search; ('', []) when `q` has no words. Rows without
    signatures are found in a subquery, so the scan reads neither their texts nor, for words among
    the frequent stems, anybody's stored terms. A page ordered by time uses the pieces apart instead
    (pipeline.queries.explore.page): the subquery's join would keep DuckDB from pruning by the rows
    it has already found."""
    got = parts(q, p)
    if got is None:
        return "", []
    return (f"({got.signed} OR {p}id IN (SELECT id FROM submissions WHERE {got.unsigned}))",
            got.signed_params + got.unsigned_params)


def sign(con, batch: int = 200_000) -> int:
    """Give the rows written since the last call their signatures, a window of `batch` ids at a
    time (each read and update prunes the table by the id range; signed rows are skipped by the
    column's statistics). Called after every write, with the rollups. Returns how many rows were
    signed."""
    unsigned = f"{BITS[0]} IS NULL AND search_terms IS NOT NULL"
    done, hi = 0, -2 ** 63
    while (lo := con.execute(f"SELECT min(id) FROM submissions WHERE id > ? AND {unsigned}", [hi]).fetchall()[0][0]) is not None:
        hi = lo + batch - 1
        rows = con.sql(f"SELECT id, search_terms FROM submissions WHERE id BETWEEN ? AND ? AND {unsigned}",
                       params=[lo, hi]).to_arrow_table()
        if rows.num_rows:
            con.register("_signatures", pa.table({"id": rows.column("id"),
                                                  **signatures(rows.column("search_terms").combine_chunks())}))
            try:
                con.execute(f"UPDATE submissions SET {', '.join(f'{c} = s.{c}' for c in BITS)} FROM _signatures s "
                            "WHERE submissions.id = s.id AND submissions.id BETWEEN ? AND ?", [lo, hi])
            finally:
                con.unregister("_signatures")
            done += rows.num_rows
    return done


def missing_terms(con, limit: int) -> pd.DataFrame:
    return con.execute("SELECT id, text FROM submissions WHERE search_terms IS NULL LIMIT ?", [limit]).df()


def write_terms(con, terms: pd.DataFrame) -> None:
    """terms: id, search_terms (stored strings, search.encode)."""
    con.register("_terms", terms)
    try:
        con.execute(f"UPDATE submissions SET search_terms = k.search_terms, {UNSIGN} FROM _terms k "
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
        write_terms(con, pd.DataFrame({"id": rows["id"], "search_terms": [search.stored_terms(t) for t in rows["text"]]}))
        done += len(rows)
        if progress:
            progress(done)
