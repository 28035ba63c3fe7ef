"""AppTests for the review queue and the model page."""
import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import signed_in

from pipeline import events, settings, store, train

from .test_classifier import tiny_corpus  # noqa: F401  (fixture)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "r.duckdb"
    con = store.connect(path)
    store.set_meta(con, "dataset", "real")
    con.executemany("INSERT INTO submissions (source, source_id, received_at, text, category, category_confidence, "
                    "category_source) VALUES ('web', ?, now(), ?, ?, ?, 'model')",
                    [["1", "Яма и темно во дворе", "roads", 0.31], ["2", "Лифт стоит", "housing", 0.38],
                     ["3", "Пахнет газом", "gas", 0.97]])
    events.record_created(con)
    con.close()
    monkeypatch.setenv("SC_DB", str(path))
    return path


def page(name):
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=120)).run()
    at.switch_page(f"pages/{name}.py").run()
    assert not at.exception, at.exception
    return at


def test_review_confirm_and_correct_become_operator_labels(db, tiny_corpus):  # noqa: F811
    at = page("review")
    assert "Ждут проверки: 2" in at.caption[0].value
    at.button(key="rv_ok_2").click().run()              # newest first: «Лифт стоит», confirmed as housing
    assert "Сохранено меток: 1" in at.success[0].value
    at.selectbox(key="rv_new_1").set_value("street_lighting")
    at.button[1].click().run()                          # the correction form's submit
    assert not at.exception
    assert at.info[0].value.startswith("Очередь пуста")
    at.app_store = None
    from ui import core
    con = core._app_store(str(db)).cursor()
    labels = dict(train.operator_labels(con).values.tolist()[::-1])
    assert labels == {"Лифт стоит": "housing", "Яма и темно во дворе": "street_lighting"}
    assert events.inconsistencies(con).empty


def test_model_page_shows_the_model_and_retrains(db, tiny_corpus):  # noqa: F811
    at = page("model")
    assert at.metric[0].value  # a model was trained on first use from the corpus
    versions_before = len(train.versions())
    at.button[0].click().run()                          # retrain
    assert not at.exception
    assert len(train.versions()) == versions_before + 1
    # Three examples per category are too few to cross-validate: the page says so instead.
    assert any("Слова, определяющие категорию" in s.value for s in at.subheader)
    assert any("Кросс-валидация не проводилась" in c.value for c in at.caption)
    # Quality on the customer's own confirmed labels, next to the corpus figure (none decided yet).
    assert [m.label for m in at.metric][3] == "Точность на ваших обращениях"
    assert any(c.value.startswith("Решений операторов пока нет") for c in at.caption)


@pytest.fixture
def corpus_of_five(tiny_corpus):  # noqa: F811
    """The tiny corpus with every text in five wordings: enough to cross-validate (4+ per category)."""
    import pandas as pd

    path = tiny_corpus / "train_tiny.csv"
    rows = pd.read_csv(path)
    pd.concat([rows.assign(text=rows["text"] + suffix) for suffix in ("", " срочно", " пожалуйста", " опять", " снова")],
              ignore_index=True).to_csv(path, index=False)
    return tiny_corpus


def test_a_first_use_model_is_cross_validated_once_after_the_start(corpus_of_five):
    from pipeline import classify

    meta = train.train_and_save(note="first_use", cv=False)  # what the app's first start does
    assert train.needs_cross_validation(meta)
    thread = train.cross_validate_later()
    thread.join()
    meta = classify.model_info()
    assert meta["cross_validation"]["macro_f1"] is not None and meta["cross_validation"]["confusion"]
    assert not train.needs_cross_validation(meta) and train.cross_validate_later() is None
    assert train.note_code("trained automatically on first use") == "first_use"  # versions saved before codes


def test_model_page_on_a_first_use_model_shows_its_quality_and_confusion_in_russian(db, corpus_of_five):
    train.train_and_save(note="first_use", cv=False)
    train._cv_threads.clear()
    at = page("model")
    assert at.metric[2].value not in ("", "—")  # was "—": the first-use model skipped cross-validation
    assert not any("Кросс-валидация не проводилась" in c.value for c in at.caption)
    assert any(s.value.startswith("Матрица ошибок") for s in at.subheader)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    numbers = chart["data"][0]["x"]
    assert numbers[0] == "1" and chart["data"][0]["y"] == numbers   # the axes carry numbers, the key names
    key = next(c.value for c in at.caption if c.value.startswith("1 — "))
    assert "Дороги и тротуары" in key and "roads" not in key
    assert "Дороги и тротуары" in str(chart["data"][0]["customdata"])   # and hovering a cell
    assert at.metric[0].value == "№\u202f1" and "Макро-F1" in at.metric[2].label
    assert chart["layout"]["xaxis"]["title"]["text"] == "Категория по модели"
    versions = at.table[-1].value
    assert "Обучена автоматически при первом запуске" in versions.iloc[:, -1].tolist()
    # one way of writing each figure: three digits with a decimal comma, as in the heading
    f1 = at.metric[2].value
    assert re.fullmatch(r"[01],\d{3}", f1) and versions.iloc[0, 2] == f1, (f1, versions)
    per_class = next(t.value for t in at.table if "Полнота (доля найденных)" in t.value.columns)
    assert per_class.iloc[:, 1:4].map(lambda v: bool(re.fullmatch(r"[01],\d{3}", v))).all().all()
    assert not any("ниже порога —" in c.value for c in at.caption)  # no operator decisions yet: said in words
