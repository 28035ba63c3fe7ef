"""Grouping proposals into ideas at volume: time, and pairwise quality on a sample with known ideas.

    python bench/ideas.py [--rows 100000]

Proposals are made from the demo's material (data/demo/proposals.csv): every idea at every street
of its region is one idea (the street set apart as a place), worded in any of its wordings, with
openers, closings and the demo's style variation (case, punctuation, typos). Target: 100,000 in
< 60 s on 2 cores. Baseline in the same process: grouping by the exact lowercased text (what a
plain GROUP BY would do), its time and its recall.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline import demo, ideas  # noqa: E402


def proposals(rows: int, seed: int = 7) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    material = demo._csv("proposals.csv")
    places = demo._csv("places.csv")
    phrases = demo._csv("phrases.csv")
    openers = {lang: [t for t in g["text"] if t] for lang, g in phrases[phrases.kind == "opener"].groupby("lang")}
    keys, wordings = [], []
    for (idea, region), g in material.groupby(["idea", "region"]):
        for street in places[(places.region == region) & (places.kind == "street")]["text"]:
            keys.append(f"{idea}@{street}")
            wordings.append([(lang, f"{text}, {street}" if lang != "kk" else f"{street}: {text}")
                             for lang, text in zip(g["lang"], g["text"])])
    weight = 1.0 / (rng.permutation(len(keys)) + 1) ** 0.8
    chosen = rng.choice(len(keys), size=rows, p=weight / weight.sum())
    texts = []
    for k in chosen:
        lang, text = wordings[k][int(rng.integers(len(wordings[k])))]
        if rng.random() < 0.2:
            pool = openers["kk" if lang == "kk" else "ru"]
            text = pool[int(rng.integers(len(pool)))] + " " + text
        texts.append(demo._style(rng, text))
    return texts, [keys[k] for k in chosen]


def pairwise_sample(labels, truth, pairs: int = 200_000, seed: int = 1) -> tuple[float, float]:
    """Pairwise precision and recall estimated on random pairs plus pairs of one true idea."""
    rnd = random.Random(seed)
    n = len(truth)
    by = defaultdict(list)
    for i, t in enumerate(truth):
        by[t].append(i)
    same = [rnd.sample(by[t], 2) for t in rnd.choices([t for t in by if len(by[t]) > 1], k=pairs // 2)]
    rand = [rnd.sample(range(n), 2) for _ in range(pairs // 2)]
    recall = sum(labels[a] == labels[b] for a, b in same) / len(same)
    grouped = [(a, b) for a, b in rand if labels[a] == labels[b]]
    precision = sum(truth[a] == truth[b] for a, b in grouped) / len(grouped) if grouped else 1.0
    return precision, recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    texts, truth = proposals(args.rows)
    print(f"{len(texts)} proposals, {len(set(texts))} distinct texts, {len(set(truth))} true ideas")
    started = time.perf_counter()
    base = {}
    baseline = [base.setdefault(" ".join(t.lower().split()), len(base)) for t in texts]
    t_base = time.perf_counter() - started
    started = time.perf_counter()
    labels = ideas.cluster(texts)
    t_ideas = time.perf_counter() - started
    p, r = pairwise_sample(labels, truth)
    bp, br = pairwise_sample(baseline, truth)
    print(f"ideas.cluster: {t_ideas:.1f} s, {len(set(labels))} ideas, pairwise P {p:.3f} R {r:.3f}")
    print(f"baseline (same lowercased text): {t_base:.2f} s, {len(base)} groups, pairwise P {bp:.3f} R {br:.3f}")
    print(f"ratio (ideas / baseline time): {t_ideas / max(t_base, 1e-9):.0f}x; target < 60 s")


if __name__ == "__main__":
    main()
