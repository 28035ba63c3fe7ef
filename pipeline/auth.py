"""Who may see and do what: users, roles, sign-in, sessions, wall tokens and the audit log.

They live in a small SQLite file beside the DuckDB store (`SC_AUTH_DB`, default `<DB>.auth.sqlite`),
not in it: DuckDB lets one process hold its file, and `python -m pipeline users add` must work
while the app runs. SQLite's own file locking lets both write its few rows safely.

Roles and their permissions are data (`data/roles.csv`). Passwords are hashed with Argon2id
(argon2-cffi); after `SC_LOGIN_ATTEMPTS` failed sign-ins an account is locked for
`SC_LOGIN_LOCK_MINUTES`; a session expires after `SC_SESSION_HOURS` or `SC_SESSION_IDLE_MINUTES`
without use, and at once when its user is disabled. Session and wall tokens are stored hashed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import secrets
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline import settings

ROOT = Path(__file__).resolve().parent.parent
ROLES_FILE = ROOT / "data" / "roles.csv"
MIN_PASSWORD = 10
SYSTEM = "system"  # the actor of the CLI and scheduled jobs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, display_name TEXT, role TEXT NOT NULL, password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, locked_until TEXT,
    created_at TEXT NOT NULL, changed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, created_at TEXT NOT NULL, seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wall_tokens (
    token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, region TEXT, created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, happened_at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT, detail TEXT, ok INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS audit_time ON audit (happened_at);
"""


class AuthError(ValueError):
    """A refused sign-in or action; the message is safe to show (it names no secret). str() is the
    English message for the command line; pages show `auth.error.<code>` formatted with `params`."""

    def __init__(self, message: str, code: str | None = None, **params):
        super().__init__(message)
        self.code = code
        self.params = params


class Forbidden(PermissionError):
    """The viewer's role does not allow this."""


@functools.cache
def role_permissions() -> dict[str, frozenset[str]]:
    frame = pd.read_csv(ROLES_FILE, dtype=str)
    return {role: frozenset(part["permission"]) for role, part in frame.groupby("role")}


def roles() -> list[str]:
    return sorted(role_permissions())


@dataclass(frozen=True)
class Viewer:
    """Who is asking. Every query that returns personal data and every action takes one."""
    username: str
    role: str
    display_name: str = ""
    permissions: frozenset = field(default_factory=frozenset)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require(self, permission: str) -> None:
        if not self.can(permission):
            raise Forbidden(f"{self.username} ({self.role}) may not {permission}")


def viewer_for(username: str, role: str, display_name: str = "") -> Viewer:
    if role not in role_permissions():
        raise AuthError(f"unknown role {role!r}; known: {', '.join(roles())}", "unknown_role", role=role)
    return Viewer(username, role, display_name or username, role_permissions()[role])


SYSTEM_VIEWER = Viewer(SYSTEM, "admin", "system", frozenset().union(*role_permissions().values())) \
    if ROLES_FILE.exists() else None


# ---- the file ------------------------------------------------------------------------------
def path(db: str | Path | None = None) -> Path:
    """SC_AUTH_DB, else the users file beside the store `db` (default SC_DB)."""
    explicit = settings.get("AUTH_DB")
    return Path(explicit) if explicit else Path(f"{settings.db_path(str(db) if db else None)}.auth.sqlite")


def connect(file: str | Path | None = None) -> sqlite3.Connection:
    target = Path(file) if file else path()
    target.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(target, timeout=10, isolation_level=None, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(_SCHEMA)
    return con


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


# ---- audit ---------------------------------------------------------------------------------
def audit(con: sqlite3.Connection, actor: str, action: str, target: str | None = None, detail=None,
          ok: bool = True) -> None:
    con.execute("INSERT INTO audit (happened_at, actor, action, target, detail, ok) VALUES (?, ?, ?, ?, ?, ?)",
                [_iso(_now()), actor, action, target,
                 None if detail is None else json.dumps(detail, ensure_ascii=False, default=str), int(ok)])


def audit_log(con: sqlite3.Connection, viewer: Viewer, actor: str | None = None, action: str | None = None,
              since: dt.datetime | None = None, limit: int = 1000) -> pd.DataFrame:
    viewer.require("users")
    return pd.read_sql_query(
        "SELECT happened_at, actor, action, target, detail, ok FROM audit "
        "WHERE (? IS NULL OR actor = ?) AND (? IS NULL OR action = ?) AND (? IS NULL OR happened_at >= ?) "
        "ORDER BY id DESC LIMIT ?", con,
        params=[actor, actor, action, action, since and _iso(since), since and _iso(since), limit])


# ---- users ---------------------------------------------------------------------------------
def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"password too short: at least {MIN_PASSWORD} characters", "password_short", n=MIN_PASSWORD)


