"""Problem classifier entry point used by ingest and demo.

Contract (kept stable for callers): classify_texts(texts) -> DataFrame with columns
category, confidence, language, one row per text in order.
This first version scores the seed keywords of data/taxonomy.csv; the trained model replaces it.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from pipeline import reference

KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(texts: Sequence[str]) -> list[str]:
    out = []
    for text in texts:
        words = _WORD.findall(text or "")
        if not words:
            out.append("ru")
            continue
        kk = sum(1 for w in words if KAZAKH_LETTERS.intersection(w))
        share = kk / len(words)
        out.append("kk" if share >= 0.25 else "mixed" if kk else "ru")
    return out


def _keywords() -> list[tuple[str, list[str]]]:
    tax = reference.taxonomy()
    return [(row.code, [k for k in row.keywords.split("|") if k]) for row in tax.itertuples()]


def classify_texts(texts: Sequence[str]) -> pd.DataFrame:
    codes = [c for c, _ in _keywords()]
    scores = np.zeros((len(texts), len(codes)))
    lowered = pd.Series(list(texts), dtype=object).fillna("").str.lower().str.replace("ё", "е")
    for j, (_, words) in enumerate(_keywords()):
        if words:
            # Stems match at a word start; short ones (Kazakh «ит», dog) only as whole words.
            pattern = r"\b(?:" + "|".join(re.escape(w) + (r"\b" if len(w) <= 3 else "") for w in words) + ")"
            scores[:, j] = lowered.str.count(pattern).to_numpy()
    best = scores.argmax(axis=1)
    total = scores.sum(axis=1)
    conf = np.where(total > 0, scores[np.arange(len(texts)), best] / np.maximum(total, 1), 0.0)
    category = np.where(total > 0, np.array(codes, dtype=object)[best], "other")
    return pd.DataFrame(
        {"category": category, "confidence": conf.round(3), "language": detect_language(texts)}
    )
