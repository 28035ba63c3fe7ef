"""Writing spool folders into the inbox, without the database: the part of the spool that any
process may do (the ingest command, the public proposal form), while only the writer drains.

A spool folder is written under <inbox>/tmp/<id>.spool, fsynced, and only then renamed into
<inbox>/<id>.spool (a rename is atomic), so a drain never sees half a folder. The folder holds
rows.parquet (submission rows), quarantine.parquet (record_no, raw, reason) and meta.json;
pipeline.spool applies it. This module imports neither duckdb nor pandas: the public form's
process uses it and must stay away from the database (see formapp/).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_spool_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:12]


def write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())


def fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_spool(inbox: Path):
    """Yields (spool_id, folder) of a new folder under inbox/tmp; the caller writes its files there.
    On leaving the block without an error the folder is fsynced and renamed into the inbox; on an
    error (a full disk...) the half-written folder is removed at once and the error goes on."""
    inbox = Path(inbox)
    spool_id = new_spool_id()
    tmp = inbox / "tmp" / f"{spool_id}.spool"
    tmp.mkdir(parents=True)
    try:
        yield spool_id, tmp
        fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.rename(tmp, inbox / f"{spool_id}.spool")
    fsync_dir(inbox)


# The columns of a spool whose rows still need classification and deadlines (pipeline.ingest.enrich,
# run by the drain): what a web form knows about a submission.
RAW_COLUMNS = ("source", "source_id", "received_at", "text", "region", "district", "address", "lat", "lon",
               "placement", "contact", "extra")


def _raw_schema():
    import pyarrow as pa

    types = {"received_at": pa.timestamp("us", tz="UTC"), "lat": pa.float64(), "lon": pa.float64()}
    return pa.schema([(c, types.get(c, pa.string())) for c in RAW_COLUMNS])


def write_raw(inbox: Path, rows: list[dict], *, file: str, source: str, fmt: str = "form") -> str:
    """Spool submission rows that are not yet classified (keys of RAW_COLUMNS; received_at an
    aware datetime, extra a JSON string or None). meta.json says `"enrich": true`, so the drain
    classifies them and sets their deadlines before inserting, like any ingested row. Returns the
    spool id once the folder is in the inbox."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([{c: row.get(c) for c in RAW_COLUMNS} for row in rows], schema=_raw_schema())
    quarantine = pa.table({"record_no": pa.array([], pa.int64()), "raw": pa.array([], pa.string()),
                           "reason": pa.array([], pa.string())})
    checksum = "sha256:" + hashlib.sha256(
        json.dumps([{c: str(row.get(c)) for c in RAW_COLUMNS} for row in rows], ensure_ascii=False)
        .encode("utf-8")).hexdigest()
    with atomic_spool(inbox) as (spool_id, folder):
        pq.write_table(table, folder / "rows.parquet")
        fsync_file(folder / "rows.parquet")
        pq.write_table(quarantine, folder / "quarantine.parquet")
        fsync_file(folder / "quarantine.parquet")
        write_json(folder / "meta.json", {
            "spool_id": spool_id, "file": file, "checksum": checksum, "source": source, "read": len(rows),
            "file_duplicates": 0, "format": fmt, "encoding": "utf-8", "enrich": True})
    return spool_id
