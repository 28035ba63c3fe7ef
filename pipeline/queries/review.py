"""The review queue: model labels below the confidence threshold wait for an operator, whose
confirmation or correction is an event and becomes training data (category_source = operator)."""
from __future__ import annotations

import duckdb
import pandas as pd

from pipeline import events, reference, store

_WHERE = ("category_source = 'model' AND category_confidence < ? "
          "AND (CAST(? AS VARCHAR) IS NULL OR category = ?) AND (CAST(? AS VARCHAR) IS NULL OR district = ?)")


def queue(con: duckdb.DuckDBPyConnection, threshold: float, category=None, district=None,
          limit: int = 50) -> pd.DataFrame:
    return con.execute(f"""
        SELECT id, received_at, text, category, category_confidence, district, language
        FROM submissions WHERE {_WHERE}
        ORDER BY received_at DESC, id DESC LIMIT ?""",
                       [threshold, category, category, district, district, limit]).df()


def queue_size(con: duckdb.DuckDBPyConnection, threshold: float, category=None, district=None) -> int:
    return con.execute(f"SELECT count(*) FROM submissions WHERE {_WHERE}",
                       [threshold, category, category, district, district]).fetchall()[0][0]


def label(con: duckdb.DuckDBPyConnection, decisions: dict[int, str], actor: str, comment: str | None = None) -> int:
    """Apply operator labels {submission id: category}; keeping the model's category confirms it."""
    unknown = set(decisions.values()) - set(reference.category_codes())
    if unknown:
        raise ValueError(f"unknown category codes: {sorted(unknown)}")
    with store.transaction(con):
        for case_id, category in decisions.items():
            events.change(con, int(case_id), {"category": category, "category_source": "operator",
                                              "category_confidence": 1.0}, actor, comment)
    return len(decisions)


def operator_label_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM submissions WHERE category_source = 'operator'").fetchall()[0][0]
