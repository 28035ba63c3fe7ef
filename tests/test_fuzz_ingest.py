"""Hostile ingest files: whatever arrives, the ingest never crashes, says what it could not read in
one line, and accounts for every record: read = inserted + duplicates + quarantined."""
import csv
import datetime as dt
import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline import ingest, settings, store

HEADER = "№ обращения;Дата поступления;Текст обращения\n"


pytestmark = pytest.mark.usefixtures("keyword_classifier_unless_trained")


def test_dates_outside_any_plausible_year_are_quarantined_not_a_crash(tmp_path):
    # pandas parses '-1' as the year -1 and '0001-01-01' as the year 1, then cannot move either
    # to UTC (NotImplementedError): one such cell ended the whole ingest.
    path = tmp_path / "years.csv"
    path.write_text(HEADER + "1;-1;Яма\n2;0001-01-01;Яма\n3;0001-01-01T10:00:00+05:00;Яма\n"
                    "4;01.02.2026 10:00;Не горит фонарь\n", encoding="utf-8")
    prepared = ingest.prepare(path)
    assert prepared.rows["source_id"].tolist() == ["4"]
    assert [(no, reason.split(" (")[0]) for no, reason in prepared.quarantine[["record_no", "reason"]].values] == [
        (2, "unparseable date '-1'"), (3, "unparseable date '0001-01-01'"),
        (4, "unparseable date '0001-01-01T10:00:00+05:00'")]


def _lines(*objects_or_text) -> str:
    return "".join((o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)) + "\n" for o in objects_or_text)


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def test_json_records_nested_deeper_than_the_limit_are_quarantined(tmp_path):
    jl = tmp_path / "deep.jsonl"
    jl.write_text(_lines({"text": "Яма во дворе"}, '{"text": "x", "meta": ' + _nested(150) + "}",
                         {"text": "Нет света"}), encoding="utf-8")
    prepared = ingest.prepare(jl, "qr")
    assert prepared.rows["text"].tolist() == ["Яма во дворе", "Нет света"]
    assert prepared.quarantine[["record_no", "reason"]].values.tolist() == [
        [2, "JSON on line 2 nested too deeply (more than 100 levels)"]]
    arr = tmp_path / "deep.json"
    arr.write_text('[{"text": "Яма"}, {"text": "x", "meta": ' + _nested(150) + "}]", encoding="utf-8")
    prepared = ingest.prepare(arr, "web")
    assert prepared.quarantine[["record_no", "reason"]].values.tolist() == [
        [2, "record 2 nested too deeply (more than 100 levels)"]]


PREPARE = """
import sys
from pipeline import ingest
p = ingest.prepare(sys.argv[1], "qr")
print(p.read, len(p.rows), len(p.quarantine))
"""


