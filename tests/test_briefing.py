"""The akim's briefing: every figure against direct SQL on a tiny fixture, Russian and Kazakh
number grammar against hand-written forms, the PDF and DOCX carrying the figures, CLI errors,
and the page."""
from __future__ import annotations

import datetime as dt
import io
import random
import re
import subprocess
import sys
import warnings

import pytest

from pipeline import briefing, briefing_docs, grammar, i18n, store
from pipeline.briefing import BriefingError, parse_period, parse_territory
from pipeline.queries.filters import Filters
from pipeline.grammar import NBSP, fmt_dec, fmt_int, fmt_pct

warnings.filterwarnings("ignore", message=".*inplace keyword")
NOW = dt.datetime(2026, 11, 15, 7, 0, tzinfo=dt.timezone.utc)
TZ = dt.timezone(dt.timedelta(hours=5))  # Asia/Almaty since 2024-03-01
OPEN = ("new", "feedback_given", "in_progress", "reopened")
OCT = ("2026-10-01 00:00:00+05", "2026-11-01 00:00:00+05")
SEP = ("2026-09-01 00:00:00+05", "2026-10-01 00:00:00+05")
OCT_LY = ("2025-10-01 00:00:00+05", "2025-11-01 00:00:00+05")
AKTOBE = ["aktobe_almaty", "aktobe_astana", "alga", "khromtau", "temir"]
CATS = ["roads", "water", "heating", "waste", "street_lighting", "housing", "traffic"]
DEPT = {"roads": "roads_transport", "traffic": "roads_transport", "water": "housing_utilities",
        "heating": "housing_utilities", "housing": "housing_utilities", "waste": "city_services",
        "street_lighting": "energy"}


def _fill(con) -> None:
    rng = random.Random(13)
    rows = []

    def add(received: dt.datetime, district: str, category: str, region: str = "aktobe"):
        status = rng.choice(["resolved", "resolved", "resolved", "new", "in_progress", "rejected", "feedback_given"])
        fb_due = received + dt.timedelta(days=1)
        fb = received + dt.timedelta(hours=rng.choice([2, 20, 30])) if status != "new" or rng.random() < 0.3 else None
        due = received + dt.timedelta(days=rng.choice([3, 15, 40]))
        resolved = received + dt.timedelta(days=rng.choice([1, 10, 20])) if status == "resolved" else None
        confirmed = resolved + dt.timedelta(hours=5) if resolved and rng.random() < 0.4 else None
        rows.append((f"s{len(rows)}", received, "текст", region, district, category, status, DEPT[category],
                     fb_due, fb, due, resolved, confirmed))

    for month_start, n in ((dt.datetime(2026, 10, 1, tzinfo=TZ), 60), (dt.datetime(2026, 9, 1, tzinfo=TZ), 45),
                           (dt.datetime(2025, 10, 1, tzinfo=TZ), 30)):
        for _ in range(n):
            add(month_start + dt.timedelta(hours=rng.randrange(0, 30 * 24)), rng.choice(AKTOBE), rng.choice(CATS))
    for _ in range(15):  # Shymkent: outside the territory
        add(dt.datetime(2026, 10, 5, tzinfo=TZ) + dt.timedelta(hours=rng.randrange(0, 400)), "abai", "roads", "shymkent")
    for i in range(12):  # a surge: water in Alga, 12 within 3 hours on 20 October
        add(dt.datetime(2026, 10, 20, 14, tzinfo=TZ) + dt.timedelta(minutes=15 * i), "alga", "water")
    add(dt.datetime(2026, 10, 31, 23, 59, tzinfo=TZ), "temir", "roads")        # the last minute of October
    add(dt.datetime(2026, 11, 1, 0, 0, tzinfo=TZ), "temir", "roads")           # the first of November: not counted
    con.executemany("""
        INSERT INTO submissions (source, source_id, received_at, text, region, district, category, category_confidence,
                                 category_source, status, department, feedback_due_at, feedback_at, due_at, resolved_at,
                                 resident_confirmed_at)
        VALUES ('web', ?, ?, ?, ?, ?, ?, 0.9, 'model', ?, ?, ?, ?, ?, ?, ?)""", rows)


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("brief") / "brief.duckdb"
    con = store.connect(path)
    _fill(con)
    store.set_meta(con, "dataset", "real")
    con.close()
    return path


