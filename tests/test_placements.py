"""QR-code placements (issue 14): the registry's reads and writes, CSV import, the file the public
form reads, placement statistics, the posters and their codes, the commands and the page."""
from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline import auth, placements, posters, settings, store
from pipeline.queries import placement_stats
from tests.conftest import signed_in

ADMIN = auth.viewer_for("anna", "admin")
ANALYST = auth.viewer_for("arman", "analyst")
OPERATOR = auth.viewer_for("olga", "operator")
HEADER = "code,kind,name_ru,name_kk,region,district,lat,lon,active\n"
GOOD = (HEADER +
        "sh-0001,bus_stop,Остановка «Тассай»,«Тассай» аялдамасы,shymkent,turan,42.27,69.52,true\n"
        "SH-0002,bus_route,\"Автобус, маршрут № 12\",\"Автобус, № 12 бағыт\",shymkent,,,,1\n"
        "AK-0001,school,Школа № 54,№ 54 мектеп,,Алматы,,,да\n")


@pytest.fixture
def db(tmp_path):
    con = store.connect(tmp_path / "p.duckdb")
    yield con
    con.close()


def public(con) -> list[dict]:
    return json.loads(placements.public_file(con).read_text(encoding="utf-8"))


# ---- registry ------------------------------------------------------------------------------
def test_add_edit_and_take_down_publish_each_change_and_are_audited(db):
    assert placements.add(db, ADMIN, {"code": " sh-0042 ", "kind": "park", "name_ru": "Парк  Кен-Баба",
                                      "name_kk": "Кен-Баба саябағы", "district": "Еңбекші"}) == "SH-0042"
    row = placements.get(db, "sh-0042")  # codes are compared without regard to case
    assert row["region"] == "shymkent" and row["district"] == "enbekshi" and row["name_ru"] == "Парк Кен-Баба"
    assert public(db) == [{"code": "SH-0042", "kind": "park", "name_ru": "Парк Кен-Баба", "name_kk": "Кен-Баба саябағы",
                           "region": "shymkent", "district": "enbekshi", "active": True}]
    changed = placements.edit(db, ADMIN, "SH-0042", {**row, "lat": "42,31", "lon": 69.61, "name_kk": "Кен-Баба"})
    assert changed == {"name_kk": "Кен-Баба", "lat": 42.31, "lon": 69.61}
    assert placements.edit(db, ADMIN, "SH-0042", placements.get(db, "SH-0042")) == {}
    assert placements.deactivate(db, ADMIN, "sh-0042") and not placements.deactivate(db, ADMIN, "SH-0042")
    assert public(db)[0]["active"] is False and public(db)[0]["name_kk"] == "Кен-Баба"
    table = placements.table(db, ADMIN)
    assert table["updated_by"].tolist() == ["anna"] and table["created_by"].tolist() == ["anna"]
    with pytest.raises(placements.PlacementError, match="exists already") as refused:
        placements.add(db, ADMIN, {"code": "SH-0042", "kind": "park", "name_ru": "x", "name_kk": "y", "region": "shymkent"})
    assert refused.value.code == "exists"
    users = auth.connect()
    actions = auth.audit_log(users, ADMIN, actor="anna")["action"].tolist()
    users.close()
    assert actions == ["placement.deactivate", "placement.edit", "placement.add"]
    assert not list(placements.public_file(db).parent.glob(".placements-*"))  # no temporary file left behind


def test_roles_analyst_reads_operator_neither_and_only_admin_writes(db):
    placements.import_csv(db, "cli", GOOD.encode(), "good.csv")
    assert len(placements.table(db, ANALYST)) == 3
    with pytest.raises(auth.Forbidden):
        placements.table(db, OPERATOR)
    with pytest.raises(auth.Forbidden):
        placement_stats.silent(db, OPERATOR, 4, dt.datetime.now(dt.timezone.utc))
    for write in (lambda v: placements.add(db, v, {}), lambda v: placements.deactivate(db, v, "SH-0001"),
                  lambda v: placements.edit(db, v, "SH-0001", {}), lambda v: placements.import_csv(db, v, GOOD.encode())):
        for viewer in (ANALYST, OPERATOR):
            with pytest.raises(auth.Forbidden):
                write(viewer)
    assert placements.table(db, ADMIN)["active"].all()


