"""App-wide state: the one writer connection, the signed-in viewer, language, routing guard, demo banner."""
from __future__ import annotations

import atexit
import contextlib
import logging
import re
import runpy
import sys
import threading
from pathlib import Path

import streamlit as st

from pipeline import auth, backup, grammar, i18n, ideas, pending, public, replica, rollup, settings, spool, store

log = logging.getLogger("situation_centre")
APP = Path(__file__).resolve().parent.parent / "app.py"
_routing = threading.local()


# ---- routing -------------------------------------------------------------------------------
@contextlib.contextmanager
def routed():
    """Marks the current script run as started by app.py's router."""
    _routing.active = True
    try:
        yield
    finally:
        _routing.active = False


# Streamlit's page title is 2.75rem on any screen: on a phone a long Kazakh word
# ("Пайдаланушылар") was wider than the line and broke in the middle.
PHONE_CSS = "<style>@media (max-width: 640px){[data-testid=stMain] h1{font-size:1.75rem !important}}</style>"


def run_page(page) -> None:
    """Run the routed page. A failure shows one line in the reader's language, never a traceback
    (that goes to the server's log); st.stop, st.rerun and st.switch_page are not failures (they
    raise BaseException, not Exception)."""
    st.sidebar.html(PHONE_CSS)
    with routed():
        try:
            page.run()
        except Exception:
            if settings.get("PAGE_ERRORS") == "raise":
                raise
            log.exception("page %s failed", getattr(page, "url_path", page))
            st.error(t("app.page_error"), icon=":material/error:")


def page_guard(permission: str) -> auth.Viewer:
    """First line of every page: the page's own permission check, and the viewer.

    Streamlit runs pages/x.py directly when the first request after a server start is a deep
    link, skipping app.py (page config, sign-in, navigation). Re-enter through the router, whose
    sign-in stops the run of anyone not signed in; then the page itself checks the role, so a page
    never relies on the menu having hidden it."""
    if not getattr(_routing, "active", False):
        runpy.run_path(str(APP), run_name="__main__")
        st.stop()
    who = viewer()
    if who is None or not who.can(permission):
        st.error(t("auth.forbidden"))
        st.stop()
    return who


def go_to(page) -> None:
    """Move on to `page`, keeping the address's parameters (language, kiosk, token, filters)."""
    if page is not None:
        st.switch_page(page, query_params=st.query_params.to_dict())


# ---- who is signed in ----------------------------------------------------------------------
TOKEN_KEY = "auth_token"


def _auth():
    return auth.connect()


COOKIE = "sc_session"


def _remember(token: str | None) -> None:
    """Keep the session across reloads and new tabs in a cookie of this site only (SameSite=Strict);
    the token is random and stored hashed, and it dies with the session on the server."""
    if st.session_state.get("_cookie_for") == token:
        return
    value, age = (token, int(settings.get_float("SESSION_HOURS") * 3600)) if token else ("", 0)
    st.html(f"<script>document.cookie = '{COOKIE}={value}; path=/; max-age={age}; SameSite=Strict';</script>",
            unsafe_allow_javascript=True, width=1)
    st.session_state["_cookie_for"] = token


def viewer() -> auth.Viewer | None:
    """The signed-in user, or a wall screen's token (`?token=`, wall only); None for anyone else."""
    con = _auth()
    try:
        cookie = st.context.cookies.get(COOKIE)
        if TOKEN_KEY not in st.session_state and not st.session_state.get("_signed_out") and isinstance(cookie, str) and cookie:
            st.session_state[TOKEN_KEY] = cookie  # a reload or a new tab
        who = auth.session_viewer(con, st.session_state.get(TOKEN_KEY))
        if who is None and st.query_params.get("token"):
            who = auth.wall_viewer(con, st.query_params.get("token"))
        return who
    finally:
        con.close()


def sign_in_form() -> None:
    """The sign-in form for anyone not signed in; stops the run."""
    st.session_state.pop(TOKEN_KEY, None)
    st.title(t("auth.title"))
    con = _auth()
    try:
        if auth.user_count(con) == 0:
            st.warning(t("auth.no_users"))
            st.code("python -m pipeline users add NAME --role admin", language="bash")
        if is_demo():
            st.info(t("auth.demo_hint"))
        with st.form("sign_in"):
            username = st.text_input(t("auth.username"), key="auth_user")
            password = st.text_input(t("auth.password"), type="password", key="auth_password")
            if st.form_submit_button(t("auth.sign_in"), type="primary"):
                try:
                    token, _ = auth.sign_in(con, username, password, origin=st.context.ip_address)
                    st.session_state[TOKEN_KEY] = token
                    st.session_state.pop("auth_password", None)
                    st.rerun()
                except auth.AuthError:
                    st.error(t("auth.refused"))
    finally:
        con.close()
    if _oidc_configured():
        if st.button(t("auth.sso")):
            st.login()
    st.stop()