@pytest.fixture
def con(fixture_db):
    c = store.connect(fixture_db, read_only=True)
    yield c
    c.close()


def one(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchall()[0][0]


def between(span, extra: str = "region = 'aktobe'") -> str:
    return f"received_at >= '{span[0]}' AND received_at < '{span[1]}' AND {extra}"


# ---- every figure against direct SQL ----------------------------------------------------------
def _expected(con) -> dict[str, float | int | None]:
    """Each figure computed here in plain SQL, without the project's query code."""
    exp: dict[str, float | int | None] = {}
    open_ = "status IN ('new', 'feedback_given', 'in_progress', 'reopened')"
    for when, span in (("now", OCT), ("prev", SEP), ("year", OCT_LY)):
        w = between(span)
        exp[f"received.{when}"] = one(con, f"SELECT count(*) FROM submissions WHERE {w}")
        hit, base = con.execute(f"""SELECT count(*) FILTER (WHERE feedback_at <= feedback_due_at),
            count(*) FILTER (WHERE feedback_at IS NOT NULL OR feedback_due_at < ?) FROM submissions WHERE {w}""", [NOW]).fetchall()[0]
        exp[f"feedback.{when}"] = 100 * hit / base if base else None
        hit, base = con.execute(f"""SELECT count(*) FILTER (WHERE resolved_at <= due_at),
            count(*) FILTER (WHERE resolved_at IS NOT NULL OR due_at < ?) FROM submissions WHERE {w}""", [NOW]).fetchall()[0]
        exp[f"resolved.{when}"] = 100 * hit / base if base else None
        exp[f"overdue.{when}"] = one(con, f"SELECT count(*) FROM submissions WHERE {w} AND {open_} AND due_at < ?", NOW)
        exp[f"resolved_n.{when}"] = one(con, f"SELECT count(*) FROM submissions WHERE {w} AND status = 'resolved'")
        exp[f"confirmed.{when}"] = one(con, f"SELECT count(*) FROM submissions WHERE {w} AND resident_confirmed_at IS NOT NULL")
    w = between(OCT)
    total = exp["received.now"]
    for cat, n in con.execute(f"SELECT category, count(*) FROM submissions WHERE {w} GROUP BY ALL").fetchall():
        exp[f"share.{cat}"] = 100 * n / total
    for dept, n in con.execute(f"SELECT department, count(*) FROM submissions WHERE {w} AND {open_} AND due_at < ? GROUP BY ALL", [NOW]).fetchall():
        exp[f"overdue.dept.{dept}"] = n
    for cat, n in con.execute(f"SELECT category, count(*) FROM submissions WHERE {w} AND resident_confirmed_at IS NOT NULL GROUP BY ALL").fetchall():
        exp[f"confirmed.cat.{cat}"] = n
    from pipeline import reference
    pop = reference.districts().set_index("code")["population"]
    counts = dict(con.execute(f"SELECT district, count(*) FROM submissions WHERE {w} GROUP BY ALL").fetchall())
    for d in reference.districts().query("region == 'aktobe'")["code"]:
        exp[f"district.{d}"] = 10_000 * counts.get(d, 0) / pop[d]
    exp["district.average"] = 10_000 * sum(counts.values()) / pop[reference.districts().query("region == 'aktobe'")["code"]].sum()
    for cat, d, n in con.execute(f"SELECT category, district, count(*) FROM submissions WHERE {w} GROUP BY ALL").fetchall():
        exp[f"riser.{cat}.{d}"] = n
    # the surge's cases: water in Alga from the day before its first alert to the day of its last
    exp["surge.0"] = one(con, "SELECT count(*) FROM submissions WHERE category = 'water' AND district = 'alga' "
                              "AND received_at >= '2026-10-19 00:00+05' AND received_at < '2026-10-21 00:00+05'")
    return exp


def test_every_figure_equals_direct_sql_and_the_text_shows_it(con):
    facts = briefing.compute(con, parse_period("2026-10"), parse_territory("aktobe"), NOW)
    exp = _expected(con)
    assert exp["received.now"] == 60 + 12 + 1
    for key, fig in facts.figures.items():
        assert key in exp, key
        want = exp[key]
        if want is None or fig.value is None:
            assert want is fig.value is None, key
        else:
            assert fig.value == pytest.approx(want), key
    assert len(facts.surges) == 1 and facts.surges.iloc[0][["category", "district"]].tolist() == ["water", "alga"]
    for lang in ("ru", "kk", "en"):
        b = briefing.write(facts, lang)
        shown = [p for sec in b.sections for s in sec.sentences for p in s if p.fig]
        shown += [c for sec in b.sections if sec.table for row in sec.table[1] for c in row if c.fig]
        assert len({p.fig for p in shown}) >= 25
        for p in shown:  # every figure's text starts with its value as computed by SQL
            want = exp[p.fig]
            kind = facts.figures[p.fig].kind
            text = (fmt_pct(want) if kind in ("feedback", "resolved", "share") else
                    fmt_dec(want) if kind.startswith("district") else fmt_int(want))
            assert p.text.startswith(text), (lang, p.fig, p.text, text)


def test_the_briefing_text_reads_right_in_russian_and_kazakh(con):
    facts = briefing.compute(con, parse_period("2026-10"), parse_territory("aktobe"), NOW)
    ru = briefing_docs.text_of(briefing.write(facts, "ru")).replace(NBSP, " ")
    kk = briefing_docs.text_of(briefing.write(facts, "kk")).replace(NBSP, " ")
    assert "За период поступило 73 обращения." in ru
    assert "Кезеңде 73 өтініш түсті." in kk
    n_prev = 45
    change = 100 * (73 - n_prev) / n_prev
    assert f"на {fmt_dec(change)} % больше, чем в предыдущем периоде (45)" in ru
    assert f"өткен кезеңге (45) қарағанда {fmt_dec(change)} %-ға өсті" in kk
    assert "За период — 1 всплеск обращений:" in ru and "Кезеңде өтініштер 1 рет күрт көбейді:" in kk
    for text in (ru, kk):  # no English word, no raw code
        assert not re.findall(r"[A-Za-z]{2,}", text), re.findall(r"[A-Za-z]{2,}", text)


# ---- grammar ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n, want", [(1, "1 обращение"), (2, "2 обращения"), (4, "4 обращения"), (5, "5 обращений"),
                                     (11, "11 обращений"), (12, "12 обращений"), (14, "14 обращений"),
                                     (21, "21 обращение"), (22, "22 обращения"), (25, "25 обращений"),
                                     (101, "101 обращение"), (111, "111 обращений"), (1234, "1 234 обращения")])
