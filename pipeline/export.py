"""Export the submissions a filter selects to CSV, XLSX or Parquet, streamed in record batches.

Every row `queries.filters.where(f)` selects is written, ordered by received_at, id; nothing is
dropped (XLSX continues on a further sheet past Excel's 1,048,576 rows). DuckDB hands the rows over
as Arrow record batches of `batch_rows`, each turned into output and let go, so memory stays flat
however many rows there are.

What a viewer sees follows the app's rule (pipeline.privacy.for_viewer, applied per batch): texts
are cleaned of invisible characters, and for a viewer without the `contacts` permission texts are
masked and the contact and address columns are left out altogether.

- csv: UTF-8 with a BOM (Excel opens Cyrillic and Kazakh letters right), comma-separated, quoted
  by the csv module; titles and display names in `lang`; times local, "YYYY-MM-DD HH:MM:SS".
- xlsx: XlsxWriter in constant-memory mode; text cells are written as strings (nothing is
  evaluated), numbers as numbers, times as local Excel dates; titles and display names in `lang`.
  A text longer than Excel's 32,767 characters per cell is cut there, ending in "…".
- parquet: codes, not display names (a file for programs); stable snake_case column names;
  typed columns, times as timestamps in the local zone (SC_TZ).
In CSV and XLSX a text cell starting with =, +, -, @, a tab or a carriage return gets a leading
apostrophe (OWASP CSV injection rule), so that a spreadsheet shows it and never runs it.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import io
import os
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import auth, i18n, privacy, reference, replica, settings
from pipeline.queries.filters import Filters, where

FORMATS = ("csv", "xlsx", "parquet")
TIMES = ("received_at", "feedback_due_at", "feedback_at", "due_at", "resolved_at")
# stored columns in the order written; contact and address only for viewers who may see them
BASE_COLUMNS = ("id", "received_at", "source", "region", "district", "category", "category_confidence",
                "priority", "status", "department", "feedback_due_at", "feedback_at", "due_at", "resolved_at",
                "text")
CONTACT_COLUMNS = ("contact", "address")
# rows per batch: 50,000 peaked at 694-745 MB for 500,000 rows of 350-character texts, 20,000 at
# 453-473 MB, as fast (bench/export.py); each batch is a few Python copies of its texts
BATCH_ROWS = 20_000
XLSX_SHEET_ROWS = 1_048_576  # Excel's limit, the title row included
XLSX_MAX_CELL = 32_767
_INJECTION = ("=", "+", "-", "@", "\t", "\r")


class ExportError(ValueError):
    """Bad input to an export; the message is one line naming what and why."""


def columns(viewer) -> list[str]:
    """The output columns (codes) for this viewer, registration_number after id."""
    cols = ["id", "registration_number", *BASE_COLUMNS[1:]]
    return cols + list(CONTACT_COLUMNS) if auth.may_see_contacts(viewer) else cols


def title(column: str, lang: str) -> str:
    key = f"export.col.{column}"
    return i18n.t(key, lang) if key in i18n.table() else column


def safe_cell(value: str) -> str:
    """A text as a spreadsheet may hold it: a leading ' before =, +, -, @, tab or CR."""
    return "'" + value if value and value.startswith(_INJECTION) else value


# ---- display names -------------------------------------------------------------------------
@functools.cache
def _names(lang: str) -> dict[str, dict[str, str]]:
    """Code -> display name in `lang` for each coded column; a code without a name stays itself."""
    import pandas as pd

    col = f"name_{lang if lang in reference.LANGS else 'ru'}"
    out = {"region": dict(zip(reference.regions()["code"], reference.regions()[col])),
           "district": dict(zip(reference.districts()["code"], reference.districts()[col])),
           "category": dict(zip(reference.taxonomy()["code"], reference.taxonomy()[col]))}
    deps = pd.read_csv(reference.DATA / "departments.csv", dtype=str, keep_default_na=False)
    out["department"] = dict(zip(deps["code"], deps[col]))
    for column in ("source", "status", "priority"):
        prefix = f"{column}."
        out[column] = {k[len(prefix):]: i18n.t(k, lang) for k in i18n.table() if k.startswith(prefix)}
    return out


# ---- the query -----------------------------------------------------------------------------
def _sql(f: Filters, viewer) -> tuple[str, list]:
    """The selection in order, for a caller who reads it whole (the benchmark's baseline)."""
    cond, params = where(f)
    return f"SELECT {', '.join(_stored(viewer))} FROM submissions WHERE {cond} ORDER BY received_at, id", params


def _stored(viewer) -> list[str]:
    return list(BASE_COLUMNS) + (list(CONTACT_COLUMNS) if auth.may_see_contacts(viewer) else [])


