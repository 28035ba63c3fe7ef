import datetime as dt
import subprocess
import sys

import pytest

from pipeline import events, i18n, reference, settings, store


def test_migrations_are_idempotent(db_file):
    con = store.connect(db_file)
    assert store.migrate(con) == []
    versions = [v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()]
    assert versions == [v for v, _, _ in store.migrations()]


def test_second_process_is_told_the_file_is_locked(db_file):
    con = store.connect(db_file)
    code = (
        "import sys; from pipeline import store\n"
        "try:\n    store.connect(sys.argv[1], read_only=True)\n"
        "except store.StoreLocked as e:\n    print('LOCKED', e); sys.exit(3)\n"
    )
    r = subprocess.run([sys.executable, "-c", code, str(db_file)], capture_output=True, text=True,
                       cwd=settings.ROOT)
    assert r.returncode == 3, r.stderr
    assert "in use by another process" in r.stdout
    con.close()


def test_settings_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("SC_DB", "rel/x.duckdb")
    assert settings.db_path() == settings.ROOT / "rel/x.duckdb"
    assert settings.inbox_path(tmp_path / "a.duckdb") == tmp_path / "a.duckdb.inbox"
    with pytest.raises(KeyError):
        settings.get("NOPE")


def _two_submissions(con):
    con.execute(
        "INSERT INTO submissions (source, source_id, received_at, text, category, status) VALUES "
        "('qr','a','2026-03-01 10:00:00+05','Яма','roads','new'), "
        "('qr','b','2026-03-01 11:00:00+05','Вода','water','new')"
    )
    events.record_created(con)


def test_state_rebuilds_from_events(con):
    _two_submissions(con)
    at = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
    assert events.change(con, 1, {"status": "feedback_given", "feedback_at": at}, "op", "called") == [
        "status", "feedback_at"]
    assert events.change(con, 1, {"status": "feedback_given"}, "op") == []
    events.change(con, 2, {"category": "gas", "category_source": "operator"}, "op")
    assert events.inconsistencies(con).empty
    con.execute("UPDATE submissions SET status = 'resolved' WHERE id = 2")  # bypasses the log
    assert events.inconsistencies(con)["id"].tolist() == [2]


def test_change_is_atomic_and_rejects_unknown_fields(con):
    _two_submissions(con)
    with pytest.raises(ValueError):
        events.change(con, 1, {"text": "edited"}, "op")
    with pytest.raises(KeyError):
        events.change(con, 99, {"status": "resolved"}, "op")
    assert con.execute("SELECT count(*) FROM events").fetchall()[0][0] == 2


def test_district_matching_in_three_languages():
    assert reference.match_district("Аль-Фарабийский район") == "al_farabi"
    assert reference.match_district("Әл-Фараби ауданы") == "al_farabi"
    assert reference.match_district("Al-Farabi district") == "al_farabi"
    assert reference.match_district("  ") is None
    assert reference.match_district("Нарния") is None
    assert set(reference.districts()["region"]) == set(reference.regions()["code"])


def test_every_interface_text_has_all_languages():
    for lang in i18n.LANGS:
        assert i18n.missing(lang) == []
    assert i18n.t("no.such.key", "kk") == "no.such.key"


@pytest.mark.parametrize("name,content", [
    ("export.csv", b"text,date\n\xd0\xaf\xd0\xbc\xd0\xb0,01.02.2026\n"),
    ("export.parquet", None),                      # does not exist yet: refused by its ending alone
    ("export.json", b'[{"text": "x"}]'),
    ("not_duckdb.duckdb", b"SQLite format 3\x00" + b"\x00" * 100),
    ("empty.duckdb", b""),
], ids=["csv", "parquet", "json", "sqlite", "empty"])
def test_connect_refuses_paths_that_are_not_duckdb_files(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    for read_only in (False, True):
        with pytest.raises(store.StoreError) as exc:
            store.connect(path, read_only=read_only)
        assert str(path) in str(exc.value) and "\n" not in str(exc.value)
    assert path.read_bytes() == content if content is not None else not path.exists()


def test_connect_accepts_a_duckdb_file_whatever_its_name(tmp_path):
    path = tmp_path / "situation.db"
    store.connect(path).close()
    assert path.read_bytes()[8:12] == b"DUCK"
    store.connect(path).close()
    assert issubclass(store.StoreLocked, store.StoreError)


def test_ingest_refuses_a_csv_as_database_and_loses_nothing(tmp_path, capsys):
    from pipeline.__main__ import main

    data = tmp_path / "calls.csv"
    data.write_text("Текст обращения\nЯма на дороге\n", encoding="utf-8")
    target = tmp_path / "target.csv"
    target.write_text("a,b\n1,2\n", encoding="utf-8")
    code = main(["ingest", str(data), "--db", str(target)])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.startswith("error: ") and "\n" not in err and "not a DuckDB" in err
    assert target.read_text(encoding="utf-8") == "a,b\n1,2\n"
    assert not settings.inbox_path(target).exists()     # nothing spooled, so nothing deleted either


def test_a_store_killed_while_it_is_created_does_not_exist_and_the_next_start_makes_it(tmp_path):
    """kill -9 in the middle of making a new store (here: during its migrations) leaves no
    half-written file at its path; the next process creates it whole."""
    import subprocess
    import sys

    db = tmp_path / "new.duckdb"
    script = ("import os, signal, sys\n"
              "from pipeline import store\n"
              "real = store.migrate\n"
              "def dying(con):\n"
              "    real(con)\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n"
              "store.migrate = dying\n"
              "store.connect(sys.argv[1])\n")
    killed = subprocess.run([sys.executable, "-c", script, str(db)], cwd=settings.ROOT, capture_output=True)
    assert killed.returncode == -9
    assert not db.exists()
    assert list(tmp_path.glob("new.duckdb.creating-*"))  # the killed process's half-made file
    con = store.connect(db)
    assert con.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 0
    con.close()
    assert not list(tmp_path.glob("new.duckdb.creating-*"))  # cleared by the next creator
    assert store.connect(db, read_only=True).execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0] > 100


def test_after_commit_runs_once_after_the_outermost_commit_and_never_after_a_rollback(con):
    ran = []
    hook = ran.append
    store.after_commit(con, hook)                  # no transaction: at once
    assert ran == [con]
    with store.transaction(con):
        with store.transaction(con):
            store.after_commit(con, hook)
            store.after_commit(con, hook)          # the same one again: once
        assert ran == [con]                        # not before the outermost commit
    assert ran == [con, con]
    with pytest.raises(RuntimeError):
        with store.transaction(con):
            store.after_commit(con, hook)
            raise RuntimeError("refused")
    assert ran == [con, con]                       # rolled back: not run
    with store.transaction(con):
        pass
    assert ran == [con, con]                       # and not left for the next transaction
