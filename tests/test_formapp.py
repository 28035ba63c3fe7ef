"""The residents' public proposal form (formapp/): its own process without the database, the
inbox as its only way in, limits, tokens, languages, and what the staff side publishes back."""
from __future__ import annotations

import ast
import concurrent.futures
import json
import re
import subprocess
import sys
import textwrap
import time
from html import escape
from pathlib import Path

import pandas as pd
import pytest
from starlette.testclient import TestClient

from formapp import receipts, refdata
from formapp.app import accepted_lang, create_app
from formapp.config import FormConfig
from formapp.guard import RateLimiter
from pipeline import auth, public, spool, store

from .formserver import ROOT, FormServer, form_env, receipt_of, send, token, write_placements

pytestmark = pytest.mark.usefixtures("keyword_classifier_unless_trained")
TEXT_RU = "Нужна детская площадка во дворе дома 12 по улице Абая"
TEXT_KK = "Абай көшесіндегі 12 үйдің ауласына балалар алаңы керек"


@pytest.fixture
def folders(tmp_path):
    inbox, pub = tmp_path / "inbox", tmp_path / "public"
    write_placements(pub)
    return inbox, pub


def make_client(folders, **overrides) -> TestClient:
    inbox, pub = folders
    config = FormConfig(inbox=inbox, public=pub, **{"trusted_proxies": frozenset({"testclient"}), **overrides})
    return TestClient(create_app(config), raise_server_exceptions=False)


def spooled(inbox: Path) -> list[dict]:
    rows = []
    for folder in spool.pending(inbox):
        rows += pd.read_parquet(folder / "rows.parquet").to_dict("records")
    return rows


def drain_into(db: Path, inbox: Path):
    con = store.connect(db)
    spool.drain(con, inbox)
    return con


# ---- the process: no database ---------------------------------------------------------------------
FORBIDDEN_IMPORTS = {"duckdb", "streamlit"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_form_and_what_it_imports_of_pipeline_never_import_duckdb():
    own = list((ROOT / "formapp").glob("*.py"))
    used = {m for p in own for m in _imports(p) if m.startswith("pipeline")}
    assert used <= {"pipeline", "pipeline.settings", "pipeline.i18n", "pipeline.inbox", "pipeline.grammar"}, used
    for path in own + [ROOT / "pipeline" / f"{m}.py" for m in ("settings", "i18n", "inbox", "grammar")]:
        assert not {m.split(".")[0] for m in _imports(path)} & FORBIDDEN_IMPORTS, path


def test_form_process_has_no_database_module_path_or_connection(tmp_path):
    """The real `python -m formapp` process, after serving a proposal: no duckdb library mapped into
    it, no open file of the database, and neither its environment nor its configuration names it."""
    db = tmp_path / "staff" / "situation.duckdb"
    store.connect(db).close()  # a store exists next door; the form must not touch it
    write_placements(tmp_path / "public")
    with FormServer(tmp_path) as server, httpx2_client(server.url) as client:
        receipt = receipt_of(send(client, "/p/SH-0042", TEXT_RU))
        pid = server.proc.pid
        maps = Path(f"/proc/{pid}/maps").read_text()
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
        open_files = [str(p.resolve()) for p in Path(f"/proc/{pid}/fd").iterdir() if p.exists()]
    assert "duckdb" not in maps.lower()
    assert "SC_DB=" not in environ and str(db) not in environ and "duckdb" not in environ
    assert not [f for f in open_files if "duckdb" in f]
    assert len(spooled(server.inbox)) == 1 and spooled(server.inbox)[0]["source_id"] == receipt

    # The same app in a plain interpreter: what it imported and what its configuration holds.
    probe = textwrap.dedent("""
        import json, sys
        from starlette.testclient import TestClient
        from formapp.app import create_app
        app = create_app()
        c = TestClient(app)
        page = c.get("/p/SH-0042")
        import re
        tok = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = c.post("/p/SH-0042", data={"csrf": tok, "text": "Нужна детская площадка во дворе дома 3"}, follow_redirects=False)
        print(json.dumps({"status": r.status_code, "config": repr(app.state.site.config),
                          "modules": sorted(m for m in sys.modules if "duckdb" in m)}))
    """)
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=form_env(tmp_path / "inbox2", tmp_path / "public"))
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["status"] == 303 and seen["modules"] == []
    assert "duckdb" not in seen["config"] and str(db) not in seen["config"]


