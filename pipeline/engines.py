"""The engine seam: the query layer's SQL on ClickHouse as well as on the embedded DuckDB.

Every query function takes a connection and calls `con.execute(sql, params)` on it, then
`.df()`, `.fetchdf()`, `.fetchall()` or `.fetchone()`, with the SQL in DuckDB's dialect and `?`
(or `$name`) parameters. `ClickHouseConnection` offers exactly that subset, so the same
functions run unchanged on ClickHouse: here the embedded chdb (the ClickHouse engine in this
process, for tests and measurements), in production a ClickHouse server or cluster reading the
same Parquet (or its own MergeTree tables) through the same translation.

How a statement gets there:
- the SQL is parsed as DuckDB's dialect by sqlglot (a maintained transpiler) and written as
  ClickHouse's, after a few rewrites of DuckDB idioms sqlglot leaves as they are (see _rewrite);
- parameters become literals *in the syntax tree* (sqlglot expressions, which quote and escape
  them), never by pasting values into the text;
- the tables are views over Parquet exported by `export_parquet` (submissions partitioned by
  region and local month, the others one file each), with their instants shown in the local
  time zone (settings TZ) and the session's time zone set to it, so days are cut at local
  midnight exactly as DuckDB's `SET TimeZone` does;
- results come back as Arrow and become the same pandas dtypes DuckDB gives (signed integers,
  zone-aware instants, naive local timestamps where DuckDB's SQL asked for TIMESTAMP).

What does not translate is in tests/test_engines.py as a known gap, with the reason.
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import sqlglot
from sqlglot import exp

from pipeline import settings

# Tables the query layer reads, and how each is exported: submissions partitioned (the large
# one), the others small enough for one file.
PARTITIONED = {"submissions": "region, ym"}
SMALL_TABLES = ("events", "ideas", "idea_members", "idea_decisions", "idea_actions", "placements", "meta", "rollup_daily",
                "rollup_durations", "rollup_monthly",
                "rollup_facets", "rollup_facets_monthly", "live_cases", "reopened_cases")
EXPORT_ONLY = {"ym"}  # the partition's local month: a column of the files, not of the table
# ClickHouse settings that make its SQL mean what DuckDB's does: NULL for a missing side of an
# outer join and for a rolled-up column of a GROUPING SETS row (ClickHouse's default is the
# type's default value, 0 or ''), the partition columns read from the files themselves.
SESSION_SETTINGS = {
    "join_use_nulls": 1,
    "group_by_use_nulls": 1,
    "use_hive_partitioning": 0,
    "cast_keep_nullable": 1,
}


class EngineError(RuntimeError):
    """A statement the ClickHouse adapter cannot translate or run; one line saying which and why."""


# --- export -------------------------------------------------------------------------------


def export_parquet(con, folder: str | Path, memory_limit: str = "2GB") -> Path:
    """Write the tables the query layer reads as Parquet under `folder` (replaced): submissions
    partitioned by region and local year-month (submissions/region=.../ym=.../*.parquet, the
    partition columns kept in the files so each file is complete and a NULL region stays NULL),
    the small tables one file each. Returns the folder.

    One COPY per local month, under DuckDB's memory_limit (restored after): a single partitioned
    COPY of 10,000,000 rows held about 20 GB; a month at a time peaked at 2.3 GB, and a month is
    the unit an incremental export would rewrite."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory_limit):
        raise EngineError(f"invalid memory limit {memory_limit!r} (e.g. 2GB)")
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    target = str(folder / "submissions").replace("'", "''")
    # strftime of a TIMESTAMPTZ follows the connection's TimeZone (store.configure): local months
    months = [r[0] for r in con.execute(
        "SELECT DISTINCT date_trunc('month', received_at) FROM submissions ORDER BY 1").fetchall()]
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    con.execute(f"SET memory_limit = '{memory_limit}'")
    try:
        for month in months:  # a range of instants, so DuckDB skips the row groups of other months
            con.execute(f"""COPY (SELECT *, strftime(received_at, '%Y-%m') AS ym FROM submissions
                                  WHERE received_at >= ? AND received_at < ? + INTERVAL 1 MONTH)
                            TO '{target}' (FORMAT parquet, PARTITION_BY ({PARTITIONED['submissions']}),
                                           WRITE_PARTITION_COLUMNS true, APPEND)""", [month, month])
    finally:
        con.execute(f"SET memory_limit = '{before}'")
    present = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    for table in SMALL_TABLES:
        if table not in present:  # an older store: the queries that read it fail on both engines
            continue
        con.execute(f"COPY {table} TO '{str(folder / table).replace(chr(39), chr(39) * 2)}.parquet' (FORMAT parquet)")
    return folder


# --- parameters as literals ---------------------------------------------------------------


def _utc_text(value: dt.datetime, tz: str) -> str:
    if value.tzinfo is None:  # DuckDB reads a naive timestamp compared with an instant as local time
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def literal(value, tz: str) -> exp.Expression:
    """A Python value as a ClickHouse literal expression (quoted and escaped by sqlglot)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, decimal.Decimal)) or type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item() if hasattr(value, "item") else value
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, float) and not math.isfinite(value):
            raise EngineError(f"cannot bind the non-finite number {value!r}")
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EngineError(f"cannot bind the non-finite number {value!r}")
        return exp.Literal.number(repr(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):  # pandas.Timestamp included
        return exp.Anonymous(this="toDateTime64", expressions=[
            exp.Literal.string(_utc_text(value, tz)), exp.Literal.number(6), exp.Literal.string("UTC")])
    if isinstance(value, dt.date):
        return exp.Anonymous(this="toDate", expressions=[exp.Literal.string(value.isoformat())])
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[literal(v, tz) for v in value])
    raise EngineError(f"cannot bind a parameter of type {type(value).__name__}")


# --- translation --------------------------------------------------------------------------

_T = exp.DataType.Type
_TZ_TYPES = {_T.TIMESTAMPTZ, _T.TIMESTAMPLTZ}
_NAIVE_TYPES = {_T.TIMESTAMP, _T.TIMESTAMPNTZ, _T.DATETIME}


def _number_placeholders(sql: str) -> str:
    """`?` placeholders renamed $__p0, $__p1, ... in the order they appear (found as tokens, so a
    '?' inside a string literal or a quoted name is left alone): the parsed tree then names each
    one, whatever order the tree lists them in."""
    tokens = sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql)
    out, last, n = [], 0, 0
    for token in tokens:
        if token.token_type == sqlglot.TokenType.PLACEHOLDER and token.text == "?":
            out.append(sql[last:token.start])
            out.append(f"$__p{n}")
            last, n = token.end + 1, n + 1
    out.append(sql[last:])
    return "".join(out)


def _epoch_seconds(e: exp.Expression) -> exp.Expression:
    """epoch(a - b) of two instants, as seconds (DuckDB: the interval's seconds)."""
    return exp.Div(this=exp.Anonymous(this="dateDiff", expressions=[exp.Literal.string("microsecond"), e.expression, e.this]),
                   expression=exp.Literal.number("1e6"))


def _round_half_away(x: exp.Expression, decimals: exp.Expression | None) -> exp.Expression:
    """DuckDB rounds a double half away from zero; ClickHouse's round() of a Float64 rounds half
    to even (2.5 -> 2), so a grid binned with round() would differ at the halves."""
    scale = exp.Pow(this=exp.Literal.number(10), expression=decimals.copy()) if decimals is not None else None
    scaled = exp.Mul(this=exp.Paren(this=x.copy()), expression=scale) if scale is not None else exp.Paren(this=x.copy())
    rounded = exp.Mul(this=exp.Anonymous(this="sign", expressions=[scaled.copy()]),
                      expression=exp.Anonymous(this="floor", expressions=[
                          exp.Add(this=exp.Anonymous(this="abs", expressions=[scaled]), expression=exp.Literal.number("0.5"))]))
    return exp.Div(this=rounded, expression=scale.copy()) if scale is not None else rounded


_PREDICATES = (exp.Predicate, exp.Connector, exp.Not, exp.Exists, exp.Boolean)


def _is_boolean(e: exp.Expression) -> bool:
    """Whether DuckDB types the expression BOOLEAN (comparisons, AND/OR/NOT, IS, IN, EXISTS and a
    coalesce of those)."""
    if isinstance(e, exp.Paren):
        return _is_boolean(e.this)
    if isinstance(e, exp.Coalesce):
        return all(_is_boolean(a) for a in [e.this, *e.expressions])
    return isinstance(e, _PREDICATES)


def _day_series(table: exp.Table) -> exp.Expression:
    """DuckDB's `range(start, stop, INTERVAL n DAY) t(d)` (a table of days) as a subquery over
    arrayJoin: ClickHouse's generate_series counts numbers, not days."""
    series = table.this
    step = series.args.get("step")
    unit = step.args.get("unit") if isinstance(step, exp.Interval) else None
    if unit is None or unit.name.upper() != "DAY" or not step.this.is_string and not step.this.is_number:
        raise EngineError("a range()/generate_series() table is translated only for a constant step in days")
    n = int(step.this.name)
    start, end = series.args["start"], series.args["end"]
    alias = table.args.get("alias")
    column = alias.columns[0].name if alias is not None and alias.columns else "generate_series"
    days = exp.Anonymous(this="dateDiff", expressions=[exp.Literal.string("day"), start.copy(), end.copy()])
    if not series.args.get("is_end_exclusive"):
        days = exp.Add(this=days, expression=exp.Literal.number(1))
    count = exp.Anonymous(this="intDiv", expressions=[
        exp.Add(this=days, expression=exp.Literal.number(n - 1)), exp.Literal.number(n)])
    i = exp.to_identifier("__i")
    body = exp.Add(this=start.copy(), expression=exp.Anonymous(this="toIntervalDay", expressions=[
        exp.Mul(this=exp.column(i), expression=exp.Literal.number(n))]))
    values = exp.Anonymous(this="arrayMap", expressions=[
        exp.Lambda(this=body, expressions=[i]),
        exp.Anonymous(this="range", expressions=[exp.Anonymous(this="toUInt64", expressions=[
            exp.Anonymous(this="greatest", expressions=[count, exp.Literal.number(0)])])])])
    select = exp.select(exp.alias_(exp.Anonymous(this="arrayJoin", expressions=[values]), column))
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias.name if alias is not None else "t")))


def _rewrite(tree: exp.Expression, tz: str) -> exp.Expression:
    """DuckDB idioms sqlglot would pass through, rewritten in ClickHouse's terms."""

    def fix(node: exp.Expression) -> exp.Expression:
        # sqlglot's transform does not descend into a node it replaced: the new one's parts
        # (the argument of a rewritten cast, say) get their rewrites here
        new = one(node)
        return new if new is node else new.transform(fix)

    def one(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Cast) and node.to.this in _TZ_TYPES | _NAIVE_TYPES:
            # TIMESTAMPTZ -> an instant shown in local time; TIMESTAMP (DuckDB: the local wall
            # clock) the same here, made naive when the result is read (see _naive_columns)
            return exp.Anonymous(this="toDateTime64", expressions=[node.this, exp.Literal.number(6), exp.Literal.string(tz)])
        if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
            return exp.Anonymous(this="any", expressions=[node.this.this])  # any() skips NULLs already
        if isinstance(node, exp.Round):
            return _round_half_away(node.this, node.args.get("decimals"))
        if isinstance(node, (exp.TimeToUnix, exp.UnixSeconds)):
            if isinstance(node.this, exp.Sub):
                return _epoch_seconds(node.this)
            return exp.Div(this=exp.Anonymous(this="toUnixTimestamp64Micro", expressions=[node.this]),
                           expression=exp.Literal.number("1e6"))
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "list_intersect":
            return exp.Anonymous(this="arrayIntersect", expressions=node.expressions)
        if isinstance(node, exp.Length) and isinstance(node.this, exp.Anonymous) and \
                str(node.this.this).lower() in ("list_intersect", "arrayintersect"):
            # of a list, not characters
            return exp.Anonymous(this="length", expressions=[
                exp.Anonymous(this="arrayIntersect", expressions=node.this.expressions)])
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "epoch" and len(node.expressions) == 1:
            arg = node.expressions[0]
            if isinstance(arg, exp.Sub):
                return _epoch_seconds(arg)
            return exp.Div(this=exp.Anonymous(this="toUnixTimestamp64Micro", expressions=[arg]),
                           expression=exp.Literal.number("1e6"))
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "epoch_us" and len(node.expressions) == 1:
            return exp.Anonymous(this="toUnixTimestamp64Micro", expressions=[
                exp.Anonymous(this="toDateTime64", expressions=[node.expressions[0], exp.Literal.number(6)])])
        if isinstance(node, exp.BitwiseAnd):  # ClickHouse has no & operator
            return exp.Anonymous(this="bitAnd", expressions=[node.this, node.expression])
        if isinstance(node, exp.PercentileCont):  # DuckDB's quantile_cont: linear interpolation
            if isinstance(node.expression, exp.Array):  # a list of quantiles: one array of values
                return exp.ParameterizedAgg(this="quantilesExactInclusive", expressions=node.expression.expressions,
                                            params=[node.this])
            return exp.ParameterizedAgg(this="quantileExactInclusive", expressions=[node.expression], params=[node.this])
        if isinstance(node, exp.ToDays):
            return exp.Anonymous(this="toIntervalDay", expressions=[node.this])
        if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
            return _day_series(node)
        if isinstance(node, exp.Select):
            for e in list(node.expressions):
                if isinstance(e, exp.Column) and e.table:  # DuckDB names `t.day` day, ClickHouse `t.day`
                    e.replace(exp.alias_(e.copy(), e.name))
            for e in node.expressions:  # a predicate is UInt8 in ClickHouse, BOOLEAN in DuckDB
                inner = e.this if isinstance(e, exp.Alias) else e
                if _is_boolean(inner):
                    inner.replace(exp.Cast(this=inner.copy(), to=exp.DataType.build("Nullable(Bool)", dialect="clickhouse")))
        if isinstance(node, exp.GroupingId) or isinstance(node, exp.Anonymous) and str(node.this).upper() == "GROUPING_ID":
            # ClickHouse's grouping() is the standard GROUPING_ID (force_grouping_standard_compatibility)
            return exp.Anonymous(this="grouping", expressions=node.expressions)
        return node

    return tree.transform(fix)


def _naive_columns(tree: exp.Expression) -> set[str]:
    """Output columns that DuckDB's SQL cast to TIMESTAMP (a naive local wall clock)."""
    out = set()
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if select is None:
        return out
    for e in select.expressions:
        inner = e.this if isinstance(e, exp.Alias) else e
        if isinstance(inner, exp.Cast) and inner.to.this in _NAIVE_TYPES:
            out.add(e.alias_or_name)
    return out


@functools.lru_cache(maxsize=512)
def _parse(sql: str, tz: str) -> tuple[exp.Expression, frozenset]:
    try:
        tree = sqlglot.parse_one(_number_placeholders(sql), read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        raise EngineError(f"cannot parse the statement as DuckDB SQL: {' '.join(str(exc).split())[:200]}") from exc
    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)):
        raise EngineError(f"the ClickHouse seam only reads; a {tree.key.upper()} statement goes to the DuckDB store "
                          "(the system of record), which the export then copies")
    naive = frozenset(_naive_columns(tree))
    return _rewrite(tree, tz), naive


def translate(sql: str, params=None, tz: str | None = None) -> tuple[str, frozenset]:
    """ClickHouse SQL for a DuckDB statement and its parameters (a sequence for `?`, a dict for
    `$name`), and the output columns to read back as naive local timestamps."""
    tz = tz or settings.get("TZ")
    template, naive = _parse(sql, tz)  # cached: transform() below works on a copy
    if params is None:
        params = []
    named = isinstance(params, dict)
    used = set()

    def bind(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Placeholder):
            return node
        name = node.name
        if not name:
            raise EngineError("an unnamed placeholder survived numbering")
        if name.startswith("__p"):
            if named:
                raise EngineError("the statement has ? placeholders but the parameters are named")
            i = int(name[3:])
            if i >= len(params):
                raise EngineError(f"the statement has more ? placeholders than the {len(params)} parameters given")
            used.add(i)
            return literal(params[i], tz)
        if not named or name not in params:
            raise EngineError(f"no value for the parameter ${name}")
        used.add(name)
        return literal(params[name], tz)

    tree = template.transform(bind)
    if not named and len(used) != len(params):
        raise EngineError(f"{len(params)} parameters given for {len(used)} ? placeholders")
    return tree.sql(dialect="clickhouse"), naive


# --- results ------------------------------------------------------------------------------


class ClickHouseResult:
    """What the query layer reads from DuckDB's execute(): df/fetchdf, fetchall, fetchone."""

    def __init__(self, table: pa.Table, naive: frozenset, tz: str):
        self._table, self._naive, self._tz = table, naive, tz
        self._rows: list[tuple] | None = None
        self._next = 0

    def arrow(self) -> pa.Table:
        return self._table

    def df(self) -> pd.DataFrame:
        """The pandas types DuckDB's .df() gives: int64 (Int64 with NULLs) for ClickHouse's
        unsigned counts, datetime64 for DATE, instants in local time, naive wall clocks for the
        columns the SQL cast to TIMESTAMP."""
        df = self._table.to_pandas()
        for name, field in zip(self._table.column_names, self._table.schema):
            col, t = df[name], field.type
            if pa.types.is_integer(t) and self._table.column(name).null_count:
                df[name] = pd.array(self._table.column(name).to_pylist(), dtype="Int64")
            elif pa.types.is_unsigned_integer(t):
                df[name] = col.astype("int64")  # count() is UInt64 in ClickHouse, BIGINT in DuckDB
            elif pa.types.is_date(t):
                df[name] = pd.to_datetime(col).astype("datetime64[us]")
            elif isinstance(col.dtype, pd.DatetimeTZDtype):
                col = col.dt.tz_convert(self._tz)
                df[name] = col.dt.tz_localize(None) if name in self._naive else col
        return df

    fetchdf = df

    def fetchall(self) -> list[tuple]:
        """Python values as DuckDB's fetchall gives them (date, zone-aware datetime, int ...)."""
        if self._rows is None:
            tz = ZoneInfo(self._tz)
            names = self._table.column_names
            naive = [i for i, n in enumerate(names) if n in self._naive]
            rows = []
            for row in self._table.to_pylist():
                values = list(row.values())
                for i in naive:
                    if values[i] is not None:
                        values[i] = values[i].astimezone(tz).replace(tzinfo=None)
                rows.append(tuple(values))
            self._rows = rows
        rows, self._next = self._rows[self._next:], len(self._rows)
        return rows

    def fetchone(self) -> tuple | None:
        if self._rows is None:
            self.fetchall()
            self._next = 0
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]


# --- the connection -----------------------------------------------------------------------


class ClickHouseConnection:
    """The DuckDB connection subset the query layer uses, on an embedded ClickHouse (chdb)
    session whose tables are views over the Parquet written by `export_parquet`."""

    def __init__(self, folder: str | Path, tz: str | None = None):
        from chdb import session as chdb_session

        self.folder = Path(folder)
        self.tz = tz or settings.get("TZ")
        if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", self.tz):
            raise EngineError(f"invalid time zone name {self.tz!r}")
        if not (self.folder / "submissions").is_dir():
            raise EngineError(f"{self.folder}: no exported submissions/ folder (pipeline.engines.export_parquet)")
        self._session = chdb_session.Session()
        self._raw(f"SET session_timezone = '{self.tz}'")
        for name, value in SESSION_SETTINGS.items():
            self._raw(f"SET {name} = {int(value)}")
        self._raw("CREATE DATABASE IF NOT EXISTS sc ENGINE = Atomic")
        self._raw("USE sc")
        self._view("submissions", self.folder / "submissions" / "**" / "*.parquet")
        for table in SMALL_TABLES:
            if (self.folder / f"{table}.parquet").exists():
                self._view(table, self.folder / f"{table}.parquet")

    def _raw(self, sql: str, fmt: str = "CSV"):
        try:
            return self._session.query(sql, fmt)
        except Exception as exc:  # chdb raises RuntimeError/ChdbError with ClickHouse's message
            raise EngineError(f"ClickHouse: {' '.join(str(exc).split())[:300]}") from exc

    def _view(self, name: str, pattern: Path) -> None:
        """A view over the files whose instants are shown in local time (the files keep UTC)."""
        path = str(pattern).replace("\\", "\\\\").replace("'", "\\'")
        source = f"file('{path}', Parquet)"
        described = self._raw(f"DESCRIBE {source}", "DataFrame")
        columns = []
        for col, typ in zip(described["name"], described["type"]):
            if col in EXPORT_ONLY:
                continue
            if "DateTime64" in typ:
                columns.append(f"toTimeZone(`{col}`, '{self.tz}') AS `{col}`")
            else:
                columns.append(f"`{col}`")
        self._raw(f"CREATE OR REPLACE VIEW {name} AS SELECT {', '.join(columns)} FROM {source}")

    def execute(self, sql: str, parameters=None) -> ClickHouseResult:
        text, naive = translate(sql, parameters, self.tz)
        table = self._raw(text, "ArrowTable")
        return ClickHouseResult(table, naive, self.tz)

    def sql_for(self, sql: str, parameters=None) -> str:
        """The ClickHouse statement a DuckDB one becomes (for reading and debugging)."""
        return translate(sql, parameters, self.tz)[0]

    def close(self) -> None:
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