@pytest.mark.parametrize("record, code, words", [
    ({"code": "SH 1"}, "bad_code", "code 'SH 1'"),
    ({"code": "ШК-1"}, "bad_code", "Latin letters"),
    ({"kind": "tram"}, "bad_kind", "kind 'tram'"),
    ({"name_kk": " "}, "empty", "name_kk is empty"),
    ({"name_ru": "x" * 151}, "long", "at most 150"),
    ({"name_ru": "Парк\u202e"}, "bad_text", "control or direction"),
    ({"district": "Нарния"}, "bad_district", "unknown district 'Нарния'"),
    ({"region": "almaty"}, "bad_region", "unknown region 'almaty'"),
    ({"region": "aktobe", "district": "turan"}, "district_region", "not in region"),
    ({"region": "", "district": ""}, "no_region", "neither region nor district"),
    ({"lat": "north"}, "bad_number", "lat 'north' is not a number"),
    ({"lat": "60", "lon": "69"}, "out_of_range", "outside Kazakhstan"),
    ({"lat": "42.3", "lon": ""}, "half_point", "go together"),
    ({"active": "maybe"}, "bad_active", "active 'maybe'"),
])
def test_a_bad_field_is_one_specific_line(record, code, words):
    base = {"code": "SH-1", "kind": "park", "name_ru": "Парк", "name_kk": "Саябақ", "region": "shymkent", "district": "turan"}
    with pytest.raises(placements.PlacementError) as refused:
        placements.clean({**base, **record}, line=7)
    assert refused.value.code == code and words in str(refused.value) and str(refused.value).startswith("line 7: ")
    assert "\n" not in str(refused.value)


def test_import_names_every_bad_line_and_imports_nothing(db):
    placements.import_csv(db, "cli", GOOD.encode(), "good.csv")
    before = placements.table(db, ADMIN)
    bad = (HEADER + "SH-0001,park,Новое имя,Жаңа атау,shymkent,turan,,,\n"   # a valid change: not applied either
           "SH-0100,bus_stop,Остановка,Аялдама,shymkent,Нарния,,,\n"
           "sh-0101,park,Парк,Саябақ,shymkent,abai,,,\n"
           "SH-0101,park,Парк,Саябақ,shymkent,abai,,,\n"
           "SH-0102,park,Парк,Саябақ,shymkent,abai,42.1,,\n")
    with pytest.raises(placements.ImportRefused) as refused:
        placements.import_csv(db, ADMIN, bad.encode(), "bad.csv")
    lines = [str(e) for e in refused.value.errors]
    assert lines == ["line 3: unknown district 'Нарния' (not in data/districts.csv names or aliases)",
                     "line 5: code SH-0101 appears twice (lines 4 and 5)",
                     "line 6: lat and lon go together: give both or neither"]
    assert str(refused.value) == f"bad.csv: {lines[0]} (and 2 more); nothing imported"
    pd.testing.assert_frame_equal(placements.table(db, ADMIN), before)


@pytest.mark.parametrize("data, words", [
    (b"", "is empty"),
    (b"\x00\x01PK\x03\x04" * 20, "binary data"),
    (b"code;kind\nSH-1;park\n", "columns missing: name_ru, name_kk"),
    (HEADER.encode(), "no placements after the header line"),
    ((HEADER + "SH-1,park,\"Парк,Саябақ,shymkent\n").encode(), "unparseable CSV"),
    ((HEADER + "SH-1,park,Парк, на углу,Саябақ,shymkent,,,,\n").encode(), "10 fields where the header has 9"),
])
def test_broken_files_are_refused_in_one_line(db, data, words):
    with pytest.raises(placements.ImportRefused) as refused:
        placements.import_csv(db, ADMIN, data, "x.csv")
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert placements.table(db, ADMIN).empty


