"""Surge rule as a pure function, and the live query on a database built by hand."""
import datetime as dt

import numpy as np

from pipeline import store, surge
from pipeline.__main__ import main

NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.timezone.utc)


def test_trimmed_baseline_ignores_one_past_surge_and_has_a_floor():
    hist = np.array([[2, 2, 2, 2, 2, 2, 2, 40], [0] * 8])
    assert surge.expected(hist).tolist() == [2.0, surge.FLOOR]


def test_score_alerts_on_abnormal_counts_only():
    hist = np.array([[3, 4, 2, 3, 5, 3, 4, 3]] * 3)
    lam, p, alert = surge.score(np.array([4, 30, 7]), hist)
    assert alert.tolist() == [False, True, False]
    assert p[1] < 1e-9 < p[0]


def test_a_region_wide_rise_is_season_not_surge():
    hist = np.array([[3, 3, 3, 3, 3, 3, 3, 3]])
    alone = surge.score([30], hist, [20], np.full((1, 8), 20))[2]
    everywhere = surge.score([30], hist, [200], np.full((1, 8), 20))[2]
    assert alone.tolist() == [True] and everywhere.tolist() == [False]


def _insert(con, category, district, region, at, n):
    rows = [[f"{category}{district}{at.isoformat()}{i}", at - dt.timedelta(minutes=i), category, district, region]
            for i in range(n)]
    con.executemany("INSERT INTO submissions (source, source_id, received_at, text, category, district, region) "
                    "VALUES ('web', ?, ?, 'x', ?, ?, ?)", rows)


def test_current_alerts_finds_the_spike_and_says_how_big(con):
    for week in range(1, 9):  # three water calls in every same-weekday window before
        _insert(con, "water", "abai", "shymkent", NOW - dt.timedelta(days=7 * week, hours=3), 3)
        _insert(con, "water", "turan", "shymkent", NOW - dt.timedelta(days=7 * week, hours=3), 3)
    _insert(con, "water", "abai", "shymkent", NOW - dt.timedelta(hours=2), 25)
    _insert(con, "water", "turan", "shymkent", NOW - dt.timedelta(hours=2), 3)
    _insert(con, "water", "abai", "shymkent", NOW - dt.timedelta(days=2), 50)  # outside every window
    alerts = surge.current_alerts(con, NOW)
    assert alerts[["category", "district", "region", "observed"]].values.tolist() == [["water", "abai", "shymkent", 25]]
    assert alerts["expected"].iloc[0] == 3.0
    assert surge.current_alerts(con, NOW, region="aktobe").empty
    assert surge.current_alerts(con, NOW - dt.timedelta(days=3)).empty


def test_surges_command(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    con = store.connect(db)
    for week in range(1, 9):
        _insert(con, "gas", "karatau", "shymkent", NOW - dt.timedelta(days=7 * week, hours=1), 1)
    _insert(con, "gas", "karatau", "shymkent", NOW - dt.timedelta(hours=1), 20)
    con.close()
    assert main(["surges", "--db", str(db), "--at", "2026-03-18 17:00"]) == 0
    assert "gas, karatau: 20 in the last 24 h, expected 1.0" in capsys.readouterr().out
    assert main(["surges", "--db", str(db), "--at", "2026-03-25 17:00"]) == 0
    assert "no surges" in capsys.readouterr().out
