"""Classification after storage: the rows a streaming ingest stored unclassified get their category,
language, priority, department, deadlines and search terms here, a batch at a time.

`ingest` stores a big file's rows at once with category NULL and category_source 'pending'
(pipeline.spool), so that they are durable at the speed of reading; this step follows, run by the
ingest command itself when it is the writer, by the app's drain thread while the app runs, or by
`python -m pipeline classify-pending`. Until then the rows are counted and shown as not yet
classified (pending_count; the overview's 'not yet classified' share), never dropped.
Each batch is one transaction: the rows' initial state and their 'created' events together (the
'created' event written at storage, which held the state without the classification, is replaced:
the event log replays to the stored state before and after).
"""
from __future__ import annotations

import argparse
import sys
import time

import duckdb
import pandas as pd

from pipeline import events, rollup, settings, store
from pipeline.queries import textsearch

PENDING = "pending"  # category_source of a row stored before its classification
UPDATED = ["language", "category", "category_confidence", "category_source", "priority", "department",
           "feedback_due_at", "due_at", "search_terms"]


def pending_count(con: duckdb.DuckDBPyConnection) -> int:
    """Submissions stored but not yet classified."""
    return con.execute("SELECT count(*) FROM submissions WHERE category_source = ?", [PENDING]).fetchall()[0][0]


def _next_batch(con, size: int, after: int = -1):
    """The oldest `size` pending rows with an id above `after` (the rows of a batch still being stored).
    Their last id first, then the rows up to it: ORDER BY id LIMIT with the texts sorted every
    pending row's text (1.3 s for 50,000 of 1,000,000 pending, this 0.08)."""
    last = con.execute("SELECT max(id) FROM (SELECT id FROM submissions WHERE category_source = ? AND id > ? "
                       "ORDER BY id LIMIT ?)", [PENDING, after, size]).fetchall()[0][0]
    return store.frame(con, "SELECT id, received_at, text, district FROM submissions WHERE category_source = ? "
                       "AND id > ? AND id <= ? ORDER BY id", [PENDING, after, -1 if last is None else last])


TWO_CORES_FROM = 10_000  # rows of a batch from which a part is enriched in a worker process
_warmed = False  # whether this process has had the worker warm up (classify_pending's first call)


def _enriched(rows):
    """ingest.enrich's stored columns (id and UPDATED) and the search signatures of one part of a
    batch, in whichever process enriches it: signing is numpy work the store thread then need not do."""
    from pipeline import ingest

    out = ingest.enrich(rows)[["id", *UPDATED]]  # only what is stored comes back (not the texts)
    return out.assign(**textsearch.signatures(out["search_terms"].to_numpy(dtype=object)))


def _warm_worker() -> None:
    """Load the model in the classifier's worker process and enrich one text there: its start,
    imports, model, the classifier's weights and the working calendar take about 3.5 s cold."""
    from pipeline import classify

    if classify.ensure_model() is not None:
        _enriched(pd.DataFrame({"id": [0], "received_at": [pd.Timestamp.now(tz="UTC")],
                                "text": ["Во дворе яма, нет света"], "district": [None]}))


def _timed(rows):
    """_enriched in the worker, with the seconds it took there."""
    started = time.perf_counter()
    out = _enriched(rows)
    return out, time.perf_counter() - started


def _enrich(rows, balance: dict | None = None):
    """_enriched on two cores: a part of the rows in the classifier's worker process (the model
    loaded once per worker), the rest here. Everything of a text's enrichment (classification,
    search terms, priority and deadlines) is Python-bound, so two processes, not threads.

    `balance`, carried from batch to batch by classify_pending, holds the worker's share: set after
    each batch so that both parts take as long, from how fast each was enriched (this process also
    has the last batch stored and the next one read meanwhile; at 1,000,000 texts the share settled
    at 0.5-0.6). A batch marked cold (the first, both processes still loading) is not measured."""
    from pipeline import classify

    if len(rows) < TWO_CORES_FROM or classify.ensure_model() is None:
        return _enriched(rows)
    share = (balance or {}).get("share", 0.5)
    cut = min(len(rows) - 1, max(1, round(len(rows) * (1 - share))))
    second = classify._executor().submit(_timed, rows.iloc[cut:].reset_index(drop=True))
    started = time.perf_counter()
    first = _enriched(rows.iloc[:cut].reset_index(drop=True))
    here = time.perf_counter() - started
    later, there = second.result()
    cold = balance is not None and balance.pop("cold", False)
    if balance is not None and not cold and here > 0 and there > 0:
        mine, theirs = cut / here, (len(rows) - cut) / there
        balance["share"] = min(0.8, max(0.2, theirs / (mine + theirs)))
    return pd.concat([first, later], ignore_index=True)


