"""Backup and restore, with and without a running writer, and the upgrade of an older database."""
import json
import subprocess
import sys
import threading

import pytest

from pipeline.__main__ import main
from pipeline import auth, backup, settings, store


def _filled(path):
    con = store.connect(path)
    con.executemany("INSERT INTO submissions (source, source_id, received_at, text, category) VALUES "
                    "('web', ?, now(), ?, 'roads')", [[str(i), f"яма {i}"] for i in range(50)])
    return con


def test_backup_and_restore_round_trip_with_users_and_checksums(tmp_path, monkeypatch):
    db = tmp_path / "s.duckdb"
    monkeypatch.setenv("SC_DB", str(db))
    con = _filled(db)
    users = auth.connect()
    auth.add_user(users, "aliya", "operator", "a-long-password")
    users.close()
    manifest = backup.backup(con, tmp_path / "b1")
    assert manifest["counts"]["submissions"] == 50 and set(manifest["files"]) >= {"situation.duckdb", "auth.sqlite"}
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.backup(con, tmp_path / "b1")
    con.execute("DELETE FROM submissions")  # the accident the backup is for
    con.close()
    restored = backup.restore(tmp_path / "b1")
    assert restored["counts"]["submissions"] == 50
    assert list(tmp_path.glob("s.duckdb.before-restore-*"))
    users = auth.connect()
    assert auth.sign_in(users, "aliya", "a-long-password")[1].role == "operator"
    (tmp_path / "b1" / "situation.duckdb").write_bytes(b"damaged")
    with pytest.raises(backup.BackupError, match="checksum"):
        backup.restore(tmp_path / "b1")


def test_backup_of_another_store_takes_its_users_and_restore_checks_the_path_before_copying(tmp_path, monkeypatch):
    """`backup --db X` copied SC_DB's users instead of X's; `restore --db x.csv` copied the store and
    switched the model before it was refused (a helper found both)."""
    monkeypatch.setenv("SC_DB", str(tmp_path / "other.duckdb"))
    monkeypatch.delenv("SC_AUTH_DB", raising=False)
    other = auth.connect()
    auth.add_user(other, "aliya", "operator", "a-long-password")
    other.close()
    db = tmp_path / "e.duckdb"
    _filled(db).close()
    mine = auth.connect(auth.path(db))
    auth.add_user(mine, "bolat", "analyst", "another-long-password")
    mine.close()
    assert main(["backup", str(tmp_path / "bk"), "--db", str(db)]) == 0
    import sqlite3

    copied = sqlite3.connect(tmp_path / "bk" / "auth.sqlite")
    assert [u for (u,) in copied.execute("SELECT username FROM users")] == ["bolat"]
    copied.close()
    with pytest.raises(backup.BackupError, match="not a DuckDB database"):
        backup.restore(tmp_path / "bk", tmp_path / "x.csv")
    assert not list(tmp_path.glob("x.csv*"))


def test_backup_cli_while_a_writer_holds_the_file(tmp_path, monkeypatch):
    """The CLI cannot open a held file; it asks the holder (as the app's drain loop does)."""
    db = tmp_path / "s.duckdb"
    monkeypatch.setenv("SC_DB", str(db))
    con = _filled(db)
    stop = threading.Event()

    def app_loop():
        while not stop.wait(0.2):
            backup.serve_requests(con.cursor(), db)

    threading.Thread(target=app_loop, daemon=True).start()
    try:
        run = subprocess.run([sys.executable, "-m", "pipeline", "backup", str(tmp_path / "b2"), "--db", str(db)],
                             capture_output=True, text=True, cwd=settings.ROOT, timeout=120,
                             env={**__import__("os").environ, "SC_DB": str(db)})
    finally:
        stop.set()
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"backup={tmp_path / 'b2'} submissions=50 ")
    assert json.loads((tmp_path / "b2" / "manifest.json").read_text())["counts"]["submissions"] == 50
    con.close()


def test_restore_refuses_while_the_app_holds_the_store_and_bad_folders(tmp_path, monkeypatch):
    db = tmp_path / "s.duckdb"
    monkeypatch.setenv("SC_DB", str(db))
    con = _filled(db)
    backup.backup(con, tmp_path / "b3")
    con.close()
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('held', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        run = subprocess.run([sys.executable, "-m", "pipeline", "restore", str(tmp_path / "b3"), "--db", str(db)],
                             capture_output=True, text=True, cwd=settings.ROOT, timeout=60)
        assert run.returncode == 2 and "stop the app before restoring" in run.stderr and "Traceback" not in run.stderr
    finally:
        holder.kill()
    run = subprocess.run([sys.executable, "-m", "pipeline", "restore", str(tmp_path), "--db", str(db)],
                         capture_output=True, text=True, cwd=settings.ROOT, timeout=60)
    assert run.returncode == 2 and "not a backup" in run.stderr


def test_a_database_made_by_the_first_schema_upgrades(tmp_path):
    """Migrations bring a store made by an older release up to date without losing a row."""
    import duckdb

    db = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(db))
    raw.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ DEFAULT now())")
    first_version, name, path = store.migrations()[0]
    raw.execute(path.read_text(encoding="utf-8"))
    raw.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [first_version, name])
    raw.execute("INSERT INTO submissions (source, source_id, received_at, text) VALUES ('web', '1', now(), 'старая запись')")
    raw.close()
    con = store.connect(db)
    versions = [v for (v,) in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
    assert versions == [v for v, _, _ in store.migrations()]
    assert con.execute("SELECT text FROM submissions").fetchall() == [("старая запись",)]
