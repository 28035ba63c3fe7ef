"""XLSX bombs: the declared dimension is ignored, and rows, columns, cell size and unpacked size are
bounded; a workbook beyond a limit costs seconds, keeps its good rows and says what it skipped."""
import re
import subprocess
import sys
import time
import zipfile

from openpyxl import Workbook

from pipeline import settings

HEADER = ["№", "Дата поступления", "Текст обращения"]


def _workbook(path, rows, extra=None):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i in range(1, rows + 1):
        ws.append([i, "02.03.2026 09:30", f"Не горит фонарь у дома {i}"])
    if extra:
        extra(ws)
    wb.save(path)
    return path


READ = """
import json, sys
from pipeline import readers
try:
    r = readers.read_file(sys.argv[1])
except readers.UnreadableFile as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"records": len(r.records), "record_nos": r.record_nos, "bad": r.bad}, ensure_ascii=False))
"""


def read_bounded(path, env=None, limit=20.0):
    """readers.read_file in a child process: a bomb that gets through fails the test in `limit`
    seconds instead of hanging the suite."""
    import json
    import os

    started = time.monotonic()
    run = subprocess.run([sys.executable, "-c", READ, str(path)], capture_output=True, text=True,
                         cwd=settings.ROOT, timeout=limit, env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - started < limit
    return json.loads(run.stdout)


def _rewrite_sheet(path, fn):
    """Rewrite xl/worksheets/sheet1.xml of a saved workbook with fn(xml) -> xml."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = fn(data.decode("utf-8")).encode("utf-8")
            dst.writestr(item, data)
    tmp.replace(path)
    return path


def test_a_declared_dimension_of_the_whole_sheet_is_ignored(tmp_path):
    # A few KB that declare A1:XFD1048576 and end with an empty last row: openpyxl pads every row
    # to the declared 16384 cells and fills the missing rows up to 1048576 (10 minutes before).
    def bomb(xml):
        xml = re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:XFD1048576"', xml)
        return xml.replace("</sheetData>", '<row r="1048576"/></sheetData>')
    path = _rewrite_sheet(_workbook(tmp_path / "dim.xlsx", 2), bomb)
    assert path.stat().st_size < 10_000
    result = read_bounded(path)
    assert (result["records"], result["record_nos"], result["bad"]) == (2, [2, 3], [])


def test_a_row_far_down_and_a_cell_far_right_cost_nothing_and_are_not_lost(tmp_path):
    def far(ws):
        ws.cell(row=1_048_576, column=3, value="Яма на дороге")       # the last row Excel has
        ws.cell(row=2, column=16_384, value="спрятано в XFD2")         # the last column
    result = read_bounded(_workbook(tmp_path / "far.xlsx", 3, far))
    assert result["record_nos"] == [3, 4, 1_048_576]
    assert [(no, reason) for no, _, reason in result["bad"]] == [
        (2, "value in column XFD, beyond the limit of 256 columns (SC_XLSX_MAX_COLUMNS)")]
    assert "спрятано в XFD2" in result["bad"][0][1]     # the raw record keeps it


def test_too_many_rows_stop_with_a_quarantine_record_and_keep_the_rows_read(tmp_path):
    result = read_bounded(_workbook(tmp_path / "rows.xlsx", 150), env={"SC_XLSX_MAX_ROWS": "100"})
    assert result["records"] == 100 and result["record_nos"][-1] == 101
    assert [(no, reason) for no, _, reason in result["bad"]] == [
        (102, "more than 100 data rows (SC_XLSX_MAX_ROWS): rows from 102 on were not read; "
              "split the workbook or save it as CSV")]


def test_an_oversized_cell_quarantines_its_row_only(tmp_path):
    # openpyxl itself cuts cells to Excel's 32767 characters when it writes, so the limit is lowered
    def big(ws):
        ws.append([99, "02.03.2026 10:00", "x" * 5_000])
    result = read_bounded(_workbook(tmp_path / "cell.xlsx", 3, big), env={"SC_XLSX_MAX_CELL": "1000"})
    assert result["records"] == 3
    [(no, raw, reason)] = result["bad"]
    assert (no, reason) == (5, "cell in column C holds 5000 characters, more than SC_XLSX_MAX_CELL=1000")
    assert 1000 < len(raw) < 1100     # the raw record, with the long cell cut to the limit


def test_a_workbook_that_unpacks_too_large_is_refused_in_one_line(tmp_path):
    def fat(ws):
        for i in range(100):
            ws.append([1000 + i, "02.03.2026 10:00", "ы" * 15_000])   # 3 MB of text, compresses to KB
    path = _workbook(tmp_path / "fat.xlsx", 1, fat)
    assert path.stat().st_size < 200_000
    message = read_bounded(path, env={"SC_XLSX_MAX_MB": "1"})["error"]
    # 3 MB of text; written as character references (openpyxl with lxml) the XML holds about 10 MB
    unpacked = re.match(rf"{re.escape(str(path))}: unpacks to (\d+) MB", message)
    assert unpacked and int(unpacked.group(1)) >= 3 and "SC_XLSX_MAX_MB=1" in message, message
    assert "\n" not in message
