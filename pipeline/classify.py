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

import contextlib
import functools
import json
import logging
import operator
import os
import re
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from pipeline import reference, settings, textnorm

log = logging.getLogger(__name__)
KAZAKH_LETTERS = "әғқңөұүһі"
MIN_PER_CATEGORY = 20
# Kazakh words without Kazakh-only letters, as typed on Russian keyboards.
_KK_PLAIN = frozenset("жок жоқ жане және емес ушин үшін бар мен біз биз бизде ауыл аулада гой ғой сураймыз сұраймыз "
                      "рахмет салем сәлем кайда қайда неге болды жатыр тур тұр".split())
_RU_STOP = frozenset("не на в во и что уже нет это у нас с по как мы от для из за до все так когда очень просим прошу "
                     "дом дома двор".split())
_RU_STOP_STEM = "улиц"  # улица, улице, улицы...
_KK_SET = frozenset(KAZAKH_LETTERS)
_KK_LETTER = re.compile(f"[{KAZAKH_LETTERS}]", re.IGNORECASE)
_TOKEN = re.compile(r"\w+")
_NOT_LETTER = re.compile(r"[\d_]")
LANGID_CHARS = 1000  # py3langid's cost grows with the text; its first thousand characters tell kk from ru
LANGUAGE_CHARS = 5000  # a letter keeps to its language: its first pages decide, the rest only costs


# ---- language ------------------------------------------------------------------------------
@functools.cache
def _langid():
    import py3langid.langid as pl

    # MODEL_FILE is relative to the package (it ships the model: nothing is downloaded).
    ident = pl.LanguageIdentifier.from_modelpath(Path(pl.__file__).parent / pl.MODEL_FILE, norm_probs=True)
    ident.set_languages(["kk", "ru"])
    return ident


def language_counts(text: str) -> tuple[int, int, int, int]:
    """What a text's language is decided by (`languages_of`): its words that are common Kazakh words
    without Kazakh-only letters, its words with a Kazakh-only letter, its Russian stop words and its
    words of letters only (no digit, no underscore). Each counts words (runs of \\w), so a text's
    counts are the sums of its whitespace-separated pieces' counts (pipeline.textbatch relies on it)."""
    tokens = _TOKEN.findall(text)
    # Lower-cased token by token through one join: lowering can lengthen a token (İ), never split one.
    lowered = " ".join(tokens).lower().split(" ") if tokens else []
    kk_plain = sum(map(_KK_PLAIN.__contains__, lowered))
    kk_letters = sum(1 for t in lowered if not _KK_SET.isdisjoint(t)) if _KK_LETTER.search(text) else 0
    ru = sum(map(_RU_STOP.__contains__, lowered)) + sum(1 for t in lowered if t.startswith(_RU_STOP_STEM))
    letters = sum(1 for t in tokens if not _NOT_LETTER.search(t)) if _NOT_LETTER.search(text) else len(tokens)
    return kk_plain, kk_letters, ru, letters


