"""Twenty browser sessions of every role at once on one app, while an ingest of appeals full of
personal data lands in the same database: each session sees what its role may see and nothing else.

- 4 operators, 4 analysts, 4 akims, 2 admins (the demo sign-ins), 4 wall screens (a wall token,
  /wall?kiosk=1&token=...) and 2 visitors who are not signed in, each in its own browser context
  (own cookies); `python -m pipeline ingest` of 2,000 appeals with phones (+7 701 123 45 67 and
  other forms), IINs and names (Асель Нурланова, ...) runs meanwhile, and the app drains it.
- The menu lists exactly the role's pages (from the README's table, not from data/roles.csv);
  together a role's sessions open every page it has, and analysts and the akim try one they do not.
- Analysts, akims and wall screens never see a phone, an IIN or one of the names: not in the page
  text (the deadlines table, an opened case with its history, the wall's ticker, every other page)
  and not in anything the server sends their browser (every websocket frame is searched, so also
  the table's columns the grid does not draw). Operators open an ingested case and see the contact
  data, then write a comment quoting the resident that an analyst and an akim then read, masked.
  Admins see contacts too; operators' and admins' frames must hold them, so the search is known to work.
- A wall token on /deadlines gets the wall again, never a case; nobody who is not signed in sees
  a case or the wall, also with a forged token.

One thread drives every session: each is a generator that acts on its page and yields what it waits
for; the loop resumes it when its page shows that. So the server has all twenty at once (Playwright's
sync API is per thread; the contexts share one browser). One screenshot per role of its landing page
goes to SC_SCREENSHOTS or the test's tmp dir, beside sessions.log (when each session got where)."""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import pytest

from pipeline import auth, i18n, settings

from .conftest import AppServer

pytestmark = pytest.mark.browser

DEMO_ROWS = 3000              # the demo's cases are 1..3000, the ingested ones follow in file order
INGEST_ROWS = 2000
MARK = "[пдн-тест]"           # starts the texts received just now, the ones the wall's ticker shows
NAMES = [("Асель", "Нурланова"), ("Ерлан", "Сапаров"), ("Гульнар", "Ахметова"), ("Данияр", "Жумабеков")]
PROBLEMS = ["нет горячей воды во всём подъезде третий день", "не горит уличный фонарь у школы, очень темно",
            "на дороге огромная яма, машины бьют колёса", "не вывозят мусор с контейнерной площадки неделю",
            "в квартире нет отопления, батареи холодные", "сломан лифт в девятиэтажном доме"]
PADS = ["Добрый день. ", "Здравствуйте, обращаюсь повторно, так как прошлое обращение закрыли без результата. ",
        "Жители дома просят разобраться. "]
DISTRICTS = ["Абайский", "Туранский", "Енбекшинский", "Аль-Фарабийский", "Каратауский"]
COUNTS = {"operator": 4, "analyst": 4, "akim": 4, "admin": 2, "wall": 4, "anonymous": 2}
MENUS = {  # from the README's table, not from data/roles.csv: a grant added there by mistake fails here
    "operator": {"overview", "explorer", "wall", "intake", "deadlines", "review", "ideas"},
    "analyst": {"overview", "explorer", "wall", "briefing", "deadlines", "model", "placements", "ideas"},
    "akim": {"overview", "explorer", "wall", "briefing", "deadlines", "ideas"},
    "admin": {"overview", "explorer", "wall", "briefing", "intake", "deadlines", "review", "model", "admin", "placements",
              "ideas"},
}


def ru(key: str, **fmt) -> str:
    return i18n.t(key, "ru", **fmt)


# ---- what must not reach a role without contacts ------------------------------------------------
_NAME_WORDS = [w for first, last in NAMES for w in (first, last[:-1])]  # "Нурланов" also in Нурлановой
_PRIVATE = [  # a phone also when cut off after a few digits
    ("phone", re.compile(r"\+ ?7 ?\(?7\d\d\)?[ -]?\d|(?<![\w.:-])8 \(?7\d\d\)? \d{3}")),
    ("IIN", re.compile(r"(?:ИИН|ЖСН)\s*:?\s*\d")),
    ("name", re.compile("|".join(_NAME_WORDS))),
]
_TEXT_ONLY = [("IIN", re.compile(r"(?<![\d-])\d{6}[ -]?\d{6}(?!\d)")), ("long number", re.compile(r"\d{9,}"))]


