"""Backup and restore: the store, the users and audit file, and the classifier in use.

A backup is a folder: `situation.duckdb` (DuckDB's COPY FROM DATABASE, one consistent snapshot
however busy the writer is), `auth.sqlite` (SQLite's online backup), `models/<version>/` (the
model in use) and `manifest.json` (when, the schema version, row counts, a SHA-256 of every
file). It is written under `<DIR>.partial` and renamed when complete, so a half-made backup never
looks like one.

While the app runs it holds the DuckDB file, so `backup` hands a request to it through the inbox
(`<inbox>/requests/`) and waits for its receipt; with no app running it does the work itself.
`restore` needs the app stopped: it checks every checksum first, keeps the current files as
`*.before-restore-<time>`, copies the backup in, and opens the store once, which applies any
migration newer than the backup.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import sys
import time
import uuid
from pathlib import Path

from pipeline import auth, classify, settings, store
from pipeline.ingest import file_checksum

DB_NAME, AUTH_NAME, MANIFEST = "situation.duckdb", "auth.sqlite", "manifest.json"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why."""


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def backup(con, out: str | Path) -> dict:
    """Write a backup of the store behind `con` (the writer) to the folder `out`."""
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} exists and is not empty; name a new folder")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "models").mkdir(parents=True)
    source = con.execute("SELECT current_database()").fetchall()[0][0]
    con.execute(f"ATTACH {_quote(partial / DB_NAME)} AS backup_target")
    try:
        con.execute(f'COPY FROM DATABASE "{source}" TO backup_target')
    finally:
        con.execute("DETACH backup_target")
    # the users of this store (beside its file, or SC_AUTH_DB), not of SC_DB's: `backup --db X`
    # copied another store's users
    file = store.db_file(con)
    users = auth.connect(auth.path(str(file) if file else None))
    target = sqlite3.connect(partial / AUTH_NAME)
    try:
        users.backup(target)
    finally:
        target.close()
        users.close()
    version = classify.current_version()
    if version and (classify.model_dir() / version).is_dir():
        shutil.copytree(classify.model_dir() / version, partial / "models" / version)
    check = store.connect(partial / DB_NAME, read_only=True)
    try:
        counts = {t: check.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                  for t in ("submissions", "events", "quarantine", "ingest_runs")}
        schema = check.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
    finally:
        check.close()
    files = sorted(p for p in partial.rglob("*") if p.is_file())
    manifest = {"created_at": dt.datetime.now(dt.timezone.utc).isoformat(), "schema": schema, "counts": counts,
                "model": version, "files": {str(p.relative_to(partial)): file_checksum(p) for p in files}}
    (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return manifest


def verify(folder: str | Path) -> dict:
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder}: no readable {MANIFEST} ({exc}); not a backup made by `backup`") from None
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise BackupError(f"{folder}: {name} is missing")
        if file_checksum(path) != digest:
            raise BackupError(f"{folder}: {name} does not match its checksum (damaged or changed)")
    return manifest


def restore(folder: str | Path, db: str | Path | None = None) -> dict:
    """Put a verified backup in place of the store (the app must be stopped)."""
    folder = Path(folder)
    manifest = verify(folder)
    db_path = settings.db_path(str(db) if db else None)
    try:  # before anything is copied: a .csv path or a folder would be half restored, then refused
        store.check_path(db_path)
    except store.StoreError as exc:
        raise BackupError(str(exc)) from None
    if db_path.exists():
        try:
            store.connect(db_path, read_only=True).close()
        except store.StoreLocked as exc:
            raise BackupError(f"{exc}; stop the app before restoring") from None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    auth_path = auth.path(db_path)  # SC_AUTH_DB when set (the app reads it there), else beside the store
    for current in (db_path, auth_path):
        if current.exists():
            current.rename(current.with_name(f"{current.name}.before-restore-{stamp}"))
    db_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(folder / DB_NAME, db_path)
    shutil.copy2(folder / AUTH_NAME, auth_path)
    for model in (folder / "models").iterdir() if (folder / "models").is_dir() else []:
        if not (classify.model_dir() / model.name).exists():
            shutil.copytree(model, classify.model_dir() / model.name)
    if manifest.get("model") and (classify.model_dir() / manifest["model"]).is_dir():
        (classify.model_dir() / "current").write_text(manifest["model"])
    con = store.connect(db_path)  # applies migrations newer than the backup
    try:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in manifest["counts"]}
    finally:
        con.close()
    return {"counts": counts, "manifest": manifest}


