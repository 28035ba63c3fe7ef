"""Export speed and peak memory: `python bench/export.py [--rows 500000] [--db FILE] [--keep]`.

Builds a DuckDB file of synthetic submissions (generate_series; texts of 300-400 characters of
Russian and Kazakh pieces, some with phones), then runs each export in a child process of its own
which reports its own peak resident memory (VmHWM in /proc/self/status), so one measurement does
not inherit another's, nor the builder's. Runs:
- csv, xlsx, parquet for the trusted path (contacts included, texts not masked);
- csv for a viewer without contacts (every text through privacy.mask);
- baseline: the same rows read whole into pandas (`con.execute(sql).df()`) and `df.to_csv`, in one process.
Target: peak < 500 MB for 500,000 rows in every format.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore", message=".*inplace keyword")  # raised inside duckdb .df()
sys.path.insert(0, str(ROOT))

PIECES = [
    "Во дворе дома большая яма на дороге, машины не могут проехать. ",
    "Третий день нет горячей воды во всём подъезде, управляющая компания не отвечает. ",
    "Жолда үлкен шұңқыр бар, көлік жүре алмайды, тез арада жөндеуді сұраймыз. ",
    "Көше жарығы бір аптадан бері жанбайды, кешкісін қараңғы, балалар қорқады. ",
    "Просим вывезти мусор, контейнеры переполнены, запах на весь двор. ",
    "Қоқыс шығарылмайды, иісі жаман, тышқандар пайда болды. ",
    "Не работает светофор на перекрёстке, опасно для пешеходов и детей. ",
    "Звоните по номеру +7 701 123 45 67, Айгуль Серикбаевна. ",
    "Бродячие собаки возле школы нападают на детей, примите меры. ",
    "Аулада ағаштар кесілді, жаңа көшет отырғызуды өтінеміз. ",
    "В подвале течёт канализация, стоит вода, сырость в квартирах. ",
    "Автобус № 12 ходит раз в час, люди опаздывают на работу. ",
]


def build(path: Path, rows: int) -> float:
    from pipeline import reference, store

    began = time.perf_counter()
    con = store.connect(path)
    pieces = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in PIECES) + "]"
    districts = reference.districts()["code"].tolist()
    categories = reference.category_codes()
    k = len(PIECES)
    # eight pieces from a hash of the row number, cut to 300-400 characters
    text = " || ".join(f"{pieces}[1 + (hash(i, {j}) % {k})::INT]" for j in range(8))
    con.execute(f"""
        INSERT INTO submissions (source, source_id, received_at, text, language, region, district, address,
                                 contact, category, category_confidence, priority, status, feedback_due_at, due_at)
        SELECT ['hotline_109', 'qr', 'web'][1 + i % 3], 'b' || i,
               TIMESTAMPTZ '2025-01-01 00:00:00+00' + to_seconds(i * 60),
               left({text}, 300 + (hash(i, 99) % 101)::INT),
               ['ru', 'kk'][1 + i % 2], CASE WHEN i % 2 = 0 THEN 'aktobe' ELSE 'shymkent' END,
               ?[1 + (hash(i, 7) % ?)::INT], 'ул. Абая ' || (i % 200) || ', кв. ' || (i % 90),
               '+7 701 ' || lpad((i % 1000)::VARCHAR, 3, '0') || ' 45 67; Айгуль',
               ?[1 + (hash(i, 8) % ?)::INT], (hash(i, 9) % 1000) / 1000.0, 'normal', 'new',
               TIMESTAMPTZ '2025-01-02 00:00:00+00' + to_seconds(i * 60),
               TIMESTAMPTZ '2025-01-20 00:00:00+00' + to_seconds(i * 60)
        FROM generate_series(1, ?) AS t(i)""", [districts, len(districts), categories, len(categories), rows])
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - began


SQL_NOTE = "the export's own SELECT (pipeline.export._sql)"


def child(mode: str, db: str, out: str) -> None:
    """One measured run; prints rows and seconds."""
    from pipeline import auth, export, store
    from pipeline.queries.filters import Filters

    f = Filters(dt.date(2000, 1, 1), dt.date(2040, 12, 31))
    con = export.connect(db) if mode != "baseline" else store.connect(db, read_only=True)
    began = time.perf_counter()
    if mode == "baseline":
        sql, params = export._sql(f, None)
        df = con.execute(sql, params).df()
        df.to_csv(out, index=False, encoding="utf-8-sig")
        rows = len(df)
    else:
        fmt, _, who = mode.partition(":")
        viewer = auth.viewer_for("bench", "analyst") if who == "masked" else None
        rows = export.export(con, f, fmt, out, viewer, batch_rows=int(os.environ.get("BENCH_BATCH", export.BATCH_ROWS)))
    # VmHWM: the peak resident memory of this program since exec; wait4's ru_maxrss would also
    # count the forked copy of the parent before exec (800 MB after the parent built the store)
    peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(rows, time.perf_counter() - began, peak_kb)


def measure(mode: str, db: Path, out: Path) -> tuple[int, float, float]:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, str(db), str(out)],
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"{mode} failed with exit code {proc.returncode}")
    rows, seconds, peak_kb = proc.stdout.split()
    return int(rows), float(seconds), int(peak_kb) / 1024


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=500_000)
    p.add_argument("--db", help="reuse (or build) this DuckDB file")
    p.add_argument("--only", help="comma-separated runs, e.g. csv,baseline")
    p.add_argument("--batch", type=int, default=20_000, help="batch_rows of the export")
    p.add_argument("--keep", action="store_true", help="keep the outputs in the temporary folder")
    args = p.parse_args()
    os.environ["BENCH_BATCH"] = str(args.batch)
    work = Path(tempfile.mkdtemp(prefix="bench_export_"))
    db = Path(args.db) if args.db else work / "bench.duckdb"
    if not db.exists():
        print(f"building {args.rows:,} submissions in {db} ... {build(db, args.rows):.0f} s")
    runs = ["csv", "xlsx", "parquet", "csv:masked", "baseline"]
    if args.only:
        runs = [r for r in runs if r in args.only.split(",")]
    print(f"{'run':<12} {'rows':>9} {'seconds':>8} {'rows/s':>8} {'peak MB':>8} {'file MB':>8}")
    for mode in runs:
        out = work / f"out_{mode.replace(':', '_')}.{'csv' if mode == 'baseline' else mode.split(':')[0]}"
        rows, seconds, peak = measure(mode, db, out)
        print(f"{mode:<12} {rows:>9,} {seconds:>8.1f} {rows / seconds:>8,.0f} {peak:>8.0f} "
              f"{out.stat().st_size / 2**20:>8.0f}", flush=True)
        if not args.keep:
            out.unlink()
    if not args.keep and not args.db:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