def httpx2_client(url: str, client_ip: str | None = None, lang: str = "ru"):
    import httpx2

    headers = {"accept-language": lang}
    if client_ip:
        headers["x-forwarded-for"] = client_ip
    return httpx2.Client(base_url=url, headers=headers, timeout=20)


def test_with_the_staff_app_stopped_proposals_queue_and_all_appear_after_a_drain(tmp_path):
    db = tmp_path / "staff.duckdb"  # no staff app and not even a store yet
    with FormServer(tmp_path) as server, httpx2_client(server.url) as client:
        write_placements(server.public)
        got = [receipt_of(send(client, "/p/SH-0042", f"{TEXT_RU}, подъезд {i}")) for i in range(3)]
        got += [receipt_of(send(client, "/", f"{TEXT_RU}, корпус {i}", district="aktobe_almaty")) for i in range(2)]
        assert not db.exists()
        assert sorted(r["source_id"] for r in spooled(server.inbox)) == sorted(got)
        status = client.get(f"/r/{got[0]}")
        assert "Получено, ещё не обработано" in status.text
    con = drain_into(db, server.inbox)  # the staff side starts
    rows = con.execute("SELECT source_id, source, district, region, placement, category, category_source, status, "
                       "feedback_due_at IS NOT NULL FROM submissions ORDER BY source_id").fetchall()
    con.close()
    assert sorted(r[0] for r in rows) == sorted(got)
    by_id = {r[0]: r for r in rows}
    for receipt in got[:3]:
        assert by_id[receipt][1:5] == ("qr", "al_farabi", "shymkent", "SH-0042")
    for receipt in got[3:]:
        assert by_id[receipt][1:5] == ("qr", "aktobe_almaty", "aktobe", None)
    assert all(r[5] and r[6] == "model" and r[7] == "new" and r[8] for r in rows)  # classified at the drain


@pytest.mark.slow
def test_load_200_proposals_from_20_clients_each_once_and_a_greedy_client_is_refused(tmp_path):
    """20 clients (each its own address through a trusted proxy) send 10 proposals each at once;
    every accepted one is in the store exactly once after a drain. A 21st client goes past its
    per-minute limit and gets 429 with the message."""
    write_placements(tmp_path / "public")
    with FormServer(tmp_path, form_trusted_proxies="127.0.0.1", form_per_minute=12, form_per_day=50,
                    form_requests_per_minute=1000) as server:
        def client_run(i: int) -> list[str]:
            with httpx2_client(server.url, f"10.0.0.{i + 1}") as client:
                return [receipt_of(send(client, "/p/SH-0042" if j % 2 else "/", f"{TEXT_RU}: клиент {i}, номер {j}",
                                        district="al_farabi")) for j in range(10)]

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(client_run, i) for i in range(20)]
            accepted = [r for f in futures for r in f.result(timeout=120)]
        assert time.monotonic() - started < 120
        assert len(accepted) == 200 == len(set(accepted))

        with httpx2_client(server.url, "10.0.9.9") as greedy:
            answers = [send(greedy, "/", f"{TEXT_RU}, ещё {j}", district="al_farabi") for j in range(13)]
        assert [a.status_code for a in answers] == [303] * 12 + [429]
        assert "не больше 12 в минуту" in answers[-1].text and answers[-1].headers["retry-after"]
        accepted += [receipt_of(a) for a in answers[:12]]

    con = drain_into(tmp_path / "staff.duckdb", server.inbox)
    counts = dict(con.execute("SELECT source_id, count(*) FROM submissions GROUP BY ALL").fetchall())
    con.close()
    assert counts == {r: 1 for r in accepted}
    assert spool.pending(server.inbox) == []


