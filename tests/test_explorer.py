"""The analyst explorer: one filter for every query, search by word forms, facets that add up,
cross-tabs whose cells are the rows they link to, the page with its tabs by role."""
import datetime as dt
import urllib.parse
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from pipeline import auth, search, settings, store, workflow
from pipeline.queries import explore, overview
from pipeline.queries.filters import Filters, from_params, where
from tests.conftest import signed_in

NOW = dt.datetime(2026, 4, 10, 12, tzinfo=dt.timezone.utc)
# id order: source_id, received (local +05), category, district, region, status, text, category_source, confidence
ROWS = [
    ("1", "2026-03-01 09:00:00+05", "roads", "al_farabi", "shymkent", "new", "Во дворе огромная яма, звоните +7 701 123 45 67", "model", 0.9),
    ("2", "2026-03-05 09:00:00+05", "roads", "al_farabi", "shymkent", "resolved", "Ямы на дороге по улице Байтурсынова", "model", 0.3),
    ("3", "2026-03-07 09:00:00+05", "roads", "abai", "shymkent", "in_progress", "Жолда үлкен шұңқыр, ямой назвать мало", "operator", 1.0),
    ("4", "2026-03-09 09:00:00+05", "street_lighting", "abai", "shymkent", "new", "Көшеде жарығы жоқ, фонари не горят", "model", 0.8),
    ("5", "2026-03-11 09:00:00+05", "street_lighting", "alga", "aktobe", "rejected", "Жарық сөніп қалды, түнде қараңғы", "model", 0.5),
    ("6", "2026-03-13 09:00:00+05", "water", "alga", "aktobe", "feedback_given", "=HYPERLINK(\"x\") нет воды третий день", "model", 0.7),
    ("7", "2026-04-02 09:00:00+05", "water", "turan", "shymkent", "new", "Нет воды в доме", "model", 0.95),
    ("8", "2026-02-20 09:00:00+05", "heating", "turan", "shymkent", "new", "Холодные батареи, яма у подъезда", "model", 0.9),
]
MARCH = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def fill(con):
    con.executemany(
        "INSERT INTO submissions (source, source_id, received_at, text, category, district, region, status, "
        "category_source, category_confidence, due_at, search_terms) VALUES ('hotline_109', ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "CAST(? AS TIMESTAMPTZ) + INTERVAL 20 DAY, ?)",
        [[sid, at, text, cat, d, r, s, src, conf, at, search.stored_terms(text)]
         for sid, at, cat, d, r, s, text, src, conf in ROWS])


@pytest.fixture
def small(con):
    fill(con)
    return con


def ids(con, f, now=NOW):
    cond, params = where(f, now=now)
    return sorted(int(i) for (i,) in con.execute(f"SELECT CAST(source_id AS INTEGER) FROM submissions WHERE {cond}",
                                                params).fetchall())


def test_search_finds_word_forms_in_russian_and_kazakh(small):
    assert ids(small, replace(MARCH, q="ямы")) == [1, 2, 3]          # яма, ямы, ямой
    assert ids(small, replace(MARCH, q="жарық")) == [4, 5]           # жарығы, жарық
    assert ids(small, replace(MARCH, q="фонарь")) == [4]             # фонари
    assert ids(small, replace(MARCH, q="яма дорога")) == [2]         # every word must occur
    assert ids(small, replace(MARCH, q="!!! 123")) == ids(small, MARCH)  # no words: no condition


def test_rows_without_search_terms_are_found_until_backfilled(small):
    from pipeline.queries import textsearch

    small.execute("UPDATE submissions SET search_terms = NULL WHERE source_id IN ('1', '2')")
    assert ids(small, replace(MARCH, q="ямы")) == [1, 2, 3]
    assert textsearch.backfill(small) == 2
    assert small.execute("SELECT count(*) FROM submissions WHERE search_terms IS NULL").fetchall()[0][0] == 0


