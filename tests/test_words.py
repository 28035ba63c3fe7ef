"""No English and no raw codes on Russian and Kazakh pages.

Every page is run as an administrator in ru and in kk on a small demo database, every string the
AppTest exposes is collected (titles, headings, markdown, captions, metrics, widget labels and
options, tables and dataframes, alerts, tabs, expanders, HTML), and any Latin word not in the short
allow-list below fails the test, as does a raw status or event code. A refused status change on the
deadlines page must explain itself in the page's language.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline import settings, store, workflow
from tests.conftest import signed_in

PAGES = ("overview", "explorer", "wall", "briefing", "intake", "deadlines", "review", "model", "admin", "placements", "ideas")
LATIN = re.compile(r"[A-Za-z]{2,}")

# Latin words our pages may show, each for a reason (compared as written):
ALLOWED = {
    "SQL", "SELECT", "JSON", "CSV", "XLSX", "PARQUET", "CRC", "PNG", "SVG",  # a query language, file and data formats
    "PDF", "DOCX", "Word",  # the briefing's document formats and the editor staff open DOCX in
    "QR",  # the QR-code source, called so in Russian and Kazakh too
    "Ctrl", "Enter",  # the keyboard shortcut printed on the intake button
    "Macro",  # Macro-F1, the classifier's quality measure: a term of the trade without a translation
    "Language", "English",  # the language switch names every language in its own words
    "Instagram",  # a brand inside demo residents' texts on the wall's ticker: data, shown as written
    "instagram", "INSTAGRAM",  # the same, as residents write it (the demo writes some letters in capitals)
    "Wi", "Fi",  # Wi-Fi in residents' proposals (an idea's representative text on the ideas page): data
    "submissions", "events",  # the SQL console's table names, which a query must use as they are
    "admin", "operator", "analyst", "akim", "demo",  # the demo sign-ins and password (typed as written) and
}                                                    # user names in the logs: people's names are data
USERS = re.compile(r"\btest_admin\b")  # the test's own user name, shown as who is signed in and who acted
# QR placements' short codes (SH-0042): printed on posters in Latin letters for typing by hand, data like names
PLACEMENT_CODES = re.compile(r"\b[A-Z]{1,4}-\d{1,6}\b")
SQL_LITERAL = re.compile(r"'[^']*'")  # values to type in SQL, e.g. 'feedback_given', in the console's schema
RAW_CODES = re.compile(r"\b(feedback_given|in_progress|feedback_at|resolved_at|due_at|feedback_due_at|created|"
                       r"reopened|forwarded|rejected|resolved|sign_in|sign_out|user\.\w+|wall_token\.\w+|"
                       r"model\.\w+|nan|None|NaT)\b|→")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# addresses and setting names are typed as written: the form's URL and SC_FORM_URL in the placements'
# warning to an administrator
TYPED = re.compile(r"https?://\S+|\bSC_[A-Z_]+\b")


def _strings(values) -> list[str]:
    return [v for v in values if isinstance(v, str)]


def _texts_of_frame(frame: pd.DataFrame) -> list[str]:
    out = _strings(str(c) for c in frame.columns) + _strings(frame.index.tolist())
    for col in frame.columns:
        out += _strings(frame[col].tolist())
    return out


def _html_text(body: str) -> str:
    body = re.sub(r"(?is)<(style|script)\b.*?</\1>", " ", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _chart(spec: dict, out: list[str], charts: list[dict]) -> None:
    """A plotly figure: its legend names, tick labels and annotations are page text; date axes are
    checked separately (they must not be left to plotly's English month names)."""
    layout = spec.get("layout", {})
    for trace in spec.get("data", []):
        if isinstance(trace.get("name"), str):
            out.append(trace["name"])
        xs = trace.get("x") or []
        if xs and isinstance(xs, list) and isinstance(xs[0], str) and ISO_DATE.match(xs[0]):
            charts.append(layout.get(trace.get("xaxis", "x").replace("x", "xaxis", 1), {}))
    for axis in (v for k, v in layout.items() if k.startswith(("xaxis", "yaxis"))):
        out += _strings(axis.get("ticktext") or [])
    out += [_html_text(a["text"]) for a in layout.get("annotations", []) if isinstance(a.get("text"), str)]


def visible(at: AppTest, date_axes: list[dict] | None = None) -> list[str]:
    """Every string the AppTest exposes that a person sees on the page."""
    out: list[str] = []
    date_axes = [] if date_axes is None else date_axes
    schema_columns = {core_t(at, "explorer.sql.col.column")}

    def walk(node) -> None:
        kind = getattr(node, "type", "")
        if getattr(node, "key", None) == "ex_sql" or kind == "code":  # SQL typed in the console; commands
            return
        for attr in ("label", "placeholder"):
            value = getattr(node, attr, None)
            if isinstance(value, str):
                out.append(value)
        if kind in ("title", "header", "subheader", "markdown", "caption", "text", "error", "warning", "info",
                    "success", "exception", "alert"):
            value = getattr(node, "value", None)
            if isinstance(value, str):
                out.append(_html_text(value))
        if kind == "metric":
            out.extend([str(node.value), node.proto.delta])
        if kind in ("selectbox", "radio", "multiselect", "select_slider"):
            out.extend(str(o) for o in node.options)
        if kind == "button_group":
            out.extend(o.content for o in node.proto.options)
        if kind in ("dataframe", "table"):
            frame = node.value
            if schema_columns & set(frame.columns):  # the SQL console's schema: identifiers to type
                frame = frame.iloc[:, 3:].map(lambda v: SQL_LITERAL.sub("", v))
            out.extend(_texts_of_frame(frame))
        if kind == "html":
            out.append(_html_text(node.proto.body))
        if kind in ("page_link", "link_button", "download_button"):
            out.append(node.proto.label)
        if kind == "plotly_chart":
            _chart(json.loads(node.proto.spec), out, date_axes)
        if kind == "tab" or kind == "expander":
            out.append(node.label)
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else []):
            walk(child)

    walk(at._tree)
    return [PLACEMENT_CODES.sub("", USERS.sub("", s)) for s in out if s]