def _oidc_configured() -> bool:
    """OpenID Connect through st.login when .streamlit/secrets.toml has an [auth] section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def sign_out_button() -> None:
    """Who is signed in and the sign-out button; keeps the session's cookie up to date."""
    who = viewer()
    if who is None or TOKEN_KEY not in st.session_state:
        return
    _remember(st.session_state[TOKEN_KEY])
    st.sidebar.caption(t("auth.signed_in", name=who.display_name, role=t(f"role.{who.role}")))
    if st.sidebar.button(t("auth.sign_out"), key="sign_out"):
        con = _auth()
        try:
            auth.sign_out(con, st.session_state.pop(TOKEN_KEY, None), who.username)
        finally:
            con.close()
        _remember(None)
        st.session_state["_signed_out"] = True
        st.rerun()


def kiosk() -> bool:
    """`?kiosk=1`: a wall screen with no menus, no sidebar and no scrolling."""
    return st.query_params.get("kiosk", "0") not in ("0", "", "false", "no")


PHONE_AGENTS = ("Mobi", "Android", "iPhone")  # what phones' browsers put in their User-Agent


def on_phone() -> bool:
    """Whether the page is seen on a phone, by its browser's User-Agent: the server does not know
    the screen's width, and a figure of fixed height (the district map) needs it."""
    try:
        agent = st.context.headers.get("User-Agent") or ""
    except Exception:  # noqa: BLE001 - no request behind the run (a test's AppTest)
        return False
    return any(word in agent for word in PHONE_AGENTS)


# ---- language ------------------------------------------------------------------------------
def lang() -> str:
    if "lang" not in st.session_state:
        wanted = st.query_params.get("lang", settings.get("LANG"))
        st.session_state["lang"] = wanted if wanted in i18n.LANGS else "ru"
    return st.session_state["lang"]


def t(key: str, **fmt) -> str:
    return i18n.t(key, lang(), **fmt)


def typed_words(text: str) -> str:
    """What someone typed, for a message shown through Markdown (st.info, st.warning): its words,
    letters and digits with hyphens inside, and nothing that Markdown reads as markup."""
    return " ".join(re.findall(r"[^\W_]+(?:-[^\W_]+)*", text))


def num(n: int) -> str:
    """A count in the interface's language (pipeline.grammar.number): '1 234', no line break inside."""
    return grammar.number(n, lang())


def pct(x: float, digits: int = 1) -> str:
    """x in percent, in the interface's language (pipeline.grammar.percent): '12,3 %'."""
    return grammar.percent(x, lang(), digits)


def decimal(x: float, digits: int = 1) -> str:
    """'12,3' in ru and kk, '12.3' in en (pipeline.grammar.decimal)."""
    return grammar.decimal(x, lang(), digits)


def share(fraction: float | None, digits: int = 0) -> str:
    """A fraction as a percent ('0.93' -> '93 %'); '—' for None."""
    return "—" if fraction is None else pct(100 * fraction, digits)


def _apply_language() -> None:
    st.session_state["lang"] = st.session_state["lang_switch"]


def language_switch(container=None) -> str:
    """ru / kk / en radio. The label is the same in every language so the widget keeps its identity."""
    box = container or st.sidebar
    labels = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
    # index follows the language, so the radio shows it even when Streamlit drops the widget's state
    # (it does on the first request after a start, when page_guard re-enters the router).
    box.radio("Язык · Тіл · Language", list(labels), index=list(labels).index(lang()), format_func=labels.get,
              horizontal=True, key="lang_switch", on_change=_apply_language)
    return lang()


