"""One writer and nothing lost: kill -9 at any moment, and ingest while another process holds the DB."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline import events, settings, spool, store, synth

ENV = {**os.environ, "PYTHONPATH": str(settings.ROOT)}


def cli(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=settings.ROOT,
                            env={**ENV, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def wait_for(predicate, timeout=120.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def check_exactly_once(db, rows):
    con = store.connect(db)
    try:
        n, distinct = con.execute("SELECT count(*), count(DISTINCT source_id) FROM submissions").fetchall()[0]
        created = con.execute("SELECT count(*) FROM events WHERE field = 'created'").fetchall()[0][0]
        runs = con.execute("SELECT count(*) FROM ingest_runs WHERE finished_at IS NULL").fetchall()[0][0]
    finally:
        con.close()
    assert (n, distinct, created, runs) == (rows, rows, rows, 0)


@pytest.mark.slow
# With 12,000 rows on a 2-core machine the drain takes about 0.2 s after the spool appears: 0.0
# and 0.1 kill inside it, 0.5 just after its commit (while the spool is removed and receipted).
@pytest.mark.parametrize("delay", [0.0, 0.5])  # at once and half-way (0.1 added nothing the two miss)
def test_kill_writer_during_drain_loses_and_duplicates_nothing(tmp_path, delay):
    rows = 12000
    csv = synth.call_centre_csv(tmp_path / "big.csv", rows)
    db = tmp_path / "k.duckdb"
    inbox = settings.inbox_path(db)
    proc = cli("ingest", str(csv), "--db", str(db))
    # The spool folder appears when parsing is done and the drain (the write) begins.
    assert wait_for(lambda: inbox.exists() and any(inbox.glob("*.spool")))
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Restart: the next writer drains what was accepted; a rerun of the file adds nothing.
    drained = cli("drain", "--db", str(db))
    out, err = drained.communicate(timeout=300)
    assert drained.returncode == 0, err
    check_exactly_once(db, rows)
    again = cli("ingest", str(csv), "--db", str(db))
    out, err = again.communicate(timeout=300)
    assert out.strip().endswith(f"read={rows} inserted=0 duplicates={rows} quarantined=0"), out + err
    check_exactly_once(db, rows)


APP = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipeline import settings, spool, store
    con = store.connect(sys.argv[1])          # holds the file like the running app does
    print("ready", flush=True)
    while True:
        if sys.argv[2] == "drain":
            spool.drain(con, settings.inbox_path(sys.argv[1]))
        time.sleep(0.2)
""")


