"""Files as call-centre and document software really export them (found by feeding the ingest 25
such files): row counters under '№', dates day first in every spelling, a date and a time in two
columns, a title line above the header, a stray quote, a ';' after the last field, Kazakh code
page KZ-1048, UTF-16 without a byte-order mark, several sheets of a workbook, a totals line. Each
must load without losing or misdating a row. Fast (seconds)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline import ingest, store
from pipeline.__main__ import main

pytestmark = pytest.mark.usefixtures("keyword_classifier_unless_trained")

NOW = pd.Timestamp("2026-12-02 06:00", tz="UTC")
TEXT = "Во дворе дома по улице Тауке хана уже три недели не вывозят мусор, контейнеры переполнены"


def local(prepared) -> list[str]:
    return [t.tz_convert("Asia/Almaty").strftime("%Y-%m-%d %H:%M") for t in prepared.rows["received_at"]]


def write(path, lines: list[str], encoding: str = "utf-8") -> str:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def test_a_row_counter_under_no_is_not_the_appeal_number_so_next_months_file_is_not_duplicates(tmp_path, capsys):
    db = tmp_path / "c.duckdb"
    for month in (10, 11):
        rows = [f"{i};0{i}.{month}.2026 08:0{i};{TEXT} {month};Абайский район" for i in range(1, 6)]
        path = write(tmp_path / f"{month}.csv", ["№;Дата регистрации;Содержание обращения;Район", *rows])
        assert main(["ingest", str(path), "--db", str(db), "--no-classify"]) == 0
    out = capsys.readouterr()
    assert "numbers the rows 1, 2, 3" in out.err and out.out.count("inserted=5 ") == 2
    con = store.connect(db)
    assert con.execute("SELECT count(*), count(DISTINCT source_id) FROM submissions").fetchall() == [(10, 10)]
    assert con.execute("SELECT count(*) FROM submissions WHERE extra->>'№' = '3'").fetchall() == [(2,)]
    con.close()
    # a real number under '№' stays the number
    path = write(tmp_path / "ids.csv", ["№;Дата;Текст", f"109-2026-000017;01.11.2026 08:00;{TEXT}",
                                        f"109-2026-000018;01.11.2026 09:00;{TEXT}"])
    assert ingest.prepare(path, "hotline_109", now=NOW).rows["source_id"].tolist() == ["109-2026-000017",
                                                                                        "109-2026-000018"]


def test_dates_are_read_day_first_in_every_spelling_and_a_bare_time_is_no_date(tmp_path):
    values = ["01-11-2026 08:00", "02.11.2026 08:00:00.000", "03.11.26 05:39:00", "04.11.2026, 09:05",
              "5.11.2026 7:05", "2026-11-06T09:05:00+05:00", "07/11/2026 10:00", "08:00"]
    path = write(tmp_path / "d.csv", ["Номер обращения;Дата;Текст", *[f"{i};{v};{TEXT}" for i, v in enumerate(values)]])
    prepared = ingest.prepare(path, "hotline_109", now=NOW)
    assert local(prepared) == ["2026-11-01 08:00", "2026-11-02 08:00", "2026-11-03 05:39", "2026-11-04 09:05",
                               "2026-11-05 07:05", "2026-11-06 09:05", "2026-11-07 10:00"]
    assert prepared.quarantine["reason"].tolist() == ["unparseable date '08:00' (expected e.g. 21.03.2026 14:05, "
                                                      "2026-03-21 14:05:00 or ISO 8601)"]


def test_a_date_the_fast_reader_would_roll_over_is_read_as_pandas_reads_it_and_never_month_first(tmp_path):
    """A column's dates are read by Arrow first (far faster), and only where the day, month and
    four-digit year as written are those it read; Arrow alone rolled 31.02 over to 03.03 and read
    '25' as the year 25. Compared value by value with pandas' reading of the same formats. A date
    whose second number is no month (01.13.2026) is no date: dateutil's last resort read it month
    first, as 13 January."""
    values = ["30.11.2026 10:00", "31.02.2026 10:00", "29.02.2024 10:00", "31.04.2026 10:00", "1.5.2026 9:5",
              "01.05.2026  10:00", "01.05.26 10:00", "00.05.2026 10:00", "01.05.2026 24:00"]
    column = pd.Series(values, dtype=object)
    got = ingest.parse_dates(column, "UTC")
    want = pd.to_datetime(column, format="%d.%m.%Y %H:%M", errors="coerce")
    want = want.fillna(pd.to_datetime(column, format="%d.%m.%y %H:%M", errors="coerce"))
    shown = [None if pd.isna(x) else x.strftime("%Y-%m-%d %H:%M") for x in got]
    assert shown == [None if pd.isna(x) else x.strftime("%Y-%m-%d %H:%M") for x in want] == \
        ["2026-11-30 10:00", None, "2024-02-29 10:00", None, "2026-05-01 09:05", "2026-05-01 10:00",
         "2026-05-01 10:00", None, None]
    read = ingest.parse_dates(pd.Series(["01.13.2026 10:00", "13.01.2026 10:00"], dtype=object), "UTC")
    assert pd.isna(read[0]) and read[1].strftime("%Y-%m-%d %H:%M") == "2026-01-13 10:00"
    path = write(tmp_path / "m.csv", ["Номер обращения;Дата;Текст", f"1;01.13.2026 10:00;{TEXT}"])
    assert ingest.prepare(path, "hotline_109", now=NOW).quarantine["reason"].str.startswith(
        "unparseable date '01.13.2026 10:00'").tolist() == [True]


@pytest.mark.parametrize("header", ["Дата;Время;Текст", "Время поступления;Дата поступления;Текст"])
def test_a_date_and_a_time_in_two_columns_are_one_moment(tmp_path, header):
    first_date = header.startswith("Дата")
    rows = [(f"0{d}.11.2026", f"{h}:15") for d, h in ((1, 8), (2, 17), (3, 23))]
    lines = [f"{a};{b};{TEXT}" if first_date else f"{b};{a};{TEXT}" for a, b in rows]
    prepared = ingest.prepare(write(tmp_path / "t.csv", [header, *lines]), "hotline_109", now=NOW)
    assert local(prepared) == ["2026-11-01 08:15", "2026-11-02 17:15", "2026-11-03 23:15"]


def test_headers_in_other_words_are_understood_and_what_is_not_is_said_once(tmp_path, capsys):
    path = write(tmp_path / "h.csv", ["№ п/п;Дата и время обращения;Суть обращения;Район/Ауданы;Телефон заявителя",
                                      f"1;01.11.2026 08:00;{TEXT};Абайский район;+7 701 123 45 67"])
    prepared = ingest.prepare(path, "hotline_109", now=NOW)
    row = prepared.rows.iloc[0]
    assert local(prepared) == ["2026-11-01 08:00"] and row["district"] == "abai" and "701" in row["contact"]
    assert main(["ingest", str(path), "--db", str(tmp_path / "h.duckdb"), "--no-classify"]) == 0
    err = capsys.readouterr().err
    assert "columns not recognised, kept with each row (extra): '№ п/п'" in err
    # "Дата закрытия" is no time of arrival: a file with only that has no date column, and says so
    path = write(tmp_path / "n.csv", ["Дата закрытия;Текст", f"01.11.2026;{TEXT}"])
    assert main(["ingest", str(path), "--db", str(tmp_path / "n.duckdb"), "--no-classify"]) == 0
    assert "no date column was recognised" in capsys.readouterr().err


def test_title_lines_a_stray_quote_a_trailing_semicolon_and_a_totals_line(tmp_path):
    rows = [f"{i};0{i % 9 + 1}.11.2026 08:00;{TEXT} {i};" for i in range(12)]
    rows[5] = '5;02.11.2026 20:05;"Казахтелеком" не работает интернет в доме;'
    path = write(tmp_path / "x.csv", ["Выгрузка обращений 109 за ноябрь 2026 г.", "",
                                      "Номер обращения;Дата;Текст", *rows, "Итого: 12;;;"], "cp1251")
    prepared = ingest.prepare(path, "hotline_109", now=NOW)
    assert len(prepared.rows) == 11 and prepared.read == 13
    reasons = prepared.quarantine.set_index("record_no")["reason"].to_dict()
    assert list(reasons) == [9, 16] and reasons[9].startswith("unparseable CSV record")
    assert "Казахтелеком" in prepared.quarantine["raw"][0]
    assert reasons[16].startswith("a totals line")


def test_kazakh_code_page_and_utf16_without_a_byte_order_mark(tmp_path):
    kazakh = "Ауламызда үш апта бойы қоқыс шығарылмайды, контейнерлер толы. Өтінемін, шара қолданыңыздар"
    lines = ["Өтініш нөмірі;Күні;Өтініш мәтіні;Аудан", f"1;01.11.2026 08:00;{kazakh};Қаратау ауданы",
             f"2;01.11.2026 09:00;{kazakh};Қаратау ауданы"]
    prepared = ingest.prepare(write(tmp_path / "kz.csv", lines, "kz1048"), "hotline_109", now=NOW)
    assert prepared.encoding == "kz1048" and prepared.rows["text"].tolist() == [kazakh, kazakh]
    assert prepared.rows["district"].tolist() == ["karatau", "karatau"]
    tab = [line.replace(";", "\t") for line in lines]
    prepared = ingest.prepare(write(tmp_path / "u.txt", tab, "utf-16-le"), "hotline_109", now=NOW)
    assert prepared.encoding == "utf-16-le" and prepared.rows["text"].tolist() == [kazakh, kazakh]


def test_every_sheet_of_a_workbook_with_a_header_is_read(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    summary = wb.active
    summary.title = "Свод"
    summary.append(["Всего обращений", 3])
    for title, day in (("Ноябрь", 1), ("Декабрь", 1)):
        ws = wb.create_sheet(title)
        ws.append([f"Обращения за {title.lower()}"])
        ws.append(["Номер обращения", "Дата", "Время", "Текст"])
        month = 11 if title == "Ноябрь" else 12
        ws.append([f"{month}-1", dt.datetime(2026, month, day), dt.time(9, 30), TEXT])
        if month == 11:
            ws.append([f"{month}-2", dt.datetime(2026, month, 2), dt.time(10, 0), TEXT])
            ws.append(["Итого", None, None, None])
    wb.save(tmp_path / "w.xlsx")
    prepared = ingest.prepare(tmp_path / "w.xlsx", "hotline_109", now=NOW)
    assert local(prepared) == ["2026-11-01 09:30", "2026-11-02 10:00", "2026-12-01 09:30"]
    assert prepared.quarantine["reason"].str.startswith("a totals line").tolist() == [True]
    assert prepared.read == 4


def test_crm_exports_paged_files_and_json_of_other_shapes(tmp_path):
    """A second round of exports: the creation date after a modification date, the appeal after the
    answer, a comment as the only text, a header repeated page by page (with a '№' counter and a
    totals line, the next month still new), month names and Unix time, JSON under 'data' with
    nested objects and camelCase keys, a channel we do not know."""
    path = write(tmp_path / "b.csv", [
        "ID;Дата изменения;Дата создания сделки;Текст ответа исполнителя;Описание;Источник",
        f"7;01.12.2026 18:00;01.11.2026 08:00;Работы выполнены;{TEXT};Телеграм-бот",
        f"8;01.12.2026 18:05;2 ноября 2026 г. 9.05;Работы выполнены;{TEXT};Другое"])
    prepared = ingest.prepare(path, now=NOW)
    assert local(prepared) == ["2026-11-01 08:00", "2026-11-02 09:05"]
    assert prepared.rows["text"].tolist() == [TEXT, TEXT] and prepared.rows["source"].tolist() == ["web", "import"]
    assert '"source": "Другое"' in prepared.rows["extra"][1]
    path = write(tmp_path / "c.csv", ["Дата звонка;Номер абонента;Комментарий оператора",
                                      f"1793592300;87011234567;{TEXT}"])
    prepared = ingest.prepare(path, "hotline_109", now=NOW)
    assert local(prepared) == ["2026-11-02 09:05"] and prepared.rows["text"].tolist() == [TEXT]

    header = "№;Дата поступления;Текст обращения"
    for month, name in ((10, "oct"), (11, "nov")):
        rows = [header]
        for i in range(1, 8):
            rows.append(f"{i};0{i}.{month}.2026 08:00;{TEXT} {month}")
            if i % 3 == 0:
                rows.append(header)
        write(tmp_path / f"{name}.csv", [*rows, "Итого: 7;;"])
    db = tmp_path / "p.duckdb"
    for name in ("oct", "nov"):
        assert main(["ingest", str(tmp_path / f"{name}.csv"), "--db", str(db), "--no-classify"]) == 0
    con = store.connect(db)
    assert con.execute("SELECT count(*) FROM submissions").fetchall() == [(14,)]
    assert con.execute("SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 1").fetchall() == [
        ("a totals line of the export (Итого, Всего), not a submission", 2),
        ("the header line again (an export written page by page), not a submission", 4)]
    con.close()

    import json

    (tmp_path / "d.json").write_text(json.dumps({"result": {"data": [
        {"id": "E-1", "createdAt": "2026-11-01T03:00:00Z", "description": TEXT,
         "address": {"city": "Шымкент", "district": "Абайский район"}, "location": {"lat": 42.3, "long": 69.6},
         "contact": {"phone": "+77011234567"}}]}}, ensure_ascii=False), encoding="utf-8")
    prepared = ingest.prepare(tmp_path / "d.json", "web", now=NOW)
    row = prepared.rows.iloc[0]
    assert local(prepared) == ["2026-11-01 08:00"] and row["district"] == "abai" and row["lat"] == 42.3
    assert row["contact"] == "+77011234567" and json.loads(row["extra"]) == {"address.city": "Шымкент"}


def test_a_text_of_only_invisible_characters_is_empty(tmp_path):
    path = write(tmp_path / "z.csv", ["Номер обращения;Дата;Текст", "1;01.11.2026 08:00;\u200b \u200b",
                                      f"2;01.11.2026 09:00;{TEXT}\u200b"])
    prepared = ingest.prepare(path, "hotline_109", now=NOW)
    assert prepared.quarantine["reason"].tolist() == ["empty text"] and len(prepared.rows) == 1


def test_the_row_limit_of_a_workbook_counts_every_sheet(tmp_path, monkeypatch):
    from openpyxl import Workbook

    monkeypatch.setenv("SC_XLSX_MAX_ROWS", "5")
    wb = Workbook()
    for k, title in enumerate(("Октябрь", "Ноябрь", "Декабрь")):
        ws = wb.active if k == 0 else wb.create_sheet(title)
        ws.title = title
        ws.append(["Номер обращения", "Дата", "Текст"])
        for i in range(3):
            ws.append([f"{k}-{i}", f"0{i + 1}.{10 + k}.2026 08:00", TEXT])
    wb.save(tmp_path / "big.xlsx")
    prepared = ingest.prepare(tmp_path / "big.xlsx", "hotline_109", now=NOW)
    assert len(prepared.rows) == 5 and prepared.read == 7  # 3 + 2 rows, a record for the rest of each
    reasons = prepared.quarantine["reason"].tolist()
    assert reasons[0].startswith("more than 2 data rows") and reasons[1].startswith("sheet 'Декабрь' was not read")


def test_a_review_of_the_readers_what_must_not_be_taken_for_what(tmp_path):
    """A review of this reading found rows lost and fields taken from the wrong column; each case
    here failed before its fix."""
    import json

    from openpyxl import Workbook

    # a first data row whose cells match column words is data, not a second header row; a real
    # second row of names under group titles is; a lookup sheet is not appeals
    wb = Workbook()
    ws = wb.active
    ws.append(["Номер обращения", "Дата поступления", "Район", "Текст обращения"])
    ws.append(["109-1", dt.datetime(2026, 11, 1, 8), "Абайский район", "По адресу ул. Абая 10 нет света"])
    ws.append(["109-2", dt.datetime(2026, 11, 1, 9), "Абайский район", TEXT])
    ref = wb.create_sheet("Справочник")
    ref.append(["Код", "Район", "Описание"])
    ref.append(["1", "Абайский район", "Абай ауданы"])
    two = wb.create_sheet("Декабрь")
    two.append(["Номер обращения", "Обращение", None, "Район"])
    two.append([None, "Дата поступления", "Содержание", None])
    two.append(["109-3", dt.datetime(2026, 11, 3, 10), TEXT, "Абайский район"])
    wb.save(tmp_path / "w.xlsx")
    prepared = ingest.prepare(tmp_path / "w.xlsx", "hotline_109", now=NOW)
    assert prepared.rows["source_id"].tolist() == ["109-1", "109-2", "109-3"] and prepared.read == 3
    assert local(prepared) == ["2026-11-01 08:00", "2026-11-01 09:00", "2026-11-03 10:00"]

    # a CSV whose header has no text column is refused, not read from a data row below it
    path = write(tmp_path / "h.csv", ["Номер;Дата;Жалоба", f"1;01.11.2026 08:00;{TEXT}", "2;01.11.2026;Описание: яма"])
    with pytest.raises(Exception, match="no column with the submission text"):
        ingest.prepare(path, "hotline_109", now=NOW)

    # columns that only look like ours stay in extra
    path = write(tmp_path / "k.csv", ["Дата поступления;ФИО оператора;Адрес электронной почты;Телевизор;Текст",
                                      f"01.11.2026 10:00;Иванова;a@b.kz;LG;{TEXT}"])
    row = ingest.prepare(path, "hotline_109", now=NOW).rows.iloc[0]
    assert row["contact"] is None and row["address"] is None
    assert set(json.loads(row["extra"])) == {"ФИО оператора", "Адрес электронной почты", "Телевизор"}

    # a time column alone is the date; one that holds the whole moment wins over a bare date
    path = write(tmp_path / "t.csv", ["Время поступления;Текст", f"01.11.2026 10:30;{TEXT}"])
    assert local(ingest.prepare(path, "hotline_109", now=NOW)) == ["2026-11-01 10:30"]
    path = write(tmp_path / "b.csv", ["Дата;Время;Время закрытия;Текст",
                                      f"01.11.2026;01.11.2026 10:30;18:30;{TEXT}"])
    assert local(ingest.prepare(path, "hotline_109", now=NOW)) == ["2026-11-01 10:30"]

    # JSON: a category's id or a status's date is not the appeal's; a birth date is no date of arrival
    records = [{"request_number": f"A{i}", "createdAt": f"2026-11-0{i}T03:00:00Z", "description": TEXT,
                "category": {"id": 3, "name": "Благоустройство"}, "status": {"date": "2026-11-20T05:00:00Z"},
                "executor": {"phone": "+77010000000"}, "dateOfBirth": "1980-05-01", "message_id": i}
               for i in (1, 2, 3)]
    (tmp_path / "n.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    prepared = ingest.prepare(tmp_path / "n.jsonl", "web", now=NOW)
    assert prepared.rows["source_id"].tolist() == ["A1", "A2", "A3"] and prepared.rows["contact"].isna().all()
    assert local(prepared) == ["2026-11-01 08:00", "2026-11-02 08:00", "2026-11-03 08:00"]
    assert prepared.rows["text"].tolist() == [TEXT] * 3

    # Ukrainian letters in a cp1251 file are no Kazakh code page
    path = write(tmp_path / "uk.csv", ["Номер обращения;Дата;Текст;ФИО", f"1;01.11.2026 08:00;{TEXT};Коваленко Ївга Євгенівна"],
                 "cp1251")
    prepared = ingest.prepare(path, "hotline_109", now=NOW)
    assert prepared.encoding == "cp1251" and "Ївга Євгенівна" in prepared.rows["contact"][0]