def test_signatures_only_skip_rows_that_cannot_match(small):
    """The signature test in front of the search terms changes no result: the same rows for every
    query with no row signed, all signed, and a row whose terms changed since (signed again)."""
    import pandas as pd

    from pipeline.queries import textsearch

    queries = ["ямы", "жарық", "фонарь", "яма дорога", "воды", "шұңқыр", "батареи", "нет", "!!! 123"]
    unsigned = {q: ids(small, replace(MARCH, q=q)) for q in queries}
    textsearch.sign(small)
    stored = small.execute(f"SELECT search_terms, {', '.join(textsearch.BITS)} FROM submissions").fetchall()
    assert all(list(bits) == textsearch.signature(terms) for terms, *bits in stored)   # numpy and one by one agree
    # the queries take both kinds of words: among the frequent stems (bits alone) and the others (Bloom bits, lists)
    kinds = {textsearch.placement(search.term_id(s))[2] for q in queries for g in search.query_groups(q) for s in g}
    assert kinds == {True, False}
    assert {q: ids(small, replace(MARCH, q=q)) for q in queries} == unsigned
    # a text whose terms are rewritten is unsigned until the next signing, and found meanwhile
    textsearch.write_terms(small, pd.DataFrame({"id": [1], "search_terms": [search.stored_terms("Нет воды")]}))
    assert small.execute("SELECT search_b0 FROM submissions WHERE id = 1").fetchall()[0][0] is None
    assert ids(small, replace(MARCH, q="воды")) == [1, 6]
    textsearch.sign(small)
    assert ids(small, replace(MARCH, q="воды")) == [1, 6] and ids(small, replace(MARCH, q="ямы")) == [2, 3]


@pytest.mark.parametrize("sort", list(explore.SORTS))
def test_a_search_page_is_the_filtered_rows_in_order_with_and_without_terms(small, sort):
    """explore.page orders and cuts the rows with terms and those without (stored, not classified
    yet) apart and merges them: the same ids, in the same order, as the search's condition."""
    from pipeline.queries import textsearch

    textsearch.sign(small)
    small.execute(f"UPDATE submissions SET search_terms = NULL, {textsearch.UNSIGN} WHERE source_id IN ('2', '8')")
    f = replace(MARCH, start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31), q="ямы")
    cond, params = where(f, now=NOW)
    expected = [i for (i,) in small.execute(f"SELECT id FROM submissions WHERE {cond} ORDER BY {explore.SORTS[sort]}",
                                            params).fetchall()]
    assert len(expected) == 4                                        # 1 and 3 by terms, 2 and 8 by text
    for offset, limit in ((0, 50), (0, 2), (1, 2), (3, 5), (4, 5)):
        got = explore.page(small, f, sort=sort, offset=offset, limit=limit, now=NOW)["id"].tolist()
        assert got == expected[offset:offset + limit], (offset, limit)


@pytest.mark.parametrize("sort", list(explore.SORTS))
def test_a_search_page_takes_as_many_more_candidates_as_the_hits_say_or_reads_the_condition(con, monkeypatch, sort):
    """When too few candidates (rows whose bits may hold the word) hold it, a page takes as many
    more as the share that did says it needs, or, when none or very few did (a word no text holds),
    reads the search's condition itself: the same rows, in the same order, as that condition, for a
    common word, a rare one and one nobody wrote, with bits that let every row through."""
    from pipeline.queries import textsearch

    texts = ["Фонари не горят", "Нет воды", "Ямы во дворе", "Мусор не вывозят", "Шлагбаум сломан"]
    rows = [[str(k), dt.datetime(2026, 1, 1, 9, tzinfo=dt.timezone.utc) + dt.timedelta(hours=7 * k),
             texts[0 if k % 2 else 1 if k % 9 else 2 if k % 45 else 4]] for k in range(400)]
    con.executemany("INSERT INTO submissions (source, source_id, received_at, text, status, search_terms) "
                    "VALUES ('hotline_109', ?, ?, ?, 'new', ?)", [[*r, search.stored_terms(r[2])] for r in rows])
    textsearch.sign(con)
    real = textsearch.parts
    monkeypatch.setattr(textsearch, "parts", lambda q, p="": replace(real(q, p), bits="true", bits_params=()))
    monkeypatch.setattr(explore, "_CANDIDATES_EXTRA", 0)
    f = Filters(dt.date(2025, 12, 1), dt.date(2026, 12, 31))
    for word, n in (("воды", 177), ("ямы", 18), ("шлагбаум", 5), ("абракадабра", 0)):
        cond, params = where(replace(f, q=word), now=NOW)
        expected = [i for (i,) in con.execute(f"SELECT id FROM submissions WHERE {cond} ORDER BY {explore.SORTS[sort]}",
                                              params).fetchall()]
        assert len(expected) == n, word
        for offset, limit in ((0, 3), (2, 5), (0, 50), (15, 10)):
            got = explore.page(con, replace(f, q=word), sort=sort, offset=offset, limit=limit, now=NOW)["id"].tolist()
            assert got == expected[offset:offset + limit], (word, offset, limit)