def _record_batches(con, f: Filters, viewer, batch_rows: int):
    """The selected rows in order (received_at, id) as Arrow batches of at most `batch_rows` rows.

    In two steps, in one snapshot: the ids in order (8 bytes a row), then the rows of each run of
    `batch_rows` ids. Sorting whole rows made DuckDB hold every text of the selection in memory
    (367 MB of ORDER BY for 500,000 rows); sorting ids only, each batch is read, sorted and let go.
    A cursor of its own keeps the snapshot apart from whatever the caller's connection is doing."""
    cond, params = where(f)
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        ids = cur.sql(f"SELECT id FROM submissions WHERE {cond} ORDER BY received_at, id",
                      params=params).to_arrow_table().column(0).to_numpy()
        cols = ", ".join(_stored(viewer))
        for k in range(0, len(ids), batch_rows):
            chunk = ids[k:k + batch_rows]
            # ids grow with time, so the range lets DuckDB skip most row groups before the IN list
            table = cur.sql(f"SELECT {cols} FROM submissions WHERE id BETWEEN ? AND ? "
                            f"AND id IN (SELECT unnest(CAST(? AS BIGINT[]))) ORDER BY received_at, id",
                            params=[int(chunk.min()), int(chunk.max()), chunk.tolist()]).to_arrow_table()
            yield from table.to_batches()
        cur.execute("COMMIT")
    finally:
        cur.close()


def _batches(con, f: Filters, viewer, batch_rows: int):
    """Arrow record batches of the selected rows, texts (and contacts) as the viewer may see them,
    times in local time, with the registration number; at most `batch_rows` rows each."""
    import pandas as pd

    from pipeline.workflow import registration_number

    tz = settings.get("TZ")
    for batch in _record_batches(con, f, viewer, batch_rows):
        if batch.num_rows == 0:
            continue
        data = {name: batch.column(name) for name in batch.schema.names}
        for name in TIMES:
            data[name] = data[name].cast(pa.timestamp("us", tz=tz))
        # object columns: pandas' own string type would copy every text once more
        texts = {name: pd.Series(data[name].to_pylist(), dtype=object)
                 for name in ("text", *CONTACT_COLUMNS) if name in data}
        shown = privacy.for_viewer(pd.DataFrame(texts), viewer)
        for name in texts:
            data[name] = pa.array(shown[name].tolist(), pa.string())
        ids = data["id"].to_pylist()
        received = data["received_at"].to_pylist()
        data["registration_number"] = pa.array([registration_number(i, t) for i, t in zip(ids, received)], pa.string())
        yield pa.record_batch([data[c] for c in columns(viewer)], names=columns(viewer))


def _local_naive(arr: pa.Array) -> pa.Array:
    return pc.local_timestamp(arr).cast(pa.timestamp("s"), safe=False)


def _display_columns(batch: pa.RecordBatch, lang: str, times_as: str) -> list[list]:
    """Python lists per column for CSV/XLSX: display names, local times (strings or datetimes),
    texts guarded against formula injection; numbers stay numbers."""
    names = _names(lang)
    out = []
    for name in batch.schema.names:
        arr = batch.column(name)
        if name in TIMES:
            local = _local_naive(arr)
            values = (pc.strftime(local, "%Y-%m-%d %H:%M:%S") if times_as == "text" else local).to_pylist()
        else:
            values = arr.to_pylist()
            if name in names:
                table = names[name]
                values = [None if v is None else table.get(v, v) for v in values]
        if pa.types.is_string(arr.type) or name in names:
            values = [safe_cell(v) if v else v for v in values]
        out.append(values)
    return out


# ---- writers -------------------------------------------------------------------------------
def _write_csv(batches, cols: list[str], out, lang: str) -> int:
    own = isinstance(out, (str, os.PathLike))
    raw = open(out, "wb") if own else out
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    n = 0
    try:
        w = csv.writer(text)
        w.writerow([safe_cell(title(c, lang)) for c in cols])
        for batch in batches:
            w.writerows(zip(*_display_columns(batch, lang, "text")))
            n += batch.num_rows
        text.flush()
    finally:
        if own:
            text.close()
        else:
            text.detach()  # the caller's stream stays open
    return n


