"""The SQL console lets an analyst run one SELECT over submissions and events, and nothing else."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from pipeline import sqlconsole, store
from pipeline.sqlconsole import ConsoleError, check, run

REFUSED = {
    "write": [
        "INSERT INTO submissions (source, source_id, received_at, text) VALUES ('web', '1', now(), 'x')",
        "UPDATE submissions SET status = 'resolved'",
        "DELETE FROM events",
        "DROP TABLE submissions",
        "CREATE TABLE x (a INT)",
        "CREATE VIEW v AS SELECT * FROM quarantine",
        "ALTER TABLE submissions ADD COLUMN y INT",
        "CHECKPOINT",
        "VACUUM",
        "WITH x AS (SELECT 1) INSERT INTO events SELECT * FROM x",
        # DuckDB parses these as SELECT statements and runs the write:
        "WITH d AS (DELETE FROM submissions RETURNING *) SELECT * FROM d",
        "WITH d AS (UPDATE events SET actor = 'x' RETURNING *) SELECT count(*) FROM d",
        "WITH d AS (INSERT INTO events (submission_id, happened_at, actor, field) "
        "VALUES (1, now(), 'x', 'status') RETURNING *) SELECT * FROM d",
        "SELECT * FROM submissions WHERE id IN (WITH d AS (DELETE FROM events RETURNING submission_id) FROM d)",
        "SELECT nextval('submissions_id_seq')",
        "SELECT setval('submissions_id_seq', 1)",
    ],
    "attach": ["ATTACH 'other.duckdb' AS other", "DETACH other", "USE memory",
               "SELECT * FROM sqlite_scan('x.db', 't')"],
    "file": [
        "COPY submissions TO 'out.csv'", "COPY submissions FROM 'in.csv'",
        "EXPORT DATABASE 'dump'", "IMPORT DATABASE 'dump'",
        "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_csv_auto('x.csv')",
        "SELECT * FROM read_parquet('x.parquet')", "SELECT * FROM read_json('x.json')",
        "SELECT * FROM read_json_auto('x.json')", "SELECT * FROM read_ndjson_objects('x.json')",
        "SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM read_blob('/etc/passwd')",
        "SELECT * FROM glob('/*')", "FROM 'file.csv'", "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM submissions WHERE id IN (SELECT 1 FROM read_csv('x.csv'))",
        "SELECT * FROM submissions, LATERAL (SELECT * FROM read_csv('x.csv'))",
    ],
    "extension": ["INSTALL httpfs", "LOAD httpfs", "UPDATE EXTENSIONS"],
    "setting": ["SET threads = 1", "RESET threads", "PRAGMA version", "SET VARIABLE x = 1",
                "SELECT * FROM duckdb_settings()", "SELECT getenv('HOME')",
                "SELECT current_setting('threads')", "SELECT getvariable('x')"],
    "function": ["CALL pragma_version()", "SELECT pg_sleep(5)", "SELECT sleep_ms(5000)",
                 "SELECT * FROM query('SELECT * FROM quarantine')", "SELECT * FROM repeat(1, 3)",
                 "SELECT pg_get_viewdef(1)"],
    "multi": ["SELECT 1; SELECT 2", "SELECT * FROM submissions; DROP TABLE submissions"],
    "table": [
        "SELECT * FROM quarantine", "SELECT * FROM main.ingest_runs", "SELECT * FROM meta",
        "SELECT * FROM memory.main.submissions", "SELECT * FROM information_schema.tables",
        "SELECT * FROM duckdb_settings", "SHOW TABLES", "SHOW quarantine", "DESCRIBE quarantine",
        "SELECT (SELECT count(*) FROM quarantine)",
        # forbidden tables deep inside allowed constructs:
        "FROM quarantine SELECT *", "TABLE meta", "SELECT * FROM submissions NATURAL JOIN meta",
        "SELECT * FROM range((SELECT count(*) FROM quarantine))",
        "SELECT * FROM (UNPIVOT quarantine ON raw INTO NAME k VALUE v)",
        "SELECT list_transform([1], lambda x: (SELECT count(*) FROM quarantine))",
        "SELECT row_number() OVER w FROM submissions WINDOW w AS (ORDER BY (SELECT value FROM meta))",
        "SELECT * FROM submissions LIMIT (SELECT count(*) FROM meta)",
        "WITH RECURSIVE r(n) USING KEY (n) AS (SELECT 1 UNION SELECT n + 1 FROM r, meta WHERE n < 3) "
        "SELECT * FROM r",
        # a CTE name hides a table only where DuckDB resolves it to the CTE:
        "WITH quarantine AS (SELECT * FROM quarantine) SELECT * FROM quarantine",
        "SELECT * FROM (WITH quarantine AS (SELECT 1) SELECT * FROM quarantine), quarantine",
        "WITH RECURSIVE quarantine AS (SELECT * FROM quarantine UNION ALL "
        "SELECT * FROM quarantine) SELECT * FROM quarantine",
        "WITH a AS (SELECT * FROM meta), meta AS (SELECT 1) SELECT * FROM a",
    ],
    "statement": ["EXPLAIN SELECT 1", "BEGIN", "PREPARE p AS SELECT 1"],
    "syntax": ["SELECT * FORM submissions", "SELEC 1"],
    "empty": ["", "  \n ", ";", "-- only a comment"],
}

ALLOWED = [
    "SELECT 1",
    "SELECT 1;",
    "SELECT * FROM range(10)",
    "FROM submissions",
    "SELECT * FROM main.submissions",
    "SELECT category, count(*) FROM submissions WHERE status <> 'resolved' GROUP BY category",
    "SELECT id, rank() OVER (PARTITION BY district ORDER BY received_at) FROM submissions",
    "WITH c AS (SELECT category, count(*) AS n FROM submissions GROUP BY 1) SELECT * FROM c ORDER BY n",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    "SELECT * FROM submissions WHERE id IN (SELECT submission_id FROM events WHERE field = 'status')",
    "SELECT * FROM unnest([1, 2]), generate_series(1, 3)",
    "SELECT s.id, e.new FROM submissions s JOIN events e ON e.submission_id = s.id",
    "DESCRIBE submissions",
    "SUMMARIZE events",
    "SHOW submissions",
    "SELECT * FROM (PIVOT submissions ON status IN ('new', 'reopened') USING count(*))",
    "SELECT current_database(), version()",
]


@pytest.mark.parametrize("code,sql", [(c, s) for c, cases in REFUSED.items() for s in cases])
def test_refused_with_its_code_and_one_line(code, sql):
    with pytest.raises(ConsoleError) as err:
        check(sql)
    assert err.value.code == code, str(err.value)
    assert "\n" not in str(err.value) and str(err.value)


def test_refusal_names_the_offending_word_and_is_translatable():
    with pytest.raises(ConsoleError) as err:
        check("INSERT INTO events VALUES (1)")
    assert str(err.value) == "Only one SELECT query is allowed; INSERT changes data."
    assert (err.value.code, err.value.word, err.value.key) == ("write", "INSERT", "console.write")
    assert sqlconsole.MESSAGES["write"].format(**err.value.params) == str(err.value)
    with pytest.raises(ConsoleError, match=r"read_csv\(\)"):
        check("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(ConsoleError, match="quarantine"):
        check("SELECT * FROM quarantine")


@pytest.fixture(scope="module")
def schema_only():
    """One empty store for the tests that only read."""
    c = store.connect(":memory:")
    yield c
    c.close()


@pytest.mark.parametrize("sql", ALLOWED)
def test_allowed(sql, schema_only):
    assert check(sql) == sql.rstrip(";")
    run(schema_only, sql)  # and DuckDB runs it


def test_refused_writes_change_nothing(con):
    _fill(con)
    before = con.execute("SELECT (SELECT count(*) FROM duckdb_tables()), (SELECT count(*) FROM events), "
                         "(SELECT list(status ORDER BY id) FROM submissions)").fetchone()
    for sql in REFUSED["write"]:
        with pytest.raises(ConsoleError):
            run(con, sql)
    after = con.execute("SELECT (SELECT count(*) FROM duckdb_tables()), (SELECT count(*) FROM events), "
                        "(SELECT list(status ORDER BY id) FROM submissions)").fetchone()
    assert after == before
    assert con.execute("SELECT nextval('submissions_id_seq')").fetchone() == (4,)  # not advanced


def test_allowed_tables_are_a_parameter():
    assert check("SELECT * FROM quarantine", tables=["quarantine"])
    with pytest.raises(ConsoleError, match="events"):
        check("SELECT * FROM events", tables=["quarantine"])


def test_every_function_duckdb_offers_for_settings_files_or_sequences_is_refused(con):
    # Research kept honest: scalar functions and macros of this DuckDB that read settings,
    # files or catalog internals, or change sequences, are all in the deny-list.
    rows = con.execute("SELECT DISTINCT function_name, coalesce(macro_definition, '') FROM duckdb_functions() "
                       "WHERE function_type IN ('scalar', 'macro')").fetchall()
    risky = {name for name, body in rows
             if re.search(r"setting|getenv|variable|^read_|^write_|file|^(next|curr|set)val$|seed|sleep|txid", name)
             and not name.startswith("parse_")  # parse_filename only splits a string
             or re.search(r"duckdb_|current_setting|getenv", body)}
    assert {"current_setting", "nextval", "setval", "pg_sleep", "pg_get_viewdef"} <= risky
    for name in sorted(risky):
        with pytest.raises(ConsoleError):
            check(f"SELECT {name}('x')")


def _fill(con, n: int = 3) -> None:
    now = datetime.now(timezone.utc)
    for i in range(n):
        con.execute("INSERT INTO submissions (source, source_id, received_at, text, contact, district, "
                    "category, status, department, due_at, feedback_at) VALUES "
                    "('web', ?, ?, ?, '+7 701 123 45 67', 'D1', 'roads', ?, 'akimat', ?, ?)",
                    [str(i), now - timedelta(days=1), f"call me at +7 701 123 45 6{i}",
                     "reopened" if i else "new", now - timedelta(hours=1), now])
        con.execute("INSERT INTO events (submission_id, happened_at, actor, field, old, new) "
                    "SELECT id, now(), 'op', 'status', 'resolved', 'reopened' FROM submissions WHERE source_id = ?",
                    [str(i)])


def test_display_limit_fetches_no_more_than_needed(con):
    result = run(con, "SELECT * FROM range(100000000)", display_limit=5)
    assert (len(result.rows), result.truncated, result.columns) == (5, True, ["range"])
    assert result.elapsed_s < 2  # a hundred million rows were not loaded
    exact = run(con, "SELECT * FROM range(5)", display_limit=5)
    assert (len(exact.rows), exact.truncated) == (5, False)


def test_mask_reaches_every_string_cell_and_column_name(con):
    _fill(con)
    mask = lambda s: re.sub(r"\+?\d[\d ]{8,}\d", "***", s)  # noqa: E731
    result = run(con, "SELECT contact, regexp_extract(text, '[+0-9 ]{10,}') AS phone, [contact] AS l, "
                      "{'c': contact} AS st, contact::BLOB AS b, id, "
                      "max(contact) OVER () AS \"+7 701 123 45 67\" FROM submissions", mask=mask)
    text = result.rows.to_string() + " ".join(result.columns)
    assert "701" not in text and "***" in text
    assert result.rows["id"].tolist() == [1, 2, 3]
    assert "701" in run(con, "SELECT contact FROM submissions").rows.to_string()  # no mask, no change


def test_slow_query_stops_at_the_time_limit_and_the_connection_still_answers(con):
    started = time.monotonic()
    with pytest.raises(ConsoleError) as err:
        run(con, "SELECT count(*) FROM range(1000000000) a, range(1000000000) b", timeout_s=1)
    assert err.value.code == "timeout" and time.monotonic() - started < 3
    assert con.execute("SELECT 42").fetchone() == (42,)
    assert run(con, "SELECT 1 AS one").rows["one"].tolist() == [1]


def test_query_errors_are_one_line(con):
    with pytest.raises(ConsoleError) as err:
        run(con, "SELECT nosuch FROM submissions")
    assert err.value.code == "error" and "nosuch" in str(err.value) and "\n" not in str(err.value)


def test_cursor_for_export_reads_the_whole_result_in_batches(con):
    cursor = sqlconsole.cursor_for_export(con, "SELECT * FROM range(2500)")
    try:
        batches = [len(cursor.fetchmany(1000)) for _ in range(4)]
    finally:
        cursor.close()
    assert batches == [1000, 1000, 500, 0]
    with pytest.raises(ConsoleError) as err:
        sqlconsole.cursor_for_export(con, "COPY submissions TO 'x.csv'")
    assert err.value.code == "file"


def test_examples_pass_the_check_and_run(con):
    assert len(sqlconsole.EXAMPLES) >= 4
    for title, sql in sqlconsole.EXAMPLES:
        assert check(sql), title
        run(con, sql)
    _fill(con)
    results = {title: run(con, sql).rows for title, sql in sqlconsole.EXAMPLES}
    assert results["Districts by overdue open cases"].to_dict("records") == [
        {"district": "D1", "overdue": 3, "open": 3}]
    reopens = results["Reopened cases per department"]
    assert reopens[["reopens", "cases"]].values.tolist() == [[3, 3]]


def test_schema_lists_every_column_of_the_allowed_tables(con):
    rows = sqlconsole.schema()
    for table in sqlconsole.ALLOWED_TABLES:
        actual = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]).fetchall()]
        assert [r[1] for r in rows if r[0] == table] == actual
    meanings = {(t, c): m for t, c, _, m in rows}
    assert meanings[("submissions", "contact")].startswith("personal data")
    assert "JSON" in meanings[("submissions", "extra")]
    assert {t for t, *_ in rows} == {"submissions", "events"}