def test_russian_plural_of_submissions(n, want):
    assert grammar.ru_count(n, "обращение").replace(NBSP, " ") == want


@pytest.mark.parametrize("n, noun, case, want", [
    (1, "всплеск", "nomn", "1 всплеск"), (3, "всплеск", "nomn", "3 всплеска"), (7, "всплеск", "nomn", "7 всплесков"),
    (1, "район", "nomn", "1 район"), (2, "район", "nomn", "2 района"), (11, "район", "nomn", "11 районов"),
    (21, "обращение", "gent", "21 обращения"), (5, "обращение", "gent", "5 обращений"), (2, "обращение", "gent", "2 обращений"),
    (1, "обращение", "datv", "1 обращению"), (480, "обращение", "datv", "480 обращениям"), (21, "обращение", "datv", "21 обращению")])
def test_russian_forms_of_other_nouns_and_cases(n, noun, case, want):
    assert grammar.ru_count(n, noun, case).replace(NBSP, " ") == want


@pytest.mark.parametrize("n, words", [(0, "нөл"), (12, "он екі"), (40, "қырық"), (100, "жүз"), (1000, "мың"),
                                      (1234, "мың екі жүз отыз төрт"), (2_000_000, "екі миллион"),
                                      (19, "он тоғыз"), (250, "екі жүз елу")])
def test_kazakh_numbers_read_aloud(n, words):
    assert " ".join(grammar.kk_number_words(n)) == words