def test_the_frequent_stems_file_is_the_one_the_signatures_were_made_with():
    """Stored signatures hold one bit per stem of data/search_top_stems.csv in its order: a changed
    file needs a migration that clears them (textsearch.UNSIGN), and then a new TOP_STEMS_SHA1."""
    import hashlib

    from pipeline import reference
    from pipeline.queries import textsearch

    raw = (reference.DATA / "search_top_stems.csv").read_bytes()
    assert hashlib.sha1(raw).hexdigest() == textsearch.TOP_STEMS_SHA1
    assert len(textsearch._top()) == 64 * textsearch.TOP_COLUMNS   # 256 distinct stem numbers


def test_signatures_of_many_lists_at_once_equal_those_made_one_by_one():
    import numpy as np

    from pipeline.queries import textsearch

    lists = [[], [search.term_id("дом"), search.term_id("шұңқыр")], [], [search.term_id("светофор")],
             list(range(0, 4_000_000_000, 37_000_000)), []]
    offsets = np.cumsum([0] + [len(x) for x in lists])
    got = textsearch.bits_of(offsets, np.array([t for x in lists for t in x], dtype=np.uint32))
    assert [list(map(int, row)) for row in got] == [textsearch.signature(x) for x in lists]
    assert textsearch.placement(search.term_id("дом"))[2] and not textsearch.placement(search.term_id("шұңқыр"))[2]


def test_signed_and_unsigned_searches_find_the_same_rows_for_every_word_of_the_texts(tmp_path):
    """No word is lost by the bits: for each of 150 words taken from the stored texts (frequent
    stems and Bloom-filtered ones, Russian and Kazakh), the rows found with every row signed equal
    those found by the term lists alone (nothing signed)."""
    import random
    import re

    from pipeline import demo
    from pipeline.queries import textsearch

    con = store.connect(tmp_path / "w.duckdb")
    demo.build_demo(con, rows=300, seed=7, end=NOW)
    words = sorted({w for (t,) in con.execute("SELECT text FROM submissions").fetchall()
                    for w in re.findall(r"[^\W\d_]{3,}", t.lower())})
    picked = random.Random(1).sample(words, 150)
    f = Filters(dt.date(2020, 1, 1), dt.date(2030, 1, 1))

    def found():
        return {w: [i for (i,) in con.execute(f"SELECT id FROM submissions WHERE {c} ORDER BY id", p).fetchall()]
                for w in picked for c, p in [where(replace(f, q=w), now=NOW)]}

    textsearch.sign(con)
    signed = found()
    con.execute(f"UPDATE submissions SET {textsearch.UNSIGN}")
    assert found() == signed
    assert sum(map(bool, signed.values())) > 100
    con.close()


