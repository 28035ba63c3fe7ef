"""The classifier on real residents' words: quality, review share and share errors on a labelled
file that the model never trained on (default: ../shared/realdev/spb_appeals.csv).

    python bench/realdev.py [FILE.csv] [--threshold 0.50] [--no-adapt] [--reviews 500,2000]

It fits the shipped model (the corpus in SC_CORPUS_DIR, as the app's first start does), then:
1. measures it on the file: macro-F1 over the codes present, accuracy, the share sent to review at
   the threshold and the accuracy of the rest, and the worst and mean share error in percentage
   points, plain counting against the correction from cross-validated confusion rates;
2. adapts it to the file's texts WITHOUT their labels (self-training, as `train` does with the
   store's texts) and measures again;
3. simulates operators reviewing N labels (the review queue: low-confidence labels plus an audit
   sample of confident ones) and corrects the shares from their decisions.
Every line ends with its ratio to the baseline of the same run: the shipped model's plain counting.
The file's texts and labels are only read: nothing is written anywhere.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import classify, quantify, settings, textnorm, train  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "realdev" / "spb_appeals.csv"


def measure(model, frame: pd.DataFrame, threshold: float, cv: dict) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    proba = classify.predict_proba(model, frame["text"].tolist())
    pred, conf = proba.idxmax(axis=1), proba.max(axis=1)
    truth = frame["category"]
    keep = conf >= threshold
    counts = pred.value_counts()
    plain = quantify.share_errors(truth, counts / counts.sum() * 100)
    adjusted = quantify.share_errors(truth, train.corrected_shares(counts, cv).table.set_index("category")["adj_pct"])
    return {"macro_f1": f1_score(truth, pred, labels=sorted(set(truth)), average="macro", zero_division=0),
            "accuracy": accuracy_score(truth, pred), "review_share": float(1 - keep.mean()),
            "rest_accuracy": float((pred[keep] == truth[keep]).mean()) if keep.any() else float("nan"),
            "share_error_max": plain[0], "share_error_mean": plain[1],
            "adjusted_share_error_max": adjusted[0], "adjusted_share_error_mean": adjusted[1],
            "pred": pred, "conf": conf}


def simulate_reviews(r: dict, truth: pd.Series, threshold: float, n: int, classes: list[str], seed: int = 0) -> tuple:
    """n decisions as the queue would bring them: 80 % from the low-confidence labels, 20 % from
    the audit sample of confident ones; the rest of the labels corrected from them."""
    rng = np.random.default_rng(seed)
    band = np.where(r["conf"].to_numpy() < threshold, "low", "high")
    low, high = np.flatnonzero(band == "low"), np.flatnonzero(band == "high")
    n_low = min(len(low), int(n * 0.8))
    picked = np.concatenate([rng.choice(low, n_low, replace=False), rng.choice(high, min(len(high), n - n_low), replace=False)])
    pred = r["pred"].to_numpy()
    reviewed = pd.DataFrame({"band": band[picked], "predicted": pred[picked], "true": truth.to_numpy()[picked]})
    rest = np.ones(len(pred), bool)
    rest[picked] = False
    cells = pd.DataFrame({"band": band[rest], "predicted": pred[rest]}).value_counts().rename("n").reset_index()
    shares = quantify.from_reviews(cells, reviewed, reviewed["true"].value_counts(), classes)
    return quantify.share_errors(truth, shares.table.set_index("category")["adj_pct"])


SEEDS = 10  # review samples drawn per size: one draw of 2,000 decisions varies by about a point


def reviews_lines(m: dict, base: dict, frame: pd.DataFrame, args, classes: list[str]) -> None:
    for n in [int(x) for x in args.reviews.split(",") if x]:
        runs = np.array([simulate_reviews(m, frame["category"], args.threshold, n, classes, seed=s) for s in range(SEEDS)])
        worst = np.median(runs[:, 0])
        print(f"  corrected from {n:5d} reviews ({SEEDS} samples): worst share error median {worst:.1f}, "
              f"range {runs[:, 0].min():.1f}-{runs[:, 0].max():.1f}; mean error {np.median(runs[:, 1]):.2f} "
              f"(x{worst / base['share_error_max']:.2f} of baseline)")


def line(name: str, m: dict, base: dict) -> str:
    return (f"{name:28s} macro_f1={m['macro_f1']:.3f} accuracy={m['accuracy']:.3f} review={m['review_share']:.1%} "
            f"rest_right={m['rest_accuracy']:.3f} share_err max/mean={m['share_error_max']:.1f}/{m['share_error_mean']:.2f} "
            f"corrected={m['adjusted_share_error_max']:.1f}/{m['adjusted_share_error_mean']:.2f}  "
            f"(x{m['macro_f1'] / base['macro_f1']:.2f} macro-F1, worst share error x{m['adjusted_share_error_max'] / base['share_error_max']:.2f} of baseline)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?", default=str(DEFAULT), help="labelled CSV with text,category")
    ap.add_argument("--threshold", type=float, default=settings.get_float("REVIEW_THRESHOLD"))
    ap.add_argument("--no-adapt", action="store_true", help="skip the self-training step")
    ap.add_argument("--reviews", default="500,2000", help="numbers of simulated operator decisions")
    args = ap.parse_args(argv)
    try:
        frame = train.load_labelled(args.file)
    except train.LabelledDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = train.corpus()
    print(f"file={args.file} texts={len(frame)} codes={frame['category'].nunique()} "
          f"median_chars={int(frame['text'].str.len().median())} corpus={len(data)} threshold={args.threshold}")
    t = time.perf_counter()
    norm = textnorm.normalize_series(data["text"]).tolist()
    model = train._fit(norm, data["category"])
    cv = train.cross_validated(data["text"], data["category"], folds=3)
    print(f"fit + 3-fold cross-validation of the shipped model: {time.perf_counter() - t:.1f} s")
    base = measure(model, frame, args.threshold, cv)
    print(line("shipped model", base, base))
    classes = sorted(set(model.classes_))
    reviews_lines(base, base, frame, args, classes)
    if not args.no_adapt:
        t = time.perf_counter()
        adapted, info = train.adapt(model, norm, data["category"], frame["text"])
        print(f"adapted to the file's texts without labels: {info.get('pseudo_labelled', 0)} pseudo-labels from "
              f"{info['unlabelled']} texts, {time.perf_counter() - t:.1f} s")
        m = measure(adapted, frame, args.threshold, cv)
        print(line("adapted (no labels used)", m, base))
        reviews_lines(m, base, frame, args, classes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