def languages_of(counts: np.ndarray, texts: Sequence[str]) -> list[str]:
    """ru, kk or mixed for each row of `counts` (language_counts of texts[i]): shares of Kazakh and of
    Russian words decide, py3langid the texts with Kazakh words but no Kazakh-only letter and few
    Russian stop words."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 4)
    kk_plain, kk_letters, ru_words, letters = counts.T
    words = np.maximum(letters, 1)
    kk = (kk_letters + kk_plain) / words
    ru = ru_words / words
    out = np.where(kk >= 0.2, np.where(ru >= 0.12, "mixed", "kk"),
                   np.where(kk >= 0.05, np.where(ru >= 0.05, "mixed", "kk"), "ru")).astype(object)
    none = (kk_plain == 0) & (kk_letters == 0)
    out[none] = "ru"
    for i in np.flatnonzero(~none & (kk_letters == 0) & (ru < 0.12)):  # Kazakh words, no Kazakh letter
        out[i] = _langid().classify(texts[i][:LANGID_CHARS])[0]
    return out.tolist()


def _language(text: str) -> str:
    """One text's language: the reference for detect_language's batches (pipeline.textbatch)."""
    text = text[:LANGUAGE_CHARS]
    return languages_of(np.array([language_counts(text)]), [text])[0]


def as_text(value) -> str:
    """What detect_language reads of a value that may be missing or not a string."""
    return value if isinstance(value, str) else "" if pd.isna(value) else str(value)


def detect_language(texts: Sequence[str]) -> list[str]:
    """ru, kk or mixed. Kazakh-only letters decide most texts; py3langid (restricted to kk and ru,
    offline) decides those with Kazakh words but none of those letters."""
    from pipeline import textbatch

    return textbatch.Batch(texts).languages()


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
FEATURE_CHARS = 2000  # a long letter states its problem early; hashing all of it costs more than it tells
RAW_CHARS = 2 * FEATURE_CHARS  # markup and links shrink in normalisation: keep some spare
N_FEATURES = 2**20
PREFIX = 5  # батареи/батарея/батареялар -> батар: a cheap stemmer for Russian and Kazakh endings
_cut = operator.itemgetter(slice(0, PREFIX))
_space_join = " ".join
_tilde_join = "~".join


def analyze(text: str) -> list[str]:
    """Word uni- and bigrams plus five-letter-prefix uni- and bigrams of a normalised text, the
    prefix ones marked with ~ so a short word and its own prefix stay two features. Normalised text
    is words and single spaces, so split() tokenises; one-letter words carry nothing."""
    if len(text) > FEATURE_CHARS:
        text = text[:FEATURE_CHARS].rsplit(" ", 1)[0]
    words = text.split()
    if min(map(len, words), default=2) < 2:
        words = [w for w in words if len(w) > 1]
    stems = list(map(_cut, words))
    return (words + list(map(_space_join, zip(words, words[1:])))
            + ["~" + w for w in stems] + list(map(_tilde_join, zip(stems, stems[1:]))))


@functools.cache
def _stemmer():
    import Stemmer  # PyStemmer: the Snowball algorithms in C

    return Stemmer.Stemmer("russian", 100_000)


def analyze_stems(text: str) -> list[str]:
    """Words, their Snowball Russian stems (marked ^) and stem bigrams, and five-letter prefixes
    (marked ~, the cheap stemmer that also catches Kazakh endings). Stems let a form the corpus
    never used count as the forms it did: «парадной», «парадную», «парадные» all give ^парадн.
    Measured on 30,806 real St Petersburg appeals with the same corpus: macro-F1 0.572 -> 0.586,
    accuracy 0.710 -> 0.729 against `analyze`; the held-out corpus files did not move."""
    if len(text) > FEATURE_CHARS:
        text = text[:FEATURE_CHARS].rsplit(" ", 1)[0]
    words = text.split()
    if min(map(len, words), default=2) < 2:
        words = [w for w in words if len(w) > 1]
    stems = ["^" + w for w in _stemmer().stemWords(words)]
    return words + stems + list(map("^".join, zip(stems, stems[1:]))) + ["~" + w for w in map(_cut, words)]


def prefixes(texts):
    """Kept because model versions saved before `analyze` replaced it still name it."""
    return [_PREFIX.sub(r"\1", t) for t in texts]


_PREFIX = re.compile(r"\b(\w{5})\w+")


def build_pipeline(calibrated: bool = True):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.pipeline import make_pipeline

    from pipeline.sgd import EpochBudgetSGD

    # `analyze` stays for the versions saved with it; new ones use `analyze_stems`.
    features = HashingVectorizer(analyzer=analyze_stems, n_features=N_FEATURES, alternate_sign=False, norm=None)
    # 20 passes over the corpus, not 30: on 11,966 corpus texts 30, 20 and 15 passes scored alike on the
    # real appeals (0.762 / 0.765 / 0.763 macro-F1) and on eval_a and eval_b, while the short formal
    # Kazakh complaints of eval_d need 20 (0.944 / 0.945 / 0.942); a third less time (the app's first start trains this model). n_jobs=2: the one-vs-rest fits run in threads (the SGD loop releases the GIL), one per core.
    sgd = EpochBudgetSGD(loss="modified_huber", alpha=5e-5, class_weight="balanced", max_iter=20, tol=None,
                         random_state=0, n_jobs=2)
    head = CalibratedClassifierCV(sgd, method="sigmoid", cv=3) if calibrated else sgd
    return make_pipeline(features, TfidfTransformer(sublinear_tf=True), head)


def word_columns(model, words: list[str]) -> np.ndarray:
    """The feature column of each single word in a model from build_pipeline (hashing keeps no
    vocabulary to look words up in)."""
    from sklearn.feature_extraction import FeatureHasher

    features = model.steps[0][1]
    if hasattr(features, "transformer_list"):  # versions saved before `analyze`: words, then prefixes
        return features.transformer_list[0][1].transform(words).tocoo().col
    hasher = FeatureHasher(features.n_features, input_type="string", alternate_sign=False)
    return hasher.transform([[w] for w in words]).tocoo().col


def model_dir() -> Path:
    return Path(settings.get("MODEL_DIR"))


def current_version() -> str | None:
    pointer = model_dir() / "current"
    return pointer.read_text().strip() if pointer.exists() else None


_lock = threading.Lock()
_loaded: dict[str, object] = {}


def load_model():
    """The current model, cached per version; None when there is none yet. Never trains one:
    `ensure_model` does, where a first use may."""
    import joblib

    version = current_version()
    if version is None:
        return None
    if version not in _loaded:
        _loaded.clear()
        _loaded[version] = joblib.load(model_dir() / version / "model.joblib")
    return _loaded[version]


def ensure_model():
    """The current model, trained from the corpus first when there is none yet (the app's first
    start, the first ingest); None when the corpus does not cover every category.

    One first-use training per model folder, also across processes: the app and a CLI ingest
    started together (or several app processes) would otherwise each train a model, minutes of
    both cores, and the last to finish would replace the others'. The second waits on a lock file
    in the folder and then loads the first one's model."""
    if current_version() is None:
        with _lock, _folder_lock():
            if current_version() is None:
                from pipeline import train

                if not train.corpus_covers_taxonomy():
                    return None
                # No cross-validation: on the 8,670-text corpus it would double the app's first start;
                # `train` and the model page's retrain compute it.
                train.train_and_save(note="first_use", cv=False)
    return load_model()


