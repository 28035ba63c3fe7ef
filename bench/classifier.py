"""Classifier figures: `python bench/classifier.py [--rows 200000]`.

Prints macro-F1 and accuracy on the held-out files data/corpus/eval*.csv (written apart from the
training texts), the cross-validated macro-F1 of the training run, classify throughput on
--rows texts against the keyword scorer measured in the same run, and the time to train on
--rows texts (targets: classify >= 20,000 texts/s, train on 200,000 texts < 2 minutes).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    os.environ["SC_MODEL_DIR"] = tempfile.mkdtemp(prefix="bench-models-")
    from pipeline import classify, settings, train

    if not train.corpus_covers_taxonomy():
        print("the corpus does not cover every category yet: the keyword scorer is in use, nothing to train")
        return
    meta = train.train_and_save(note="bench", cv=True)
    print(f"trained on {meta['sizes']['corpus']} corpus texts in {meta['seconds']} s (with 5-fold CV); "
          f"cv_macro_f1={meta['cross_validation']['macro_f1']}")
    model = classify.ensure_model()
    for path in sorted(Path(settings.get("CORPUS_DIR")).glob("eval*.csv")):
        frame = train.load_labelled(path)
        print(f"held-out {path.name} ({len(frame)} texts): {train.evaluate(model, frame)[0].splitlines()[-1]}")

    corpus = train.corpus()
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(corpus), args.rows)
    suffix = pd.Series(rng.integers(1, 200, args.rows).astype(str))
    texts = (corpus["text"].iloc[picks].reset_index(drop=True) + " дом " + suffix).tolist()
    t0 = time.perf_counter()
    classify.classify_texts(texts)
    model_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    classify.keyword_scores(texts)
    keyword_s = time.perf_counter() - t0
    print(f"classify {args.rows:,} texts (mean {np.mean([len(t) for t in texts]):.0f} chars): "
          f"{args.rows / model_s:,.0f} texts/s (target >= 20,000); keyword baseline {args.rows / keyword_s:,.0f} texts/s; "
          f"ratio {model_s / keyword_s:.1f}x")
    labels = corpus["category"].iloc[picks].reset_index(drop=True)
    t0 = time.perf_counter()
    classify.build_pipeline().fit(classify.textnorm.normalize_series(pd.Series(texts)).tolist(), labels)
    print(f"train on {args.rows:,} texts: {time.perf_counter() - t0:.1f} s (target < 120 s)")


if __name__ == "__main__":
    main()