# ---- the form in-process ------------------------------------------------------------------------------
def test_kazakh_first_when_the_browser_prefers_it(folders):
    client = make_client(folders)
    kk = client.get("/", headers={"accept-language": "kk-KZ,kk;q=0.9,ru;q=0.8,en;q=0.5"})
    assert '<html lang="kk">' in kk.text and "Қалаға ұсыныс" in kk.text and "Жіберу" in kk.text
    # the switch to Russian: a button of the form on the form page (what was typed stays), a link elsewhere
    assert 'name="switch" value="ru"' in kk.text and 'form="proposal"' in kk.text
    assert 'href="/decisions?lang=ru"' in client.get("/decisions", headers={"accept-language": "kk"}).text
    ru = client.get("/", headers={"accept-language": "ru-RU,ru;q=0.9,kk;q=0.8"})
    assert '<html lang="ru">' in ru.text and "Предложение для города" in ru.text
    assert accepted_lang("en-US,ru;q=0.5,kk;q=0.7") == "kk"
    assert accepted_lang("kz") == "kk" and accepted_lang("en") is None and accepted_lang("kk;q=0, ru") == "ru"
    assert '<html lang="ru">' in client.get("/", headers={"accept-language": "en"}).text  # default
    switched = client.get("/?lang=kk", headers={"accept-language": "ru"})
    assert '<html lang="kk">' in switched.text and "sc_form_lang=kk" in switched.headers["set-cookie"]
    assert '<html lang="kk">' in client.get("/decisions", headers={"accept-language": "ru"}).text  # the cookie


def test_switching_language_keeps_the_typed_form_and_sends_nothing(folders):
    inbox, _ = folders
    client = make_client(folders)
    page = client.get("/p/SH-0011", headers={"accept-language": "kk"})
    typed = {"csrf": token(page.text), "lang": "kk", "text": TEXT_KK + "\n<b>2</b>", "topic": "street_lighting",
             "contact": "+7 701 555 12 34", "consent": "1", "district": "abai"}
    ru = client.post("/p/SH-0011", data={**typed, "switch": "ru"})
    assert ru.status_code == 200 and '<html lang="ru">' in ru.text and "sc_form_lang=ru" in ru.headers["set-cookie"]
    assert escape(typed["text"]) in ru.text and 'value="+7 701 555 12 34"' in ru.text
    assert 'value="street_lighting" selected' in ru.text and 'value="abai" selected' in ru.text
    assert 'id="consent" name="consent" value="1" checked' in ru.text and 'role="alert"' not in ru.text
    # nothing was sent, even with a stale token or an empty form; no limit was used up
    assert client.post("/p/SH-0011", data={"switch": "kk"}).status_code == 200
    assert not spooled(inbox)
    assert '<html lang="kk">' in client.get("/decisions").text  # the choice is remembered


def test_the_district_list_is_in_alphabetical_order_and_a_routes_city_only(folders):
    write_placements(folders[1], [
        {"code": "SH-0011", "kind": "bus_route", "name_ru": "Автобус № 12", "name_kk": "№ 12 автобус",
         "region": "shymkent", "district": None, "active": True}])
    client = make_client(folders)

    def listed(page):
        return re.findall(r'<option value="([a-z_]+)"', page.split('id="district"')[1].split("</select>")[0])

    kk = client.get("/?lang=kk").text
    names = [refdata.name(refdata.districts()[c], "kk") for c in listed(kk)]
    aktobe = [n for c, n in zip(listed(kk), names) if refdata.districts()[c]["region"] == "aktobe"]
    assert aktobe[:4] == ["Алға ауданы", "Алматы ауданы (Ақтөбе қ.)", "Астана ауданы (Ақтөбе қ.)",
                          "Әйтеке би ауданы"]  # Ә in its place after А, not after Я
    assert aktobe.index("Қарғалы ауданы") < aktobe.index("Мәртөк ауданы")
    route = listed(client.get("/p/SH-0011?lang=kk").text)
    assert sorted(route) == sorted(c for c, d in refdata.districts().items() if d["region"] == "shymkent")
    page = client.get("/p/SH-0011")
    refused = client.post("/p/SH-0011", data={"csrf": token(page.text), "text": TEXT_RU, "district": "khromtau",
                                                "lang": "ru"})
    assert refused.status_code == 400 and "Выберите район." in refused.text  # an Aktobe district on a Shymkent bus