def _write_xlsx(batches, cols: list[str], out, lang: str) -> int:
    import xlsxwriter

    target = os.fspath(out) if isinstance(out, (str, os.PathLike)) else out
    wb = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_numbers": False,
                                      "strings_to_formulas": False, "strings_to_urls": False,
                                      "default_date_format": "yyyy-mm-dd hh:mm:ss", "remove_timezone": True})
    bold = wb.add_format({"bold": True})
    titles = [safe_cell(title(c, lang)) for c in cols]
    base = i18n.t("export.sheet", lang) if "export.sheet" in i18n.table() else "data"
    sheets, ws, row = 0, None, XLSX_SHEET_ROWS
    n = 0
    try:
        for batch in batches:
            for values in zip(*_display_columns(batch, lang, "datetime")):
                if row >= XLSX_SHEET_ROWS:  # full (or none yet): the rows continue on a new sheet
                    sheets += 1
                    ws = wb.add_worksheet(base if sheets == 1 else f"{base} {sheets}")
                    ws.write_row(0, 0, titles, bold)
                    ws.freeze_panes(1, 0)
                    row = 1
                ws.write_row(row, 0, [v[:XLSX_MAX_CELL - 1] + "…" if isinstance(v, str) and len(v) > XLSX_MAX_CELL
                                      else v for v in values])
                row += 1
                n += 1
        if ws is None:  # no rows: a sheet with the titles only
            ws = wb.add_worksheet(base)
            ws.write_row(0, 0, titles, bold)
    finally:
        wb.close()
    return n


def _parquet_schema(cols: list[str]) -> pa.Schema:
    tz = settings.get("TZ")
    types = {"id": pa.int64(), "category_confidence": pa.float64()}
    return pa.schema([(c, pa.timestamp("us", tz=tz) if c in TIMES else types.get(c, pa.string())) for c in cols])


def _write_parquet(batches, cols: list[str], out, lang: str) -> int:
    import pyarrow.parquet as pq

    schema = _parquet_schema(cols)
    n = 0
    with pq.ParquetWriter(out if not isinstance(out, os.PathLike) else os.fspath(out), schema,
                          compression="zstd") as w:
        for batch in batches:
            w.write_batch(batch.cast(schema))
            n += batch.num_rows
    return n


_WRITERS = {"csv": _write_csv, "xlsx": _write_xlsx, "parquet": _write_parquet}


def export(con, f: Filters, fmt: str, out, viewer, lang: str = "ru", batch_rows: int = BATCH_ROWS) -> int:
    """Write every submission `where(f)` selects to `out` (a path or a binary file object) as
    `fmt` (csv, xlsx, parquet) for `viewer` (None: the trusted system path, contacts included);
    returns the rows written. Parquet holds codes; CSV and XLSX display names and titles in `lang`."""
    if fmt not in _WRITERS:
        raise ExportError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    if lang not in i18n.LANGS:
        raise ExportError(f"unknown language {lang!r}; known: {', '.join(i18n.LANGS)}")
    if batch_rows < 1:
        raise ExportError(f"batch_rows must be at least 1, not {batch_rows}")
    return _WRITERS[fmt](_batches(con, f, viewer, batch_rows), columns(viewer), out, lang)


def export_for(con, f: Filters, fmt: str, out, viewer: auth.Viewer, lang: str = "ru") -> int:
    """`export` for a person signed in to the app: needs the `export` permission (Forbidden
    otherwise), contacts as their role allows, and the export goes to the audit log."""
    actor = auth.actor_of(viewer, "export")
    written = export(con, f, fmt, out, viewer, lang)
    con_a = auth.connect()
    try:
        auth.audit(con_a, actor, "export", fmt, {"rows": written, "filter": f.params(),
                                                 "contacts": auth.may_see_contacts(viewer)})
    finally:
        con_a.close()
    return written


# DuckDB keeps the table blocks it has read, up to its memory_limit (80 % of RAM by default): with
# the ids sorted apart it needs little, so a connection of its own for an export gets a small limit
# (past it DuckDB would spill to <db>.tmp beside the store). It is a setting of the whole database
# instance, so export() leaves a caller's connection alone.
MEMORY_LIMIT = "64MB"


def connect(db) -> "duckdb.DuckDBPyConnection":
    """A read-only connection for one export, its memory bounded: the store, or its read replica
    while the app holds it. StoreLocked, StoreError as replica.connect."""
    return replica.connect(db, memory_limit=MEMORY_LIMIT)[0]


# ---- CLI -----------------------------------------------------------------------------------
# The CLI has no signed-in person: by default it exports as a viewer without the contacts
# permission; --with-contacts takes the trusted system path and is written to the audit log.
CLI_VIEWER = auth.Viewer("cli", "cli", "command line", frozenset())


def arguments_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="file to write; its suffix gives the format unless --format")
    parser.add_argument("--format", choices=FORMATS, help="csv, xlsx or parquet (default: from the --out suffix)")
    parser.add_argument("--since", required=True, help="first local day, YYYY-MM-DD")
    parser.add_argument("--until", help="last local day, YYYY-MM-DD (default: today)")
    parser.add_argument("--region", help="region code (aktobe, shymkent)")
    parser.add_argument("--district", help="district code, e.g. al_farabi")
    parser.add_argument("--category", help="category code, e.g. roads")
    parser.add_argument("--source", help="source code, e.g. hotline_109, qr, web, import")
    parser.add_argument("--language", help="language of the texts: ru, kk, mixed")
    parser.add_argument("--lang", choices=i18n.LANGS, default=None,
                        help="language of column titles and names in CSV/XLSX (default: SC_LANG)")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--user", help="who exports, for the audit log (default: system)")
    parser.add_argument("--with-contacts", action="store_true",
                        help="include contacts, addresses and unmasked texts (written to the audit log)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")