# hand-written: the ending follows the last word read aloud (harmony and last sound)
@pytest.mark.parametrize("n, case, want", [
    (1, "dat", "1-ге"), (2, "dat", "2-ге"), (3, "dat", "3-ке"), (5, "dat", "5-ке"), (6, "dat", "6-ға"),
    (9, "dat", "9-ға"), (10, "dat", "10-ға"), (12, "dat", "12-ге"), (20, "dat", "20-ға"), (40, "dat", "40-қа"),
    (50, "dat", "50-ге"), (60, "dat", "60-қа"), (70, "dat", "70-ке"), (90, "dat", "90-ға"), (100, "dat", "100-ге"),
    (1000, "dat", "1 000-ға"), (1_000_000, "dat", "1 000 000-ға"),
    (5, "gen", "5-тің"), (6, "gen", "6-ның"), (8, "gen", "8-дің"), (10, "gen", "10-ның"), (30, "gen", "30-дың"),
    (5, "loc", "5-те"), (20, "loc", "20-да"), (40, "loc", "40-та"),
    (5, "abl", "5-тен"), (10, "abl", "10-нан"), (2, "abl", "2-ден"), (1000, "abl", "1 000-нан"), (30, "abl", "30-дан"),
    (5, "acc", "5-ті"), (6, "acc", "6-ны"), (10, "acc", "10-ды"),
    (2, "poss", "2-сі"), (5, "poss", "5-і"), (19, "poss", "19-ы"), (20, "poss", "20-сы"), (21, "poss", "21-і"),
    (10, "poss", "10-ы")])
def test_kazakh_number_endings(n, case, want):
    assert grammar.kk_num(n, case).replace(NBSP, " ") == want


@pytest.mark.parametrize("n, case, want", [
    (5, "nom", "5 өтініш"), (1, "nom", "1 өтініш"), (21, "nom", "21 өтініш"), (5, "gen", "5 өтініштің"),
    (5, "dat", "5 өтінішке"), (5, "loc", "5 өтініште"), (5, "abl", "5 өтініштен"), (5, "acc", "5 өтінішті")])
def test_kazakh_noun_after_a_number_stays_singular_and_takes_the_ending(n, case, want):
    assert grammar.kk_count(n, "өтініш", case).replace(NBSP, " ") == want


@pytest.mark.parametrize("word, case, want", [("аудан", "loc", "ауданда"), ("аудан", "gen", "ауданның"),
                                              ("күн", "abl", "күннен"), ("сағат", "dat", "сағатқа"),
                                              ("бөлім", "gen", "бөлімнің"), ("тұрғын", "dat", "тұрғынға"),
                                              ("қала", "loc", "қалада"), ("көл", "gen", "көлдің"),
                                              ("клуб", "dat", "клубқа"), ("пайыз", "dat", "пайызға")])
def test_kazakh_words_with_case_endings(word, case, want):
    assert grammar.kk_word(word, case) == want


@pytest.mark.parametrize("x, case, want", [(12, "dat", "12,0 %-ға"), (5, "abl", "5,0 %-дан"), (38.4, "poss", "38,4 %-ы"),
                                           (91.2, "loc", "91,2 %-да")])
def test_kazakh_percentages_take_the_ending_of_paiyz(x, case, want):
    assert grammar.kk_pct(x, case).replace(NBSP, " ") == want


