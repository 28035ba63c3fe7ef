"""Shares corrected for the classifier's errors: known error rates and known truths."""
import numpy as np
import pandas as pd
import pytest

from pipeline import quantify
from pipeline.queries import overview, review

CLASSES = ["housing", "roads", "street_cleaning"]


def test_rates_inversion_recovers_true_shares():
    # The model reads 30 % of housing as street_cleaning; the truth is 60 / 30 / 10.
    rate_confusion = np.array([[70, 0, 30], [0, 100, 0], [0, 0, 100]])
    truth = np.array([0.6, 0.3, 0.1])
    observed = truth @ quantify.rates(rate_confusion)  # what counting labels would show: 42 / 30 / 28
    counts = pd.Series(observed * 10_000, index=CLASSES)
    shares = quantify.from_rates(counts, rate_confusion, CLASSES).table.set_index("category")
    assert shares["pct"].round(1).tolist() == [42.0, 30.0, 28.0]
    assert shares["adj_pct"].round(1).tolist() == [60.0, 30.0, 10.0]
    assert (shares["low"] <= shares["adj_pct"] + 1e-9).all() and (shares["adj_pct"] <= shares["high"] + 1e-9).all()


def test_reviews_correct_a_stratified_sample():
    rng = np.random.default_rng(0)
    n = 20_000
    true = rng.choice(CLASSES, n, p=[0.6, 0.3, 0.1])
    pred = np.where((true == "housing") & (rng.random(n) < 0.3), "street_cleaning", true)
    band = np.where(pred == "street_cleaning", "low", "high")
    picked = np.concatenate([rng.choice(np.flatnonzero(band == "low"), 400, replace=False),
                             rng.choice(np.flatnonzero(band == "high"), 100, replace=False)])
    reviewed = pd.DataFrame({"band": band[picked], "predicted": pred[picked], "true": true[picked]})
    rest = np.ones(n, bool)
    rest[picked] = False
    cells = pd.DataFrame({"band": band[rest], "predicted": pred[rest]}).value_counts().rename("n").reset_index()
    shares = quantify.from_reviews(cells, reviewed, reviewed["true"].value_counts(), CLASSES)
    est = shares.table.set_index("category")["adj_pct"]
    truth = pd.Series(true).value_counts(normalize=True) * 100
    counted = pd.Series(pred).value_counts(normalize=True) * 100
    assert quantify.share_errors(pd.Series(true), counted)[0] > 15  # counting is far off
    assert quantify.share_errors(pd.Series(true), est)[0] < 2       # the correction is not
    assert shares.method == "reviews" and shares.basis == 500
    assert (est - truth.reindex(CLASSES)).abs().max() < 2


def test_estimate_falls_back_to_plain_counts_without_any_error_estimate():
    cells = pd.DataFrame({"category": ["roads", "housing"], "exact": [False, True], "band": ["high", "high"], "n": [3, 1]})
    decisions = pd.DataFrame(columns=["band", "predicted", "true"])
    shares = quantify.estimate(cells, decisions, None, CLASSES, 300, 50)
    assert shares.method == "none"
    assert shares.table.set_index("category")["adj_pct"].to_dict() == {"housing": 25.0, "roads": 75.0, "street_cleaning": 0.0}


def test_review_queue_holds_an_audit_sample_of_confident_labels_and_decisions_feed_the_estimate(con, monkeypatch):
    monkeypatch.setenv("SC_REVIEW_AUDIT", "10")
    rows = [[i, f"s{i}", "текст", "roads", 0.95 if i % 2 else 0.2] for i in range(1, 401)]
    con.executemany("INSERT INTO submissions (id, source, source_id, received_at, text, category, category_confidence, "
                    "category_source) VALUES (?, 'hotline_109', ?, now(), ?, ?, ?, 'model')", rows)
    queue = review.queue(con, 0.4, limit=1000)
    confident = queue[queue["category_confidence"] >= 0.4]
    assert 0 < len(confident) < 200 * 0.25  # about 10 % of the 200 confident ones, not all, not none
    assert review.queue_size(con, 0.4) == len(queue)
    audit_id = int(confident["id"].iloc[0])
    low_id = int(queue[queue["category_confidence"] < 0.4]["id"].iloc[0])
    review.label(con, {audit_id: "housing", low_id: "roads"}, actor="op")
    d = review.decisions(con, 0.4).sort_values("band").reset_index(drop=True)
    assert d[["band", "predicted", "true"]].values.tolist() == [["high", "roads", "housing"], ["low", "roads", "roads"]]
    acc = review.own_accuracy(con, 0.4)
    assert acc["decisions"] == 2 and acc["audit"] == 1 and acc["low"] == 1.0 and acc["high"] == 0.0
    assert acc["accuracy"] == pytest.approx(0.5)  # half the model labels are below the threshold