def _store(con: duckdb.DuckDBPyConnection, enriched: pd.DataFrame) -> None:
    """Write the enriched columns and the search signature into the rows still pending (an
    operator may have set a category meanwhile), inside the caller's transaction. Signed here, not
    by textsearch.sign after the commit: that read the terms back and updated the rows a second time.

    One UPDATE of the row's scalar columns: search_terms is a string (migration 112). While it was
    a list, DuckDB rewrote each updated row whole, its text included; 50,000 texts of 300-400
    characters took 2.1-2.5 s to store and commit, now about 0.6 s."""
    sets = ", ".join(f"{c} = p.{c}" for c in [*UPDATED, *textsearch.BITS])
    con.register("_pending_rows", enriched)
    try:
        con.execute(f"UPDATE submissions SET {sets} FROM _pending_rows p "
                    "WHERE submissions.id = p.id AND submissions.category_source = ?", [PENDING])
    finally:
        con.unregister("_pending_rows")


def _store_batch(con: duckdb.DuckDBPyConnection, enriched: pd.DataFrame) -> int:
    """One transaction: the enriched rows, and their 'created' events (the one written at storage
    held the state without the classification). Returns the rows given."""
    with store.transaction(con):
        _store(con, enriched)
        ids = enriched["id"].tolist()
        con.execute("DELETE FROM events WHERE field = 'created' AND submission_id IN (SELECT unnest(?))", [ids])
        events.record_created(con, submission_ids=ids)
    return len(enriched)


def classify_batch(con: duckdb.DuckDBPyConnection, size: int | None = None, refresh: bool = True) -> int:
    """Classify the oldest `size` pending rows in one transaction; how many were classified.
    `refresh=False` leaves the rollups to the caller (classify_pending refreshes once at its end:
    the rows of a big file span months, and each refresh recounts every day they fall on)."""
    rows = _next_batch(con, size or settings.get_int("CLASSIFY_BATCH"))
    if rows.empty:
        return 0
    n = _store_batch(con, _enrich(rows))
    if refresh:
        rollup.keep_up(con)  # the rows move from 'not yet classified' into their categories
    return n


