"""One table of settings: (name, default, help). Each is overridable by the env var SC_<NAME>.

Values are read on every call so tests and the CLI can override them per process.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SETTINGS: list[tuple[str, str, str]] = [
    ("DB", "data/situation.duckdb", "DuckDB file that is the system of record"),
    ("INBOX", "", "spool folder drained by the writer process; empty means <DB>.inbox next to the DB"),
    ("MODEL_DIR", "data/models", "folder of versioned classifier models (generated, not committed)"),
    ("CV_AFTER_START", "1", "1: a model trained on first use has its quality cross-validated in a background thread after the app's first start (about 20 s of one core), 0: when the model page is first opened"),
    ("CORPUS_DIR", "data/corpus", "hand-written labelled texts the classifier trains on (train*.csv)"),
    ("GEOJSON", "data/geo/districts.geojson", "district map: the schematic one we build, or an akimat's official GeoJSON with a `code` property per district"),
    ("WALL_REFRESH", "30", "seconds between refreshes of the wall display"),
    ("TZ", "Asia/Almaty", "local time zone for display and day boundaries (Kazakhstan is UTC+5 since 2024-03-01)"),
    ("DEMO_ROWS", "150000", "rows of demo data created when the app starts on an empty database"),
    ("DEMO_SEED", "42", "seed for the demo data generator"),
    ("LANG", "ru", "default interface language: ru, kk or en"),
    ("REVIEW_THRESHOLD", "0.50", "classifier confidence below which a submission goes to the review queue (0.50: on 30,806 real appeals 9.3 % reviewed and 91 % of the rest right; 8 % of the demo and 6-11 % of the held-out corpus files reviewed)"),
    ("REVIEW_AUDIT", "2", "percent of confident labels that also go to the review queue as an audit sample, so that the model's accuracy and the share correction rest on an unbiased sample"),
    ("REVIEW_MIN", "1000", "operator decisions on model labels needed before the shares on screen are corrected from them"),
    ("REVIEW_MIN_AUDIT", "100", "of those, decisions from the audit sample of confident labels"),
    ("SHARE_CORRECTION", "reviews", "how shares are corrected for the classifier's errors: reviews (from operator decisions once there are enough, else counted as labelled), cv (else from cross-validated confusion rates; on 30,806 real appeals this made the worst share error worse, 1.7 -> 2.0 points), none"),
    ("AUTH_DB", "", "SQLite file of users, sessions, wall tokens and the audit log; empty means <DB>.auth.sqlite"),
    ("LOGIN_ATTEMPTS", "5", "failed sign-ins after which an account is locked"),
    ("LOGIN_LOCK_MINUTES", "15", "how long a locked account stays locked"),
    ("SESSION_HOURS", "12", "a session ends this many hours after sign-in"),
    ("SESSION_IDLE_MINUTES", "60", "a session ends after this many minutes without use"),
    ("FORM_URL", "http://localhost:8502", "public address of the residents' proposal form (QR codes open <FORM_URL>/p/<placement code>)"),
    ("PUBLIC_DIR", "", "folder the staff side publishes for the public form to read (placements, statuses, decisions); empty means <DB>.public next to the DB"),
    ("APP_URL", "http://localhost:8501", "the staff app's address as people open it; briefing documents link their figures to <APP_URL>/explorer?..."),
    ("BRIEFING_DIR", "", "folder where scheduled briefings are kept and which the briefing page lists; empty means <DB>.briefings next to the DB"),
    ("FORM_HOST", "127.0.0.1", "address the public proposal form listens on (python -m formapp); 0.0.0.0 to serve every interface"),
    ("FORM_PORT", "8502", "port of the public proposal form"),
    ("FORM_SECRET", "", "key that signs the form's anti-forgery (CSRF) tokens; empty means a random key per start (forms opened before a restart are refused once, politely)"),
    ("FORM_TRUSTED_PROXIES", "", "comma-separated addresses of reverse proxies whose X-Forwarded-For names the client; empty: the connection's own address is the client"),
    ("FORM_PER_MINUTE", "5", "proposals one client address may send per minute; more are refused with HTTP 429 and a message"),
    ("FORM_PER_DAY", "30", "proposals one client address may send per day"),
    ("FORM_REQUESTS_PER_MINUTE", "120", "requests of any page one client address may make per minute"),
    ("FORM_MAX_BYTES", "32768", "largest request body the form accepts; larger ones get HTTP 413"),
    ("FORM_TEXT_MIN", "15", "fewest characters of a proposal"),
    ("FORM_TEXT_MAX", "2000", "most characters of a proposal"),
    ("DRAIN_INTERVAL", "2", "seconds between inbox drains in the running app"),
    ("REPLICA_SECONDS", "60", "the running app publishes a read replica <DB>.replica for other processes (CLI, notebooks) when the data changed, at most this often; 0 turns it off"),
    ("INGEST_BATCH", "50000", "records per spool folder of an ingest: a file is read, checked and stored this many at a time, so memory does not grow with the file"),
    ("INGEST_CHECKPOINT", "64MB", "DuckDB checkpoint_threshold of the ingest command's connection: fewer checkpoints are faster, but rows not yet checkpointed are held in memory"),
    ("INGEST_MEMORY", "256MB", "DuckDB memory_limit of the ingest command's connection (the rest of its memory is one batch being read)"),
    ("CLASSIFY_MEMORY", "1GB", "DuckDB memory_limit while the pending step classifies (`classify-pending`, an ingest's own classification): a batch of rewritten rows does not fit in SC_INGEST_MEMORY"),
    ("CLASSIFY_BATCH", "50000", "submissions classified at a time by the pending step (`classify-pending`, the app's drain thread)"),
    ("CLASSIFY_SLICE", "5", "seconds the running app's drain thread spends classifying pending rows per round (then it drains the inbox again)"),
    ("INGEST_WAIT", "120", "seconds the ingest command waits for a running app to apply its spool file"),
    ("RECEIPT_DAYS", "7", "days the inbox keeps receipts of applied spool files (<inbox>/done/)"),
    ("XLSX_MAX_ROWS", "200000", "data rows read from one XLSX workbook, all its sheets together; the rest is reported in quarantine (save big exports as CSV)"),
    ("XLSX_MAX_COLUMNS", "256", "columns read from an XLSX sheet; a row with a value further right is quarantined"),
    ("XLSX_MAX_CELL", "32767", "characters in one XLSX cell (Excel's own limit); a row with a longer cell is quarantined"),
    ("XLSX_MAX_MB", "256", "megabytes an XLSX workbook may unpack to; a bigger one is refused before it is parsed"),
    ("SQL_TIMEOUT", "10", "seconds an analyst's SQL console query may run before it is stopped"),
    ("SQL_DISPLAY_ROWS", "1000", "rows of a SQL console result shown on screen (the full result can be exported)"),
    ("PAGE_ERRORS", "message", "a page that fails: `message` shows one translated line (the traceback goes to the server log), `raise` leaves it to Streamlit (the tests, to see it)"),
    ("DEBUG", "0", "1: a command that fails unexpectedly shows the Python traceback instead of one error line"),
]

_DEFAULTS = {name: (default, help_) for name, default, help_ in SETTINGS}
_PATHS = {"DB", "INBOX", "PUBLIC_DIR", "BRIEFING_DIR", "MODEL_DIR", "CORPUS_DIR", "GEOJSON", "AUTH_DB"}


def get(name: str) -> str:
    if name not in _DEFAULTS:
        raise KeyError(f"unknown setting {name!r}; known: {', '.join(_DEFAULTS)}")
    value = os.environ.get(f"SC_{name}", _DEFAULTS[name][0])
    if name in _PATHS and value:
        path = Path(value)
        value = str(path if path.is_absolute() else ROOT / path)
    return value


def get_float(name: str) -> float:
    return float(get(name))


def get_int(name: str) -> int:
    return int(get(name))


def db_path(override: str | None = None) -> Path:
    return Path(override) if override else Path(get("DB"))


def inbox_path(db: str | Path | None = None) -> Path:
    explicit = get("INBOX")
    if explicit:
        return Path(explicit)
    return Path(f"{db_path(str(db) if db else None)}.inbox")


def public_path(db: str | Path | None = None) -> Path:
    """The folder the staff side publishes for the public form (which never opens the database)."""
    explicit = get("PUBLIC_DIR")
    if explicit:
        return Path(explicit)
    return Path(f"{db_path(str(db) if db else None)}.public")


def describe() -> list[tuple[str, str, str]]:
    """(env var, current value, help) for --help texts and the README."""
    return [(f"SC_{n}", get(n), h) for n, _, h in SETTINGS]