# ---- periods and territories -----------------------------------------------------------------
def test_periods_parse_with_their_comparisons():
    oct_ = parse_period("2026-10")
    assert (oct_.start, oct_.end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert (oct_.previous().start, oct_.previous().end) == (dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert (oct_.year_before().start, oct_.year_before().end) == (dt.date(2025, 10, 1), dt.date(2025, 10, 31))
    w = parse_period("2026-W44")
    assert (w.start, w.end) == (dt.date(2026, 10, 26), dt.date(2026, 11, 1)) and w.year_before().start.weekday() == 0
    q = parse_period("2026-Q3")
    assert (q.start, q.end, q.previous().start) == (dt.date(2026, 7, 1), dt.date(2026, 9, 30), dt.date(2026, 4, 1))
    c = parse_period("2026-10-01..2026-10-31")
    assert c.kind == "custom" and (c.previous().start, c.previous().end) == (dt.date(2026, 8, 31), dt.date(2026, 9, 30))
    assert parse_period("last-month", today=dt.date(2026, 11, 3)).code == "2026-10"
    assert parse_period("last-week", today=dt.date(2026, 11, 4)).code == "2026-W44"
    assert parse_period("last-quarter", today=dt.date(2026, 11, 4)).code == "2026-Q3"
    assert parse_territory("aktobe_astana").region == "aktobe"
    for bad in ("2026-13", "2026-W60", "2026-Q5", "2026-10-31..2026-10-01", "октябрь", ""):
        with pytest.raises(BriefingError):
            parse_period(bad)
    with pytest.raises(BriefingError):
        parse_territory("nowhere")


# ---- documents --------------------------------------------------------------------------------
def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace(NBSP, " ").replace("\u202f", " "))


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_pdf_and_docx_carry_every_figure_shown(con, lang):
    from pypdf import PdfReader
    import docx

    b = briefing.write(briefing.compute(con, parse_period("2026-10"), parse_territory("aktobe"), NOW), lang)
    figures = {p.text for sec in b.sections for s in sec.sentences for p in s if p.fig}
    pdf = briefing_docs.pdf(b)
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    text = _norm(" ".join(page.extract_text() for page in reader.pages))
    missing = [f for f in figures if _norm(f) not in text]
    assert not missing, missing
    assert _norm(b.title) in text and _norm(b.definitions[0][1])[:40] in text
    uris = [a.get_object()["/A"]["/URI"] for page in reader.pages for a in page.get("/Annots", [])]
    assert any("/explorer?from=2026-10-01&to=2026-10-31&region=aktobe" in u for u in uris)
    d = docx.Document(io.BytesIO(briefing_docs.docx(b)))
    body = _norm(" ".join(p.text for p in d.paragraphs))
    cells = _norm(" ".join(c.text for t in d.tables for r in t.rows for c in r.cells))
    assert not [f for f in figures if _norm(f) not in body], [f for f in figures if _norm(f) not in body]
    assert "/explorer?" in cells


def test_the_pdf_draws_the_district_map_with_its_legend_on_one_page(con, monkeypatch):
    from pypdf import PdfReader

    facts = briefing.compute(con, parse_period("2026-10"), parse_territory("aktobe"), NOW)
    b = briefing.write(facts, "ru")
    reader = PdfReader(io.BytesIO(briefing_docs.pdf(b)))
    pages = [_norm(p.extract_text()) for p in reader.pages]
    on = [i for i, text in enumerate(pages) if _norm(i18n.t("brief.map.title", "ru")) in text]
    assert len(on) == 1
    page = pages[on[0]]
    for words in (i18n.t("brief.map.legend", "ru"), "Алга", "Хромтау", i18n.t("wall.schematic", "ru"),
                  i18n.t("map.area.aktobe_city", "ru")):
        assert _norm(words) in page, words
    assert "Шымкент" not in page and "Абай" not in page  # the other region's districts are left out
    monkeypatch.setattr(briefing_docs, "_pdf_map", lambda doc, b: None)
    without = len(PdfReader(io.BytesIO(briefing_docs.pdf(b))).pages)
    assert len(reader.pages) <= without + 1


def test_the_darkest_colour_goes_to_the_district_with_the_highest_rate(con):
    facts = briefing.compute(con, parse_period("2026-10"), parse_territory("aktobe"), NOW)
    rates = dict(zip(facts.districts["district"], facts.districts["per_10k"]))
    bounds, colours = briefing_docs.map_scale(rates.values())
    lum = lambda c: 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]  # noqa: E731
    assert [lum(c) for c in colours] == sorted((lum(c) for c in colours), reverse=True)  # light to dark
    top = max(rates, key=rates.get)
    assert briefing_docs.map_colour(rates[top], bounds, colours) == colours[-1]
    assert bounds[0] == 0 and bounds[-2] < rates[top] <= bounds[-1]
    assert briefing_docs.map_colour(0, bounds, colours) == colours[0]
    assert briefing_docs.map_colour(None, bounds, colours) == briefing_docs.NO_DATA
    # the top class holds its upper bound; 3 to 6 classes whatever the highest value
    for top_value in (0.4, 1, 5.3, 6, 12, 61, 87.3, 1000):
        bounds, colours = briefing_docs.map_scale([top_value, top_value / 3])
        assert 3 <= len(colours) <= 6 and briefing_docs.map_colour(top_value, bounds, colours) == colours[-1]


def test_the_docx_carries_the_map_and_the_problems_chart_as_sharp_images(con):
    import docx
    from PIL import Image

    b = briefing.write(briefing.compute(con, parse_period("2026-10"), parse_territory("aktobe"), NOW), "kk")
    d = docx.Document(io.BytesIO(briefing_docs.docx(b)))
    assert len(d.inline_shapes) == 2
    blobs = [r.target_part.blob for r in d.part.rels.values() if "image" in r.reltype]
    widths = sorted(Image.open(io.BytesIO(blob)).size[0] for blob in blobs)
    assert len(blobs) == 2 and all(w >= 1300 for w in widths)  # 176 mm at 200 dpi: about 1 386 pixels


