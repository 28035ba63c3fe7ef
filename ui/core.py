"""App-wide state: the one writer connection, language, routing guard, demo banner."""
from __future__ import annotations

import atexit
import contextlib
import logging
import runpy
import threading
from pathlib import Path

import streamlit as st

from pipeline import i18n, settings, spool, store

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


def page_guard() -> None:
    """First line of every page.

    Streamlit runs pages/x.py directly when the first request after a server start is a deep
    link, skipping app.py (page config, login gate, navigation). Re-enter through the router.
    """
    if getattr(_routing, "active", False):
        return
    runpy.run_path(str(APP), run_name="__main__")
    st.stop()


def kiosk() -> bool:
    """`?kiosk=1`: a wall screen with no menus, no sidebar and no scrolling."""
    return st.query_params.get("kiosk", "0") not in ("0", "", "false", "no")


# ---- language ------------------------------------------------------------------------------
def lang() -> str:
    if "lang" not in st.session_state:
        wanted = st.query_params.get("lang", settings.get("LANG"))
        st.session_state["lang"] = wanted if wanted in i18n.LANGS else "ru"
    return st.session_state["lang"]


def t(key: str, **fmt) -> str:
    return i18n.t(key, lang(), **fmt)


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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain_loop, name="inbox-drainer", daemon=True)

    def ensure_data(self) -> None:
        if store.submission_count(self.con) == 0 and store.get_meta(self.con, "dataset") is None:
            from pipeline import demo

            demo.build_demo(self.con, rows=settings.get_int("DEMO_ROWS"), seed=settings.get_int("DEMO_SEED"))

    def start(self) -> "AppStore":
        try:
            self.drain_once()
        except Exception:  # a spool that fails to apply must not take every page down; it stays queued
            log.exception("inbox drain failed")
        self._thread.start()
        atexit.register(self.close)
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.con.close()

    def drain_once(self) -> list[dict]:
        return spool.drain(self.con.cursor(), self.inbox)

    def _drain_loop(self) -> None:
        while not self._stop.wait(settings.get_float("DRAIN_INTERVAL")):
            try:
                self.drain_once()
            except Exception:  # keep draining later; the spool file stays in the inbox
                log.exception("inbox drain failed")

    def cursor(self):
        return self.con.cursor()


@st.cache_resource(show_spinner=False)
def _app_store(path: str) -> AppStore:
    app_store = AppStore(path)
    app_store.ensure_data()
    return app_store.start()


def app_store() -> AppStore:
    path = settings.get("DB")
    if not Path(path).exists():
        with st.spinner(i18n.t("app.demo_creating", lang())):
            return _app_store(path)
    return _app_store(path)


def cursor():
    """A fresh cursor on the writer connection; cheap, one per query or action."""
    return app_store().cursor()


def is_demo() -> bool:
    return store.get_meta(cursor(), "dataset") == "demo"


def demo_banner() -> None:
    if is_demo():
        st.info(t("app.demo_banner"), icon="ℹ️")