def test_placement_gives_the_district_and_a_missing_or_broken_registry_falls_back_to_the_picker(folders):
    inbox, pub = folders
    client = make_client(folders)
    page = client.get("/p/sh-0042", headers={"accept-language": "kk"})
    assert "«Айна базары» аялдамасы" in page.text and 'name="district"' not in page.text
    receipt_of(client.post("/p/sh-0042", data={"csrf": token(page.text), "lang": "kk", "text": TEXT_KK},
                           follow_redirects=False))
    row = spooled(inbox)[0]
    assert (row["placement"], row["district"], row["region"], row["source"]) == ("SH-0042", "al_farabi", "shymkent", "qr")
    assert json.loads(row["extra"]) == {"channel": "form", "topic": None, "lang": "kk", "contact_consent": False}
    for content in (None, "", "[]", "{not json", '{"code": 1}', '[{"code": "SH-0042", "district": "atlantis"}]'):
        path = pub / "placements.json"
        path.unlink(missing_ok=True)
        if content is not None:
            path.write_text(content, encoding="utf-8")
        page = client.get("/p/SH-0042")
        assert page.status_code == 200 and 'name="district"' in page.text and "SH-0042" in page.text, content
    # the code is kept with the proposal even when the registry does not know it yet
    answer = client.post("/p/SH-0042", data={"csrf": token(page.text), "text": TEXT_RU, "district": "karatau"},
                         follow_redirects=False)
    receipt = receipt_of(answer)
    row = next(r for r in spooled(inbox) if r["source_id"] == receipt)
    assert (row["placement"], row["district"]) == ("SH-0042", "karatau")
    refused = client.post("/", data={"csrf": token(client.get("/").text), "text": TEXT_RU}, follow_redirects=False)
    assert refused.status_code == 400 and "Выберите район." in refused.text
    assert client.get("/p/<script>").status_code == 404


def test_a_route_asks_for_the_district_and_a_code_taken_down_places_nothing(folders):
    """A bus route's placement has no district (the bus crosses several): its code must not say
    'not found' on every poster in the bus. A code taken down (active false) no longer places."""
    inbox, pub = folders
    write_placements(pub, [
        {"code": "SH-0011", "kind": "bus_route", "name_ru": "Автобус № 12", "name_kk": "№ 12 автобус",
         "region": "shymkent", "district": None, "active": True},
        {"code": "SH-0019", "kind": "bus_stop", "name_ru": "Остановка (закрыта)", "name_kk": "Аялдама (жабық)",
         "region": "shymkent", "district": "karatau", "active": False}])
    client = make_client(folders)
    page = client.get("/p/SH-0011")
    assert "Автобус № 12" in page.text and 'name="district"' in page.text and "не найден" not in page.text
    refused = client.post("/p/SH-0011", data={"csrf": token(page.text), "text": TEXT_RU}, follow_redirects=False)
    assert refused.status_code == 400 and "Выберите район." in refused.text
    receipt_of(client.post("/p/SH-0011", data={"csrf": token(page.text), "text": TEXT_RU, "district": "abai"},
                           follow_redirects=False))
    page = client.get("/p/SH-0019")
    assert "больше не действует" in page.text and "Остановка (закрыта)" not in page.text
    assert 'name="district"' in page.text
    receipt_of(client.post("/p/SH-0019", data={"csrf": token(page.text), "text": TEXT_RU, "district": "turan"},
                           follow_redirects=False))
    rows = sorted(spooled(inbox), key=lambda r: r["placement"])
    assert [(r["placement"], r["district"], r["region"]) for r in rows] == [
        ("SH-0011", "abai", "shymkent"), ("SH-0019", "turan", "shymkent")]


def test_a_contact_must_be_a_phone_or_an_e_mail_and_a_double_tap_sends_one_proposal(folders):
    inbox, _ = folders
    client = make_client(folders)
    page = client.get("/", headers={"accept-language": "kk"})
    form = {"csrf": token(page.text), "text": TEXT_KK, "district": "abai", "consent": "1", "lang": "kk"}
    for bad in ("abc", "1", "a@b", "<script>"):
        refused = client.post("/", data={**form, "contact": bad})
        assert refused.status_code == 400 and "пошта мекенжайын" in refused.text, bad
    assert spooled(inbox) == []
    first = receipt_of(client.post("/", data={**form, "contact": "8 (701) 123-45-67"}, follow_redirects=False))
    # the same proposal again from the same browser (a double tap, a retry on a weak connection)
    again = receipt_of(client.post("/", data={**form, "contact": "8 (701) 123-45-67"}, follow_redirects=False))
    assert again == first and len(spooled(inbox)) == 1
    other = receipt_of(client.post("/", data={**form, "text": TEXT_KK + " тезірек", "contact": "Әлия, 8 701 123 45 67"},
                                   follow_redirects=False))  # a name beside the phone is fine
    assert other != first and len(spooled(inbox)) == 2
    elsewhere = make_client(folders)  # another resident with the same words: a proposal of their own
    assert receipt_of(send(elsewhere, "/", TEXT_KK, district="abai")) != first and len(spooled(inbox)) == 3