@pytest.mark.parametrize("reports, found, want", [
    (1, 1, "1 report about 1 incident (one event, many reports)"),
    (2, 2, "2 reports about 2 incidents (one event, many reports)"),
    (5, 1, "5 reports about 1 incident (one event, many reports)"),
])
def test_the_english_incidents_line_has_singular_and_plural(reports, found, want):
    from pipeline.queries import incidents

    assert incidents.line({"reports": reports, "incidents": found}, "en") == want


def test_the_russian_and_kazakh_incidents_lines_agree_with_their_numbers():
    from pipeline.queries import incidents

    assert _norm(incidents.line({"reports": 1, "incidents": 1}, "ru")).startswith("1 обращение о 1 происшествии")
    assert _norm(incidents.line({"reports": 5, "incidents": 2}, "ru")).startswith("5 обращений о 2 происшествиях")
    assert _norm(incidents.line({"reports": 5, "incidents": 2}, "kk")).startswith("2 оқиға туралы 5 өтініш")


# ---- CLI -----------------------------------------------------------------------------------
def test_cli_writes_and_keeps_a_briefing_and_refuses_bad_input(fixture_db, tmp_path, capsys, monkeypatch):
    from pipeline.__main__ import main

    monkeypatch.setenv("SC_DB", str(fixture_db))
    keep = tmp_path / "kept"
    assert main(["briefing", "--period", "2026-10", "--territory", "aktobe", "--lang", "kk",
                 "--out", str(tmp_path / "brief.pdf"), "--keep", str(keep)]) == 0
    assert (tmp_path / "brief.pdf").read_bytes().startswith(b"%PDF")
    assert briefing.kept(keep)["name"].tolist() == ["briefing_2026-10_aktobe_kk.pdf"]
    assert main(["briefing", "--period", "2026-W44", "--format", "docx", "--keep", str(keep)]) == 0
    assert len(briefing.kept(keep)) == 2
    capsys.readouterr()
    for args, needle in ((["--period", "2026-13"], "period '2026-13'"), (["--period", "2026-10", "--territory", "mars"], "unknown territory 'mars'"),
                         (["--period", "2026-10", "--out", str(tmp_path / "x.txt")], "cannot tell the format")):
        assert main(["briefing", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err


def test_cli_works_while_the_app_holds_the_database_through_its_replica(fixture_db, tmp_path):
    from pipeline import replica, settings

    held = tmp_path / "held.duckdb"
    holder = store.connect(held)  # this process holds it read-write, like the app
    cmd = [sys.executable, "-m", "pipeline", "briefing", "--period", "2026-10", "--db", str(held),
           "--out", str(tmp_path / "b.pdf")]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, cwd=settings.ROOT, timeout=120)
        # before the app published a replica: one line, no traceback
        assert run.returncode == 1
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: ") and "in use by another process" in run.stderr
        assert "Traceback" not in run.stderr
        replica.publish(holder, held)  # what the running app does after its start
        run = subprocess.run(cmd, capture_output=True, text=True, cwd=settings.ROOT, timeout=120)
    finally:
        holder.close()
    assert run.returncode == 0, run.stderr
    assert "read replica" in run.stderr and (tmp_path / "b.pdf").stat().st_size > 1000


# ---- page ----------------------------------------------------------------------------------
def test_the_page_links_every_figure_to_the_explorer_and_offers_the_documents(real_app, tmp_path, monkeypatch):
    monkeypatch.setenv("SC_BRIEFING_DIR", str(tmp_path / "kept"))
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "briefing_2026-10_aktobe_ru.pdf").write_bytes(b"%PDF-1.4 kept")
    at = real_app(_fill).switch_page("pages/briefing.py").run()
    assert not at.exception
    at.selectbox(key="br_territory").set_value("aktobe").run()
    assert not at.exception
    html = " ".join(e.proto.body for e in at.get("html"))
    assert html.count('href="/explorer?') >= 20
    assert "region=aktobe" in html and "<script" not in html
    labels = [b.proto.label for b in at.get("download_button")]
    assert i18n.t("brief.page.download_pdf", "ru") in labels and i18n.t("brief.page.download_docx", "ru") in labels
    assert any("briefing_2026-10_aktobe_ru.pdf" in t.value for t in at.text)


