"""The first start and failing pages: what a person sees while the demo is made and when a page fails."""
import ast
import tomllib

from pipeline import settings
from tests.conftest import signed_in

from .test_classifier import tiny_corpus  # noqa: F401  (fixture)
from .test_overview import fill


def test_config_hides_tracebacks_and_keeps_our_own_menu():
    config = tomllib.loads((settings.ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"  # never a traceback or a file path in the browser
    # showSidebarNavigation = false would hide st.navigation(position="sidebar") too, our whole menu
    assert config["client"].get("showSidebarNavigation", True) is True


def test_the_menu_is_registered_before_the_slow_first_start():
    # Until st.navigation runs Streamlit lists the files of pages/ ("app, deadlines, intake, ...")
    # in the sidebar; the first start spends half a minute in core.app_store().
    calls = [ast.unparse(n.func) for n in ast.walk(ast.parse((settings.ROOT / "app.py").read_text(encoding="utf-8")))
             if isinstance(n, ast.Call)]
    assert calls.index("st.navigation") < calls.index("core.app_store")


def test_first_start_says_each_step_in_the_users_language(tmp_path, monkeypatch, tiny_corpus):  # noqa: F811
    from pipeline import i18n
    from ui import core

    monkeypatch.setenv("SC_DEMO_ROWS", "300")
    said = []
    app_store = core.AppStore(str(tmp_path / "first.duckdb"))
    try:
        app_store.ensure_data(lambda key, **fmt: said.append(i18n.t(key, "kk", **fmt)))
    finally:
        app_store.con.close()
    assert [s.split(":")[0] for s in said] == ["Алғашқы іске қосу (2 қадамның 1-і)", "Алғашқы іске қосу (2 қадамның 2-сі)",
                                               "Алғашқы іске қосу"]
    assert "300 өтініш" in said[1]


def test_a_failing_page_shows_one_translated_line_and_no_traceback(real_app, monkeypatch):
    from pipeline.queries import overview

    def broken(*args, **kwargs):
        raise RuntimeError("boom in /srv/secret/path.py")

    import streamlit as st

    monkeypatch.setattr(overview, "kpis", broken)
    monkeypatch.setenv("SC_PAGE_ERRORS", "message")
    st.cache_data.clear()  # figures cached by an earlier test in this worker would never call kpis
    at = real_app(fill)
    at.query_params["lang"] = "kk"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Бұл бетте қате орын алды; толығырақ сервер журналына жазылды. "
                                           "Бетті жаңартыңыз немесе басқасын ашыңыз."]
    assert "boom" not in str(at.main) + str(at.sidebar)
    assert at.sidebar.radio(key="lang_switch").value == "kk"  # the rest of the app still works