def test_a_record_nested_just_below_the_parser_limit_does_not_end_the_ingest(tmp_path):
    # json.loads accepted ~990 levels from a shallow stack, and json.dumps of the unmapped
    # columns, called from deeper inside pandas, then raised RecursionError for the whole run.
    path = tmp_path / "deep.jsonl"
    path.write_text(_lines({"text": "Яма"}, '{"text": "x", "meta": ' + _nested(985) + "}"), encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", PREPARE, str(path)], capture_output=True, text=True,
                         cwd=settings.ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["2", "1", "1"]


def test_lone_surrogates_and_huge_integers_in_json_quarantine_their_record_only(tmp_path):
    # '\\ud800' is valid JSON but no UTF-8 string (pyarrow refused the whole file); an integer of
    # 5000 digits is refused by json.loads with a ValueError (the whole file was lost).
    jl = tmp_path / "q.jsonl"
    jl.write_text(_lines({"text": "Яма во дворе"}, '{"text": "Сломан \\ud800 лифт"}',
                         '{"text": "ok", "\\udfff": 1}', '{"text": "x", "id": ' + "9" * 5000 + "}",
                         {"text": "Нет света"}), encoding="utf-8")
    prepared = ingest.prepare(jl, "qr")
    assert prepared.rows["text"].tolist() == ["Яма во дворе", "Нет света"]
    assert prepared.quarantine["record_no"].tolist() == [2, 3, 4]
    reasons = prepared.quarantine["reason"].tolist()
    assert reasons[0].startswith("JSON on line 2 holds invalid Unicode: a lone surrogate \\ud800")
    assert reasons[1].startswith("JSON on line 3 holds invalid Unicode: a lone surrogate \\udfff")
    assert reasons[2].startswith("invalid JSON on line 4: Exceeds the limit (4300 digits)")
    arr = tmp_path / "requests.json"
    arr.write_text('[{"service_request_id": "1", "description": "Сломан \\ud800 лифт"},'
                   ' {"service_request_id": "2", "description": "Яма"}]', encoding="utf-8")
    prepared = ingest.prepare(arr)
    assert prepared.rows["source_id"].tolist() == ["2"]
    [raw] = prepared.quarantine["raw"].tolist()
    assert "\\ud800" in raw and raw.encode("utf-8")       # kept, escaped, so it can be stored


def test_broken_bytes_in_a_utf8_file_quarantine_their_record_not_the_encoding_of_the_file(tmp_path):
    # One broken UTF-8 sequence made the reader take the whole file for cp1251: with English
    # headers every Russian text was inserted as mojibake ('Нет' -> 'РќРµС‚'), and a later clean
    # copy of the file counted as duplicates of it.
    path = tmp_path / "en.csv"
    path.write_bytes("ID,Date,Text\n1,01.02.2026 10:00,Нет воды\n".encode("utf-8")
                     + b"2,01.02.2026 10:00,\xd0\x9d\xd0 \xff\xc3\x28 broken\n"
                     + "3,01.02.2026 10:00,Не горит фонарь\n".encode("utf-8"))
    prepared = ingest.prepare(path)
    assert prepared.encoding == "utf-8 (damaged)"
    assert prepared.rows["text"].tolist() == ["Нет воды", "Не горит фонарь"]
    [(no, raw, reason)] = prepared.quarantine.values.tolist()
    assert no == 3 and raw.startswith("2,01.02.2026 10:00,Н\ufffd")
    assert reason == "bytes that are not valid utf-8 in the record (shown as \ufffd; a damaged export?)"


def test_the_sniffing_pass_judges_utf8_as_pythons_strict_decoder_whatever_the_chunks():
    """The sniffing pass checks UTF-8 with Arrow's validator, a chunk at a time: its verdict must be
    the decoder's for every byte string (overlong forms, surrogates, past U+10FFFF, a character
    cut at the end) and wherever the chunks happen to cut a character."""
    from pipeline.readers import Utf8Check

    def python(data):
        try:
            data.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False

    def chunked(data, cuts):
        check = Utf8Check()
        try:
            for a, b in zip([0, *cuts], [*cuts, len(data)]):
                check.decode(data[a:b])
            check.decode(b"", final=True)
            return True
        except UnicodeDecodeError:
            return False

    rnd = random.Random(3)
    pieces = [b"\xc3", b"\xd0", b"\xd1", b"\xe2", b"\xed", b"\xf0", b"\xf4", b"\x80", b"\x9f", b"\xa0", b"\xbf",
              "Жарық ".encode(), "нет".encode(), b"a"]
    cases = [b"\xed\xa0\x80", b"\xc0\x80", b"\xe0\x80\x80", b"\xf4\x90\x80\x80", b"\xf0\x9f\x98\x80", b"\xef\xbb\xbfa"]
    cases += [b"".join(rnd.choice(pieces) for _ in range(rnd.randrange(1, 8))) for _ in range(3000)]
    for data in cases:
        cuts = sorted(rnd.sample(range(1, len(data)), min(len(data) - 1, rnd.randrange(0, 4)))) if len(data) > 1 else []
        assert chunked(data, cuts) == python(data), (data, cuts)


def test_cp1251_still_read_as_cp1251_and_damaged_utf16_keeps_its_good_records(tmp_path):
    cp = tmp_path / "cp.csv"
    cp.write_bytes((HEADER + "1;01.02.2026 10:00;Нет отопления\n").encode("cp1251") + b"2;01.02.2026;\x98\xcd\xe5\xf2\n")
    prepared = ingest.prepare(cp)
    assert (prepared.encoding, prepared.rows["text"].tolist()) == ("cp1251 (damaged)", ["Нет отопления"])
    assert prepared.quarantine["record_no"].tolist() == [3]
    # An Excel "Unicode text" export cut after an odd number of bytes raised UnicodeDecodeError.
    u16 = tmp_path / "u16.csv"
    u16.write_bytes((HEADER + "1;01.02.2026 10:00;Нет отопления\n2;01.02.2026 10:00;Яма\n").encode("utf-16")[:-3])
    prepared = ingest.prepare(u16)
    assert prepared.encoding == "utf-16 (damaged)"
    assert prepared.rows["text"].tolist() == ["Нет отопления"] and prepared.quarantine["record_no"].tolist() == [3]


def test_a_file_without_ids_or_dates_loaded_twice_adds_nothing_the_second_time(tmp_path):
    # Such rows are registered at the time of the ingest, and that time was part of their content
    # id: every run of the same QR-form export inserted all its rows again.
    from pipeline import spool, store

    path = tmp_path / "qr_form.csv"
    path.write_text("Текст обращения;Телефон\nЯма во дворе;+7 701 000 00 01\nНет света;\nНет света;\n",
                    encoding="utf-8")
    db = tmp_path / "t.duckdb"
    con = store.connect(db)
    try:
        counts = []
        for _ in range(2):
            prepared = ingest.prepare(path, "qr", now=pd.Timestamp.now(tz="UTC") + pd.Timedelta(minutes=len(counts)))
            spool.write(prepared, settings.inbox_path(db))
            [receipt] = spool.drain(con, settings.inbox_path(db))
            counts.append((receipt["read"], receipt["inserted"], receipt["duplicates"]))
        assert counts == [(3, 2, 1), (3, 0, 3)]
        assert store.submission_count(con) == 2
    finally:
        con.close()


def test_unmapped_columns_with_the_same_name_or_no_name_are_all_kept(tmp_path):
    # extra was keyed by the header alone: of two 'Комментарий' columns, or of columns with an
    # empty header, only the last value survived.
    path = tmp_path / "x.csv"
    path.write_text("Текст обращения;Комментарий;Комментарий;;\nЯма;первый;второй;третий;четвёртый\n",
                    encoding="utf-8")
    prepared = ingest.prepare(path)
    assert json.loads(prepared.rows["extra"][0]) == {
        "Комментарий": "первый", "Комментарий (column 3)": "второй", "(column 4)": "третий",
        "(column 5)": "четвёртый"}


def test_an_open311_answer_with_no_requests_is_read_as_zero_records(tmp_path):
    # {"service_requests": []} (a quiet day) was refused as "not an array of requests".
    path = tmp_path / "quiet.json"
    path.write_text('{"service_requests": [], "requests": {"note": "not a list"}}', encoding="utf-8")
    prepared = ingest.prepare(path)
    assert (prepared.read, len(prepared.rows), len(prepared.quarantine)) == (0, 0, 0)


# ---- generated and hand-made hostile files, through the command line ------------------------------
SEED = int(os.environ.get("FUZZ_SEED", "20261130"))   # FUZZ_SEED=n pytest ... tries another set
GENERATED = 30
ENV = {"SC_XLSX_MAX_ROWS": "200", "SC_XLSX_MAX_MB": "2", "SC_INGEST_WAIT": "5"}
SUMMARY = re.compile(r"read=(\d+) inserted=(\d+) duplicates=(\d+) quarantined=(\d+)")

TEXTS = ["Не горит фонарь у дома 5", "Жылу жоқ, балалар тоңып отыр", "No water since Monday",
         "Яма во дворе; машины бьют подвеску, уже третий раз", 'Он сказал "срочно", а никто не пришёл',
         "Первая строка\nвторая строка\r\nтретья", "Мусор не вывозят 🚮 неделю", "\u202eтекст справа налево\u202c",
         "zero\u200bwidth", "управляющие\x01\x02\x1b[31m символы\x7f", "табуляция\tвнутри", "a|b|c,d;e", "  ", "",
         "\x85 NEL \u2028 LS \u2029 PS \x0b VT \x0c FF", "ы" * 25000, "NUL \x00 внутри", "=cmd|' /C calc'!A0",
         "<script>alert(1)</script> ![x](http://e/x.png)", "ǅ ﬁ Ⅻ ℌ ㎏ \U0001d400"]
DATES = ["01.02.2026 10:15", "2026-02-01 10:15:00", "2026-02-01T10:15:00+05:00", "01/02/2026", "46000",
         "31.02.2026", "-1", "0001-01-01", "99999", "01.01.2090", "", "завтра", "2026-03-31T02:30:00", "nan",
         "1.2.3", "2026-02-01T10:15:00+99:00", "9999-12-31 23:59:59", "1e300"]
DISTRICTS = ["Абайский район", "Каратау", "Әл-Фараби ауданы", "Turan", "Нарния", "", "алга", "\x00"]
COLUMNS = {  # our column -> a header in Russian, Kazakh, English
    "id": ["№ обращения", "Өтініш нөмірі", "ID"], "date": ["Дата поступления", "Түскен күні", "Date"],
    "district": ["Район", "Аудан", "District"], "address": ["Адрес", "Мекенжай", "Address"],
    "text": ["Текст обращения", "Өтініш мәтіні", "Text"], "phone": ["Телефон", "Телефон нөмірі", "Phone"],
    "source": ["Источник", "source", "source"], "lat": ["lat", "lat", "lat"], "lon": ["lon", "lon", "lon"],
}
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "cp1251"]


