"""The query layer on three engines over the same data: the app's DuckDB file, DuckDB reading the
partitioned Parquet export, and ClickHouse (embedded chdb) reading the same Parquet through the
engine seam (pipeline.engines). For docs/scaling.md.

    python bench/engines.py [--db /tmp/explorer_1000000.duckdb] [--parquet DIR] [--reps 5]
                            [--clients 1,2,4] [--only NAME ...]

The store is opened read-only; the Parquet export goes to --parquet (default /tmp/sc_parquet_<rows>)
and is reused when it is there. For each query: p50 over --reps runs after one warm-up run, the
CPU time per run of this process (every engine thread included), and whether the three engines
gave the same result. Then throughput with several clients at once (threads, each with its own
cursor or session), which is what hundreds of users turn into. Prints ratios against the
DuckDB file, measured in the same process. Runs a few minutes at 1,000,000 rows on 2 cores.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline import engines, store  # noqa: E402
from pipeline.queries import cases, explore, overview, wall  # noqa: E402
from pipeline.queries.filters import Filters  # noqa: E402

warnings.filterwarnings("ignore", message=".*inplace keyword")


def duckdb_on_parquet(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose tables are views over the export (the partition column dropped)."""
    con = duckdb.connect()
    store.configure(con)
    glob = str(folder / "submissions" / "**" / "*.parquet").replace("'", "''")
    con.execute(f"CREATE VIEW submissions AS SELECT * EXCLUDE (ym) FROM read_parquet('{glob}', hive_partitioning = false)")
    for table in engines.SMALL_TABLES:
        path = folder / f"{table}.parquet"
        if path.exists():
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{str(path).replace(chr(39), chr(39) * 2)}')")
    return con


def cases_for(now: dt.datetime, first: dt.date) -> dict:
    today = now.astimezone(dt.timezone(dt.timedelta(hours=5))).date()
    last30 = Filters(today - dt.timedelta(days=29), today)
    all_time = Filters(first, today)
    region = Filters(today - dt.timedelta(days=29), today, region="shymkent")
    return {
        "overview kpis, 30 days": lambda c: overview.kpis(c, last30, now),
        "overview kpis, all time": lambda c: overview.kpis(c, all_time, now),
        "overview trend, 30 days": lambda c: overview.trend(c, last30, now),
        "overview trend, all time": lambda c: overview.trend(c, all_time, now),
        "overview district counts, 30 days, one region": lambda c: overview.district_stats(c, region, now),
        "wall case figures": lambda c: wall.case_figures(c, now),
        "wall trend vs last year": lambda c: wall.trend_vs_last_year(c, now),
        "deadlines bucket counts": lambda c: cases.bucket_counts(c, now),
        "deadlines overdue list, first 50": lambda c: cases.bucket_cases(c, "overdue", now, limit=50),
        "explorer facets, 30 days": lambda c: explore.facets(c, last30, now),
        "explorer facets, all time": lambda c: explore.facets(c, all_time, now),
        "explorer page 1, one region": lambda c: explore.page(c, region, now=now),
    }


def equal(a, b) -> bool:
    if isinstance(a, pd.DataFrame):
        if a.shape != b.shape or list(a.columns) != list(b.columns):
            return False
        na = a.astype(str).sort_values(list(a.columns)).reset_index(drop=True) if len(a.columns) else a
        nb = b.astype(str).sort_values(list(b.columns)).reset_index(drop=True) if len(b.columns) else b
        for col in a.columns:  # numbers within 1e-9, the rest as text
            if pd.api.types.is_numeric_dtype(a[col]) and pd.api.types.is_numeric_dtype(b[col]):
                x = a[col].astype(float).sort_values().reset_index(drop=True)
                y = b[col].astype(float).sort_values().reset_index(drop=True)
                if not ((x - y).abs().fillna(0) <= 1e-9 * (1 + x.abs().fillna(0))).all() or (x.isna() != y.isna()).any():
                    return False
            elif not (na[col].replace({"nan": "None", "NaT": "None", "<NA>": "None"})
                      .equals(nb[col].replace({"nan": "None", "NaT": "None", "<NA>": "None"}))):
                return False
        return True
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * (1 + abs(a))
    return a == b