def test_import_adds_updates_and_reads_semicolons_and_cp1251(db):
    assert placements.import_csv(db, ADMIN, GOOD.encode(), "a.csv") == {"added": 3, "updated": 0, "unchanged": 0}
    russian = (HEADER + "AK-0001,school,Средняя школа № 54,№ 54 мектеп,aktobe,aktobe_almaty,,,1\n"
               "AK-0002,clinic,Поликлиника № 5,Емхана № 5,aktobe,aktobe_astana,,,0\n").replace(",", ";")
    counts = placements.import_csv(db, ADMIN, russian.encode("cp1251"), "excel.csv")  # Excel's CSV in a Russian locale
    assert counts == {"added": 1, "updated": 1, "unchanged": 0}
    assert placements.get(db, "AK-0001")["name_ru"] == "Средняя школа № 54"
    assert placements.get(db, "AK-0002")["active"] is False
    assert {r["code"] for r in public(db)} == {"SH-0001", "SH-0002", "AK-0001", "AK-0002"}
    assert next(r for r in public(db) if r["code"] == "SH-0002")["district"] is None  # a route has none


def test_publish_command_writes_the_file_for_the_form(tmp_path):
    path = tmp_path / "c.duckdb"
    con = store.connect(path)
    placements.import_csv(con, "cli", GOOD.encode())
    placements.public_file(con).unlink()
    con.close()
    out = tmp_path / "public"
    done = subprocess.run([sys.executable, "-m", "pipeline", "publish-placements", "--db", str(path), "--out", str(out)],
                          capture_output=True, text=True, cwd=settings.ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "3 placements published" in done.stdout
    records = json.loads((out / "placements.json").read_text(encoding="utf-8"))
    assert [r["code"] for r in records] == ["AK-0001", "SH-0001", "SH-0002"]
    assert all(list(r) == list(placements.PUBLIC_FIELDS) for r in records)
    assert records[0]["district"] == "aktobe_almaty" and records[0]["region"] == "aktobe"


def test_the_demo_registry_is_valid_and_the_demo_uses_it(db, keyword_classifier_unless_trained):
    rows = placements.read_csv(settings.ROOT / "data" / "placements.csv")
    assert len(rows) == 47 and {r["region"] for r in rows} == {"shymkent", "aktobe"}
    from pipeline import demo

    demo.build_demo(db, rows=400, seed=5, end="2026-11-30")
    assert len(placements.table(db, ADMIN)) == 47 and len(public(db)) == 47
    used = db.execute("SELECT DISTINCT placement FROM submissions WHERE source = 'qr'").fetchall()
    assert used and {c for (c,) in used} <= {r["code"] for r in rows}
    assert db.execute("SELECT count(*) FROM submissions WHERE source <> 'qr' AND placement IS NOT NULL").fetchone()[0] == 0


# ---- statistics ----------------------------------------------------------------------------
NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone.utc)  # a Thursday, 14:00 in Almaty


