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
def con():
    """In-memory database with the full schema."""
    c = store.connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def db_file(tmp_path):
    return tmp_path / "situation.duckdb"
