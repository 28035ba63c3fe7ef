"""Category shares corrected for the classifier's errors (quantification).

The screens show shares, not single labels, and a share can be estimated better than the labels
it is counted from: if the model calls 10 % of true `housing` texts `street_cleaning`, counting its
labels moves that 10 % from one bar to the other, and knowing the rate moves it back.

Two estimators, one per source of knowledge about the errors:
- `from_reviews`: the operators' review decisions. The review queue holds every label below the
  confidence threshold plus an audit sample of confident ones (`in_audit_sample`), so within each
  confidence band and predicted category the reviewed cases are a sample of the rest, and
  P(true | predicted, band) estimated on them applies to the unreviewed cases of that cell
  (stratified misclassification-rate estimation). Used when there are enough decisions.
- `from_rates`: otherwise, the cross-validated confusion rates P(predicted | true) of the model's
  training data, inverted by constrained least squares (adjusted classify-and-count).

Both return the share of every category with a 90 % interval from a bootstrap of what they were
estimated on. Counts of single cases (open, overdue) are never corrected: they are exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BOOTSTRAP = 200
LEVEL = 0.90
# Per cell of (band, predicted category): the model's own label counts as this many reviews, so a
# cell with one or two decisions is not turned over by them.
PRIOR_WEIGHT = 2.0


@dataclass
class Shares:
    """Per category: counted share, corrected share and its interval, all in percent."""
    table: pd.DataFrame  # category, n (counted), pct (counted), adj_pct, low, high
    method: str          # "reviews", "cross_validation" or "none"
    basis: int           # how many decisions or cross-validated texts the correction rests on


def rates(confusion: np.ndarray) -> np.ndarray:
    """Rows normalised: R[i, j] = P(predicted j | true i). A class never seen keeps its own label."""
    confusion = np.asarray(confusion, dtype=float)
    totals = confusion.sum(axis=1, keepdims=True)
    out = np.where(totals > 0, confusion / np.maximum(totals, 1e-12), 0.0)
    empty = totals[:, 0] == 0
    out[empty, :] = 0.0
    out[empty, np.flatnonzero(empty)] = 1.0
    return out


def invert(observed: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """Shares p >= 0 summing to 1 that best explain the observed label shares q = R^T p."""
    from scipy.optimize import nnls

    k = len(observed)
    weight = 1e3  # the sum-to-one row, weighted so that it holds
    a = np.vstack([rate.T, weight * np.ones((1, k))])
    b = np.concatenate([observed, [weight]])
    p, _ = nnls(a, b)
    total = p.sum()
    return p / total if total > 0 else observed


def _interval(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - LEVEL) / 2
    return np.quantile(samples, tail, axis=0), np.quantile(samples, 1 - tail, axis=0)


def from_rates(counts: pd.Series, confusion: np.ndarray, classes: list[str], seed: int = 0) -> Shares:
    """Adjusted classify-and-count: `counts` of model labels per category, `confusion` the
    cross-validated matrix (rows true, columns predicted) over `classes`."""
    q_counts = counts.reindex(classes, fill_value=0).to_numpy(dtype=float)
    n = q_counts.sum()
    confusion = np.asarray(confusion, dtype=float)
    if n == 0:
        return _table(counts, classes, q_counts, q_counts, q_counts, q_counts, "cross_validation", int(confusion.sum()))
    q = q_counts / n
    point = invert(q, rates(confusion))
    rng = np.random.default_rng(seed)
    boots = []
    row_totals = confusion.sum(axis=1).astype(int)
    row_probs = rates(confusion)
    for _ in range(BOOTSTRAP):
        conf_b = np.vstack([rng.multinomial(t, p) if t > 0 else np.zeros(len(classes)) for t, p in zip(row_totals, row_probs)])
        q_b = rng.multinomial(int(n), q) / n
        boots.append(invert(q_b, rates(conf_b)))
    low, high = _interval(np.array(boots))
    return _table(counts, classes, q_counts, point * n, low * n, high * n, "cross_validation", int(confusion.sum()))


def from_reviews(cells: pd.DataFrame, reviewed: pd.DataFrame, exact: pd.Series, classes: list[str],
                 seed: int = 0) -> Shares:
    """Stratified correction from review decisions.

    cells: band, predicted, n: unreviewed model labels per confidence band and predicted category.
    reviewed: band, predicted, true: one row per operator decision on a model label.
    exact: counts per category of labels that are already right (operator-labelled cases).
    """
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    bands = sorted(set(cells["band"]) | set(reviewed["band"]))
    counted = (cells.groupby("predicted")["n"].sum().reindex(classes, fill_value=0)
               + exact.reindex(classes, fill_value=0)).to_numpy(dtype=float)
    exact_v = exact.reindex(classes, fill_value=0).to_numpy(dtype=float)

    def estimate(rev: pd.DataFrame) -> np.ndarray:
        total = exact_v.copy()
        for band in bands:
            cell = cells[cells["band"] == band]
            rb = rev[rev["band"] == band]
            tab = np.zeros((k, k))  # predicted x true
            if len(rb):
                np.add.at(tab, (rb["predicted"].map(index).to_numpy(), rb["true"].map(index).to_numpy()), 1)
            tab += PRIOR_WEIGHT * np.eye(k)
            cond = tab / tab.sum(axis=1, keepdims=True)
            n = cell.groupby("predicted")["n"].sum().reindex(classes, fill_value=0).to_numpy(dtype=float)
            total += n @ cond
        return total

    point = estimate(reviewed)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(BOOTSTRAP if len(reviewed) else 0):
        boots.append(estimate(reviewed.iloc[rng.integers(0, len(reviewed), len(reviewed))]))
    low, high = _interval(np.array(boots)) if boots else (point, point)
    counts = pd.Series(counted, index=classes)
    return _table(counts, classes, counted, point, low, high, "reviews", int(len(reviewed)))


def plain(counts: pd.Series, classes: list[str]) -> Shares:
    c = counts.reindex(classes, fill_value=0).to_numpy(dtype=float)
    return _table(counts, classes, c, c, c, c, "none", 0)


def _table(counts, classes, counted, point, low, high, method, basis) -> Shares:
    counted = np.asarray(counted, dtype=float)
    n = counted.sum()
    scale = 100.0 / n if n else 0.0
    df = pd.DataFrame({"category": classes, "n": counted.astype(int), "pct": counted * scale,
                       "adj_pct": np.asarray(point) * scale,
                       "low": np.minimum(np.asarray(low), np.asarray(point)) * scale,
                       "high": np.maximum(np.asarray(high), np.asarray(point)) * scale})
    return Shares(df, method, basis)


def share_errors(truth: pd.Series, shares: pd.Series) -> tuple[float, float]:
    """Worst and mean absolute difference in percentage points between true shares (from labels)
    and estimated ones (percent per category)."""
    true_pct = truth.value_counts(normalize=True) * 100
    cats = sorted(set(true_pct.index) | set(shares.index))
    diff = (shares.reindex(cats, fill_value=0) - true_pct.reindex(cats, fill_value=0)).abs()
    return float(diff.max()), float(diff.mean())


def estimate(cells: pd.DataFrame, decisions: pd.DataFrame, cross_validation: dict | None, classes: list[str],
             min_reviews: int, min_audit: int, mode: str = "reviews") -> Shares:
    """The shares shown on every screen, from one filter's label counts.

    cells: category, exact (an operator's label), band ('low' below the review threshold, else
    'high'), n. decisions: band, predicted, true, one per operator decision on a model label (the
    whole store's, not only the filter's: the error rates are the model's, not the district's).
    mode 'reviews': the decisions once there are min_reviews of them and min_audit from the audit
    sample, else plain counting. 'cv': the same, but the cross-validated confusion rates before
    there are enough decisions. 'none': plain counting. Measured on 30,806 real appeals the corpus's
    cross-validated rates made the worst share error worse (1.7 -> 2.0 points): the corpus's
    confusions are not the customer's, so 'reviews' is the default."""
    audit = int((decisions["band"] == "high").sum()) if len(decisions) else 0
    corrects = mode != "none" and len(decisions) >= min_reviews and audit >= min_audit
    if not corrects and (mode != "cv" or not (cross_validation or {}).get("confusion")):
        # plain counting, the usual case before operators have reviewed enough: summed without
        # pandas' groupby (a few dozen cells; every share on every screen comes this way)
        index = {c: i for i, c in enumerate(classes)}
        counted = np.zeros(len(classes))
        for category, n in zip(cells["category"].tolist(), cells["n"].tolist()):
            counted[index[category]] += n
        return _table(None, classes, counted, counted, counted, counted, "none", 0)
    exact = cells[cells["exact"]].groupby("category")["n"].sum()
    model = cells[~cells["exact"]]
    if corrects:
        return from_reviews(model.rename(columns={"category": "predicted"})[["band", "predicted", "n"]],
                            decisions, exact, classes)
    counts = model.groupby("category")["n"].sum()
    cv = cross_validation or {}
    if mode != "cv" or not cv.get("confusion") or counts.sum() == 0:
        return plain(counts.add(exact, fill_value=0), classes)
    cv_classes = list(cv["classes"])
    corrected = from_rates(counts, np.array(cv["confusion"]), cv_classes)
    t = corrected.table.set_index("category").reindex(classes, fill_value=0.0)
    n_model = counts.sum()
    ex = exact.reindex(classes, fill_value=0).to_numpy(dtype=float)
    counted = counts.reindex(classes, fill_value=0).to_numpy(dtype=float) + ex
    point, low, high = (t[c].to_numpy() / 100 * n_model + ex for c in ("adj_pct", "low", "high"))
    return _table(None, classes, counted, point, low, high, "cross_validation", corrected.basis)
