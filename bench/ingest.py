"""Ingest throughput and memory: `python bench/ingest.py [--rows 1000000] [--batch 100000]`.

Generates a Russian-locale call-centre export (';', UTF-8 with BOM, dd.mm.yyyy dates, texts of
300-400 characters, made in parts of 500,000 rows so the generator stays small too) and measures,
each in a child process of its own (peak memory per process from wait4):

- baseline: DuckDB's own read_csv of the same file into a table of a fresh database file;
- ingest: `python -m pipeline ingest --no-classify` into a fresh database: read, validate, spool
  and drain, the rows durable (stored, pending classification);
- classify: `python -m pipeline classify-pending`: the pending step that follows.

Rows/s are given by wall time and by CPU time (user + system of the process): the machine's two
cores are shared, so the load average is printed with the figures. Targets (issue 11): durable
ingest >= 50,000 rows/s and peak < 1 GB; classification >= 20,000 texts/s.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


PART = 500_000


def run(args: list[str], env: dict | None = None) -> dict:
    """Like child(), with the child's own rusage (Popen.wait would reap it before wait4 could)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:  # a file, not a pipe: a progress bar could fill a pipe unread
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True,
                                env={**os.environ, **(env or {})})
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        said = err.read().strip().splitlines()[-5:]
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(args[:5])} failed with exit code {proc.returncode}: " + " / ".join(said))
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "out": out.strip()}


def make_file(path: Path, rows: int) -> None:
    from pipeline import synth

    done = 0
    while done < rows:
        n = min(PART, rows - done)
        synth.call_centre_csv(path, n, seed=1 + done // PART, long_texts=True, first_id=done + 1, append=done > 0)
        done += n


def line(name: str, rows: int, r: dict, unit: str = "rows") -> str:
    return (f"{name:<10} {r['wall']:8.1f} s wall {rows / r['wall']:>10,.0f} {unit}/s   {r['cpu']:8.1f} s CPU "
            f"{rows / r['cpu']:>10,.0f} {unit}/CPU-s   peak {r['peak_mb']:>7,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=None, help="SC_INGEST_BATCH for the ingest")
    parser.add_argument("--dir", help="work folder (default: a temporary one, removed afterwards)")
    parser.add_argument("--classify-rows", type=int, default=100_000,
                        help="texts the pending step is timed on (0: skip; all rows take long on 2 shared cores)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        csv = tmp / "calls.csv"
        t0 = time.perf_counter()
        # in a child: a child's peak memory starts from its parent's (fork), so the parent stays small
        subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from bench.ingest import "
                        "make_file; from pathlib import Path; make_file(Path(sys.argv[2]), int(sys.argv[3]))",
                        str(ROOT), str(csv), str(args.rows)], check=True)
        print(f"file: {args.rows:,} rows, {csv.stat().st_size / 1e6:,.0f} MB (made in {time.perf_counter() - t0:.0f} s)")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        env = {"SC_INGEST_BATCH": str(args.batch)} if args.batch else {}
        py = sys.executable
        base = run([py, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[2]); "
                    "con.execute(\"CREATE TABLE t AS SELECT * FROM read_csv(?, delim=';', header=true)\", [sys.argv[1]]); "
                    "print(con.execute('SELECT count(*) FROM t').fetchall()[0][0])", str(csv), str(tmp / "base.duckdb")])
        db = tmp / "bench.duckdb"
        ing = run([py, "-m", "pipeline", "ingest", str(csv), "--db", str(db), "--source", "hotline_109",
                   "--no-classify"], env)
        print(f"load average after ingest: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        n_cls = min(args.classify_rows, args.rows)
        cls = run([py, "-m", "pipeline", "classify-pending", "--db", str(db), "--limit", str(n_cls)]) if n_cls else None
        print(f"load average after classify: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"ingest:   {ing['out'].splitlines()[-1]}")
    if cls:
        print(f"classify: {cls['out'].splitlines()[-1]}")
    print(line("read_csv", args.rows, base))
    print(line("ingest", args.rows, ing))
    if cls:
        print(line("classify", n_cls, cls, "texts"))
    print(f"ratio ingest/read_csv: {ing['wall'] / base['wall']:.1f}x wall, {ing['cpu'] / base['cpu']:.1f}x CPU")
    print("targets: ingest >= 50,000 rows/s and < 1,024 MB; classify >= 20,000 texts/s")


if __name__ == "__main__":
    main()