def _value(rng, column: str, file_no: int, row: int):
    """Mostly plausible values (so that rows get through to the classifier and the database),
    hostile ones a quarter of the time."""
    hostile = rng.random() < 0.25
    if column == "id":
        return rng.choice(["g0", "", " ", "\u00a0", f"g{file_no}-0"]) if hostile else f"g{file_no}-{row}"
    if column == "date":
        return rng.choice(DATES) if hostile else rng.choice(DATES[:5])
    if column == "district":
        return rng.choice(DISTRICTS) if hostile else rng.choice(DISTRICTS[:4] + [""])
    if column == "text":
        return rng.choice(TEXTS) + (f" {row}" if rng.random() < 0.7 else "")
    if column == "source":
        return rng.choice(["???", "\x00", "qr код"]) if hostile else rng.choice(["109", "qr", "сайт", ""])
    if column in ("lat", "lon"):
        return rng.choice(["nan", "inf", "1e999", "north", "-91", "0x10"]) if hostile else rng.choice(["50.28", "57.2", ""])
    return rng.choice(["ул. Маресьева, 3", "+7 701 000 00 00", "", "x" * rng.randint(0, 3000)])


def _mutate(rng, data: bytes) -> bytes:
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(data))
        kind = rng.randrange(7)
        if kind == 0:
            data = data[:at]                                          # truncated
        elif kind == 1:
            data = data[:at] + b'"' + data[at:]                       # a stray quote
        elif kind == 2:
            data = data[:at] + rng.randbytes(rng.randint(1, 8)) + data[at:]
        elif kind == 3 and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1:]
        elif kind == 4:
            data = data[:at] + b"\x00" + data[at:]
        elif kind == 5:
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            data = b"\n".join(lines[:i + 1] + lines[i:])               # a line twice
        else:
            data = data.split(b"\n", 1)[-1]                           # no header
    return data


