"""Masking speed: `python bench/privacy.py [--texts 100000]`.

Times `pipeline.privacy.mask` on texts of 300 characters (appeals from data/corpus, every third
carrying contacts from tests/test_privacy.py) and, in the same process on the same texts, a naive
baseline that only blanks digit runs and e-mail addresses with two regular expressions. Prints wall
and CPU seconds and the ratio to the baseline. Target: 100,000 texts in under ~10 s on two cores.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.privacy import mask  # noqa: E402
from tests.test_privacy import KEEP, LEAKS  # noqa: E402

_DIGITS = re.compile(r"\d[\d \-()]{4,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def naive(text: str) -> str:
    return _EMAIL.sub("***", _DIGITS.sub("***", text))


def texts_of(n: int, size: int = 300) -> list[str]:
    """n texts of about `size` characters: appeals from the corpus, every third with contacts."""
    corpus = ROOT / "data" / "corpus"
    pool = pd.concat([pd.read_csv(f)["text"] for f in sorted(corpus.glob("*.csv"))]).astype(str).tolist()
    extra = [t for t, _, _ in LEAKS] + KEEP
    rng = random.Random(7)
    out = []
    for i in range(n):
        parts = []
        while sum(map(len, parts)) < size:
            parts.append(rng.choice(extra if i % 3 == 0 and rng.random() < 0.3 else pool))
        out.append(" ".join(parts)[:size])
    return out


def timed(fn, texts) -> tuple[float, float]:
    """Wall and CPU seconds for fn over texts."""
    start, cpu = time.perf_counter(), time.process_time()
    for t in texts:
        fn(t)
    return time.perf_counter() - start, time.process_time() - cpu


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=100_000)
    a = p.parse_args(argv)
    texts = texts_of(a.texts)
    start = time.perf_counter()
    mask(texts[0])  # loads the dictionary
    print(f"dictionary loaded in {time.perf_counter() - start:.2f} s")
    base_wall, base_cpu = timed(naive, texts)
    wall, cpu = timed(mask, texts)
    print(f"{a.texts:,} texts of 300 characters")
    print(f"naive baseline (digits, e-mail): {base_wall:.2f} s ({base_cpu:.2f} s CPU)")
    print(f"mask():                          {wall:.2f} s ({cpu:.2f} s CPU), "
          f"{wall / base_wall:.1f}x the baseline, {a.texts / wall:,.0f} texts/s")


if __name__ == "__main__":
    main()