def test_every_write_path_leaves_its_rows_signed(tmp_path):
    """After the demo, a registered call and an ingest through the inbox, no row with search terms
    lacks its signature (the writer's refresh signs them)."""
    from pipeline import demo, ingest, spool
    from pipeline.queries import textsearch

    db = tmp_path / "s.duckdb"
    con = store.connect(db)
    demo.build_demo(con, rows=300, seed=7, end=NOW)
    workflow.register_call(con, "Во дворе яма, машины бьют колёса", "op", district="al_farabi", at=NOW)
    csv = tmp_path / "calls.csv"
    csv.write_text("Дата;Район;Текст\n" + "".join(f"0{d}.03.2026 10:00;Абайский;Нет света на улице, дом {d}\n"
                                                   for d in range(1, 6)), encoding="utf-8")
    spool.write(ingest.prepare(csv), settings.inbox_path(db))
    assert sum(r.get("inserted", 0) for r in spool.drain(con, settings.inbox_path(db))) == 5
    assert con.execute("SELECT count(*) FROM submissions WHERE search_terms IS NOT NULL AND search_b0 IS NULL"
                       ).fetchall()[0][0] == 0
    stored = con.execute(f"SELECT search_terms, {', '.join(textsearch.BITS)} FROM submissions").fetchall()
    assert len(stored) == 306 and all(list(bits) == textsearch.signature(terms) for terms, *bits in stored)
    con.close()


def test_every_filter_field_narrows_as_its_definition_says(small):
    assert ids(small, MARCH) == [1, 2, 3, 4, 5, 6]
    assert ids(small, replace(MARCH, status="open")) == [1, 3, 4, 6]
    assert ids(small, replace(MARCH, status="closed")) == [2, 5]
    assert ids(small, replace(MARCH, status="rejected")) == [5]
    assert ids(small, replace(MARCH, category="roads", district="al_farabi")) == [1, 2]
    assert ids(small, replace(MARCH, confidence="low")) == [2]        # model and below 0.40
    assert ids(small, replace(MARCH, confidence="operator")) == [3]
    assert ids(small, replace(MARCH, reviewed=False)) == [1, 2, 4, 5, 6]
    # due 20 days after receipt: at NOW (10 April) the open ones received before 21 March are overdue
    assert ids(small, replace(MARCH, overdue=True)) == [1, 3, 4, 6]
    assert ids(small, replace(MARCH, overdue=False)) == [2, 5]


