"""Shared fixtures: every test gets its own database and model folder, never the repo's."""
from __future__ import annotations

import os

# One thread per numeric library in the test processes and every process they start (apps, CLIs,
# workers): two pytest workers and the browser tests' apps and chromium already fill both cores, and
# OpenBLAS/OpenMP threads spinning for a core then doubled a training's time (adaptation 4.6 -> 9.2 s,
# training 4.7 -> 10.6 s beside two busy loops). Set before numpy is first imported.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import pytest

from pipeline import store


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SC_DB", str(tmp_path / "situation.duckdb"))
    monkeypatch.delenv("SC_INBOX", raising=False)
    monkeypatch.setenv("SC_DEMO_ROWS", "3000")  # an app started by a test builds a small demo
    monkeypatch.setenv("SC_CV_AFTER_START", "0")
    monkeypatch.setenv("SC_PAGE_ERRORS", "raise")  # a failing page stays at.exception for the tests  # no 20 s background cross-validation in every worker
    # One model folder per run: a model trained by one test is reused by the next, and by the other
    # pytest-xdist worker (whose base temp is a sibling): the first-use lock lets one process train it.
    monkeypatch.setenv("SC_MODEL_DIR", str(shared_models(tmp_path_factory)))


def shared_models(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "models"


def built_once(tmp_path_factory, name: str, fill) -> Path:
    """A database file filled once by fill(con), for a module-scoped fixture (a demo of a few
    thousand rows takes 5-11 s: once per module, not once per test), with the settings every test
    has (the shared model folder); each test then opens a copy (`copy_of`)."""
    folder = tmp_path_factory.mktemp(name)
    path = folder / f"{name}.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SC_DB", str(path))
        mp.setenv("SC_MODEL_DIR", str(shared_models(tmp_path_factory)))
        c = store.connect(path)
        try:
            fill(c)
        finally:
            c.close()
    return path


def copy_of(path: Path, tmp_path: Path):
    """A connection to a fresh copy of the database file at `path`, in the test's own folder."""
    import shutil

    copy = tmp_path / path.name
    shutil.copy(path, copy)
    return store.connect(copy)


@pytest.fixture
def real_app(tmp_path, monkeypatch):
    """An AppTest of app.py on a database filled by `fill(con)` and marked as real data (no demo)."""
    from streamlit.testing.v1 import AppTest

    from pipeline import settings

    def make(fill, name: str = "app.duckdb") -> AppTest:
        db = tmp_path / name
        c = store.connect(db)
        fill(c)
        store.set_meta(c, "dataset", "real")
        c.close()
        monkeypatch.setenv("SC_DB", str(db))
        return signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=60))

    return make


TEST_PASSWORD = "test-password-1"


def signed_in(at, role: str = "admin"):
    """An AppTest whose session is signed in as a user of `role` (created in the test's auth file)."""
    from pipeline import auth

    con = auth.connect()
    try:
        name = f"test_{role}"
        if name not in set(auth.users(con)["username"]):
            auth.add_user(con, name, role, TEST_PASSWORD)
        token, _ = auth.sign_in(con, name, TEST_PASSWORD)
    finally:
        con.close()
    at.session_state["auth_token"] = token
    return at


@pytest.fixture
def con():
    """In-memory database with the full schema."""
    c = store.connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def db_file(tmp_path):
    return tmp_path / "situation.duckdb"


@pytest.fixture
def keyword_classifier_unless_trained(tmp_path, monkeypatch):
    """For tests of reading, writing and kills, not of the classifier: when the session has no
    model yet (such a file run alone), the keyword classifier is used, in this process and in the
    CLI processes it starts, instead of training a model first (about a minute)."""
    from pipeline import classify

    if classify.current_version() is None:
        monkeypatch.setenv("SC_CORPUS_DIR", str(tmp_path / "no_corpus"))
