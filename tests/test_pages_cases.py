"""AppTests for call intake and the deadlines page, on a small database of their own."""
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import signed_in

from pipeline import events, settings, store, workflow


def app(db, page, role="operator"):
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=90), role)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "c.duckdb"
    con = store.connect(path)
    store.set_meta(con, "dataset", "real")
    con.close()
    monkeypatch.setenv("SC_DB", str(path))
    return path


def test_deadlines_page_walks_a_case_and_records_events(db):
    con = store.connect(db)
    now = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=40)
    case_id, number = workflow.register_call(con, "Яма во дворе", "op", district="abai", category="roads",
                                             at=now.to_pydatetime())
    con.close()
    at = app(db, "deadlines")
    at.text_input(key="dl_case_typed").set_value(number).run()
    assert number in at.subheader[0].value
    # Not the defaults: feedback, then straight to resolved, reopened with a comment, resolved again.
    for target, comment in (("feedback_given", ""), ("resolved", ""), ("reopened", "still a hole"),
                            ("resolved", "")):
        at.selectbox(key=f"to_{case_id}").set_value(target)       # form widgets are sent with the submit
        at.text_input(key=f"comment_{case_id}").set_value(comment)
        at.button[0].click().run()  # the status form's submit button comes first
        assert not at.exception and not at.error
    assert at.metric[0].value == "Решено"
    history = at.table[-1].value
    assert history.iloc[:, 2].tolist().count("Статус") == 4
    assert "still a hole" in history.iloc[:, 5].tolist()


def test_refused_transition_shows_why(db):
    con = store.connect(db)
    case_id, number = workflow.register_call(con, "Яма во дворе", "op", district="abai", category="roads")
    con.close()
    at = app(db, "deadlines")
    at.text_input(key="dl_case_typed").set_value(number).run()
    at.selectbox(key=f"to_{case_id}").set_value("rejected")
    at.button[0].click().run()
    assert at.error[0].value == f"Обращение {number}: для перехода из «Новое» в «Отклонено» нужен комментарий."


def test_a_number_not_found_is_said_with_what_was_typed_as_plain_words(db):
    at = app(db, "deadlines")
    at.text_input(key="dl_case_typed").set_value("*109-2026-000099*").run()
    assert [w.value for w in at.warning] == ["Обращение 109-2026-000099 не найдено."]


def test_case_history_reads_in_words_and_local_time(db):
    con = store.connect(db)
    case_id, _ = workflow.register_call(con, "Нет воды в доме 5", "aliya", district="turan")
    workflow.transition(con, case_id, "feedback_given", "aliya")
    con.close()
    at = app(db, "deadlines")
    at.text_input(key="dl_case_typed").set_value(str(case_id)).run()
    assert not at.exception
    history = at.table[-1].value
    text = " ".join(history.astype(str).values.ravel())
    assert "Зарегистрировано" in text and "Обратная связь дана" in text and "Новое" in text
    for raw in ("created", "feedback_given", "feedback_at", "+00:00", "T0", "T1"):
        assert raw not in text, raw
    assert set(history["Кто"]) == {"aliya"}


def test_deadlines_list_is_paged_in_sql(db):
    con = store.connect(db)
    con.execute("""
        INSERT INTO submissions (source, source_id, received_at, text, district, region, category, status,
                                 feedback_due_at, due_at)
        SELECT 'hotline_109', 'p' || i, now() - INTERVAL 40 DAY, 'Яма ' || i, 'abai', 'aktobe', 'roads', 'new',
               now() - INTERVAL 39 DAY, now() - INTERVAL 20 DAY + to_seconds(i) FROM range(620) t(i)""")
    con.close()
    at = app(db, "deadlines")
    assert len(at.dataframe[0].value) == 500
    at.number_input(key="dl_page_overdue").set_value(2).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 120
    assert "501–620 из 620" in " ".join(c.value for c in at.caption)
