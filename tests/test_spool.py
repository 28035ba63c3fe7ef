"""One writer and nothing lost: kill -9 at any moment, and ingest while another process holds the DB."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline import events, settings, store, synth

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
@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_kill_writer_during_drain_loses_and_duplicates_nothing(tmp_path, delay):
    rows = 40000
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
    rows = 40000
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
