"""The app's drain hook at volume: a few new proposals against thousands already grouped.

    python bench/ideas_drain.py [--rows 12000]

`ideas.AfterDrain` keeps the grouping in memory between drains (`ideas.Live`); the baseline in
the same process is `ideas.update`, which builds every vector again for one new proposal.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ideas import proposals  # noqa: E402  (bench/ideas.py)

from pipeline import ideas, store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12_000)
    args = parser.parse_args()
    texts, _ = proposals(args.rows + 10)
    con = store.connect(":memory:")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    frame = pd.DataFrame({"source_id": [f"b{i}" for i in range(args.rows)], "text": texts[:args.rows],
                          "received_at": [t0 + dt.timedelta(minutes=i) for i in range(args.rows)]})
    con.register("f", frame)
    con.execute("INSERT INTO submissions (source, source_id, received_at, text, status) "
                "SELECT 'qr', source_id, received_at, text, 'new' FROM f")
    con.unregister("f")
    ideas.regroup(con)
    hook = ideas.AfterDrain()

    def drain(k: int) -> float:
        con.execute("INSERT INTO submissions (source, source_id, received_at, text, status, ingest_run_id) "
                    "VALUES ('qr', ?, now(), ?, 'new', ?)", [f"n{k}", texts[args.rows + k], 1000 + k])
        started = time.perf_counter()
        hook.after_drain(con, [{"ingest_run_id": 1000 + k, "inserted": 1}], Path(tempfile.mkdtemp()))
        return time.perf_counter() - started

    first = drain(0)
    steady = sorted(drain(k) for k in range(1, 8))[3]
    con.execute("INSERT INTO submissions (source, source_id, received_at, text, status) VALUES ('qr', 'z', now(), ?, 'new')",
                [texts[-1]])
    started = time.perf_counter()
    ideas.update(con)
    full = time.perf_counter() - started
    print(f"{args.rows} proposals grouped; one new proposal per drain")
    print(f"first drain (builds the kept state): {first:.2f} s; later drains (median): {steady * 1000:.0f} ms")
    print(f"baseline ideas.update for one proposal: {full:.2f} s; ratio {full / steady:.0f}x")


if __name__ == "__main__":
    main()