def _csv(rng, no: int) -> tuple[str, bytes]:
    encoding = rng.choice(ENCODINGS)
    lang = rng.choice([0, 2] if encoding == "cp1251" else [0, 1, 2])
    columns = rng.sample(list(COLUMNS), rng.randint(1, len(COLUMNS)))
    if "text" not in columns and rng.random() < 0.85:
        columns.insert(rng.randrange(len(columns) + 1), "text")
    headers = [COLUMNS[c][lang] for c in columns]
    extra = rng.choice([0, 0, 1, 3, 300])
    headers += [rng.choice(["Оператор", "Комментарий", "", "Примечание"]) for _ in range(extra)]
    rows = [[_value(rng, c, no, r) for c in columns] + [rng.choice(["", "x", "иванова"]) for _ in range(extra)]
            for r in range(rng.randint(0, 25))]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=rng.choice([",", ";", "\t", "|"]),
                        quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]), lineterminator=rng.choice(["\r\n", "\n"]))
    writer.writerow(headers)
    writer.writerows(rows)
    text = out.getvalue()
    data = (b"\xfe\xff" + text.encode("utf-16-be")) if encoding == "utf-16-be" else text.encode(encoding, "replace")
    return "csv", data


def _json_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return rng.choice(TEXTS)
    if kind == 1:
        return rng.randint(-10**6, 10**6)
    if kind == 2:
        return rng.choice([0.5, float("nan"), float("inf"), -1e308])
    if kind == 3:
        return rng.choice([True, False, None])
    if kind in (4, 5):
        return rng.choice(DATES)
    if kind == 6:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "", "Текст обращения", "text"]): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _json_object(rng, no: int, row: int) -> dict:
    keys = rng.sample(["text", "description", "date", "requested_datetime", "district", "id", "service_request_id",
                       "lat", "long", "source", "Оператор", "service_name"], rng.randint(1, 7))
    obj = {k: _json_value(rng) for k in keys}
    if rng.random() < 0.7:
        obj["text"] = rng.choice(TEXTS)
    if rng.random() < 0.6:
        obj["service_request_id"] = f"j{no}-{row}"
    return obj


ODD_LINES = ['{"text": "обрыв', "[1, 2]", "null", '"строка"', '{"text": NaN, "lat": Infinity}',
             '{"text": "половина пары \\ud83d"}', '{"\\udfff": "x", "text": "y"}', '{"text": "x", "id": ' + "7" * 5000 + "}",
             '{"text": "x", "meta": ' + '{"a": ' * 150 + "1" + "}" * 150 + "}", '{"text": "x", "deep": ' + "[" * 5000 + "]" * 5000 + "}",
             '{"text": "dup", "text": ["a"]}', "\x00", "{}", "   "]


