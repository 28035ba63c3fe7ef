"""The pending step's enrichment, in process: `python bench/enrich.py [--rows 20000] [--save F | --check F] [--profile]`.

Builds --rows pending rows (id, received_at, text, district) like those `classify-pending` reads:
a third synthetic call-centre texts (pipeline.synth, 300-400 characters), a third corpus texts
joined to 300-400 characters, a third the Russian/Kazakh/mixed texts of bench/search_terms.py;
dates over a whole year (heating season and not), every district. Then, with the model trained
from the corpus into a temporary SC_MODEL_DIR (or the one given by SC_MODEL_DIR):

- times ingest.enrich (one process) and pending._enrich (two cores from 10,000 rows) and, as the
  baseline of the same run, classify.keyword_scores on the same texts; prints texts/s, ratios and
  the load average (the machine's two cores are shared);
- --save F writes the enriched frame (the columns classify_batch stores) to F (parquet);
  --check F compares the enriched frame with F column by column and exits 1 on any difference:
  how a change to the enrichment is shown to leave every output as it was;
- --profile prints cProfile's top functions of one ingest.enrich run (cumulative time).
Target (issue 11): classification after storage >= 20,000 texts/s on the two cores.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

COLUMNS = ["id", "language", "category", "category_confidence", "priority", "department", "feedback_due_at",
           "due_at", "search_terms"]


def pending_rows(n: int, seed: int = 3) -> pd.DataFrame:
    from bench.search_terms import synthetic_texts
    from pipeline import reference, synth, train

    rng = np.random.default_rng(seed)
    third = n // 3
    with tempfile.TemporaryDirectory() as tmp:
        csv = synth.call_centre_csv(Path(tmp) / "calls.csv", third, seed=seed, long_texts=True)
        calls = pd.read_csv(csv, sep=";", encoding="utf-8-sig", dtype=str)["Текст обращения"].tolist()
    corpus = train.corpus()["text"].to_numpy()
    joined = []
    for _ in range(third):
        target, parts = int(rng.integers(300, 400)), []
        while sum(map(len, parts)) + len(parts) < target:
            parts.append(corpus[rng.integers(0, len(corpus))])
        joined.append(" ".join(parts)[:target].rstrip())
    texts = calls + joined + synthetic_texts(n - 2 * third, seed=seed)
    order = rng.permutation(n)
    texts = [texts[i] for i in order]
    start = pd.Timestamp("2025-01-01", tz="UTC").value // 10**3
    received = pd.to_datetime(rng.integers(start, start + 365 * 86400 * 10**6, n), unit="us", utc=True)
    districts = reference.districts()["code"].to_numpy()
    return pd.DataFrame({"id": np.arange(1, n + 1), "received_at": received.astype("datetime64[us, UTC]"),
                         "text": texts, "district": districts[rng.integers(0, len(districts), n)]})


def _terms(x) -> list[int]:
    """Search terms as numbers: stored strings (search.encode), or lists in a frame saved before."""
    from pipeline import search

    return search.decode(x) if x is None or isinstance(x, str) else [int(t) for t in x]


def compare(got: pd.DataFrame, want: pd.DataFrame) -> list[str]:
    problems = []
    if len(got) != len(want):
        return [f"rows: {len(got)} != {len(want)}"]
    for col in COLUMNS:
        a, b = got[col].reset_index(drop=True), want[col].reset_index(drop=True)
        if col == "search_terms":
            same = pd.Series([_terms(x) == _terms(y) for x, y in zip(a, b)])
        else:
            same = (a == b) | (a.isna() & b.isna())
        if not same.all():
            i = int(np.flatnonzero(~same.to_numpy())[0])
            problems.append(f"{col}: {int((~same).sum())} rows differ, first row {i}: {a[i]!r} != {b[i]!r}")
    return problems


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--save", help="write the enriched frame to this parquet file")
    parser.add_argument("--check", help="compare the enriched frame with this parquet file")
    parser.add_argument("--profile", action="store_true", help="cProfile one ingest.enrich run")
    args = parser.parse_args()
    os.environ.setdefault("SC_MODEL_DIR", tempfile.mkdtemp(prefix="bench-models-"))
    from pipeline import classify, ingest, pending

    if classify.ensure_model() is None:
        raise SystemExit("the corpus does not cover every category: nothing to measure")
    rows = pending_rows(args.rows)
    print(f"{len(rows):,} rows, mean {rows['text'].str.len().mean():.0f} chars; load average {load()} "
          f"on {os.cpu_count()} cores")
    ingest.enrich(rows.head(200).copy())  # imports, the model and first caches: not what is measured

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        ingest.enrich(rows.copy())
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)

    t0 = time.perf_counter()
    classify.keyword_scores(rows["text"].tolist())
    base = time.perf_counter() - t0
    n = len(rows)
    print(f"keyword baseline    {n / base:>9,.0f} texts/s")
    t0, c0 = time.perf_counter(), time.process_time()
    one = ingest.enrich(rows.copy())
    single, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"ingest.enrich       {n / single:>9,.0f} texts/s  ({single / base:.1f}x baseline)  one process, first "
          f"batch (the caches cold); {n / cpu:,.0f} texts per CPU-second")
    other = pending_rows(n, seed=4)
    t0, c0 = time.perf_counter(), time.process_time()
    ingest.enrich(other)
    single, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"ingest.enrich       {n / single:>9,.0f} texts/s  ({single / base:.1f}x baseline)  one process, next "
          f"batch; {n / cpu:,.0f} texts per CPU-second")
    for name, frame in (("first batch (a worker started, its caches cold)", pending_rows(n, seed=5)),
                        ("next batch", rows.copy())):
        t0 = time.perf_counter()
        two = pending._enrich(frame)
        double = time.perf_counter() - t0
        print(f"pending._enrich     {n / double:>9,.0f} texts/s  ({double / base:.1f}x baseline)  two cores, {name}; "
              f"target >= 20,000; load average {load()}")
    problems = compare(two, one[COLUMNS])
    if problems:
        raise SystemExit("one process and two cores differ:\n" + "\n".join(problems))
    if args.save:
        one[COLUMNS].to_parquet(args.save)
        print(f"saved {args.save}")
    if args.check:
        problems = compare(one[COLUMNS], pd.read_parquet(args.check))
        print("identical to " + args.check if not problems else "DIFFERENT:\n" + "\n".join(problems))
        if problems:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