def private_data(text: str, page_text: bool = True) -> list[str]:
    """Phones, IINs and the residents' names in `text`, each with a little context. Long digit runs
    count only in page text: the raw frames carry hashes that may hold nine digits by chance."""
    hits = []
    for kind, pattern in _PRIVATE + (_TEXT_ONLY if page_text else []):
        for m in pattern.finditer(text):
            hits.append(f"{kind}: …{text[max(0, m.start() - 30):m.end() + 20]}…".replace("\n", " "))
    return hits


def appeal(rng: random.Random, i: int) -> tuple[str, str, str]:
    """A text with a name, a phone and an IIN in the forms residents write them; the phone often
    lands around the 140th character, where the deadlines table cuts texts."""
    first, last = NAMES[i % len(NAMES)]
    d = f"7{rng.choice('0457')}{rng.randint(0, 9)}{rng.randint(0, 9999999):07d}"
    phone = rng.choice([f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}", f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
                        f"+7{d}", f"8 {d[:3]} {d[3:6]} {d[6:]}"])
    iin = f"{rng.randint(60, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999999):06d}"
    who = rng.choice([f"Звонит {first} {last}", f"{first} {last}", f"Заявитель: {last} {first}"])
    body = rng.choice([f"{who}, {phone}, ИИН {iin}. {rng.choice(PROBLEMS)}.",
                       f"{rng.choice(PROBLEMS).capitalize()}. {who}, номер {phone}, ИИН {iin[:6]} {iin[6:]}.",
                       f"{who} просит перезвонить на {phone}: {rng.choice(PROBLEMS)}. ИИН {iin}"])
    pad, cut = rng.choice(PADS) * rng.randint(0, 2), rng.randint(0, 140)
    if cut < len(pad) and " " in pad[:cut]:
        pad = pad[:cut].rsplit(" ", 1)[0] + ". "
    return pad + body, phone, f"{first} {last}"


def write_appeals(path, now: dt.datetime) -> list[str]:
    """The file to ingest: 20 cases from last month (the ones the sessions open), 980 old ones
    (overdue, at the top of the deadlines table) and 1,000 received in the last minutes (the
    newest, so the wall's ticker shows them). Returns the texts in file order."""
    rng, local, texts = random.Random(109), now.astimezone(ZoneInfo(settings.get("TZ"))), []
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(["№", "Дата поступления", "Район", "Текст обращения", "Телефон", "ФИО"])
        for i in range(INGEST_ROWS):
            text, phone, name = appeal(rng, i)
            if i < 20:
                when = local - dt.timedelta(days=20 + i)
            elif i < 1000:
                when = dt.datetime(2024, 11, 1, 9, tzinfo=local.tzinfo) + dt.timedelta(minutes=37 * i)
            else:
                when, text = local - dt.timedelta(seconds=2 * (INGEST_ROWS - i)), f"{MARK} {text}"
            out.writerow([f"RC-{i:05d}", f"{when:%d.%m.%Y %H:%M:%S}", DISTRICTS[i % len(DISTRICTS)], text, phone, name])
            texts.append(text)
    return texts


# ---- one thread, twenty sessions -----------------------------------------------------------
IDLE = "!document.querySelector('[data-testid=stStatusWidget]') && !!document.querySelector('[data-testid=stMain]')"
SHOWS = f"t => {IDLE} && document.body.textContent.includes(t)"  # textContent: no layout per poll
SIGN_IN_FORM = f"() => {IDLE} && !!document.querySelector('[data-testid=stForm] input[type=password]')"
NAV_LINKS = "() => [...document.querySelectorAll('[data-testid=stSidebarNav] a')].map(a => a.innerText.trim())"
# The wall's ticker scrolls for ever: twenty pages drawing animations would take the CPU from the
# server; still pages read the same.
STILL = """document.addEventListener('DOMContentLoaded', () => { const s = document.createElement('style');
  s.textContent = '*, *::before, *::after { animation: none !important; transition: none !important }';
  document.head.appendChild(s); });"""


@dataclass
class Wait:
    what: str
    js: str | None = None
    arg: object = None
    check: Callable[[], bool] | None = None
    timeout: float = 240  # generous: twenty sessions on two cores, with other work on the machine


