"""Validate raw records into submission rows; bad ones become quarantine rows with a reason.

`prepare(path, source)` does all the CPU work (reading, validation, classification, deadlines)
in the calling process; the result goes to a spool file that the single writer applies
(pipeline.spool). Nothing read from a file is dropped: each record is accepted or quarantined.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import classify, readers, reference, rollup, settings, sla, store, textbatch

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
    "%d.%m.%y %H:%M:%S", "%d.%m.%y %H:%M", "%d.%m.%y",
    # a database's export (fractions of a second), dashes and a comma before the time: day first
    "%d.%m.%Y %H:%M:%S.%f", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y, %H:%M",
    "%d.%m.%Y, %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
]
# What the last resort may read: ISO 8601 (year first), a date day first (01-11-2026 8:00,
# 1.11.26 08:00:00,5), or a month by its English name. Never a bare time ("08:00", which pandas
# dates today) and never month first: a file from Kazakhstan writes the day first.
_ISO = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?:[T ]|$)|^\d{8}(?:T\d{4,6})?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})(?=$|[\sT,])")
_MONTH_NAME = re.compile(r"[A-Za-z]{3}")
_TOTALS = re.compile(r"(?<!\w)(?:итого|всего|барлығы|жиыны|жалпы|total)(?!\w)", re.IGNORECASE)
SOURCE_ALIASES = {
    "109": "hotline_109", "hotline": "hotline_109", "hotline_109": "hotline_109", "звонок": "hotline_109",
    "телефон": "hotline_109", "qr": "qr", "qr код": "qr", "qr-код": "qr", "web": "web", "сайт": "web",
    "portal": "web", "портал": "web", "import": "import", "импорт": "import",
    # online channels of CRMs and e-Otinish: the resident wrote, not called
    "веб сайт": "web", "вебсайт": "web", "website": "web", "e otinish": "web", "eotinish": "web",
    "e отиниш": "web", "егов": "web", "egov": "web", "электронная почта": "web", "почта": "web",
    "email": "web", "e mail": "web", "telegram": "web", "телеграм": "web", "телеграм бот": "web",
    "whatsapp": "web", "ватсап": "web", "instagram": "web", "инстаграм": "web", "соцсети": "web",
    "социальные сети": "web", "мобильное приложение": "web", "приложение": "web",
    "горячая линия": "hotline_109", "call центр": "hotline_109", "колл центр": "hotline_109",
    "звонок 109": "hotline_109", "телефонный звонок": "hotline_109", "qr code": "qr",
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
    batch: int = 0                 # which batch of the file (prepare_batches), from 0
    batch_key: str | None = None   # see batch_key(): the same for the same batch of a re-run
    done: float = 1.0              # share of the file read so far
    notes: tuple[str, ...] = ()    # what the reader should know about the file (first batch only)


def file_checksum(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff \t\r\n\xa0\u2007\u202f"  # zero-width marks, spaces


def _clean_one(v):
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    v = str(v).strip()
    return v if v and v.strip(_INVISIBLE) else None


def _clean(series: pd.Series) -> pd.Series:
    """Strings stripped; None/NaN/'' become missing. One pass in a comprehension: a CSV's values
    are all strings, and pandas' where/map walked each column three times."""
    values = series.tolist()
    if values.count(None) == len(values):  # a column the file does not have (counted at C speed)
        return pd.Series(values, index=series.index, dtype=object)
    # a value of only zero-width characters (U+200B, pasted from a messenger) is as empty as ''
    values = [(s if (s := v.strip()) and s.strip(_INVISIBLE) else None) if v.__class__ is str
              else None if v is None else _clean_one(v) for v in values]
    return pd.Series(values, index=series.index, dtype=object)


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
    items = values.tolist()
    if all(v.__class__ is str or v is None for v in items):  # a CSV's column: no datetime objects
        text = pd.Series([None if v is None else v.strip() for v in items], index=values.index, dtype=object)
    else:
        native = values.map(lambda v: isinstance(v, (dt.datetime, dt.date)))
        if native.any():
            stamps = pd.to_datetime(values[native].map(lambda v: pd.Timestamp(v)), errors="coerce")
            out[native] = _localise(stamps, tz)
        text = values[~native].map(lambda v: None if v is None else str(v).strip())
    todo = text[text.notna()]
    # The formats exclude one another (their separators and numbers of fields differ), so the
    # order they are tried in changes nothing but the time: the first value's format first, since
    # an export writes all its dates alike (each format tried in vain was a pass over the column).
    for fmt in _formats_first(todo):
        if todo.empty:
            break
        parsed = _exact_by_arrow(todo, fmt)
        rest = parsed.isna()
        if rest.any():  # what Arrow did not read back exactly: pandas, as for every value before
            parsed[rest] = pd.to_datetime(todo[rest], format=fmt, errors="coerce")
        hit = parsed.notna()
        if hit.any():
            out[todo[hit].index] = _localise(parsed[hit], tz)
            todo = todo[~hit]
    if not todo.empty:  # Excel serial dates (numbers never fit a format above), then ISO 8601
        numeric = pd.to_numeric(todo, errors="coerce")
        serial = numeric.between(20000, 80000)
        if serial.any():
            stamps = pd.Timestamp("1899-12-30") + pd.to_timedelta(numeric[serial], unit="D")
            out[serial[serial].index] = _localise(stamps.dt.round("s"), tz)
            todo = todo[~serial]
        # Unix time (a CRM's API): seconds or milliseconds since 1970, years 2000-2100, always UTC
        for unit, lo, hi in (("s", 946684800, 4102444800), ("ms", 946684800e3, 4102444800e3)):
            epoch = numeric.reindex(todo.index).between(lo, hi) & todo.str.fullmatch(r"\d{10,13}").fillna(False)
            if epoch.any():
                out[epoch[epoch].index] = pd.to_datetime(numeric[epoch[epoch].index], unit=unit, utc=True) \
                    .astype("datetime64[us, UTC]")
                todo = todo[~epoch]
    if not todo.empty:  # what no format read, respelled (month names, '01.11.2026, 9.05), then the formats again
        respelled = todo.map(_respell)
        for fmt in DATE_FORMATS:
            if todo.empty:
                break
            parsed = pd.to_datetime(respelled[todo.index], format=fmt, errors="coerce")
            hit = parsed.notna()
            if hit.any():
                out[todo[hit].index] = _localise(parsed[hit], tz)
                todo = todo[~hit]
        todo = respelled[todo.index]
    if not todo.empty:  # ISO 8601 with offsets and other unambiguous forms
        parsed = todo.map(lambda v: _parse_iso(v, tz))
        hit = parsed.notna()
        out[todo[hit].index] = pd.to_datetime(parsed[hit], utc=True)
    return out