@contextlib.contextmanager
def _folder_lock():
    """An exclusive lock on the model folder's `.first_use.lock` for this process (flock: released by
    the kernel when the process dies, so a killed trainer never blocks the next one). Without fcntl
    (Windows) or a writable folder, only the thread lock holds."""
    try:
        import fcntl

        model_dir().mkdir(parents=True, exist_ok=True)
        handle = open(model_dir() / ".first_use.lock", "a")
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing the file releases the lock


CHUNK = 20000  # texts whose features are held at once


def predict_proba(model, texts: Sequence[str], batch=None) -> pd.DataFrame:
    """Class probabilities of each text. `batch` (pipeline.textbatch.Batch of the same texts) is
    the split other consumers share; a model of build_pipeline gets its features from it."""
    from pipeline import textbatch

    if not len(texts):
        return pd.DataFrame(np.zeros((0, len(model.classes_))), columns=list(model.classes_))
    hashing = model.steps[0][1] if hasattr(model, "steps") else None
    if textbatch.reproduces(hashing):
        batch = batch if batch is not None else textbatch.Batch(texts)
        rows = textbatch.FEATURE_ROWS
        proba = np.vstack([_proba_of_features(model, batch.features(hashing, a, min(a + rows, len(texts))))
                           for a in range(0, len(texts), rows)])
        return pd.DataFrame(proba, columns=list(model.classes_))
    # Only the start of a text is hashed (FEATURE_CHARS): normalising a whole 50-page letter is wasted.
    texts = [t[:RAW_CHARS] if isinstance(t, str) else t for t in texts]
    norm = textnorm.normalize_series(pd.Series(texts, dtype=object))
    chunks = [norm[i:i + CHUNK] for i in range(0, len(norm), CHUNK)]
    proba = np.vstack([model.predict_proba(c.tolist()) for c in chunks])
    return pd.DataFrame(proba, columns=list(model.classes_))


def _proba_of_features(model, X) -> np.ndarray:
    """model.predict_proba from the hashed features X. A sigmoid-calibrated head whose classifiers
    keep sparse weights (build_pipeline's) gets all their decision values from one product of X's
    rows with their weights side by side, dense, on the columns any of them uses; then each
    calibrated classifier and the mean as scikit-learn computes them. Each decision value is the
    same sum of the same products in the same order (a zero weight adds an exact 0.0), so the
    numbers are the same, in about a fifth of the time (one pass over X; no sparse weight rows to
    chase). tests/test_textbatch.py compares them with model.predict_proba."""
    import scipy.sparse as sp

    *transforms, (_, head) = model.steps[1:]
    for _, step in transforms:
        X = step.transform(X)
    stacked = _stacked_weights(head)
    if stacked is None:
        return head.predict_proba(X)
    support_of, weights, widths = stacked
    column = support_of[X.indices]
    kept = column >= 0  # columns no classifier weighs add nothing
    indptr = np.concatenate([[0], np.cumsum(kept)])[X.indptr]
    compact = sp.csr_matrix((X.data[kept], column[kept], indptr), shape=(X.shape[0], weights.shape[0]))
    scores = compact @ weights
    mean = np.zeros((X.shape[0], head.classes_.shape[0]))
    for calibrated, a, b in zip(head.calibrated_classifiers_, widths, widths[1:]):
        mean += _with_scores(calibrated, scores[:, a:b] + calibrated.estimator.intercept_).predict_proba(X)
    mean /= len(head.calibrated_classifiers_)
    return mean


