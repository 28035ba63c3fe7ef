"""Read-only SQL console for analysts: check a query, run it with a time limit, show a bounded result.

The app holds one read-write DuckDB connection and DuckDB locks the file against any other, so a
console query runs on a cursor of that connection. Safety therefore cannot come from a read-only
connection or from global settings (they would break the app's own file access and cannot be
undone); it comes from `check`, which lets through exactly one SELECT whose parse tree (DuckDB's
own, from json_serialize_sql) reads only allowed tables and calls no function that reads files,
settings or the environment or changes anything, and from a watchdog that interrupts the cursor
at the time limit.

Refusals raise ConsoleError with a `code` the app translates (key `console.<code>`, formatted with
`params`) and an English default message naming the offending word.
"""
from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import duckdb
import pandas as pd

from pipeline.queries.filters import open_sql

ALLOWED_TABLES = ("submissions", "events")
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
# Query nodes a SELECT may contain; DuckDB also parses DELETE/INSERT/UPDATE inside a CTE as a
# SELECT statement (and runs them), which shows up here as e.g. DELETE_QUERY_NODE.
QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
TABLE_REFS = frozenset({"BASE_TABLE", "TABLE_FUNCTION", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST",
                        "PIVOT", "SHOW_REF"})

# Scalar functions and macros refused, by what they touch (researched on DuckDB 2.0 with
# SELECT function_name, function_type FROM duckdb_functions(); table functions are refused
# unless in TABLE_FUNCTIONS, so only scalars need listing).
DENIED_FUNCTIONS = {
    "setting": {"getenv", "current_setting", "getvariable", "setseed"},
    "write": {"nextval", "currval", "setval", "txid_current", "write_log"},
    "file": {"read_text", "read_blob", "glob"},
    # Sleeping is only for holding the shared database; the macros read catalog internals
    # (view and constraint SQL) through duckdb_views() / duckdb_constraints() / duckdb_types().
    "function": {"sleep_ms", "pg_sleep", "pg_get_viewdef", "pg_get_constraintdef", "format_type",
                 "json_execute_serialized_sql", "query", "query_table"},
}
FILE_PREFIXES = ("read_", "parquet_", "sniff_", "glob", "write_", "iceberg_", "delta_", "st_read",
                 "json_each", "json_tree")
SETTING_PREFIXES = ("duckdb_", "pragma_", "current_setting", "which_secret", "enable_", "disable_")
ATTACH_PREFIXES = ("sqlite_", "postgres_", "mysql_", "odbc_", "read_duckdb", "attach")

MESSAGES = {
    "empty": "Type one SELECT query.",
    "multi": "Only one SELECT query is allowed; this text has {word} statements.",
    "write": "Only one SELECT query is allowed; {word} changes data.",
    "attach": "Other databases cannot be opened here: {word}.",
    "file": "Reading or writing files is not allowed here: {word}.",
    "extension": "Extensions cannot be installed or loaded here: {word}.",
    "setting": "Settings and the environment cannot be read or changed here: {word}.",
    "statement": "Only one SELECT query is allowed; {word} is not a query.",
    "contacts": "Your role may not read residents' contacts: column {word}.",
    "table": "Table {word} is not available here; the tables are {tables}.",
    "function": "Function {word} is not allowed here.",
    "syntax": "The query cannot be read: {word}",
    "error": "The query failed: {word}",
    "timeout": "The query took longer than {word} s and was stopped.",
}

