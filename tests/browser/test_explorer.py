"""Drill-down in a real browser: a category bar on the overview opens the explorer with the rows
behind it, as many as the bar says; the explorer's address alone reproduces the view."""
import re

import pytest

from .conftest import AppServer, sign_in, wait_for_app

pytestmark = pytest.mark.browser
COUNT = re.compile(r"Найдено обращений: ([\d  ]+)")


def shown_count(page) -> int:
    page.wait_for_function("() => /Найдено обращений: \\d/.test(document.body.innerText)", timeout=120_000)
    wait_for_app(page)
    return int(re.sub(r"\D", "", COUNT.search(page.inner_text("body")).group(1)))


def test_a_category_bar_opens_its_rows_and_the_link_reproduces_them(tmp_path, browser, shot):
    server = AppServer(tmp_path / "x.duckdb").start()
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="ru-RU")
    try:
        page = context.new_page()
        sign_in(page, server.url + "/?period=all", "analyst")
        page.wait_for_selector("[data-testid='stPlotlyChart'] .bars .point", timeout=120_000)
        wait_for_app(page)
        chart = page.locator("[data-testid='stPlotlyChart']").first
        bars = chart.locator(".bars .point")
        top = bars.count() - 1                         # the largest share is drawn last, on top
        labels = chart.locator(".scatterlayer .textpoint")  # after each bar's interval, in the bars' order
        assert labels.count() == bars.count()
        label = labels.nth(top).text_content()         # "12,3 % · 1 234"
        figure = int(re.sub(r"\D", "", label.split("·")[1]))
        box = bars.nth(top).locator("path").bounding_box()  # plotly's drag layer takes the click, as for a user
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(re.compile(r"/explorer\?.*category="), timeout=120_000)
        assert shown_count(page) == figure
        shot(page, "explorer_from_bar")
        link = page.url
        fresh = context.new_page()                     # the same address in a new tab (same sign-in)
        fresh.goto(link)
        assert shown_count(fresh) == figure
        assert fresh.url.split("?")[1] == link.split("?")[1]
    finally:
        context.close()
        server.stop()