_MONTHS = {}  # a month's Russian or Kazakh name (any case ending, or cut short) -> its number
for _n, _names in enumerate((
        "январ янв қаңтар", "феврал фев ақпан", "март мар наурыз", "апрел апр сәуір", "ма мая мамыр",
        "июн маусым", "июл шілде", "август авг тамыз", "сентябр сен сент қыркүйек", "октябр окт қазан",
        "ноябр ноя нояб қараша", "декабр дек желтоқсан"), start=1):
    for _stem in _names.split():
        _MONTHS[_stem] = _n
_MONTH_WORD = re.compile(r"(?<!\w)(\d{1,2})\s+([^\W\d_]+)\.?\s+(\d{4})(?:\s*(?:г|ж|года|жыл\w*)\.?)?(?!\w)",
                         re.IGNORECASE)
_YEAR_SUFFIX = re.compile(r"(?<=\d{4})\s*(?:г|ж|года|жыл\w*)\.?(?!\w)", re.IGNORECASE)
_DOTTED_TIME = re.compile(r"(?<=\d{4})([\sT,]+)(\d{1,2})\.(\d{2})(?=$|\s|:)")
_YEAR_FIRST = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})(?=$|[\sT])")


def _month_number(word: str) -> int | None:
    word = word.lower()
    for cut in range(len(word), 1, -1):
        n = _MONTHS.get(word[:cut])
        if n is not None:
            return n
    return None


def _respell(v: str) -> str:
    """A date as e-Otinish, 1C and Excel write it, as one DATE_FORMATS reads: a protective leading
    apostrophe ('01.11.2026) goes, a month's name becomes its number (1 ноября 2026 г., 2 қараша
    2026 ж.), the year's г./ж. goes, a time with a dot (9.05) gets a colon, 2026.11.02 and
    2026/11/02 become 2026-11-02. Anything else is left as it was."""
    v = v.lstrip("'’`").strip()
    if not v or v[0] not in "0123456789":
        return v
    m = _MONTH_WORD.search(v)
    if m:
        n = _month_number(m.group(2))
        if n is not None:
            v = f"{v[:m.start()]}{int(m.group(1)):02d}.{n:02d}.{m.group(3)}{v[m.end():]}"
    v = _YEAR_SUFFIX.sub("", v)
    v = _DOTTED_TIME.sub(lambda m: f" {m.group(2)}:{m.group(3)}", v)
    v = _YEAR_FIRST.sub(lambda m: f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}", v)
    return " ".join(v.replace(" ,", ",").split())


