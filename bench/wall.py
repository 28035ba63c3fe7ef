"""Wall display build time: `python bench/wall.py [--db FILE | --rows 1000000]` (target: < 1 s).

Times what the server does for one wall refresh: every query of pipeline.queries.wall.snapshot
(today vs typical day, case figures, category shares, 30-day trend vs last year, district stats,
surge alerts, masked ticker) plus rendering the HTML, cold (first run) and warm (median of 5).
Baseline measured in the same run: the same headline figures computed in pandas after loading
the needed columns of every submission into a DataFrame, the way a notebook would do it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import demo_db  # noqa: E402
from pipeline import geo  # noqa: E402
from pipeline.queries import wall as q  # noqa: E402
from ui import wall  # noqa: E402

warnings.filterwarnings("ignore", message=".*inplace keyword")  # raised inside duckdb .df()


def build_ours(con, now, rings):
    snap = q.snapshot(con, now)
    return wall.render(snap, "ru", rings, demo=True)


def build_pandas(con, now):
    df = con.execute("SELECT received_at, category, district, status, due_at, feedback_at, feedback_due_at "
                     "FROM submissions").df()
    local = df["received_at"].dt.tz_convert("Asia/Almaty")
    today = local.dt.date == pd.Timestamp(now).tz_convert("Asia/Almaty").date()
    open_ = df["status"].isin(["new", "feedback_given", "in_progress", "reopened"])
    recent = df["received_at"] >= pd.Timestamp(now) - pd.Timedelta(days=30)
    shares = df.loc[recent, "category"].value_counts(normalize=True) * 100
    trend = local[recent].dt.date.value_counts()
    districts = df.loc[recent].groupby("district").size()
    return int(today.sum()), int(open_.sum()), int((open_ & (df["due_at"] < now)).sum()), shares, trend, districts


def timed(fn, *args):
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    demo_db.arguments(parser, rows=1_000_000)
    args = parser.parse_args()
    with demo_db.opened(args) as con:
        n = con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
        now = dt.datetime.now(dt.timezone.utc)
        rings = geo.load()
        cold = timed(build_ours, con, now, rings)
        warm = statistics.median(timed(build_ours, con, now, rings) for _ in range(5))
        base = statistics.median(timed(build_pandas, con, now) for _ in range(3))
    print(f"submissions: {n:,}")
    print(f"wall display (all queries + HTML): cold {cold:.3f} s, warm {warm:.3f} s (target < 1 s)")
    print(f"pandas baseline (load columns + headline figures only): {base:.3f} s")
    print(f"ratio baseline / ours (warm) = {base / warm:.1f}x")


if __name__ == "__main__":
    main()