def _jsonl(rng, no: int) -> tuple[str, bytes]:
    lines = [rng.choice(ODD_LINES) if rng.random() < 0.25 else json.dumps(_json_object(rng, no, r), ensure_ascii=rng.random() < 0.5)
             for r in range(rng.randint(0, 25))]
    return "jsonl", "\n".join(lines).encode(rng.choice(["utf-8", "utf-8-sig", "utf-16"]))


def _json(rng, no: int) -> tuple[str, bytes]:
    records = [rng.choice([_json_object(rng, no, r)] * 5 + ["text", 5, None, [], {}]) for r in range(rng.randint(0, 25))]
    body = json.dumps(records if rng.random() < 0.6 else {"service_requests": records}, ensure_ascii=rng.random() < 0.5)
    return "json", body.encode("utf-8")


def _xlsx(rng, no: int) -> tuple[str, bytes]:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    if rng.random() < 0.3:
        ws.append(["Выгрузка обращений"])
    columns = rng.sample(list(COLUMNS), rng.randint(1, 5)) + ["text"]
    ws.append([COLUMNS[c][rng.randrange(3)] for c in columns])
    for r in range(rng.randint(0, 20)):
        row = []
        for c in columns:
            v = rng.choice([_value(rng, c, no, r), dt.datetime(2026, 2, 1, 10, r % 60), 46000.5, None, -7])
            row.append(ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
        ws.append(row)
    if rng.random() < 0.2:
        ws.cell(row=rng.randint(2, 1_048_576), column=rng.randint(1, 16_384), value="далеко")
    buf = io.BytesIO()
    wb.save(buf)
    return "xlsx", buf.getvalue()


def generated(seed: int = SEED, count: int = GENERATED) -> dict[str, bytes]:
    rng = random.Random(seed)
    files = {}
    for no in range(count):
        kind, data = rng.choices([_csv, _jsonl, _json, _xlsx], weights=[60, 16, 14, 10])[0](rng, no)
        if rng.random() < 0.3:
            data = _mutate(rng, data)
        if rng.random() < 0.05:
            kind = rng.choice(["csv", "json", "jsonl", "xlsx", "txt"])   # a wrong file name
        files[f"gen{no:02d}.{kind}"] = data
    return files


def _sheet(rows_xml: str, dimension: str = "A1:C2") -> bytes:
    """A minimal XLSX with inline strings, built directly with zipfile (no openpyxl writing)."""
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows_xml}</sheetData></worksheet>',
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buf.getvalue()