_FIELD = {"%d": r"(?P<day>\d{1,2})", "%m": r"(?P<month>\d{1,2})", "%Y": r"(?P<year>\d{4})", "%H": r"\d{1,2}",
          "%M": r"\d{1,2}", "%S": r"\d{1,2}"}


@functools.cache
def _arrow_pattern(fmt: str) -> str | None:
    """A regular expression of `fmt`'s spellings with the day, month and year as groups, or None
    for a format left to pandas alone (%y: its century; %f: fractions of a second)."""
    parts = re.findall(r"%.|[^%]", fmt)
    if any(p.startswith("%") and p not in _FIELD for p in parts):
        return None
    return "^" + "".join(_FIELD.get(p) or (r"\s+" if p == " " else re.escape(p)) for p in parts) + "$"


def _exact_by_arrow(todo: pd.Series, fmt: str) -> pd.Series:
    """The values of `todo` (stripped strings) that spell a moment in `fmt`, parsed by Arrow's
    strptime (in C++: about 15 times faster than pandas for a column of a million), NaT for every
    other value. Arrow reads more loosely than pandas: a day past the month's end rolls over
    (31.02 as 03.03) and a two-digit year is year 25. So a value counts only when its day, month
    and year, as written, are those of the moment read, and the year has four digits; every other
    value is left to pandas, which reads it as it always did."""
    pattern = _arrow_pattern(fmt)
    if pattern is None:
        return pd.Series(pd.NaT, index=todo.index, dtype="datetime64[us]")
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(todo.tolist(), pa.string())
    parsed = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    written = pc.extract_regex(values, pattern)  # null where the value is not spelled so
    exact = pc.is_valid(parsed)
    for field, part in (("day", pc.day), ("month", pc.month), ("year", pc.year)):
        if f"<{field}>" in pattern:
            exact = pc.and_kleene(exact, pc.equal(pc.struct_field(written, field).cast(pa.int64()), part(parsed)))
    stamps = pc.if_else(exact.fill_null(False), parsed, pa.scalar(None, parsed.type)).cast(pa.timestamp("us"))
    return pd.Series(stamps.to_numpy(zero_copy_only=False), index=todo.index, dtype="datetime64[us]")


def _formats_first(todo: pd.Series) -> list[str]:
    """DATE_FORMATS with the format of the column's first value moved to the front."""
    if todo.empty:
        return DATE_FORMATS
    first = todo.iloc[:1]
    for fmt in DATE_FORMATS:
        if pd.to_datetime(first, format=fmt, errors="coerce").notna().all():
            return [fmt] + [f for f in DATE_FORMATS if f != fmt]
    return DATE_FORMATS


def _parse_iso(v: str, tz: str):
    """The last resort for a date no format fits: see _ISO and _DAY_FIRST. A naive value is local
    time in `tz`."""
    day_first = _DAY_FIRST.match(v)
    try:
        if _ISO.match(v) or (_MONTH_NAME.search(v) and not day_first):
            ts = pd.Timestamp(v)
        elif day_first:
            from dateutil import parser as dateparser

            ts = pd.Timestamp(dateparser.parse(v, dayfirst=True, yearfirst=False))
            # dayfirst is only a preference: where the second number cannot be a month (01.13.2026)
            # dateutil read the date month first, which a file from Kazakhstan never writes
            if (ts.day, ts.month) != (int(day_first.group(1)), int(day_first.group(2))):
                return None
        else:
            return None
    except (ValueError, TypeError, OverflowError):
        return None
    if ts is pd.NaT or not YEARS[0] <= ts.year <= YEARS[1]:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return ts