def add_user(con, username: str, role: str, password: str, display_name: str = "", actor: str = SYSTEM,
             check: bool = True) -> None:
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise AuthError(f"bad user name {username!r}: letters, digits, '.', '_' and '-' only", "bad_username",
                        username=username)
    viewer_for(username, role)  # checks the role
    if check:
        _check_password(password)
    now = _iso(_now())
    try:
        con.execute("INSERT INTO users (username, display_name, role, password_hash, created_at, changed_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [username, display_name or username, role, _hasher().hash(password), now, now])
    except sqlite3.IntegrityError:
        raise AuthError(f"user {username!r} exists already", "user_exists", username=username) from None
    audit(con, actor, "user.add", username, {"role": role})


def set_password(con, username: str, password: str, actor: str = SYSTEM) -> None:
    _check_password(password)
    _changed(con.execute("UPDATE users SET password_hash = ?, failed = 0, locked_until = NULL, changed_at = ? "
                         "WHERE username = ?", [_hasher().hash(password), _iso(_now()), username]), username)
    con.execute("DELETE FROM sessions WHERE username = ?", [username])
    audit(con, actor, "user.password", username)


def set_disabled(con, username: str, disabled: bool, actor: str = SYSTEM) -> None:
    _changed(con.execute("UPDATE users SET disabled = ?, changed_at = ? WHERE username = ?",
                         [int(disabled), _iso(_now()), username]), username)
    if disabled:
        con.execute("DELETE FROM sessions WHERE username = ?", [username])
    audit(con, actor, "user.disable" if disabled else "user.enable", username)


def set_role(con, username: str, role: str, actor: str = SYSTEM) -> None:
    viewer_for(username, role)
    _changed(con.execute("UPDATE users SET role = ?, changed_at = ? WHERE username = ?", [role, _iso(_now()), username]), username)
    con.execute("DELETE FROM sessions WHERE username = ?", [username])
    audit(con, actor, "user.role", username, {"role": role})


def _changed(cursor, username: str) -> None:
    if cursor.rowcount == 0:
        raise AuthError(f"no user {username!r}", "no_user", username=username)


def users(con) -> pd.DataFrame:
    return pd.read_sql_query("SELECT username, display_name, role, disabled, failed, locked_until, created_at, changed_at "
                             "FROM users ORDER BY username", con)


def user_count(con) -> int:
    return con.execute("SELECT count(*) FROM users").fetchone()[0]


# ---- sign-in and sessions ------------------------------------------------------------------
def sign_in(con, username: str, password: str, origin: str | None = None) -> tuple[str, Viewer]:
    """A new session token and the viewer, or AuthError with one message for every kind of
    failure (so that a guesser learns nothing about which user names exist)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    username = (username or "").strip().lower()
    now = _now()
    row = con.execute("SELECT password_hash, role, display_name, disabled, failed, locked_until FROM users "
                      "WHERE username = ?", [username]).fetchone()
    refused = AuthError("wrong user name or password, or the account is locked or disabled", "refused")
    where = {"from": origin} if origin else {}
    if row is None:
        _hasher().hash(password or "x")  # about the same time as a real check
        audit(con, username or "?", "sign_in", username, {"reason": "unknown user", **where}, ok=False)
        raise refused
    pw_hash, role, display, disabled, failed, locked_until = row
    if locked_until and dt.datetime.fromisoformat(locked_until) > now:
        audit(con, username, "sign_in", username, {"reason": "locked", **where}, ok=False)
        raise refused
    try:
        _hasher().verify(pw_hash, password or "")
    except (VerificationError, InvalidHashError):
        failed += 1
        lock = None
        if failed >= settings.get_int("LOGIN_ATTEMPTS"):
            lock, failed = _iso(now + dt.timedelta(minutes=settings.get_float("LOGIN_LOCK_MINUTES"))), 0
        con.execute("UPDATE users SET failed = ?, locked_until = ? WHERE username = ?", [failed, lock, username])
        audit(con, username, "sign_in", username, {"reason": "wrong password", "locked": bool(lock), **where}, ok=False)
        raise refused from None
    if disabled:
        audit(con, username, "sign_in", username, {"reason": "disabled", **where}, ok=False)
        raise refused
    con.execute("UPDATE users SET failed = 0, locked_until = NULL WHERE username = ?", [username])
    token = secrets.token_urlsafe(32)
    con.execute("INSERT INTO sessions (token_hash, username, created_at, seen_at) VALUES (?, ?, ?, ?)",
                [_hash_token(token), username, _iso(now), _iso(now)])
    audit(con, username, "sign_in", username, where or None)
    return token, viewer_for(username, role, display)


def session_viewer(con, token: str | None) -> Viewer | None:
    """The viewer of a live session, touching it; None when it expired, ended or its user is disabled."""
    if not token or not isinstance(token, str):
        return None
    now = _now()
    row = con.execute("SELECT s.username, s.created_at, s.seen_at, u.role, u.display_name, u.disabled "
                      "FROM sessions s JOIN users u USING (username) WHERE s.token_hash = ?", [_hash_token(token)]).fetchone()
    if row is None:
        return None
    username, created, seen, role, display, disabled = row
    too_old = now - dt.datetime.fromisoformat(created) > dt.timedelta(hours=settings.get_float("SESSION_HOURS"))
    idle = now - dt.datetime.fromisoformat(seen) > dt.timedelta(minutes=settings.get_float("SESSION_IDLE_MINUTES"))
    if disabled or too_old or idle:
        con.execute("DELETE FROM sessions WHERE token_hash = ?", [_hash_token(token)])
        return None
    if now - dt.datetime.fromisoformat(seen) > dt.timedelta(minutes=1):  # one write a minute at most
        con.execute("UPDATE sessions SET seen_at = ? WHERE token_hash = ?", [_iso(now), _hash_token(token)])
    return viewer_for(username, role, display)


def sign_out(con, token: str | None, actor: str) -> None:
    if token:
        con.execute("DELETE FROM sessions WHERE token_hash = ?", [_hash_token(token)])
        audit(con, actor, "sign_out", actor)


# ---- wall tokens ---------------------------------------------------------------------------
def add_wall_token(con, name: str, region: str | None = None, actor: str = SYSTEM) -> str:
    if region is not None:
        from pipeline import reference

        known = reference.regions()["code"].tolist()
        if region not in known:  # a screen of a region that does not exist showed nothing, silently
            raise AuthError(f"unknown region {region!r}; valid: {', '.join(known)}")
    token = secrets.token_urlsafe(24)
    con.execute("INSERT INTO wall_tokens (token_hash, name, region, created_at) VALUES (?, ?, ?, ?)",
                [_hash_token(token), name, region, _iso(_now())])
    audit(con, actor, "wall_token.add", name, {"region": region})
    return token


def wall_viewer(con, token: str | None) -> Viewer | None:
    if not token:
        return None
    row = con.execute("SELECT name FROM wall_tokens WHERE token_hash = ? AND disabled = 0", [_hash_token(token)]).fetchone()
    return None if row is None else viewer_for(f"wall:{row[0]}", "wall", row[0])


def ensure_demo_users(con) -> bool:
    """The demo's documented sign-ins (password `demo` for all four roles); only on a store that
    holds demo data and has no users yet."""
    if user_count(con):
        return False
    for name, role in (("admin", "admin"), ("operator", "operator"), ("analyst", "analyst"), ("akim", "akim")):
        add_user(con, name, role, "demo", display_name=f"demo {role}", check=False)
    return True


# ---- CLI -----------------------------------------------------------------------------------
def arguments_users(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a user (the password is asked for, or read from SC_NEW_PASSWORD)",
                         epilog="example: python -m pipeline users add aliya --role operator --name 'Алия С.'")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r for r in roles() if r != "wall"])
    add.add_argument("--name", default="", help="display name")
    pw = sub.add_parser("passwd", help="set a user's password", epilog="example: python -m pipeline users passwd aliya")
    pw.add_argument("username")
    dis = sub.add_parser("disable", help="disable a user and end their sessions",
                         epilog="example: python -m pipeline users disable aliya")
    dis.add_argument("username")
    en = sub.add_parser("enable", help="enable a disabled user", epilog="example: python -m pipeline users enable aliya")
    en.add_argument("username")
    rl = sub.add_parser("role", help="change a user's role", epilog="example: python -m pipeline users role aliya analyst")
    rl.add_argument("username")
    rl.add_argument("role", choices=roles())
    sub.add_parser("list", help="list users", epilog="example: python -m pipeline users list")
    wall = sub.add_parser("wall-token", help="make a token for a wall screen: /wall?kiosk=1&token=...",
                          epilog="example: python -m pipeline users wall-token hall-screen --region shymkent")
    wall.add_argument("name")
    wall.add_argument("--region", help="the region the screen shows (aktobe, shymkent); default: all")
    log = sub.add_parser("audit", help="print the audit log", epilog="example: python -m pipeline users audit --limit 100")
    log.add_argument("--limit", type=int, default=50)


def _password(prompt: str) -> str:
    import getpass
    import os

    if os.environ.get("SC_NEW_PASSWORD"):
        return os.environ["SC_NEW_PASSWORD"]
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:  # a script without a terminal: say how to give one, not "too short"
            raise AuthError("no password given: set SC_NEW_PASSWORD or pipe it on standard input", "no_password")
        return line
    first = getpass.getpass(prompt)
    if getpass.getpass("again: ") != first:
        raise AuthError("the two passwords differ", "passwords_differ")
    return first


def run_users(args) -> int:
    try:
        con = connect()
        if args.action == "add":
            add_user(con, args.username, args.role, _password(f"password for {args.username}: "), args.name)
            print(f"added {args.username.strip().lower()} ({args.role})")
        elif args.action == "passwd":
            if con.execute("SELECT 1 FROM users WHERE username = ?", [args.username]).fetchone() is None:
                raise AuthError(f"no user {args.username!r}", "no_user", username=args.username)  # before the password
            set_password(con, args.username, _password(f"new password for {args.username}: "))
            print(f"password changed for {args.username}; their sessions are ended")
        elif args.action in ("disable", "enable"):
            set_disabled(con, args.username, args.action == "disable")
            print(f"{args.username} {args.action}d")
        elif args.action == "role":
            set_role(con, args.username, args.role)
            print(f"{args.username} is now {args.role}")
        elif args.action == "list":
            frame = users(con)
            print("no users yet" if frame.empty else frame.to_string(index=False))
        elif args.action == "wall-token":
            token = add_wall_token(con, args.name, args.region)
            print(f"token={token}\nopen: /wall?kiosk=1&token={token}" + (f"&region={args.region}" if args.region else ""))
        elif args.action == "audit":
            print(audit_log(con, SYSTEM_VIEWER, limit=args.limit).to_string(index=False))
    except AuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError) as exc:  # the users file itself: name it (SC_AUTH_DB, or beside SC_DB)
        print(f"error: {path()}: {exc}", file=sys.stderr)
        return 2
    return 0


def actor_of(who: "Viewer | str", permission: str) -> str:
    """The name an action is signed with. A Viewer (a person in the app) must hold `permission`;
    a plain string is the trusted path of the CLI, scheduled jobs and ingest."""
    if isinstance(who, Viewer):
        who.require(permission)
        return who.username
    return str(who)


def may_see_contacts(who: "Viewer | None") -> bool:
    """None is the trusted system path (CLI, jobs); a viewer needs the `contacts` permission."""
    return who is None or who.can("contacts")
