"""Ingest: every record read is inserted, a duplicate, or quarantined with a reason."""
import json
import subprocess
import sys

import pandas as pd
import pytest

from pipeline import events, ingest, readers, settings, spool, store

HEADER_RU = "№ обращения;Дата поступления;Район;Адрес;Текст обращения;Телефон\n"


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          cwd=settings.ROOT, env=env, timeout=300)


def counts(stdout: str) -> dict:
    last = stdout.strip().splitlines()[-1]
    return {k: int(v) for k, v in (p.split("=") for p in last.split())}


def ingest_file(path, db, source=None):
    prepared = ingest.prepare(path, source)
    con = store.connect(db)
    spool.write(prepared, settings.inbox_path(db))
    receipt = spool.drain(con, settings.inbox_path(db))[0]
    return con, receipt


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters(tmp_path, encoding, delimiter):
    rows = [["id", "Дата поступления", "Район", "Текст обращения"],
            ["1", "21.03.2026 10:15", "Абайский район", "Нет воды, совсем; уже два дня"],
            ["2", "2026-03-21 11:00:00", "Каратауский район", "Не горит фонарь"]]  # cp1251 has no Kazakh letters
    path = tmp_path / "calls.csv"
    lines = [delimiter.join(f'"{v}"' for v in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    result = readers.read_file(path)
    assert result.delimiter == delimiter
    prepared = ingest.prepare(path, "hotline_109")
    assert len(prepared.rows) == 2 and prepared.quarantine.empty
    assert prepared.rows["text"].tolist()[0] == "Нет воды, совсем; уже два дня"
    assert prepared.rows["district"].tolist() == ["abai", "karatau"]
    assert prepared.rows["received_at"][0] == pd.Timestamp("2026-03-21 05:15", tz="UTC")  # 10:15 UTC+5


def test_multiline_quoted_text_and_line_numbers(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(HEADER_RU + '1;21.03.2026 10:15;Абай;;"Первая строка\nвторая строка";\n'
                    '2;;Абай;;Без даты;\n', encoding="utf-8")
    prepared = ingest.prepare(path)
    assert prepared.rows["text"][0] == "Первая строка\nвторая строка"
    assert prepared.quarantine[["record_no", "reason"]].values.tolist() == [[4, "empty date (column received_at)"]]


def test_headers_in_kazakh_and_english(tmp_path):
    kk = tmp_path / "kk.csv"
    kk.write_text("Өтініш нөмірі,Түскен күні,Аудан,Мекенжай,Өтініш мәтіні\n"
                  "7,01.12.2025 09:00,Әл-Фараби ауданы,Тауке хан даңғылы 10,Жылу жоқ\n", encoding="utf-8")
    en = tmp_path / "en.csv"
    en.write_text("ID,Date,District,Address,Text\n8,2025-12-01 09:00,Turan,Main st 1,No heating\n")
    assert ingest.prepare(kk).rows[["source_id", "district", "address"]].values.tolist() == [
        ["7", "al_farabi", "Тауке хан даңғылы 10"]]
    assert ingest.prepare(en).rows["district"].tolist() == ["turan"]


def test_unmapped_columns_are_kept(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Текст обращения,Оператор\nЯма,Иванова\n", encoding="utf-8")
    prepared = ingest.prepare(path)
    assert json.loads(prepared.rows["extra"][0]) == {"Оператор": "Иванова"}


def test_xlsx(tmp_path):
    from openpyxl import Workbook
    import datetime as dt

    wb = Workbook()
    ws = wb.active
    ws.append(["Выгрузка обращений за март"])  # title row above the header, as exports have
    ws.append(["№", "Дата и время", "Район", "Суть обращения"])
    ws.append([101, dt.datetime(2026, 3, 2, 9, 30), "Еңбекші", "Мусор не вывозят неделю"])
    ws.append([102, "не дата", "Еңбекші", "Яма"])
    ws.append([None, None, None, None])
    wb.save(tmp_path / "e.xlsx")
    prepared = ingest.prepare(tmp_path / "e.xlsx")
    assert prepared.read == 2 and len(prepared.rows) == 1
    assert prepared.rows["received_at"][0] == pd.Timestamp("2026-03-02 04:30", tz="UTC")
    assert "unparseable date 'не дата'" in prepared.quarantine["reason"][0]


def test_jsonl_with_bad_line_and_open311(tmp_path):
    jl = tmp_path / "q.jsonl"
    jl.write_text('{"text": "Сломана скамейка", "date": "2026-05-01T10:00:00+05:00", "placement": "bus_stop:1"}\n'
                  '{"text": "broken\n{"text": "", "date": "2026-05-01"}\n', encoding="utf-8")
    prepared = ingest.prepare(jl, "qr")
    assert prepared.read == 3 and len(prepared.rows) == 1
    assert sorted(prepared.quarantine["reason"].str.split(" ").str[0]) == ["empty", "invalid"]
    o311 = tmp_path / "requests.json"
    o311.write_text(json.dumps([
        {"service_request_id": "638344", "status": "open", "service_name": "Streetlight", "description":
         "Фонарь не горит", "requested_datetime": "2026-01-14T18:30:00+05:00", "address": "ул. Маресьева 3",
         "lat": 50.28, "long": 57.2},
        {"service_request_id": "638345", "description": "Яма", "requested_datetime": "garbage"}]),
        encoding="utf-8")
    prepared = ingest.prepare(o311)
    assert prepared.fmt == "open311" and prepared.source == "web"
    assert prepared.rows[["source_id", "lat", "lon"]].values.tolist() == [["638344", 50.28, 57.2]]
    assert len(prepared.quarantine) == 1


def test_an_api_export_with_the_appeal_wrapped_in_an_object(tmp_path):
    """{"appeal": {"id", "text"}, "location": {"district"}}: the appeal's own fields are its id and
    text (they were kept in extra, and every row quarantined as 'empty text')."""
    jl = tmp_path / "api.jsonl"
    jl.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in [
        {"appeal": {"id": "A-1", "text": "Нет воды в доме по Абая 3", "channel": "109"},
         "location": {"district": "Абайский район"}, "created_at": "2026-11-20T09:00:00+05:00"},
        {"обращение": {"номер": "A-2", "текст": "Жарық жоқ"}, "адрес": {"район": "Туран ауданы"},
         "дата": "20.11.2026 10:00", "executor": {"phone": "+7 701 000 00 00"}}]), encoding="utf-8")
    prepared = ingest.prepare(jl, "hotline_109")
    assert prepared.quarantine.empty, prepared.quarantine["reason"].tolist()
    assert prepared.rows[["source_id", "text", "district"]].values.tolist() == [
        ["A-1", "Нет воды в доме по Абая 3", "abai"], ["A-2", "Жарық жоқ", "turan"]]
    assert "executor.phone" in prepared.rows["extra"].iloc[1]  # someone else's phone is not the contact


def test_an_html_table_saved_as_xls_is_read_as_its_table(tmp_path):
    """What many CRMs and 1C save as "Excel": an HTML page with a table, here in windows-1251 with a
    title row, a cell spanning two columns, <br> inside a text, entities and a totals row."""
    page = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head>
<body><h1>Выгрузка</h1><table border=1>
<tr><td colspan=4>Обращения за ноябрь 2026</td></tr>
<tr><th>№</th><th>Дата</th><th>Район</th><th>Текст обращения</th></tr>
<tr><td>H-1</td><td>18.11.2026 09:06</td><td>Аль-Фарабийский район</td><td>Нет света&nbsp;в подъезде,<br>
   дом &laquo;12&raquo;</td></tr>
<tr><td>H-2</td><td>18.11.2026 10:00</td><td>Каратауский район</td><td>Не вывозят мусор &amp; запах</td></tr>
<tr><td colspan=3>Итого</td><td>2</td></tr></table></body></html>"""
    path = tmp_path / "export.xls"
    path.write_bytes(page.encode("cp1251"))
    prepared = ingest.prepare(path, "hotline_109")
    assert prepared.rows[["source_id", "district", "text"]].values.tolist() == [
        ["H-1", "al_farabi", "Нет света в подъезде,\nдом «12»"], ["H-2", "karatau", "Не вывозят мусор & запах"]]
    assert str(prepared.rows["received_at"].iloc[0]) == "2026-11-18 04:06:00+00:00"
    assert prepared.read == 3 and len(prepared.quarantine) == 1  # the totals row, kept in quarantine
    empty = tmp_path / "page.xls"
    empty.write_text("<!DOCTYPE html><html><body><p>Сессия истекла</p></body></html>", encoding="utf-8")
    with pytest.raises(readers.UnreadableFile, match="an HTML page .* with no table") as exc:
        ingest.prepare(empty)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("content,problem", [
    (b"\x00\x01\x02binary\x00" * 50, "binary data"),
    (b"PK\x03\x04junk", "not a readable .xlsx"),
    (b"", "empty"),
    ("Оператор;Дата\nX;Y\n".encode(), "no column with the submission text"),
])
def test_unreadable_files_name_the_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "bad.xlsx" if content.startswith(b"PK") else tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(readers.UnreadableFile, match=problem) as exc:
        ingest.prepare(path)
    assert str(path) in str(exc.value)


def _broken_folder(folder):
    folder.mkdir()
    (folder / "cp1251.csv").write_bytes((HEADER_RU + "1;01.02.2026 10:00;Абай;;Нет отопления;\n").encode("cp1251"))
    (folder / "bom_semicolon.csv").write_bytes(
        (HEADER_RU + "2;01.02.2026 10:00;Туран;;Яма;\n3;01.02.2026 10:00;Туран;;Яма;\n").encode("utf-8-sig"))
    (folder / "empty_texts.csv").write_text(HEADER_RU + "4;01.02.2026;Абай;;;\n5;01.02.2026;Абай;;  ;\n"
                                            "6;01.02.2026;Абай;;Текст;\n", encoding="utf-8")
    (folder / "bad_dates.csv").write_text(HEADER_RU + "7;31.02.2026;Абай;;Текст;\n8;завтра;Абай;;Текст;\n"
                                          "9;01.01.2090;Абай;;Из будущего;\n", encoding="utf-8")
    (folder / "duplicates.csv").write_text(HEADER_RU + "10;01.02.2026;Абай;;Текст;\n" * 3, encoding="utf-8")
    (folder / "no_ids.csv").write_text("Дата,Текст обращения\n01.02.2026 10:00,Одно и то же\n"
                                       "01.02.2026 10:00,Одно и то же\n01.02.2026 10:01,Другое\n", encoding="utf-8")
    (folder / "truncated.csv").write_text(HEADER_RU + '11;01.02.2026;Абай;;"Полный текст";\n'
                                          '12;01.02.2026;Абай;;"Оборванный текс', encoding="utf-8")
    (folder / "extra_fields.csv").write_text(HEADER_RU + "13;01.02.2026;Абай;;Текст; с точкой с запятой;+7;x\n",
                                             encoding="utf-8")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 20)


def test_folder_of_broken_files_never_crashes_and_second_run_inserts_nothing(tmp_path):
    folder = tmp_path / "broken"
    _broken_folder(folder)
    db = tmp_path / "b.duckdb"
    first = run_cli("ingest", str(folder), "--db", str(db))
    assert first.returncode == 1, first.stderr  # one file (the JPEG) could not be read at all
    assert "photo.jpg: binary data" in first.stderr
    per_file = [line for line in first.stdout.splitlines() if ".csv:" in line]
    assert len(per_file) == 8
    for line in per_file:
        c = counts(line.split(": ", 1)[1])
        assert c["inserted"] + c["duplicates"] + c["quarantined"] == c["read"], line
    total = counts(first.stdout)
    assert total == {"read": 18, "inserted": 8, "duplicates": 3, "quarantined": 7}
    second = run_cli("ingest", str(folder), "--db", str(db))
    assert counts(second.stdout) == {"read": 18, "inserted": 0, "duplicates": 11, "quarantined": 7}
    con = store.connect(db)
    assert store.submission_count(con) == 8
    reasons = [r for (r,) in con.execute("SELECT DISTINCT reason FROM quarantine ORDER BY 1").fetchall()]
    assert any(r.startswith("unparseable CSV from line") for r in reasons)
    assert any(r.startswith("date in the future") for r in reasons)
    assert any("fields where the header has 6" in r for r in reasons)
    assert events.inconsistencies(con).empty


def test_unknown_district_quarantined_and_every_row_classified(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text(HEADER_RU + "1;01.02.2026;Нарния;;Яма на дороге;\n2;01.02.2026;;;Нет воды;\n", encoding="utf-8")
    con, receipt = ingest_file(path, tmp_path / "d.duckdb", "hotline_109")
    assert receipt["inserted"] == 1 and receipt["quarantined"] == 1
    row = con.execute("SELECT district, category, category_source, status, priority, due_at IS NOT NULL "
                      "FROM submissions").fetchall()[0]
    assert row == (None, "water", "model", "new", "emergency", True)  # "no water" is an emergency (data/emergency_words.csv)
    assert "unknown district 'Нарния'" in con.execute("SELECT reason FROM quarantine").fetchall()[0][0]


def test_cli_summary_line_and_help(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text(HEADER_RU + "1;01.02.2026;Абай;;Яма;\n", encoding="utf-8")
    out = run_cli("ingest", str(path), "--db", str(tmp_path / "c.duckdb"), "--source", "hotline_109")
    assert out.returncode == 0
    assert out.stdout.strip() == "read=1 inserted=1 duplicates=0 quarantined=0"
    helped = run_cli("ingest", "--help")
    assert "example: python -m pipeline ingest" in helped.stdout


def test_unmapped_columns_reach_the_extra_json_column_of_an_upgraded_database(tmp_path, monkeypatch):
    import datetime as dt
    import shutil

    from openpyxl import Workbook

    # A database made by the schema before `extra` existed, with a row in it.
    old = tmp_path / "old_migrations"
    old.mkdir()
    for name in ("001_core.sql", "050_demo.sql"):
        shutil.copy(store.MIGRATIONS / name, old / name)
    db = tmp_path / "old.duckdb"
    monkeypatch.setattr(store, "MIGRATIONS", old)
    con = store.connect(db)
    con.execute("INSERT INTO submissions (source, source_id, received_at, text, status) "
                "VALUES ('qr', 'old-1', '2026-01-05 10:00:00+05', 'Старая запись', 'new')")
    con.close()
    monkeypatch.undo()

    csv = tmp_path / "x.csv"
    csv.write_text("№,Текст обращения,Оператор,Смена\n1,Яма во дворе,Иванова,вторая смена\n", encoding="utf-8")
    wb = Workbook()
    wb.active.append(["№", "Текст обращения", "Отметка оператора"])
    wb.active.append([2, "Нет света", dt.datetime(2026, 3, 2, 9, 30)])
    wb.save(tmp_path / "x.xlsx")
    con, receipt = ingest_file(csv, db)
    assert receipt["inserted"] == 1
    spool.write(ingest.prepare(tmp_path / "x.xlsx"), settings.inbox_path(db))
    assert spool.drain(con, settings.inbox_path(db))[0]["inserted"] == 1
    rows = con.execute("SELECT source_id, text, extra FROM submissions ORDER BY source_id").fetchall()
    assert [(sid, text) for sid, text, _ in rows] == [("1", "Яма во дворе"), ("2", "Нет света"),
                                                      ("old-1", "Старая запись")]
    assert json.loads(rows[0][2]) == {"Оператор": "Иванова", "Смена": "вторая смена"}
    assert json.loads(rows[1][2]) == {"Отметка оператора": "2026-03-02 09:30:00"}
    assert rows[2][2] is None
    assert con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'submissions' "
                       "AND column_name = 'extra'").fetchall() == [("JSON",)]
    con.close()


def test_a_nul_byte_quarantines_its_record_and_keeps_the_rest(tmp_path):
    path = tmp_path / "nul.csv"
    lines = [f"{i};01.02.2026 10:00;Абай;;Не горит фонарь у дома {i};" for i in range(1, 151)]
    lines.insert(4, "999;01.02.2026 10:00;Абай;;Текст с \x00 внутри;")   # within the first 8 KB
    path.write_bytes((HEADER_RU + "\n".join(lines) + "\n").encode("utf-8"))
    prepared = ingest.prepare(path, "hotline_109")
    assert prepared.read == 151 and len(prepared.rows) == 150
    assert prepared.quarantine[["record_no", "reason"]].values.tolist() == [
        [6, "NUL byte in the record (a damaged export?)"]]
    assert "\x00" in prepared.quarantine["raw"][0]


def test_a_column_of_mixed_date_formats_parses_each_value_as_it_would_alone():
    """parse_dates tries the first value's format first: the result must not depend on the order."""
    values = ["2026-03-21 14:05:00", "21.03.2026 14:05", None, "21/03/2026", "46102", "46102.5",
              "2026-03-21T14:05:00+03:00", "21.03.26", " 21.03.2026 ", "32.13.2026 10:00", "", "2026",
              "21.03.2026 14:05:07", "1.2.2026"]
    column = ingest.parse_dates(pd.Series(values, dtype=object), "Asia/Almaty")
    alone = [ingest.parse_dates(pd.Series([v], dtype=object), "Asia/Almaty").iloc[0] for v in values]
    assert column.tolist() == alone
    assert column.iloc[0] == pd.Timestamp("2026-03-21 09:05", tz="UTC") and column.iloc[1] == column.iloc[0]
    # a bare year ("2026") is no time of arrival: unparseable, not the 1st of January
    assert column.isna().tolist() == [False, False, True, False, False, False, False, False, False, True, True,
                                      True, False, False]
