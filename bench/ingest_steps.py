"""Where the durable ingest's time goes: `python bench/ingest_steps.py FILE [--batch 50000]`.

Runs the steps of `python -m pipeline ingest --no-classify` one after the other in this process
(no applier thread, so each step's time is its own; CPU is the process's, DuckDB's threads included) into a fresh database in a temporary folder,
and prints wall and CPU seconds per step: sniffing (checksum, encoding), reading CSV records,
validation and its parts (dates, cleaning, districts, content ids), spool write (Parquet, fsync),
and the drain (submissions insert, 'created' events, quarantine, rollup). Wrapping functions
costs a little; the shares are what matter. Print `uptime` with the figures (2 shared cores).
"""
from __future__ import annotations

import argparse
import functools
import inspect
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TIMES: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])


def timed(module, name: str, label: str | None = None) -> None:
    fn = getattr(module, name)
    label = label or f"{module.__name__.split('.')[-1]}.{name}"

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        w, c = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            t = TIMES[label]
            t[0] += time.perf_counter() - w
            t[1] += time.process_time() - c
            t[2] += 1

    setattr(module, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--batch", type=int, default=None, help="records per batch (default: SC_INGEST_BATCH)")
    args = parser.parse_args()

    from pipeline import events, ingest, inbox, readers, rollup, settings, spool, store

    for module, name in [(readers, "_sniff"), (ingest, "parse_dates"), (ingest, "_clean"), (ingest, "_frame"),
                         (ingest, "map_distinct"), (ingest, "_content_id"), (ingest, "_validate"),
                         (spool, "_write_parquet"), (inbox, "fsync_file"), (inbox, "fsync_dir"),
                         (inbox, "write_json"), (spool, "write"), (events, "record_created"),
                         (rollup, "keep_up"), (spool, "_insert"), (spool, "_remove"), (spool, "drain")]:
        timed(module, name)
    batch = args.batch or settings.get_int("INGEST_BATCH")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        db = Path(tmp) / "steps.duckdb"
        box = settings.inbox_path(db)
        (box / "tmp").mkdir(parents=True)
        con = store.connect(db)
        con.execute("SET checkpoint_threshold = ?", [settings.get("INGEST_CHECKPOINT")])
        con.execute("SET memory_limit = ?", [settings.get("INGEST_MEMORY")])
        w0, c0 = time.perf_counter(), time.process_time()
        batches = ingest.prepare_batches(args.file, "hotline_109", batch_rows=batch)  # sniffs, reads batch 1
        read_w, read_c = time.perf_counter() - w0, time.process_time() - c0
        n = 0
        while True:
            w, c = time.perf_counter(), time.process_time()
            try:
                prepared = next(batches)
            except StopIteration:
                break
            read_w += time.perf_counter() - w
            read_c += time.process_time() - c
            n += prepared.read
            spool.write(prepared, box)
            del prepared
            if "refresh_rollup" in inspect.signature(spool.drain).parameters:  # as the ingest command does
                spool.drain(con, box, refresh_rollup=False)
            else:  # the code before the rollup was refreshed once per ingest (for a before/after run)
                spool.drain(con, box)
        if "refresh_rollup" in inspect.signature(spool.drain).parameters:
            rollup.keep_up(con)
        con.close()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    v = TIMES["ingest._validate"]
    TIMES["readers: reading + decoding CSV records (next batch minus validation)"] = [
        read_w - v[0] - TIMES["readers._sniff"][0], read_c - v[1] - TIMES["readers._sniff"][1], 1]
    print(f"{n:,} rows, batch {batch:,}: {wall:.1f} s wall ({n / wall:,.0f} rows/s), "
          f"{cpu:.1f} s CPU of the process, DuckDB's threads included ({n / cpu:,.0f} rows/CPU-s)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'step':<72} {'wall s':>7} {'CPU s':>7} {'calls':>6}")
    for label, (w, c, k) in sorted(TIMES.items(), key=lambda kv: -kv[1][0]):
        print(f"{label:<72} {w:7.2f} {c:7.2f} {k:6d}")


if __name__ == "__main__":
    main()
