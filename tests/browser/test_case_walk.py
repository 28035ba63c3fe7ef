"""A case from the phone to 'resolved' through the pages, in a real browser; then the event log."""
import re

import pytest

from pipeline import store

from .conftest import AppServer, wait_for_app, sign_in

pytestmark = pytest.mark.browser


def choose(page, label: str, option: str) -> None:
    """Streamlit's selectbox is searchable: type the option, Enter picks it, as an operator would."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).last
    box.locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def test_walk_one_case_from_new_to_resolved(tmp_path, browser, shot):
    server = AppServer(tmp_path / "w.duckdb").start()
    try:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        sign_in(page, server.url + "/intake", "operator")
        page.get_by_label("Суть обращения (со слов заявителя)").fill("Во дворе дома 12 огромная яма, машины бьют колёса")
        page.get_by_label("Адрес").fill("г. Актобе, район Алматы, ул. Маресьева, 12")  # names the district
        page.wait_for_selector("text=Классификатор:", timeout=60_000)
        page.wait_for_selector("text=Район определён по адресу.", timeout=60_000)
        wait_for_app(page)
        page.get_by_role("button", name=re.compile("Зарегистрировать")).click()
        number_el = page.locator("[data-testid='registration-number']")
        number_el.wait_for(timeout=60_000)
        number = number_el.inner_text().strip()
        assert re.fullmatch(r"109-\d{4}-\d{6}", number)
        shot(page, "intake_ru")

        page.get_by_role("link", name="Сроки").click()
        wait_for_app(page)
        field = page.get_by_label("Или номер обращения")
        field.fill(number)
        field.press("Enter")
        page.wait_for_selector(f"h3:has-text('{number}')", timeout=60_000)
        for target in ("Обратная связь дана", "В работе", "Решено"):
            wait_for_app(page)
            choose(page, "Статус", target)
            box = page.locator("[data-testid='stSelectbox']").filter(has_text="Статус").last
            assert target in (box.inner_text() + box.locator("input").input_value())
            page.get_by_role("button", name="Применить").first.click()
            # The case's status metric, not a message that may linger from the step before.
            page.wait_for_function(
                "t => (document.querySelector(\"[data-testid='stMetric']\") || {innerText: ''}).innerText.includes(t)",
                arg=target, timeout=60_000)
        assert "Решено" in page.locator("[data-testid='stMetric']").first.inner_text()
        shot(page, "deadlines_ru")
        page.close()
    finally:
        server.stop()
    con = store.connect(server.db, read_only=True)
    case_id = int(number.split("-")[-1])
    log = con.execute("SELECT field, old, new FROM events WHERE submission_id = ? ORDER BY happened_at, id",
                      [case_id]).fetchall()
    statuses = [(old, new) for field, old, new in log if field == "status"]
    assert statuses == [("new", "feedback_given"), ("feedback_given", "in_progress"), ("in_progress", "resolved")]
    assert [f for f, _, _ in log][:1] == ["created"] and "feedback_at" in [f for f, _, _ in log]
    assert con.execute("SELECT status FROM submissions WHERE id = ?", [case_id]).fetchall() == [("resolved",)]
