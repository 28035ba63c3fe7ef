"""The review queue: model labels below the confidence threshold wait for an operator, whose
confirmation or correction is an event and becomes training data (category_source = operator)."""
from __future__ import annotations

import weakref

import duckdb
import pandas as pd

from pipeline import auth, events, privacy, reference, settings, store
from pipeline.queries.rows import by_ids

# The audit sample: a fixed pseudo-random share of submissions, chosen by id (a multiplicative hash,
# so neighbouring ids do not cluster), whose confident labels also wait for review. Their decisions
# are an unbiased sample of the confident labels: what the model's real accuracy and the share
# correction rest on. `?` is the sample's size in per mille.
AUDIT = "((id * 2654435761) % 1000003) % 1000 < ?"
_WHERE = (f"category_source = 'model' AND (category_confidence < ? OR {AUDIT}) "
          "AND (CAST(? AS VARCHAR) IS NULL OR category = ?) AND (CAST(? AS VARCHAR) IS NULL OR district = ?)")


def _audit_permille() -> int:
    return int(round(10 * settings.get_float("REVIEW_AUDIT")))


def queue(con: duckdb.DuckDBPyConnection, threshold: float, category=None, district=None,
          limit: int = 50, viewer: auth.Viewer | None = None) -> pd.DataFrame:
    """The waiting labels, newest first; texts masked for a viewer who may not see contacts."""
    ids = con.execute(f"""
        SELECT id FROM submissions WHERE {_WHERE}
        ORDER BY received_at DESC, id DESC LIMIT {int(limit)}""",
                      [threshold, _audit_permille(), category, category, district, district]).df()["id"].tolist()
    rows = by_ids(con, ("id", "received_at", "text", "category", "category_confidence", "district", "language"), ids)
    return privacy.for_viewer(rows, viewer)


def queue_size(con: duckdb.DuckDBPyConnection, threshold: float, category=None, district=None) -> int:
    return con.execute(f"SELECT count(*) FROM submissions WHERE {_WHERE}",
                       [threshold, _audit_permille(), category, category, district, district]).fetchall()[0][0]


def label(con: duckdb.DuckDBPyConnection, decisions: dict[int, str], actor, comment: str | None = None) -> int:
    """Apply operator labels {submission id: category}; keeping the model's category confirms it.
    `actor`: a signed-in auth.Viewer allowed to label, or a trusted process's name."""
    actor = auth.actor_of(actor, "label")
    unknown = set(decisions.values()) - set(reference.category_codes())
    if unknown:
        raise ValueError(f"unknown category codes: {sorted(unknown)}")
    with store.transaction(con):
        for case_id, category in decisions.items():
            events.change(con, int(case_id), {"category": category, "category_source": "operator",
                                              "category_confidence": 1.0}, actor, comment)
    # the rollups are refreshed once for the whole batch, after its commit (events.change: store.after_commit)
    return len(decisions)


def operator_label_count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM submissions WHERE category_source = 'operator'").fetchall()[0][0]


_decisions_cache: dict[tuple, pd.DataFrame] = {}
_paths: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def decisions(con: duckdb.DuckDBPyConnection, threshold: float) -> pd.DataFrame:
    """decisions_uncached(), kept per database file, version of the event log (its last id and
    size: every label an operator gives is an event) and threshold. It scans the whole event log (50 ms at 10
    million submissions), and every category share on every screen asks for it."""
    try:
        path = _paths.get(con)
        if path is None:  # a connection's file never changes: asked once per connection
            path = _paths[con] = str(store.db_file(con) or "")
        version = con.execute("SELECT (SELECT max(id) FROM events), (SELECT count(*) FROM events), "
                              "(SELECT max(id) FROM submissions)").fetchall()[0]
    except Exception:  # noqa: BLE001 - another engine (pipeline.engines) has no duckdb_databases()
        path = None
    if not path:  # an in-memory database has no name to keep it by
        return decisions_uncached(con, threshold)
    key = (path, *version, threshold, _audit_permille())
    if key not in _decisions_cache:
        if len(_decisions_cache) >= 8:
            _decisions_cache.pop(next(iter(_decisions_cache)))
        _decisions_cache[key] = decisions_uncached(con, threshold)
    return _decisions_cache[key].copy()