class Session:
    def __init__(self, browser, role: str, i: int, url: str, landing: Callable[["Session"], None]):
        self.role, self.i, self.name, self.url = role, i, f"{role}{i}", url
        self.context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="ru-RU")
        self.context.set_default_timeout(120_000)  # twenty pages on two cores: a click may wait long
        self.context.add_init_script(STILL)
        self.page = self.context.new_page()
        self.landing = lambda: landing(self)
        self.frame_hits: list[str] = []
        self.page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        self.loads = 0
        self.gen = None
        self.waiting: Wait | None = None
        self.since = 0.0

    def _frame(self, payload) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "ignore")
        self.frame_hits += private_data(text, page_text=False)

    def goto(self, path: str, ready: str | None = None, js: str = SHOWS):
        self.loads += 1
        self.page.goto(self.url + path, wait_until="commit")
        yield Wait(f"{path} shows {ready!r}", js=js, arg=ready)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None

    def text(self) -> str:
        return self.page.inner_text("body")

    def poll(self) -> bool:
        w = self.waiting
        if w.check is not None:
            return w.check()
        try:
            return bool(self.page.evaluate(w.js, w.arg))
        except Exception:  # the page is between two documents
            return False


def run_sessions(sessions: list[Session], background: Callable[[], None], log: list[str], out: Path) -> list[str]:
    """Round after round: resume each session whose wait is over. Returns the failures."""
    failures, live, t0 = [], list(sessions), time.monotonic()
    for s in live:
        s.waiting, s.since = Wait("start", check=lambda: True), time.monotonic()
    while live:
        background()
        for s in list(live):
            try:
                if not s.poll():
                    if time.monotonic() - s.since > s.waiting.timeout:
                        raise AssertionError(f"waited {s.waiting.timeout:.0f} s for {s.waiting.what}")
                    continue
                log.append(f"{time.monotonic() - t0:6.1f} {s.name:10} {s.waiting.what}")
                s.waiting, s.since = next(s.gen), time.monotonic()
            except StopIteration:
                live.remove(s)
                s.close()  # an open page keeps refreshing (the wall every few seconds): free the CPU
            except Exception as exc:  # noqa: BLE001 - every session's failure is reported at the end
                failures.append(f"{s.name} (at {s.waiting.what if s.waiting else '?'}): {exc}")
                log.append(f"{time.monotonic() - t0:6.1f} {s.name:10} FAILED {exc}")
                with contextlib.suppress(Exception):  # what it saw, beside the log
                    s.page.screenshot(path=str(out / f"failed_{s.name}.png"))
                live.remove(s)
                s.close()
        if live:
            live[0].page.wait_for_timeout(500)  # lets Playwright deliver the frames meanwhile
    return failures


# ---- what each role does -------------------------------------------------------------------
def sign_in(s: Session, user: str, path: str):
    """Through the sign-in form at `path`, which it keeps: the first session of a role signs in at
    / and lands on the overview (its screenshot); the others at the page they work on first, so
    that the server draws the heavy overview four times, not fourteen."""
    yield from s.goto(path, js=SIGN_IN_FORM)
    s.page.locator("input[type='text']").first.fill(user)
    s.page.locator("input[type='password']").first.fill("demo")
    s.page.locator("[data-testid='stBaseButton-primaryFormSubmit']").first.click()  # Enter was dropped at times
    # ...and the session's cookie is set (by a script the page runs): a new address opened before
    # that would be a new, signed-out session, as for a person who types one within a second.
    yield Wait(f"{path} after sign-in", js=f"t => !document.querySelector('input[type=password]') && "
                                           "document.cookie.includes('sc_session=') && "
                                           "!!document.querySelector('[data-testid=stSidebarNav]') && "
                                           f"({SHOWS[5:]})", arg=ru(TITLES[path]))
    if path == "/":
        yield Wait("the overview's table", js=f"() => {IDLE} && !!document.querySelector('[data-testid=stTable]')")
        s.landing()


def check_menu(s: Session) -> None:
    shown = set(s.page.evaluate(NAV_LINKS))
    assert shown == {ru(f"nav.{p}") for p in MENUS[s.role]}, f"menu {sorted(shown)}"


def open_case(s: Session, case_id: int):
    box = s.page.get_by_label(ru("deadlines.case_number"))
    box.fill(str(case_id))
    box.press("Enter")
    yield Wait(f"case {case_id}", js=f"n => {IDLE} && [...document.querySelectorAll('h3')]"
                                     ".some(h => h.innerText.includes(n))", arg=f"-{case_id:06d}")
    yield Wait(f"case {case_id}'s history", js=SHOWS, arg=ru("deadlines.history"))


def assert_clean(s: Session, where: str) -> str:
    text = s.text()
    hits = private_data(text)
    assert not hits, f"{where}: personal data on a {s.role}'s screen: {hits[:3]}"
    return text


def assert_no_case(s: Session, where: str) -> None:
    text = s.text()
    assert not re.search(r"109-\d{4}-\d{6}", text), f"{where}: a case number on screen"
    assert ru("deadlines.title") not in text, f"{where}: the deadlines page"
    assert not s.page.locator("[data-testid='stDataFrame']").count(), f"{where}: a table of cases"
    assert not private_data(text), f"{where}: {private_data(text)[:3]}"