# Non-SELECT statements by their first keyword (statement types are coarse: INSTALL is LOAD,
# IMPORT is PRAGMA, RESET is SET, CHECKPOINT is CALL), then by type when the keyword is unknown.
KEYWORD_CODES = {
    "INSERT": "write", "UPDATE": "write", "DELETE": "write", "DROP": "write", "CREATE": "write",
    "ALTER": "write", "MERGE": "write", "TRUNCATE": "write", "CHECKPOINT": "write", "FORCE": "write",
    "VACUUM": "write", "ANALYZE": "write", "COMMENT": "write", "UPSERT": "write",
    "ATTACH": "attach", "DETACH": "attach", "USE": "attach",
    "COPY": "file", "EXPORT": "file", "IMPORT": "file",
    "INSTALL": "extension", "LOAD": "extension",
    "SET": "setting", "RESET": "setting", "PRAGMA": "setting",
    "CALL": "function",
}
TYPE_CODES = {"INSERT": "write", "UPDATE": "write", "DELETE": "write", "DROP": "write", "CREATE": "write",
              "ALTER": "write", "MERGE_INTO": "write", "VACUUM": "write", "CREATE_FUNC": "write",
              "ATTACH": "attach", "DETACH": "attach", "COPY": "file", "COPY_DATABASE": "file",
              "EXPORT": "file", "LOAD": "extension", "EXTENSION": "extension", "SET": "setting",
              "VARIABLE_SET": "setting", "PRAGMA": "setting", "CALL": "function"}

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class ConsoleError(ValueError):
    """A refused or failed console query: `code` for translation, `params` to format it, and an
    English one-line message (str(error)) naming the offending word."""

    def __init__(self, code: str, word: object = "", **params: object):
        self.code = code
        self.word = str(word)
        self.params = {"word": self.word, **{k: str(v) for k, v in params.items()}}
        super().__init__(MESSAGES[code].format(**self.params))

    @property
    def key(self) -> str:
        """The translation key for this refusal, e.g. console.write."""
        return f"console.{self.code}"


@dataclass
class Result:
    """A console result: at most display_limit rows; truncated when the query had more."""

    columns: list[str]
    rows: pd.DataFrame
    truncated: bool
    elapsed_s: float


# ---------------------------------------------------------------------------------------- check

def check(sql: str, tables: Iterable[str] = ALLOWED_TABLES, hidden: Iterable[str] = ()) -> str:
    """The single SELECT statement in `sql`, without the trailing semicolon, or ConsoleError.

    `tables` are the base tables the query may read (names in the main schema; CTE names are fine).
    `hidden` are columns the viewer may not read (residents' contacts): a query naming one is
    refused, and so is `*` inside a function or COLUMNS(...), which could turn them into numbers
    that no masking of the displayed strings would catch. A plain `SELECT *` stays allowed: its
    strings are masked on display.
    """
    allowed = frozenset(t.lower() for t in tables)
    statement = _one_statement(sql)
    tree = _parse_tree(statement)
    _walk(tree, frozenset(), allowed)
    if hidden:
        _check_hidden(tree, frozenset(h.lower() for h in hidden), False)
    return statement


def _check_hidden(obj: object, hidden: frozenset[str], inside: bool) -> None:
    if isinstance(obj, list):
        for item in obj:
            _check_hidden(item, hidden, inside)
        return
    if not isinstance(obj, dict):
        return
    cls = obj.get("class")
    if cls == "COLUMN_REF" and str((obj.get("column_names") or [""])[-1]).lower() in hidden:
        raise ConsoleError("contacts", obj["column_names"][-1])
    if cls == "STAR" and (inside or obj.get("columns")):
        raise ConsoleError("contacts", "*")
    inside = inside or cls in ("FUNCTION", "OPERATOR", "CAST", "CASE", "COMPARISON", "CONJUNCTION")
    for value in obj.values():
        _check_hidden(value, hidden, inside)


def _one_statement(sql: str) -> str:
    """The text of the only statement, if it is a SELECT; else the refusal for what it is."""
    if not (sql or "").strip():
        raise ConsoleError("empty")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ConsoleError("syntax", _one_line(exc)) from None
    if not statements:
        raise ConsoleError("empty")
    if len(statements) > 1:
        raise ConsoleError("multi", len(statements))
    statement = statements[0]
    try:
        kind = statement.type.name
    except ValueError:  # a type the Python package does not know, e.g. UPDATE EXTENSIONS
        kind = "EXTENSION" if "EXTENSION" in statement.query.upper() else "UNKNOWN"
    if kind != "SELECT":
        raise _statement_refusal(statement.query, kind)
    return _strip_semicolon(statement.query)


