"""Problem classifier: every percentage on every screen rests on it.

Contract for callers: classify_texts(texts) -> DataFrame[category, confidence, language,
category2, confidence2], one row per text in order.

The model is word and character n-grams hashed (no vocabulary to store), a linear SGD classifier,
and sigmoid calibration so `confidence` can be trusted against SC_REVIEW_THRESHOLD. It is trained
on the hand-written corpus in data/corpus/train*.csv plus operator-confirmed labels, versioned in
SC_MODEL_DIR (pipeline/train.py). With no model yet it trains one from the corpus on first use,
provided the corpus covers every category of the taxonomy; otherwise it falls back to scoring the
seed keywords of data/taxonomy.csv, because a model that cannot predict a category would silently
hide it from every percentage.
"""
from __future__ import annotations

import functools
import json
import logging
import re
import threading
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from pipeline import reference, settings, textnorm

log = logging.getLogger(__name__)
KAZAKH_LETTERS = "әғқңөұүһі"
MIN_PER_CATEGORY = 20
_KK_WORD = re.compile(rf"\b\w*[{KAZAKH_LETTERS}]\w*\b", re.IGNORECASE)
_WORD = re.compile(r"\b[^\W\d_]+\b")
# Kazakh words without Kazakh-only letters, as typed on Russian keyboards.
_KK_PLAIN = re.compile(r"\b(?:жок|жоқ|жане|және|емес|ушин|үшін|бар|мен|біз|биз|бизде|ауыл|аулада|гой|ғой|"
                       r"сураймыз|сұраймыз|рахмет|салем|сәлем|кайда|қайда|неге|болды|жатыр|тур|тұр)\b",
                       re.IGNORECASE)
_RU_STOP = re.compile(r"\b(?:не|на|в|во|и|что|уже|нет|это|у|нас|с|по|как|мы|от|для|из|за|до|все|так|"
                      r"когда|очень|просим|прошу|дом|дома|двор|улиц\w*)\b", re.IGNORECASE)


# ---- language ------------------------------------------------------------------------------
@functools.cache
def _langid():
    import py3langid.langid as pl

    # MODEL_FILE is relative to the package (it ships the model: nothing is downloaded).
    ident = pl.LanguageIdentifier.from_modelpath(Path(pl.__file__).parent / pl.MODEL_FILE, norm_probs=True)
    ident.set_languages(["kk", "ru"])
    return ident


def detect_language(texts: Sequence[str]) -> list[str]:
    """ru, kk or mixed. Kazakh-only letters decide most texts; py3langid (restricted to kk and ru,
    offline) decides those with Kazakh words but none of those letters."""
    s = pd.Series(list(texts), dtype=object).fillna("").astype(str)
    words = s.str.count(_WORD).clip(lower=1)
    kk_letters, kk_plain = s.str.count(_KK_WORD), s.str.count(_KK_PLAIN)
    kk = (kk_letters + kk_plain) / words
    ru = s.str.count(_RU_STOP) / words
    out = np.where(kk >= 0.2, np.where(ru >= 0.12, "mixed", "kk"),
                   np.where(kk >= 0.05, np.where(ru >= 0.05, "mixed", "kk"), "ru")).astype(object)
    unsure = (kk_letters == 0) & (kk_plain > 0) & (ru < 0.12)
    for i in np.flatnonzero(unsure.to_numpy()):
        out[i] = _langid().classify(s.iloc[i])[0]
    return out.tolist()


# ---- keyword fallback ----------------------------------------------------------------------
@functools.cache
def _keyword_index() -> tuple[re.Pattern, dict[str, list[int]], list[str]]:
    """One regex over every seed keyword of every category, and which categories each belongs to."""
    tax = reference.taxonomy()
    codes = tax["code"].tolist()
    owners: dict[str, list[int]] = {}
    for j, row in enumerate(tax.itertuples()):
        for word in filter(None, row.keywords.split("|")):
            owners.setdefault(word, [])
            if j not in owners[word]:
                owners[word].append(j)
    # Stems match at a word start; two-letter ones (Kazakh «ит», dog; «су», water) only as whole
    # words. Longer keywords first so «су жоқ» wins over «су».
    alternatives = [re.escape(w) + (r"\b" if len(w) <= 2 else "") for w in sorted(owners, key=len, reverse=True)]
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")"), owners, codes


