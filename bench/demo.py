"""Demo build time: `python bench/demo.py [--rows 1000000]` (target: 1M rows in under 60 s).

Baseline measured in the same run: inserting a DataFrame of the same number of random rows
(no texts, no workflow) into DuckDB, the floor for any generator.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline import store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"source": "import", "source_id": np.arange(args.rows).astype(str),
                              "received_at": pd.Timestamp("2025-01-01", tz="UTC")
                              + pd.to_timedelta(rng.integers(0, 7e7, args.rows), unit="s"),
                              "text": "x"})
        con = store.connect(Path(tmp) / "base.duckdb")
        con.register("f", frame)
        con.execute("INSERT INTO submissions (source, source_id, received_at, text) SELECT * FROM f")
        con.close()
        baseline = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "pipeline", "demo", "--rows", str(args.rows), "--db",
                              str(Path(tmp) / "demo.duckdb")], cwd=ROOT, capture_output=True, text=True, check=True)
        elapsed = time.perf_counter() - t0
    print(out.stdout.strip())
    print(f"demo: {elapsed:.1f} s for {args.rows:,} rows, {args.rows / elapsed:,.0f} rows/s (target < 60 s at 1M)")
    print(f"baseline plain insert: {baseline:.1f} s; ratio demo/baseline: {elapsed / baseline:.1f}x")


if __name__ == "__main__":
    main()