def _statement_refusal(sql: str, kind: str) -> ConsoleError:
    """The refusal of a non-SELECT statement of type `kind`, named by its first keyword."""
    word = _first_word(sql)
    if word == "CALL":
        m = re.search(r"\bCALL\s+([\w.]+)", sql, re.I)
        return ConsoleError("function", f"{m.group(1) if m else word}()")
    if kind == "EXTENSION":  # UPDATE EXTENSIONS is no UPDATE of data
        return ConsoleError("extension", "UPDATE EXTENSIONS" if word == "UPDATE" else word)
    if kind == "MULTI":  # a PIVOT without an IN list, which DuckDB runs as several statements
        return ConsoleError("statement", "PIVOT")
    code = KEYWORD_CODES.get(word) or TYPE_CODES.get(kind, "statement")
    if word not in KEYWORD_CODES and code != "statement":
        word = kind.split("_")[0]  # e.g. WITH ... INSERT: name the write, not WITH
    return ConsoleError(code, word)


def _first_word(sql: str) -> str:
    """The first keyword of a statement, after comments and opening parentheses, upper-cased."""
    text = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
    m = re.search(r"[A-Za-z_]+", text)
    return m.group(0).upper() if m else ""


def _strip_semicolon(sql: str) -> str:
    text = sql.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


_PARSER = duckdb.connect(":memory:")  # private: only parses, never sees the store
_PARSER_LOCK = threading.Lock()


def _parse_tree(sql: str) -> dict:
    """DuckDB's parse tree of one SELECT as JSON (json_serialize_sql)."""
    with _PARSER_LOCK:
        raw = _PARSER.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0]
    tree = json.loads(raw)
    if tree.get("error"):
        raise ConsoleError("syntax", " ".join(str(tree.get("error_message", "")).split()))
    return tree


def _walk(obj: object, scope: frozenset[str], allowed: frozenset[str]) -> None:
    """Check every query node, table reference and function call in the tree.

    `scope` holds the CTE names visible here: a CTE's own body sees only the CTEs before it (its
    own name there means the real table, as DuckDB resolves it), a recursive CTE's name is visible
    only in its recursive part.
    """
    if isinstance(obj, list):
        for item in obj:
            _walk(item, scope, allowed)
        return
    if not isinstance(obj, dict):
        return
    kind = obj.get("type") if isinstance(obj.get("type"), str) and "class" not in obj else None
    if kind and (kind.endswith("_NODE") or "modifiers" in obj):
        _check_node(obj, kind)
        scope = _walk_ctes(obj, scope, allowed)
        if kind == "RECURSIVE_CTE_NODE":
            _walk(obj.get("left"), scope, allowed)
            _walk(obj.get("right"), scope | {str(obj.get("cte_name", "")).lower()}, allowed)
            obj = {k: v for k, v in obj.items() if k not in ("left", "right")}
    elif kind and "alias" in obj and "query_location" in obj:
        _check_table_ref(obj, kind, scope, allowed)
    if "function_name" in obj:
        _check_function(str(obj["function_name"]))
    for key, value in obj.items():
        if key != "cte_map":
            _walk(value, scope, allowed)


def _walk_ctes(node: dict, scope: frozenset[str], allowed: frozenset[str]) -> frozenset[str]:
    """Check each CTE body with the CTEs before it in scope; the scope for the rest of the node."""
    for entry in (node.get("cte_map") or {}).get("map", []):
        _walk(entry.get("value"), scope, allowed)
        scope = scope | {str(entry.get("key", "")).lower()}
    return scope


def _check_node(node: dict, kind: str) -> None:
    if kind not in QUERY_NODES:
        raise ConsoleError("write", kind.split("_")[0])


def _check_table_ref(ref: dict, kind: str, scope: frozenset[str], allowed: frozenset[str]) -> None:
    """Refuse tables outside the allow-list, file paths, other schemas, and table functions."""
    if kind not in TABLE_REFS:
        raise ConsoleError("table", kind.lower(), tables=_names(allowed))
    if kind == "BASE_TABLE":
        _check_base_table(ref, scope, allowed)
    elif kind == "TABLE_FUNCTION":
        name = str((ref.get("function") or {}).get("function_name", "")).lower()
        if name not in TABLE_FUNCTIONS:
            raise ConsoleError(_function_code(name), f"{name}()")
    elif kind == "SHOW_REF" and ref.get("query") is None:
        name = str(ref.get("table_name", "")).strip('"_').lower()
        if name not in allowed or ref.get("show_type") != "SHOW" or ref.get("schema_name") or ref.get("catalog_name"):
            raise ConsoleError("table", name, tables=_names(allowed))