# ---- requests to the running app -----------------------------------------------------------
def requests_dir(db) -> Path:
    return settings.inbox_path(db) / "requests"


def serve_requests(con, db) -> int:
    """Run backup requests waiting in the inbox (the app's drain loop calls this); a receipt for each."""
    folder = requests_dir(db)
    done = 0
    for request in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        receipt = folder / "done" / request.name
        receipt.parent.mkdir(exist_ok=True)
        try:
            wanted = json.loads(request.read_text(encoding="utf-8"))
            result = {"ok": True, "manifest": backup(con, wanted["out"])}
        except Exception as exc:  # reported to the waiting CLI, never left to kill the drain loop
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        tmp = receipt.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        tmp.replace(receipt)
        request.unlink(missing_ok=True)
        done += 1
    return done


def _ask_the_app(db, out: Path) -> dict:
    folder = requests_dir(db)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"backup-{uuid.uuid4().hex}.json"
    tmp = folder / (name + ".tmp")
    tmp.write_text(json.dumps({"out": str(out)}), encoding="utf-8")
    tmp.replace(folder / name)
    receipt = folder / "done" / name
    deadline = time.monotonic() + settings.get_float("INGEST_WAIT")
    while time.monotonic() < deadline:
        if receipt.exists():
            result = json.loads(receipt.read_text(encoding="utf-8"))
            receipt.unlink(missing_ok=True)
            if not result["ok"]:
                raise BackupError(result["error"])
            return result["manifest"]
        time.sleep(0.2)
    (folder / name).unlink(missing_ok=True)
    raise BackupError(f"the running app did not answer within SC_INGEST_WAIT={settings.get('INGEST_WAIT')} s")


# ---- CLI -----------------------------------------------------------------------------------
def arguments_backup(parser) -> None:
    parser.add_argument("dir", help="a new folder for the backup")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")


def run_backup(args) -> int:
    if not str(args.dir).strip():  # '' was the current folder
        print("error: give a folder for the backup, e.g. /srv/backups/2026-11-30", file=sys.stderr)
        return 2
    out = Path(args.dir).resolve()
    db = settings.db_path(args.db)
    try:
        if not db.exists():
            raise BackupError(f"{db} does not exist")
        try:
            con = store.connect(db)
        except store.StoreLocked as locked:
            try:
                manifest = _ask_the_app(db, out)  # the app holds the file: it makes the backup
            except BackupError as exc:
                if "did not answer" not in str(exc):
                    raise
                # not the app (a notebook, another command) holds it: only the app drains backup requests
                raise BackupError(f"{locked}; it did not make the backup within SC_INGEST_WAIT="
                                  f"{settings.get('INGEST_WAIT')} s (the running app would): if it is not the app, "
                                  f"stop it and run backup again") from None
        else:
            try:
                manifest = backup(con, out)
            finally:
                con.close()
    except (BackupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"backup={out} submissions={manifest['counts']['submissions']} events={manifest['counts']['events']} "
          f"model={manifest['model']} files={len(manifest['files'])}")
    return 0


def arguments_restore(parser) -> None:
    parser.add_argument("dir", help="a folder written by `backup`")
    parser.add_argument("--db", help="DuckDB file to replace (default: SC_DB)")


def run_restore(args) -> int:
    try:
        result = restore(args.dir, args.db)
    except (BackupError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"restored {args.dir}: submissions={result['counts']['submissions']} events={result['counts']['events']}; "
          f"the previous files are kept as *.before-restore-*")
    return 0
