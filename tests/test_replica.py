"""Read replicas: other processes read the store while the app (the writer) holds it."""
import datetime as dt
import subprocess
import sys

import pytest

from pipeline import replica, store

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def _add(con, n, start=0):
    at = dt.datetime(2026, 11, 20, 8, tzinfo=dt.timezone.utc)
    con.executemany(
        "INSERT INTO submissions (source, source_id, received_at, text, language, region, district, category, "
        "category_confidence, priority, status, feedback_due_at, due_at) VALUES "
        "('hotline_109', ?, ?, 'Яма на дороге', 'ru', 'shymkent', 'abai', 'roads', 0.9, 'normal', 'new', ?, ?)",
        [[f"r{i}", at, at + dt.timedelta(days=1), at + dt.timedelta(days=15)] for i in range(start, start + n)])


@pytest.fixture
def writer(tmp_path):
    path = tmp_path / "s.duckdb"
    con = store.connect(path)  # this process is "the app": it holds the file
    _add(con, 5)
    yield path, con
    con.close()


def _cli(*args, env_db):
    env = {**__import__("os").environ, "SC_DB": str(env_db)}
    return subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_reader_process_is_refused_in_one_line_until_a_replica_exists_then_reads_it(writer, tmp_path):
    path, con = writer
    out = tmp_path / "e.csv"
    refused = _cli("export", "--since", "2026-01-01", "--format", "csv", "--out", str(out), env_db=path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "no read replica" in refused.stderr

    replica.publish(con, path)
    done = _cli("export", "--since", "2026-01-01", "--format", "csv", "--out", str(out), env_db=path)
    assert done.returncode == 0, done.stderr
    assert "read replica" in done.stderr  # the reader is told where its data come from and how old
    assert len(out.read_text(encoding="utf-8-sig").strip().splitlines()) == 1 + 5

    surges = _cli("surges", env_db=path)
    assert surges.returncode == 0, surges.stderr


def test_an_open_reader_keeps_its_copy_while_a_newer_one_is_renamed_over_it(writer):
    path, con = writer
    replica.publish(con, path)
    old = store.connect(replica.path_for(path), read_only=True)
    _add(con, 3, start=100)
    replica.publish(con, path)
    assert old.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 5
    old.close()  # (within one process DuckDB hands an open file's instance to a new connect)
    new = store.connect(replica.path_for(path), read_only=True)
    assert new.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 8
    assert store.get_meta(new, "replica_at")
    new.close()


def test_the_publisher_copies_only_when_the_data_changed_and_the_interval_passed(writer, monkeypatch):
    path, con = writer
    monkeypatch.setenv("SC_REPLICA_SECONDS", "0.001")
    monkeypatch.setattr(replica, "BACKOFF", 0)  # not ten times the last copy's duration either
    pub = replica.Publisher(path)
    assert pub.maybe_publish(con) is not None        # first: always
    assert pub.maybe_publish(con) is None            # nothing changed
    _add(con, 1, start=200)
    assert pub.maybe_publish(con) is not None        # changed
    monkeypatch.setenv("SC_REPLICA_SECONDS", "3600")
    _add(con, 1, start=300)
    assert pub.maybe_publish(con) is None            # changed, but too soon
    monkeypatch.setenv("SC_REPLICA_SECONDS", "0")
    assert replica.Publisher(path).maybe_publish(con) is None  # turned off


def test_with_no_app_running_readers_open_the_store_itself(writer):
    path, con = writer
    con.close()
    reader, note = replica.connect(path)
    assert note is None
    assert reader.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 5
    reader.close()


def _table(con, table):
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_a_later_replica_is_a_delta_and_equals_a_full_copy(writer):
    from pipeline import events

    path, con = writer
    assert replica.publish(con, path)["mode"] == "full"
    _add(con, 4, start=400)                                        # new rows
    first = con.execute("SELECT min(id) FROM submissions").fetchall()[0][0]
    events.change(con, first, {"status": "in_progress", "category": "water"}, "op")  # an old row changes
    con.execute("INSERT INTO quarantine (file, record_no, raw, reason) VALUES ('f.csv', 3, 'x', 'no text')")
    con.execute("INSERT INTO meta VALUES ('something', 'new')")    # a small table, copied whole
    assert replica.publish(con, path)["mode"] == "delta"
    r = store.connect(replica.path_for(path), read_only=True)
    try:
        for table in ("submissions", "events", "quarantine", "rollup_daily"):
            assert _table(r, table) == _table(con, table), table
        assert store.get_meta(r, "something") == "new"
    finally:
        r.close()


def test_rows_deleted_in_the_store_make_the_next_replica_a_full_copy(writer):
    path, con = writer
    replica.publish(con, path)
    con.execute("DELETE FROM submissions WHERE source_id = 'r0'")
    assert replica.publish(con, path)["mode"] == "full"
    r = store.connect(replica.path_for(path), read_only=True)
    try:
        assert r.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 4
    finally:
        r.close()