def test_csrf_missing_forged_or_from_another_visitor_is_refused(folders):
    inbox, _ = folders
    client = make_client(folders)
    page = client.get("/")
    good = {"text": TEXT_RU, "district": "al_farabi"}
    assert client.post("/", data=good).status_code == 403
    from formapp.guard import Tokens

    bad_token = Tokens("another key", 3600).token(client.cookies["sc_form"])
    refused = client.post("/", data={**good, "csrf": bad_token})
    assert refused.status_code == 403 and "Форма устарела" in refused.text
    assert TEXT_RU in refused.text  # the resident's words are kept for the second try
    stranger = make_client(folders)  # another visitor's cookie
    assert stranger.post("/", data={**good, "csrf": token(page.text)}).status_code == 403
    assert spooled(inbox) == []
    assert client.post("/", data={**good, "csrf": token(page.text)}, follow_redirects=False).status_code == 303


def test_contact_needs_consent_and_is_kept_only_with_it(folders):
    inbox, _ = folders
    client = make_client(folders)
    form = {"csrf": token(client.get("/").text), "text": TEXT_RU, "district": "al_farabi"}
    refused = client.post("/", data={**form, "contact": "+7 701 123 45 67"})
    assert refused.status_code == 400 and "отметьте согласие" in refused.text and spooled(inbox) == []
    with_consent = receipt_of(client.post("/", data={**form, "contact": "+7 701 123 45 67", "consent": "1"},
                                          follow_redirects=False))
    only_consent = receipt_of(client.post("/", data={**form, "consent": "1"}, follow_redirects=False))
    rows = {r["source_id"]: r for r in spooled(inbox)}
    assert rows[with_consent]["contact"] == "+7 701 123 45 67"
    assert json.loads(rows[with_consent]["extra"])["contact_consent"] is True
    assert pd.isna(rows[only_consent]["contact"])