# ---- the store -----------------------------------------------------------------------------
class AppStore:
    """The app process is the single writer while it runs: one connection, cursors per query,
    and a thread that drains the spool inbox so `python -m pipeline ingest` works meanwhile."""

    def __init__(self, path: str):
        self.path = path
        self.con = store.connect(path)
        self.inbox = settings.inbox_path(path)
        self.publisher = public.Publisher(settings.public_path(path))
        self.ideas = ideas.AfterDrain()
        self._stop = threading.Event()
        self.replicas = replica.Publisher(path)
        self._thread = threading.Thread(target=self._drain_loop, name="inbox-drainer", daemon=True)

    def ensure_data(self, progress=None) -> None:
        """Demo data on an empty store; `progress(key, **fmt)` is told each step (the first start's screen)."""
        say = progress or (lambda key, **fmt: None)
        if store.submission_count(self.con) == 0 and store.get_meta(self.con, "dataset") is None:
            from pipeline import classify, demo

            if classify.current_version() is None:  # the demo's texts are labelled by the classifier
                say("app.first_start.training")
                classify.ensure_model()
            rows = settings.get_int("DEMO_ROWS")
            say("app.first_start.demo", n=num(rows))
            demo.build_demo(self.con, rows=rows, seed=settings.get_int("DEMO_SEED"))
            say("app.first_start.finishing")
        users = auth.connect()
        try:
            if store.get_meta(self.con, "dataset") == "demo":
                auth.ensure_demo_users(users)  # the documented demo sign-ins, on demo data only
            elif auth.user_count(users) == 0:
                print("Situation Centre: no users yet. Create the first administrator with\n"
                      "    python -m pipeline users add NAME --role admin", file=sys.stderr, flush=True)
        finally:
            users.close()

    def start(self) -> "AppStore":
        try:
            self.drain_once()
        except Exception:  # a spool that fails to apply must not take every page down; it stays queued
            log.exception("inbox drain failed")
        try:  # the public form's copy of the placements, for a store that has none yet (new, restored)
            from pipeline import placements

            placements.publish_if_missing(self.con.cursor())
        except Exception:
            log.exception("publishing placements failed")
        self._thread.start()
        try:  # a model trained on first use has its quality measured now, off the first start's path
            from pipeline import train

            if settings.get_int("CV_AFTER_START"):
                train.cross_validate_later()
        except Exception:
            log.exception("background cross-validation not started")
        atexit.register(self.close)
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.con.close()

    def drain_once(self) -> list[dict]:
        receipts = spool.drain(self.con.cursor(), self.inbox)
        try:  # rows a big ingest stored before classifying them: a slice of time per round
            # small batches: the slice is checked between batches, and pages wait for no long write
            pending.classify_pending(self.con.cursor(), seconds=settings.get_float("CLASSIFY_SLICE"), size=10_000)
        except Exception:  # they stay pending (and shown as such) until the next round
            log.exception("classifying pending rows failed")
        backup.serve_requests(self.con.cursor(), self.path)  # `python -m pipeline backup` while we hold the file
        try:  # proposals into ideas, complaints into incidents; never holds up the drains
            self.ideas.after_drain(self.con.cursor(), receipts, self.publisher.public_dir)
        except Exception:
            log.exception("grouping proposals after a drain failed")
        try:  # the public form's status.json, when anything changed; never holds up the drains
            self.publisher.maybe_publish(self.con.cursor())
        except Exception:
            log.exception("publishing for the public form failed")
        return receipts

    def _drain_loop(self) -> None:
        # The first replica is made here, not in start(): a page must not wait for the copy.
        while True:
            try:
                self.replicas.maybe_publish(self.con.cursor())
            except Exception:  # readers keep the previous replica; tried again next round
                log.exception("read replica not published")
            rollup.keep_up(self.con.cursor())  # after a threshold change: counted again once
            if self._stop.wait(settings.get_float("DRAIN_INTERVAL")):
                return
            try:
                self.drain_once()
            except Exception:  # keep draining later; the spool file stays in the inbox
                log.exception("inbox drain failed")

    def cursor(self):
        return self.con.cursor()


@st.cache_resource(show_spinner=False)
def _app_store(path: str) -> AppStore:
    # No Streamlit element may be drawn in here: a cached function's elements are replayed into
    # every later session, where the box they were drawn in does not exist (CacheReplayClosureError).
    app_store = AppStore(path)
    app_store.ensure_data()
    return app_store.start()


_first_start = threading.Lock()


def _build_first(path: str, progress) -> None:
    """The first start's slow part (the classifier, the demo), outside the cached store so that
    its steps can be shown; the store is closed again and the cached AppStore opens it."""
    first = AppStore(path)
    try:
        first.ensure_data(progress)
    finally:
        first.con.close()


def app_store() -> AppStore:
    path = settings.get("DB")
    if not Path(path).exists():  # the first start: say what takes the time, step by step
        box = st.empty()

        def progress(key: str, **fmt) -> None:
            box.info(i18n.t(key, lang(), **fmt), icon=":material/hourglass_top:")

        progress("app.first_start")
        with _first_start:  # one session builds; the others wait here, then find the store made
            if not Path(path).exists():
                _build_first(path, progress)
        box.empty()
    return _app_store(path)


def cursor():
    """A fresh cursor on the writer connection; cheap, one per query or action."""
    return app_store().cursor()


def is_demo() -> bool:
    return store.get_meta(cursor(), "dataset") == "demo"


def demo_banner() -> None:
    if is_demo():
        st.info(t("app.demo_banner"), icon="ℹ️")