def decisions_uncached(con: duckdb.DuckDBPyConnection, threshold: float) -> pd.DataFrame:
    """One row per operator decision on a model label that the queue brought: band ('low' below
    the threshold, 'high' for the audit sample of confident ones), the model's label and
    confidence, the operator's label. Confident labels changed outside the audit sample are left
    out: someone chose to look at them, so they are not a sample of anything. The model's label
    and confidence are the `old` values of the events that the decision wrote."""
    return con.execute(f"""
        WITH decided AS (
            SELECT submission_id, happened_at FROM events
            WHERE field = 'category_source' AND old = 'model' AND new = 'operator'),
        prior AS (
            SELECT d.submission_id AS id,
                   any_value(e.old) FILTER (WHERE e.field = 'category') AS old_category,
                   any_value(e.old) FILTER (WHERE e.field = 'category_confidence') AS old_confidence
            FROM decided d JOIN events e ON e.submission_id = d.submission_id AND e.happened_at = d.happened_at
            GROUP BY d.submission_id)
        SELECT CASE WHEN TRY_CAST(p.old_confidence AS DOUBLE) < ? THEN 'low' ELSE 'high' END AS band,
               coalesce(p.old_category, s.category) AS predicted, s.category AS "true",
               TRY_CAST(p.old_confidence AS DOUBLE) AS confidence
        FROM prior p JOIN submissions s ON s.id = p.id
        WHERE s.category_source = 'operator' AND p.old_confidence IS NOT NULL
          AND (TRY_CAST(p.old_confidence AS DOUBLE) < ? OR {AUDIT.replace("id", "s.id")})""",
                       [threshold, threshold, _audit_permille()]).df()


def accuracy_on_own_data(d: pd.DataFrame, low_share: float) -> dict:
    """The model's accuracy on the customer's own confirmed labels: each band's accuracy on its
    decisions, weighted by the band's share of all model labels (low_share below the threshold),
    so that the queue's many doubtful cases do not make the model look worse than it is."""
    out = {"decisions": int(len(d)), "audit": int((d["band"] == "high").sum()) if len(d) else 0}
    for band in ("low", "high"):
        part = d[d["band"] == band] if len(d) else d
        out[band] = float((part["predicted"] == part["true"]).mean()) if len(part) else None
    if out["low"] is not None and out["high"] is not None:
        out["accuracy"] = low_share * out["low"] + (1 - low_share) * out["high"]
    else:
        out["accuracy"] = out["high"]
    return out


def low_share(con: duckdb.DuckDBPyConnection, threshold: float) -> float:
    """Share of model labels (reviewed ones included) below the threshold."""
    row = con.execute("""
        SELECT count(*) FILTER (WHERE category_source = 'model' AND category_confidence < ?),
               count(*) FILTER (WHERE category_source = 'model')
        FROM submissions""", [threshold]).fetchall()[0]
    reviewed_low, reviewed = con.execute("""
        SELECT count(*) FILTER (WHERE field = 'category_confidence' AND TRY_CAST(old AS DOUBLE) < ?),
               count(*) FILTER (WHERE field = 'category_source' AND old = 'model')
        FROM events WHERE field IN ('category_confidence', 'category_source')""", [threshold]).fetchall()[0]
    total = row[1] + reviewed
    return (row[0] + reviewed_low) / total if total else 0.0


def own_accuracy(con: duckdb.DuckDBPyConnection, threshold: float) -> dict:
    """The model's accuracy measured on the customer's confirmed labels (see accuracy_on_own_data)."""
    return accuracy_on_own_data(decisions(con, threshold), low_share(con, threshold))
