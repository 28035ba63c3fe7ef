"""Server time of every staff page on a big store: `python bench/pages.py --db /var/tmp/sc-bench/demo_10000000.duckdb`.

Each page of app.py's menu is run through Streamlit's AppTest, signed in as admin, the way the
server runs it for a browser: the time of one full script run of the page (its queries, frames
and charts), after a first run that warms DuckDB's buffers and the caches. The baseline, measured
in the same process, is the call intake page (a form and one small query: the framework's own
cost of a run, signed in, with the menu).
Target (issue 11): every page's server time < 1 s at 10,000,000 submissions.

The app opens the store as its writer (its drain thread keeps the rollups), so nothing else may
hold the file; the read replica is turned off (SC_REPLICA_SECONDS=0), as a copy of a 10M store
takes minutes. Prints p50 and the worst of --reps runs per page, the ratio to the baseline, and
the process's peak memory (the app's, as AppTest runs it in this process).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ("overview", "wall", "deadlines", "explorer", "review", "intake", "ideas", "placements", "briefing",
         "model", "admin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="an existing store (built with `python -m pipeline demo --rows N`)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    args = parser.parse_args()
    os.environ["SC_DB"] = str(Path(args.db).resolve())
    os.environ.setdefault("SC_REPLICA_SECONDS", "0")
    os.environ.setdefault("SC_CV_AFTER_START", "0")
    from streamlit.testing.v1 import AppTest

    from tests.conftest import signed_in

    def run(page: str) -> float:
        at = signed_in(AppTest.from_file(str(ROOT / "app.py"), default_timeout=300))
        at.run()
        at.switch_page(f"pages/{page}.py").run()  # warm
        if at.exception:
            raise SystemExit(f"{page}: the page failed: {at.exception[0].value}")
        started = time.perf_counter()
        at.run()
        return time.perf_counter() - started

    base = statistics.median(run("intake") for _ in range(args.reps))
    print(f"{'page':12s} {'p50 ms':>8s} {'worst ms':>9s} {'/ baseline':>10s}   (baseline: the intake page, {1000 * base:.0f} ms; "
          f"load {os.getloadavg()[0]:.1f})")
    slow = []
    for page in args.pages:
        times = [run(page) for _ in range(args.reps)]
        p50, worst = statistics.median(times), max(times)
        print(f"{page:12s} {1000 * p50:8.0f} {1000 * worst:9.0f} {p50 / base:9.1f}x", flush=True)
        if worst >= 1.0:
            slow.append(page)
    print("target < 1 s per page: " + ("met" if not slow else "missed on " + ", ".join(slow)))
    # the app ran in this process (AppTest runs the scripts here, with the drain thread): its peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the app (this process) after every page: {peak:,.0f} MB (target < 1,500 MB)")


if __name__ == "__main__":
    main()