def core_t(at: AppTest, key: str) -> str:
    from pipeline import i18n

    return i18n.t(key, at.session_state["lang"])


def leaks(texts: list[str]) -> dict[str, list[str]]:
    """Latin words not allowed, and raw codes, each with the texts it was found in."""
    found: dict[str, list[str]] = {}
    for text in texts:
        text = TYPED.sub("", text)
        for m in LATIN.finditer(text):
            word = m.group(0)
            # A resident's text cut short for a table cell can end inside an allowed word ("Ins…").
            cut = text[m.end():m.end() + 1] in ("…", "") and any(a.startswith(word) for a in ALLOWED)
            if word not in ALLOWED and not cut:
                found.setdefault(word, []).append(text[:160])
        for m in RAW_CODES.finditer(text):
            found.setdefault(m.group(0), []).append(text[:160])
    return {k: v[:2] for k, v in found.items()}


# ---- a small database and a small model, built once for the module -----------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A demo database of 800 rows and a classifier trained on 24 corpus texts per category (the
    cross-validation on the model page is written into its metadata: it would cost 15 s here)."""
    root = tmp_path_factory.mktemp("words")
    corpus, models, db = root / "corpus", root / "models", root / "words.duckdb"
    corpus.mkdir()
    frames = [pd.read_csv(p, dtype=str) for p in sorted((settings.ROOT / "data" / "corpus").glob("train_*.csv"))]
    pd.concat(frames)[["text", "category"]].groupby("category").head(24).to_csv(corpus / "train_small.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SC_CORPUS_DIR", str(corpus))
        mp.setenv("SC_MODEL_DIR", str(models))
        mp.setenv("SC_DB", str(db))
        from pipeline import demo, train

        first = train.train_and_save(note="first_use", cv=False)
        second = _copy_version(models, first, "model_page")
        con = store.connect(db)
        demo.build_demo(con, rows=800, seed=7)
        cases = {lang: workflow.register_call(con, "Яма во дворе дома 5", "test_admin", district="abai", category="roads")
                 for lang in ("ru", "kk")}  # one new case per language, for the refused status change
        con.close()
    return {"corpus": corpus, "models": models, "db": db, "version": second, "cases": cases}


def _copy_version(models, meta: dict, note: str) -> str:
    """A second version of the same model, retrained from the model page with cross-validation."""
    classes = meta["classes"]
    version = meta["version"][:-1] + "9Z"
    shutil.copytree(models / meta["version"], models / version)
    n = len(classes)
    confusion = [[8 if i == j else (1 if j == (i + 1) % n else 0) for j in range(n)] for i in range(n)]
    meta = {**meta, "version": version, "note": note, "previous": meta["version"], "cross_validation": {
        "folds": 5, "macro_f1": 0.81, "texts": 9 * n, "classes": classes, "confusion": confusion,
        "per_class": {c: {"precision": 0.8, "recall": 0.9, "f1": 0.85, "support": 9} for c in classes}}}
    (models / version / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    (models / "current").write_text(version)
    return version


@pytest.fixture
def env(world, monkeypatch):
    monkeypatch.setenv("SC_CORPUS_DIR", str(world["corpus"]))
    monkeypatch.setenv("SC_MODEL_DIR", str(world["models"]))
    monkeypatch.setenv("SC_DB", str(world["db"]))
    yield world
    import streamlit as st

    st.session_state.pop("lang", None)  # the bare-mode language must not outlive the test (see _app)


def _app(lang: str, monkeypatch) -> AppTest:
    # AppTest formats a widget's options outside the script run too, where the session's language
    # is not readable and ui.core falls back to SC_LANG: the same language both ways
    # (and to a bare-mode session state that outlives one AppTest: cleared of the last test's language)
    monkeypatch.setenv("SC_LANG", lang)
    import streamlit as st

    st.session_state.pop("lang", None)
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=60), "admin")
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


def _page(at: AppTest, page: str, world: dict) -> None:
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, (page, at.exception)
    # open a case where a page can, so its figures, actions and history are on screen too
    if page == "deadlines":
        at.text_input(key="dl_case_typed").set_value(world["cases"][at.session_state["lang"]][1]).run()
    elif page == "explorer":
        at.selectbox(key="ex_case").select_index(1).run()
    assert not at.exception, (page, at.exception)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_pages_show_no_english_and_no_raw_codes(env, lang, monkeypatch):
    at = _app(lang, monkeypatch)
    problems, date_axes = {}, []
    for page in PAGES:
        _page(at, page, env)
        texts = visible(at, date_axes)
        assert len(texts) > 5, (page, texts)
        if found := leaks(texts):
            problems[page] = found
    assert not problems, "\n".join(f"{page}: {word!r} in {texts}" for page, found in problems.items()
                                    for word, texts in found.items())
    # the overview's daily trend and the explorer's time bars: numbers or our month names, never plotly's
    assert len(date_axes) >= 2
    for axis in date_axes:
        assert axis.get("tickformat") in ("%d.%m", "%d.%m.%Y") or axis.get("ticktext"), axis
        assert axis.get("hoverformat") in ("%d.%m.%Y", "%Y"), axis


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_a_refused_status_change_says_why_in_the_page_language(env, lang, monkeypatch):
    from pipeline import i18n

    case_id, number = env["cases"][lang]
    at = _app(lang, monkeypatch)
    at.switch_page("pages/deadlines.py").run()
    at.text_input(key="dl_case_typed").set_value(number).run()
    at.selectbox(key=f"to_{case_id}").set_value("rejected")  # rejecting needs a comment; none is given
    at.button(key=f"FormSubmitter:status_{case_id}-{i18n.t('deadlines.apply', lang)}").click().run()
    assert not at.exception
    message = at.error[0].value
    assert message == i18n.t("workflow.error.needs_comment", lang, case=number, current=i18n.t("status.new", lang),
                             to=i18n.t("status.rejected", lang))
    assert number in message and f" {case_id}:" not in message
    assert not leaks([message])