def _day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ExportError(f"{option} {value!r} is not a day; use YYYY-MM-DD, e.g. 2026-03-01") from None


def _code(value: str | None, known: list[str], what: str) -> str | None:
    if value is not None and value not in known:
        raise ExportError(f"unknown {what} {value!r}; valid: {', '.join(known)}")
    return value


def filters_from_args(args) -> Filters:
    start = _day(args.since, "--since")
    end = _day(args.until, "--until") if args.until else dt.datetime.now(ZoneInfo(settings.get("TZ"))).date()
    if end < start:
        raise ExportError(f"--until {end} is before --since {start}")
    region = _code(args.region, reference.regions()["code"].tolist(), "region")
    district = _code(args.district, reference.districts()["code"].tolist(), "district")
    if region and district and reference.region_of(district) != region:
        raise ExportError(f"district {district!r} is in region {reference.region_of(district)!r}, not {region!r}")
    category = _code(args.category, reference.category_codes(), "category")
    from pipeline.ingest import SOURCES

    source = _code(args.source, list(SOURCES), "source")  # an unknown one wrote "0 rows" and exit 0
    language = _code(args.language, ["ru", "kk", "mixed"], "language")
    return Filters(start, end, region=region, district=district, source=source, language=language,
                   category=category)


def _format_of(args) -> str:
    suffix = Path(args.out).suffix.lower().lstrip(".")
    if args.format:
        if suffix in FORMATS and suffix != args.format:  # a CSV named .xlsx opens in nothing
            raise ExportError(f"--format {args.format} but --out {args.out} ends in .{suffix}; make them agree")
        return args.format
    if suffix not in FORMATS:
        raise ExportError(f"cannot tell the format from {args.out!r}; give --format {'|'.join(FORMATS)} "
                          f"or an --out ending in .csv, .xlsx or .parquet")
    return suffix


def _audit(db: Path, actor: str, out: Path, f: Filters, fmt: str) -> None:
    """One audit record, written before any personal data leaves the store (in the users file
    beside the store, or SC_AUTH_DB)."""
    con = auth.connect(auth.path(db))
    try:
        auth.audit(con, actor, "export.contacts", str(out.resolve()),
                   {"format": fmt, "filters": {k: str(v) for k, v in vars(f).items() if v is not None}})
    finally:
        con.close()


def run_export(args) -> int:
    began = time.perf_counter()
    try:
        f = filters_from_args(args)
        fmt = _format_of(args)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; choose another --out or add --force to replace it", file=sys.stderr)
        return 2
    if out.is_dir() or not out.parent.is_dir():
        print(f"error: {out}: {'is a folder' if out.is_dir() else f'folder {out.parent} does not exist'}",
              file=sys.stderr)
        return 2
    db = settings.db_path(args.db)
    con = replica.open_for_cli(args.db, "export from the running app, or wait for its replica", MEMORY_LIMIT)
    if con is None:
        return 1
    viewer = None if args.with_contacts else CLI_VIEWER
    actor = args.user or auth.SYSTEM
    if args.user:  # the audit names who took the data: a name nobody has would name no one
        users = auth.connect(auth.path(db))
        try:
            known = users.execute("SELECT 1 FROM users WHERE username = ?", [args.user]).fetchone() is not None
        finally:
            users.close()
        if not known:
            con.close()
            print(f"error: --user {args.user!r} is no user of this store (python -m pipeline users list)",
                  file=sys.stderr)
            return 2
    lang = args.lang or settings.get("LANG")
    partial = out.with_name(f".{out.name}.partial")  # a failed export leaves no half file, nor destroys the old
    try:
        if args.with_contacts:
            _audit(db, actor, out, f, fmt)
        rows = export(con, f, fmt, partial, viewer, lang=lang)
        os.replace(partial, out)
    except OSError as exc:  # said of the file asked for, not of the hidden one it is written as first
        partial.unlink(missing_ok=True)
        print(f"error: {out}: cannot write ({exc.strerror or exc}); nothing written", file=sys.stderr)
        return 2
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    print(f"{rows} rows written to {out} in {time.perf_counter() - began:.1f} s"
          + (" (with contacts)" if args.with_contacts else " (contacts left out, texts masked)"))
    return 0