def _fixture(con) -> list[tuple[str | None, dt.datetime]]:
    placements.import_csv(con, "cli", GOOD.encode())
    placements.add(con, "cli", {"code": "SH-0003", "kind": "park", "name_ru": "Парк", "name_kk": "Саябақ",
                                "region": "shymkent"})
    tz = ZoneInfo("Asia/Almaty")
    rows = [("SH-0001", dt.datetime(2026, 11, 23, 0, 30, tzinfo=tz)),   # this week, just after Monday midnight
            ("sh-0001 ", dt.datetime(2026, 11, 22, 23, 30, tzinfo=tz)),  # the week before, typed by hand
            ("SH-0001", dt.datetime(2026, 11, 17, 10, 0, tzinfo=tz)),
            ("SH-0002", dt.datetime(2026, 11, 10, 10, 0, tzinfo=tz)),   # three weeks ago
            ("SH-0002", dt.datetime(2026, 11, 8, 23, 0, tzinfo=tz)),    # the Sunday before: outside a 3-week window
            ("AK-0001", dt.datetime(2026, 9, 1, 10, 0, tzinfo=tz)),     # long ago
            ("XX-9", dt.datetime(2026, 11, 20, 10, 0, tzinfo=tz)),      # not in the registry
            (None, dt.datetime(2026, 11, 20, 10, 0, tzinfo=tz))]        # a call, no placement
    for i, (code, at) in enumerate(rows):
        con.execute("INSERT INTO submissions (source, source_id, received_at, text, placement) VALUES (?, ?, ?, ?, ?)",
                    ["qr" if code else "hotline_109", str(i), at, "Предложение", code])
    return rows


def test_statistics_match_direct_sql_and_a_count_by_hand(db):
    rows = _fixture(db)
    start, _ = placement_stats.window(3, NOW)
    assert start.isoformat() == "2026-11-09T00:00:00+05:00"
    page, count = placement_stats.totals(db, ADMIN, 3, NOW, limit=2)
    assert count == 4 and page["code"].tolist() == ["SH-0001", "SH-0002"] and page["proposals"].tolist() == [3, 1]
    rest, _ = placement_stats.totals(db, ADMIN, 3, NOW, offset=2, limit=2)
    assert rest["code"].tolist() == ["AK-0001", "SH-0003"] and rest["proposals"].tolist() == [0, 0]
    weekly = placement_stats.weekly(db, ADMIN, ["SH-0001", "SH-0002", "AK-0001"], 3, NOW)
    got = {(r.code, pd.Timestamp(r.week).date()): r.proposals for r in weekly.itertuples()}
    assert got == {("SH-0001", dt.date(2026, 11, 23)): 1, ("SH-0001", dt.date(2026, 11, 16)): 2,
                   ("SH-0002", dt.date(2026, 11, 9)): 1}
    # the same counted directly: local Monday of each row, by hand and by plain SQL
    tz = ZoneInfo("Asia/Almaty")
    by_hand: dict = {}
    for code, at in rows:
        local = at.astimezone(tz)
        if code and code.strip().upper() in ("SH-0001", "SH-0002", "AK-0001") and at >= start:
            key = (code.strip().upper(), local.date() - dt.timedelta(days=local.weekday()))
            by_hand[key] = by_hand.get(key, 0) + 1
    assert got == by_hand
    direct = db.execute("SELECT upper(trim(placement)), CAST(date_trunc('week', received_at) AS DATE), count(*) "
                        "FROM submissions WHERE placement IS NOT NULL AND received_at >= ? GROUP BY ALL", [start]).fetchall()
    assert {(c, w): n for c, w, n in direct if c in ("SH-0001", "SH-0002", "AK-0001")} == got
    silent = placement_stats.silent(db, ADMIN, 3, NOW)
    assert silent["code"].tolist() == ["SH-0003", "AK-0001"]  # never, then the longest silent
    assert silent["proposals_ever"].tolist() == [0, 1]
    assert placement_stats.silent(db, ADMIN, 3, NOW, region="aktobe")["code"].tolist() == ["AK-0001"]
    placements.deactivate(db, "cli", "SH-0003")
    assert placement_stats.silent(db, ADMIN, 3, NOW)["code"].tolist() == ["AK-0001"]  # taken down: not "silent"
    unknown = placement_stats.unknown_codes(db, ADMIN, 3, NOW)
    assert unknown[["code", "proposals"]].values.tolist() == [["XX-9", 1]]
    assert placement_stats.weeks_of(3, NOW) == [dt.date(2026, 11, 9), dt.date(2026, 11, 16), dt.date(2026, 11, 23)]


