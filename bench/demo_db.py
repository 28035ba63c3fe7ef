"""The database a bench reads: the one given with --db, or a demo built in a temporary folder."""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline import demo, store  # noqa: E402


def arguments(parser: argparse.ArgumentParser, rows: int) -> None:
    parser.add_argument("--db", help="an existing database (default: build a demo in a temp folder)")
    parser.add_argument("--rows", type=int, default=rows, help="rows of the demo to build")


@contextlib.contextmanager
def opened(args: argparse.Namespace):
    """A read-only connection to --db, or to a fresh demo of --rows rows removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or str(Path(tmp) / "demo.duckdb")
        if not args.db:
            print(f"building a demo of {args.rows:,} rows ...", flush=True)
            con = store.connect(path)
            demo.build_demo(con, args.rows, 42)
            con.close()
        con = store.connect(path, read_only=True)
        try:
            yield con
        finally:
            con.close()