def keyword_scores(texts: Sequence[str]) -> pd.DataFrame:
    """Share of seed-keyword hits per category (one regex pass); 'other' when nothing matches."""
    pattern, owners, codes = _keyword_index()
    lowered = pd.Series(list(texts), dtype=object).fillna("").str.lower().str.replace("ё", "е")
    scores = np.zeros((len(lowered), len(codes)))
    hits = lowered.str.findall(pattern).explode().dropna()
    if len(hits):
        rows = hits.index.to_numpy()
        for word, idx in pd.Series(rows).groupby(hits.to_numpy()).groups.items():
            for j in owners[word]:
                np.add.at(scores[:, j], rows[np.asarray(idx)], 1)
    total = scores.sum(axis=1, keepdims=True)
    proba = np.where(total > 0, scores / np.maximum(total, 1), 0.0)
    proba[total[:, 0] == 0, codes.index("other")] = 1.0
    return pd.DataFrame(proba, columns=codes)


# ---- the model -----------------------------------------------------------------------------
def prefixes(texts):
    """Each word cut to its first five letters: a cheap stemmer for Russian and Kazakh endings
    (батареи/батарея/батареялар -> батар), and far faster than character n-grams."""
    return [_PREFIX.sub(r"\1", t) for t in texts]


_PREFIX = re.compile(r"\b(\w{5})\w+")


def build_pipeline():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer

    features = make_union(
        HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=2**19, alternate_sign=False, norm=None),
        make_pipeline(FunctionTransformer(prefixes),
                      HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=2**19, alternate_sign=False,
                                        norm=None)),
    )
    sgd = SGDClassifier(loss="modified_huber", alpha=5e-5, class_weight="balanced", max_iter=30, tol=None,
                        random_state=0)
    return make_pipeline(features, TfidfTransformer(sublinear_tf=True),
                         CalibratedClassifierCV(sgd, method="sigmoid", cv=3))


def model_dir() -> Path:
    return Path(settings.get("MODEL_DIR"))


def current_version() -> str | None:
    pointer = model_dir() / "current"
    return pointer.read_text().strip() if pointer.exists() else None


_lock = threading.Lock()
_loaded: dict[str, object] = {}


def load_model():
    """The current model, cached per version; trained from the corpus when there is none yet."""
    import joblib

    version = current_version()
    if version is None:
        with _lock:
            version = current_version()
            if version is None:
                from pipeline import train

                if not train.corpus_covers_taxonomy():
                    return None
                # No cross-validation here: it would slow the app's first start; `train` computes it.
                version = train.train_and_save(note="trained automatically on first use", cv=False)["version"]
    if version not in _loaded:
        _loaded.clear()
        _loaded[version] = joblib.load(model_dir() / version / "model.joblib")
    return _loaded[version]


def predict_proba(model, texts: Sequence[str]) -> pd.DataFrame:
    norm = textnorm.normalize_series(pd.Series(list(texts), dtype=object))
    chunks = [norm[i:i + 20000] for i in range(0, len(norm), 20000)] or [norm]
    proba = np.vstack([model.predict_proba(c.tolist()) for c in chunks]) if len(norm) else np.zeros((0, len(model.classes_)))
    return pd.DataFrame(proba, columns=list(model.classes_))


PARALLEL_FROM = 40000  # below this, starting worker processes costs more than it saves


def _chunk_worker(model_path: str, texts: list[str]) -> pd.DataFrame:
    import joblib

    if _loaded.get("_worker_path") != model_path:
        _loaded.clear()
        _loaded["_worker_path"], _loaded["_worker_model"] = model_path, joblib.load(model_path)
    return _classify(_loaded["_worker_model"], texts)


def classify_texts(texts: Sequence[str]) -> pd.DataFrame:
    texts = list(texts)
    model = load_model()
    if model is not None and len(texts) >= PARALLEL_FROM:
        from joblib import Parallel, delayed

        path = str(model_dir() / current_version() / "model.joblib")
        half = (len(texts) + 1) // 2
        parts = Parallel(n_jobs=2)(delayed(_chunk_worker)(path, texts[i:i + half]) for i in (0, half))
        return pd.concat(parts, ignore_index=True)
    return _classify(model, texts)


def _classify(model, texts: list[str]) -> pd.DataFrame:
    proba = keyword_scores(texts) if model is None else predict_proba(model, texts)
    values = proba.to_numpy()
    order = np.argsort(-values, axis=1) if len(values) else np.zeros((0, 2), dtype=int)
    rows = np.arange(len(values))
    cols = np.array(proba.columns, dtype=object)
    second = order[:, 1] if values.shape[1] > 1 else order[:, 0]
    return pd.DataFrame({
        "category": cols[order[:, 0]] if len(values) else [],
        "confidence": values[rows, order[:, 0]].round(3) if len(values) else [],
        "language": detect_language(texts),
        "category2": cols[second] if len(values) else [],
        "confidence2": values[rows, second].round(3) if len(values) else [],
    })


def model_info() -> dict | None:
    version = current_version()
    if version is None:
        return None
    return json.loads((model_dir() / version / "meta.json").read_text(encoding="utf-8"))