def _localise(stamps: pd.Series, tz: str) -> pd.Series:
    stamps = pd.to_datetime(stamps)
    stamps = stamps.where(stamps.dt.year.between(*YEARS))
    if getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return stamps.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _time_text(t) -> str | None:
    """A time cell as HH:MM:SS (text, a time or datetime, or Excel's fraction of a day); None when empty."""
    if t is None or (isinstance(t, float) and t != t):
        return None
    if isinstance(t, dt.datetime):
        t = t.time()
    if isinstance(t, dt.time):
        return t.strftime("%H:%M:%S")
    if isinstance(t, (int, float)) and 0 <= t < 1:
        seconds = round(t * 86400)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    t = str(t).strip()
    return t or None


def _with_time(dates: pd.Series, times: pd.Series) -> pd.Series:
    """A date column and a time column of their own (Дата; Время), as one value per row: the date
    with the time appended where the date has none. A date that has a time keeps it."""
    out = []
    for d, t in zip(dates.tolist(), times.tolist()):
        if (isinstance(t, dt.datetime) and t.year > 1900) or \
                (isinstance(t, str) and (_DAY_FIRST.match(t.strip()) or _ISO.match(t.strip()))):
            out.append(t)  # the time column holds the whole moment: it is the date
            continue
        t = _time_text(t)
        if t is None or d is None:
            out.append(d)
            continue
        if isinstance(d, dt.datetime):
            if d.time() != dt.time():
                out.append(d)
                continue
            d = d.date()
        if isinstance(d, dt.date):
            d = d.strftime("%d.%m.%Y")
        else:
            d = str(d).strip()
            try:  # an Excel serial date, as a number or as text
                serial = float(d)
            except ValueError:
                serial = None
            if serial is not None and 20000 <= serial <= 80000:
                if serial % 1:  # with its own time of day
                    out.append(d)
                    continue
                d = (pd.Timestamp("1899-12-30") + pd.to_timedelta(serial, unit="D")).strftime("%d.%m.%Y")
        out.append(d if ":" in d else f"{d} {t}")
    return pd.Series(out, index=dates.index, dtype=object)


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
    """Read, validate and classify one file as a whole (small files, tests). Raises
    readers.UnreadableFile when it cannot be read at all. Big files go through prepare_batches."""
    (prepared,) = prepare_batches(path, source, now, batch_rows=None, classify=True)
    return prepared


def batch_key(checksum: str, source: str, batch_rows: int | None, number: int) -> str:
    """What makes a batch the same batch again: the file's content, the source its rows get, how the
    file was cut and which piece. A re-run of a file (after a crash half-way, or by mistake) makes
    the same keys, and the drain applies a key only once (pipeline.spool)."""
    return f"{checksum}:{source}:{batch_rows or 0}:{number}"


def prepare_batches(path: str | Path, source: str | None = None, now: pd.Timestamp | None = None,
                    batch_rows: int | None = 100_000, classify: bool = False):
    """The file read and validated `batch_rows` records at a time: a generator of Prepared, one per
    batch, holding only that batch. Without `classify` the rows are left for the pending step
    (classify_pending): the drain stores them at once with category NULL, category_source 'pending'.
    Raises readers.UnreadableFile (before the first batch) when the file cannot be read at all."""
    path = Path(path)
    if source is not None and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    sniffed = readers._sniff(path)
    checksum = sniffed.checksum or file_checksum(path)
    now = now or pd.Timestamp.now(tz="UTC")
    tz = settings.get("TZ")
    batches = readers.iter_batches(path, batch_rows, sniffed)
    first = next(batches)  # raises UnreadableFile for a file that cannot be read at all
    default_source = source or ("web" if first.fmt == "open311" else "import")
    # A CSV's or a workbook's header says whether the file has dates; JSON records say it one by
    # one, so once any batch had one, the later ones are judged as having the column.
    has_dates = first.columns is not None and "received_at" in first.columns
    counter = first.headers.get("source_id") if _row_counter(first) else None
    notes = _notes(first, has_dates, counter)

    # Memory: a batch's records are let go as soon as it is validated, and a batch as soon as the
    # caller has taken it, so the next batch is read with neither held (the first batch, held by
    # this closure for the whole file, and every batch held while the next was read, had the
    # ingest of a big file at about three batches' worth of Python strings).
    head = [first]
    del first

    def gen():
        nonlocal has_dates
        for number, result in enumerate(_chain(head, batches)):
            if number and not result.read:
                continue  # the end of a file that filled its last batch exactly
            if result.columns is None:
                has_dates = has_dates or any("received_at" in r for r in result.records)
            if counter is not None:
                _counter_to_extra(result, counter)
            prepared = _validate(result, path, checksum, source, default_source, now, tz, has_dates)
            if classify:
                prepared.rows = enrich(prepared.rows)
            prepared.batch = number
            prepared.batch_key = batch_key(checksum, default_source, batch_rows, number)
            prepared.done = result.done
            prepared.notes = notes if number == 0 else ()
            del result
            yield prepared
            del prepared

    return gen()


