"""QR-code placements (issue 14): the registry of where codes hang, its CSV import, and the file the
public form reads.

A placement has a short code (letters A-Z, digits and '-', e.g. SH-0042), stored in capitals and
compared without regard to case, never reused: a placement taken down is deactivated. Its QR code
opens `<SC_FORM_URL>/p/<code>` (pipeline.posters). The public form never opens the database: it
reads `settings.public_path()/placements.json`, which every write here publishes again (written to
a temporary file, then renamed over the old one), as does `python -m pipeline publish-placements`.

Writes take the viewer (or, for the CLI, a plain actor name) and need the `placements` permission;
the registry list needs `page:placements`. Every write goes to the audit log.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path

import pandas as pd

from pipeline import auth, reference, settings, store

KINDS = ("bus_stop", "bus_route", "school", "clinic", "akimat_office", "park", "other")
COLUMNS = ("code", "kind", "name_ru", "name_kk", "region", "district", "lat", "lon", "active")
REQUIRED = ("code", "kind", "name_ru", "name_kk")
PUBLIC_FIELDS = ("code", "kind", "name_ru", "name_kk", "region", "district", "active")
PUBLIC_FILE = "placements.json"
CODE = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
CODE_MAX = 20
NAME_MAX = 150
MAX_FILE_BYTES = 2_000_000
MAX_ROWS = 10_000
LAT, LON = (40.5, 55.5), (46.5, 87.5)  # Kazakhstan, a little generously
TRUE = {"1", "true", "yes", "y", "да", "иә", "active", "+", "истина", "ақиқат", "активно", "активна", "действует"}
FALSE = {"0", "false", "no", "n", "нет", "жоқ", "inactive", "-", "ложь", "жалған", "неактивно", "не действует"}
# The headers a clerk's Excel in Russian or Kazakh gives the registry's columns (lower case)
HEADER_ALIASES = {
    "код": "code", "код места": "code", "коды": "code", "орын коды": "code",
    "тип": "kind", "вид": "kind", "түрі": "kind",
    "название (рус)": "name_ru", "название рус": "name_ru", "название": "name_ru", "наименование": "name_ru",
    "название (каз)": "name_kk", "название каз": "name_kk", "атауы": "name_kk", "атауы (қаз)": "name_kk",
    "регион": "region", "область": "region", "город": "region", "облыс": "region", "өңір": "region",
    "район": "district", "аудан": "district",
    "широта": "lat", "ендік": "lat", "долгота": "lon", "бойлық": "lon",
    "активно": "active", "активен": "active", "действует": "active", "белсенді": "active",
}
CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class PlacementError(ValueError):
    """Refused input. str() is one English line for the command line (naming the line of a file
    when there is one); pages show `placements.error.<code>` formatted with `params`."""

    def __init__(self, message: str, code: str, line: int | None = None, **params):
        super().__init__(f"line {line}: {message}" if line else message)
        self.code = code
        self.line = line
        self.params = params


class ImportRefused(ValueError):
    """A CSV with bad rows: nothing of it was imported. `errors` lists every problem found (up to
    MAX_REPORTED), each a PlacementError naming its line."""

    MAX_REPORTED = 50

    def __init__(self, name: str, errors: list[PlacementError]):
        self.name = name
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{name}: {errors[0]}{more}")


# ---- one placement's fields ----------------------------------------------------------------
def normal_code(value) -> str:
    return str(value or "").strip().upper()


def check_code(value, line: int | None = None) -> str:
    code = normal_code(value)
    if not code or len(code) > CODE_MAX or not CODE.fullmatch(code):
        raise PlacementError(f"code {str(value or '')!r}: Latin letters, digits and '-' only, 1-{CODE_MAX} "
                             f"characters (e.g. SH-0042)", "bad_code", line, value=str(value or ""), n=CODE_MAX)
    return code


def _text(record: dict, field: str, line: int | None, required: bool) -> str | None:
    value = record.get(field)
    value = "" if value is None or (isinstance(value, float) and math.isnan(value)) else " ".join(str(value).split())
    if not value:
        if required:
            raise PlacementError(f"{field} is empty", "empty", line, field=field)
        return None
    if CONTROL.search(value):
        raise PlacementError(f"{field} {value[:40]!r} holds control or direction characters", "bad_text", line,
                             field=field, value=CONTROL.sub("", value)[:40])
    if field.startswith("name") and LOST_LETTERS.search(value):
        # Excel's "CSV (разделители-запятые)" writes ә ғ қ ң ө ұ ү һ as '?', and a KZ-1048 file read
        # as cp1251 shows them as Ј Ѕ Ќ Ћ Ґ Ў Ї Є: on a poster and the form they would stay wrong
        raise PlacementError(f"{field} {value[:40]!r}: Kazakh letters were lost when the file was saved; "
                             f"save it as 'CSV UTF-8'", "lost_letters", line, field=field, value=value[:40])
    if len(value) > NAME_MAX:
        raise PlacementError(f"{field} is {len(value)} characters long; at most {NAME_MAX}", "long", line,
                             field=field, n=NAME_MAX)
    return value


def _number(record: dict, field: str, bounds: tuple[float, float], line: int | None) -> float | None:
    value = record.get(field)
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        raise PlacementError(f"{field} {str(value)!r} is not a number", "bad_number", line, field=field,
                             value=str(value)) from None
    if not bounds[0] <= number <= bounds[1]:
        raise PlacementError(f"{field} {number} lies outside Kazakhstan ({bounds[0]}..{bounds[1]})", "out_of_range",
                             line, field=field, value=str(value), low=bounds[0], high=bounds[1])
    return number


def _active(value, line: int | None) -> bool:
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return True
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise PlacementError(f"active {str(value)!r}: use true/false, 1/0, yes/no, да/нет or иә/жоқ", "bad_active",
                         line, value=str(value))


def clean(record: dict, line: int | None = None) -> dict:
    """One placement's fields checked and normalised (code in capitals, district as its code, region
    from the district when empty), or PlacementError naming the field, its value and the line."""
    out = {"code": check_code(record.get("code"), line)}
    kind = str(record.get("kind") or "").strip().lower()
    if kind not in KINDS:
        raise PlacementError(f"kind {str(record.get('kind') or '')!r}: one of {', '.join(KINDS)}", "bad_kind", line,
                             value=str(record.get("kind") or ""))
    out["kind"] = kind
    out["name_ru"] = _text(record, "name_ru", line, True)
    out["name_kk"] = _text(record, "name_kk", line, True)
    district_raw = _text(record, "district", line, False)
    region_raw = _text(record, "region", line, False)
    district = None
    if district_raw:
        district = reference.match_district(district_raw)
        if district is None:
            raise PlacementError(f"unknown district {district_raw!r} (not in data/districts.csv names or aliases)",
                                 "bad_district", line, value=district_raw)
    region = None
    if region_raw:
        region = reference.match_region(region_raw)  # code, name or alias (Шымкент, г. Актобе)
        if region is None:
            raise PlacementError(f"unknown region {region_raw!r}; known: {', '.join(reference.regions()['code'])}",
                                 "bad_region", line, value=region_raw)
    if district and region and reference.region_of(district) != region:
        raise PlacementError(f"district {district_raw!r} is not in region {region_raw!r}", "district_region", line,
                             district=district_raw, region=region_raw)
    region = region or (reference.region_of(district) if district else None)
    if region is None:
        raise PlacementError("neither region nor district given", "no_region", line)
    out["region"], out["district"] = region, district
    out["lat"] = _number(record, "lat", LAT, line)
    out["lon"] = _number(record, "lon", LON, line)
    if (out["lat"] is None) != (out["lon"] is None):
        raise PlacementError("lat and lon go together: give both or neither", "half_point", line)
    out["active"] = _active(record.get("active"), line)
    return out


# ---- reading a CSV -------------------------------------------------------------------------
LOST_LETTERS = re.compile(r"\?|[ЈјЅѕЌќЋћҐґЎўЇїЄє]")


def _decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise PlacementError(f"{name} is empty", "empty_file", name=name)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise PlacementError(f"{name}: binary data, not a CSV table", "not_text", name=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        from pipeline import readers

        # Excel's CSV in a Russian locale (cp1251), or Windows' Kazakh code page (KZ-1048)
        return data.decode(readers.single_byte_encoding(data), errors="replace")


def read_csv(source, name: str | None = None) -> list[dict]:
    """Rows of a placements CSV (a path, or the file's bytes), each checked by `clean`; ImportRefused
    listing every bad line when any is bad. Headers as in COLUMNS, in any case and order; `,`, `;`
    or tab between fields; UTF-8 (with or without BOM), UTF-16 or cp1251."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            if path.is_dir():
                raise ImportRefused(name, [PlacementError(f"{path} is a folder, not a CSV file", "not_a_file", name=name)])
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ImportRefused(name, [PlacementError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB", "too_big",
                                                          n=MAX_FILE_BYTES // 1_000_000)])
            data = path.read_bytes()
        except OSError as exc:
            raise ImportRefused(name, [PlacementError(f"cannot read ({exc.strerror})", "unreadable",
                                                      reason=str(exc.strerror))]) from None
    else:
        data = bytes(source)
        name = name or "CSV"
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(name, [PlacementError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB", "too_big",
                                                  n=MAX_FILE_BYTES // 1_000_000)])
    try:
        text = _decode(data, name)
    except PlacementError as exc:
        raise ImportRefused(name, [exc]) from None
    first = text.split("\n", 1)[0]
    delimiter = max((";", "\t", ","), key=first.count) if any(d in first for d in ";\t,") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower().lstrip("\ufeff") for h in next(reader)]
        header = [h if h in COLUMNS else HEADER_ALIASES.get(h, h) for h in header]
    except (StopIteration, csv.Error) as exc:
        raise ImportRefused(name, [PlacementError(f"no header line ({exc})", "bad_csv", reason=str(exc))]) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportRefused(name, [PlacementError(
            f"columns missing: {', '.join(missing)} (found: {', '.join(h for h in header if h) or 'none'}; expected "
            f"{', '.join(COLUMNS)})", "missing_columns", missing=", ".join(missing), expected=", ".join(COLUMNS))])
    rows, errors, seen = [], [], {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(v.strip() for v in record):
                continue
            if len(rows) + len(errors) >= MAX_ROWS:
                raise ImportRefused(name, [PlacementError(f"more than {MAX_ROWS} rows", "too_many", line, n=MAX_ROWS)])
            too_many = PlacementError(f"{len(record)} fields where the header has {len(header)} (an unquoted "
                                      f"'{delimiter}' in a name?)", "fields", line, n=len(record), m=len(header))
            trailing = len(record) > len(header) and not "".join(record[len(header):]).strip()
            if len(record) > len(header) and not trailing:
                errors.append(too_many)
                continue
            try:  # empty fields after the last column (Excel's ';;') are no fields, when the row reads well
                row = clean(dict(zip(header, record[:len(header)])), line)
            except PlacementError as exc:
                errors.append(too_many if trailing else exc)
                continue
            if row["code"] in seen:
                errors.append(PlacementError(f"code {row['code']} appears twice (lines {seen[row['code']]} and {line})",
                                             "twice", line, value=row["code"], first=seen[row["code"]]))
                continue
            seen[row["code"]] = line
            rows.append(row)
    except csv.Error as exc:
        errors.append(PlacementError(f"unparseable CSV ({exc}; unbalanced quotes?)", "bad_csv", reader.line_num,
                                     reason=str(exc)))
    if errors:
        raise ImportRefused(name, errors[:ImportRefused.MAX_REPORTED])
    if not rows:
        raise ImportRefused(name, [PlacementError("no placements after the header line", "no_rows")])
    return rows


# ---- reads ---------------------------------------------------------------------------------
def _may_read(viewer) -> None:
    if isinstance(viewer, auth.Viewer):
        viewer.require("page:placements")


def table(con, viewer, region: str | None = None, active: bool | None = None, q: str | None = None) -> pd.DataFrame:
    """The registry, by code; `q` finds a code or a name (either language) by a part of it."""
    _may_read(viewer)
    like = f"%{q.strip().lower()}%" if q and q.strip() else None
    return con.execute(
        "SELECT code, kind, name_ru, name_kk, region, district, lat, lon, active, created_at, created_by, "
        "updated_at, updated_by FROM placements WHERE (? IS NULL OR region = ?) AND (? IS NULL OR active = ?) "
        "AND (? IS NULL OR lower(code) LIKE ? OR lower(name_ru) LIKE ? OR lower(name_kk) LIKE ?) ORDER BY code",
        [region, region, active, active, like, like, like, like]).df()


def get(con, code: str) -> dict | None:
    rows = con.execute("SELECT code, kind, name_ru, name_kk, region, district, lat, lon, active FROM placements "
                       "WHERE code = ?", [normal_code(code)]).fetchall()
    return dict(zip(COLUMNS, rows[0])) if rows else None


def names(con) -> dict[str, dict[str, str]]:
    """code -> {"ru": name_ru, "kk": name_kk, "region": region}: what a placement is called wherever
    its code is shown (the same names are published for the public form: no permission needed)."""
    return {code: {"ru": ru, "kk": kk, "region": region} for code, ru, kk, region in
            con.execute("SELECT code, name_ru, name_kk, region FROM placements").fetchall()}


def version(con) -> tuple:
    """Changes whenever the registry does: the key for cached views of it."""
    return tuple(con.execute("SELECT count(*), max(updated_at), count(*) FILTER (WHERE active) FROM placements").fetchone())


def public_records(con) -> list[dict]:
    rows = con.execute(f"SELECT {', '.join(PUBLIC_FIELDS)} FROM placements ORDER BY code").fetchall()
    return [dict(zip(PUBLIC_FIELDS, row)) for row in rows]


# ---- writes --------------------------------------------------------------------------------
def _audit(actor: str, action: str, target: str | None, detail: dict | None = None) -> None:
    users = auth.connect()
    try:
        auth.audit(users, actor, action, target, detail)
    finally:
        users.close()


def _insert(con, row: dict, actor: str) -> None:
    con.execute("INSERT INTO placements (code, kind, name_ru, name_kk, region, district, lat, lon, active, "
                "created_by, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [*(row[c] for c in COLUMNS), actor, actor])


def _update(con, row: dict, actor: str) -> None:
    con.execute("UPDATE placements SET kind = ?, name_ru = ?, name_kk = ?, region = ?, district = ?, lat = ?, "
                "lon = ?, active = ?, updated_at = now(), updated_by = ? WHERE code = ?",
                [*(row[c] for c in COLUMNS[1:]), actor, row["code"]])


def add(con, who, record: dict) -> str:
    """A new placement; PlacementError when a field is bad or the code is taken. Returns the code."""
    actor = auth.actor_of(who, "placements")
    row = clean(record)
    with store.transaction(con):
        if get(con, row["code"]):
            raise PlacementError(f"placement {row['code']} exists already (codes are never reused)", "exists",
                                 value=row["code"])
        _insert(con, row, actor)
    publish(con)
    _audit(actor, "placement.add", row["code"])
    return row["code"]


def edit(con, who, code: str, record: dict) -> dict:
    """Change a placement's fields (its code stays). Returns the fields that changed."""
    actor = auth.actor_of(who, "placements")
    code = normal_code(code)
    row = clean({**record, "code": code})
    with store.transaction(con):
        old = get(con, code)
        if old is None:
            raise PlacementError(f"no placement {code}", "missing", value=code)
        changed = {k: row[k] for k in COLUMNS[1:] if _differs(old[k], row[k])}
        if changed:
            _update(con, row, actor)
    if changed:
        publish(con)
        _audit(actor, "placement.edit", code, {"fields": list(changed)})
    return changed


def _differs(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) > 1e-9
    return (a if a == a else None) != b


def set_active(con, who, code: str, active: bool) -> bool:
    """Deactivate (take down) or reactivate a placement; True when that changed anything. Its codes
    keep working on the form only while it is active (the form reads `active`)."""
    actor = auth.actor_of(who, "placements")
    code = normal_code(code)
    with store.transaction(con):
        old = get(con, code)
        if old is None:
            raise PlacementError(f"no placement {code}", "missing", value=code)
        if bool(old["active"]) == bool(active):
            return False
        con.execute("UPDATE placements SET active = ?, updated_at = now(), updated_by = ? WHERE code = ?",
                    [bool(active), actor, code])
    publish(con)
    _audit(actor, "placement.activate" if active else "placement.deactivate", code)
    return True


def deactivate(con, who, code: str) -> bool:
    return set_active(con, who, code, False)


def import_csv(con, who, source, name: str | None = None) -> dict:
    """Add the CSV's new codes and update the existing ones, all in one transaction: ImportRefused
    (listing each bad line) and nothing imported when any row is bad. Returns the counts."""
    actor = auth.actor_of(who, "placements")
    try:
        rows = read_csv(source, name)
    except ImportRefused as exc:
        exc.args = (f"{exc}; nothing imported",)
        raise
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    with store.transaction(con):
        for row in rows:
            old = get(con, row["code"])
            if old is None:
                _insert(con, row, actor)
                counts["added"] += 1
            elif any(_differs(old[k], row[k]) for k in COLUMNS[1:]):
                _update(con, row, actor)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
    if counts["added"] or counts["updated"]:
        publish(con)
    _audit(actor, "placement.import", name or (Path(source).name if isinstance(source, (str, Path)) else None), counts)
    return counts


def load_demo(con) -> int:
    """The demo's registry (data/placements.csv) in place of the table's rows (demo stores only)."""
    rows = read_csv(reference.DATA / "placements.csv")
    with store.transaction(con):
        con.execute("DELETE FROM placements")
        for row in rows:
            _insert(con, row, "demo")
    return len(rows)


# ---- the file the public form reads --------------------------------------------------------
def public_file(con=None) -> Path:
    return settings.public_path(store.db_file(con) if con is not None else None) / PUBLIC_FILE


def publish(con, folder: str | Path | None = None) -> Path:
    """Write placements.json for the public form: every placement's code, kind, names, region,
    district and whether it is active, by code. Atomic: a temporary file in the same folder is
    renamed over the old one, so the form never reads half a file."""
    target = Path(folder) / PUBLIC_FILE if folder else public_file(con)
    target.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(public_records(con), ensure_ascii=False, indent=1)
    fd, tmp = tempfile.mkstemp(prefix=".placements-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from a form running as another user
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def publish_if_missing(con) -> Path | None:
    """At the app's start: publish when there is no file yet (a new or restored store)."""
    target = public_file(con)
    return None if target.exists() else publish(con)


# ---- CLI -----------------------------------------------------------------------------------
def arguments_publish_placements(parser) -> None:
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--out", help="folder to write placements.json to (default: SC_PUBLIC_DIR, else <DB>.public)")


def run_publish_placements(args) -> int:
    db = settings.db_path(args.db)
    try:
        store.check_path(db)
        if not db.exists():
            print(f"error: {db} does not exist", file=sys.stderr)
            return 2
        con = store.connect(db, read_only=True)
    except store.StoreLocked as exc:
        print(f"error: {exc}; the running app publishes placements itself on every change", file=sys.stderr)
        return 2
    except store.StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'placements'").fetchone()[0]:
            print(f"error: {db} has no placements table yet (start the app once, or run any writing command)",
                  file=sys.stderr)
            return 2
        out = args.out or settings.public_path(db)
        target = publish(con, out)
        print(f"{len(public_records(con))} placements published to {target}")
    except OSError as exc:
        print(f"error: {exc.filename or args.out}: cannot write ({exc.strerror})", file=sys.stderr)
        return 2
    finally:
        con.close()
    return 0