# Each session signs in at the first of its pages and opens the others (the deadlines page and a
# case come after these), in turn, so that each role's sessions together open every page it has;
# analysts and the akim also try a page they do not have by its address.
TITLES = {"/": "overview.title", "/explorer": "explorer.title", "/intake": "intake.title", "/review": "review.title", "/wall": "wall.latest",
          "/model": "model.title", "/admin": "admin.title", "/deadlines": "deadlines.title"}
PAGES = {"operator": [["/", "/intake"], ["/review"], ["/explorer"], ["/wall"]],
         "analyst": [["/", "/model"], ["/explorer"], ["/wall"], ["/model"]],
         "akim": [["/", "/wall"], ["/explorer"], ["/wall"], ["/wall"]],
         "admin": [["/", "/admin", "/review"], ["/model", "/intake", "/explorer"]]}
NOT_THEIRS = {"analyst": ["/review", "/intake"], "akim": ["/model", "/admin"]}


def sign_in_and_browse(s: Session):
    first, *more = PAGES[s.role][s.i]
    yield from sign_in(s, s.role, first)
    check_menu(s)
    if s.role in NOT_THEIRS:
        assert_clean(s, first)
    if s.role in NOT_THEIRS and s.i < 2:
        path = NOT_THEIRS[s.role][s.i]
        yield from s.goto(path, js=f"() => {IDLE} && !!document.querySelector('[data-testid=stSidebarNav]')")
        yield Wait(f"{path}: the overview instead", js=SHOWS, arg=ru("overview.title"))  # the role's default page
        assert ru(TITLES[path]) not in s.text(), f"{path} opened"
    for path in more:
        yield from s.goto(path, ru(TITLES[path]))
        if s.role in NOT_THEIRS:
            assert_clean(s, path)


def operator(s: Session, st: dict):
    yield from sign_in_and_browse(s)
    yield Wait("the ingest", check=st["ingested"])
    yield from s.goto("/deadlines", ru("deadlines.title"))
    case_id = DEMO_ROWS + 1 + s.i
    yield from open_case(s, case_id)
    text = s.text()
    assert st["texts"][s.i] in text, "the case opened is not the ingested one"  # the ids follow the file
    assert private_data(text), "an operator does not see the resident's contact data"
    first, last = NAMES[(s.i + 1) % len(NAMES)]
    s.page.get_by_label(ru("deadlines.comment")).first.fill(f"Перезвонили: {first} {last}, +7 701 555 12 34")
    s.page.get_by_role("button", name=ru("deadlines.apply")).first.click()
    yield Wait("the status change", js="t => [...document.querySelectorAll(\"[data-testid='stMetric']\")]"
                                       ".some(m => m.textContent.includes(t))", arg=ru("status.feedback_given"))
    yield Wait("the comment in the case's history", js=SHOWS, arg="Перезвонили")
    st["commented"].add(case_id)


def reader(s: Session, st: dict):
    """An analyst or the akim: cases read-only and masked."""
    yield from sign_in_and_browse(s)
    yield Wait("the ingest", check=st["ingested"])
    yield from s.goto("/deadlines", ru("deadlines.title"))
    yield Wait("the table", js=f"() => {IDLE} && !!document.querySelector('[data-testid=stDataFrame]')")
    assert_clean(s, "deadlines table")
    case_id = DEMO_ROWS + 1 + s.i  # the one an operator comments on
    yield Wait(f"the operator's comment on {case_id}", check=lambda: case_id in st["commented"])
    yield from open_case(s, case_id)
    text = assert_clean(s, f"case {case_id}")
    assert "***" in text, "the case's text is not masked"


def admin(s: Session, st: dict):
    yield from sign_in_and_browse(s)
    yield Wait("the ingest", check=st["ingested"])
    yield from s.goto("/deadlines", ru("deadlines.title"))
    yield from open_case(s, DEMO_ROWS + 11 + s.i)
    assert private_data(s.text()), "an admin does not see the resident's contact data"


def wall(s: Session, st: dict):
    token = st["token"]
    yield from s.goto(f"/wall?kiosk=1&token={token}", ru("wall.latest"))
    s.landing()
    assert not s.page.locator("[data-testid=stSidebarNav]").count(), "a wall screen with a menu"
    assert "not found" not in s.text().lower(), "Streamlit's 'page not found' over the wall"
    yield Wait("the ingest", check=st["ingested"])
    yield Wait("the ingested appeals on the ticker", js=SHOWS, arg=MARK)
    assert "***" in assert_clean(s, "wall")
    path = f"/deadlines?kiosk=1&token={token}" if s.i % 2 else f"/deadlines?token={token}"
    yield from s.goto(path, ru("wall.latest"))  # the wall again: the only page a token has
    assert_no_case(s, path)