def _xrow(r: int, *values: str) -> str:
    cells = "".join(f'<c r="{"ABC"[i]}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(values))
    return f'<row r="{r}">{cells}</row>'


HEAD = _xrow(1, "№ обращения", "Дата поступления", "Текст обращения")


def hand_made() -> dict[str, bytes]:
    h = "№ обращения;Дата поступления;Район;Текст обращения"
    ok = "h{0};01.02.2026 10:00;Абай;Не горит фонарь {0}"
    lines = lambda *rows: ("\n".join([h, *rows]) + "\n").encode("utf-8")  # noqa: E731
    return {
        "empty.csv": b"",
        "whitespace.csv": b"  \r\n\t\n",
        "bom_only.csv": b"\xef\xbb\xbf",
        "header_only.csv": lines(),
        "header_only_no_newline.csv": h.encode(),
        "utf16le.csv": ("\n".join([h, ok.format(1)]) + "\n").encode("utf-16"),
        "utf16be.csv": b"\xfe\xff" + ("\n".join([h, ok.format(2)]) + "\n").encode("utf-16-be"),
        "utf16_odd_byte.csv": ("\n".join([h, ok.format(3)]) + "\n").encode("utf-16") + b"\x00",
        "utf16_no_bom.csv": ("\n".join([h, ok.format(4)]) + "\n").encode("utf-16-le"),
        "cp1251.csv": ("\n".join([h, ok.format(5)]) + "\n").encode("cp1251"),
        "cp1251_0x98.csv": ("\n".join([h, ok.format(6)]) + "\n").encode("cp1251") + b"h7;01.02.2026;;\x98\n",
        "broken_utf8.csv": lines(ok.format(8)) + b"h9;01.02.2026;;\xc3\x28\xed\xa0\x80\n",
        "tab.csv": lines(ok.format(10)).replace(b";", b"\t"),
        "pipe.csv": lines(ok.format(11)).replace(b";", b"|"),
        "comma.csv": lines(ok.format(12)).replace(b";", b","),
        "multiline.csv": lines('h13;01.02.2026;;"одна\nдве\r\nтри ""кавычки"" ; и разделитель"'),
        "unbalanced_quote.csv": lines(ok.format(14), 'h15;01.02.2026;;"не закрыта', ok.format(16)),
        "quote_inside.csv": lines('h17;01.02.2026;;текст "в кавычках" без обрамления', 'h18;01.02.2026;;"a"b'),
        "huge_field.csv": lines("h19;01.02.2026;;" + "я" * 1_000_000, ok.format(20)),
        "huge_unquoted_no_newline.csv": (h + "\nh21;01.02.2026;;" + "x" * 1_000_000).encode(),
        "many_columns.csv": (";".join([h] + [f"c{i}" for i in range(20000)]) + "\n"
                             + ";".join([ok.format(22)] + ["v"] * 20000) + "\n").encode(),
        "many_columns_short_rows.csv": (";".join([h] + [f"c{i}" for i in range(20000)]) + "\n" + ok.format(23) + "\n").encode(),
        "nul_bytes.csv": lines(ok.format(24), "h25;01.02.2026;;NUL\x00здесь", ok.format(26)),
        "nul_header.csv": ("№ обращения;Текст\x00обращения\nh27;текст\n").encode(),
        "control_chars.csv": lines("h28;01.02.2026;;\x01\x02\x03\x1b[2J\x7f\x1f текст", ok.format(29)),
        "cr_only.csv": lines(ok.format(30), ok.format(31)).replace(b"\n", b"\r"),
        "no_text_column.csv": "Оператор;Дата\nX;Y\n".encode(),
        "binary.csv": bytes(range(256)) * 40,
        "zip_named_csv.csv": _sheet(""),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "deep_record.json": ('[{"text": "ok", "service_request_id": "d1"}, {"text": "x", "a": '
                             + '{"b": ' * 990 + "1" + "}" * 990 + "}]").encode(),
        "deep.jsonl": ('{"text": "ok", "id": "d2"}\n{"text": ' + "[" * 50_000 + "]" * 50_000 + "}\n").encode(),
        "deep_record.jsonl": ('{"text": "ok", "id": "d3"}\n{"text": "x", "a": ' + '{"b": ' * 985 + "1" + "}" * 985 + "}\n").encode(),
        "open311_wrong_types.json": json.dumps([
            {"service_request_id": 5, "description": 7, "requested_datetime": 12345, "lat": "north", "long": [1],
             "address": {"a": 1}},
            {"service_request_id": None, "description": ["a", "b"], "requested_datetime": None},
            {"service_request_id": [1, 2], "description": {"x": 1}, "requested_datetime": True, "lat": True},
            {"service_request_id": 1.5, "description": "ok", "requested_datetime": "2026-01-01T00:00:00", "lat": 1e400},
            {"service_request_id": "o5", "service_name": 5},
            {"service_request_id": {"z": 1}, "description": "text", "requested_datetime": 1e300},
            "string", 5, None, [], {}]).encode(),
        "open311_empty.json": b'{"service_requests": []}',
        "open311_not_a_list.json": b'{"service_requests": {"a": 1}}',
        "json_scalar.json": b"5",
        "json_truncated.json": '[{"service_request_id": "t1", "description": "обры'.encode(),
        "jsonl_types.jsonl": b'5\n"x"\nnull\n[1]\n{"text": null}\n{"text": {"a": [1]}}\n{"text": 1e999}\n'
                             b'{"text": "a", "date": 99999999999999999999}\n{"text": NaN}\n',
        "jsonl_surrogates.jsonl": b'{"text": "\\ud800 lone", "id": "s1"}\n{"text": "fine", "id": "s2", "\\udc00": 1}\n'
                                  b'{"text": "pair \\ud83d\\ude00 ok", "id": "s3"}\n',
        "xlsx_declared_dimension.xlsx": _sheet(HEAD + _xrow(2, "x1", "02.03.2026 09:30", "Яма") + '<row r="1048576"/>',
                                               dimension="A1:XFD1048576"),
        "xlsx_many_rows.xlsx": _sheet(HEAD + "".join(_xrow(r, f"m{r}", "02.03.2026 09:30", f"Фонарь {r}")
                                                     for r in range(2, 1002))),
        "xlsx_many_empty_rows.xlsx": _sheet(HEAD + "".join(f'<row r="{r}"/>' for r in range(2, 100_000))
                                            + _xrow(100_000, "e1", "02.03.2026 09:30", "Яма в конце")),
        "xlsx_unpacks_big.xlsx": _sheet(HEAD + "".join(_xrow(r, f"b{r}", "02.03.2026", "ы" * 20_000) for r in range(2, 102))),
        "xlsx_far_right.xlsx": _sheet(HEAD + _xrow(2, "f1", "02.03.2026", "Яма")
                                      + '<row r="3"><c r="XFD3" t="inlineStr"><is><t>спрятано</t></is></c></row>'),
        "xlsx_truncated.xlsx": _sheet(HEAD + _xrow(2, "t1", "02.03.2026", "Яма"))[:300],
        "xlsx_not_xml.xlsx": _sheet("<row><c>unclosed"),
    }


# What some hand-made files must give: ('error', part of the message) or the counts (read, inserted, quarantined).
EXPECTED = {
    "empty.csv": ("error", "the file is empty"),
    "header_only.csv": (0, 0, 0),
    "utf16le.csv": (1, 1, 0),
    "utf16be.csv": (1, 1, 0),
    "utf16_odd_byte.csv": (2, 1, 1),
    "cp1251.csv": (1, 1, 0),
    "cp1251_0x98.csv": (2, 1, 1),
    "broken_utf8.csv": (2, 1, 1),
    "multiline.csv": (1, 1, 0),
    "unbalanced_quote.csv": (2, 1, 1),
    "huge_field.csv": (2, 1, 1),
    "many_columns.csv": (1, 1, 0),
    "nul_bytes.csv": (3, 2, 1),
    "binary.csv": ("error", "binary data"),
    "zip_named_csv.csv": ("error", "a ZIP archive"),
    "deep.json": ("error", "nested too deeply"),
    "deep.jsonl": (2, 1, 1),
    "deep_record.jsonl": (2, 1, 1),
    "open311_empty.json": (0, 0, 0),
    "jsonl_surrogates.jsonl": (3, 1, 2),
    "xlsx_declared_dimension.xlsx": (1, 1, 0),
    "xlsx_many_rows.xlsx": (201, 200, 1),
    "xlsx_many_empty_rows.xlsx": (1, 1, 0),
    "xlsx_unpacks_big.xlsx": ("error", "SC_XLSX_MAX_MB=2"),
    "xlsx_far_right.xlsx": (2, 1, 1),
    "xlsx_truncated.xlsx": ("error", "not a readable .xlsx"),
}


def _ingest_folder(folder, db) -> tuple[dict, dict, dict]:
    run = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(folder), "--db", str(db)],
                         capture_output=True, text=True, cwd=settings.ROOT, timeout=240,
                         env={**os.environ, "PYTHONPATH": str(settings.ROOT), **ENV})
    assert run.returncode in (0, 1), run.stderr[-3000:]
    assert "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
    per_file, errors = {}, {}
    *lines, total = run.stdout.strip().splitlines()
    for line in lines:
        path, counts = line.rsplit(": ", 1)
        m = SUMMARY.fullmatch(counts)
        assert m, line
        per_file[Path(path).name] = tuple(map(int, m.groups()))
    for line in run.stderr.strip().splitlines():
        m = re.match(r"(error|note): (.+?): (.+)$", line)
        # one line naming one of the files; 'error: ingest: ...' would be a crash of the whole run
        # (a note says what was not understood of a file that was read: unknown columns, no dates)
        assert m and Path(m[2]).parent == folder, line
        if m[1] == "error":
            errors[Path(m[2]).name] = m[3]
    m = SUMMARY.fullmatch(total)
    assert m, total
    return per_file, errors, tuple(map(int, m.groups()))


