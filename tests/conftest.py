"""Shared fixtures: every test gets its own database and model folder, never the repo's."""
from __future__ import annotations

import pytest

from pipeline import store


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SC_DB", str(tmp_path / "situation.duckdb"))
    monkeypatch.delenv("SC_INBOX", raising=False)
    monkeypatch.setenv("SC_DEMO_ROWS", "3000")  # an app started by a test builds a small demo
    # One model folder per session: a model trained by one test is reused by the next.
    monkeypatch.setenv("SC_MODEL_DIR", str(tmp_path_factory.getbasetemp() / "models"))


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
        return AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=60)

    return make


@pytest.fixture
def con():
    """In-memory database with the full schema."""
    c = store.connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def db_file(tmp_path):
    return tmp_path / "situation.duckdb"