# ---- codes and posters ---------------------------------------------------------------------
def test_codes_encode_exactly_the_placement_url(monkeypatch):
    import zxingcpp
    from PIL import Image

    monkeypatch.setenv("SC_FORM_URL", "https://idea.shymkent.kz/")
    assert posters.url("sh-0042") == "https://idea.shymkent.kz/p/SH-0042"
    image = Image.open(io.BytesIO(posters.png("sh-0042")))
    assert [r.text for r in zxingcpp.read_barcodes(image)] == ["https://idea.shymkent.kz/p/SH-0042"]
    svg = posters.svg("SH-0042").decode()
    assert svg.startswith("<svg") and "viewBox" in svg
    q = posters.qr("SH-0042")
    assert q.error_correction == posters.qrcode.constants.ERROR_CORRECT_Q and q.border == 4


def _render(pdf: bytes, scale: float = 1.5):
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        for i in range(len(document)):
            yield document[i].render(scale=scale, grayscale=True).to_pil()
    finally:
        document.close()


@pytest.mark.parametrize("size", ["a5", "a4"])
def test_posters_for_50_placements_decode_to_their_exact_urls(monkeypatch, size):
    """Acceptance (issue 14): posters for 50 placements, the PDF's pages rasterised (pypdfium2), every
    code decoded (zxing-cpp) to exactly its placement's URL, on its own page, in order."""
    import zxingcpp

    monkeypatch.setenv("SC_FORM_URL", "https://ideas.example.kz/shymkent")
    rows = [{"code": f"{'SH' if i % 2 else 'AK'}-{i:04d}", "name_ru": f"Остановка № {i}",
             "name_kk": f"№ {i} аялдама, Әл-Фараби ауданы"} for i in range(1, 51)]
    pdf = posters.poster_pdf(rows, size)
    found = [[r.text for r in zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)]
             for page in _render(pdf)]
    assert found == [[f"https://ideas.example.kz/shymkent/p/{r['code']}"] for r in rows]


def test_a_poster_carries_both_languages_the_code_and_the_address():
    import pypdfium2

    pdf = posters.poster_pdf([{"code": "SH-0042", "name_ru": "Парк Независимости", "name_kk": "Тәуелсіздік саябағы"}], "a4")
    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    width, height = page.get_size()
    text = page.get_textpage().get_text_range()
    document.close()
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)
    for words in ("Қаланы бірге жақсартайық", "Сделаем город лучше", "SH-0042", "Тәуелсіздік саябағы",
                  "Парк Независимости", "Орын коды", "Код места", "http://localhost:8502/p/SH-0042"):
        assert words in " ".join(text.split()), words


def test_posters_command_makes_one_pdf_and_refuses_a_bad_csv_in_one_line(tmp_path, capsys):
    from pipeline.__main__ import main

    good = tmp_path / "placements.csv"
    good.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "posters.pdf"
    assert main(["posters", str(good), "--size", "A5", "--out", str(out), "--codes", str(tmp_path / "codes")]) == 0
    assert "3 posters (A5)" in capsys.readouterr().out and out.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in (tmp_path / "codes").iterdir())[:2] == ["AK-0001.png", "AK-0001.svg"]
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "SH-1,tram,Трамвай,Трамвай,shymkent,,,,\n", encoding="utf-8")
    for args, words in (([str(bad)], "bad.csv: line 2: kind 'tram'"), ([str(tmp_path / "none.csv")], "cannot read"),
                        ([str(good), "--size", "a3"], "invalid choice: 'a3'"), ([str(tmp_path)], "is a folder")):
        try:
            code = main(["posters", *args, "--out", str(tmp_path / "x.pdf")])
        except SystemExit as exit_:  # argparse's own refusals
            code = exit_.code
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: ") and words in err, err
    assert not (tmp_path / "x.pdf").exists()
    helped = subprocess.run([sys.executable, "-m", "pipeline", "posters", "--help"], capture_output=True, text=True,
                            cwd=settings.ROOT, timeout=60)
    assert "example: python -m pipeline posters placements.csv --size a5 --out posters.pdf" in helped.stdout


