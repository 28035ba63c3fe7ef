"""Read replicas: how other processes read the store while the app holds it.

DuckDB lets one process hold the file read-write and locks every other process out, readers too.
The running app is that one writer (it also applies the inbox, so others write through it). So
that the CLI (`export`, `surges`, `briefing`), scheduled jobs, notebooks and a second app process
can still read, the writer publishes a read replica: a consistent copy of the database made with
DuckDB's COPY FROM DATABASE (one transaction, however busy the writer is), written beside the store
as `<db>.replica.tmp` and renamed to `<db>.replica` when complete. Any number of processes may open
the replica read-only at once; a process that has it open keeps reading its copy when a newer one
is renamed over it (the old file stays alive until it is closed).

The app publishes one at its start and then whenever the data changed, at most every
`SC_REPLICA_SECONDS`; a reader is told how old its copy is. Why not a store service answering
queries over a socket: every query of every page would pay serialisation of its result, and the
process holding DuckDB would be one more thing to keep running; a replica costs disk (one more
copy of the file) and freshness (up to `SC_REPLICA_SECONDS` plus the copy's own time).
"""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

from pipeline import settings, store

SUFFIX = ".replica"
BACKOFF = 10  # a copy is not repeated sooner than this many times its own duration


def path_for(db: str | Path) -> Path:
    return Path(f"{db}{SUFFIX}")


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def publish(con, db: str | Path) -> dict:
    """Copy the database behind `con` (the writer's connection) to `<db>.replica`, atomically."""
    target = path_for(db)
    tmp = Path(f"{target}.tmp")
    tmp.unlink(missing_ok=True)
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    started = time.perf_counter()
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute("SET enable_progress_bar = false")  # a copy of minutes must not draw on the app's terminal
    con.execute(f"ATTACH {_quote(tmp)} AS replica_target")
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO replica_target')
        stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        con.execute("INSERT OR REPLACE INTO replica_target.meta VALUES ('replica_at', ?)", [stamp])
    finally:
        con.execute("DETACH replica_target")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(target)
    return {"path": str(target), "at": stamp, "seconds": round(time.perf_counter() - started, 2)}


def connect(db: str | Path | None = None, memory_limit: str | None = None):
    """A read-only connection for a reader process: the store itself when no app holds it,
    otherwise its latest replica. Returns (connection, note): note is None for the store itself,
    else a sentence saying the data come from the replica and how old it is. Raises
    store.StoreLocked when the store is held and no replica exists yet, store.StoreError as
    store.connect does."""
    db = settings.db_path(str(db) if db else None)
    try:
        con = store.connect(db, read_only=True)
        note = None
    except store.StoreLocked as exc:
        replica = path_for(db)
        if not replica.exists():
            raise store.StoreLocked(f"{exc}; it has published no read replica yet (it does at its start)") from exc
        con = store.connect(replica, read_only=True)
        at = store.get_meta(con, "replica_at")
        age = ""
        if at:
            minutes = (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(at)).total_seconds() / 60
            age = f", made {at} ({minutes:.0f} min ago)"
        note = f"the running app holds {db}: reading its read replica {replica}{age}"
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con, note


def open_for_cli(db_arg: str | None, locked_hint: str, memory_limit: str | None = None):
    """A CLI reader's connection, or None after one error line on stderr (the caller exits 1): the
    database missing, held by the app with no replica yet (`locked_hint` says what to do instead),
    or unusable. A note says when the data come from the replica."""
    import sys

    db = settings.db_path(db_arg)
    if not db.exists():
        print(f"error: {db} does not exist; build one with python -m pipeline demo or ingest", file=sys.stderr)
        return None
    try:
        con, note = connect(db, memory_limit=memory_limit)
    except store.StoreLocked as exc:
        print(f"error: {exc}; {locked_hint}", file=sys.stderr)
        return None
    except store.StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if note:
        print(f"note: {note}", file=sys.stderr)
    return con


class Publisher:
    """The writer's schedule: publish when the data version moved and SC_REPLICA_SECONDS passed."""

    def __init__(self, db: str | Path):
        self.db = db
        self.last_version = None
        self.last_time = float("-inf")
        self.last_seconds = 0.0

    def maybe_publish(self, con, force: bool = False) -> dict | None:
        from pipeline.queries.overview import data_version

        interval = settings.get_float("REPLICA_SECONDS")
        if interval <= 0 and not force:
            return None
        version = (data_version(con), con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0])
        # A copy that takes long (tens of seconds at ten million rows) is not repeated more often than
        # every BACKOFF times its own duration: the writer's core stays mostly free for pages.
        wait = max(interval, BACKOFF * self.last_seconds)
        if not force and (version == self.last_version or time.monotonic() - self.last_time < wait):
            return None
        result = publish(con, self.db)
        self.last_seconds = result["seconds"]
        self.last_version, self.last_time = version, time.monotonic()
        return result