def _check_base_table(ref: dict, scope: frozenset[str], allowed: frozenset[str]) -> None:
    name = str(ref.get("table_name", ""))
    schema, catalog = str(ref.get("schema_name") or ""), str(ref.get("catalog_name") or "")
    if not schema and not catalog and name.lower() in scope:
        return
    if re.search(r"[./\\:~*?]", name):
        raise ConsoleError("file", name)
    if catalog or schema.lower() not in ("", "main") or name.lower() not in allowed:
        shown = ".".join(p for p in (catalog, schema, name) if p)
        raise ConsoleError("table", shown, tables=_names(allowed))


def _check_function(name: str) -> None:
    low = name.lower()
    for code, names in DENIED_FUNCTIONS.items():
        if low in names:
            raise ConsoleError(code, f"{name}()")
    if low.startswith(FILE_PREFIXES + SETTING_PREFIXES + ATTACH_PREFIXES):
        raise ConsoleError(_function_code(low), f"{name}()")


def _function_code(name: str) -> str:
    """The refusal code for a function that is not allowed, by what it touches."""
    for code, names in DENIED_FUNCTIONS.items():
        if name in names:
            return code
    if name.startswith(FILE_PREFIXES):
        return "file"
    if name.startswith(SETTING_PREFIXES):
        return "setting"
    if name.startswith(ATTACH_PREFIXES):
        return "attach"
    return "function"


def _names(allowed: frozenset[str]) -> str:
    return ", ".join(sorted(allowed))


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# ------------------------------------------------------------------------------------------ run

def run(con: duckdb.DuckDBPyConnection, sql: str, *, timeout_s: float = 10, display_limit: int = 1000,
        mask: Callable[[str], str] | None = None, tables: Iterable[str] = ALLOWED_TABLES,
        hidden: Iterable[str] = ()) -> Result:
    """Check `sql`, run it on a cursor of `con` for at most `timeout_s` seconds and return at most
    `display_limit` rows (only display_limit + 1 are fetched). `mask` is applied to every string
    in the displayed rows and column names, also inside lists, structs and maps."""
    checked = check(sql, tables, hidden)
    started = time.monotonic()
    cursor = con.cursor()
    watchdog = _Watchdog(cursor, timeout_s)
    try:
        with watchdog:
            cursor.execute(checked)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(display_limit + 1)
    except duckdb.Error as exc:
        if watchdog.fired:
            raise ConsoleError("timeout", f"{timeout_s:g}") from None
        raise ConsoleError("error", _one_line(exc)) from None
    finally:
        cursor.close()
    truncated = len(rows) > display_limit
    return _result(columns, rows[:display_limit], truncated, time.monotonic() - started, mask)


class _Watchdog:
    """Interrupts a cursor when the time limit passes, unless the block ended first."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, timeout_s: float):
        self.cursor, self.fired, self._done = cursor, False, False
        self._lock = threading.Lock()
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        with self._lock:
            if not self._done:
                self.fired = True
                self.cursor.interrupt()

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:  # after this the timer can no longer interrupt a later use of the cursor
            self._done = True
        self._timer.cancel()


def _result(columns: list[str], rows: list[tuple], truncated: bool, elapsed_s: float,
            mask: Callable[[str], str] | None) -> Result:
    """The Result of fetched rows, masked when a masker is given."""
    if mask is not None:
        columns = [_masked(c, mask) for c in columns]
        rows = [tuple(_masked(v, mask) for v in row) for row in rows]
    frame = pd.DataFrame.from_records(rows, columns=range(len(columns)))
    frame.columns = columns
    return Result(columns=columns, rows=frame, truncated=truncated, elapsed_s=elapsed_s)


def _masked(value: object, mask: Callable[[str], str]) -> object:
    """`value` with every string in it masked; bytes are shown as masked text."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return mask(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(v, mask) for v in value)
    if isinstance(value, dict):
        return {_masked(k, mask): _masked(v, mask) for k, v in value.items()}
    return value


