"""A full disk and a read-only data folder on the ingest path: one line `error: ...`, a non-zero exit
code, no traceback, and the database opens afterwards with exactly the rows it had.

Tests run as root, for whom chmod 0555 changes nothing, and no small tmpfs can be mounted. So a
full disk is RLIMIT_FSIZE on the child process (a write past N bytes fails with EFBIG, 'File too
large', the way a full disk fails with ENOSPC; Python ignores the SIGXFSZ that comes with it), and
a read-only folder is a child whose os.mkdir and open() for writing below it raise EROFS.
"""
import os
import resource
import subprocess
import sys
import textwrap

import pytest

from pipeline import ingest, settings, spool, store

pytestmark = pytest.mark.usefixtures("keyword_classifier_unless_trained")


def _csv(path, prefix: str, rows: int):
    path.write_text("№ обращения;Дата поступления;Текст обращения\n" + "".join(
        f"{prefix}{i};01.02.2026 10:{i % 60:02d};Не горит фонарь у дома номер {i}, прошу принять меры {i}\n"
        for i in range(rows)), encoding="utf-8")
    return path


def _database_with_rows(tmp_path):
    db = tmp_path / "data" / "full.duckdb"
    db.parent.mkdir()
    prepared = ingest.prepare(_csv(tmp_path / "before.csv", "b", 30))
    con = store.connect(db)
    try:
        spool.write(prepared, settings.inbox_path(db))
        spool.drain(con, settings.inbox_path(db))
    finally:
        con.close()
    return db


def _state(db) -> tuple:
    con = store.connect(db)
    try:
        return (sorted(r for (r,) in con.execute("SELECT source_id FROM submissions").fetchall()),
                con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0],
                con.execute("SELECT count(*) FROM ingest_runs").fetchall()[0][0])
    finally:
        con.close()


def _cli(*args, max_file_bytes=None, code=None, env=None):
    limit = None
    if max_file_bytes is not None:
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "pipeline", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=settings.ROOT, timeout=120,
                          preexec_fn=limit, env={**os.environ, "PYTHONPATH": str(settings.ROOT), **(env or {})})


def _one_error_line(run, starts: str) -> str:
    assert run.returncode != 0, run.stdout
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), run.stderr
    return lines[0]


def test_a_disk_that_fills_while_the_spool_is_written(tmp_path):
    db = _database_with_rows(tmp_path)
    before = _state(db)
    new = _csv(tmp_path / "new.csv", "n", 200)
    run = _cli("ingest", str(new), "--db", str(db), max_file_bytes=2000)   # less than rows.parquet
    line = _one_error_line(run, f"error: {new}: cannot write its spool file in {settings.inbox_path(db)} (")
    assert "File too large" in line and line.endswith("nothing of it was stored")
    assert _state(db) == before
    inbox = settings.inbox_path(db)
    assert not any(inbox.glob("*.spool")) and not any((inbox / "tmp").iterdir())   # no half-written spool left


def test_a_disk_that_fills_while_the_database_is_written_keeps_the_spool_for_later(tmp_path):
    db = _database_with_rows(tmp_path)
    before = _state(db)
    new = _csv(tmp_path / "new.csv", "n", 600)
    # The spool (about 25 KB of Parquet) fits; the database's write-ahead log of 600 rows does not.
    run = _cli("ingest", str(new), "--db", str(db), max_file_bytes=100_000)
    line = _one_error_line(run, f"error: {db}: cannot write the database (")
    assert "File too large" in line and line.endswith(f"wait in {settings.inbox_path(db)} for the next drain")
    assert run.returncode == 2
    assert _state(db) == before
    assert len(list(settings.inbox_path(db).glob("*.spool"))) == 1
    # Still full: the drain says the same in one line and keeps the spool.
    drained = _cli("drain", "--db", str(db), max_file_bytes=100_000)
    _one_error_line(drained, f"error: {db}: cannot write the database (")
    assert _state(db) == before
    # Room again: the next drain applies it, once.
    drained = _cli("drain", "--db", str(db))
    assert drained.returncode == 0 and "read=600 inserted=600" in drained.stdout, drained.stderr
    rows, quarantined, runs = _state(db)
    assert rows == sorted(before[0] + [f"n{i}" for i in range(600)]) and runs == before[2] + 1


READ_ONLY = textwrap.dedent("""
    import builtins, errno, os, sys
    from pipeline.__main__ import main

    folder = os.path.realpath(sys.argv[1])
    def below(path):
        return os.path.realpath(os.fspath(path)).startswith(folder + os.sep)
    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))

    real_mkdir, real_open, real_os_open = os.mkdir, builtins.open, os.open
    def mkdir(path, *args, **kwargs):
        if below(path):
            if os.path.exists(path):
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(path))
            refuse(path)
        return real_mkdir(path, *args, **kwargs)
    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in mode for c in "wax+") and below(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)
    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and below(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)
    os.mkdir, builtins.open, os.open = mkdir, open_, os_open
    sys.exit(main(sys.argv[2:]))
""")


def test_a_read_only_data_folder(tmp_path):
    db = _database_with_rows(tmp_path)
    before = _state(db)
    new = _csv(tmp_path / "new.csv", "n", 20)
    inbox = settings.inbox_path(db)
    # The inbox exists (made by an earlier ingest): the spool cannot be written in it.
    run = _cli(str(db.parent), "ingest", str(new), "--db", str(db), code=READ_ONLY)
    line = _one_error_line(run, f"error: {new}: cannot write its spool file in {inbox} (Read-only file system)")
    assert run.returncode == 1 and line.endswith("nothing of it was stored")
    assert _state(db) == before
    # No inbox yet: refused before anything is read.
    for entry in sorted(inbox.rglob("*"), reverse=True):
        entry.rmdir() if entry.is_dir() else entry.unlink()
    inbox.rmdir()
    run = _cli(str(db.parent), "ingest", str(new), "--db", str(db), code=READ_ONLY)
    _one_error_line(run, f"error: cannot create the spool inbox {inbox} (Read-only file system)")
    assert run.returncode == 2 and run.stdout == ""
    assert _state(db) == before


def test_an_inbox_path_that_is_a_file(tmp_path):
    db = _database_with_rows(tmp_path)
    before = _state(db)
    blocker = tmp_path / "inbox_is_a_file"
    blocker.write_text("not a folder\n")
    run = _cli("ingest", str(_csv(tmp_path / "new.csv", "n", 5)), "--db", str(db), env={"SC_INBOX": str(blocker)})
    _one_error_line(run, f"error: cannot create the spool inbox {blocker} (Not a directory)")
    assert run.returncode == 2
    assert _state(db) == before and blocker.read_text() == "not a folder\n"
