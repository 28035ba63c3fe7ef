"""pipeline.textbatch and the classifier's fast head give exactly what the per-text definitions give:
features (textnorm.normalize_text + classify.analyze_stems, hashed), language (classify._language),
search terms (search.doc_terms) and probabilities (model.predict_proba)."""
import random

import numpy as np
import pandas as pd
import pytest

from pipeline import classify, search, textbatch, textnorm, train

# What the piece-by-piece reading must leave to the per-text functions, or get right by itself.
EDGES = [
    "", "   ", "\t\n", "—", "5", "кв. 5, эт 3, пар 4", "пар. 3 и пар", "3 пар., 5 эт. Нет ГВС", "Пар. 4, из люка идёт пар",
    "звоните 8 701 123 45 67", "+7 (701) 123-45-67 жду", "8(7172)55-66-77", "дом 18, кв 8", "&lt;b&gt;жарық&nbsp;жоқ",
    "<p>Дoрога&nbsp;разбита!!!</p>", "<b>свет</b>нет", "http://x.kz/a?b=1 жок", "см. www.gov.kz", "HTTP://X.KZ",
    "a@b.kz пишу", "ΟΔΟΣ.Α ΣΑΣ", "İstanbul әкім", "İİİ", "дoрога бiз көшесi", "Жок ЖАНЕ биз", "ужааасно ааа __ _num_ 5__",
    "улица улицы на улице", "ёлка Ёж", "\xa0нет\u2003света\u3000\x1cсовсем\x1f", "Қоқыс ҮЙДЕ", "жок", "бар мен",
    "х" * 4100, "слово " * 700, "гвс хвс мкд лк тп " * 10, "5" * 1000 + " дом", "1 " * 999, None, float("nan"), 42,
]
_ALPHABET = (list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі") + list("АБВЁҚӘІ") + list("aceopxyikmthbAEKXZ")
             + list("0123456789") + list(".,!?-_:;()«»\"'/&<>@+#") + [" ", " ", " ", "\n", "\xa0", "\u2009"])
_WORDS = ("нет света воды яма дом кв эт пар гвс жарық жоқ су мен биз жане улица http www 8 +7 701 123 45 67 "
          "ΣΑΣ İ ё Ё ааа").split()


def _fuzz(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 30)):
            if rng.random() < 0.5:
                parts.append(rng.choice(_WORDS))
            else:
                parts.append("".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 8))))
        out.append(rng.choice(["", " ", "\n", ", "]).join(parts) if rng.random() < 0.2 else " ".join(parts))
    return out


@pytest.fixture(scope="module")
def texts():
    corpus = train.corpus()["text"].tolist()
    rng = random.Random(3)
    joined = [" ".join(rng.sample(corpus, 4)) for _ in range(300)]
    return EDGES + rng.sample(corpus, 700) + joined + _fuzz(1500)


def _reference_features(texts):
    hashing = classify.build_pipeline().steps[0][1]
    raw = [t[:classify.RAW_CHARS] if isinstance(t, str) else t for t in texts]
    return hashing, hashing.transform(textnorm.normalize_series(pd.Series(raw, dtype=object)).tolist()).tocsr()


def test_features_language_and_search_terms_are_the_per_text_ones(texts, monkeypatch):
    monkeypatch.setattr(textbatch, "_vocabulary", [])  # a fresh vocabulary first
    hashing, want = _reference_features(texts)
    assert textbatch.reproduces(hashing)
    # then a warm one, then Python's split (taken where Arrow cannot hold a text: a lone surrogate)
    for arrow in (True, True, False):
        if not arrow:
            monkeypatch.setattr(textbatch._Vocabulary, "piece_ids_arrow", lambda self, texts: None)
        batch = textbatch.Batch(texts)
        got = batch.features(hashing)
        assert got.shape == want.shape
        assert np.array_equal(got.indptr, want.indptr)
        assert np.array_equal(got.indices, want.indices)
        assert np.array_equal(got.data, want.data)
        assert got.indices.dtype == want.indices.dtype and got.data.dtype == want.data.dtype
        assert batch.languages() == [classify._language(classify.as_text(t)) for t in texts]
        assert batch.search_terms() == [search.doc_terms(t) for t in texts]
    # rows cut into blocks, as predict_proba asks for them
    assert (batch.features(hashing, 100, 400) != want[100:400]).nnz == 0


def test_a_vocabulary_that_starts_over_gives_the_same(texts, monkeypatch):
    hashing, want = _reference_features(texts)
    monkeypatch.setattr(textbatch, "PIECES_LIMIT", 50)
    for a in range(0, len(texts), 500):  # each batch past the limit starts a new vocabulary
        assert (textbatch.Batch(texts[a:a + 500]).features(hashing) != want[a:a + 500]).nnz == 0


def test_the_fast_head_gives_the_pipelines_probabilities(texts):
    model = classify.ensure_model()  # the session's model (trained from the corpus by the first test needing it)
    want = model.predict_proba(textnorm.normalize_series(pd.Series(
        [t[:classify.RAW_CHARS] if isinstance(t, str) else t for t in texts], dtype=object)).tolist())
    got = classify.predict_proba(model, texts)
    assert list(got.columns) == list(model.classes_)
    assert np.array_equal(got.to_numpy(), want)  # bit for bit, not approximately
    assert classify.predict_proba(model, []).shape == (0, len(model.classes_))


def test_search_terms_when_the_stem_cache_starts_over_mid_text(monkeypatch):
    """search._fill empties its cache at _CACHE_LIMIT words: the words of a text cached before must
    be stemmed again, not missing (doc_key raised KeyError there)."""
    monkeypatch.setattr(search, "_CACHE_LIMIT", 300)
    rng = random.Random(2)
    letters = "абвгдежзиклмнопрстуфхцчшэюяқәүұі"
    texts = [" ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(40))
             for _ in range(200)]
    monkeypatch.setattr(textbatch, "_vocabulary", [])
    assert textbatch.Batch(texts).search_terms() == [search.doc_terms(t) for t in texts]