def cursor_for_export(con: duckdb.DuckDBPyConnection, sql: str,
                      tables: Iterable[str] = ALLOWED_TABLES) -> duckdb.DuckDBPyConnection:
    """A new cursor of `con` on which the checked query has been started, for an exporter to read
    in batches (fetchmany, fetch_record_batch). No time limit and no masking: the caller closes
    the cursor and masks what it writes."""
    checked = check(sql, tables)
    cursor = con.cursor()
    try:
        return cursor.execute(checked)
    except duckdb.Error as exc:
        cursor.close()
        raise ConsoleError("error", _one_line(exc)) from None


# ------------------------------------------------------------------------------ examples, schema

_OPEN = open_sql()

# The interface shows each example by its key, explorer.sql.example.<code> (data/i18n/sql.csv).
EXAMPLE_CODES = ("per_category_month", "districts_overdue", "feedback_hours", "reopened", "per_day",
                 "resolved_in_time", "open_by_status", "per_source_week")
EXAMPLES: list[tuple[str, str]] = [
    ("Submissions per category this month", """\
SELECT coalesce(category, '(none)') AS category, count(*) AS submissions
FROM submissions
WHERE received_at >= date_trunc('month', now())
GROUP BY ALL
ORDER BY submissions DESC"""),
    ("Districts by overdue open cases", f"""\
SELECT district,
       count(*) FILTER (WHERE due_at < now()) AS overdue,
       count(*) AS open
FROM submissions
WHERE {_OPEN}
GROUP BY district
ORDER BY overdue DESC, open DESC"""),
    ("Median hours to feedback per department", """\
SELECT coalesce(department, '(none)') AS department,
       round(median(epoch_us(feedback_at) - epoch_us(received_at)) / 3600e6, 1) AS median_hours,
       count(*) AS with_feedback
FROM submissions
WHERE feedback_at IS NOT NULL
GROUP BY ALL
ORDER BY median_hours DESC"""),
    ("Reopened cases per department", """\
SELECT coalesce(s.department, '(none)') AS department,
       count(*) AS reopens,
       count(DISTINCT e.submission_id) AS cases
FROM events e
JOIN submissions s ON s.id = e.submission_id
WHERE e.field = 'status' AND e.new = 'reopened'
GROUP BY ALL
ORDER BY reopens DESC"""),
    ("Submissions per day, last 30 days, with a 7-day average", """\
WITH days AS (
    SELECT CAST(received_at AS DATE) AS day, count(*) AS submissions
    FROM submissions
    WHERE received_at >= now() - INTERVAL 30 DAY
    GROUP BY ALL
)
SELECT day, submissions,
       round(avg(submissions) OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW), 1) AS avg_7_days
FROM days
ORDER BY day"""),
    ("Resolved within the deadline per category", """\
SELECT coalesce(category, '(none)') AS category,
       count(*) AS resolved,
       round(100.0 * count(*) FILTER (WHERE resolved_at <= due_at) / count(*), 1) AS on_time_pct
FROM submissions
WHERE resolved_at IS NOT NULL AND due_at IS NOT NULL
GROUP BY ALL
ORDER BY on_time_pct"""),
    ("Open cases by status and priority", f"""\
SELECT status, coalesce(priority, '(none)') AS priority, count(*) AS cases
FROM submissions
WHERE {_OPEN}
GROUP BY ALL
ORDER BY status, cases DESC"""),
    ("Submissions per source and week", """\
SELECT date_trunc('week', received_at) AS week, source, count(*) AS submissions
FROM submissions
GROUP BY ALL
ORDER BY week DESC, submissions DESC"""),
]


