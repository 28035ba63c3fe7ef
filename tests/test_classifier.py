"""Classifier: normalisation, language, the contract, training, versions, strict labelled files."""
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipeline import classify, reference, settings, textnorm, train

# A few hand-written lines per category are enough to check the machinery, not the quality.
SEED = {
    "roads": ["яма на дороге у дома", "асфальт разбит колдобины", "жолда үлкен шұңқыр"],
    "traffic": ["не работает светофор", "нужен пешеходный переход у школы", "бағдаршам істемейді"],
    "street_lighting": ["во дворе не горят фонари", "темно нет освещения на улице", "көше шамы жанбайды"],
    "electricity": ["нет света в доме отключили электричество", "оборвался провод", "үйде жарық жоқ"],
    "heating": ["батареи холодные нет отопления", "нет горячей воды отопление", "жылу жоқ батарея суық"],
    "water": ["нет холодной воды", "открытый люк канализация", "су жоқ кәріз"],
    "gas": ["пахнет газом в подъезде", "нет газа", "газ иісі шығып тұр"],
    "waste": ["мусор не вывозят контейнеры полные", "свалка мусора", "қоқыс шығарылмайды"],
    "street_cleaning": ["снег не убирают гололед", "тротуар не чистят", "қар тазаланбаған мұз"],
    "landscaping": ["сломаны качели на площадке", "аварийное дерево в парке", "балалар алаңы сынған"],
    "housing": ["не работает лифт", "течет крыша кск не отвечает", "лифт істемейді"],
    "public_transport": ["автобус не ходит по маршруту", "водитель автобуса хамит", "автобус келмейді"],
    "stray_animals": ["бездомные собаки стая", "бродячие собаки кусают", "қаңғыбас иттер көп"],
    "ecology": ["дым от сжигания мусора", "выбросы завода запах", "түтін ауа ластанған"],
    "health": ["в поликлинике очередь к врачу", "нет лекарств в аптеке", "емханада дәрігер жоқ"],
    "education": ["очередь в детский сад", "в школе не хватает учителей", "балабақшаға кезек"],
    "social": ["не назначили пособие по инвалидности", "адресная социальная помощь", "жәрдемақы берілмеді"],
    "construction": ["стройка шумит ночью", "земельный участок самозахват", "құрылыс түнде жүріп жатыр"],
    "other": ["нет мобильной связи", "очередь в цон", "ұялы байланыс жоқ"],
}