def test_hostile_files_never_crash_the_ingest_and_every_record_is_accounted_for(tmp_path):
    folder = tmp_path / "inbox_files"
    folder.mkdir()
    files = {**generated(), **hand_made()}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    db = tmp_path / "fuzz.duckdb"

    per_file, errors, total = _ingest_folder(folder, db)
    assert set(per_file) | set(errors) == set(files) and not set(per_file) & set(errors)
    for name, (read, inserted, duplicates, quarantined) in per_file.items():
        assert read == inserted + duplicates + quarantined, name
    assert total == tuple(map(sum, zip(*per_file.values())))
    for name, want in EXPECTED.items():
        if want[0] == "error":
            assert want[1] in errors.get(name, ""), (name, per_file.get(name), errors.get(name))
        else:
            read, inserted, _, quarantined = per_file.get(name, (None,) * 4)
            assert (read, inserted, quarantined) == want, (name, errors.get(name))
    assert len(errors) < len(files) / 3, errors          # the generator mostly makes readable files

    con = store.connect(db)
    try:
        stored = con.execute("SELECT (SELECT count(*) FROM submissions), (SELECT count(DISTINCT (source, source_id)) "
                             "FROM submissions), (SELECT count(*) FROM quarantine), (SELECT count(*) FROM ingest_runs "
                             "WHERE finished_at IS NULL)").fetchall()[0]
    finally:
        con.close()
    assert stored == (total[1], total[1], total[3], 0)
    inbox = settings.inbox_path(db)
    assert not list(inbox.glob("*.spool")) and not (inbox / "broken").exists()

    # The same folder again: read the same way, and nothing inserted twice.
    again, errors_again, total_again = _ingest_folder(folder, db)
    assert errors_again == errors
    for name, (read, inserted, duplicates, quarantined) in again.items():
        first = per_file[name]
        assert (read, inserted, duplicates, quarantined) == (first[0], 0, first[1] + first[2], first[3]), name
    con = store.connect(db)
    try:
        assert store.submission_count(con) == total[1]
    finally:
        con.close()