def test_the_url_round_trip_and_bad_values_dropped():
    f = replace(MARCH, district="abai", overdue=True, q="ямы во дворе", status="open")
    back = from_params(dict(urllib.parse.parse_qsl(urllib.parse.urlencode(f.params()))), dt.date(2000, 1, 1),
                       dt.date(2000, 1, 2))
    assert back == f
    junk = from_params({"from": "yesterday", "to": "2026-03-31", "status": "'; DROP", "overdue": "maybe",
                        "confidence": "x"}, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert junk == MARCH


def test_facets_add_up_and_each_value_is_its_filtered_count(small):
    facets = explore.facets(small, MARCH, now=NOW)
    for facet in ("category", "district", "status", "confidence", "overdue", "reviewed", "region"):
        part = facets[facets["facet"] == facet]
        assert part["n"].sum() == 6, facet
    for value, n in facets[facets["facet"] == "district"][["value", "n"]].itertuples(index=False):
        assert explore.count(small, replace(MARCH, district=value), now=NOW) == n
    overdue = facets[(facets["facet"] == "overdue") & (facets["value"] == "1")]["n"].iloc[0]
    assert overdue == explore.count(small, replace(MARCH, overdue=True), now=NOW) == 4


def _flag(facet, value):
    return value == "1" if facet in ("overdue", "reviewed", "confirmed") else value


def test_a_searchs_facets_from_its_cube_are_the_counts_of_its_rows(small):
    """With search words, facets come from the search's cube (its rows counted by every column a
    facet or a filter reads): each value's figure is the count of the rows themselves under that
    filter, for every facet and with other facets chosen."""
    small.execute("UPDATE submissions SET resident_confirmed_at = received_at WHERE source_id IN ('1', '6')")
    for q in ("ямы", "воды", "жарық", "ямы дорога"):
        base = replace(MARCH, q=q)
        for f in (base, replace(base, status="open"), replace(base, overdue=True), replace(base, overdue=False),
                  replace(base, confidence="low"), replace(base, confidence="operator"), replace(base, district="abai"),
                  replace(base, confirmed=True), replace(base, reviewed=False), replace(base, category="roads")):
            facets = explore.facets(small, f, now=NOW)
            assert facets["n"].sum() > 0 or not ids(small, f)
            for facet, value, n in facets.itertuples(index=False):
                if value is None:  # a facet's "not set" is no filter value
                    continue
                rows = ids(small, replace(f, **{facet: _flag(facet, value)}))
                assert len(rows) == n, (q, f, facet, value)
                assert explore.count(small, replace(f, **{facet: _flag(facet, value)}), now=NOW) == n


@pytest.fixture
def small_file(db_file):
    """The small rows in a store on disk (an in-memory store keeps no search's cube), no cube kept."""
    c = store.connect(db_file)
    fill(c)
    explore._cubes.clear()
    yield c
    c.close()
    explore._cubes.clear()


def test_a_searchs_crosstab_from_its_cube_is_the_rows_crosstab(small_file):
    c, f = small_file, replace(MARCH, q="ямы")
    direct = explore.crosstab(c, f, "category", "district", now=NOW)
    explore.facets(c, f, now=NOW)  # the explorer's facets make the cube
    assert len(explore._cubes) == 1
    for rows, cols in (("category", "district"), ("status", "region"), ("department", "source")):
        from_cube = explore.crosstab(c, f, rows, cols, now=NOW)
        explore._cubes.clear()
        assert from_cube.equals(explore.crosstab(c, f, rows, cols, now=NOW)), (rows, cols)
        explore.facets(c, f, now=NOW)
    assert direct.equals(explore.crosstab(c, f, "category", "district", now=NOW))


def test_a_searchs_cube_is_kept_per_store_and_data_version(small_file):
    """A store on disk keeps a search's cube for the next facet click; new data makes a new one."""
    c, f = small_file, replace(MARCH, q="ямы")
    assert explore.count(c, f, now=NOW) == 3 and not explore._cubes  # a count alone makes no cube
    assert explore.facets(c, f, now=NOW).query("facet == 'region'")["n"].sum() == 3
    assert len(explore._cubes) == 1
    assert explore.count(c, replace(f, district="abai"), now=NOW) == 1  # from the cube
    c.execute("INSERT INTO submissions (source, source_id, received_at, text, district, region, status, search_terms) "
              "VALUES ('hotline_109', '9', TIMESTAMPTZ '2026-03-20 09:00:00+05', 'Яма на дороге', 'abai', 'shymkent', "
              "'new', ?)", [search.stored_terms("Яма на дороге")])
    assert explore.facets(c, replace(f, district="abai"), now=NOW).query("facet == 'district'")["n"].sum() == 2
    assert len(explore._cubes) == 2


def test_a_category_share_is_the_explorers_count_for_that_category(small):
    shares = overview.category_shares(small, MARCH)
    for row in shares.itertuples():
        assert explore.count(small, replace(MARCH, category=row.category)) == row.n
    k = overview.kpis(small, MARCH, NOW)
    assert k["open"] == explore.count(small, replace(MARCH, status="open"), now=NOW)
    assert k["overdue"] == explore.count(small, replace(MARCH, overdue=True), now=NOW)


def test_crosstab_cells_are_filtered_counts_and_shares_sum_to_100(small):
    table = explore.crosstab(small, MARCH, "category", "district")
    for cat, row in table.iterrows():
        for district, n in row.items():
            assert explore.count(small, replace(MARCH, category=cat, district=district)) == n
    shares = explore.crosstab(small, MARCH, "category", "district", "share")
    assert (shares.sum(axis=1).round(6) == 100).all()
    per = explore.crosstab(small, MARCH, "district", "category", "per_10k")
    assert per.loc["abai"].sum() > 0
    with pytest.raises(ValueError):
        explore.crosstab(small, MARCH, "category", "source", "per_10k")


def test_a_page_is_masked_for_a_viewer_without_contacts(small):
    analyst = auth.viewer_for("a", "analyst")
    operator = auth.viewer_for("o", "operator")
    f = replace(MARCH, q="яма")
    assert "+7 701 123 45 67" in " ".join(explore.page(small, f, viewer=operator)["text"])
    masked = " ".join(explore.page(small, f, viewer=analyst)["text"])
    assert "123 45 67" not in masked and "***" in masked
    assert explore.page(small, MARCH, sort="received_asc", offset=2, limit=2)["id"].tolist() == [3, 4]


def test_similar_texts_share_words(small):
    similar = explore.similar(small, 1)
    assert 3 not in similar["id"].tolist() or similar["shared"].min() >= 2


# ---- the page ----------------------------------------------------------------------------------
@pytest.fixture
def app_db(tmp_path, monkeypatch):
    path = tmp_path / "e.duckdb"
    con = store.connect(path)
    fill(con)
    store.set_meta(con, "dataset", "real")
    con.close()
    monkeypatch.setenv("SC_DB", str(path))
    return path


def explorer(role, params):
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=90), role)
    at.run()
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/explorer.py").run()
    assert not at.exception, at.exception
    return at


