"""Every page's queries at regional and national scale, side by side with pandas, into bench/RESULTS.md.

    python bench/run.py                                  # 1,000,000 and 10,000,000 submissions
    python bench/run.py --rows 1000000 --reps 9 --db-dir /var/tmp/sc-bench
    python bench/run.py --rows 1000000 --no-pandas --out -   # ours only, results to stdout

For each size a demo store is built once with `python -m pipeline demo --rows N` (in its own
process, so its memory is its own; the file is kept in --db-dir and reused on the next run) and a
model is taken as it is (the demo labels rows itself). Then, in this process:
- ours: the query functions the pages call (overview, wall, deadlines, explorer), each run `--reps`
  times on a read-only connection, for four filters (last 30 days, all time, one region, one
  district and category); p50 and p95 in ms;
- baseline: the same figure computed by pandas from a DataFrame of the needed columns of every
  submission (loaded once, load time and memory reported apart), the way a notebook does it;
  the ratio is pandas p50 / ours p50 (above 1: ours is faster);
- the peak memory (max RSS) of this process after our queries, before the baseline is loaded.
Targets (issue 11): every page query p95 < 150 ms at 10M, at least 5x faster than pandas.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import metrics, store  # noqa: E402
from pipeline.queries import cases, explore, overview, wall  # noqa: E402
from pipeline.queries.filters import OPEN_STATUSES, Filters  # noqa: E402

END = dt.date(2026, 11, 30)
NOW = dt.datetime(2026, 11, 30, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, reps: int) -> tuple[float, float]:
    fn()  # warm: the first run reads the file into DuckDB's buffer
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def build(path: Path, rows: int) -> None:
    if path.exists():
        return
    print(f"building a demo of {rows:,} rows in {path} ...", flush=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "demo", "--rows", str(rows), "--end", END.isoformat(),
                    "--db", str(path)], check=True, cwd=ROOT)
    print(f"  built in {time.perf_counter() - t:.0f} s", flush=True)


def filters(con) -> dict[str, Filters]:
    first = con.execute("SELECT CAST(min(received_at) AS DATE) FROM submissions").fetchall()[0][0] or END
    region, district = con.execute(
        "SELECT region, district FROM submissions WHERE district IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
    ).fetchall()[0]
    return {"30 days": Filters(END - dt.timedelta(days=29), END), "all time": Filters(first, END),
            "one region, all time": Filters(first, END, region=region),
            "district + category, all time": Filters(first, END, district=district, category="roads")}


def ours(con, f: Filters) -> dict:
    """The page queries for one filter: name -> a function of no arguments."""
    return {
        "overview: headline figures": lambda: overview.kpis(con, f, NOW),
        "overview: category shares": lambda: overview.category_shares(con, f),
        "overview: trend": lambda: overview.trend(con, f, NOW),
        "overview: rising problems": lambda: overview.top_rising(con, f),
        "overview: districts (map)": lambda: overview.district_stats(con, f, NOW),
        "deadlines: bucket counts": lambda: cases.bucket_counts(con, NOW, district=f.district, category=f.category,
                                                                region=f.region),
        "deadlines: overdue list, one page": lambda: cases.bucket_cases(con, "overdue", NOW, district=f.district,
                                                                        category=f.category, region=f.region, limit=500),
        "deadlines: period metrics": lambda: cases.summary(con, f, NOW),
        "explorer: facets": lambda: explore.facets(con, f, NOW),
        "explorer: row count": lambda: explore.count(con, f, NOW),
        "explorer: a page of rows": lambda: explore.page(con, f, limit=50),
    }


def load_frame(con) -> pd.DataFrame:
    return con.execute("""
        SELECT s.id, s.received_at, s.region, s.district, s.category, s.source, s.language, s.status, s.department,
               s.placement, s.category_source, s.category_confidence, s.feedback_due_at, s.feedback_at, s.due_at,
               s.resolved_at, s.resident_confirmed_at, s.priority,
               s.id IN (SELECT submission_id FROM events WHERE field = 'status' AND new = 'reopened') AS reopened
        FROM submissions s""").df()


def pandas_queries(df: pd.DataFrame, f: Filters) -> dict:
    """The same figures from a DataFrame of every submission."""
    now = pd.Timestamp(NOW)
    start, end = (pd.Timestamp(x) for x in f.bounds())

    def mask(frame=df, g=f, lo=start, hi=end):
        m = (frame["received_at"] >= lo) & (frame["received_at"] < hi)
        for name in ("region", "district", "category"):
            if getattr(g, name):
                m &= frame[name] == getattr(g, name)
        return m

    def scope(frame=df):
        m = frame["status"].isin(OPEN_STATUSES)
        for name in ("region", "district", "category"):
            if getattr(f, name):
                m &= frame[name] == getattr(f, name)
        return frame[m]

    def kpis():
        s = df[mask()]
        prev = f.previous()
        p0, p1 = (pd.Timestamp(x) for x in prev.bounds())
        open_ = s["status"].isin(OPEN_STATUSES)
        return len(s), int(open_.sum()), int((open_ & (s["due_at"] < now)).sum()), int(mask(lo=p0, hi=p1).sum())

    def trend():
        s = df.loc[mask(), ["received_at", "category"]]
        return s.groupby([s["received_at"].dt.tz_convert("Asia/Almaty").dt.floor("D"), "category"]).size()

    def rising():
        prev = f.previous()
        p0, p1 = (pd.Timestamp(x) for x in prev.bounds())
        cur = df[mask()].groupby(["category", "district"]).size()
        before = df[mask(lo=p0, hi=p1)].groupby(["category", "district"]).size()
        return (cur - before.reindex(cur.index, fill_value=0)).nlargest(10)

    def districts():
        s = df[mask(g=replace(f, district=None))]
        open_ = s["status"].isin(OPEN_STATUSES)
        return pd.DataFrame({"n": s.groupby("district").size(), "open": open_.groupby(s["district"]).sum(),
                             "overdue": (open_ & (s["due_at"] < now)).groupby(s["district"]).sum()})

    def buckets():
        s = scope()
        return {"overdue": int((s["due_at"] < now).sum()),
                "feedback_overdue": int(((s["status"] == "new") & (s["feedback_due_at"] < now)).sum()),
                "due_week": int(((s["due_at"] >= now) & (s["due_at"] < now + pd.Timedelta(days=7))).sum())}

    def overdue_list():
        s = scope()
        return s[s["due_at"] < now].sort_values(["due_at", "id"]).head(500)

    def facets():
        s = df[mask()]
        return {c: s[c].value_counts(dropna=False) for c in ("region", "district", "category", "source", "language",
                                                              "status", "department", "placement")}

    def page():
        return df[mask()].sort_values(["received_at", "id"], ascending=False).head(50)

    return {
        "overview: headline figures": kpis,
        "overview: category shares": lambda: df.loc[mask(), "category"].value_counts(normalize=True),
        "overview: trend": trend,
        "overview: rising problems": rising,
        "overview: districts (map)": districts,
        "deadlines: bucket counts": buckets,
        "deadlines: overdue list, one page": overdue_list,
        "deadlines: period metrics": lambda: metrics.summary(df[mask()], now),
        "explorer: facets": facets,
        "explorer: row count": lambda: int(mask().sum()),
        "explorer: a page of rows": page,
    }


def run_size(path: Path, reps: int, with_pandas: bool) -> list[str]:
    con = store.connect(path, read_only=True)
    rows = con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
    lines = [f"\n## {rows:,} submissions\n", f"Store: `{path}`, load average {os.getloadavg()[0]:.1f} at its start.\n",
             "| query | filter | ours p50 ms | ours p95 ms | pandas p50 ms | pandas / ours |",
             "|---|---|---|---|---|---|"]
    print(f"\n== {rows:,} submissions ({path}) ==", flush=True)
    results: dict[tuple[str, str], tuple[float, float]] = {}
    fs = filters(con)
    for label, f in fs.items():
        for name, fn in ours(con, f).items():
            results[(name, label)] = timed(fn, reps)
            print(f"  {name:<36} {label:<30} p50 {results[(name, label)][0]:8.1f} p95 {results[(name, label)][1]:8.1f}",
                  flush=True)
    t = time.perf_counter()
    wall_times = timed(lambda: wall.snapshot(con, NOW), reps)
    print(f"  wall: one refresh p50 {wall_times[0]:.0f} ms", flush=True)
    our_peak = peak_mb()
    base: dict[tuple[str, str], float] = {}
    load_s = frame_mb = None
    if with_pandas:
        t = time.perf_counter()
        df = load_frame(con)
        load_s, frame_mb = time.perf_counter() - t, df.memory_usage(deep=True).sum() / 2**20
        for label, f in fs.items():
            for name, fn in pandas_queries(df, f).items():
                base[(name, label)] = timed(fn, max(1, reps // 3))[0]
        del df
    for (name, label), (p50, p95) in results.items():
        b = base.get((name, label))
        lines.append(f"| {name} | {label} | {p50:.1f} | {p95:.1f} | {'' if b is None else f'{b:.0f}'} | "
                     f"{'' if b is None else f'{b / p50:.1f}x'} |")
    worst = max(results.items(), key=lambda kv: kv[1][1])
    slower = [k for k, v in results.items() if k in base and base[k] / v[0] < 5]
    lines += ["", f"- wall display, one refresh (every query of `wall.snapshot`): p50 {wall_times[0]:.0f} ms, "
                  f"p95 {wall_times[1]:.0f} ms",
              f"- slowest query at p95: {worst[0][0]} ({worst[0][1]}), {worst[1][1]:.0f} ms",
              f"- queries under 150 ms at p95: {sum(v[1] < 150 for v in results.values())} of {len(results)}",
              f"- peak memory of this process after our queries: {our_peak:,.0f} MB"]
    if with_pandas:
        lines += [f"- pandas baseline: loading the frame took {load_s:.1f} s and holds {frame_mb:,.0f} MB",
                  f"- queries less than 5x faster than pandas: {len(slower)} of {len(base)}"
                  + (": " + "; ".join(f"{n} ({lbl})" for n, lbl in slower) if slower else "")]
    con.close()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="sizes to measure (repeatable)")
    parser.add_argument("--db-dir", default="/var/tmp/sc-bench", help="where the built stores are kept and reused")
    parser.add_argument("--db", help="measure this existing store instead of building demos")
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"), help="results file, or - for stdout")
    args = parser.parse_args()
    paths = [Path(args.db)] if args.db else []
    if not args.db:
        Path(args.db_dir).mkdir(parents=True, exist_ok=True)
        for rows in args.rows or [1_000_000, 10_000_000]:
            paths.append(Path(args.db_dir) / f"demo_{rows}.duckdb")
            build(paths[-1], rows)
    lines = ["# Benchmark results (`python bench/run.py`)", "",
             f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"run {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}, load average before the run "
             f"{os.getloadavg()[0]:.1f}.", "",
             "Ours: the functions the pages call, on a read-only connection. Pandas: the same figures from a "
             "DataFrame of every submission already in memory (its load is reported apart)."]
    for path in paths:
        lines += run_size(path, args.reps, not args.no_pandas)
    text = "\n".join(lines) + "\n"
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text)
        print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