def _with_scores(calibrated, scores: np.ndarray):
    """A copy of a calibrated classifier whose estimator answers decision_function with `scores`."""
    import copy

    estimator = copy.copy(calibrated.estimator)

    def decision_function(X):
        return scores.reshape(-1) if scores.shape[1] == 1 else scores

    estimator.decision_function = decision_function
    twin = copy.copy(calibrated)
    twin.estimator = estimator
    return twin


_stacked: dict[int, tuple] = {}


def _stacked_weights(head):
    """(feature -> row or -1, the weights' transposes on those rows side by side, column bounds), or
    None for a head this does not apply to. Cached for the last head (the loaded model's); about
    50 MB for a model trained on the corpus (~120,000 columns in use, 3 x 19 classes)."""
    key = id(head)
    if key in _stacked and _stacked[key][0] is head:
        return _stacked[key][1]
    import scipy.sparse as sp
    from sklearn.calibration import CalibratedClassifierCV

    made = None
    if type(head) is CalibratedClassifierCV and head.method == "sigmoid":
        coefs = [c.estimator.coef_ for c in head.calibrated_classifiers_]
        if all(sp.issparse(c) and c.format == "csr" and c.dtype == np.float64 for c in coefs):
            support = np.unique(np.concatenate([c.indices for c in coefs]))
            support_of = np.full(coefs[0].shape[1], -1, dtype=np.int64)
            support_of[support] = np.arange(len(support))
            weights = sp.hstack([c.T.tocsr()[support] for c in coefs], format="csr").toarray()
            widths = np.concatenate([[0], np.cumsum([c.shape[0] for c in coefs])]).tolist()
            made = (support_of, weights, widths)
    _stacked.clear()
    _stacked[key] = (head, made)
    return made


PARALLEL_FROM = 40000  # below this, starting worker processes costs more than it saves


_watchdog: list[threading.Thread] = []


def exit_with_parent(parent: int) -> None:
    """Worker initializer: leave as soon as the process that started us is gone.

    A kill -9 of the parent runs no clean-up, and loky's idle worker (with its two resource
    trackers, which wait for it) would otherwise live on for many minutes."""
    if _watchdog:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    _watchdog.append(threading.Thread(target=watch, name="exit-with-parent", daemon=True))
    _watchdog[0].start()


def _executor():
    from joblib.externals.loky import get_reusable_executor

    return get_reusable_executor(max_workers=1, initializer=exit_with_parent, initargs=(os.getpid(),))


def _chunk_worker(model_path: str, texts: list[str]) -> pd.DataFrame:
    import joblib

    if _loaded.get("_worker_path") != model_path:
        _loaded.clear()
        _loaded["_worker_path"], _loaded["_worker_model"] = model_path, joblib.load(model_path)
    return _classify(_loaded["_worker_model"], texts)


def classify_texts(texts: Sequence[str], batch=None) -> pd.DataFrame:
    """`batch`: pipeline.textbatch.Batch of the same texts, when the caller reads them too."""
    texts = list(texts)
    model = ensure_model()  # the first classification trains the first model
    if model is None or len(texts) < PARALLEL_FROM:
        return _classify(model, texts, batch)
    return _classify_on_two_cores(model, texts)


def _classify_on_two_cores(model, texts: list[str]) -> pd.DataFrame:
    """The second half goes to a worker process while this one, whose model is already loaded,
    classifies the first: one worker to start instead of two, and no core left idle."""
    path = str(model_dir() / current_version() / "model.joblib")
    half = (len(texts) + 1) // 2
    second = _executor().submit(_chunk_worker, path, texts[half:])
    first = _classify(model, texts[:half])
    return pd.concat([first, second.result()], ignore_index=True)


def _classify(model, texts: list[str], batch=None) -> pd.DataFrame:
    from pipeline import textbatch

    batch = batch if batch is not None else textbatch.Batch(texts)
    proba = keyword_scores(texts) if model is None else predict_proba(model, texts, batch)
    values = proba.to_numpy()
    order = np.argsort(-values, axis=1) if len(values) else np.zeros((0, 2), dtype=int)
    rows = np.arange(len(values))
    cols = np.array(proba.columns, dtype=object)
    second = order[:, 1] if values.shape[1] > 1 else order[:, 0]
    return pd.DataFrame({
        "category": cols[order[:, 0]] if len(values) else [],
        "confidence": values[rows, order[:, 0]].round(3) if len(values) else [],
        "language": batch.languages(),
        "category2": cols[second] if len(values) else [],
        "confidence2": values[rows, second].round(3) if len(values) else [],
    })


def model_info(version: str | None = None) -> dict | None:
    """meta.json of a version (the current one by default)."""
    version = version or current_version()
    if version is None:
        return None
    return json.loads((model_dir() / version / "meta.json").read_text(encoding="utf-8"))