def test_the_page_reproduces_a_link_and_shows_its_count(app_db):
    at = explorer("analyst", {"from": "2026-03-01", "to": "2026-03-31", "district": "al_farabi", "q": "ямы"})
    text = " ".join(m.value for m in at.markdown)
    assert "Найдено обращений: 2" in text
    assert at.dataframe[0].value.shape[0] == 2
    assert "SQL-запрос" in [t.label for t in at.tabs]


def test_a_search_that_finds_nothing_says_to_check_the_spelling_and_shows_the_words_as_text(app_db):
    at = explorer("analyst", {"from": "2026-03-01", "to": "2026-03-31", "q": "свтофор **жирно** [x](http://e.kz)"})
    assert "Найдено обращений: 0" in " ".join(m.value for m in at.markdown)
    said = ("Ни одно из отобранных обращений не содержит «свтофор жирно x http e kz» ни в одной форме слова. "
            "Проверьте написание или расширьте период и фильтры.")
    assert said in [i.value for i in at.info]
    assert len(at.info) == 1  # not a second, generic "no data" under it in the list
    found = explorer("analyst", {"from": "2026-03-01", "to": "2026-03-31", "q": "ямы"})
    assert not [i.value for i in found.info if "Проверьте написание" in i.value]


def test_the_sql_console_refuses_writes_and_answers_reads(app_db):
    at = explorer("analyst", {"from": "2026-03-01", "to": "2026-03-31"})
    at.text_area(key="ex_sql").set_value("DROP TABLE submissions").run()
    at.button(key="ex_sql_run").click().run()
    assert any("изменяет данные" in e.value for e in at.error)
    at.text_area(key="ex_sql").set_value("SELECT contact FROM submissions").run()
    at.button(key="ex_sql_run").click().run()
    assert any("контакты" in e.value for e in at.error)
    at.text_area(key="ex_sql").set_value("SELECT text FROM submissions ORDER BY id").run()
    at.button(key="ex_sql_run").click().run()
    assert not at.exception
    shown = at.dataframe[-2].value if len(at.dataframe) > 1 else at.dataframe[0].value
    assert "123 45 67" not in " ".join(map(str, shown.iloc[:, 0]))


def test_the_akim_has_no_console_and_no_export(app_db):
    at = explorer("akim", {"from": "2026-03-01", "to": "2026-03-31"})
    labels = [t.label for t in at.tabs]
    assert "SQL-запрос" not in labels and "Выгрузка" not in labels