def test_length_limits_with_clear_messages_and_a_size_limit(folders):
    inbox, _ = folders
    client = make_client(folders, text_min=15, text_max=200, max_bytes=4096)
    form = {"csrf": token(client.get("/").text), "district": "al_farabi"}
    short = client.post("/", data={**form, "text": "  яма  "})
    assert short.status_code == 400 and "слишком короткое: 3 симв., нужно не меньше 15" in short.text
    long_ = client.post("/", data={**form, "text": "я" * 201}, headers={"accept-language": "kk"})
    assert long_.status_code == 400 and "201 таңба, 200 таңбадан аспауы керек" in long_.text
    assert spooled(inbox) == []
    assert client.post("/", data={**form, "text": "я" * 15}, follow_redirects=False).status_code == 303
    assert client.post("/", data={**form, "text": "я" * 200}, follow_redirects=False).status_code == 303
    huge = client.post("/", data={**form, "text": "я" * 5000})
    assert huge.status_code == 413 and "не больше 4 КБ" in huge.text

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(10):
            yield b"text=" + b"a" * 1000

    streamed = client.post("/", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413
    assert len(spooled(inbox)) == 2


def test_rate_limits_per_client_with_429_and_a_message(folders):
    client = make_client(folders, per_minute=2, per_day=3, requests_per_minute=100)
    form = {"csrf": token(client.get("/").text), "text": TEXT_RU, "district": "al_farabi"}
    me = {"x-forwarded-for": "203.0.113.5"}
    # proposals of other words each (the same words again are the same proposal: see the double-tap test)
    assert [client.post("/", data={**form, "text": f"{TEXT_RU} {i}"}, headers=me, follow_redirects=False).status_code
            for i in range(3)] == [303, 303, 429]
    refused = client.post("/", data={**form, "text": f"{TEXT_RU} 3"}, headers={**me, "accept-language": "kk"})
    assert refused.status_code == 429 and "минутына 2-ден артық емес" in refused.text
    assert int(refused.headers["retry-after"]) >= 1 and f"{TEXT_RU} 3" in refused.text
    assert 'id="alert"' in refused.text and "Форманы тексеріңіз" not in refused.text  # nothing to correct
    other = {"x-forwarded-for": "203.0.113.6"}  # another resident is not held up
    assert client.post("/", data=form, headers=other, follow_redirects=False).status_code == 303
    # an address in X-Forwarded-For is believed only from a trusted proxy
    untrusted = make_client(folders, per_minute=1, trusted_proxies=frozenset())
    form2 = {"csrf": token(untrusted.get("/").text), "text": TEXT_RU, "district": "al_farabi"}
    assert untrusted.post("/", data=form2, headers={"x-forwarded-for": "1.1.1.1"}, follow_redirects=False).status_code == 303
    assert untrusted.post("/", data={**form2, "text": TEXT_RU + " ещё"}, headers={"x-forwarded-for": "2.2.2.2"},
                          follow_redirects=False).status_code == 429

    pages = make_client(folders, requests_per_minute=3)
    assert [pages.get("/decisions").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert "Слишком много запросов" in pages.get("/").text

    limiter = RateLimiter([("minute", 2, 60.0), ("day", 3, 86400.0)])
    assert limiter.take("a", 0) is None and limiter.take("a", 1) is None
    assert limiter.take("a", 2)[0] == "minute" and limiter.take("a", 61) is None
    assert limiter.take("a", 200) == ("day", 3, 86201)
    assert limiter.take("a", 86402) is None


def test_residents_text_is_escaped_and_errors_never_show_a_traceback(folders, monkeypatch):
    inbox, pub = folders
    client = make_client(folders)
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)> {{ 7*7 }} **жирный**"
    page = client.post("/", data={"csrf": token(client.get("/").text), "text": evil, "contact": "<b>me</b>"})
    assert page.status_code == 400
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text and "<b>me</b>" not in page.text and "{{ 7*7 }}" in page.text
    public.write_decisions([{"idea": "I-1", "district": "al_farabi", "title": evil, "text": evil, "supporters": 3,
                             "decision": "accepted", "department": "roads_transport", "date": "2026-11-20",
                             "answer": "<a href='http://evil'>сделано</a>"}], pub)
    shown = client.get("/decisions")
    assert "<script>alert" not in shown.text and "<a href='http://evil'>" not in shown.text
    assert "&lt;a href=&#39;http://evil&#39;&gt;сделано&lt;/a&gt;" in shown.text
    assert "default-src 'none'" in shown.headers["content-security-policy"]

    from formapp import refdata

    def broken():
        raise RuntimeError("secret path /srv/whatever")

    monkeypatch.setattr(refdata, "topics", broken)
    failed = client.get("/", headers={"accept-language": "kk"})
    assert failed.status_code == 500 and "Бірдеңе дұрыс болмады" in failed.text
    assert "Traceback" not in failed.text and "/srv/whatever" not in failed.text
    assert client.get("/nowhere").status_code == 404 and "Такой страницы нет" in client.get("/nowhere").text
    assert client.delete("/").status_code == 405


def test_receipt_numbers_are_readable_checked_and_typed_back_on_either_keyboard():
    made = {receipts.new() for _ in range(2000)}
    assert len(made) == 2000 and all(receipts.is_canonical(r) for r in made)
    one = sorted(made)[0]
    cyrillic = one.translate(str.maketrans("ABCEHKMPTX", "АВСЕНКМРТХ")).lower().replace("-", " ")
    assert receipts.normalise(cyrillic) == one
    typo = one[:5] + ("1" if one[5] != "1" else "2") + one[6:]
    assert receipts.normalise(typo) is None and receipts.normalise("") is None
    assert receipts.normalise(one[:-1]) is None


def test_receipt_page_follows_what_the_staff_side_publishes(folders, tmp_path):
    inbox, pub = folders
    client = make_client(folders)
    page = client.get("/p/AK-0007")
    location = client.post("/p/AK-0007", data={"csrf": token(page.text), "text": TEXT_RU, "topic": "landscaping"},
                           follow_redirects=False).headers["location"]
    receipt = location.split("/")[2].split("?")[0]
    thanks = client.get(location)
    assert "Спасибо! Предложение принято" in thanks.text and receipt in thanks.text
    assert f'href="/r/{receipt}?lang=ru"' in thanks.text and "Получено, ещё не обработано" in thanks.text
    assert 'id="another" href="/p/AK-0007?lang=ru"' in thanks.text  # 'send another' at the same place
    # the link to keep names the address the resident used while SC_FORM_URL is still this machine's
    assert f"http://testserver/r/{receipt}</a>" in thanks.text
    configured = make_client(folders, form_url="https://otinish.shymkent.kz/").get(location)
    assert f"https://otinish.shymkent.kz/r/{receipt}</a>" in configured.text
    local = TestClient(create_app(FormConfig(inbox=inbox, public=pub)), base_url="http://127.0.0.1:8502")
    assert f"http://localhost:8502/r/{receipt}</a>" in local.get(location).text
    apart = make_client((tmp_path / "inbox2", pub))  # (its own inbox: the one above is checked below)
    other = apart.post("/", data={"csrf": token(apart.get("/").text), "text": TEXT_RU, "district": "abai"},
                       follow_redirects=False)
    assert 'id="another" href="/?lang=ru"' in apart.get(other.headers["location"]).text
    assert client.get(f"/r/{receipt.lower()}", follow_redirects=False).headers["location"].startswith(f"/r/{receipt}")
    typo = client.get("/r/7KM4-0XP2-T9A0")
    assert typo.status_code == 404 and "набран с ошибкой" in typo.text
    assert client.get(f"/r?n={receipt.replace('-', ' ')}", follow_redirects=False).status_code == 303

    con = drain_into(tmp_path / "staff.duckdb", inbox)
    assert json.loads(con.execute("SELECT extra FROM submissions").fetchall()[0][0])["topic"] == "landscaping"
    result = public.publish(con, pub)
    assert result == {"receipts": 1, "written": True, "path": str(pub / "status.json")}
    assert public.publish(con, pub)["written"] is False  # nothing changed, the file is left alone
    published = json.loads((pub / "status.json").read_text(encoding="utf-8"))["receipts"][receipt]
    assert set(published) == {"status", "status_text", "category", "category_text", "received", "feedback",
                              "resolved", "updated", "idea"}  # no text, no contact, no district of anyone
    shown = client.get(f"/r/{receipt}?lang=kk")  # (the language cookie says ru since the redirect)
    assert "Тіркелді, қарауды күтуде" in shown.text and "Алынды" in shown.text

    from pipeline import workflow  # staff answer the resident: the next publication says so

    workflow.transition(con, con.execute("SELECT id FROM submissions").fetchall()[0][0], "feedback_given",
                        actor=auth.viewer_for("aliya", "operator"))
    assert public.publish(con, pub)["written"] is True
    con.close()
    shown = client.get(f"/r/{receipt}?lang=ru")
    assert "Рассматривается, вам ответили" in shown.text and "Ответ дан" in shown.text


def test_decisions_page_lists_accepted_ideas_by_district_with_an_empty_state(folders):
    _, pub = folders
    client = make_client(folders)
    empty = client.get("/decisions", headers={"accept-language": "kk"})
    assert empty.status_code == 200 and "Әзірге шешімдер жоқ" in empty.text
    with pytest.raises(ValueError):
        public.write_decisions([{"idea": "I-1", "district": "al_farabi", "title": "x", "decision": "maybe",
                                 "date": "2026-11-20"}], pub)
    public.write_decisions([
        {"idea": "I-1", "district": "al_farabi", "title": "Освещение в сквере", "text": "Поставить фонари",
         "supporters": 14, "decision": "accepted", "department": "energy", "date": "2026-11-20",
         "answer": "Установлено 12 фонарей"},
        {"idea": "I-2", "district": "karatau", "title": "Велодорожка", "decision": "accepted", "date": "2026-10-01"},
        {"idea": "I-3", "district": "karatau", "title": "Фонтан на каждом углу", "decision": "rejected",
         "date": "2026-10-02", "answer": "Нет бюджета"},
    ], pub)
    page = client.get("/decisions")
    assert "Освещение в сквере" in page.text and "Установлено 12 фонарей" in page.text and "20.11.2026" in page.text
    assert "Поддержали: 14" in page.text and "Отдел энергетики" in page.text and "Велодорожка" in page.text
    assert "Фонтан" not in page.text  # only accepted ideas
    one = client.get("/decisions?district=karatau")
    assert "Велодорожка" in one.text and "Освещение в сквере" not in one.text


def test_publishing_after_drains_in_the_app_and_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.delenv("SC_PUBLIC_DIR", raising=False)
    inbox, pub = tmp_path / "store.duckdb.inbox", tmp_path / "store.duckdb.public"
    write_placements(pub)
    db = tmp_path / "store.duckdb"
    client = make_client((inbox, pub))
    receipt = receipt_of(client.post("/p/SH-0042", data={"csrf": token(client.get("/p/SH-0042").text),
                                                         "text": TEXT_RU}, follow_redirects=False))
    from ui.core import AppStore

    app_store = AppStore(str(db))  # the app's writer: drain, then publish
    try:
        app_store.drain_once()
        assert receipt in json.loads((pub / "status.json").read_text(encoding="utf-8"))["receipts"]
        stamp = (pub / "status.json").stat().st_mtime_ns
        app_store.drain_once()  # nothing new: not rewritten
        assert (pub / "status.json").stat().st_mtime_ns == stamp
    finally:
        app_store.con.close()

    (pub / "status.json").unlink()
    out = subprocess.run([sys.executable, "-m", "pipeline", "publish", "--db", str(db)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == f"{pub / 'status.json'}: 1 receipt(s), written"
    helped = subprocess.run([sys.executable, "-m", "pipeline", "publish", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert "example: python -m pipeline publish" in helped.stdout


def test_a_run_of_form_spools_applied_together_still_sets_aside_only_the_bad_one(tmp_path):
    """The drain applies runs of the form's spools in one transaction; one the database refuses
    (here a row without text), one that is incomplete and one applied before a kill (its folder
    left behind) are each handled as alone: set aside, set aside, cleaned up; the rest stored."""
    import datetime as dt
    import shutil

    from pipeline import inbox as inbox_files

    folder = tmp_path / "inbox"

    def put(receipt, text="Нужна детская площадка во дворе дома 5"):
        return inbox_files.write_raw(folder, [{
            "source": "qr", "source_id": receipt, "received_at": dt.datetime.now(dt.timezone.utc), "text": text,
            "district": "al_farabi", "region": "shymkent", "extra": json.dumps({"channel": "form"})}],
            file=f"public form {receipt}", source="qr")

    con = store.connect(tmp_path / "staff.duckdb")
    early = put("AAAA-0000-0001")
    kept = tmp_path / "kept.spool"
    shutil.copytree(folder / f"{early}.spool", kept)
    spool.drain(con, folder)  # applied; then its folder comes back, as after a kill before the clean-up
    shutil.copytree(kept, folder / f"{early}.spool")
    good = [put(f"AAAA-0000-00{i:02d}") for i in range(10, 14)]
    refused = put("AAAA-0000-0099", text=None)
    broken = put("AAAA-0000-0098")
    (folder / f"{broken}.spool" / "rows.parquet").unlink()
    receipts_ = spool.drain(con, folder)
    stored = {r[0] for r in con.execute("SELECT source_id FROM submissions").fetchall()}
    runs = con.execute("SELECT count(*) FROM ingest_runs").fetchall()[0][0]
    con.close()
    assert stored == {"AAAA-0000-0001", "AAAA-0000-0010", "AAAA-0000-0011", "AAAA-0000-0012", "AAAA-0000-0013"}
    assert {r["spool_id"] for r in receipts_} == {early, *good} and runs == 5
    assert spool.pending(folder) == []
    assert spool.broken_path(folder, refused).exists() and spool.broken_path(folder, broken).exists()
    assert "refused" in (spool.broken_path(folder, refused) / "why.txt").read_text()


def test_concurrent_proposals_share_spool_folders_and_a_failed_write_fails_them_all(tmp_path):
    import asyncio
    import datetime as dt

    from formapp.app import SpoolWriter

    folder = tmp_path / "inbox"
    (folder / "tmp").mkdir(parents=True)
    row = lambda i: {"source": "qr", "source_id": f"R{i}", "text": "Нужна площадка", "district": "al_farabi",  # noqa: E731
                     "region": "shymkent", "received_at": dt.datetime.now(dt.timezone.utc)}

    async def send(writer, n):
        return await asyncio.gather(*(writer.write(row(i)) for i in range(n)), return_exceptions=True)

    writer = SpoolWriter(folder)
    assert _run(send(writer, 30)) == [None] * 30
    assert sorted(r["source_id"] for r in spooled(folder)) == sorted(f"R{i}" for i in range(30))
    assert len(spool.pending(folder)) < 30  # the ones that came together went together
    (tmp_path / "not_a_folder").write_text("")
    broken = SpoolWriter(tmp_path / "not_a_folder")  # the inbox is a file: every write fails
    assert all(isinstance(e, OSError) for e in _run(send(broken, 5)))


def _run(coro):
    """asyncio.run in a thread of its own: another test in this worker may have left an event loop
    running in the main thread (asyncio.run refuses to start inside one)."""
    import asyncio
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