def classify_pending(con: duckdb.DuckDBPyConnection, progress=None, seconds: float | None = None,
                     size: int | None = None, limit: int | None = None) -> int:
    """Classify pending rows until none is left (or `seconds` have passed: the app's drain thread
    gives it a slice per round). `progress(done, total)` is told after each batch. Returns how
    many were classified.

    A batch is stored in a thread, on a cursor of its own, while the next one is enriched: DuckDB
    works without the GIL, so the store (an UPDATE, the events and a commit, about 0.6-1 s per
    50,000 texts of 300-400 characters) overlaps the enrichment, which keeps both cores busy."""
    from concurrent.futures import Future, ThreadPoolExecutor

    total = pending_count(con)
    if limit is not None:
        total = max(0, min(total, limit))
    step = size or settings.get_int("CLASSIFY_BATCH")
    done, taken, started = 0, 0, time.monotonic()
    # the rollup is refreshed at the end from what it reflected before the first batch: a page's
    # event committed while a batch is stored takes a higher id, and a refresh then would pass over
    # the batch's 'created' events (a review found 1,000 rows counted pending where 500 were)
    since = rollup.mark(con)
    # inside a caller's transaction the store thread would wait for its write lock for ever: then
    # each batch is stored here, in that transaction, before the next is enriched
    # The next batch is read in a thread of its own too, on a cursor of its own, while this one is
    # enriched (it took 0.2-1.5 s of each batch's 3 at 1,000,000 pending rows): its rows are above
    # the ids being stored, which no store touches.
    inline = store.holds_writes()
    writer = con if inline else con.cursor()
    reader = con if inline else con.cursor()
    pool = ThreadPoolExecutor(1, thread_name_prefix="classify-store")
    reads = ThreadPoolExecutor(1, thread_name_prefix="classify-read")
    storing = None  # the batch being stored, not yet counted
    balance: dict = {}  # the worker's share of each batch (_enrich)

    def later(threads: ThreadPoolExecutor, fn, *args) -> Future:
        if not inline:
            return threads.submit(fn, *args)
        future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def stored() -> None:  # count the batch being stored once it is in (raises its error)
        nonlocal done, storing
        future, storing = storing, None
        done += future.result()
        if progress:
            progress(done, total)

    global _warmed
    if total >= TWO_CORES_FROM and not _warmed:  # the worker warms up while this process loads its model
        from pipeline import classify

        if classify.current_version() is not None:
            classify._executor().submit(_warm_worker)
            _warmed = True
            # its warm-up is longer than this process's (its start, then the same): less for it first
            balance.update(share=0.4, cold=True)
    try:
        rows = _next_batch(con, min(step, total)) if total else None
        while rows is not None and len(rows):
            taken += len(rows)
            # read ahead in bulk only: a time slice's read of a batch it will not take would overrun it
            upcoming = None if taken >= total or seconds is not None else later(
                reads, _next_batch, reader, min(step, total - taken), int(rows["id"].max()))
            enriched = _enrich(rows, balance)
            if storing is not None:
                stored()
            storing = later(pool, _store_batch, writer, enriched)
            over = seconds is not None and time.monotonic() - started >= seconds
            if over or taken >= total:
                rows = None
            elif upcoming is not None:
                rows = upcoming.result()
            else:
                rows = _next_batch(con, min(step, total - taken), int(rows["id"].max()))
        if storing is not None:
            stored()
    finally:
        reads.shutdown(wait=True)
        pool.shutdown(wait=True)  # a store under way ends (commits or rolls back) before anything else
        if not inline:
            writer.close()
            reader.close()
        if storing is not None and storing.exception() is None:  # stored while the next batch failed
            done += storing.result()
        if done:
            rollup.keep_up(con, since)  # once for every batch of this call
    return done


def tune(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB's settings for a connection that runs classify_pending in bulk (`classify-pending`, an
    ingest's own classification). The checkpoint threshold of the ingest command: at DuckDB's
    default every batch of 50,000 updated rows was checkpointed, 3-4 s each (300,000 texts: 5,100
    texts/s, 7,300 with this). The memory limit SC_CLASSIFY_MEMORY, not SC_INGEST_MEMORY (256MB): a
    batch of 50,000 texts of 300-400 characters being stored held up to 170 MB of DuckDB's
    memory, the next batch read beside it, and 256MB ran out in one run of three at 1,000,000."""
    con.execute("SET checkpoint_threshold = ?", [settings.get("INGEST_CHECKPOINT")])
    con.execute("SET memory_limit = ?", [settings.get("CLASSIFY_MEMORY")])


# ---- CLI -----------------------------------------------------------------------------------
def arguments_classify_pending(parser) -> None:
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show a progress bar on stderr (default: when stderr is a terminal)")
    parser.add_argument("--limit", type=int, help="classify at most this many (the oldest first)")


def run_classify_pending(args) -> int:
    from pipeline.progress import Progress

    db = settings.db_path(args.db)
    con = store.connect_writer_or_explain(db, "the running app classifies pending rows itself", must_exist=True)
    if con is None:
        return 1
    tune(con)
    try:
        bar = Progress("classify", enabled=args.progress, unit="texts")
        started = time.monotonic()
        done = classify_pending(con, progress=bar.update, limit=args.limit)
        bar.close()
    except duckdb.Error as exc:
        from pipeline.spool import why

        print(f"error: {db}: cannot write the database ({why(exc)}); the rows stay pending", file=sys.stderr)
        return 1
    finally:
        con.close()
    seconds = time.monotonic() - started
    rate = f", {done / seconds:,.0f} texts/s" if done and seconds > 0 else ""
    print(f"classified={done}{rate}")
    return 0