def _start_app(db, mode):
    proc = subprocess.Popen([sys.executable, "-c", APP, str(db), mode], cwd=settings.ROOT, env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_ingest_while_the_app_holds_the_database(tmp_path):
    csv = synth.call_centre_csv(tmp_path / "s.csv", 500)
    db = tmp_path / "a.duckdb"
    app = _start_app(db, "drain")
    try:
        run = cli("ingest", str(csv), "--db", str(db))
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert out.strip() == "read=500 inserted=500 duplicates=0 quarantined=0"
    finally:
        app.kill()
        app.wait()
    check_exactly_once(db, 500)


def test_queued_when_the_app_does_not_answer_in_time_then_applied_later(tmp_path):
    csv = synth.call_centre_csv(tmp_path / "s.csv", 50)
    db = tmp_path / "q.duckdb"
    app = _start_app(db, "hold")
    try:
        run = cli("ingest", str(csv), "--db", str(db), env={"SC_INGEST_WAIT": "1"})
        out, err = run.communicate(timeout=120)
    finally:
        app.kill()
        app.wait()
    assert run.returncode == 0, err
    assert "queued as" in out and "read=0 inserted=0" in out
    drained = cli("drain", "--db", str(db))
    out, _ = drained.communicate(timeout=120)
    assert "read=50 inserted=50" in out
    check_exactly_once(db, 50)


def test_kill_app_mid_drain_then_restart(tmp_path):
    rows = 40000  # the drain takes longer than the half second before the kill
    csv = synth.call_centre_csv(tmp_path / "big.csv", rows)
    db = tmp_path / "r.duckdb"
    app = _start_app(db, "hold")          # holds the DB so ingest only spools
    run = cli("ingest", str(csv), "--db", str(db), env={"SC_INGEST_WAIT": "0"})
    run.communicate(timeout=300)
    app.kill()
    app.wait()
    app = _start_app(db, "drain")          # the app restarts and drains...
    time.sleep(0.5)
    app.send_signal(signal.SIGKILL)        # ...and dies in the middle
    app.wait()
    app = _start_app(db, "drain")
    inbox = settings.inbox_path(db)
    assert wait_for(lambda: not any(inbox.glob("*.spool")))
    app.kill()
    app.wait()
    check_exactly_once(db, rows)


# ---- a kill -9 while the spool folder is being removed ---------------------------------------
DIE_IN_REMOVAL = textwrap.dedent("""
    import os, shutil, signal, sys
    from pathlib import Path
    from pipeline import settings, spool, store

    def dying_rmtree(path, *args, **kwargs):
        meta = Path(path) / "meta.json"
        if meta.exists():
            meta.unlink()                     # rmtree happened to remove meta.json first...
        os.kill(os.getpid(), signal.SIGKILL)  # ...and then the process was killed

    shutil.rmtree = dying_rmtree
    con = store.connect(sys.argv[1])
    spool.drain(con, settings.inbox_path(sys.argv[1]))
""")


def _spooled_csv(tmp_path, db, rows=20, name="s.csv"):
    """A small file with ids of its own (prefix = file name), prepared and put in the inbox."""
    from pipeline import ingest

    csv = tmp_path / name
    csv.write_text("№ обращения;Дата поступления;Текст обращения\n" + "".join(
        f"{name}-{i};01.02.2026 10:{i % 60:02d};Не горит фонарь у дома {i}\n" for i in range(rows)),
        encoding="utf-8")
    return spool.write(ingest.prepare(csv), settings.inbox_path(db))


def test_kill_during_spool_folder_removal_is_cleaned_up_by_the_next_drain(tmp_path):
    db = tmp_path / "rm.duckdb"
    inbox = settings.inbox_path(db)
    sid = _spooled_csv(tmp_path, db)
    killed = subprocess.run([sys.executable, "-c", DIE_IN_REMOVAL, str(db)], cwd=settings.ROOT,
                            env={**os.environ, "PYTHONPATH": str(settings.ROOT)}, capture_output=True,
                            text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    con = store.connect(db)
    try:
        spool.drain(con, inbox)                             # cleans up; no FileNotFoundError
        later = _spooled_csv(tmp_path, db, rows=5, name="later.csv")
        receipts = spool.drain(con, inbox)                  # later ingests still work
        assert [r["spool_id"] for r in receipts] == [later] and receipts[0]["inserted"] == 5
    finally:
        con.close()
    assert not list(inbox.glob("*.spool")) and not any((inbox / "trash").glob("*"))
    assert spool.receipt_path(inbox, sid).exists()
    check_exactly_once(db, 25)


def test_leftover_folders_in_the_inbox_do_not_stop_the_drain(tmp_path):
    db = tmp_path / "left.duckdb"
    inbox = settings.inbox_path(db)
    applied = _spooled_csv(tmp_path, db)
    con = store.connect(db)
    try:
        spool.drain(con, inbox)
        # 1. a half-removed folder of a spool already applied: only rows.parquet is left
        half = inbox / f"{applied}.spool"
        half.mkdir()
        (half / "rows.parquet").write_bytes(b"PAR1 partial")
        # 2. a folder without meta.json whose id was never applied: kept aside, never deleted
        stray = inbox / "20260101T000000-000000000000.spool"
        stray.mkdir()
        (stray / "rows.parquet").write_bytes(b"PAR1 partial")
        fresh = _spooled_csv(tmp_path, db, rows=3, name="fresh.csv")
        receipts = spool.drain(con, inbox)
    finally:
        con.close()
    # the leftover of the applied spool is only cleaned up (inserted as counted the first time)
    assert {r["spool_id"]: r["inserted"] for r in receipts} == {applied: 20, fresh: 3}
    assert not list(inbox.glob("*.spool"))
    assert (inbox / "broken" / stray.name / "rows.parquet").exists()
    check_exactly_once(db, 23)


# ---- two writers-to-be: ingest waits for the lock instead of leaving its spool queued -----------
HOLD_UNTIL_SPOOLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipeline import settings, store
    con = store.connect(sys.argv[1])          # another CLI command holding the file for a moment
    print("ready", flush=True)
    inbox = settings.inbox_path(sys.argv[1])
    while not list(inbox.glob("*.spool")):
        time.sleep(0.02)
    time.sleep(1.0)                           # the ingest has now found the file locked
    con.close()                               # ... and exits without draining
""")


def _ids_csv(path, rows, prefix):
    path.write_text("№ обращения;Дата поступления;Текст обращения\n" + "".join(
        f"{prefix}-{i};01.02.2026 10:{i % 60:02d};Не горит фонарь у дома {i}\n" for i in range(rows)),
        encoding="utf-8")
    return path


def test_ingest_waits_for_a_lock_that_is_released_and_applies_its_own_spool(tmp_path):
    db = tmp_path / "w.duckdb"
    csv = _ids_csv(tmp_path / "w.csv", 30, "w")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_SPOOLED, str(db)], cwd=settings.ROOT, env=ENV,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        run = cli("ingest", str(csv), "--db", str(db),
                  env={"SC_INGEST_WAIT": "30", "SC_MODEL_DIR": os.environ["SC_MODEL_DIR"]})
        out, err = run.communicate(timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert run.returncode == 0, err
    assert out.strip() == "read=30 inserted=30 duplicates=0 quarantined=0", out + err
    assert not list(settings.inbox_path(db).glob("*.spool"))
    check_exactly_once(db, 30)


def test_two_ingests_at_once_both_apply_and_print_their_counts(tmp_path):
    db = tmp_path / "two.duckdb"
    env = {"SC_INGEST_WAIT": "60", "SC_MODEL_DIR": os.environ["SC_MODEL_DIR"]}
    runs = [cli("ingest", str(_ids_csv(tmp_path / f"{p}.csv", n, p)), "--db", str(db), env=env)
            for p, n in (("a", 40), ("b", 25))]
    outs = [r.communicate(timeout=120) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    assert [o.strip() for o, _ in outs] == ["read=40 inserted=40 duplicates=0 quarantined=0",
                                            "read=25 inserted=25 duplicates=0 quarantined=0"], outs
    check_exactly_once(db, 65)


# ---- leftovers: half-written spools in tmp/ and old receipts in done/ ----------------------------
def _age(path, seconds):
    stamp = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (stamp, stamp))


def _leftovers(inbox):
    old_tmp, fresh_tmp = inbox / "tmp" / "old.spool", inbox / "tmp" / "fresh.spool"
    for folder in (old_tmp, fresh_tmp):
        folder.mkdir(parents=True)
        (folder / "rows.parquet").write_bytes(b"PAR1 half written")
    _age(old_tmp, 2 * 3600)
    done = inbox / "done"
    done.mkdir(exist_ok=True)
    old_receipt, fresh_receipt = done / "old.json", done / "fresh.json"
    old_receipt.write_text("{}")
    fresh_receipt.write_text("{}")
    _age(old_receipt, 30 * 86400)
    return old_tmp, fresh_tmp, old_receipt, fresh_receipt


def test_drain_cleans_old_tmp_spools_and_old_receipts(tmp_path, monkeypatch):
    monkeypatch.setenv("SC_RECEIPT_DAYS", "7")
    db = tmp_path / "c.duckdb"
    inbox = settings.inbox_path(db)
    old_tmp, fresh_tmp, old_receipt, fresh_receipt = _leftovers(inbox)
    con = store.connect(db)
    try:
        spool.drain(con, inbox)
    finally:
        con.close()
    assert not old_tmp.exists() and fresh_tmp.exists()    # a fresh one may be an ingest writing now
    assert not old_receipt.exists() and fresh_receipt.exists()


def test_ingest_cleans_old_tmp_spools_even_while_the_app_holds_the_database(tmp_path, monkeypatch):
    from pipeline.__main__ import main

    db = tmp_path / "i.duckdb"
    inbox = settings.inbox_path(db)
    old_tmp, fresh_tmp, _, _ = _leftovers(inbox)
    monkeypatch.setenv("SC_INGEST_WAIT", "60")
    app = _start_app(db, "drain")
    try:
        assert main(["ingest", str(_ids_csv(tmp_path / "i.csv", 3, "i")), "--db", str(db)]) == 0
    finally:
        app.kill()
        app.wait()
    assert not old_tmp.exists() and fresh_tmp.exists()
