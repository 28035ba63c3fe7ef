"""What the staff side publishes for the public proposal form, which never opens the database.

The form (formapp/) reads three JSON files in settings.public_path():

- placements.json: where QR codes hang, a list of {"code", "kind", "name_ru", "name_kk", "region",
  "district", "active"} (written by the placements registry);
- status.json (written here): what a resident may see about their own receipt and nothing else:
  the status in words, the category, dates and, later, the idea it joined. No text of anyone, no
  contact, no district;
- decisions.json (schema here, filled by the ideas' decisions): the accepted ideas and what the
  city did, for the page "what the city decided".

Files are replaced atomically (written beside, fsynced, renamed), so the form reads either the
old or the new file, never half of one. Publishing runs after each drain in the app and as
`python -m pipeline publish`.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline import i18n, settings

PLACEMENTS_FILE = "placements.json"
STATUS_FILE = "status.json"
DECISIONS_FILE = "decisions.json"
SCHEMA_VERSION = 1
# Submissions of the public form: the QR channel's source, marked in extra as coming from the form;
# their source_id is the receipt number the resident was given.
FORM_SOURCE = "qr"
FORM_CHANNEL = "form"
PUBLIC_LANGS = ("kk", "ru", "en")
DECISION_FIELDS = ("idea", "district", "title", "text", "supporters", "decision", "department", "date", "answer")
DECISIONS = ("accepted", "under_study", "rejected")


def write_json_atomic(path: Path, obj) -> bool:
    """Replace `path` with obj as JSON unless it already holds exactly that; True when written."""
    path = Path(path)
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


# ---- status.json -------------------------------------------------------------------------------
def form_statuses(con) -> list[tuple]:
    """(receipt, status, category, received_at, feedback_at, resolved_at, updated_at) of every
    submission that came through the public form."""
    return con.execute(
        "SELECT s.source_id, s.status, s.category, s.received_at, s.feedback_at, s.resolved_at, "
        "       (SELECT max(e.happened_at) FROM events e WHERE e.submission_id = s.id) "
        "FROM submissions s "
        "WHERE s.source = ? AND json_extract_string(s.extra, '$.channel') = ? "
        "ORDER BY s.received_at, s.source_id", [FORM_SOURCE, FORM_CHANNEL]).fetchall()


def events_version(con) -> int:
    """Changes since the last publication show here: every insert and every change is an event."""
    return con.execute("SELECT coalesce(max(id), 0) FROM events").fetchall()[0][0]


def _day(value, tz: ZoneInfo) -> str | None:
    return value.astimezone(tz).date().isoformat() if value is not None else None


def _words(key: str) -> dict[str, str]:
    return {lang: i18n.t(key, lang) for lang in PUBLIC_LANGS}


def _category_words() -> dict[str, dict[str, str]]:
    from pipeline import reference

    return {row["code"]: {lang: row[f"name_{lang}"] for lang in PUBLIC_LANGS}
            for row in reference.taxonomy().to_dict("records")}


def status_document(con, now: dt.datetime | None = None) -> dict:
    tz = ZoneInfo(settings.get("TZ"))
    categories = _category_words()
    receipts = {}
    for receipt, status, category, received, feedback, resolved, updated in form_statuses(con):
        receipts[receipt] = {
            "status": status, "status_text": _words(f"form.status.{status}"),
            "category": category, "category_text": categories.get(category),
            "received": _day(received, tz), "feedback": _day(feedback, tz), "resolved": _day(resolved, tz),
            "updated": _day(updated or received, tz), "idea": None,
        }
    return {"version": SCHEMA_VERSION, "receipts": receipts}


def publish(con, public_dir: str | Path | None = None) -> dict:
    """Write status.json for the form from the store; {"receipts": n, "written": bool, "path": ...}."""
    folder = Path(public_dir) if public_dir else settings.public_path()
    doc = status_document(con)
    path = folder / STATUS_FILE
    written = write_json_atomic(path, doc)
    return {"receipts": len(doc["receipts"]), "written": written, "path": str(path)}


class Publisher:
    """Publishes after a drain only when something changed (a new event) or the file is gone: the
    app drains every SC_DRAIN_INTERVAL seconds and most drains find nothing."""

    def __init__(self, public_dir: str | Path | None = None):
        self.public_dir = Path(public_dir) if public_dir else settings.public_path()
        self.version: int | None = None

    def maybe_publish(self, con) -> dict | None:
        version = events_version(con)
        if version == self.version and (self.public_dir / STATUS_FILE).exists():
            return None
        result = publish(con, self.public_dir)
        self.version = version
        return result


# ---- decisions.json ------------------------------------------------------------------------------
def check_decision(item: dict) -> dict:
    """One published decision, checked: idea (id), district (code), title, text (the idea's
    representative text), supporters (int), decision (accepted, under_study, rejected), department
    (code), date (YYYY-MM-DD), answer (what was done or why not). Raises ValueError."""
    unknown = set(item) - set(DECISION_FIELDS)
    if unknown:
        raise ValueError(f"unknown decision fields: {', '.join(sorted(unknown))}")
    for field in ("idea", "district", "title", "decision", "date"):
        if not item.get(field):
            raise ValueError(f"a decision needs {field!r}")
    if item["decision"] not in DECISIONS:
        raise ValueError(f"decision {item['decision']!r}: one of {', '.join(DECISIONS)}")
    dt.date.fromisoformat(str(item["date"]))
    out = {field: item.get(field) for field in DECISION_FIELDS}
    out["supporters"] = int(out["supporters"] or 0)
    return out


def write_decisions(items: list[dict], public_dir: str | Path | None = None) -> Path:
    """decisions.json for the form's page "what the city decided" (it lists the accepted ones)."""
    folder = Path(public_dir) if public_dir else settings.public_path()
    path = folder / DECISIONS_FILE
    write_json_atomic(path, {"version": SCHEMA_VERSION, "decisions": [check_decision(i) for i in items]})
    return path


# ---- CLI -----------------------------------------------------------------------------------------
def arguments_publish(parser) -> None:
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--out", help="folder the public form reads (default: SC_PUBLIC_DIR, else <DB>.public)")


def run_publish(args) -> int:
    from pipeline import store

    db = settings.db_path(args.db)
    con = store.connect_writer_or_explain(db, "the running app publishes after each drain itself", must_exist=True)
    if con is None:
        return 1
    try:
        folder = Path(args.out) if args.out else settings.public_path(db)
        result = publish(con, folder)
    except OSError as exc:
        print(f"error: cannot write {exc.filename or folder}: {exc.strerror}", file=sys.stderr)
        return 1
    finally:
        con.close()
    state = "written" if result["written"] else "unchanged"
    print(f"{result['path']}: {result['receipts']} receipt(s), {state}")
    return 0