# ---- the page ------------------------------------------------------------------------------
@pytest.fixture
def page_db(tmp_path, monkeypatch):
    path = tmp_path / "page.duckdb"
    con = store.connect(path)
    store.set_meta(con, "dataset", "real")
    _fixture(con)
    con.close()
    monkeypatch.setenv("SC_DB", str(path))
    return path


def _page(role: str) -> AppTest:
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=60), role)
    at.run()
    at.switch_page("pages/placements.py").run()
    assert not at.exception, at.exception
    return at


def test_the_page_warns_before_printing_codes_with_this_computers_address(page_db, monkeypatch):
    from pipeline import i18n, posters

    at = _page("admin")  # the default SC_FORM_URL is http://localhost:8502
    assert [c.value for c in at.code][0] == "http://localhost:8502/p/КОД-МЕСТА"
    assert at.warning and at.warning[0].value == i18n.t("placements.local_url", "ru", url="http://localhost:8502")
    monkeypatch.setenv("SC_FORM_URL", "https://idea.shymkent.kz/")
    at = _page("admin")
    assert [c.value for c in at.code][0] == "https://idea.shymkent.kz/p/КОД-МЕСТА" and not at.warning
    assert [posters.local_form_url(u) for u in ("http://127.0.0.1:8502", "http://[::1]:8502", "http://0.0.0.0",
                                                 "https://localhost.kz", "http://10.0.0.5:8502")] == [
        True, True, True, False, False]


def test_page_lists_adds_takes_down_and_counts_for_an_admin(page_db):
    at = _page("admin")
    registry = at.dataframe[0].value
    assert registry["Код"].tolist() == ["AK-0001", "SH-0001", "SH-0002", "SH-0003"]
    assert "Школа" in registry["Тип места"].tolist()
    at.text_input(key="pl_add_code").set_value("sh-0500")
    at.selectbox(key="pl_add_kind").set_value("clinic")
    at.text_input(key="pl_add_name_ru").set_value("Поликлиника № 9")
    at.text_input(key="pl_add_name_kk").set_value("№ 9 емхана")
    at.selectbox(key="pl_add_district").set_value("karatau")
    at.button(key="FormSubmitter:pl_add-Добавить место").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success[0].value == "Место SH-0500 добавлено."
    assert "SH-0500" in at.dataframe[0].value["Код"].tolist()
    at.text_input(key="pl_add_code").set_value("SH-0500")  # taken: refused in words, nothing changes
    at.text_input(key="pl_add_name_ru").set_value("x")
    at.text_input(key="pl_add_name_kk").set_value("y")
    at.button(key="FormSubmitter:pl_add-Добавить место").click().run()
    assert at.error[0].value == "место SH-0500 уже есть (коды не используются повторно)"
    at.selectbox(key="pl_edit_pick").set_value("SH-0001").run()
    at.button(key="pl_toggle_SH-0001").click().run()
    assert "Место SH-0001 снято" in at.success[0].value
    assert placements.public_file().exists()
    assert not next(r for r in json.loads(placements.public_file().read_text()) if r["code"] == "SH-0001")["active"]
    # statistics: the week table and the silent placements
    at.number_input(key="pl_weeks").set_value(3).run()
    weeks = at.dataframe[1].value
    columns = weeks.columns.tolist()
    assert columns[:4] == ["Код", "Название", "Тип места", "Всего"] and columns[-1] == "Последнее предложение"
    mondays = [dt.datetime.strptime(c, "%d.%m") for c in columns[4:-1]]
    assert len(mondays) == 3 and all(m.weekday() == mondays[0].weekday() for m in mondays)
    assert (weeks[columns[4:-1]].sum(axis=1) == weeks["Всего"]).all()
    assert at.subheader[1].value == "Места без предложений за последние 3 нед."