def test_every_quarantine_record_has_its_reason_when_a_value_in_it_is_missing(tmp_path):
    # pandas 3 keeps a missing value missing in astype(str), so 'lat=' + lat + ' lon=' + (no lon)
    # was a missing reason, and the NOT NULL constraint on quarantine.reason then ended the ingest.
    path = tmp_path / "c.jsonl"
    day = "01.02.2026 10:00"
    path.write_text(_lines({"text": "Яма", "lat": "north", "date": day}, {"text": "Яма", "long": 500.5, "date": day},
                           {"text": "Яма", "source": "???", "date": day}, {"text": "Яма", "date": "завтра"}),
                    encoding="utf-8")
    prepared = ingest.prepare(path)
    assert prepared.quarantine["reason"].tolist() == [
        "invalid coordinates lat=north lon=", "invalid coordinates lat= lon=500.5",
        "unparseable date 'завтра' (expected e.g. 21.03.2026 14:05, 2026-03-21 14:05:00 or ISO 8601)"]
    # a channel we do not know is no reason to refuse an appeal: the file's source, the label kept
    assert prepared.rows["source"].tolist() == ["import"] and '"source": "???"' in prepared.rows["extra"][0]


def test_an_old_date_that_ingest_accepts_gets_its_deadline_instead_of_failing_the_file(tmp_path):
    # Dates from 2000 on pass validation but the working calendar started in 2015: computing the
    # deadline raised "date outside the working calendar" and the whole file was refused.
    path = tmp_path / "old.csv"
    path.write_text(HEADER + "1;01.01.2000 09:00;Яма\n2;01.02.2003 10:00;Яма\n3;01.02.2026 10:00;Яма\n",
                    encoding="utf-8")
    prepared = ingest.prepare(path)
    assert prepared.rows["source_id"].tolist() == ["1", "2", "3"] and prepared.rows["due_at"].notna().all()
    assert prepared.rows["due_at"][0] > pd.Timestamp("2000-01-01", tz="UTC")


def test_a_spool_the_database_refuses_is_set_aside_and_holds_up_no_later_spool(tmp_path, monkeypatch, capsys):
    # A spool that fails a constraint (here: a quarantine record without a reason, as the bug
    # above made) was rolled back and left in the inbox; every later drain failed on it again,
    # so no later file was ever applied, and the running app's drain thread failed forever.
    from pipeline import spool
    from pipeline.__main__ import main

    db = tmp_path / "p.duckdb"
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "1;01.02.2026 10:00;Яма\n", encoding="utf-8")
    poison = tmp_path / "poison.csv"
    poison.write_text(HEADER + "2;01.02.2026 10:00;Нет света\n3;завтра;Яма\n", encoding="utf-8")
    real_validate = ingest._validate

    def validate(result, path, *args):  # each batch of a file is checked here
        prepared = real_validate(result, path, *args)
        if path.name == "poison.csv":
            prepared.quarantine["reason"] = None
        return prepared

    monkeypatch.setattr(ingest, "_validate", validate)
    assert main(["ingest", str(poison), str(good), "--db", str(db)]) == 1
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: {poison}: not applied, the database refused it (Constraint Error")
    assert f"kept in {settings.inbox_path(db) / 'broken'}" in line
    assert f"{good}: read=1 inserted=1 duplicates=0 quarantined=0" in out
    con = store.connect(db)
    try:
        assert con.execute("SELECT source_id FROM submissions").fetchall() == [("1",)]
        assert con.execute("SELECT count(*) FROM ingest_runs").fetchall() == [(1,)]   # the refused one rolled back
        assert spool.drain(con, settings.inbox_path(db)) == []                          # and is not tried again
    finally:
        con.close()
    [aside] = (settings.inbox_path(db) / "broken").iterdir()
    assert (aside / "rows.parquet").exists() and "Constraint Error" in (aside / "why.txt").read_text()
