"""python -m pipeline <command> ...  Every command has --help and an example.

Commands live in their modules as arguments_<name>(parser) and run_<name>(args) -> exit code;
a module is imported only when its command runs, so --help stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from pipeline import settings

COMMANDS: list[tuple[str, str, str, str]] = [
    ("ingest", "pipeline.ingest", "load CSV, XLSX, JSON Lines or Open311 files; bad rows go to quarantine",
     "python -m pipeline ingest calls.csv exports/ --source hotline_109"),
    ("classify-pending", "pipeline.pending", "classify the rows an ingest stored before their classification (the running app does it itself)",
     "python -m pipeline classify-pending --db data/situation.duckdb --progress"),
    ("drain", "pipeline.spool", "apply spool files waiting in the inbox (when no app is running)",
     "python -m pipeline drain --db data/situation.duckdb"),
    ("publish", "pipeline.public", "write what the public proposal form shows residents (status.json) from the store (the running app does it after each drain)",
     "python -m pipeline publish --db data/situation.duckdb --out /srv/form-public"),
    ("demo", "pipeline.demo", "build a deterministic two-year demo history for Aktobe region and Shymkent",
     "python -m pipeline demo --rows 200000 --seed 42 --db /tmp/demo.duckdb"),
    ("train", "pipeline.train", "train the problem classifier and save a new model version",
     "python -m pipeline train --data extra_labels.csv"),
    ("evaluate", "pipeline.train", "score a model on a labelled CSV (text,category)",
     "python -m pipeline evaluate --data heldout.csv"),
    ("classify", "pipeline.train", "add category, confidence and language to a CSV of texts",
     "python -m pipeline classify --data texts.csv --out labelled.csv"),
    ("surges", "pipeline.surge", "list current surge alerts: categories abnormally busy in a district",
     "python -m pipeline surges --at '2026-11-20 18:00' --region shymkent"),
    ("geo", "pipeline.geo", "build the schematic district map, or check an official GeoJSON before using it",
     "python -m pipeline geo --check official_districts.geojson"),
    ("rollback", "pipeline.train", "restore the previous model version",
     "python -m pipeline rollback"),
    ("backup", "pipeline.backup", "a consistent backup (store, users, model in use) to a new folder, also while the app runs",
     "python -m pipeline backup /srv/backups/2026-11-30"),
    ("restore", "pipeline.backup", "put a checked backup in place of the store (stop the app first)",
     "python -m pipeline restore /srv/backups/2026-11-30"),
    ("export", "pipeline.export", "export the submissions a filter selects to CSV, XLSX or Parquet (contacts only with --with-contacts, audited)",
     "python -m pipeline export --category roads --district al_farabi --since 2026-03-01 --out potholes.xlsx"),
    ("ideas", "pipeline.ideas", "group residents' proposals into ideas (update: what is new; regroup: all again, staff's placements kept) and list the top ideas",
     "python -m pipeline ideas regroup --db data/situation.duckdb"),
    ("publish-decisions", "pipeline.ideas", "write the accepted ideas (masked) to <SC_PUBLIC_DIR>/decisions.json for the public form",
     "python -m pipeline publish-decisions --out /srv/public/decisions.json"),
    ("briefing", "pipeline.briefing", "the akim's briefing for a period and territory as PDF or DOCX (Russian, Kazakh or English)",
     "python -m pipeline briefing --period 2026-10 --territory aktobe --lang kk --out brief.pdf"),
    ("posters", "pipeline.posters", "one print-ready PDF of QR-code posters (A4 or A5) for a CSV of placements, or for the store's active ones",
     "python -m pipeline posters placements.csv --size a5 --out posters.pdf"),
    ("publish-placements", "pipeline.placements", "write placements.json for the public form (the app does it on every change)",
     "python -m pipeline publish-placements --db data/situation.duckdb"),
    ("users", "pipeline.auth", "manage users (add, passwd, disable, enable, role, list), wall tokens and the audit log",
     "python -m pipeline users add aliya --role operator"),
]


def _overview() -> str:
    lines = ["commands:"]
    for name, _, help_, example in COMMANDS:
        lines.append(f"  {name:<18} {help_}\n  {'':<18} e.g. {example}")
    lines.append("\nsettings (environment variables):")
    for env, value, help_ in settings.describe():
        lines.append(f"  {env:<20} {help_} [now: {value}]")
    return "\n".join(lines)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr like every other error."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def describe(exc: BaseException) -> str:
    """One line for an exception a command did not expect."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    if isinstance(exc, RecursionError):
        return "input nested too deeply"
    if isinstance(exc, MemoryError):
        return "out of memory"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    table = {name: (module, help_, example) for name, module, help_, example in COMMANDS}
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in table:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown command {argv[0]!r}\n", file=sys.stderr)
        print("usage: python -m pipeline <command> [options]\n\n" + _overview())
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    name = argv[0]
    module_name, help_, example = table[name]
    module = importlib.import_module(module_name)
    parser = OneLineParser(
        prog=f"python -m pipeline {name}", description=help_, epilog=f"example: {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    getattr(module, f"arguments_{name.replace('-', '_')}")(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(getattr(module, f"run_{name.replace('-', '_')}")(args) or 0)
    except KeyboardInterrupt:
        print(f"error: {name}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last net: commands report what they expect themselves
        if settings.get("DEBUG") == "1":
            raise
        print(f"error: {name}: {describe(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
