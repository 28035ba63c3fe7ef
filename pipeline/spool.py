"""The spool inbox: how rows reach the database when another process holds it.

DuckDB lets one process hold the file read-write and locks out all others, so there is exactly
one writer at a time: the running app, or a CLI command when no app runs. `ingest` prepares a file
(parse, validate, classify) and writes the result as one spool folder, first under inbox/tmp and
then renamed into inbox/ (rename is atomic). Whoever is the writer drains the inbox: one spool
folder is applied in one transaction that also records its spool_id in ingest_runs; only after
the commit is the receipt written and the folder removed. A crash before the commit leaves the
spool in place (applied again later); a crash after it is recognised by the spool_id (finished
without inserting again). Rows are unique on (source, source_id), so nothing is doubled either way.
Writing a spool folder needs no database and lives in pipeline.inbox (the public form uses it too).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipeline import events, rollup, search, store
from pipeline import inbox as inbox_files

log = logging.getLogger(__name__)
_drain_lock = threading.Lock()
SUBMISSION_COLUMNS = ["source", "source_id", "received_at", "text", "language", "region", "district",
                      "address", "lat", "lon", "placement", "contact", "category", "category_confidence",
                      "category_source", "priority", "status", "department", "feedback_due_at", "due_at", "extra",
                      "search_terms"]


_fsync_dir = inbox_files.fsync_dir


# Columns of a spool with few distinct values: dictionary-encoded. Trying the dictionary on every
# column (pandas' to_parquet does) cost more than the rest of the write on texts that never repeat.
DICTIONARY_COLUMNS = ("source", "region", "district", "language", "category", "category_source", "priority",
                      "status", "department", "placement", "reason")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # nthreads=1: for a big frame pyarrow converts the columns in a pool of threads, started and
    # joined per call, which all hold the GIL for Python strings: 5 s of the main thread's wall
    # time per 1,000,000 rows went to waiting for that pool on two busy cores.
    table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    pq.write_table(table, path, use_dictionary=[c for c in DICTIONARY_COLUMNS if c in table.column_names])
    inbox_files.fsync_file(path)


class CannotWrite(RuntimeError):
    """The database could not be written (a full disk, a size limit, a read-only disk); the
    message is one line, and the spools not applied stay in the inbox for the next drain."""


def why(exc: BaseException) -> str:
    """The operating system's words for a failed write ('No space left on device', 'File too
    large', 'Read-only file system'), or the library's message, on one line."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split())[:300]


def write(prepared, inbox: Path) -> str:
    """Put a prepared file into the inbox atomically; returns its spool id. When a write fails
    (OSError: a full disk...) the half-written folder is removed at once."""
    with inbox_files.atomic_spool(inbox) as (spool_id, tmp):
        rows = prepared.rows
        _write_parquet(rows, tmp / "rows.parquet")
        _write_parquet(prepared.quarantine.astype({"raw": str, "reason": str}), tmp / "quarantine.parquet")
        meta = {"spool_id": spool_id, "file": str(prepared.path), "checksum": prepared.checksum,
                "source": prepared.source, "read": prepared.read, "file_duplicates": prepared.file_duplicates,
                "format": prepared.fmt, "encoding": prepared.encoding,
                "batch_key": getattr(prepared, "batch_key", None),
                # rows not classified yet: stored as pending, classified later (classify_pending)
                "pending": "category" not in rows}
        inbox_files.write_json(tmp / "meta.json", meta)
    return spool_id


def pending(inbox: Path) -> list[Path]:
    return sorted(inbox.glob("*.spool")) if inbox.exists() else []


def receipt_path(inbox: Path, spool_id: str) -> Path:
    return inbox / "done" / f"{spool_id}.json"