def test_page_is_read_only_for_an_analyst_and_closed_to_an_operator(page_db):
    at = _page("analyst")
    assert at.info[0].value == "Ваша роль может смотреть места, коды и статистику, но не менять реестр."
    assert not [e for e in at.expander if e.label in ("Добавить место", "Изменить место", "Импорт из CSV")]
    assert at.get("download_button")  # codes and posters, all the same
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=60), "operator")
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in an operator's menu
        at.switch_page("pages/placements.py")


def test_kazakh_code_page_imports_right_lost_kazakh_letters_are_refused_and_a_city_names_its_region():
    """An akimat clerk's Excel: KZ-1048 ('Kazakh' ANSI) reads right; cp1251, which writes ә ғ қ ң as
    '?', is refused naming the line, instead of posters and the form showing «?л-Фараби»."""
    from pipeline import placements

    header = "code;kind;name_ru;name_kk;region;district;lat;lon;active\n"
    row = "SH-0100;bus_stop;Остановка «Әл-Фараби»;«Әл-Фараби алаңы» аялдамасы;;abai;42.31;69.59;да\n"
    assert placements.read_csv((header + row).encode("kz1048"), "kz.csv")[0]["name_kk"] == "«Әл-Фараби алаңы» аялдамасы"
    with pytest.raises(placements.ImportRefused, match="line 2: name_ru .*Kazakh letters were lost"):
        placements.read_csv((header + row).encode("cp1251", errors="replace"), "ansi.csv")
    route = "SH-0101;bus_route;Автобус 12;№ 12 автобус;г. Шымкент;;;;да\n"
    assert placements.read_csv((header + route).encode("utf-8"), "r.csv")[0]["region"] == "shymkent"


def test_posters_command_lists_every_bad_line_and_prints_no_poster_for_an_inactive_placement(tmp_path, capsys):
    from pipeline.__main__ import main

    header = "code;kind;name_ru;name_kk;region;district;lat;lon;active\n"
    good = "SH-0100;bus_stop;Остановка 1;Аялдама 1;;abai;42.31;69.59;да\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + good + "SH-0101;bus_stop;Остановка 2;Аялдама 2;;atlantis;42.31;69.59;да\n"
                   "SH-0102;bus_stop;Остановка 3;;;abai;42.31;69.59;да\n", encoding="utf-8")
    assert main(["posters", str(bad), "--size", "a5", "--out", str(tmp_path / "x.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: bad.csv: line 3: unknown district 'atlantis'")
    assert err.endswith("; line 4: name_kk is empty\n") and not (tmp_path / "x.pdf").exists()
    ok = tmp_path / "ok.csv"
    ok.write_text(header + good + "SH-0103;bus_stop;Остановка 4;Аялдама 4;;abai;42.31;69.59;нет\n", encoding="utf-8")
    assert main(["posters", str(ok), "--size", "a5", "--out", str(tmp_path / "x.pdf")]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("1 posters (A5)") and "no posters for 1 inactive placement: SH-0103" in out.err


def test_a_clerks_excel_with_russian_headers_true_false_in_words_and_trailing_empty_columns():
    from pipeline import placements

    csv = ("Код;Тип;Название (рус);Название (каз);Регион;Район;Широта;Долгота;Активно\n"
           "SH-0100;bus_stop;Остановка 1;Аялдама 1;;abai;42,31;69,59;ИСТИНА;;\n"
           "SH-0101;bus_stop;Остановка 2;Аялдама 2;;abai;42,32;69,58;ЛОЖЬ;;\n")
    rows = placements.read_csv(csv.encode("cp1251"), "clerk.csv")
    assert [(r["code"], r["district"], r["lat"], r["active"]) for r in rows] == [
        ("SH-0100", "abai", 42.31, True), ("SH-0101", "abai", 42.32, False)]