def test_the_export_tab_writes_exactly_the_rows_on_screen(app_db):
    import csv
    import io

    at = explorer("analyst", {"from": "2026-03-01", "to": "2026-03-31", "q": "ямы"})
    at.button(key="ex_export").click().run()
    assert not at.exception, at.exception
    name, payload = at.session_state["ex_file"]
    assert name.endswith(".csv") and payload.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(payload.decode("utf-8-sig"))))
    assert len(rows) - 1 == 3                              # the count on screen: яма, ямы, ямой
    assert "123 45 67" not in payload.decode("utf-8-sig")  # an analyst's export is masked


def test_a_store_with_search_terms_as_lists_keeps_them_as_strings_after_migration_112(tmp_path, monkeypatch):
    """Migration 112 turns each list of stem numbers into the string search.encode makes of it; the
    rows are found as before, a row without terms keeps none."""
    import shutil

    from pipeline.queries import textsearch

    old = tmp_path / "old_migrations"
    old.mkdir()
    for path in store.MIGRATIONS.glob("*.sql"):
        if int(path.name.split("_")[0]) < 112:
            shutil.copy(path, old / path.name)
    db = tmp_path / "old.duckdb"
    monkeypatch.setattr(store, "MIGRATIONS", old)
    con = store.connect(db)
    texts = {"1": "Во дворе огромная яма", "2": "Көшеде жарығы жоқ", "3": "", "4": None}
    for sid, text in texts.items():
        con.execute("INSERT INTO submissions (source, source_id, received_at, text, status, search_terms) "
                    "VALUES ('qr', ?, '2026-03-05 10:00:00+05', ?, 'new', ?)",
                    [sid, text or "-", None if text is None else search.doc_terms(text)])
    assert con.execute("SELECT data_type FROM information_schema.columns WHERE table_name = 'submissions' "
                       "AND column_name = 'search_terms'").fetchall() == [("UINTEGER[]",)]
    con.close()
    monkeypatch.undo()
    con = store.connect(db)
    got = dict(con.execute("SELECT source_id, search_terms FROM submissions").fetchall())
    assert got == {sid: None if text is None else search.stored_terms(text) for sid, text in texts.items()}
    where_sql, params = textsearch.condition("ямы")
    assert con.execute(f"SELECT source_id FROM submissions WHERE {where_sql}", params).fetchall() == [("1",)]
    con.execute("CHECKPOINT")  # kept uncompressed: the search reads them where the Bloom bits let it
    assert {c for (c,) in con.execute("SELECT DISTINCT compression FROM pragma_storage_info('submissions') "
                                      "WHERE column_name = 'search_terms' AND segment_type = 'VARCHAR'").fetchall()} == {"Uncompressed"}
    con.close()


def test_a_search_page_looks_into_more_candidates_while_the_bits_let_through_rows_without_the_word(small, monkeypatch):
    """explore.page finds a search's signed rows among the newest whose bits may hold the word, and
    takes more of them while too few hold it: with bits that let every row through and room for two
    candidates more than the page, the page is still the newest rows that hold the word."""
    from pipeline.queries import textsearch

    textsearch.sign(small)
    f = replace(MARCH, start=dt.date(2026, 2, 1), end=dt.date(2026, 4, 30), q="ямы")
    want = explore.page(small, f, limit=2, now=NOW)["id"].tolist()
    real = textsearch.parts
    monkeypatch.setattr(explore, "_CANDIDATES_EXTRA", 0)  # 4 candidates for a page of 2
    monkeypatch.setattr(textsearch, "parts", lambda q, p="": replace(real(q, p), bits="true", bits_params=()))
    got = explore.page(small, f, limit=2, now=NOW)
    assert got["id"].tolist() == want and len(want) == 2
    source = dict(small.execute("SELECT id, source_id FROM submissions").fetchall())
    assert [source[i] for i in want] == ["3", "2"]  # the four newest rows (7, 6, 5, 4) hold no form of "яма"


def test_the_readme_says_how_long_a_searchs_cube_is_kept():
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"threshold, for {explore.CUBE_SECONDS} s (`explore.CUBE_SECONDS`" in readme