def _write_receipt(inbox: Path, receipt: dict) -> None:
    done = inbox / "done"
    done.mkdir(parents=True, exist_ok=True)
    tmp = done / f".{receipt['spool_id']}.json.tmp"
    tmp.write_text(json.dumps(receipt, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, receipt_path(inbox, receipt["spool_id"]))


def _receipt_from_run(con, spool_id: str) -> dict | None:
    rows = con.execute(
        "SELECT id, file, read_count, inserted_count, duplicate_count, quarantined_count "
        "FROM ingest_runs WHERE spool_id = ?", [spool_id]).fetchall()
    if not rows:
        return None
    run_id, file, read, inserted, duplicates, quarantined = rows[0]
    return {"spool_id": spool_id, "ingest_run_id": run_id, "file": file, "read": read, "inserted": inserted,
            "duplicates": duplicates, "quarantined": quarantined}


def spool_id_of(folder: Path) -> str:
    return folder.name.removesuffix(".spool")


def _remove(folder: Path) -> None:
    """Rename the folder into inbox/trash (atomic) and only then delete it: a kill in the middle of
    the deletion leaves a half-deleted folder in trash/, which the next drain empties, never a
    half-deleted spool in the inbox."""
    trash = folder.parent / "trash"
    trash.mkdir(exist_ok=True)
    target = trash / folder.name
    if target.exists():
        shutil.rmtree(target)
    os.rename(folder, target)
    _fsync_dir(folder.parent)
    shutil.rmtree(target)


TMP_MAX_AGE = 3600  # seconds: a spool still in tmp/ after this was left by a killed ingest


def _newest_mtime(path: Path) -> float:
    try:
        stamps = [path.lstat().st_mtime]
        if path.is_dir() and not path.is_symlink():
            stamps += [p.lstat().st_mtime for p in path.rglob("*")]
        return max(stamps)
    except OSError:  # removed meanwhile
        return time.time()


def _remove_entry(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def clean_tmp(inbox: Path, max_age: float = TMP_MAX_AGE) -> None:
    """Remove half-written spools of killed ingests from inbox/tmp (only old ones: a recent one
    may be an ingest writing right now). Any process may call this, writer or not."""
    tmp = Path(inbox) / "tmp"
    if tmp.is_dir():
        cutoff = time.time() - max_age
        for entry in tmp.iterdir():
            if _newest_mtime(entry) < cutoff:
                _remove_entry(entry)


def clean_receipts(inbox: Path, days: float | None = None) -> None:
    """Receipts are for the ingest waiting on them; keep them SC_RECEIPT_DAYS, then remove them."""
    from pipeline import settings

    done = Path(inbox) / "done"
    if done.is_dir():
        cutoff = time.time() - 86400 * (settings.get_float("RECEIPT_DAYS") if days is None else days)
        for entry in done.iterdir():
            if _newest_mtime(entry) < cutoff:
                _remove_entry(entry)


def empty_trash(inbox: Path) -> None:
    trash = Path(inbox) / "trash"
    if trash.is_dir():
        for entry in trash.iterdir():
            _remove_entry(entry)


def _set_aside(folder: Path, why: str) -> None:
    """A folder that cannot be applied is moved to inbox/broken/ (kept, never deleted) so that it
    stops no later drain."""
    broken = folder.parent / "broken"
    broken.mkdir(exist_ok=True)
    target = broken / folder.name
    if target.exists():
        target = broken / f"{folder.name}.{time.strftime('%Y%m%dT%H%M%S')}"
    os.rename(folder, target)
    try:
        (target / "why.txt").write_text(why + "\n", encoding="utf-8")
    except OSError:
        pass
    log.warning("spool %s set aside in %s: %s", folder.name, target, why)


# What the database says about the spool's content, not about itself (a full disk, memory): a spool
# refused for these is set aside, the others stop the drain and the spool is applied later.
REFUSED = (duckdb.IntegrityError, duckdb.DataError, duckdb.InvalidInputException, duckdb.BinderException)


def broken_path(inbox: Path, spool_id: str) -> Path:
    return Path(inbox) / "broken" / f"{spool_id}.spool"


def _load(folder: Path):
    """(meta, rows, quarantine) of a spool folder, or the reason it cannot be read."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("pending"):  # inserted by DuckDB straight from the file (see _insert)
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(folder / "rows.parquet")
            rows.schema_arrow  # noqa: B018 (reads the footer: a damaged file is found here)
            meta["_rows_path"] = str(folder / "rows.parquet")
            rows = _ParquetRows(rows.metadata.num_rows, rows.schema_arrow.names)
        else:
            rows = pd.read_parquet(folder / "rows.parquet")
        quarantine = pd.read_parquet(folder / "quarantine.parquet")
    except (FileNotFoundError, ValueError) as exc:
        # Spools are renamed into the inbox complete, so this is a leftover or damage.
        return f"incomplete spool folder ({exc})"
    return meta, rows, quarantine


class _ParquetRows:
    """The rows of a pending spool, left in their Parquet file: DuckDB reads it in parallel and
    without Python objects (a pandas frame of texts is converted under the GIL, row by row)."""

    def __init__(self, n: int, columns: list[str]):
        self.n, self.columns = n, columns

    def __len__(self) -> int:
        return self.n

    def __contains__(self, column: str) -> bool:
        return column in self.columns


def _enrich(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the public form (pipeline.inbox.write_raw) come unclassified: the form's process
    loads no model. They get their category, language, priority and deadlines here, exactly as
    ingest gives them to a file's rows, before they are stored."""
    from pipeline import ingest

    return ingest.enrich(rows)


def apply_spool(con: duckdb.DuckDBPyConnection, folder: Path) -> dict | None:
    """Apply one spool folder; its receipt, or None when it had to be set aside (see _set_aside)."""
    # The folder name is the spool id: a folder whose id is already recorded was applied, and
    # whatever is left of it (a kill -9 during an older, in-place removal may have taken meta.json
    # first) only needs the clean-up.
    spool_id = spool_id_of(folder)
    done = _receipt_from_run(con, spool_id)
    if done is None:
        loaded = _load(folder)
        if isinstance(loaded, str):
            _set_aside(folder, loaded)
            return None
        meta, rows, quarantine = loaded
        if meta.get("enrich") and len(rows):
            rows = _enrich(rows)
        try:
            done = _insert(con, meta, rows, quarantine)
        except REFUSED as exc:
            # Rolled back; applying it again would fail again and hold up every spool after it.
            _set_aside(folder, f"the database refused it ({' '.join(str(exc).split())[:300]})")
            return None
    _write_receipt(folder.parent, done)
    _remove(folder)
    return done


SMALL_BATCH = 500  # spools of the public form applied in one transaction


def _kind(folder: Path) -> str | None:
    """'small' for a spool of the public form, 'pending' for a batch of an ingest whose rows are
    stored unclassified, None for another (or an unreadable) spool."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return "small" if meta.get("enrich") else "pending" if meta.get("pending") else None


PENDING_TOGETHER = 4  # batches of an ingest applied in one transaction when they wait together


def apply_pending_together(con: duckdb.DuckDBPyConnection, folders: list[Path]) -> list[dict | None]:
    """Batches of an ingest waiting together (the writer fell behind the reading) are applied in one
    transaction with one INSERT: DuckDB then writes whole row groups straight to the database file
    instead of logging each batch and compressing its row groups again at every checkpoint.
    Each batch keeps its own ingest_runs record, receipt and clean-up. Anything not plain (a batch
    already applied or whose key was, a damaged folder, a row already stored, a value the table
    refuses) rolls the transaction back and the batches are applied one by one by apply_spool,
    which handles each of those cases: the result is the same, only slower."""
    todo = []
    for folder in folders:
        loaded = _load(folder) if _receipt_from_run(con, spool_id_of(folder)) is None else None
        if loaded is None or isinstance(loaded, str):
            return [apply_spool(con, f) for f in folders]
        todo.append((folder, *loaded))
    metas = [meta for _, meta, _, _ in todo]
    keys = [m.get("batch_key") for m in metas]
    if None in keys or len(set(keys)) < len(keys) or con.execute(
            "SELECT count(*) FROM ingest_runs WHERE batch_key IN (SELECT unnest(?))", [keys]).fetchall()[0][0]:
        return [apply_spool(con, f) for f in folders]
    try:
        receipts = _insert_pending_many(con, todo)
    except REFUSED:  # a ConstraintException among them: rolled back
        return [apply_spool(con, f) for f in folders]
    for folder, _, _, _ in todo:
        _write_receipt(folder.parent, receipts[spool_id_of(folder)])
        _remove(folder)
    return [receipts[spool_id_of(f)] for f in folders]


def _insert_pending_many(con: duckdb.DuckDBPyConnection, todo: list) -> dict[str, dict]:
    """_insert_once for several pending batches in one transaction (see apply_pending_together):
    one INSERT of all their rows in batch order, each row with its batch's run id; without ON
    CONFLICT, so a row already stored refuses the whole (ConstraintException, rolled back)."""
    started = pd.Timestamp.now(tz="UTC")
    with store.transaction(con):
        runs = []
        for _, meta, rows, quarantine in todo:
            run_id = con.execute(
                "INSERT INTO ingest_runs (spool_id, file, checksum, source, started_at, read_count, batch_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [meta["spool_id"], meta["file"], meta["checksum"], meta["source"], started, meta["read"],
                 meta["batch_key"]]).fetchall()[0][0]
            runs.append((run_id, meta, rows, quarantine))
        with_rows = [(run_id, meta, rows) for run_id, meta, rows, _ in runs if len(rows)]
        if with_rows:
            columns = set.intersection(*(set(rows.columns) for _, _, rows in with_rows))
            cols = ", ".join(SUBMISSION_COLUMNS)
            values = ", ".join(c if c in columns else "NULL" if PENDING_FILL.get(c) is None
                               else f"'{PENDING_FILL[c]}'" for c in SUBMISSION_COLUMNS)
            run_of = " ".join("WHEN ? THEN ?" for _ in with_rows)
            params = [x for run_id, meta, _ in with_rows for x in (meta["_rows_path"], run_id)]
            con.execute(f"INSERT INTO submissions ({cols}, ingest_run_id) SELECT {values}, CASE filename {run_of} END "
                        f"FROM read_parquet(?, filename = true, union_by_name = true)",
                        params + [[meta["_rows_path"] for _, meta, _ in with_rows]])
            events.record_created(con, ingest_run_ids=[run_id for run_id, _, _ in with_rows], new_rows=True)
        for run_id, meta, rows, quarantine in runs:
            if len(quarantine):
                con.register("_spool_q", quarantine)
                con.execute("INSERT INTO quarantine (ingest_run_id, file, record_no, raw, reason) "
                            "SELECT ?, ?, record_no, raw, reason FROM _spool_q", [run_id, meta["file"]])
                con.unregister("_spool_q")
            # every row was inserted (a conflict would have refused the INSERT)
            con.execute("UPDATE ingest_runs SET finished_at = now(), inserted_count = ?, duplicate_count = ?, "
                        "quarantined_count = ? WHERE id = ?",
                        [len(rows), meta["file_duplicates"], len(quarantine), run_id])
        found = {}
        for _, meta, _, _ in runs:
            found[meta["spool_id"]] = _receipt_from_run(con, meta["spool_id"])
    return found


def apply_small_together(con: duckdb.DuckDBPyConnection, folders: list[Path]) -> list[dict | None]:
    """Spools of the public form hold one proposal each and come by the hundred after a busy hour
    with the staff app down: they are classified in one call and inserted in one transaction
    (each still with its own ingest_runs record, receipt and clean-up; a kill before the commit
    leaves all of them to be applied again, after it each is recognised by its spool id). When
    the database refuses one, the batch is rolled back and they are applied one by one, so only
    that one is set aside."""
    ids = [spool_id_of(f) for f in folders]
    applied = {r[0] for r in con.execute("SELECT spool_id FROM ingest_runs WHERE spool_id IN (SELECT unnest(?))",
                                          [ids]).fetchall()}
    todo = []
    for folder, spool_id in zip(folders, ids):
        if spool_id not in applied:
            loaded = _load(folder)
            if not isinstance(loaded, str):
                todo.append((folder, *loaded))
    done: dict[Path, dict] = {}
    if todo:
        frames = [rows.assign(_spool=meta["spool_id"]) for _, meta, rows, _ in todo]
        enriched = _enrich(pd.concat(frames, ignore_index=True))
        try:
            receipts = _insert_many(con, [meta for _, meta, _, _ in todo], enriched,
                                    [quarantine.assign(_spool=meta["spool_id"]) for _, meta, _, quarantine in todo])
            done = {folder: receipts[meta["spool_id"]] for folder, meta, _, _ in todo}
        except REFUSED:
            done = {}
        for folder, receipt in done.items():
            _write_receipt(folder.parent, receipt)
            _remove(folder)
    # already applied (clean-up only), unreadable (set aside) or refused in the batch: one by one
    return [done[f] if f in done else apply_spool(con, f) for f in folders]


def _prepare_rows(rows: pd.DataFrame) -> pd.DataFrame:
    if "extra" not in rows:  # a spool written before unmapped columns were carried through
        rows = rows.assign(extra=None)
    rows = rows.assign(extra=rows["extra"].astype(object))
    return _with_stored_terms(rows)


def _with_stored_terms(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows' search terms as the store keeps them (search.encode): made from the text for a
    spool written before search terms, encoded for one written while they were lists of numbers."""
    if "search_terms" not in rows:
        return rows.assign(search_terms=[search.stored_terms(t) for t in rows["text"]])
    if rows["search_terms"].dtype == object and any(isinstance(t, (list, np.ndarray)) for t in rows["search_terms"]):
        return rows.assign(search_terms=[search.encode(int(x) for x in t) if isinstance(t, (list, np.ndarray)) else t
                                         for t in rows["search_terms"]])
    return rows


def _insert_many(con: duckdb.DuckDBPyConnection, metas: list[dict], rows: pd.DataFrame,
                 quarantines: list[pd.DataFrame]) -> dict[str, dict]:
    """_insert for many spools in one transaction and a fixed number of statements: `rows` and the
    quarantines carry their spool's id in `_spool`. Receipts by spool id."""
    started = pd.Timestamp.now(tz="UTC")
    runs = pd.DataFrame({"spool_id": [m["spool_id"] for m in metas], "file": [m["file"] for m in metas],
                         "checksum": [m["checksum"] for m in metas], "source": [m["source"] for m in metas],
                         "read_count": [int(m["read"]) for m in metas],
                         "file_duplicates": [int(m["file_duplicates"]) for m in metas]})
    with store.transaction(con):
        con.register("_spool_runs", runs)
        run_ids = dict(con.execute(
            "INSERT INTO ingest_runs (spool_id, file, checksum, source, started_at, read_count) "
            "SELECT spool_id, file, checksum, source, ?, read_count FROM _spool_runs RETURNING spool_id, id",
            [started]).fetchall())
        con.unregister("_spool_runs")
        ids = list(run_ids.values())
        if len(rows):
            rows = _prepare_rows(rows).assign(ingest_run_id=lambda r: r["_spool"].map(run_ids).astype("int64"))
            # one statement must not carry the same key twice; a later spool's copy is its duplicate
            rows = rows[~rows.duplicated(["source", "source_id"])]
            con.register("_spool_rows", rows)
            cols = ", ".join(SUBMISSION_COLUMNS)
            con.execute(f"INSERT INTO submissions ({cols}, ingest_run_id) SELECT {cols}, ingest_run_id "
                        "FROM _spool_rows ON CONFLICT (source, source_id) DO NOTHING")
            con.unregister("_spool_rows")
            events.record_created(con, ingest_run_ids=ids)
        quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else pd.DataFrame()
        if len(quarantine):
            files = {m["spool_id"]: m["file"] for m in metas}
            quarantine = quarantine.assign(ingest_run_id=quarantine["_spool"].map(run_ids).astype("int64"),
                                           file=quarantine["_spool"].map(files))
            con.register("_spool_q", quarantine)
            con.execute("INSERT INTO quarantine (ingest_run_id, file, record_no, raw, reason) "
                        "SELECT ingest_run_id, file, record_no, raw, reason FROM _spool_q")
            con.unregister("_spool_q")
        # inserted per run from the table; the rest of each run's rows were duplicates
        con.register("_spool_runs", runs.assign(
            id=runs["spool_id"].map(run_ids), rows_in=runs["spool_id"].map(
                rows["_spool"].value_counts() if len(rows) else {}).fillna(0).astype("int64"),
            quarantined=runs["spool_id"].map(
                quarantine["_spool"].value_counts() if len(quarantine) else {}).fillna(0).astype("int64")))
        con.execute(
            "UPDATE ingest_runs SET finished_at = now(), inserted_count = c.inserted, "
            "duplicate_count = c.read_count - c.quarantined - c.inserted, quarantined_count = c.quarantined "
            "FROM (SELECT r.id, r.read_count, r.quarantined, "
            "             (SELECT count(*) FROM submissions s WHERE s.ingest_run_id = r.id) AS inserted "
            "      FROM _spool_runs r) c WHERE ingest_runs.id = c.id")
        con.unregister("_spool_runs")
        found = con.execute(
            "SELECT spool_id, id, file, read_count, inserted_count, duplicate_count, quarantined_count "
            "FROM ingest_runs WHERE spool_id IN (SELECT unnest(?))", [list(run_ids)]).fetchall()
    return {sid: {"spool_id": sid, "ingest_run_id": rid, "file": file, "read": read, "inserted": ins,
                  "duplicates": dup, "quarantined": q} for sid, rid, file, read, ins, dup, q in found}


PENDING_FILL = {"language": None, "category": None, "category_confidence": None, "category_source": "pending",
                "priority": None, "status": "new", "department": None, "feedback_due_at": None, "due_at": None,
                "search_terms": None}


def _insert(con: duckdb.DuckDBPyConnection, meta: dict, rows: pd.DataFrame, quarantine: pd.DataFrame) -> dict:
    """One transaction: the rows, their events, the quarantine and the ingest_runs record. Rows of a
    pending spool are stored unclassified (category NULL, category_source 'pending'); their
    'created' event is written when classify_pending gives them their initial state. A batch whose
    key an earlier run already applied adds nothing: its records are reported as that run's were
    (quarantined, the rest duplicates), and no quarantine record is written twice.

    A pending spool's rows are first inserted without ON CONFLICT: DuckDB's conflict handling took
    0.3 s of 0.5 per 50,000 rows, and a batch rarely repeats a stored row (a repeated batch is
    found by its key above). When one does, the unique index refuses the insert, the transaction
    is rolled back and the spool applied again with ON CONFLICT DO NOTHING: the same result."""
    if isinstance(rows, _ParquetRows) and len(rows):
        try:
            return _insert_once(con, meta, rows, quarantine, skip_conflicts=False)
        except duckdb.ConstraintException:
            pass  # rolled back: a row already stored, or a value the table refuses (found again below)
    return _insert_once(con, meta, rows, quarantine, skip_conflicts=True)


def _insert_once(con: duckdb.DuckDBPyConnection, meta: dict, rows: pd.DataFrame, quarantine: pd.DataFrame,
                 skip_conflicts: bool) -> dict:
    spool_id = meta["spool_id"]
    started = pd.Timestamp.now(tz="UTC")
    key = meta.get("batch_key")
    with store.transaction(con):
        earlier = con.execute("SELECT quarantined_count FROM ingest_runs WHERE batch_key = ?",
                              [key]).fetchall() if key is not None else []
        repeat = bool(earlier)
        run_id = con.execute(
            "INSERT INTO ingest_runs (spool_id, file, checksum, source, started_at, read_count, batch_key) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            [spool_id, meta["file"], meta["checksum"], meta["source"], started, meta["read"],
             None if repeat else key],
        ).fetchall()[0][0]
        if repeat:  # its records were stored or quarantined by the earlier run: nothing is added
            quarantined = int(earlier[0][0] or 0)
            con.execute("UPDATE ingest_runs SET finished_at = now(), inserted_count = 0, duplicate_count = ?, "
                        "quarantined_count = ? WHERE id = ?", [meta["read"] - quarantined, quarantined, run_id])
            return _receipt_from_run(con, spool_id)
        inserted = 0
        if len(rows) and isinstance(rows, _ParquetRows):
            cols = ", ".join(SUBMISSION_COLUMNS)
            values = ", ".join(c if c in rows else "NULL" if PENDING_FILL.get(c) is None else f"'{PENDING_FILL[c]}'"
                               for c in SUBMISSION_COLUMNS)
            conflict = "ON CONFLICT (source, source_id) DO NOTHING" if skip_conflicts else ""
            con.execute(f"INSERT INTO submissions ({cols}, ingest_run_id) SELECT {values}, ? FROM read_parquet(?) "
                        f"{conflict}", [run_id, meta["_rows_path"]])
        elif len(rows):
            if "extra" not in rows:  # a spool written before unmapped columns were carried through
                rows = rows.assign(extra=None)
            rows = rows.assign(extra=rows["extra"].astype(object))
            if meta.get("pending"):
                rows = rows.assign(**{c: v for c, v in PENDING_FILL.items() if c not in rows})
            rows = _with_stored_terms(rows)
            con.register("_spool_rows", rows)
            cols = ", ".join(SUBMISSION_COLUMNS)
            con.execute(
                f"INSERT INTO submissions ({cols}, ingest_run_id) SELECT {cols}, ? FROM _spool_rows "
                "ON CONFLICT (source, source_id) DO NOTHING", [run_id])
            con.unregister("_spool_rows")
        if len(rows):
            inserted = con.execute("SELECT count(*) FROM submissions WHERE ingest_run_id = ?",
                                   [run_id]).fetchall()[0][0]
            events.record_created(con, ingest_run_id=run_id, new_rows=True)
        if len(quarantine):
            con.register("_spool_q", quarantine)
            con.execute("INSERT INTO quarantine (ingest_run_id, file, record_no, raw, reason) "
                        "SELECT ?, ?, record_no, raw, reason FROM _spool_q", [run_id, meta["file"]])
            con.unregister("_spool_q")
        duplicates = len(rows) - inserted + meta["file_duplicates"]
        con.execute(
            "UPDATE ingest_runs SET finished_at = now(), inserted_count = ?, duplicate_count = ?, "
            "quarantined_count = ? WHERE id = ?", [inserted, duplicates, len(quarantine), run_id])
    return _receipt_from_run(con, spool_id)


def drain(con: duckdb.DuckDBPyConnection, inbox: Path, refresh_rollup: bool = True) -> list[dict]:
    """Apply every spool folder waiting in the inbox, oldest first. Only the writer calls this.
    `refresh_rollup=False`: the caller refreshes the rollup itself once it has applied a whole
    file (each refresh recounts every day the new rows fall on: per batch of a big file that was
    the whole table again and again)."""
    inbox = Path(inbox)
    with _drain_lock:
        empty_trash(inbox)
        clean_tmp(inbox)
        clean_receipts(inbox)
        receipts: list[dict | None] = []
        folders = pending(inbox)
        i = 0
        kinds = [_kind(f) for f in folders]
        while i < len(folders):  # oldest first; runs of the form's small spools, or of batches, go together
            j = i
            most = SMALL_BATCH if kinds[i] == "small" else PENDING_TOGETHER if kinds[i] == "pending" else 1
            while j < len(folders) and j - i < most and kinds[j] == kinds[i]:
                j += 1
            if j - i > 1:
                receipts += (apply_small_together if kinds[i] == "small" else apply_pending_together)(
                    con, folders[i:j])
                i = j
            else:
                receipts.append(apply_spool(con, folders[i]))
                i += 1
        done = [r for r in receipts if r is not None]
        if done and refresh_rollup:
            rollup.keep_up(con)
        return done


def _close(con) -> None:
    try:
        con.close()
    except duckdb.Error:  # after a failed commit; the process is about to report it anyway
        pass


def apply_or_wait(db: Path, inbox: Path, spool_ids: list[str], wait_seconds: float) -> dict[str, dict]:
    """Drain ourselves whenever we can be the writer, else wait for the writer's receipts.

    Until `wait_seconds` have passed, the lock is tried again and again: the process that held it
    may be another CLI command that exits a moment later without draining our spool (it listed
    the inbox before our spool arrived), not an app that drains."""
    if not spool_ids:
        return {}
    receipts: dict[str, dict] = {}
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = store.connect(db)
        except store.StoreLocked:
            con = None
        if con is not None:
            try:
                drain(con, inbox)
            except duckdb.Error as exc:  # refused content is set aside in drain; this is the disk
                raise CannotWrite(f"{db}: cannot write the database ({why(exc)})") from exc
            finally:
                _close(con)
        for sid in spool_ids:
            path = receipt_path(inbox, sid)
            if sid not in receipts and path.exists():
                receipts[sid] = json.loads(path.read_text(encoding="utf-8"))
        settled = all(sid in receipts or broken_path(inbox, sid).exists() for sid in spool_ids)  # or set aside
        if settled or con is not None or time.monotonic() >= deadline:
            return receipts
        time.sleep(0.2)


def arguments_drain(parser) -> None:
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")


def run_drain(args) -> int:
    from pipeline import ingest, settings
    from pipeline import pending as pending_step

    db = settings.db_path(args.db)
    inbox = settings.inbox_path(db)
    # a store is made for spools waiting in its inbox (an ingest queued them, the form wrote them);
    # with none waiting, a path that does not exist is a mistyped one
    con = store.connect_writer_or_explain(db, "the running app drains the inbox itself",
                                          must_exist=not pending(inbox))
    if con is None:
        return 1
    try:
        receipts = drain(con, inbox)
    except duckdb.Error as exc:
        _close(con)
        print(f"error: {db}: cannot write the database ({why(exc)}); the spool files stay in {inbox} "
              f"for the next drain", file=sys.stderr)
        return 1
    try:  # what a streaming ingest stored unclassified (pipeline.pending)
        pending_step.classify_pending(con)
    except duckdb.Error as exc:
        print(f"error: {db}: cannot write the database ({why(exc)}); the stored rows wait for "
              f"`python -m pipeline classify-pending`", file=sys.stderr)
        return 1
    finally:
        _close(con)
    for r in receipts:
        print(f"{r['file']}: {ingest.summary(r)}")
    print(f"applied {len(receipts)} spool file(s)")
    return 0
