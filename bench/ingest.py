"""Ingest throughput: `python bench/ingest.py [--rows 1000000]`.

Generates a Russian-locale call-centre export (';', UTF-8 with BOM, dd.mm.yyyy dates), ingests it
into a fresh database in a child process (classification included), and prints rows/s and peak
memory against a baseline measured in the same run: pandas.read_csv of the same file.
Targets (issue 2): >= 50,000 rows/s on 2 cores, peak memory < 2 GB.
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from pipeline import synth  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = synth.call_centre_csv(Path(tmp) / "calls.csv", args.rows)
        size_mb = csv.stat().st_size / 1e6

        t0 = time.perf_counter()
        pd.read_csv(csv, sep=";", encoding="utf-8-sig")
        baseline = time.perf_counter() - t0

        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(csv), "--db",
                              str(Path(tmp) / "bench.duckdb"), "--source", "hotline_109"],
                             cwd=ROOT, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"file: {args.rows:,} rows, {size_mb:.0f} MB")
    print(f"ingest: {out.stdout.strip().splitlines()[-1]}")
    print(f"ingest: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s, peak memory {peak_mb:,.0f} MB "
          f"(target >= 50,000 rows/s, < 2,048 MB)")
    print(f"baseline pandas.read_csv: {baseline:.1f} s, {args.rows / baseline:,.0f} rows/s")
    print(f"ratio ingest/read_csv time: {elapsed / baseline:.1f}x")


if __name__ == "__main__":
    main()
