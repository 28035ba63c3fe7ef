"""Spool inbox: placeholder until the ingest issue lands. drain(con, inbox) -> list of run summaries."""
from __future__ import annotations

from pathlib import Path


def drain(con, inbox: Path) -> list[dict]:
    return []
