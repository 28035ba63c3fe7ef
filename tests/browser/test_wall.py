"""The wall display in a real browser: every panel fits a 1920x1080 and a 3840x2160 screen in
Russian and Kazakh without scrolling or overlapping, its numbers refresh in place after an ingest,
and the maps draw with every request off this machine blocked."""
import datetime as dt
import subprocess
import sys
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest

from pipeline import auth, settings

from .conftest import AppServer, sign_in, wait_for_app

pytestmark = pytest.mark.browser

LAYOUT = """() => {
  const vw = innerWidth, vh = innerHeight;
  const boxes = [...document.querySelectorAll(
      '.wall header, .wall .kpi, .wall .panel, .wall .ticker')].map(e => {
    const r = e.getBoundingClientRect();
    return {name: e.className || e.tagName, l: r.left, t: r.top, r: r.right, b: r.bottom};
  });
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.l < b.r - 1 && b.l < a.r - 1 && a.t < b.b - 1 && b.t < a.b - 1) overlaps.push([a.name, b.name]);
  }
  const outside = boxes.filter(b => b.l < 0 || b.t < 0 || b.r > vw + 1 || b.b > vh + 1).map(b => b.name);
  const clipped = [...document.querySelectorAll('.wall .kpi .value, .wall .bar .pct, .wall .clock')]
      .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent);
  const img = document.querySelector('[data-testid=wall-map]');
  const sidebar = document.querySelector('[data-testid=stSidebar]');
  return {panels: boxes.length, overlaps, outside, clipped,
          scroll: [document.scrollingElement.scrollHeight - vh, document.scrollingElement.scrollWidth - vw],
          map: img ? [img.complete, img.naturalWidth, img.getBoundingClientRect().height] : null,
          sidebar: sidebar ? sidebar.getBoundingClientRect().width : 0};
}"""


@pytest.fixture(scope="module")
def wall_server(tmp_path_factory):
    server = AppServer(tmp_path_factory.mktemp("wall") / "w.duckdb", env={"SC_WALL_REFRESH": "3"}).start()
    con = auth.connect(f"{server.db}.auth.sqlite")
    server.wall_token = auth.add_wall_token(con, "test wall")  # a wall screen opens with its token alone
    con.close()
    yield server
    server.stop()


def open_wall(browser, server, lang, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{server.url}/wall?kiosk=1&lang={lang}&token={server.wall_token}")
    page.wait_for_selector("[data-testid=wall]", timeout=120_000)
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=wall-map]'); "
                           "return i && i.complete && i.naturalWidth > 0 }", timeout=30_000)
    return context, page


@pytest.mark.parametrize("lang, width, height", [("ru", 1920, 1080), ("kk", 1920, 1080),
                                                 ("ru", 3840, 2160), ("kk", 3840, 2160)])
def test_every_panel_fits_the_screen(browser, wall_server, shot, lang, width, height):
    context, page = open_wall(browser, wall_server, lang, width, height)
    try:
        layout = page.evaluate(LAYOUT)
        shot(page, f"wall_{lang}_{width}x{height}")
        body = page.inner_text("[data-testid=wall]")
    finally:
        context.close()
    assert layout["panels"] == 1 + 5 + 4 + 1, layout
    assert layout["overlaps"] == [] and layout["outside"] == [] and layout["clipped"] == [], layout
    assert layout["scroll"][0] <= 0 and layout["scroll"][1] <= 0, layout
    assert layout["map"][0] and layout["map"][1] > 0 and layout["map"][2] > height * 0.3, layout
    assert layout["sidebar"] == 0
    word = {"ru": "Обращений сегодня", "kk": "Бүгінгі өтініштер"}[lang]
    assert word in body and "%" in body


def test_numbers_refresh_in_place_after_an_ingest(browser, wall_server, tmp_path):
    context, page = open_wall(browser, wall_server, "ru", 1920, 1080)
    try:
        page.evaluate("() => { window.__notReloaded = true }")
        before = int(page.inner_text("#wall-today").replace("\u202f", "").replace(" ", ""))
        now = dt.datetime.now(ZoneInfo(settings.get("TZ")))
        csv = tmp_path / "two.csv"
        csv.write_text("№;Дата поступления;Район;Текст обращения\n"
                       f"w-1;{now:%d.%m.%Y %H:%M};Абайский;нет воды в доме 5\n"
                       f"w-2;{now:%d.%m.%Y %H:%M};Туранский;не горит фонарь у школы\n", encoding="utf-8")
        run = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(csv), "--db", str(wall_server.db)],
                             cwd=settings.ROOT, env=wall_server.env, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr
        page.wait_for_function(
            "n => Number(document.querySelector('#wall-today').textContent.replace(/\\s/g, '')) === n",
            arg=before + 2, timeout=60_000)
        assert page.evaluate("() => window.__notReloaded === true")
    finally:
        context.close()


def test_maps_render_with_the_network_cut_off(browser, wall_server, shot):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    blocked = []

    def only_this_machine(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_machine)
    page = context.new_page()
    try:
        page.goto(f"{wall_server.url}/wall?kiosk=1&token={wall_server.wall_token}")
        page.wait_for_function("() => { const i = document.querySelector('[data-testid=wall-map]'); "
                               "return i && i.complete && i.naturalWidth > 0 }", timeout=120_000)
        sign_in(page, f"{wall_server.url}/?region=shymkent", "akim")
        chart = page.locator(".st-key-district_map")
        chart.locator(".js-plotly-plot").wait_for(timeout=120_000)
        wait_for_app(page)
        chart.scroll_into_view_if_needed()
        assert chart.locator("path.js-fill").count() == 5  # Shymkent's districts
        shot(page, "overview_map_offline")
        # clicking a district makes it the district filter of the page
        marker = chart.locator(".scatterlayer .trace").last.locator(".point").first
        for _ in range(5):  # plotly binds its click handlers a moment after drawing
            page.wait_for_timeout(1500)
            marker.click(force=True)
            try:
                page.locator(".st-key-map_clear").wait_for(timeout=8_000)  # shown once a district is picked
                break
            except Exception:
                continue
        page.wait_for_function("() => /district=(abai|al_farabi|enbekshi|karatau|turan)/.test(location.search)",
                               timeout=30_000)  # the filter (mirrored in the URL) is the clicked district
    finally:
        context.close()
    assert blocked == []
