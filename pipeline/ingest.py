"""Validate raw records into submission rows; bad ones become quarantine rows with a reason.

`prepare(path, source)` does all the CPU work (reading, validation, classification, deadlines)
in the calling process; the result goes to a spool file that the single writer applies
(pipeline.spool). Nothing read from a file is dropped: each record is accepted or quarantined.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import classify, readers, reference, search, settings, sla, store

SOURCES = ("hotline_109", "qr", "web", "import")
MAX_TEXT = 20000
FUTURE_TOLERANCE = pd.Timedelta(hours=1)
OLDEST = pd.Timestamp("2000-01-01", tz="UTC")
# Years a date in a file may have before it is unparseable: pandas cannot move a year 1 or year -1
# between time zones (it raises NotImplementedError), and such a value is a typo anyway.
YEARS = (1900, 2200)
DATE_FORMATS = [
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%d.%m.%y %H:%M", "%d.%m.%y",
]
SOURCE_ALIASES = {
    "109": "hotline_109", "hotline": "hotline_109", "hotline_109": "hotline_109", "звонок": "hotline_109",
    "телефон": "hotline_109", "qr": "qr", "qr код": "qr", "qr-код": "qr", "web": "web", "сайт": "web",
    "portal": "web", "портал": "web", "import": "import", "импорт": "import",
}
COLUMNS = ["source", "source_id", "received_at", "text", "region", "district", "address", "lat", "lon",
           "placement", "contact"]


@dataclass
class Prepared:
    path: Path
    checksum: str
    source: str
    read: int
    rows: pd.DataFrame          # accepted submission rows, one per distinct source_id
    file_duplicates: int        # accepted records repeating an earlier record of the same file
    quarantine: pd.DataFrame    # record_no, raw, reason
    fmt: str
    encoding: str | None


def file_checksum(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _clean(series: pd.Series) -> pd.Series:
    """Strings stripped; None/NaN/'' become missing."""
    s = series.astype(object).where(series.notna(), None)
    s = s.map(lambda v: v if v is None else str(v).strip())
    return s.where(s.astype(bool), None)


def _shown(series: pd.Series) -> pd.Series:
    """Each value as text for a quarantine reason, a missing one as ''. (In pandas 3
    `astype(str)` keeps missing values missing, and 'lat=' + missing is a missing reason.)"""
    return series.astype(object).map(lambda v: "" if v is None or v is pd.NA or v is pd.NaT
                                     or (isinstance(v, float) and v != v) else str(v))


def map_distinct(series: pd.Series, fn) -> pd.Series:
    """fn applied once per distinct non-missing value: exports repeat a few dozen district names."""
    values = series.dropna().unique()
    return series.map(dict(zip(values, (fn(v) for v in values))))


def parse_dates(values: pd.Series, tz: str) -> pd.Series:
    """Instants (UTC) from the formats call centres export; NaT where nothing fits.

    Naive values are local time (the akimat's), values with an offset keep it,
    numbers are Excel serial dates, datetime objects (XLSX) are taken as local.
    """
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    native = values.map(lambda v: isinstance(v, (dt.datetime, dt.date)))
    if native.any():
        stamps = pd.to_datetime(values[native].map(lambda v: pd.Timestamp(v)), errors="coerce")
        out[native] = _localise(stamps, tz)
    text = values[~native].map(lambda v: None if v is None else str(v).strip())
    numeric = pd.to_numeric(text, errors="coerce")
    serial = numeric.between(20000, 80000)
    if serial.any():
        stamps = pd.Timestamp("1899-12-30") + pd.to_timedelta(numeric[serial], unit="D")
        out[serial[serial].index] = _localise(stamps.dt.round("s"), tz)
    todo = text[~serial & text.notna()]
    for fmt in DATE_FORMATS:
        if todo.empty:
            break
        parsed = pd.to_datetime(todo, format=fmt, errors="coerce")
        hit = parsed.notna()
        if hit.any():
            out[todo[hit].index] = _localise(parsed[hit], tz)
            todo = todo[~hit]
    if not todo.empty:  # ISO 8601 with offsets and other unambiguous forms
        parsed = todo.map(_parse_iso)
        hit = parsed.notna()
        out[todo[hit].index] = pd.to_datetime(parsed[hit], utc=True)
    return out


def _parse_iso(v: str):
    try:
        ts = pd.Timestamp(v)
    except (ValueError, TypeError, OverflowError):
        return None
    if ts is pd.NaT or not YEARS[0] <= ts.year <= YEARS[1]:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(settings.get("TZ"), ambiguous="NaT", nonexistent="NaT")
    return ts


def _localise(stamps: pd.Series, tz: str) -> pd.Series:
    stamps = pd.to_datetime(stamps)
    stamps = stamps.where(stamps.dt.year.between(*YEARS))
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return stamps.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _content_id(text: pd.Series, when: pd.Series | str, contact: pd.Series) -> pd.Series:
    """An id for rows without one: text, time and contact; `when` is the received time, or for a
    file without dates the file's checksum (its rows get the time of the ingest, which would make
    the same file loaded twice two sets of rows)."""
    if not isinstance(when, str):
        when = when.dt.strftime("%Y-%m-%dT%H:%M:%S")
    keys = text.str.lower().str.replace(r"\s+", " ", regex=True) + "|" + when + "|" + contact.fillna("")
    return keys.map(lambda k: "h:" + hashlib.sha1(k.encode("utf-8")).hexdigest()[:20])


def _normalise_source(values: pd.Series, default: str) -> pd.Series:
    mapped = values.map(lambda v: None if v is None else SOURCE_ALIASES.get(readers.norm_header(v), "?"))
    return mapped.fillna(default)


def prepare(path: str | Path, source: str | None = None, now: pd.Timestamp | None = None) -> Prepared:
    """Read and validate one file. Raises readers.UnreadableFile when it cannot be read at all."""
    path = Path(path)
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    result = readers.read_file(path)
    now = now or pd.Timestamp.now(tz="UTC")
    tz = settings.get("TZ")
    default_source = source or ("web" if result.fmt == "open311" else "import")

    frame = pd.DataFrame.from_records(result.records) if result.records else pd.DataFrame()
    for col in ["text", "received_at", "district", "region", "address", "phone", "name", "contact",
                "source_id", "lat", "lon", "placement", "source", "_extra"]:
        if col not in frame:
            frame[col] = None
    frame["_no"] = result.record_nos
    frame["_raw"] = result.raws
    reasons = pd.Series("", index=frame.index)

    def reject(mask: pd.Series, reason) -> None:
        mask = mask & (reasons == "")
        if mask.any():
            reasons[mask] = reason if isinstance(reason, str) else reason[mask]

    text = _clean(frame["text"])
    reject(text.isna(), "empty text")
    reject(text.fillna("").str.len() > MAX_TEXT, f"text longer than {MAX_TEXT} characters")

    has_date_column = any("received_at" in r for r in result.records)
    raw_dates = frame["received_at"].astype(object)
    if has_date_column:
        received = parse_dates(raw_dates.where(raw_dates.notna(), None), tz)
        empty_date = _clean(raw_dates).isna()
        reject(empty_date, "empty date (column received_at)")
        reject(received.isna(), "unparseable date " + _shown(raw_dates).map(repr) +
               " (expected e.g. 21.03.2026 14:05, 2026-03-21 14:05:00 or ISO 8601)")
        reject(received > now + FUTURE_TOLERANCE, "date in the future: " + _shown(raw_dates))
        reject(received < OLDEST, "date before 2000: " + _shown(raw_dates))
    else:
        # A file without any date column (e.g. a QR form export): registered on the day it arrives.
        received = pd.Series(now, index=frame.index).astype("datetime64[us, UTC]")

    district_raw = _clean(frame["district"])
    district = map_distinct(district_raw, reference.match_district)
    reject(district_raw.notna() & district.isna(), "unknown district " + district_raw.fillna("").map(repr)
           + " (not in data/districts.csv names or aliases)")
    region_raw = _clean(frame["region"])
    region_codes = {reference._norm(str(v)): c for c, names in
                    reference.regions().set_index("code")[["name_ru", "name_kk", "name_en"]].iterrows()
                    for v in [c, *names]}
    region = map_distinct(district, reference.region_of)
    region = region.fillna(map_distinct(region_raw, lambda v: region_codes.get(reference._norm(v))))
    reject(region_raw.notna() & district.isna() & region.isna(),
           "unknown region " + region_raw.fillna("").map(repr))

    lat = pd.to_numeric(_clean(frame["lat"]), errors="coerce")
    lon = pd.to_numeric(_clean(frame["lon"]), errors="coerce")
    bad_coord = (_clean(frame["lat"]).notna() & ~lat.between(-90, 90)) | (
        _clean(frame["lon"]).notna() & ~lon.between(-180, 180))
    reject(bad_coord, "invalid coordinates lat=" + _shown(frame["lat"]) + " lon=" + _shown(frame["lon"]))

    src = _normalise_source(_clean(frame["source"]), default_source) if source is None else pd.Series(
        source, index=frame.index)
    reject(src == "?", "unknown source " + _shown(frame["source"]).map(repr))

    contact = _clean(frame["contact"])
    for part in ("phone", "name"):
        piece = _clean(frame[part])
        contact = contact.where(piece.isna(), contact.fillna("").str.cat(piece, sep="; ").str.strip("; "))

    address = _clean(frame["address"])
    # default=str: XLSX cells are dates and numbers, JSON sources may nest; all kept as text.
    extra = frame["_extra"].map(lambda e: json.dumps(e, ensure_ascii=False, default=str)
                                if isinstance(e, dict) else None)

    ok = reasons == ""
    rows = pd.DataFrame({
        "source": src, "source_id": _clean(frame["source_id"]), "received_at": received, "text": text,
        "region": region, "district": district, "address": address, "lat": lat, "lon": lon,
        "placement": _clean(frame["placement"]), "contact": contact, "extra": extra,
    })[ok].reset_index(drop=True)
    checksum = file_checksum(path)
    missing_id = rows["source_id"].isna()
    if missing_id.any():
        when = rows.loc[missing_id, "received_at"] if has_date_column else "file:" + checksum
        rows.loc[missing_id, "source_id"] = _content_id(rows.loc[missing_id, "text"], when,
                                                        rows.loc[missing_id, "contact"])
    dupes = rows.duplicated(["source", "source_id"])
    rows = rows[~dupes].reset_index(drop=True)
    rows = enrich(rows)

    quarantine = pd.DataFrame({"record_no": frame["_no"][~ok], "raw": frame["_raw"][~ok],
                               "reason": reasons[~ok]})
    if result.bad:
        quarantine = pd.concat([quarantine, pd.DataFrame(result.bad, columns=["record_no", "raw", "reason"])])
    quarantine = quarantine.sort_values("record_no").reset_index(drop=True)
    prepared = Prepared(path, checksum, default_source, result.read, rows, int(dupes.sum()),
                        quarantine, result.fmt, result.encoding)
    assert len(rows) + prepared.file_duplicates + len(quarantine) == prepared.read
    return prepared


def enrich(rows: pd.DataFrame) -> pd.DataFrame:
    """Classify and set the initial case fields: what every new submission gets."""
    if rows.empty:
        for col in ["language", "category", "category_confidence", "category_source", "status",
                    "priority", "department", "feedback_due_at", "due_at"]:
            rows[col] = pd.Series(dtype=object)
        rows["search_terms"] = pd.Series(dtype=object)
        return rows
    labels = classify.classify_texts(rows["text"].tolist())
    rows["language"] = labels["language"].to_numpy()
    rows["category"] = labels["category"].to_numpy()
    rows["category_confidence"] = labels["confidence"].to_numpy(dtype=float)
    rows["category_source"] = "model"
    rows["status"] = "new"
    rows["search_terms"] = [search.doc_terms(t) for t in rows["text"]]
    case = sla.initial_case_fields(rows[["received_at", "category", "text", "district"]])
    for col in ["priority", "department", "feedback_due_at", "due_at"]:
        rows[col] = case[col].to_numpy()
    return rows


# ---- CLI -----------------------------------------------------------------------------------
def expand(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))
        else:
            out.append(p)
    return out


def arguments_ingest(parser) -> None:
    parser.add_argument("files", nargs="+", help="files or folders to load")
    parser.add_argument("--source", choices=SOURCES, help="channel of every row (default: a source column, "
                        "else 'web' for Open311 and 'import' otherwise)")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")


def summary(counts: dict) -> str:
    return (f"read={counts['read']} inserted={counts['inserted']} "
            f"duplicates={counts['duplicates']} quarantined={counts['quarantined']}")


def run_ingest(args) -> int:
    from pipeline import spool

    db = settings.db_path(args.db)
    inbox = settings.inbox_path(db)
    # Before any work: a --db that is not a DuckDB file (or an inbox that cannot be made) would
    # otherwise be found out only after the files were read and spooled.
    try:
        store.check_path(db)
        (inbox / "tmp").mkdir(parents=True, exist_ok=True)
        spool.clean_tmp(inbox)
    except store.StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot create the spool inbox {inbox} ({exc.strerror})", file=sys.stderr)
        return 2
    # A spool set aside is reported below in one line; the drain's log warning would be a second.
    spool_log = logging.getLogger("pipeline.spool")
    if not any(isinstance(h, logging.NullHandler) for h in spool_log.handlers):
        spool_log.addHandler(logging.NullHandler())
    failed = 0
    spooled = []
    for path in expand(args.files):
        try:
            prepared = prepare(path, args.source)
        except readers.UnreadableFile as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        except ValueError as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        try:
            spooled.append((path, spool.write(prepared, inbox)))
        except OSError as exc:
            print(f"error: {path}: cannot write its spool file in {inbox} ({spool.why(exc)}); nothing of it "
                  f"was stored", file=sys.stderr)
            failed += 1
    try:
        receipts = spool.apply_or_wait(db, inbox, [sid for _, sid in spooled], settings.get_float("INGEST_WAIT"))
    except (spool.CannotWrite, store.StoreError) as exc:
        print(f"error: {exc}; the spool files not applied wait in {inbox} for the next drain", file=sys.stderr)
        return 2
    total = {"read": 0, "inserted": 0, "duplicates": 0, "quarantined": 0}
    for path, sid in spooled:
        receipt = receipts.get(sid)
        aside = spool.broken_path(inbox, sid)
        if receipt is None and aside.exists():
            why = (aside / "why.txt").read_text(encoding="utf-8").strip() if (aside / "why.txt").exists() else "?"
            print(f"error: {path}: not applied, {why}; kept in {aside}", file=sys.stderr)
            failed += 1
            continue
        if receipt is None:
            print(f"{path}: queued as {sid}; the running app will apply it when it drains {inbox}")
            continue
        if len(spooled) > 1:
            print(f"{path}: {summary(receipt)}")
        for k in total:
            total[k] += receipt[k]
    print(summary(total))
    return 1 if failed else 0
