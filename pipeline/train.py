"""Training, evaluation and versions of the problem classifier.

A model version is a folder <SC_MODEL_DIR>/<version>/ with model.joblib and meta.json (when, on
how much data from where, cross-validated macro-F1, per-class quality, the words that drive each
category); the file `current` names the one in use, and meta.json names the one before it, which
`rollback` restores.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import classify, readers, reference, settings, store, textnorm


class LabelledDataError(ValueError):
    """A labelled file is unusable; the message names the file, rows and values."""

    def __init__(self, message: str, code: str | None = None, **params):
        super().__init__(message)
        self.code = code  # pages show model.error.<code> formatted with params; str() is for the CLI
        self.params = params


# ---- data ----------------------------------------------------------------------------------
def read_table(path: Path) -> pd.DataFrame:
    data = Path(path).read_bytes()
    if not data.strip():
        raise readers.UnreadableFile(f"{path}: the file is empty")
    if data[:4] == b"PK\x03\x04":  # the same words as the ingest and the posters for the same mistakes
        raise readers.UnreadableFile(f"{path}: an Excel workbook (or another ZIP), not a CSV; save it as CSV UTF-8")
    if readers.binary(data):
        raise readers.UnreadableFile(f"{path}: binary data, not a text table (many NUL or control bytes at the start)")
    text, _ = readers.decode(data, Path(path))
    return pd.read_csv(io.StringIO(text), sep=readers.sniff_delimiter(text), dtype=str, keep_default_na=False)


def _rows(mask: pd.Series, limit: int = 20) -> str:
    rows = (np.flatnonzero(mask.to_numpy()) + 2).tolist()  # file rows: the header is row 1
    return ", ".join(map(str, rows[:limit])) + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def load_labelled(path: str | Path, need_category: bool = True) -> pd.DataFrame:
    path = Path(path)
    try:
        frame = read_table(path)
    except readers.UnreadableFile as exc:
        raise LabelledDataError(str(exc)) from exc
    except OSError as exc:
        raise LabelledDataError(f"{path}: cannot read ({exc.strerror})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LabelledDataError(f"{path}: cannot read ({' '.join(str(exc).split())})") from exc
    frame.columns = [c.strip().lower().lstrip("\ufeff") for c in frame.columns]
    needed = ["text", "category"] if need_category else ["text"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise LabelledDataError(f"{path}: missing column(s) {', '.join(missing)}; found {list(frame.columns)}")
    problems = []
    empty = frame["text"].str.strip() == ""
    if empty.any():
        problems.append(f"empty text in rows {_rows(empty)}")
    if need_category:
        frame["category"] = frame["category"].str.strip()
        unknown = ~frame["category"].isin(reference.category_codes())
        if unknown.any():
            values = sorted(set(frame.loc[unknown, "category"]))[:10]
            problems.append(f"category codes not in data/taxonomy.csv in rows {_rows(unknown)}: {values}")
    if problems:
        raise LabelledDataError(f"{path}: " + "; ".join(problems))
    return frame


def corpus() -> pd.DataFrame:
    files = sorted(Path(settings.get("CORPUS_DIR")).glob("train*.csv"))
    if not files:
        return pd.DataFrame(columns=["text", "category"])
    return pd.concat([load_labelled(f)[["text", "category"]] for f in files], ignore_index=True)


def corpus_covers_taxonomy() -> bool:
    counts = corpus()["category"].value_counts()
    return all(counts.get(c, 0) >= classify.MIN_PER_CATEGORY for c in reference.category_codes())


def operator_labels(con) -> pd.DataFrame:
    return con.execute("SELECT text, category FROM submissions WHERE category_source = 'operator' "
                       "AND category IS NOT NULL").df()


# ---- training ------------------------------------------------------------------------------
def top_words(model, texts: pd.Series, per_class: int = 12) -> dict[str, list[str]]:
    """The words with the largest weights per category (hashing keeps no vocabulary: rebuild one)."""
    calibrated = model.steps[2][1]
    coefs = [c.estimator.coef_ for c in calibrated.calibrated_classifiers_]
    coef = sum(coefs) / len(coefs)  # sparse or dense alike
    vocab = pd.Series(" ".join(textnorm.normalize_series(texts)).split()).value_counts()
    vocab = [w for w in vocab[vocab >= 2].index if not w.startswith("_") and len(w) > 2][:20000]
    index = classify.word_columns(model, vocab)
    out = {}
    chosen = coef[:, index]
    chosen = chosen.toarray() if hasattr(chosen, "toarray") else chosen
    for i, cls in enumerate(model.classes_):
        weights = chosen[i]
        out[cls] = [vocab[j] for j in np.argsort(-weights)[:per_class]]
    return out


CV_MAX_TEXTS = 30_000


def _cv_sample(texts: pd.Series, labels: pd.Series) -> tuple[pd.Series, pd.Series]:
    """About CV_MAX_TEXTS, the same share of each category but all of a rare one's first 20: five
    more fits on 200,000 texts would take `train` past two minutes, and 30,000 already pin macro-F1
    down to about +-0.005."""
    if len(texts) <= CV_MAX_TEXTS:
        return texts, labels
    order = np.random.default_rng(0).permutation(len(labels))
    shuffled = labels.iloc[order].reset_index(drop=True)
    size = shuffled.map(shuffled.value_counts()).to_numpy()
    wanted = np.maximum(np.minimum(size, 20), np.round(size * CV_MAX_TEXTS / len(labels)))
    picked = np.sort(order[shuffled.groupby(shuffled).cumcount().to_numpy() < wanted])
    return texts.iloc[picked], labels.iloc[picked]


def cross_validated(texts: pd.Series, labels: pd.Series, folds: int = 5) -> dict:
    from sklearn.metrics import f1_score, precision_recall_fscore_support
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    texts, labels = _cv_sample(texts, labels)
    smallest = int(labels.value_counts().min())
    folds = min(folds, smallest)
    if smallest < 4:  # each training fold must still hold 3 per class for the calibrator's own folds
        return {"macro_f1": None, "per_class": {}, "note": "too few examples per category to cross-validate"}
    norm = textnorm.normalize_series(texts).tolist()
    # The folds fit the model without its sigmoid calibration: calibration rescales each category's
    # score and barely moves which one is largest, and it triples the cost of every fold.
    pred = cross_val_predict(classify.build_pipeline(calibrated=False), norm, labels,
                             cv=StratifiedKFold(folds, shuffle=True, random_state=0))
    from sklearn.metrics import confusion_matrix

    classes = sorted(labels.unique())
    p, r, f, s = precision_recall_fscore_support(labels, pred, labels=classes, zero_division=0)
    return {"macro_f1": round(float(f1_score(labels, pred, average="macro")), 4), "classes": classes,
            "confusion": confusion_matrix(labels, pred, labels=classes).tolist(), "texts": int(len(labels)), "folds": folds,
            "per_class": {c: {"precision": round(float(a), 3), "recall": round(float(b), 3), "f1": round(float(d), 3),
                              "support": int(e)} for c, a, b, d, e in zip(classes, p, r, f, s)}}


ADAPT_MAX_TEXTS = 30_000     # unlabelled texts one adaptation reads (the most recent model-labelled ones)
# Measured on 30,806 real appeals given without labels: 0.6 and two rounds lifted macro-F1 from 0.586
# to 0.686; a cap per category (to keep rare ones in) made it worse, pulling every share towards
# equal ones, so the pseudo-labels keep the proportions the texts have.
ADAPT_MIN_CONFIDENCE = 0.60  # a prediction at least this confident becomes a pseudo-label
ADAPT_ROUNDS = 2
ADAPT_MIN_TEXTS = 500        # below this the store's texts say too little to adapt to


def unlabelled_texts(con, limit: int = ADAPT_MAX_TEXTS) -> pd.Series:
    """The customer's own texts without an operator's label, most recent first."""
    return con.execute("SELECT text FROM submissions WHERE category_source = 'model' "
                       "ORDER BY received_at DESC LIMIT ?", [limit]).df()["text"]


def _fit(texts: list[str], labels: pd.Series):
    return classify.build_pipeline().fit(texts, labels)


def adapt(model, norm: list[str], labels: pd.Series, unlabelled: pd.Series) -> tuple[object, dict]:
    """Self-training on the customer's own texts without their labels: the model's most confident
    predictions on them join the labelled data as pseudo-labels, and the model is fitted again,
    ADAPT_ROUNDS times. The customer's words (street names, local terms, their register) get weights
    that the hand-written corpus alone cannot give them. Returns the new model and what changed."""
    texts = unlabelled.dropna().astype(str)
    texts = texts[texts.str.strip() != ""].head(ADAPT_MAX_TEXTS)
    if len(texts) < ADAPT_MIN_TEXTS:
        return model, {"unlabelled": int(len(texts)), "note": f"fewer than {ADAPT_MIN_TEXTS} texts: not adapted"}
    u_norm = textnorm.normalize_series(texts.reset_index(drop=True)).tolist()
    before = pd.Series(model.predict_proba(u_norm).argmax(axis=1)).map(dict(enumerate(model.classes_)))
    current, chosen = model, pd.DataFrame()
    for _ in range(ADAPT_ROUNDS):
        proba = current.predict_proba(u_norm)
        frame = pd.DataFrame({"i": np.arange(len(u_norm)), "category": np.asarray(current.classes_)[proba.argmax(axis=1)],
                              "confidence": proba.max(axis=1)})
        chosen = frame[frame["confidence"] >= ADAPT_MIN_CONFIDENCE]
        current = _fit(norm + [u_norm[i] for i in chosen["i"]],
                       pd.concat([labels.reset_index(drop=True), chosen["category"].reset_index(drop=True)], ignore_index=True))
    after = pd.Series(current.predict_proba(u_norm).argmax(axis=1)).map(dict(enumerate(current.classes_)))
    pct = lambda s: (s.value_counts(normalize=True) * 100).round(1).to_dict()
    return current, {
        "unlabelled": int(len(u_norm)), "pseudo_labelled": int(len(chosen)), "rounds": ADAPT_ROUNDS,
        "min_confidence": ADAPT_MIN_CONFIDENCE, "per_category": chosen["category"].value_counts().to_dict(),
        "labels_changed_pct": round(float((before != after).mean() * 100), 1),
        "shares_before": pct(before), "shares_after": pct(after),
    }


def train_and_save(extra: pd.DataFrame | None = None, con=None, note: str = "", cv: bool | int = True,
                   unlabelled: pd.Series | None = None) -> dict:
    """Fit a new version on the corpus, operator labels and `extra`; adapted to `unlabelled` texts
    (the customer's own, without labels) when given; cross-validated on the labelled data only."""
    import joblib

    started = time.perf_counter()
    parts = {"corpus": corpus(), "operator": operator_labels(con) if con is not None else pd.DataFrame(),
             "extra": extra if extra is not None else pd.DataFrame()}
    data = pd.concat([p[["text", "category"]] for p in parts.values() if len(p)], ignore_index=True)
    counts = data["category"].value_counts()
    thin = [c for c in reference.category_codes() if counts.get(c, 0) < 3]
    if thin:
        # A model without a category would silently drop it from every percentage on every screen.
        raise LabelledDataError(f"no model trained: too few examples (< 3) for categories {thin}; "
                                f"add texts to {settings.get('CORPUS_DIR')} or pass --data", "thin", categories=thin)
    norm = textnorm.normalize_series(data["text"]).tolist()
    model = _fit(norm, data["category"])
    adaptation = None
    if unlabelled is not None:
        model, adaptation = adapt(model, norm, data["category"], unlabelled)
    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    meta = {
        "version": version, "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(), "note": note,
        "sizes": {k: int(len(v)) for k, v in parts.items()}, "classes": list(model.classes_),
        "previous": classify.current_version(), "top_words": top_words(model, data["text"]),
    }
    if adaptation is not None:
        meta["adaptation"] = adaptation
    if cv:
        meta["cross_validation"] = cross_validated(data["text"], data["category"], folds=5 if cv is True else int(cv))
    meta["seconds"] = round(time.perf_counter() - started, 1)
    folder = classify.model_dir() / version
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / "model.joblib", compress=3)
    (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    _point_to(version)
    return meta


# ---- cross-validation after the first start ---------------------------------------------------
# The model trained on first use skips cross-validation (it would double the app's first start); it
# is computed afterwards, once, in a background thread the app starts after its first start (or by
# the model page when it is opened first), and kept in the version's meta.json.
_cv_lock = threading.Lock()
_cv_threads: dict[str, threading.Thread] = {}


# Versions saved before notes became codes kept English sentences; pages show the code's translation.
LEGACY_NOTES = {"trained automatically on first use": "first_use", "retrained from the model page": "model_page",
                "python -m pipeline train": "cli"}


def note_code(note: str | None) -> str:
    """A version's note as a code (first_use, model_page, cli, ...), also for older versions."""
    return LEGACY_NOTES.get(note or "", note or "")


def needs_cross_validation(meta: dict | None) -> bool:
    """A first-use version whose quality was never measured (a failed or thin one says so in its own
    meta and is not tried again)."""
    return bool(meta) and note_code(meta.get("note")) == "first_use" and "cross_validation" not in meta


def _cross_validate_version(version: str) -> None:
    path = classify.model_dir() / version / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    if not needs_cross_validation(meta):
        return
    data = corpus()  # what a first-use model was trained on: the corpus alone
    try:
        cv = cross_validated(data["text"], data["category"])
    except Exception as exc:  # noqa: BLE001  (kept as a note; the page shows "—" and the reason)
        cv = {"macro_f1": None, "per_class": {}, "note": f"cross-validation failed: {type(exc).__name__}"}
    meta = json.loads(path.read_text(encoding="utf-8"))  # unchanged meanwhile but for this key
    meta["cross_validation"] = cv
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: a page reading meta.json never sees half of it


def cross_validate_later(version: str | None = None) -> threading.Thread | None:
    """Start measuring a first-use version's quality in a daemon thread (at most one per version);
    returns the thread, or None when there is nothing to measure."""
    version = version or classify.current_version()
    if version is None or not needs_cross_validation(classify.model_info(version)):
        return None
    with _cv_lock:
        thread = _cv_threads.get(version)
        if thread is None:
            thread = threading.Thread(target=_cross_validate_version, args=(version,), name=f"cv-{version}", daemon=True)
            _cv_threads[version] = thread
            thread.start()
    return thread


def ensure_cross_validation(version: str | None = None) -> dict | None:
    """The version's meta with its cross-validated quality, waiting for (or starting) the background run."""
    thread = cross_validate_later(version)
    if thread is not None:
        thread.join()
    return classify.model_info(version)


def _point_to(version: str) -> None:
    pointer = classify.model_dir() / "current"
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(version)
    tmp.replace(pointer)  # atomic: a running app never sees a half-written pointer


def versions() -> list[dict]:
    out = []
    for meta in sorted(classify.model_dir().glob("*/meta.json")):
        out.append(json.loads(meta.read_text(encoding="utf-8")))
    return out


def rollback(viewer=None) -> str:
    """Back to the previous version; a signed-in viewer needs the `model` permission."""
    _authorise(viewer, "rollback")
    info = classify.model_info()
    if info is None or not info.get("previous"):
        raise LabelledDataError("no previous model version to restore", "no_previous")
    _point_to(info["previous"])
    return info["previous"]


def retrain(con, viewer) -> dict:
    """The model page's retrain: corpus, operator labels, adapted to the store's own texts."""
    _authorise(viewer, "retrain")
    return train_and_save(con=con, note="model_page", unlabelled=unlabelled_texts(con))


def _authorise(viewer, action: str) -> None:
    from pipeline import auth

    if viewer is None:  # the CLI: whoever may run it on the server may train
        return
    viewer.require("model")
    users = auth.connect()
    try:
        auth.audit(users, viewer.username, f"model.{action}")
    finally:
        users.close()


def evaluate(model, frame: pd.DataFrame, confusion: dict | None = None) -> tuple[str, float, float]:
    """Per-class report, confusion matrix, then the share errors (percentage points: plain counting,
    and corrected with the model's cross-validated confusion rates) and, last, macro-F1 and accuracy."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

    from pipeline import quantify

    pred = classify.predict_proba(model, frame["text"].tolist()).idxmax(axis=1)
    truth = frame["category"]
    labels = sorted(set(truth) | set(pred))
    report = classification_report(truth, pred, labels=labels, zero_division=0, digits=3)
    matrix = pd.DataFrame(confusion_matrix(truth, pred, labels=labels), index=labels, columns=labels)
    macro, acc = f1_score(truth, pred, labels=sorted(set(truth)), average="macro", zero_division=0), accuracy_score(truth, pred)
    counts = pred.value_counts()
    plain_max, _ = quantify.share_errors(truth, counts / counts.sum() * 100)
    adjusted = corrected_shares(counts, confusion)
    adjusted_max, _ = quantify.share_errors(truth, adjusted.table.set_index("category")["adj_pct"])
    text = (report + "\nconfusion matrix (rows: true, columns: predicted)\n" + matrix.to_string()
            + f"\nshare_error_max={plain_max:.1f} adjusted_share_error_max={adjusted_max:.1f}"
            + (" (no cross-validated confusion rates: not corrected)" if adjusted.method == "none" else "")
            + f"\nmacro_f1={macro:.3f} accuracy={acc:.3f}")
    return text, macro, acc


def corrected_shares(counts: pd.Series, cross_validation: dict | None):
    """Category shares of model labels corrected with a model's cross-validated confusion rates
    (pipeline.quantify.from_rates); plain shares when the model was not cross-validated."""
    from pipeline import quantify

    cv = cross_validation or {}
    classes = cv.get("classes") or sorted(set(counts.index) | set(reference.category_codes()))
    if not cv.get("confusion"):
        return quantify.plain(counts, classes)
    return quantify.from_rates(counts, np.array(cv["confusion"]), classes)


# ---- CLI -----------------------------------------------------------------------------------
def arguments_train(parser) -> None:
    parser.add_argument("--data", help="extra labelled CSV with columns text,category")
    parser.add_argument("--db", help="DuckDB file whose operator-confirmed labels are used (default: SC_DB)")
    parser.add_argument("--no-cv", action="store_true", help="skip the 5-fold cross-validation")
    parser.add_argument("--unlabelled", help="CSV with a text column: the customer's own texts, without labels, to "
                        "adapt to (default: the store's model-labelled texts)")
    parser.add_argument("--no-adapt", action="store_true", help="do not adapt to unlabelled texts")


def run_train(args) -> int:
    try:
        extra = load_labelled(args.data)[["text", "category"]] if args.data else None
    except LabelledDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    con = None
    db = settings.db_path(args.db)
    if args.db and not db.exists():  # a mistyped --db trained without the operators' labels, silently
        print(f"error: {db} does not exist (no store there to take operator labels from; check --db)",
              file=sys.stderr)
        return 2
    if db.exists():
        try:
            con = store.connect(db, read_only=True)
        except store.StoreLocked:
            print(f"note: {db} is held by the running app; operator labels are not included", file=sys.stderr)
        except store.StoreError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    unlabelled = None
    if not args.no_adapt:
        try:
            if args.unlabelled:
                unlabelled = load_labelled(args.unlabelled, need_category=False)["text"]
            elif con is not None:
                unlabelled = unlabelled_texts(con)
        except LabelledDataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        meta = train_and_save(extra, con, note="cli", cv=not args.no_cv, unlabelled=unlabelled)
    except LabelledDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cv = meta.get("cross_validation", {}).get("macro_f1")
    print(f"version={meta['version']} corpus={meta['sizes']['corpus']} operator={meta['sizes']['operator']} "
          f"extra={meta['sizes']['extra']} pseudo_labelled={meta.get('adaptation', {}).get('pseudo_labelled', 0)} "
          f"cv_macro_f1={cv} seconds={meta['seconds']}")
    return 0


def arguments_evaluate(parser) -> None:
    parser.add_argument("--data", required=True, help="labelled CSV with columns text,category")
    parser.add_argument("--model", help="a model folder or model.joblib (default: the current model)")


def run_evaluate(args) -> int:
    import joblib

    if args.model:  # the model's path first: it is the quicker mistake to say
        path = Path(args.model)
        if not path.exists():
            print(f"error: --model {path} does not exist (give a model version folder or its model.joblib)",
                  file=sys.stderr)
            return 2
        if not path.is_dir() and path.name != "model.joblib":
            print(f"error: --model {path} is not a model (give a version folder or its model.joblib)", file=sys.stderr)
            return 2
    try:
        frame = load_labelled(args.data)
    except LabelledDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    meta = {}
    if args.model:
        folder = path if path.is_dir() else path.parent
        try:
            model = joblib.load(folder / "model.joblib")
        except FileNotFoundError:
            print(f"error: --model {path}: no model.joblib in it (give a model version folder)", file=sys.stderr)
            return 2
        except Exception as exc:  # joblib/pickle raise many kinds for a damaged file
            print(f"error: --model {folder / 'model.joblib'} cannot be loaded ({type(exc).__name__}); "
                  f"a damaged or foreign file?", file=sys.stderr)
            return 2
        if (folder / "meta.json").exists():
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    else:
        meta = classify.model_info() or {}
        model = classify.ensure_model()
        if model is None:
            print("error: no model: the corpus does not cover every category yet", file=sys.stderr)
            return 2
    print(evaluate(model, frame, meta.get("cross_validation"))[0])
    return 0


OUTPUT_COLUMNS = {"predicted_category": "category", "confidence": "confidence", "language": "language"}


def arguments_classify(parser) -> None:
    parser.add_argument("--data", required=True, help="CSV with a text column")
    parser.add_argument("--out", required=True, help="CSV to write: every input column, plus predicted_category, confidence and language "
                        "(a name already taken gets a model_ prefix)")


def run_classify(args) -> int:
    if Path(args.out).resolve() == Path(args.data).resolve():  # it rewrote the file it read
        print(f"error: --out {args.out} is the input file; give another file", file=sys.stderr)
        return 2
    try:
        frame = load_labelled(args.data, need_category=False)
    except LabelledDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    labels = classify.classify_texts(frame["text"].tolist())
    # New columns only: an input column called `category` holds the true labels and must survive.
    for col, src in OUTPUT_COLUMNS.items():
        name = col
        while name in frame.columns:
            name = "model_" + name
        frame[name] = labels[src].to_numpy()
    frame.to_csv(args.out, index=False)
    print(f"classified {len(frame)} texts -> {args.out}")
    return 0


def arguments_rollback(parser) -> None:
    pass


def run_rollback(args) -> int:
    try:
        print(f"current model is now {rollback()}")
    except LabelledDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