def timed(fn, con, reps: int) -> tuple[float, float]:
    """p50 wall ms and mean CPU ms (this process, all threads) per run, after one warm-up."""
    fn(con)
    walls, cpu0 = [], time.process_time()
    for _ in range(reps):
        t = time.perf_counter()
        fn(con)
        walls.append(1000 * (time.perf_counter() - t))
    return statistics.median(walls), 1000 * (time.process_time() - cpu0) / reps


def throughput(make_con, fns: list, clients: int, seconds: float) -> float:
    """Queries per second with `clients` threads each running the list round-robin."""
    done, stop = [0] * clients, time.perf_counter() + seconds
    errors: list[BaseException] = []

    def work(i: int) -> None:
        con = make_con()
        k = i
        try:
            while time.perf_counter() < stop:
                fns[k % len(fns)](con)
                k += 1
                done[i] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(done) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/explorer_1000000.duckdb")
    parser.add_argument("--parquet", default=None)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--clients", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=8.0, help="per throughput measurement")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args(argv)

    con = store.connect(args.db, read_only=True)
    rows = store.submission_count(con)
    folder = Path(args.parquet or f"/tmp/sc_parquet_{rows}")
    if not (folder / "submissions").is_dir():
        t = time.perf_counter()
        engines.export_parquet(con, folder)
        print(f"export of {rows:,} rows to partitioned Parquet: {time.perf_counter() - t:.1f} s")
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    files = sum(1 for _ in (folder / "submissions").rglob("*.parquet"))
    print(f"Parquet: {size / 1e6:,.0f} MB in {files} files; DuckDB file {Path(args.db).stat().st_size / 1e6:,.0f} MB")
    now = con.execute("SELECT max(received_at) FROM submissions").fetchall()[0][0]
    first = overview.data_range(con)[0]
    pq = duckdb_on_parquet(folder)
    ch = engines.ClickHouseConnection(folder)
    named = cases_for(now, first)
    if args.only:
        named = {k: v for k, v in named.items() if any(o in k for o in args.only)}

    print(f"\n{rows:,} submissions; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; duckdb {duckdb.__version__}, chdb {'.'.join(engines_version())}")
    print("| query | DuckDB file p50 ms | DuckDB on Parquet p50 ms | chdb on Parquet p50 ms | chdb / DuckDB file "
          "| CPU ms per run (file / Parquet / chdb) | equal |")
    print("|---|---|---|---|---|---|---|")
    for name, fn in named.items():
        a, b, c = fn(con), fn(pq), fn(ch)
        same = equal(a, b) and equal(a, c)
        (w1, c1), (w2, c2), (w3, c3) = (timed(fn, x, args.reps) for x in (con, pq, ch))
        print(f"| {name} | {w1:,.0f} | {w2:,.0f} | {w3:,.0f} | {w3 / w1:.2f} | {c1:,.0f} / {c2:,.0f} / {c3:,.0f} "
              f"| {'yes' if same else 'NO'} |", flush=True)
    samples = [_sample_sql(fn, ch) for fn in named.values()]
    t = time.perf_counter()
    n = 0
    for sample in samples:  # the translation alone, parse cached as in a running app
        for _ in range(5):
            engines.translate(*sample)
            n += 1
    print(f"\ntranslation (sqlglot, cached parse + binding + writing): {1000 * (time.perf_counter() - t) / n:.1f} ms per statement")

    fns = list(named.values())
    print("\n| clients | DuckDB file q/s | chdb on Parquet q/s |")
    print("|---|---|---|")
    for k in (int(x) for x in args.clients.split(",")):
        qd = throughput(lambda: con.cursor(), fns, k, args.seconds)
        qc = throughput(lambda: engines.ClickHouseConnection(folder) if k > 1 else ch, fns, k, args.seconds)
        print(f"| {k} | {qd:.1f} | {qc:.1f} |", flush=True)
    print(f"\npeak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    return 0


def engines_version() -> tuple:
    import chdb

    return tuple(str(x) for x in chdb.chdb_version)


class _Recorder:
    """A stand-in connection that keeps the last statement a query function sends."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def execute(self, sql, params=None):
        self.calls.append((sql, params))
        return self.real.execute(sql, params)


def _sample_sql(fn, ch) -> tuple:
    rec = _Recorder(ch)
    fn(rec)
    sql, params = rec.calls[-1]
    return sql, params, ch.tz


if __name__ == "__main__":
    sys.exit(main())
