"""Call intake: live suggestion, district required and found from the address, one registration
per press, and the form cleared with the previous number in a small line (AppTests)."""
import pytest
from streamlit.testing.v1 import AppTest

from pipeline import reference, settings, store, workflow
from tests.conftest import signed_in


@pytest.fixture
def at(tmp_path, monkeypatch):
    path = tmp_path / "c.duckdb"
    con = store.connect(path)
    store.set_meta(con, "dataset", "real")
    con.close()
    monkeypatch.setenv("SC_DB", str(path))
    app = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=90), "operator")
    app.run()
    app.switch_page("pages/intake.py").run()
    assert not app.exception, app.exception
    return app


def test_the_suggestion_follows_the_text_and_a_call_registers_once(at):
    at.text_input(key="intake_text_0").set_value("В подъезде сильно пахнет газом").run()
    assert "приоритет" in at.info[0].value and "Газоснабжение" in at.info[0].value
    assert at.selectbox(key="intake_category_0").value == "gas"
    at.text_input(key="intake_text_0").set_value("Во дворе огромная яма на дороге, асфальт разбит").run()
    assert at.selectbox(key="intake_category_0").value == "roads"  # not chosen by hand: it follows
    at.text_input(key="intake_address_0").set_value("с. Бестамак, ул. Школьная, 3").run()
    assert at.selectbox(key="intake_district_0").value == "alga"
    assert "по адресу" in " ".join(c.value for c in at.caption)
    at.button(key="intake_register").click().run()
    assert not at.exception and not at.error
    case_id, number = at.session_state["intake_last"]
    assert at.text_input(key="intake_text_1").value == ""  # the form is cleared for the next call
    assert at.selectbox(key="intake_district_1").value is None
    previous = " ".join(h.proto.body for h in at.get("html"))
    assert "Предыдущий звонок в" in previous and number in previous
    assert "registration-number" in previous and "font-size:3rem" not in previous
    assert not at.success  # no large read-back left on the screen while the next call is typed


def test_a_call_without_a_district_is_refused_with_a_clear_message(at):
    at.text_input(key="intake_text_0").set_value("Нет воды в доме 5").run()
    at.button(key="intake_register").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Укажите район")
    assert "intake_last" not in at.session_state
    assert at.text_input(key="intake_text_0").value == "Нет воды в доме 5"  # nothing typed is lost
    at.text_input(key="intake_address_0").set_value("ул. Маресьева, 12").run()
    assert "район не определён" in " ".join(c.value for c in at.caption)
    at.selectbox(key="intake_district_0").set_value("turan").run()
    at.button(key="intake_register").click().run()
    assert not at.error and "intake_last" in at.session_state


def test_a_category_chosen_by_hand_stays_and_is_recorded_as_the_operators(at):
    at.text_input(key="intake_text_0").set_value("В подъезде сильно пахнет газом").run()
    at.selectbox(key="intake_category_0").set_value("housing").run()
    at.text_input(key="intake_text_0").set_value("В подъезде сильно пахнет газом, третий день").run()
    assert at.selectbox(key="intake_category_0").value == "housing"
    at.selectbox(key="intake_district_0").set_value("abai").run()
    at.button(key="intake_register").click().run()
    case_id, _ = at.session_state["intake_last"]
    from ui import core
    row = core.cursor().execute("SELECT category, category_source, district FROM submissions WHERE id = ?",
                                [case_id]).fetchall()
    assert row == [("housing", "operator", "abai")]


def test_register_call_needs_a_district(con):
    with pytest.raises(workflow.WorkflowError) as err:
        workflow.register_call(con, "Нет воды", "op")
    assert err.value.code == "no_district"


@pytest.mark.parametrize("address, district", [
    ("с. Бестамак, ул. Школьная 3", "alga"),
    ("Айтекебийский район, с. Карабутак", "aitekebi"),
    ("в Алгинском районе, у школы", "alga"),
    ("г. Актобе, район Астана, ул. Маресьева 4", "aktobe_astana"),
    ("Шымкент, Абайский р-н, мкр. Самал-1", "abai"),
    ("Әл-Фараби ауданы", "al_farabi"),
    ("Қос-Істек ауылы", "kargaly"),
    ("Кандыагаш, ул. Первая 1", "mugalzhar"),
    ("ул. Айтеке би, 5", None),      # a street named after the person, not the district
    ("пр. Абая 10", None),
    ("Алматы көшесі 5", None),
    ("ул. Маресьева, 12", None),     # names no district
    ("Шалкар или Иргиз", None),      # two districts: no guess
    ("", None),
])
def test_an_address_names_its_district(address, district):
    assert reference.district_from_address(address) == district


def test_every_locality_names_a_known_district():
    assert set(reference.localities()["district"]) <= set(reference.districts()["code"])
