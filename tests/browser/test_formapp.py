"""The public proposal form on a phone (390x844) in a real browser: a resident who reads Kazakh
scans a QR code, sends a proposal, gets a receipt and follows it; the staff side then finds the
proposal in its store, classified, through the explorer's own query, and grouped with a Russian proposal of
the same idea on the ideas list."""
import datetime as dt

import pytest

from pipeline import auth, ideas, public, reference, spool, store
from pipeline.queries import explore
from pipeline.queries.filters import Filters

from ..formserver import FormServer, write_placements

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("keyword_classifier_unless_trained")]
TEXT_KK = "Абай көшесіндегі аялдама жанында жарық жоқ, кешке қараңғы, шам орнату керек"
TEXT_RU = "На остановке на улице Абая нет освещения, вечером темно, прошу поставить фонарь"  # the same idea
TEXT_OTHER = "Возле школы на Байтурсынова нужен пешеходный переход"  # another idea


def test_a_proposal_in_kazakh_on_a_phone_gets_a_receipt_a_status_and_reaches_the_staff_classified(tmp_path, browser,
                                                                                                   shot):
    write_placements(tmp_path / "public")
    with FormServer(tmp_path) as server:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="kk-KZ", is_mobile=True,
                                      has_touch=True, java_script_enabled=False)  # none is needed to send
        others = browser.new_context(locale="ru-RU", java_script_enabled=False)
        for text in (TEXT_RU, TEXT_OTHER):  # two residents before: one with the same idea in Russian
            other = others.new_page()
            other.goto(server.url + "/p/SH-0042")
            other.fill("#text", text)
            other.click("#send")
            other.wait_for_url("**/r/*")
        others.close()
        page = context.new_page()
        try:
            page.goto(server.url + "/p/SH-0042")  # what the QR code at the bus stop opens
            assert page.locator("html").get_attribute("lang") == "kk"
            assert page.inner_text("h1") == "Қалаға ұсыныс"
            assert "«Айна базары» аялдамасы" in page.inner_text("#place")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
            page.fill("#text", TEXT_KK)
            page.click("button[name=switch][value=ru]")  # the language switch keeps what was typed
            assert page.locator("html").get_attribute("lang") == "ru" and page.input_value("#text") == TEXT_KK
            assert page.url.endswith("/p/SH-0042") and "Остановка «Рынок Айна»" in page.inner_text("#place")
            box = page.locator("button[name=switch][value=kk]").bounding_box()
            assert box["height"] >= 44  # a finger's tap target
            page.click("button[name=switch][value=kk]")
            assert page.locator("html").get_attribute("lang") == "kk" and page.input_value("#text") == TEXT_KK
            page.select_option("#topic", "street_lighting")
            page.fill("#contact", "+7 701 555 12 34")
            page.check("#consent")
            shot(page, "formapp-kk-390")
            page.click("#send")
            page.wait_for_url("**/r/*")
            receipt = page.inner_text("#receipt").strip()
            assert page.get_attribute("#another", "href").startswith("/p/SH-0042?")  # the same bus stop again
            assert "Рахмет! Ұсыныс қабылданды" in page.inner_text("h1")
            assert page.inner_text("#status-text").startswith("Алынды, әлі өңделмеді")
            shot(page, "formapp-receipt-kk-390")

            # the staff side (no app running here): drain the inbox into its store, publish
            con = store.connect(tmp_path / "staff.duckdb")
            spool.drain(con, server.inbox)
            ideas.update(con)  # what the app's drain hook does after applying proposals
            public.publish(con, server.public)
            page.goto(server.url + page.get_attribute("#status-link", "href"))
            assert page.inner_text("#status-text") == "Тіркелді, қарауды күтуде"
            assert receipt in page.inner_text("#receipt")
        finally:
            context.close()

    today = dt.date.today()
    operator = auth.viewer_for("aliya", "operator")
    found = explore.page(con, Filters(start=today - dt.timedelta(days=2), end=today + dt.timedelta(days=2),
                                      placement="SH-0042", language="kk"), viewer=operator)
    # grouped: the Kazakh proposal and the Russian one are one idea with two supporters, the third apart
    table = ideas.ideas_table(con, operator)
    con.close()
    assert sorted(table["supporters"].tolist()) == [1, 2], table
    assert len(found) == 1
    row = found.iloc[0]
    assert row["text"] == TEXT_KK and row["source"] == "qr" and row["district"] == "al_farabi"
    assert row["category"] in reference.category_codes() and row["category_source"] == "model"  # classified
    assert row["status"] == "new" and row["due_at"] is not None