@pytest.fixture
def tiny_corpus(tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    folder.mkdir()
    rows = [(t, c) for c, texts in SEED.items() for t in texts]
    pd.DataFrame(rows, columns=["text", "category"]).to_csv(folder / "train_tiny.csv", index=False)
    monkeypatch.setenv("SC_CORPUS_DIR", str(folder))
    monkeypatch.setenv("SC_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(classify, "MIN_PER_CATEGORY", 3)
    classify._loaded.clear()
    return folder


def test_normalisation():
    assert textnorm.normalize("<p>Дoрога&nbsp;разбита!!!</p><br>") == "дорога разбита"  # Latin o inside
    assert textnorm.normalize("Звоните +7 701 123-45-67, ужааасно, дом 15") == "звоните _phone_ ужасно дом _num_"
    assert textnorm.normalize("ЁЛКА https://x.kz a@b.kz") == "елка _url_ _email_"
    assert textnorm.normalize("Қоқыс ҮЙДЕ") == "қоқыс үйде"
    # abbreviations spelled out; «пар» is steam unless a number stands beside it
    assert textnorm.normalize("5 пар., 3 эт. Нет ГВС") == "_num_ парадная _num_ этаж нет горячее водоснабжение"
    assert textnorm.normalize("Пар. 4, из люка идёт пар") == "парадная _num_ из люка идет пар"


def test_language_detection():
    assert classify.detect_language([
        "Сәлеметсіз бе, аулада жарық жоқ",
        "Здравствуйте, во дворе нет света уже неделю",
        "Сәлеметсіз бе, у нас во дворе свет не горит, балалар қорқады",
        "аулада жарык жок биз кайда барамыз",  # Kazakh typed without Kazakh letters
        "",
    ]) == ["kk", "ru", "mixed", "kk", "ru"]


def test_without_a_full_corpus_the_keyword_scorer_answers(tmp_path, monkeypatch):
    folder = tmp_path / "partial"
    folder.mkdir()
    pd.DataFrame({"text": ["лифт не работает"] * 30, "category": "housing"}).to_csv(folder / "train_x.csv", index=False)
    monkeypatch.setenv("SC_CORPUS_DIR", str(folder))
    monkeypatch.setenv("SC_MODEL_DIR", str(tmp_path / "m"))
    classify._loaded.clear()
    assert classify.ensure_model() is None
    assert classify.classify_texts(["Во дворе яма на дороге"])["category"].tolist() == ["roads"]
    with pytest.raises(train.LabelledDataError, match="too few examples"):
        train.train_and_save(cv=False)  # an explicit train must not install a model missing categories
    assert classify.current_version() is None


def test_contract_training_and_versions(tiny_corpus):
    texts = ["Во дворе яма, асфальт разбит", "Пахнет газом в подъезде", "Қоқыс шығарылмайды үш күн", ""]
    out = classify.classify_texts(texts)  # no model yet: trains one from the corpus
    assert list(out.columns) == ["category", "confidence", "language", "category2", "confidence2"]
    assert len(out) == 4 and out["confidence"].between(0, 1).all()
    assert out["category"].tolist()[:3] == ["roads", "gas", "waste"]
    first = classify.current_version()
    info = classify.model_info()
    assert info["sizes"]["corpus"] == 57 and set(info["top_words"]) == set(reference.category_codes())
    extra = pd.DataFrame({"text": ["шлагбаум во дворе сломан"] * 5, "category": "traffic"})
    second = train.train_and_save(extra, note="test", cv=False)["version"]
    assert classify.current_version() == second != first
    assert train.rollback() == first and classify.current_version() == first


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          cwd=settings.ROOT, env=env, timeout=300)


def test_cli_evaluate_last_line_and_bad_files(tiny_corpus, tmp_path, monkeypatch):
    import os
    env = {**os.environ}
    good = tmp_path / "eval.csv"
    pd.DataFrame({"text": ["яма на дороге огромная", "лифт не работает неделю"],
                  "category": ["roads", "housing"]}).to_csv(good, index=False, sep=";", encoding="cp1251")
    out = run_cli("train", "--no-cv", env=env)
    assert out.returncode == 0 and out.stdout.startswith("version="), out.stderr
    out = run_cli("evaluate", "--data", str(good), env=env)
    assert out.returncode == 0, out.stderr
    *_, shares_line, last = out.stdout.strip().splitlines()
    assert last.startswith("macro_f1=") and " accuracy=" in last and len(last) == len("macro_f1=0.000 accuracy=0.000")
    assert shares_line.startswith("share_error_max=") and " adjusted_share_error_max=" in shares_line
    bad = tmp_path / "bad.csv"
    bad.write_text("text,category\nяма,roads\n,water\nлифт,lifts\nсвет,lighting\n", encoding="utf-8")
    out = run_cli("evaluate", "--data", str(bad), env=env)
    assert out.returncode == 2
    assert "empty text in rows 3" in out.stderr and "rows 4, 5: ['lifts', 'lighting']" in out.stderr
    assert str(bad) in out.stderr
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("message,label\nяма,roads\n", encoding="utf-8")
    out = run_cli("train", "--data", str(nocol), env=env)
    assert out.returncode == 2 and "missing column(s) text, category" in out.stderr
    labelled = tmp_path / "labelled.csv"
    out = run_cli("classify", "--data", str(good), "--out", str(labelled), env=env)
    result = pd.read_csv(labelled)
    # The input's own `category` (true labels) survives; the model's answer goes beside it.
    assert out.returncode == 0 and list(result.columns) == [*train.read_table(good).columns, "predicted_category", "confidence", "language"]
    assert result["category"].tolist() == train.read_table(good)["category"].tolist()


KILLED_DURING_CLASSIFICATION = """
import time, joblib
from sklearn.dummy import DummyClassifier
from pipeline import classify
version = classify.model_dir() / "v1"
version.mkdir(parents=True)
joblib.dump(DummyClassifier(strategy="prior").fit([[0], [1]], ["roads", "water"]), version / "model.joblib")
(classify.model_dir() / "current").write_text("v1")
classify.PARALLEL_FROM = 10          # use the worker process for a small batch
classify.classify_texts(["яма на дороге"] * 50)
print("classified", flush=True)
time.sleep(600)
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_worker_processes_exit_when_their_parent_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from pipeline import settings

    proc = subprocess.Popen([sys.executable, "-c", KILLED_DURING_CLASSIFICATION], cwd=settings.ROOT,
                            env={**os.environ, "PYTHONPATH": str(settings.ROOT),
                                 "SC_MODEL_DIR": str(tmp_path / "models")},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "classified"
        workers = _children(proc.pid)
        assert workers
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.2)
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leave them behind when the test fails
        os.kill(w, signal.SIGKILL)
    assert left == []


def test_adaptation_to_unlabelled_texts_is_recorded_and_keeps_every_category(tiny_corpus, monkeypatch):
    # The customer's own words: "парадная" is not in the corpus; its texts arrive without labels.
    monkeypatch.setattr(train, "ADAPT_MIN_TEXTS", 20)
    monkeypatch.setattr(train, "ADAPT_MIN_CONFIDENCE", 0.05)  # three texts a category make a timid model
    own = pd.Series(["в парадной не горит лампа, лифт не работает"] * 15 + ["яма на дороге у дома, асфальт разбит"] * 15)
    meta = train.train_and_save(note="test", cv=False, unlabelled=own)
    info = meta["adaptation"]
    assert info["unlabelled"] == 30 and 0 < info["pseudo_labelled"] <= 30
    assert set(info["shares_after"]) <= set(reference.category_codes())
    assert sum(info["shares_before"].values()) == pytest.approx(100, abs=0.5)
    assert meta["classes"] == sorted(reference.category_codes())  # no category lost to the pseudo-labels
    model = object()  # too few texts: the model comes back as it was, nothing fitted (a second training was a third of this test)
    same, few = train.adapt(model, [], pd.Series(dtype=str), own.head(5))
    assert same is model and few["note"].startswith("fewer than") and "pseudo_labelled" not in few


def test_loading_a_model_never_trains_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SC_MODEL_DIR", str(tmp_path / "none_yet"))  # the full corpus, no model
    classify._loaded.clear()
    assert classify.load_model() is None
    assert classify.current_version() is None and not (tmp_path / "none_yet").exists()


FIRST_USE = """
import sys
from pipeline import classify
classify.MIN_PER_CATEGORY = 3  # the tiny corpus's three texts a category
classify.ensure_model()
print(classify.current_version())
"""


def test_two_processes_on_a_first_use_train_one_model(tiny_corpus, tmp_path):
    """The app and a CLI ingest starting together: one trains, the other waits and loads its model."""
    env = {**os.environ, "PYTHONPATH": str(settings.ROOT)}  # tiny_corpus set SC_CORPUS_DIR and SC_MODEL_DIR
    procs = [subprocess.Popen([sys.executable, "-c", FIRST_USE], cwd=settings.ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-500:] for _, err in outs]
    versions = {out.strip() for out, _ in outs}
    assert len(versions) == 1 and None not in versions
    assert [m["version"] for m in train.versions()] == list(versions)  # one version in the folder, not two


def test_the_pending_step_splits_a_batch_between_two_processes_as_it_is_enriched_in_one(monkeypatch):
    """pending._enrich gives the worker process its share of a batch (set from how fast each part
    went) and joins the parts in order: the same frame as one process makes, signatures included."""
    from pipeline import pending

    assert classify.ensure_model() is not None
    monkeypatch.setattr(pending, "TWO_CORES_FROM", 4)
    texts = ["Во дворе огромная яма, машины бьют колёса", "Көшеде жарығы жоқ, фонарь жанбайды",
             "Нет горячей воды третий день", "Мусор не вывозят неделю", "Автобус 12 не пришёл",
             "Батареи холодные в квартире", "Жолда үлкен шұңқыр бар", "Собаки бегают у школы"] * 2
    rows = pd.DataFrame({"id": range(1, len(texts) + 1), "text": texts, "district": "al_farabi",
                         "received_at": pd.Timestamp("2026-03-02 10:00", tz="Asia/Almaty")})
    want = pending._enriched(rows.copy())
    pending._warm_worker()  # what the worker is given first: it enriches a text of its own
    balance = {"share": 0.75, "cold": True}  # the worker takes 12 of 16; a cold batch is not measured
    got = pending._enrich(rows.copy(), balance)
    pd.testing.assert_frame_equal(got, want)
    assert balance == {"share": 0.75}
    pd.testing.assert_frame_equal(pending._enrich(rows.copy(), balance), want)
    assert 0.2 <= balance["share"] <= 0.8 and balance["share"] != 0.75
    assert set(got.columns) >= {"search_terms", "search_b0", "category"} and got["search_terms"].str.len().gt(0).all()
