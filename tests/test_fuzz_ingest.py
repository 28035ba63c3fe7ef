"""Hostile ingest files: whatever arrives, the ingest never crashes, says what it could not read in
one line, and accounts for every record: read = inserted + duplicates + quarantined."""
import json
import subprocess
import sys

import pandas as pd

from pipeline import ingest, settings

HEADER = "№ обращения;Дата поступления;Текст обращения\n"


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