def test_an_empty_folder_of_kept_briefings_shows_the_command_to_an_admin_only(real_app, tmp_path, monkeypatch):
    """The scheduling command (with the server's folder) is for whoever sets up the schedule; an
    akim reads who does it. The command is for the page's territory and language."""
    from streamlit.testing.v1 import AppTest

    from pipeline import settings
    from tests.conftest import signed_in

    monkeypatch.setenv("SC_BRIEFING_DIR", str(tmp_path / "kept"))
    at = real_app(_fill).switch_page("pages/briefing.py").run()
    at.selectbox(key="br_territory").set_value("aktobe").run()
    at.selectbox(key="br_lang").set_value("ru").run()
    assert not at.exception
    assert [c.value for c in at.code] == [
        f"python -m pipeline briefing --period last-month --territory aktobe --lang ru --keep {tmp_path / 'kept'}"]
    akim = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=60), "akim").run()
    akim.switch_page("pages/briefing.py").run()
    assert not akim.exception and not akim.code
    assert i18n.t("brief.page.kept.none_ask", "ru") in [c.value for c in akim.caption]


# ---- residents' ideas ---------------------------------------------------------------------------
def test_the_ideas_with_most_proposals_in_the_period_and_territory_with_their_decisions(tmp_path):
    from pipeline import auth, ideas

    con = store.connect(tmp_path / "ideas.duckdb")
    light = ["На остановке на улице Абая нет освещения, вечером темно, прошу поставить фонарь",
             "Абай көшесіндегі аялдама жанында жарық жоқ, кешке қараңғы, шам орнату керек",
             "Остановка на Абая без света, вечером темно, нужен фонарь"]
    crossing = ["Возле школы на Байтурсынова нужен пешеходный переход",
                "У школы на Байтурсынова прошу сделать пешеходный переход, дети перебегают дорогу"]
    rows = [(text, dt.datetime(2026, 10, 3 + i, 9, tzinfo=TZ), "alga", "aktobe") for i, text in enumerate(light)]
    rows += [(text, dt.datetime(2026, 10, 10 + i, 9, tzinfo=TZ), "temir", "aktobe") for i, text in enumerate(crossing)]
    rows += [(light[0], dt.datetime(2026, 9, 20, 9, tzinfo=TZ), "alga", "aktobe"),       # September: not counted
             (crossing[0], dt.datetime(2026, 10, 12, 9, tzinfo=TZ), "abai", "shymkent")]  # Shymkent: not counted
    con.executemany("""INSERT INTO submissions (source, source_id, received_at, text, region, district, category,
                       category_confidence, category_source, status, feedback_due_at, due_at)
                       VALUES ('qr', ?, ?, ?, ?, ?, 'street_lighting', 0.9, 'model', 'new', ?, ?)""",
                    [(f"q{i}", at, text, region, district, at + dt.timedelta(days=1), at + dt.timedelta(days=15))
                     for i, (text, at, district, region) in enumerate(rows)])
    ideas.update(con)
    top = ideas.top_in(con, Filters(dt.date(2026, 10, 1), dt.date(2026, 10, 31), region="aktobe"))
    expected = con.execute("""SELECT count(*) FROM idea_members m JOIN submissions s ON s.id = m.submission_id
        WHERE s.region = 'aktobe' AND s.received_at >= '2026-10-01 00:00:00+05' AND s.received_at < '2026-11-01 00:00:00+05'
        GROUP BY m.idea_id ORDER BY 1 DESC""").fetchall()
    assert top["supporters"].tolist() == [n for (n,) in expected] == [3, 2]
    ideas.decide(con, auth.viewer_for("boss", "admin"), int(top["idea_id"].iloc[0]), "accepted", answer="Фонарь установят",
                 department="energy", decided_on=dt.date(2026, 10, 25))
    brief = briefing.make(con, parse_period("2026-10"), parse_territory("aktobe"), "ru", NOW)
    section = next(s for s in brief.sections if s.key == "ideas")
    header, table_rows = section.table
    assert [r[1].text for r in table_rows] == ["3", "2"]
    assert table_rows[0][2].text == "Принята" and table_rows[1][2].text == "Без решения"
    kk = briefing.make(con, parse_period("2026-10"), parse_territory("aktobe"), "kk", NOW)
    assert next(s for s in kk.sections if s.key == "ideas").table[1][0][2].text == "Қабылданды"
    con.close()