# Headers under which an export numbers its rows 1, 2, 3 ... (a row counter, not the appeal's number:
# every month's export starts again at 1, and taken as ids the next month's rows were duplicates)
COUNTER_HEADERS = frozenset({"№", "номер", "нөмір", "no", "n"})


def _row_counter(first) -> bool:
    """The file's id column is a row counter: a counter's header, and the first batch's values
    whole numbers rising from 0 or 1 by small steps (a quarantined line may leave a gap)."""
    header = first.headers.get("source_id")
    if header is None or readers.norm_header(header) not in COUNTER_HEADERS:
        return False
    numbers, other = [], 0
    for r in first.records[:1000]:
        try:
            x = float(str(r.get("source_id")).strip())
            if x != int(x):
                return False
            numbers.append(int(x))
        except (ValueError, OverflowError):  # a totals line, the header again, an empty cell
            other += 1
    # counting on from page to page, or from 1 again on every page of an export page by page
    return (len(numbers) >= 2 and other <= max(2, len(numbers) // 10) and numbers[0] in (0, 1)
            and all(0 < b - a <= 3 or b == 1 for a, b in zip(numbers, numbers[1:])))


def _counter_to_extra(result, header: str) -> None:
    """The counter's values are kept with each row (in extra), not used as its id."""
    if result.columns is not None:
        result.columns = [c for c in result.columns if c != "source_id"]
    for r in result.records:
        v = r.pop("source_id", None)
        if v is not None and v != "":
            r.setdefault("_extra", {})[header] = v


def _notes(first, has_dates: bool, counter: str | None) -> tuple[str, ...]:
    notes, unmapped = [], first.unmapped
    if first.columns is None and first.records:  # JSON: what its objects' keys said
        has_dates = any("received_at" in r for r in first.records)
        unmapped = list(dict.fromkeys(k for r in first.records[:1000] for k in r.get("_extra", {})))
        if not any("text" in r for r in first.records):
            notes.append("no field with the submission text was recognised (expected e.g. 'text', 'description', "
                         "'Текст обращения'; see data/column_map.csv)")
    if first.records and not has_dates and (first.columns is not None or first.fmt in ("json", "jsonl")):
        notes.append("no date column was recognised: every row is dated at the time of loading "
                     "(expected e.g. 'Дата поступления' or 'Күні'; see data/column_map.csv)")
    if counter is not None:
        notes.append(f"column '{counter}' numbers the rows 1, 2, 3...: not taken as the appeal's number "
                     f"(the rows are told apart by text, time and contact)")
    if unmapped:
        notes.append("columns not recognised, kept with each row (extra): " + ", ".join(map(repr, unmapped)))
    return tuple(notes)


FIELDS = ["text", "received_at", "received_time", "district", "region", "address", "phone", "name", "contact",
          "source_id", "lat", "lon", "placement", "source", "_extra"]


def _frame(result) -> pd.DataFrame:
    """The records' fields as columns of Python objects (pandas would otherwise turn every text
    column into Arrow strings and back again in the validation below)."""
    records = result.records
    if result.columns is not None and records and len(records[0]) == len(result.columns):
        present = set(result.columns)  # a header's columns: the same in every record
    else:
        present = set()
        for r in records:
            present.update(r)
    empty = [None] * len(records)
    data = {c: ([r.get(c) for r in records] if c in present else empty) for c in FIELDS}
    return pd.DataFrame(data, dtype=object, index=pd.RangeIndex(len(records)))


def _chain(head: list, rest):
    """head's one item, then rest's, keeping no reference to any (see prepare_batches)."""
    yield head.pop()
    yield from rest


def _validate(result, path: Path, checksum: str, source: str | None, default_source: str, now, tz: str,
              has_date_column: bool) -> Prepared:
    """One batch of records: accepted rows (not yet classified) and quarantined ones, each with its reason."""
    frame = _frame(result)
    frame["_no"] = result.record_nos
    reasons = pd.Series("", index=frame.index)

    def reject(mask: pd.Series, reason) -> None:
        """`reason` is a text, or a function of the rejected rows' mask giving one text per row
        (built only for those rows: most batches reject none)."""
        mask = mask & (reasons == "")
        if mask.any():
            reasons[mask] = reason if isinstance(reason, str) else reason(mask)[mask]

    text = _clean(frame["text"])
    if text.isna().any():  # an export's totals line ("Итого: 20;;;") is no appeal: said so, not "empty text"
        raws = result.raws
        totals = pd.Series([t is None and bool(_TOTALS.search(raws[i])) for i, t in enumerate(text.tolist())],
                           index=frame.index)
        reject(totals, "a totals line of the export (Итого, Всего), not a submission")
    reject(text.isna(), "empty text")
    reject(pd.Series([v is not None and len(v) > MAX_TEXT for v in text.tolist()], index=frame.index),
           f"text longer than {MAX_TEXT} characters")

    raw_dates = frame["received_at"].astype(object)
    if has_date_column and frame["received_time"].notna().any():
        raw_dates = _with_time(raw_dates, frame["received_time"])
    if has_date_column:
        received = parse_dates(raw_dates.where(raw_dates.notna(), None), tz)
        empty_date = _clean(raw_dates).isna()
        reject(empty_date, "empty date (column received_at)")
        reject(received.isna(), lambda m: "unparseable date " + _shown(raw_dates[m]).map(repr) +
               " (expected e.g. 21.03.2026 14:05, 2026-03-21 14:05:00 or ISO 8601)")
        reject(received > now + FUTURE_TOLERANCE, lambda m: "date in the future: " + _shown(raw_dates[m]))
        reject(received < OLDEST, lambda m: "date before 2000: " + _shown(raw_dates[m]))
    else:
        # A file without any date column (e.g. a QR form export): registered on the day it arrives.
        received = pd.Series(now, index=frame.index).astype("datetime64[us, UTC]")

    district_raw = _clean(frame["district"])
    district = map_distinct(district_raw, reference.match_district)
    reject(district_raw.notna() & district.isna(), lambda m: "unknown district " + district_raw[m].map(repr)
           + " (not in data/districts.csv names or aliases)")
    region_raw = _clean(frame["region"])
    region = map_distinct(district, reference.region_of)
    region = region.fillna(map_distinct(region_raw, reference.match_region))
    reject(region_raw.notna() & district.isna() & region.isna(),
           lambda m: "unknown region " + region_raw[m].map(repr))

    lat_raw, lon_raw = _clean(frame["lat"]), _clean(frame["lon"])
    lat, lon = (pd.to_numeric(v, errors="coerce") if v.notna().any() else pd.Series(np.nan, index=v.index)
                for v in (lat_raw, lon_raw))
    bad_coord = (lat_raw.notna() & ~lat.between(-90, 90)) | (lon_raw.notna() & ~lon.between(-180, 180))
    reject(bad_coord, lambda m: "invalid coordinates lat=" + _shown(frame["lat"][m]) + " lon=" + _shown(frame["lon"][m]))

    src = _normalise_source(_clean(frame["source"]), default_source) if source is None else pd.Series(
        source, index=frame.index)
    if (src == "?").any():  # a channel we do not know ("Другое", "Мессенджер"): the file's own source,
        unknown = src == "?"  # and the label kept with the row, not the appeal refused
        frame["_extra"] = [({**(e if isinstance(e, dict) else {}), "source": v} if u else e)
                           for e, v, u in zip(frame["_extra"].tolist(), frame["source"].tolist(), unknown.tolist())]
        src = src.where(~unknown, default_source)

    contact = _clean(frame["contact"])
    for part in ("phone", "name"):  # contact; phone; name, each where given
        piece = _clean(frame[part])
        if piece.notna().any():
            contact = pd.Series([c if p is None else f"{'' if c is None else c}; {p}".strip("; ")
                                 for c, p in zip(contact.tolist(), piece.tolist())], index=frame.index, dtype=object)

    address = _clean(frame["address"])
    # default=str: XLSX cells are dates and numbers, JSON sources may nest; all kept as text.
    extra = pd.Series([json.dumps(e, ensure_ascii=False, default=str) if isinstance(e, dict) else None
                       for e in frame["_extra"].tolist()], index=frame.index, dtype=object)

    ok = reasons == ""
    rows = pd.DataFrame({
        "source": src, "source_id": _clean(frame["source_id"]), "received_at": received, "text": text,
        "region": region, "district": district, "address": address, "lat": lat, "lon": lon,
        "placement": _clean(frame["placement"]), "contact": contact, "extra": extra,
    })[ok].reset_index(drop=True)
    missing_id = rows["source_id"].isna()
    if missing_id.any():
        when = rows.loc[missing_id, "received_at"] if has_date_column else "file:" + checksum
        rows.loc[missing_id, "source_id"] = _content_id(rows.loc[missing_id, "text"], when,
                                                        rows.loc[missing_id, "contact"])
    dupes = rows.duplicated(["source", "source_id"])
    rows = rows[~dupes].reset_index(drop=True)

    # the raw records only of the rows quarantined: as a column of the frame, every raw line of
    # the batch was converted to an Arrow string (a sixth of the validation's time)
    raws = result.raws
    quarantine = pd.DataFrame({"record_no": frame["_no"][~ok],
                               "raw": pd.Series([raws[i] for i in np.flatnonzero(~ok.to_numpy())],
                                                index=frame.index[~ok], dtype="str"),
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
    texts = rows["text"].tolist()
    batch = textbatch.Batch(texts)  # split once for the classifier, the language and the search terms
    labels = classify.classify_texts(texts, batch)
    rows["language"] = labels["language"].to_numpy()
    rows["category"] = labels["category"].to_numpy()
    rows["category_confidence"] = labels["confidence"].to_numpy(dtype=float)
    rows["category_source"] = "model"
    rows["status"] = "new"
    rows["search_terms"] = batch.stored_terms().to_numpy(zero_copy_only=False)  # as the store keeps them
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
    import argparse

    parser.add_argument("files", nargs="+", help="files or folders to load")
    parser.add_argument("--source", choices=SOURCES, help="channel of every row (default: a source column, "
                        "else 'web' for Open311 and 'import' otherwise)")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show progress bars on stderr (default: when stderr is a terminal)")
    parser.add_argument("--classify", action=argparse.BooleanOptionalAction, default=True,
                        help="classify the stored rows right after storing them when this command is the "
                             "writer (default); --no-classify leaves them to `classify-pending` or the app")


def summary(counts: dict) -> str:
    return (f"read={counts['read']} inserted={counts['inserted']} "
            f"duplicates={counts['duplicates']} quarantined={counts['quarantined']}")


class _Applier:
    """Applies spool folders in a thread of its own while the next batch is read and checked: DuckDB
    works without the GIL, so the two overlap on two cores. At most two batches wait, so memory
    stays flat. The database is opened at the first batch (a command that spools nothing, because
    the disk is full, never touches it); when another process holds it, nothing is applied here
    and the writer's receipts are waited for at the end, as before."""

    def __init__(self, db: Path, inbox: Path):
        import queue
        import threading

        self.db, self.inbox = db, inbox
        self.con = None
        self.locked = False
        self.error: BaseException | None = None
        self.queue: "queue.Queue[str | None]" = queue.Queue(maxsize=2)
        self.thread = threading.Thread(target=self._run, name="ingest-applier", daemon=True)
        self.started = False

    def submit(self, spool_id: str) -> None:
        if not self.started:
            try:
                self.con = store.connect(self.db)
                # At DuckDB's default (a checkpoint per 16 MB of log) every batch was checkpointed:
                # 2.9 CPU-s of drain per 100,000 rows instead of 2.0 with none until the end. But
                # rows not yet checkpointed stay in memory: SC_INGEST_CHECKPOINT is the balance,
                # and SC_INGEST_MEMORY caps DuckDB's share of the ingest's memory.
                self.con.execute("SET checkpoint_threshold = ?", [settings.get("INGEST_CHECKPOINT")])
                self.con.execute("SET memory_limit = ?", [settings.get("INGEST_MEMORY")])
            except store.StoreLocked:
                self.locked = True
            self.started = True
            if self.con is not None:
                self.thread.start()
        if self.con is not None and self.error is None:
            self.queue.put(spool_id)

    def _run(self) -> None:
        from pipeline import spool

        while True:
            spool_id = self.queue.get()
            if spool_id is None:
                return
            if self.error is not None:
                continue  # the database cannot be written: the rest waits in the inbox
            try:
                spool.drain(self.con, self.inbox, refresh_rollup=False)  # once at the end (run_ingest)
            except BaseException as exc:  # reported by the main thread in one line
                self.error = exc

    def finish(self) -> None:
        if self.con is not None:
            self.queue.put(None)
            self.thread.join()


def run_ingest(args) -> int:
    from pipeline import pending, spool
    from pipeline.progress import Progress

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
    batch_rows = settings.get_int("INGEST_BATCH")
    applier = _Applier(db, inbox)
    failed = 0
    spooled: list[tuple[Path, str]] = []
    try:
        for path in expand(args.files):
            failed += _ingest_file(path, args, batch_rows, inbox, applier, spooled)
    except store.StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        applier.finish()
    if applier.error is not None:
        exc = applier.error
        if applier.con is not None:
            _close(applier.con)
        if isinstance(exc, (duckdb_error(), spool.CannotWrite)):
            print(f"error: {db}: cannot write the database ({spool.why(exc)}); the spool files not applied "
                  f"wait in {inbox} for the next drain", file=sys.stderr)
            return 2
        raise exc
    try:
        if applier.con is not None:
            try:  # anything still in the inbox (a spool of another process, listed late)
                spool.drain(applier.con, inbox, refresh_rollup=False)
                rollup.keep_up(applier.con)  # once for all the batches the applier stored
            except duckdb_error() as exc:
                raise spool.CannotWrite(f"{db}: cannot write the database ({spool.why(exc)})") from exc
        receipts = spool.apply_or_wait(db, inbox, [sid for _, sid in spooled], settings.get_float("INGEST_WAIT")) \
            if applier.con is None else _receipts(inbox, [sid for _, sid in spooled])
    except (spool.CannotWrite, store.StoreError) as exc:
        if applier.con is not None:
            _close(applier.con)
        print(f"error: {exc}; the spool files not applied wait in {inbox} for the next drain", file=sys.stderr)
        return 2
    per_file: dict[Path, dict] = {}
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
        counts = per_file.setdefault(path, {k: 0 for k in total})
        for k in total:
            counts[k] += receipt[k]
            total[k] += receipt[k]
    if len({path for path, _ in spooled}) > 1:
        for path, counts in per_file.items():
            print(f"{path}: {summary(counts)}")
    if applier.con is not None:
        try:
            if args.classify:
                pending.tune(applier.con)  # its batches of rewritten rows outgrow SC_INGEST_MEMORY
                bar = Progress("classify", enabled=args.progress, unit="texts")
                pending.classify_pending(applier.con, progress=bar.update)
                bar.close()
            waiting = pending.pending_count(applier.con)
        except duckdb_error() as exc:
            print(f"error: {db}: cannot write the database ({spool.why(exc)}); the rows are stored and wait "
                  f"for `python -m pipeline classify-pending`", file=sys.stderr)
            return 2
        finally:
            _close(applier.con)
        if waiting:
            print(f"{waiting} stored rows wait for their classification (python -m pipeline classify-pending, "
                  f"or the running app)")
    print(summary(total))
    return 1 if failed else 0


def duckdb_error():
    import duckdb

    return duckdb.Error


def _close(con) -> None:
    try:
        con.close()
    except duckdb_error():
        pass


def _receipts(inbox: Path, spool_ids: list[str]) -> dict[str, dict]:
    from pipeline import spool

    out = {}
    for sid in spool_ids:
        path = spool.receipt_path(inbox, sid)
        if path.exists():
            out[sid] = json.loads(path.read_text(encoding="utf-8"))
    return out


def _ingest_file(path: Path, args, batch_rows: int, inbox: Path, applier: _Applier,
                 spooled: list[tuple[Path, str]]) -> int:
    """Read, check and spool one file batch by batch; 1 when it failed (said in one line), else 0."""
    from pipeline import spool
    from pipeline.progress import Progress

    bar = Progress(str(path), enabled=args.progress)
    records = 0
    try:
        batches = prepare_batches(path, args.source, batch_rows=batch_rows)
        for prepared in batches:
            try:
                sid = spool.write(prepared, inbox)
            except OSError as exc:
                stored = ("nothing of it was stored" if not records else
                          f"its first {records} records were stored; run the same command again for the rest")
                print(f"error: {path}: cannot write its spool file in {inbox} ({spool.why(exc)}); {stored}",
                      file=sys.stderr)
                return 1
            spooled.append((path, sid))
            for note in prepared.notes:
                print(f"note: {path}: {note}", file=sys.stderr)
            records += prepared.read
            share = prepared.done
            del prepared  # not held while the next batch is read
            applier.submit(sid)
            bar.update(records, share=share)
    except readers.UnreadableFile as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    return 0