def schema(tables: Iterable[str] = ALLOWED_TABLES) -> list[tuple[str, str, str, str]]:
    """(table, column, type, meaning) for the allowed tables, in column order, read from the
    migrations; the meaning is the column's `-- comment` (empty when it has none)."""
    wanted = [t.lower() for t in tables]
    columns: dict[str, list[tuple[str, str, str, str]]] = {t: [] for t in wanted}
    for path in sorted(MIGRATIONS.glob("*.sql")):
        for change in _migration_columns(path.read_text(encoding="utf-8")):
            rows = columns.get(change.table)
            if rows is None:
                continue
            if change.action == "drop":
                columns[change.table] = [row for row in rows if row[1] != change.column]
            elif change.action == "rename":
                columns[change.table] = [(t, change.new_name if c == change.column else c, k, m) for t, c, k, m in rows]
            else:
                rows.append((change.table, change.column, change.type, change.meaning))
    return [row for t in wanted for row in columns[t]]


_CREATE = re.compile(r"^CREATE TABLE (\w+)\s*\(", re.I)
_COLUMN = re.compile(r"^\s+(\w+)\s+([A-Z][A-Z0-9_]*(?:\(\d+(?:,\s*\d+)?\))?)[^-]*?(?:--\s*(.*))?$")
_ADD = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN (\w+) ([A-Z][A-Z0-9_]*)", re.I)
_DROP = re.compile(r"^ALTER TABLE (\w+) DROP COLUMN (\w+)", re.I)
_RENAME = re.compile(r"^ALTER TABLE (\w+) RENAME COLUMN (\w+) TO (\w+)", re.I)
_NOT_COLUMNS = {"UNIQUE", "PRIMARY", "CHECK", "FOREIGN", "CONSTRAINT"}


class ColumnChange(NamedTuple):
    """What one migration line does to a column: 'add' (a CREATE TABLE line or ADD COLUMN, with its
    type and meaning), 'drop' or 'rename' (to new_name)."""
    table: str
    column: str
    action: str
    type: str = ""
    meaning: str = ""
    new_name: str = ""


def _migration_columns(sql: str) -> list[ColumnChange]:
    """The column changes of one migration file, in order: columns created (CREATE TABLE lines) or
    added (ALTER TABLE ADD COLUMN, meaning from the comment lines just above it), dropped (ALTER
    TABLE DROP COLUMN) and renamed (RENAME COLUMN a TO b)."""
    out, table, comment = [], None, []
    for line in sql.splitlines():
        if m := _CREATE.match(line):
            table = m.group(1).lower()
        elif table and line.startswith(")"):
            table = None
        elif table and (m := _COLUMN.match(line)) and m.group(1).upper() not in _NOT_COLUMNS:
            out.append(ColumnChange(table, m.group(1), "add", m.group(2), (m.group(3) or "").strip()))
        elif m := _ADD.match(line):
            out.append(ColumnChange(m.group(1).lower(), m.group(2), "add", m.group(3).upper(), " ".join(comment)))
        elif m := _DROP.match(line):
            out.append(ColumnChange(m.group(1).lower(), m.group(2), "drop"))
        elif m := _RENAME.match(line):
            out.append(ColumnChange(m.group(1).lower(), m.group(2), "rename", new_name=m.group(3)))
        comment = comment + [line.lstrip("- ").strip()] if line.startswith("--") else []
    return out


# ------------------------------------------------------------------------------ for a viewer

HIDDEN_COLUMNS = ("contact", "address", "extra")  # what a viewer without `contacts` may not read


def run_for(con: duckdb.DuckDBPyConnection, sql: str, viewer, *, timeout_s: float | None = None,
            display_limit: int | None = None) -> Result:
    """`run` as `viewer` may: needs the `sql` permission; without `contacts` the contact columns
    are refused and every displayed string is masked. Each query is written to the audit log."""
    from pipeline import auth, privacy, settings

    auth.actor_of(viewer, "sql")  # raises Forbidden
    allowed = auth.may_see_contacts(viewer)
    con_a = auth.connect()
    try:
        auth.audit(con_a, viewer.username, "sql", None, {"query": sql[:2000]})
    finally:
        con_a.close()
    return run(con, sql, timeout_s=timeout_s or settings.get_float("SQL_TIMEOUT"),
               display_limit=display_limit or settings.get_int("SQL_DISPLAY_ROWS"),
               mask=None if allowed else privacy.mask, hidden=() if allowed else HIDDEN_COLUMNS)
