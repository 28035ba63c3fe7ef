"""The DuckDB store: connections, migrations, and the one-writer rule.

DuckDB lets one process hold a file read-write and locks out every other process, read-only
included. So exactly one process is the writer at a time (the running app, or a CLI command
when no app runs); everyone else hands work to it through the spool inbox (pipeline.spool).
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from pathlib import Path

import duckdb
import pandas as pd

from pipeline import inbox, settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(RuntimeError):
    """The database file cannot be used; the message is one line naming the path and why."""


class StoreLocked(StoreError):
    """Another process holds the database file read-write."""


# DuckDB opens a path with these endings as a read-only view of that file in an in-memory
# database (or creates one): ingest would report rows inserted and nothing would be saved.
NOT_A_DATABASE = {".csv", ".tsv", ".txt", ".parquet", ".json", ".jsonl", ".ndjson", ".geojson", ".xlsx",
                  ".xls"}
COMPRESSED = {".gz", ".zst", ".bz2", ".xz"}
MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def check_path(path: str | Path) -> Path:
    """The path if it can be a DuckDB database file (existing or to be created), else StoreError."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in COMPRESSED:
        suffixes.pop()
    if suffixes and suffixes[-1] in NOT_A_DATABASE:
        raise StoreError(f"{path}: a {suffixes[-1]} path is not a DuckDB database; DuckDB would open it "
                         f"as a throw-away in-memory database (use e.g. data/situation.duckdb)")
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a DuckDB database file")
    if path.exists():
        if not path.is_file():
            raise StoreError(f"{path} is not a regular file, so not a DuckDB database")
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except OSError as exc:
            raise StoreError(f"{path}: cannot read ({exc.strerror})") from exc
        if head[8:12] != MAGIC:
            what = "an empty file" if not head else "not a DuckDB database (no DUCK header)"
            raise StoreError(f"{path} exists but is {what}; refusing to open it")
        return path
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise StoreError(f"{path}: {parent} is a file, not a folder")
            break
    return path


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def connect(path: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the database (":memory:" for tests), apply migrations when writable.

    Raises StoreLocked when another process holds the file, StoreError when the path is not a
    DuckDB database (a CSV, Parquet or JSON path, another kind of file, a folder, an unusable place).
    """
    target = str(path) if path else str(settings.db_path())
    if target != ":memory:":
        check_path(target)
        try:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{target}: cannot create its folder ({exc.strerror})") from exc
        if not read_only and not Path(target).exists():
            _create(target)
    try:
        con = duckdb.connect(target, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreLocked(f"{target} is in use by another process ({_holder(exc)})") from exc
        raise StoreError(f"{target}: cannot open the database ({_one_line(exc)})") from exc
    except duckdb.Error as exc:
        raise StoreError(f"{target}: cannot open the database ({_one_line(exc)})") from exc
    configure(con)
    if not read_only:
        migrate(con)
    return con


def _create(target: str) -> None:
    """A new database appears whole or not at all: made and migrated under a temporary name, then
    linked into place. A process killed while DuckDB wrote a new file's headers left a 4 KB file
    that no later process could open ("Could not read enough bytes"), losing the spool's rows to a
    store that could not start. Two processes creating the same store: the first link wins."""
    tmp = f"{target}.creating-{os.getpid()}"
    for leftover in Path(target).parent.glob(f"{Path(target).name}.creating-*"):  # of killed creators
        pid = leftover.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    try:
        con = duckdb.connect(tmp)
        try:
            configure(con)
            migrate(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        try:
            os.link(tmp, target)
        except FileExistsError:
            pass  # another process made it meanwhile: theirs is used
        except OSError:  # no hard links here: a rename, which cannot tell that race apart
            if not Path(target).exists():
                os.replace(tmp, target)
        with contextlib.suppress(OSError):  # a folder that cannot be synced (some network file systems)
            inbox.fsync_dir(Path(target).parent)
    except duckdb.Error as exc:
        raise StoreError(f"{target}: cannot create the database ({_one_line(exc)})") from exc
    finally:
        for leftover in (tmp, f"{tmp}.wal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def connect_writer_or_explain(path, hint: str, must_exist: bool = False):
    """For CLI commands that must write: the connection, or None after saying who holds the file.
    `must_exist`: a command that works on a store's data (drain, classify-pending, publish) says a
    mistyped path does not exist, instead of creating an empty store there and reporting nothing done."""
    if must_exist and not Path(path).exists():
        print(f"error: {path} does not exist (no store there; check --db or SC_DB)", file=sys.stderr)
        return None
    try:
        return connect(path)
    except StoreLocked as exc:
        print(f"error: {exc}; {hint}", file=sys.stderr)
        return None
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def configure(con: duckdb.DuckDBPyConnection) -> None:
    # Day boundaries and displayed times follow local time; stored values stay instants. GLOBAL, so
    # every cursor of this connection (the app runs each query on one) has it too: a plain SET is
    # this connection's alone, and a cursor would cut days at UTC midnight (05:00 local).
    tz = _safe_tz(settings.get('TZ'))
    con.execute(f"SET GLOBAL TimeZone = '{tz}'")
    con.execute(f"SET TimeZone = '{tz}'")
    # DuckDB draws its own progress bar on the terminal for long statements: in the middle of the
    # ingest command's one-line output and of the app's log. Progress is ours to report.
    con.execute("SET enable_progress_bar = false")


def _safe_tz(tz: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", tz):
        raise ValueError(f"invalid time zone name {tz!r} in SC_TZ")
    return tz


def _holder(exc: Exception) -> str:
    m = re.search(r"PID (\d+)", str(exc))
    return f"PID {m.group(1)}" if m else "unknown process"


def migrations() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        m = re.match(r"(\d+)_(.+)\.sql$", path.name)
        if m:
            found.append((int(m.group(1)), m.group(2), path))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations in order, each in its own transaction. Returns versions applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())"
    )
    done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied, backfill_terms = [], False
    for version, name, path in migrations():
        if version in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
        backfill_terms = backfill_terms or version == 71
    if backfill_terms:  # rows stored before search terms existed get theirs now, once (on the final schema)
        from pipeline.queries import textsearch
        textsearch.backfill(con)
    return applied


def frame(con, sql: str, params=None) -> pd.DataFrame:
    """A query's rows as a DataFrame, through Arrow on DuckDB: its .df() localises each time-zone
    column on its own (3 of 7 ms for a page of 500), and an executed result given as Arrow is
    copied once more (a relation is not); the frame is the same. Another engine: .df()."""
    if isinstance(con, duckdb.DuckDBPyConnection):
        return con.sql(sql, params=params).to_arrow_table().to_pandas()
    return con.execute(sql, params).df()


def get_meta(con: duckdb.DuckDBPyConnection, key: str, default: str | None = None) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
    return row[0][0] if row else default


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def db_file(con) -> Path | None:
    """The database file behind a connection (None for an in-memory one)."""
    rows = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Path(rows[0][0]) if rows and rows[0][0] else None  # fetchall: a fetchone left the result open


def submission_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]


_depth: dict[int, int] = {}
# One write transaction at a time in this process. DuckDB lets two transactions rewrite one row
# without a conflict error when one deletes it and the other updates it, and the later commit wins:
# an operator's change to a row the pending step was storing (it deletes and inserts its rows) was
# lost without a word (a review measured 264 of 20,000). Every process that writes is the only
# writer of its file (the app, or one CLI command), so a lock in the process serialises them all.
# Re-entrant: a transaction on a second connection in the same thread (nested work) joins it.
_writes = threading.RLock()
_held = threading.local()


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """A transaction opened with `transaction` is open on this connection."""
    return _depth.get(id(con), 0) > 0


_after: dict[int, list] = {}  # id(connection) -> what runs after its outermost commit


def after_commit(con: duckdb.DuckDBPyConnection, fn) -> None:
    """fn(con) once the writes on `con` are committed: at once when no `transaction` is open on it,
    else after the outermost one commits and lets go of the write lock (dropped if it rolls back).
    The same fn is kept once per transaction: ten changes in one transaction refresh once."""
    if not in_transaction(con):
        fn(con)
    elif fn not in (todo := _after.setdefault(id(con), [])):
        todo.append(fn)


def holds_writes() -> bool:
    """This thread is inside a `transaction` (so another thread's transaction would wait for it)."""
    return getattr(_held, "n", 0) > 0


class transaction:
    """BEGIN/COMMIT, ROLLBACK on error. Nested use joins the outer transaction: only the outermost
    issues BEGIN, because in DuckDB a refused BEGIN aborts the transaction already open.

    The outermost one also holds the process's write lock (`_writes`) until its COMMIT or ROLLBACK,
    so the app's pages, its drain thread and the pending step never interleave their writes.
    `serial=False` for a transaction that does not write the store (the replica's delta, which
    only reads it, takes seconds and must not hold up an operator)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, serial: bool = True):
        self.con = con
        self.key = id(con)
        self.serial = serial

    def __enter__(self):
        depth = _depth.get(self.key, 0)
        if depth == 0:
            locked = False
            try:
                if self.serial:
                    _writes.acquire()
                    locked = True
                    _held.n = getattr(_held, "n", 0) + 1
                self.con.execute("BEGIN")
            except BaseException:
                if locked:
                    self._release()
                raise
        _depth[self.key] = depth + 1
        return self.con

    def _release(self) -> None:
        if self.serial:
            try:
                _held.n -= 1
            finally:
                _writes.release()

    def __exit__(self, exc_type, exc, tb):
        depth = _depth.pop(self.key) - 1
        if depth:
            _depth[self.key] = depth
        else:
            todo = _after.pop(self.key, [])
            try:
                self.con.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self._release()
            if not exc_type:
                for fn in todo:
                    fn(self.con)
        return False
