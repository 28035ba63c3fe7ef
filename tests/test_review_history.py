"""Review items by registration number; a case's history in words, local time and display names."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from pipeline import auth, events, settings, store, workflow
from tests.conftest import signed_in

from .test_classifier import tiny_corpus  # noqa: F401  (fixture)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "h.duckdb"
    con = store.connect(path)
    store.set_meta(con, "dataset", "real")
    con.close()
    monkeypatch.setenv("SC_DB", str(path))
    return path


def page(name, role="operator"):
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=120), role).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def test_history_names_people_by_display_name_in_local_time_and_words(db):
    users = auth.connect()
    auth.add_user(users, "aliya", "operator", "test-password-1", display_name="Алия Нурланова")
    users.close()
    con = store.connect(db)
    case_id, number = workflow.register_call(con, "Нет воды в доме 5", "aliya", district="turan")
    workflow.transition(con, case_id, "feedback_given", "aliya")
    con.execute("INSERT INTO events (submission_id, happened_at, actor, field, old, new) "
                "VALUES (?, now(), 'demo', 'status', 'feedback_given', 'in_progress')", [case_id])
    con.close()
    at = page("deadlines")
    at.text_input(key="dl_case_typed").set_value(number).run()
    history = at.table[-1].value
    assert history["Кто"].tolist() == ["Алия Нурланова", "Алия Нурланова", "Алия Нурланова", "демо-данные"]
    assert all(re.fullmatch(r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", w) for w in history["Когда"])
    text = " ".join(history.astype(str).values.ravel())
    for raw in ("created", "feedback_given", "in_progress", "→", "+00:00", "UTC", "aliya"):
        assert raw not in text, raw
    assert "Обратная связь дана" in text and "В работе" in text


def test_review_items_are_named_by_registration_number(db, tiny_corpus):  # noqa: F811
    con = store.connect(db)
    con.executemany("INSERT INTO submissions (source, source_id, received_at, text, category, category_confidence, "
                    "category_source) VALUES ('web', ?, now(), ?, ?, ?, 'model')",
                    [["1", "Яма и темно во дворе", "roads", 0.31], ["2", "Лифт стоит", "housing", 0.38]])
    events.record_created(con)
    ids = [r[0] for r in con.execute("SELECT id FROM submissions ORDER BY id").fetchall()]
    con.close()
    at = page("review")
    assert re.fullmatch(r"109-\d{4}-\d{6}", at.subheader[0].value)
    at.get("button_group")[0].set_value("bulk").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "id" not in table.columns
    assert sorted(int(n.split("-")[-1]) for n in table["№"]) == ids
    assert all(re.fullmatch(r"109-\d{4}-\d{6}", n) for n in table["№"])