def anonymous(s: Session, st: dict):
    token = st["token"]
    bogus = ("y" if token[0] == "x" else "x") + token[1:]  # one character off (a token may start with x)
    for path in (["/deadlines", "/review", "/explorer"] if s.i % 2 == 0 else [f"/wall?kiosk=1&token={bogus}", f"/?token={bogus}"]):
        yield from s.goto(path, js=SIGN_IN_FORM)
        s.landing()
        assert_no_case(s, path)
        assert not s.page.locator("[data-testid=wall]").count(), f"{path}: the wall without a valid token"
    yield Wait("the ingest", check=st["ingested"])
    yield from s.goto("/deadlines", js=SIGN_IN_FORM)
    assert_no_case(s, "/deadlines after the ingest")


def warm_up(browser, url: str) -> None:
    """Wait until the app shows its sign-in form once: the first start builds the demo and may
    train the model, which takes a minute on two cores and is measured elsewhere."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_function(SIGN_IN_FORM, timeout=300_000)
    finally:
        context.close()


ROLE_FLOWS = {"operator": operator, "analyst": reader, "akim": reader, "admin": admin, "wall": wall,
              "anonymous": anonymous}


def test_twenty_sessions_see_only_what_their_role_may(tmp_path, browser, shot):
    started = time.monotonic()
    server = AppServer(tmp_path / "roles.duckdb", env={"SC_DEMO_ROWS": str(DEMO_ROWS), "SC_WALL_REFRESH": "10"}).start()
    sessions: list[Session] = []
    ingest: dict = {}
    try:
        con = auth.connect(f"{server.db}.auth.sqlite")
        token = auth.add_wall_token(con, "hall screen")
        con.close()
        csv_path = tmp_path / "appeals.csv"
        texts = write_appeals(csv_path, dt.datetime.now(dt.timezone.utc))
        log: list[str] = []

        def start_ingest_once() -> None:  # while the sessions sign in and load their first pages
            if "proc" not in ingest:
                ingest["proc"] = subprocess.Popen(
                    [sys.executable, "-m", "pipeline", "ingest", str(csv_path), "--db", str(server.db)],
                    cwd=settings.ROOT, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def ingested() -> bool:
            proc = ingest.get("proc")
            if proc is None or proc.poll() is None:
                return False
            if "out" not in ingest:
                ingest["out"] = proc.communicate()
                assert proc.returncode == 0, ingest["out"]
                assert f"inserted={INGEST_ROWS}" in ingest["out"][0], ingest["out"]
                log.append(f"{time.monotonic() - started:6.1f} ingest done (since the test started)")
            return True

        shots: dict[str, object] = {}

        def landing(s: Session) -> None:
            if s.role not in shots:
                shots[s.role] = shot(s.page, f"landing_{s.role}")

        state = {"token": token, "texts": texts, "ingested": ingested, "commented": set()}
        for role, n in COUNTS.items():
            for i in range(n):
                s = Session(browser, role, i, server.url, landing)
                s.gen = ROLE_FLOWS[role](s, state)
                sessions.append(s)
        assert len(sessions) == 20
        warm_up(browser, server.url)  # the first start (demo, model) is not what this test measures
        failures = run_sessions(sessions, start_ingest_once, log, tmp_path)
        (tmp_path / "sessions.log").write_text("\n".join(log), encoding="utf-8")
        for s in sessions:
            if s.role in ("analyst", "akim", "wall", "anonymous") and s.frame_hits:
                failures.append(f"{s.name}: personal data sent to the browser: {s.frame_hits[:3]}")
            if s.role in ("operator", "admin") and not s.frame_hits:
                failures.append(f"{s.name}: no contact data received (the frame check sees nothing?)")
        assert not failures, "\n".join(failures)
        assert ingested() and set(shots) == set(COUNTS)
        print(f"\n{len(sessions)} sessions, {sum(s.loads for s in sessions)} page loads, ingest "
              f"{ingest['out'][0].strip()}, {time.monotonic() - started:.0f} s")
    finally:
        for s in sessions:
            s.close()
        if ingest.get("proc") is not None and ingest["proc"].poll() is None:
            ingest["proc"].kill()
        server.stop()
