"""Read whatever call-centre software exports into raw records.

CSV (UTF-8, UTF-8 with BOM, UTF-16 from Excel's "Unicode text" with or without a BOM, cp1251,
KZ-1048; `,` `;` tab; quoted multi-line texts; title lines above the header), XLSX (every sheet with
a header), JSON Lines and Open311 GeoReport v2 JSON. A record that cannot be parsed
becomes a bad record with its number and reason; only a file that cannot be read at all raises.
"""
from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import html.parser
import io
import itertools
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from pipeline import settings
from pipeline.settings import ROOT

csv.field_size_limit(16 * 1024 * 1024)


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message names the file and the problem."""


@dataclass
class ReadResult:
    path: Path
    fmt: str
    records: list[dict]                 # mapped column name -> value (strings, or native XLSX/JSON values)
    record_nos: list[int]               # 1-based line (CSV, JSONL) or record number
    raws: list[str]                     # the record as it stood in the file, for quarantine
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (record_no, raw, reason)
    encoding: str | None = None
    delimiter: str | None = None
    unmapped: list[str] = field(default_factory=list)
    columns: list[str] | None = None    # our columns the file has, when a header says so (CSV, XLSX)
    headers: dict[str, str] = field(default_factory=dict)  # our column -> the file's header (CSV, XLSX)
    done: float = 1.0                   # share of the file read when this batch was handed out

    @property
    def read(self) -> int:
        return len(self.records) + len(self.bad)


# ---- header mapping ------------------------------------------------------------------------
_CAMEL = re.compile(r"([a-z])([A-Z])")  # createdAt, dateCreated: JSON keys of CRMs
def norm_header(h: object) -> str:
    s = _CAMEL.sub(r"\1_\2", str(h or "").replace("\ufeff", "")).lower().replace("ё", "е")
    s = re.sub(r"[^\w№]+", " ", s)
    return re.sub(r"\s+", " ", s).strip()


@functools.cache
def column_aliases() -> dict[str, str]:
    frame = pd.read_csv(ROOT / "data" / "column_map.csv", dtype=str, keep_default_na=False)
    return {norm_header(a): c for c, a in zip(frame["column"], frame["alias"])}


@functools.cache
def column_keywords() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """data/column_keywords.csv: for a header no alias names exactly, the column whose word
    beginnings it has ("Дата и время обращения": дат), unless it has one of the others ("Дата
    закрытия" is not when the appeal came in). In the file's order."""
    frame = pd.read_csv(ROOT / "data" / "column_keywords.csv", dtype=str, keep_default_na=False)
    return [(c, tuple(p.split()), tuple(u.split())) for c, p, u in zip(frame["column"], frame["prefixes"],
                                                                      frame["unless"])]


def map_headers(headers: list) -> tuple[list[str | None], list[str]]:
    """Our column for each header (None when unknown); first match of a column wins. Exact names
    (data/column_map.csv) first; then, for the columns still missing, a header's word beginnings
    (data/column_keywords.csv), so "Дата и время обращения" or "Район/Ауданы" are understood too."""
    aliases, taken, mapped = column_aliases(), set(), []
    normed = [norm_header(h) for h in headers]
    for n in normed:
        col = aliases.get(n)
        if col and col not in taken:
            taken.add(col)
            mapped.append(col)
        else:
            mapped.append(None)
    # by rule, in the file's order of rules: a stronger rule for a column is tried on every header
    # before a weaker one ("Содержание обращения" is the text before a "Комментарий" is)
    for col, prefixes, unless in column_keywords():
        if col in taken:
            continue
        for i, n in enumerate(normed):
            words = re.split(r"[\s_]+", n)  # message_id: message, id
            if mapped[i] is None and n not in aliases and \
                    any(w.startswith(prefixes) for w in words) and not (unless and any(w.startswith(unless) for w in words)):
                taken.add(col)
                mapped[i] = col
                break
    if "received_time" in taken and "received_at" not in taken:  # "Время поступления" alone holds the date too
        mapped = ["received_at" if col == "received_time" else col for col in mapped]
    unmapped = [str(h) for h, n, col in zip(headers, normed, mapped) if col is None and n]
    return mapped, unmapped


def header_names(mapped: list[str | None], headers: list) -> dict[str, str]:
    """Our column -> the file's header it was read from."""
    return {c: str(h) for c, h in zip(mapped, headers) if c}


def _record(mapped: list[str | None], headers: list, values: list) -> dict:
    rec, extra = {}, {}
    for i, (col, h, v) in enumerate(zip(mapped, headers, values), start=1):
        if col:
            rec[col] = v
        elif v not in (None, ""):
            key = "" if h is None else str(h)
            if not key.strip() or key in extra:  # two columns of one name, or none: both kept
                key = f"{key} (column {i})".lstrip()
            extra[key] = v
    if extra:
        rec["_extra"] = extra  # kept with the record so nothing in the file is lost
    return rec


# ---- sniffing ------------------------------------------------------------------------------
def _looks_binary(head: bytes) -> bool:
    # A share of control bytes, not any NUL: one NUL in a text export is a damaged record, which is
    # quarantined (read_csv_text), not a reason to reject 150 good ones.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return len(head) > 0 and control / len(head) > 0.05


DAMAGED = " (damaged)"  # suffix of an encoding whose invalid bytes were replaced by U+FFFD
# The bytes where Windows' Kazakh code page (KZ-1048) has a Kazakh letter (Қ Һ Ұ Ә Ө Ғ Ү Ң, either
# case) and cp1251 a Serbian or Ukrainian one (Ќ Ћ Ў Ј Ґ Є Ї Ѕ): a single-byte file with them is
# Kazakh, which cp1251 cannot even write.
KAZAKH_BYTES = tuple(bytes([b]) for b in (0x8D, 0x8E, 0x9D, 0x9E, 0xA1, 0xA2, 0xA3, 0xA5, 0xAA, 0xAF, 0xB4,
                                          0xBA, 0xBC, 0xBD, 0xBE, 0xBF))


# Of those, the bytes of қ Қ һ Һ ұ Ұ ә Ә ң Ң: cp1251 has Ќ ќ Ћ ћ Ў ў Ј ј Ѕ ѕ there, letters of no Russian
# or Ukrainian text (Ukrainian's ї є ґ sit on the other differing bytes, so they alone decide nothing)
STRONG_KAZAKH = tuple(bytes([b]) for b in (0x8D, 0x9D, 0x8E, 0x9E, 0xA1, 0xA2, 0xA3, 0xBC, 0xBD, 0xBE))


def _kazakh_bytes(data: bytes) -> int:
    return sum(data.count(b) for b in STRONG_KAZAKH)


def _single_byte(kazakh: int) -> str:
    """cp1251, or kz1048 when the file has Kazakh letters in the bytes where the two differ."""
    return "kz1048" if kazakh >= 3 else "cp1251"


def single_byte_encoding(data: bytes) -> str:
    """The Windows code page of a file that is not UTF: cp1251, or the Kazakh KZ-1048."""
    return _single_byte(_kazakh_bytes(data))


def binary(head: bytes) -> bool:
    """The file's first bytes are no text table: many control bytes, and not UTF-16 with or without a BOM."""
    return _utf16_without_bom(head[:8192]) is None and _looks_binary(head[:8192])


def _utf16_without_bom(head: bytes) -> str | None:
    """Excel and some exporters write UTF-16 without a byte-order mark: every other byte is 0x00
    (Latin, digits, separators) or 0x04 (Cyrillic)."""
    n = len(head) // 2 * 2
    if n < 32:
        return None
    even, odd = head[0:n:2], head[1:n:2]
    for name, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if (high.count(0) + high.count(4)) > 0.9 * len(high) and high.count(0) > 0.1 * len(high) \
                and low.count(0) < 0.01 * len(low):
            return name
    return None


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text and its encoding. Invalid bytes in a file that is otherwise clearly UTF-8 (or
    UTF-16, or cp1251) become U+FFFD and the encoding gets the DAMAGED suffix: the records holding
    them are quarantined (read_file) and the rest are read, instead of decoding a whole UTF-8 file
    with one broken byte as cp1251, which turned every Cyrillic letter into two wrong ones."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:  # an odd byte at the end, a lone surrogate
            return data.decode("utf-16", errors="replace"), "utf-16" + DAMAGED
    name = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError:
        pass
    as_utf8 = data.decode("utf-8-sig", errors="replace")
    invalid = as_utf8.count("\ufffd")
    valid = len(as_utf8) - len(as_utf8.encode("ascii", "ignore")) - invalid  # non-ASCII letters read
    # cp1251 Cyrillic read as UTF-8 is almost all invalid; UTF-8 with a few broken bytes is not.
    if valid >= 4 * invalid:
        return as_utf8, name + DAMAGED
    single = single_byte_encoding(data)
    try:
        return data.decode(single), single
    except UnicodeDecodeError:  # 0x98, the one byte cp1251 does not define
        return data.decode(single, errors="replace"), single + DAMAGED


def _quarantine_damaged(result: "ReadResult") -> None:
    """Records holding bytes that were not valid in the file's encoding go to quarantine."""
    keep = [i for i, raw in enumerate(result.raws) if "\ufffd" not in raw]
    if len(keep) == len(result.raws):
        return
    encoding = result.encoding.removesuffix(DAMAGED)
    reason = f"bytes that are not valid {encoding} in the record (shown as \ufffd; a damaged export?)"
    kept = set(keep)
    result.bad.extend((no, raw, reason) for i, (no, raw) in enumerate(zip(result.record_nos, result.raws))
                      if i not in kept)
    result.records = [result.records[i] for i in keep]
    result.record_nos = [result.record_nos[i] for i in keep]
    result.raws = [result.raws[i] for i in keep]


def sniff_delimiter(text: str) -> str:
    lines = text[:65536].splitlines()[:40]
    # a title line or two above the header ("Выгрузка обращений за ноябрь") has no delimiter at all
    while len(lines) > 1 and not any(d in lines[0] for d in ",;\t|"):
        lines.pop(0)
    sample = "\n".join(lines[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        return max(",;\t|", key=first.count)


# ---- readers -------------------------------------------------------------------------------
CHUNK = 1 << 20  # bytes read at a time while sniffing a file


@dataclass
class Sniffed:
    """What one streaming pass over the bytes tells before any record is read."""
    kind: str                 # "xlsx" or "text"
    encoding: str | None      # Python codec name (DAMAGED suffix: invalid bytes become U+FFFD)
    checksum: str             # sha256 of the file's bytes
    size: int


def _utf8_valid(data: bytes) -> bool:
    """Whether `data` is strict UTF-8, by Arrow's validator: the verdict of Python's strict decoder
    (overlong forms, surrogates and code points past U+10FFFF refused alike; tested), without
    building the text. Decoding a 736 MB export only to check it took 1.4 s of the ingest's
    reading thread; this takes about 0.5."""
    import pyarrow as pa

    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


class Utf8Check:
    """Strict UTF-8 validity of a byte stream fed in chunks, with the interface of an incremental
    decoder (`decode(chunk, final)` raises UnicodeDecodeError) but returning nothing: a character
    cut by a chunk's end is held back for the next chunk."""

    def __init__(self) -> None:
        self._tail = b""

    def decode(self, chunk: bytes, final: bool = False) -> str:
        data = self._tail + chunk if self._tail else chunk
        cut = len(data) if final else _complete(data)
        self._tail = data[cut:]
        if not _utf8_valid(data[:cut]):  # a whole bytes' slice is the object itself, not a copy
            raise UnicodeDecodeError("utf-8", data[:cut], 0, max(cut, 1), "invalid UTF-8")
        return ""


def _complete(data: bytes) -> int:
    """Length of `data` without a multi-byte character its end cuts (at most three bytes)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue  # a continuation byte: its lead is further back
        need = 1 if byte < 0x80 else 2 if byte >> 5 == 6 else 3 if byte >> 4 == 14 else 4 if byte >> 3 == 30 else 1
        return len(data) - back if need > back else len(data)
    return len(data)


def _sniff(path: Path) -> Sniffed:
    """The file's checks (readable, not empty, not binary, not an archive), its checksum and its
    encoding in one pass over its bytes, CHUNK at a time: the same decisions `decode` takes on the
    whole file, without holding it. Raises UnreadableFile."""
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot open ({exc.strerror})") from exc
    with f:
        try:
            head = f.read(CHUNK)
        except OSError as exc:
            raise UnreadableFile(f"{path}: cannot read ({exc.strerror})") from exc
        suffix = path.suffix.lower()
        if head[:4] == b"PK\x03\x04":
            if suffix in (".xlsx", ".xlsm", ""):
                return Sniffed("xlsx", None, "", 0)
            raise UnreadableFile(f"{path}: a ZIP archive, not a table (only .xlsx workbooks are read)")
        if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise UnreadableFile(f"{path}: an old binary Excel .xls file; save it as .xlsx or CSV")
        bomless = None if head.startswith((b"\xff\xfe", b"\xfe\xff")) else _utf16_without_bom(head[:8192])
        if binary(head):
            raise UnreadableFile(f"{path}: binary data, not a text table (many NUL or control bytes at the start)")
        sha = hashlib.sha256()
        blank = True
        utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff")) or bomless is not None
        strict = codecs.getincrementaldecoder(bomless or "utf-16")() if utf16 else Utf8Check()
        strict_ok, has_98, size = True, False, 0
        chunk = head
        while True:
            last = not chunk
            sha.update(chunk)
            size += len(chunk)
            if blank and chunk.strip():
                blank = False
            has_98 = has_98 or b"\x98" in chunk
            if strict_ok:
                try:
                    strict.decode(chunk, final=last)
                except UnicodeDecodeError:
                    strict_ok = False
            if last:
                break
            try:
                chunk = f.read(CHUNK)
            except OSError as exc:
                raise UnreadableFile(f"{path}: cannot read ({exc.strerror})") from exc
        invalid = valid = kazakh = 0
        if not strict_ok and not utf16:  # a second pass, only for a file that is not clean UTF-8
            f.seek(0)
            lenient = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
            for chunk in iter(lambda: f.read(CHUNK), b""):
                kazakh += _kazakh_bytes(chunk)
                text = lenient.decode(chunk)
                bad = text.count("\ufffd")
                invalid += bad
                valid += len(text) - len(text.encode("ascii", "ignore")) - bad
            text = lenient.decode(b"", final=True)
            invalid += text.count("\ufffd")
    if blank:
        raise UnreadableFile(f"{path}: the file is empty")
    if utf16:
        encoding = (bomless or "utf-16") + ("" if strict_ok else DAMAGED)
    else:
        name = "utf-8-sig" if head.startswith(b"\xef\xbb\xbf") else "utf-8"
        if strict_ok:
            encoding = name
        elif valid >= 4 * invalid:  # see decode(): UTF-8 with a few broken bytes, not cp1251
            encoding = name + DAMAGED
        else:
            single = _single_byte(kazakh)
            encoding = single + (DAMAGED if has_98 else "")
    return Sniffed("text", encoding, sha.hexdigest(), size)


def _open_text(path: Path, encoding: str):
    """The file as text in its encoding (invalid bytes as U+FFFD when DAMAGED), lines as written."""
    codec = encoding.removesuffix(DAMAGED)
    if codec == "utf-8":
        codec = "utf-8-sig"  # a BOM is not text (decode() strips it too)
    return open(path, encoding=codec, errors="replace" if encoding.endswith(DAMAGED) else "strict", newline="")


def read_file(path: str | Path) -> ReadResult:
    """The whole file as one ReadResult (small files, tests); see iter_batches for big ones."""
    merged = None
    for batch in iter_batches(path, None):
        if merged is None:
            merged = batch
        else:
            merged.records += batch.records
            merged.record_nos += batch.record_nos
            merged.raws += batch.raws
            merged.bad += batch.bad
    return merged


def iter_batches(path: str | Path, rows: int | None = 100_000, sniffed: Sniffed | None = None) -> Iterator[ReadResult]:
    """The file's records in batches of about `rows` (records plus bad records; None: one batch).
    CSV and JSON Lines are streamed, so memory does not grow with the file; XLSX (bounded by
    the SC_XLSX_* limits) and JSON arrays are parsed whole and handed out in batches. Raises
    UnreadableFile before the first batch when the file cannot be read at all. At least one
    batch is yielded (it may be empty)."""
    path = Path(path)
    sniffed = sniffed or _sniff(path)
    if sniffed.kind == "xlsx":
        yield from _sliced(read_xlsx(path), rows)
        return
    encoding = sniffed.encoding
    suffix = path.suffix.lower()
    with _open_text(path, encoding) as f:
        try:
            head = f.read(65536)
        except UnicodeDecodeError as exc:  # not the encoding the sniffing pass found: damage meanwhile
            raise UnreadableFile(f"{path}: cannot be decoded as {encoding} ({exc.reason})") from exc
        stripped = head.lstrip("\ufeff \r\n\t")
        if looks_html(stripped):  # a web export named .xls ("Excel" from a CRM or 1C: an HTML table)
            batches = _html_batches(path, head + f.read(), rows)
        elif suffix in (".json", ".geojson") or stripped.startswith("["):
            text = head + f.read()
            batches = _sliced(read_json(path, text), rows)
        elif suffix in (".jsonl", ".ndjson") or stripped.startswith("{"):
            f.seek(0)
            batches = _jsonl_batches(path, f, rows)
        else:
            f.seek(0)
            batches = _csv_batches(path, f, sniff_delimiter(head), rows)
        for batch in batches:
            batch.encoding = encoding
            if encoding.endswith(DAMAGED):
                _quarantine_damaged(batch)
            yield batch
            del batch  # not held while the next batch is read


_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body|table|meta|\?xml[^>]*>\s*<html)\b", re.I)


def looks_html(text: str) -> bool:
    """An HTML page: what many call-centre and accounting systems save as "Excel" (.xls)."""
    return bool(_HTML_START.match(text.lstrip()))


class _Tables(html.parser.HTMLParser):
    """The rows of every <table> of a page as lists of cell texts: <br> and block ends are line
    breaks, other whitespace collapses as a browser shows it, a cell spanning columns is followed
    by empty cells so the columns stay in place."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.depth = 0
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.span = 1

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.depth += 1
            if self.depth == 1:
                self.tables.append([])
        elif self.depth != 1:
            return
        elif tag == "tr":
            self._end_row()
            self.row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self.row is None:
                self.row = []
            self.cell = []
            try:
                self.span = max(1, min(int(dict(attrs).get("colspan") or 1), 100))
            except ValueError:
                self.span = 1
        elif tag in ("br", "p", "div") and self.cell is not None and self.cell:
            self.cell.append("\n")

    def handle_endtag(self, tag):
        if tag == "table":
            if self.depth == 1:
                self._end_row()
            self.depth = max(0, self.depth - 1)
        elif self.depth == 1 and tag in ("td", "th"):
            self._end_cell()
        elif self.depth == 1 and tag == "tr":
            self._end_row()

    def handle_data(self, data):
        if self.depth == 1 and self.cell is not None:
            self.cell.append(data)

    def _end_cell(self):
        if self.cell is not None and self.row is not None:
            text = "".join(self.cell)
            lines = [" ".join(line.split()) for line in text.split("\n")]
            self.row += ["\n".join(line for line in lines if line)] + [""] * (self.span - 1)
        self.cell, self.span = None, 1

    def _end_row(self):
        self._end_cell()
        if self.row is not None and self.tables and any(c for c in self.row):
            self.tables[-1].append(self.row)
        self.row = None


def _html_batches(path: Path, text: str, rows: int | None) -> Iterator[ReadResult]:
    """The largest table of an HTML page, read as a CSV of its cells (title rows above the header
    and totals below are handled as in a CSV); each record's raw text is its row as CSV."""
    parser = _Tables()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser's own failures on broken markup
        raise UnreadableFile(f"{path}: an HTML page that cannot be parsed ({exc})") from exc
    table = max(parser.tables, key=len, default=[])
    if len(table) < 2:
        raise UnreadableFile(f"{path}: an HTML page (a web export named {path.suffix or 'without an extension'}) "
                             f"with no table of a header and rows; save it from Excel as .xlsx or CSV")
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(table)
    out.seek(0)
    for batch in _csv_batches(path, out, ",", rows):
        batch.fmt = "html"
        yield batch


def _sliced(result: ReadResult, rows: int | None) -> Iterator[ReadResult]:
    """A whole-file result in batches of `rows` records (bad records by their record number)."""
    n = len(result.records)
    if rows is None or n + len(result.bad) <= rows:
        yield result
        return
    bad = sorted(result.bad)
    for start in range(0, max(n, 1), rows):
        stop = start + rows
        first = result.record_nos[start] if start < n else float("inf")
        nxt = result.record_nos[stop] if stop < n else float("inf")
        part = ReadResult(result.path, result.fmt, result.records[start:stop], result.record_nos[start:stop],
                          result.raws[start:stop], encoding=result.encoding, delimiter=result.delimiter,
                          unmapped=result.unmapped, columns=result.columns, headers=result.headers)
        part.bad = [b for b in bad if (start == 0 or b[0] >= first) and b[0] < nxt]
        part.done = min(stop, n) / n if n else 1.0
        yield part


def read_csv_text(path: Path, text: str) -> ReadResult:
    """A CSV held as text (one batch)."""
    return next(_csv_batches(path, io.StringIO(text, newline=""), sniff_delimiter(text), None))


def _strip_eol(line: str) -> str:
    return line[:-2] if line.endswith("\r\n") else line[:-1] if line.endswith(("\n", "\r")) else line


HEADER_SEARCH = 20  # lines below the first where a CSV's header is looked for (as in a workbook)
BLOCK = 1 << 20  # characters of lines a CSV is read in at a time (file.readlines' hint)


def _csv_batches(path: Path, f, delimiter: str, rows: int | None) -> Iterator[ReadResult]:
    """Records of a CSV stream, `rows` at a time. Each record's raw text is the lines the csv
    reader consumed for it (a quoted text may span several), joined by '\\n'.

    The lines are read a block at a time (readlines, in C) into `buf`, which the csv reader
    iterates; a record's lines are found by the reader's line count, so no Python code runs per
    line (a generator noting each line the reader took cost about a tenth of the reading)."""
    buf: list[str] = []  # lines read and not yet handed out; buf[0] is line number base + 1
    base = 0

    def blocks():
        while True:
            block = f.readlines(BLOCK)
            if not block:
                return
            buf.extend(block)
            yield block

    reader = csv.reader(itertools.chain.from_iterable(blocks()), delimiter=delimiter, strict=True)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise UnreadableFile(f"{path}: no header row ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path}: cannot be decoded ({exc.reason})") from exc
    mapped, unmapped = map_headers(headers)
    first_line = headers
    for _ in range(HEADER_SEARCH):  # a title line or two above the header ("Выгрузка обращений за ноябрь")
        if "text" in mapped or len([v for v in headers if v.strip()]) > 1:
            break  # a line of several fields is the header or data: no title lines to skip
        try:
            candidate = next(reader)
        except (StopIteration, csv.Error, UnicodeDecodeError):
            break
        headers = candidate
        mapped, unmapped = map_headers(candidate)
    headers = headers if "text" in mapped else first_line
    if "text" not in mapped:
        raise UnreadableFile(
            f"{path}: no column with the submission text; headers found: {headers[:12]}; "
            f"expected one of e.g. 'Текст обращения', 'Өтініш мәтіні', 'text' (see data/column_map.csv)"
        )
    width = len(headers)
    plain = all(mapped) and len(set(mapped)) == width  # every column ours: no extras to collect

    columns = [c for c in mapped if c]
    named = header_names(mapped, headers)
    size = getattr(getattr(f, "buffer", None), "raw", None)
    size = os.fstat(size.fileno()).st_size if size is not None else None

    def new() -> ReadResult:
        return ReadResult(path, "csv", [], [], [], delimiter=delimiter, unmapped=unmapped, columns=columns,
                          headers=named)

    def done() -> float:  # bytes read ahead by the buffer: close enough for a progress bar
        return min(f.buffer.tell() / size, 1.0) if size else 0.0

    result = new()
    records, record_nos, raws, bad = result.records, result.record_nos, result.raws, result.bad
    prev_end = reader.line_num  # the last line of the last record (or blank line) read
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # a quote where none belongs ('"Казахтелеком" не работает'): that record is quarantined and
            # reading goes on at the next line, instead of the rest of the file going with it
            start, end = prev_end + 1, max(reader.line_num, prev_end + 1)
            if "end of data" in str(exc) or end - start >= 1000:  # unbalanced quotes ran on to the end: the rest
                rest = [_strip_eol(line) for line in buf[prev_end - base:]] + [_strip_eol(line) for line in f]
                bad.append((start, "\n".join(rest), f"unparseable CSV from line {start}: {exc} "
                                                    f"(truncated or unbalanced quotes)"))
                break
            bad.append((start, "\n".join(map(_strip_eol, buf[prev_end - base:end - base])),
                        f"unparseable CSV record: {exc} (a quote inside an unquoted text?)"))
            prev_end = end
            continue
        start, end = prev_end + 1, reader.line_num
        if end == start:  # one line: the usual case
            raw = buf[prev_end - base]
            raw = raw[:-2] if raw[-2:] == "\r\n" else raw[:-1] if raw[-1:] in ("\n", "\r") else raw
        else:
            raw = "\n".join(map(_strip_eol, buf[prev_end - base:end - base]))
        prev_end = end
        if not row or not "".join(row).strip():
            continue  # blank line, not a record
        if "\x00" in raw:
            bad.append((start, raw, "NUL byte in the record (a damaged export?)"))
        elif row == headers or (row and row[0][:1] == "\ufeff" and [row[0][1:], *row[1:]] == headers):
            bad.append((start, raw, "the header line again (an export written page by page), not a submission"))
        elif len(row) > width and not "".join(row[width:]).strip():  # a ';' after the last field
            records.append(dict(zip(mapped, row)) if plain else _record(mapped, headers, row[:width]))
            record_nos.append(start)
            raws.append(raw)
        elif len(row) != width:
            bad.append((start, raw, f"{len(row)} fields where the header has {width} "
                                    f"(an unquoted '{delimiter}' in the text or a broken line)"))
        else:
            records.append(dict(zip(mapped, row)) if plain else _record(mapped, headers, row))
            record_nos.append(start)
            raws.append(raw)
        if rows is not None and len(records) + len(bad) >= rows:
            result.done = done()
            yield result
            del buf[:prev_end - base]  # the lines of the records handed out
            base = prev_end
            result = new()
            records, record_nos, raws, bad = result.records, result.record_nos, result.raws, result.bad
    yield result


def _xlsx_unpacked_size(path: Path) -> int:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            # zipfile stops every member at its declared size, so the sum bounds what is parsed.
            return sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc


def read_xlsx(path: Path) -> ReadResult:
    """The first sheet, streamed (openpyxl read-only mode), within the XLSX_* limits of settings.

    The sheet's declared dimension is ignored: openpyxl pads every row to it and fills missing
    rows with padded empty rows, so a few KB declaring A1:XFD1048576 would take minutes."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    max_rows, max_cols = settings.get_int("XLSX_MAX_ROWS"), settings.get_int("XLSX_MAX_COLUMNS")
    max_cell, max_mb = settings.get_int("XLSX_MAX_CELL"), settings.get_int("XLSX_MAX_MB")
    unpacked = _xlsx_unpacked_size(path)
    if unpacked > max_mb * 2**20:
        raise UnreadableFile(f"{path}: unpacks to {unpacked / 2**20:.0f} MB, more than SC_XLSX_MAX_MB={max_mb}; "
                             f"save it as CSV or split it")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for broken workbooks
        raise UnreadableFile(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    try:
        if not wb.worksheets:
            raise UnreadableFile(f"{path}: the workbook has no worksheet")
        return _read_sheets(path, wb.worksheets, max_rows, max_cols, max_cell, get_column_letter)
    except UnreadableFile:
        raise
    except Exception as exc:  # a damaged sheet part found only while streaming it
        raise UnreadableFile(f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})") from exc
    finally:
        wb.close()


def _read_sheets(path: Path, sheets, max_rows: int, max_cols: int, max_cell: int, letter) -> ReadResult:
    """Every sheet with a header row (a month per sheet, a summary sheet first): their records in
    sheet order, numbered on from one sheet to the next (the second sheet's row 5 of a first sheet
    of 31 rows is record 36), each raw record of a later sheet naming its sheet and row. A sheet
    without a header (a summary, a chart) is left out; a workbook with none is refused."""
    merged, skipped, offset = None, [], 0
    for ws in sheets:
        ws.reset_dimensions()
        budget = max_rows - (len(merged.records) + len(merged.bad) if merged is not None else 0)
        if budget <= 0:  # SC_XLSX_MAX_ROWS bounds the workbook's memory, not each sheet's
            merged.bad.append((offset + 1, "", f"sheet '{ws.title}' was not read: the sheets before it reached "
                                               f"SC_XLSX_MAX_ROWS={max_rows} rows; split the workbook or save it as CSV"))
            offset += 1
            continue
        try:
            part = _read_sheet(path, ws, budget, max_cols, max_cell, letter)
        except UnreadableFile:
            skipped.append(ws.title)
            continue
        key = {"text", "received_at"} & set(merged.columns or []) if merged is not None else set()
        if merged is not None and not key <= set(part.columns or []):
            skipped.append(ws.title)  # a lookup sheet (Справочник: Код, Район, Описание), not more appeals
            continue
        if merged is None:
            merged = part
        else:
            named = f"sheet '{ws.title}' row "
            merged.records += part.records
            merged.record_nos += [offset + n for n in part.record_nos]
            merged.raws += [f"{named}{n}: {raw}" for n, raw in zip(part.record_nos, part.raws)]
            merged.bad += [(offset + n, f"{named}{n}: {raw}", why) for n, raw, why in part.bad]
            merged.columns = list(dict.fromkeys([*(merged.columns or []), *(part.columns or [])]))
            merged.unmapped = list(dict.fromkeys([*merged.unmapped, *part.unmapped]))
            for col, header in part.headers.items():
                merged.headers.setdefault(col, header)
        offset = max([offset, *merged.record_nos, *(b[0] for b in merged.bad)])
    if merged is None:
        names = ", ".join(f"'{t}'" for t in skipped)
        raise UnreadableFile(f"{path}: no header row with a submission text column in the first 20 rows "
                             f"of any sheet ({names}; see data/column_map.csv)")
    return merged


def _names_row(row) -> bool:
    """A row of column names under group titles: text cells only, at least two of them our columns'
    exact names (data/column_map.csv), none a date or a number (a data row has those)."""
    cells = [v for v in row if v is not None and not (isinstance(v, str) and not v.strip())]
    if not cells or not all(isinstance(v, str) for v in cells):
        return False
    aliases = column_aliases()
    return sum(1 for v in cells if norm_header(v) in aliases) >= 2 and not any(re.search(r"\d", v) for v in cells)


def _read_sheet(path: Path, ws, max_rows: int, max_cols: int, max_cell: int, letter) -> ReadResult:
    result = ReadResult(path, "xlsx", [], [], [])
    rows = ws.iter_rows(values_only=True)  # only the cells present; empty tuples for missing rows

    def blank(v) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    def beyond(row: tuple) -> int | None:
        """Column number of a value right of the limit (rows are as long as their last cell)."""
        tail = row[max_cols:]
        if not tail or tail.count(None) == len(tail):  # C speed for the usual and the padded case
            return None
        if not blank(row[-1]):
            return len(row)
        return next((i for i, v in enumerate(tail, start=max_cols + 1) if not blank(v)), None)

    def problem(row: tuple) -> str | None:
        column = beyond(row)
        if column:
            return f"value in column {letter(column)}, beyond the limit of {max_cols} columns (SC_XLSX_MAX_COLUMNS)"
        for i, v in enumerate(row[:max_cols], start=1):
            if isinstance(v, str) and len(v) > max_cell:
                return f"cell in column {letter(i)} holds {len(v)} characters, more than SC_XLSX_MAX_CELL={max_cell}"
        return None

    def raw_of(row: tuple, bad: bool) -> str:
        if not bad:
            return json.dumps([None if v is None else str(v) for v in row], ensure_ascii=False)
        # only the cells present, by column letter, each cut to the cell limit
        cells = {letter(i): str(v)[:max_cell] for i, v in enumerate(row, start=1) if v is not None and v != ""}
        return json.dumps(cells, ensure_ascii=False)

    headers, mapped, header_row = None, None, 0
    for i, row in enumerate(rows, start=1):
        if row:
            m, unmapped = map_headers(list(row[:max_cols]))
            if "text" in m:
                headers, mapped, header_row, result.unmapped = list(row[:max_cols]), m, i, unmapped
                result.columns = [c for c in m if c]
                result.headers = header_names(m, headers)
                break
        if i >= 20:
            break
    if headers is None:
        raise UnreadableFile(f"{path}: no header row with a submission text column in the first 20 rows "
                             f"of sheet '{ws.title}' (see data/column_map.csv)")
    below = next(rows, None)  # a header of two rows: group titles over merged cells, the names below
    if below and _names_row(below[:max_cols]):
        joined = [b if not blank(b) else a for a, b in itertools.zip_longest(headers, below[:max_cols])]
        m, unmapped = map_headers(joined)
        if "text" in m:
            headers, mapped, header_row, result.unmapped = joined, m, header_row + 1, unmapped
            result.columns = [c for c in m if c]
            result.headers = header_names(m, headers)
            below = None
    if below is not None:  # a data row: read as one
        rows = itertools.chain([below], rows)
    width = len(headers)
    cells, max_cells = 0, max_rows * max_cols  # rows padded far to the right cost time too
    for i, row in enumerate(rows, start=header_row + 1):
        if not row or (all(blank(v) for v in row[:max_cols]) and beyond(row) is None):
            continue
        cells += len(row)
        if len(result.records) + len(result.bad) >= max_rows:
            result.bad.append((i, "", f"more than {max_rows} data rows (SC_XLSX_MAX_ROWS): rows from {i} on "
                                      f"were not read; split the workbook or save it as CSV"))
            break
        if cells > max_cells:
            result.bad.append((i, "", f"more than {max_cells} cells (SC_XLSX_MAX_ROWS x SC_XLSX_MAX_COLUMNS): "
                                      f"rows from {i} on were not read; split the workbook or save it as CSV"))
            break
        why = problem(row)
        if why:
            result.bad.append((i, raw_of(row, True), why))
            continue
        values = list(row[:width]) + [None] * (width - len(row))
        result.records.append(_record(mapped, headers, values))
        result.record_nos.append(i)
        result.raws.append(raw_of(tuple(values), False))
    return result


JSON_LISTS = ("service_requests", "requests", "records", "items", "data", "results", "result", "rows",
              "appeals", "obrashcheniya", "content")


def _records_in(data: dict, depth: int = 0):
    """The array of records in a JSON object: under a known key (Open311's `service_requests`, a
    CRM's `items`, `data`, `result.items`), else its only list of objects; None when there is none."""
    for k in JSON_LISTS:
        v = data.get(k)
        if isinstance(v, list):
            return v
        if isinstance(v, dict) and depth < 2:
            found = _records_in(v, depth + 1)
            if found is not None:
                return found
    lists = [v for v in data.values() if isinstance(v, list) and v and all(isinstance(o, dict) for o in v[:20])]
    return lists[0] if len(lists) == 1 else None


def _flat(obj: dict, prefix: str = "", depth: int = 0) -> dict:
    """Nested objects as dotted keys ({"address": {"district": ...}} -> "address.district")."""
    out = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and depth < 3:
            out.update(_flat(v, key + ".", depth + 1))
        else:
            out[key] = v
    return out


def _from_object(obj: dict) -> dict:
    if any(isinstance(v, dict) for v in obj.values()):
        return _from_nested(obj)
    mapped, _ = map_headers(list(obj))
    return _record(mapped, list(obj), list(obj.values()))


OWN_PARENTS = frozenset({"address", "location", "geo", "coordinates", "position", "point", "place", "contact",
                         "contacts", "applicant", "author", "resident", "citizen", "declarant", "заявитель", "адрес",
                         "контакт", "контакты", "местоположение",
                         # the appeal itself, wrapped by an API ({"appeal": {"id", "text"}, "location": {...}})
                         "appeal", "request", "complaint", "message", "ticket", "case", "submission", "issue",
                         "обращение", "заявка", "жалоба", "сообщение", "өтініш"})


def _from_nested(obj: dict) -> dict:
    """A record with nested objects: its dotted keys are mapped whole, then by their last part
    ("address.district" is the district, "location.lat" the latitude, "contact.phone" the phone),
    for the columns still missing; the rest is kept in extra under the dotted key."""
    flat = _flat(obj)
    keys = list(flat)
    mapped, _ = map_headers(keys)
    taken = {c for c in mapped if c}
    # only under objects that describe the appeal's place or its author: category.id, status.date or
    # executor.phone are someone else's
    leaves = [k.rsplit(".", 1)[-1] if col is None and "." in k and norm_header(k.split(".", 1)[0]) in OWN_PARENTS
              else "" for k, col in zip(keys, mapped)]
    for i, col in enumerate(map_headers(leaves)[0]):
        if col and leaves[i] and mapped[i] is None and col not in taken:
            mapped[i] = col
            taken.add(col)
    return _record(mapped, keys, list(flat.values()))


MAX_DEPTH = 100  # levels of nesting a JSON record may have (Open311 records are flat)


def _too_deep(obj, limit: int = MAX_DEPTH) -> bool:
    """Nested deeper than `limit`, found without recursion: such a record, if kept, would end the
    ingest later with a RecursionError (str() or json.dumps of it, from a deeper call stack)."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _json_problem(obj, what: str) -> str | None:
    """Why a parsed JSON record cannot be kept, or None."""
    if _too_deep(obj):
        return f"{what} nested too deeply (more than {MAX_DEPTH} levels)"
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"{what} holds invalid Unicode: a lone surrogate \\u{ord(exc.object[exc.start]):04x} "
                f"(one half of a \\u escape pair; a damaged export?)")
    except (RecursionError, ValueError) as exc:  # a safety net; what json.loads made never fails here
        return f"{what} cannot be stored ({type(exc).__name__})"
    return None


def read_jsonl(path: Path, text: str) -> ReadResult:
    """JSON Lines held as text (one batch)."""
    return next(_jsonl_batches(path, io.StringIO(text, newline=""), None))


def _jsonl_batches(path: Path, lines, rows: int | None) -> Iterator[ReadResult]:
    result = ReadResult(path, "jsonl", [], [], [])
    for i, line in enumerate(lines, start=1):
        line = _strip_eol(line)
        if rows is not None and len(result.records) + len(result.bad) >= rows:
            yield result
            result = ReadResult(path, "jsonl", [], [], [])
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            result.bad.append((i, line, f"invalid JSON on line {i}: {exc.msg} at column {exc.colno}"))
            continue
        except RecursionError:
            result.bad.append((i, line, f"JSON on line {i} nested too deeply"))
            continue
        except ValueError as exc:  # an integer of more than 4300 digits
            result.bad.append((i, line, f"invalid JSON on line {i}: {' '.join(str(exc).split())[:200]}"))
            continue
        if not isinstance(obj, dict):
            result.bad.append((i, line, f"line {i} is a JSON {type(obj).__name__}, not an object"))
            continue
        problem = _json_problem(obj, f"JSON on line {i}")
        if problem:
            result.bad.append((i, line, problem))
            continue
        result.records.append(_from_object(obj))
        result.record_nos.append(i)
        result.raws.append(line)
    yield result


def read_json(path: Path, text: str) -> ReadResult:
    """Open311 GeoReport v2 `requests` (an array of service requests), or any array of objects."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFile(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    except RecursionError as exc:
        raise UnreadableFile(f"{path}: JSON nested too deeply (more than {sys.getrecursionlimit()} levels)") from exc
    except ValueError as exc:  # an integer of more than 4300 digits
        raise UnreadableFile(f"{path}: invalid JSON ({' '.join(str(exc).split())[:200]})") from exc
    if isinstance(data, dict):
        data = _records_in(data)
    if not isinstance(data, list):
        raise UnreadableFile(f"{path}: JSON is not an array of requests (Open311 GeoReport v2 'requests')")
    open311 = any(isinstance(o, dict) and "service_request_id" in o for o in data[:50])
    result = ReadResult(path, "open311" if open311 else "json", [], [], [])
    for i, obj in enumerate(data, start=1):
        problem = _json_problem(obj, f"record {i}")
        if problem:
            try:  # the record as far as it can be shown: escaped, so it can be stored
                raw = json.dumps(obj, ensure_ascii=True)
            except RecursionError:
                raw = f"record {i}"
            result.bad.append((i, raw, problem))
            continue
        raw = json.dumps(obj, ensure_ascii=False)
        if not isinstance(obj, dict):
            result.bad.append((i, raw, f"record {i} is a JSON {type(obj).__name__}, not an object"))
            continue
        rec = _from_object(obj)
        if open311 and obj.get("service_name") and not rec.get("text"):
            rec["text"] = obj.get("service_name")
        result.records.append(rec)
        result.record_nos.append(i)
        result.raws.append(raw)
    return result
