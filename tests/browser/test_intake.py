"""Call intake in a real browser: the suggestion appears while the operator types, without leaving
the box, and one Ctrl+Enter registers exactly one case (also when pressed right after typing)."""
import re

import pytest

from pipeline import store

from .conftest import AppServer, sign_in, wait_for_app

pytestmark = pytest.mark.browser

TEXT = "Во дворе дома 12 огромная яма на дороге, машины бьют колёса"
SECOND = "Третий день нет холодной воды во всём доме"


def test_suggestion_while_typing_and_one_ctrl_enter_registers_one_case(tmp_path, browser, shot):
    server = AppServer(tmp_path / "i.duckdb").start()
    try:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        sign_in(page, server.url + "/intake", "operator")
        box = page.get_by_label("Суть обращения (со слов заявителя)")
        box.click()
        box.press_sequentially(TEXT, delay=40)
        # The classifier's suggestion appears while the cursor is still in the box.
        page.wait_for_selector("text=Классификатор:", timeout=30_000)
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Суть обращения (со слов заявителя)"
        page.get_by_label("Адрес").press_sequentially("с. Бестамак, ул. Школьная 3", delay=20)
        page.wait_for_selector("text=Район определён по адресу.", timeout=30_000)
        district = page.locator("[data-testid='stSelectbox']").filter(has_text="Район").first
        assert "Алгинский район" in district.inner_text() + district.locator("input").input_value()
        wait_for_app(page)
        box.click()
        box.press("Control+Enter")  # once
        number = page.locator("[data-testid='registration-number']")
        number.wait_for(timeout=30_000)
        first = number.inner_text().strip()
        assert re.fullmatch(r"109-\d{4}-\d{6}", first)
        assert "Предыдущий звонок в" in page.locator("text=Предыдущий звонок в").inner_text()
        box = page.get_by_label("Суть обращения (со слов заявителя)")
        assert box.input_value() == ""  # cleared for the next call
        shot(page, "intake_previous_ru")

        # The next call: address first, then the text, and Ctrl+Enter straight after the last key.
        page.get_by_label("Адрес").press_sequentially("Кандыагаш, ул. Первая 1", delay=20)
        page.wait_for_selector("text=Район определён по адресу.", timeout=30_000)
        wait_for_app(page)
        box.click()
        box.press_sequentially(SECOND, delay=20)
        box.press("Control+Enter")
        page.wait_for_function("n => { const e = document.querySelector(\"[data-testid='registration-number']\");"
                               " return e && e.innerText.trim() !== n; }", arg=first, timeout=30_000)
        wait_for_app(page)
        page.close()
    finally:
        server.stop()
    con = store.connect(server.db, read_only=True)
    calls = con.execute("SELECT text, district FROM submissions WHERE source_id LIKE 'call-%' ORDER BY id").fetchall()
    con.close()
    assert calls == [(TEXT, "alga"), (SECOND, "mugalzhar")]
