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
import shutil
import time
from pathlib import Path

from pipeline import settings, store

SUFFIX = ".replica"
BACKOFF = 10  # a copy is not repeated sooner than this many times its own duration


def path_for(db: str | Path) -> Path:
    return Path(f"{db}{SUFFIX}")


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


# Tables copied by delta when a replica exists: submissions change in place (every change is an
# event), events and quarantine only grow. Every other table is small and copied whole each time.
APPEND_ONLY = ("events", "quarantine")


def publish(con, db: str | Path, incremental: bool = True) -> dict:
    """Bring `<db>.replica` up to the database behind `con` (the writer's connection), atomically.

    The first time (or after a migration, or when the delta does not add up) a full copy with
    COPY FROM DATABASE. Afterwards the previous replica is copied as a file and only what changed
    since it is applied: submissions added or changed (their events name them), new events and
    quarantine rows, and the small tables whole; at ten million rows a full copy took minutes."""
    target = path_for(db)
    tmp = Path(f"{target}.tmp")
    tmp.unlink(missing_ok=True)
    Path(f"{tmp}.wal").unlink(missing_ok=True)
    started = time.perf_counter()
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute("SET enable_progress_bar = false")  # a copy of minutes must not draw on the app's terminal
    base = _replica_state(target) if incremental else None
    mode = "full"
    if base is not None:
        shutil.copyfile(target, tmp)
    con.execute(f"ATTACH {_quote(tmp)} AS replica_target")
    try:
        if base is not None:
            mode = "delta" if _apply_delta(con, source, base) else "full"
        if mode == "full":
            con.execute("DETACH replica_target")
            tmp.unlink(missing_ok=True)
            con.execute(f"ATTACH {_quote(tmp)} AS replica_target")
            con.execute(f'COPY FROM DATABASE "{source}" TO replica_target')
        stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        marks = {"replica_at": stamp, **dict(zip(("replica_submission_id", "replica_event_id", "replica_quarantine_id",
                                                  "replica_schema"), _source_state(con, source)))}
        for key, value in marks.items():
            con.execute("INSERT OR REPLACE INTO replica_target.meta VALUES (?, ?)", [key, str(value)])
    finally:
        con.execute("DETACH replica_target")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    tmp.replace(target)
    return {"path": str(target), "at": stamp, "seconds": round(time.perf_counter() - started, 2), "mode": mode}


def _source_state(con, source: str) -> tuple:
    return con.execute(f"""
        SELECT (SELECT coalesce(max(id), 0) FROM "{source}".submissions),
               (SELECT coalesce(max(id), 0) FROM "{source}".events),
               (SELECT coalesce(max(id), 0) FROM "{source}".quarantine),
               (SELECT max(version) FROM "{source}".schema_migrations)""").fetchall()[0]


def _replica_state(target: Path) -> tuple | None:
    """(submission id, event id, quarantine id, schema) the replica was made at, or None."""
    if not target.exists():
        return None
    try:
        import duckdb

        with duckdb.connect(str(target), read_only=True) as r:
            marks = dict(r.execute("SELECT key, value FROM meta WHERE key LIKE 'replica_%'").fetchall())
    except Exception:  # noqa: BLE001 - an unreadable replica is replaced by a full copy
        return None
    try:
        return tuple(int(marks[k]) for k in ("replica_submission_id", "replica_event_id", "replica_quarantine_id",
                                             "replica_schema"))
    except (KeyError, ValueError):
        return None


def _apply_delta(con, source: str, base: tuple) -> bool:
    """Apply what changed since `base` to replica_target in one transaction; False (nothing kept)
    when a full copy is needed: another schema, or counts that do not agree afterwards (rows
    deleted, as a demo rebuild does). One transaction may write only one database, so the set
    of changed submissions is a subquery, not a temporary table."""
    last_sub, last_ev, last_q, schema = base
    src = f'"{source}"'
    if con.execute(f"SELECT max(version) FROM {src}.schema_migrations").fetchall()[0][0] != schema:
        return False
    changed = (f"(SELECT id FROM {src}.submissions WHERE id > {int(last_sub)} "
               f"UNION SELECT submission_id FROM {src}.events WHERE id > {int(last_ev)})")
    try:
        with store.transaction(con, serial=False):  # writes the replica, only reads the store
            con.execute(f"DELETE FROM replica_target.submissions WHERE id IN {changed}")
            con.execute(f"INSERT INTO replica_target.submissions SELECT * FROM {src}.submissions WHERE id IN {changed}")
            con.execute(f"INSERT INTO replica_target.events SELECT * FROM {src}.events WHERE id > ?", [last_ev])
            con.execute(f"INSERT INTO replica_target.quarantine SELECT * FROM {src}.quarantine WHERE id > ?", [last_q])
            tables = [t for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'",
                [source]).fetchall()]
            for table in tables:
                if table in ("submissions", *APPEND_ONLY):
                    continue
                con.execute(f'DELETE FROM replica_target."{table}"')
                con.execute(f'INSERT INTO replica_target."{table}" SELECT * FROM {src}."{table}"')
            agree = con.execute(f"""SELECT
                (SELECT count(*) FROM {src}.submissions) = (SELECT count(*) FROM replica_target.submissions)
                AND (SELECT count(*) FROM {src}.events) = (SELECT count(*) FROM replica_target.events)
                AND (SELECT count(*) FROM {src}.quarantine) = (SELECT count(*) FROM replica_target.quarantine)
            """).fetchall()[0][0]
            if not agree:
                raise _Disagree
    except _Disagree:
        return False
    return True


class _Disagree(Exception):
    """The delta left other counts than the source's: rows were deleted there."""


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
