"""Surge detection on the demo history: `python bench/surges.py [--db FILE | --rows 300000]`.

Replays pipeline.surge's rule at every hour of the history (after a warm-up of WEEKS weeks) for
every (category, district), merges alerts of one pair less than a day apart into one episode, and
scores the episodes against the surges the demo planted (table demo_surges):
- found: planted surges with an alert while they were running (or within a window after);
- false alarms: episodes overlapping no planted surge, per district per month (target <= 1).
Baseline measured in the same run: a naive rule (alert when the last 24 h hold more than twice
the same window a week earlier and at least MIN_COUNT), to show what the trimmed Poisson rule buys.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import demo_db  # noqa: E402
from pipeline import reference, surge  # noqa: E402

warnings.filterwarnings("ignore", message=".*inplace keyword")  # raised inside duckdb .df()


def hourly(con) -> tuple[np.ndarray, list[tuple[str, str]], pd.DatetimeIndex]:
    df = con.execute("""
        SELECT category, district, date_trunc('hour', received_at) AS hour, count(*) AS n
        FROM submissions WHERE category IS NOT NULL AND district IS NOT NULL GROUP BY ALL""").df()
    df["hour"] = df["hour"].dt.tz_convert("UTC")
    hours = pd.date_range(df["hour"].min(), df["hour"].max(), freq="h")
    pairs = sorted(set(zip(df["category"], df["district"])))
    index = {p: i for i, p in enumerate(pairs)}
    grid = np.zeros((len(pairs), len(hours)), dtype=np.int32)
    rows = np.array([index[p] for p in zip(df["category"], df["district"])])
    cols = ((df["hour"] - hours[0]) / pd.Timedelta(hours=1)).astype(int).to_numpy()
    np.add.at(grid, (rows, cols), df["n"].to_numpy())
    return grid, pairs, hours


def windows(grid: np.ndarray, width: int) -> np.ndarray:
    """w[:, t] = submissions in hours t-width+1 .. t (the window ending after hour t)."""
    c = np.concatenate([np.zeros((grid.shape[0], 1), dtype=np.int64), np.cumsum(grid, axis=1)], axis=1)
    w = np.zeros(grid.shape, dtype=np.int64)
    w[:, width - 1:] = c[:, width:] - c[:, :-width]
    return w


def episodes(alert: np.ndarray, gap: int = 24) -> list[tuple[int, int, int]]:
    """(pair, first hour, last hour) of runs of alerts, runs less than `gap` hours apart merged."""
    out = []
    for p in np.flatnonzero(alert.any(axis=1)):
        ts = np.flatnonzero(alert[p])
        start = prev = ts[0]
        for t in ts[1:]:
            if t - prev > gap:
                out.append((p, start, prev))
                start = t
            prev = t
        out.append((p, start, prev))
    return out


def evaluate(grid, pairs, hours, planted: pd.DataFrame, rule_alert) -> dict:
    rule = surge.Rule()
    w = windows(grid, rule.window_hours)
    week = 7 * 24
    t0 = week * rule.weeks + rule.window_hours
    obs = w[:, t0:]
    hist = np.stack([w[:, t0 - k * week: w.shape[1] - k * week] for k in range(1, rule.weeks + 1)], axis=-1)
    region_of = reference.districts().set_index("code")["region"]
    groups = pd.Series([f"{c}|{region_of[d]}" for c, d in pairs])
    totals_w = pd.DataFrame(w).groupby(groups.to_numpy()).transform("sum").to_numpy()
    rest = totals_w - w
    rest_obs = rest[:, t0:]
    rest_hist = np.stack([rest[:, t0 - k * week: w.shape[1] - k * week] for k in range(1, rule.weeks + 1)], axis=-1)
    alert = rule_alert(obs, hist, rest_obs, rest_hist)
    eps = episodes(alert)
    start_hour = hours[t0]
    planted = planted.assign(
        s=((planted["start_at"].dt.tz_convert("UTC") - start_hour) / pd.Timedelta(hours=1)).astype(int),
        e=((planted["end_at"].dt.tz_convert("UTC") - start_hour) / pd.Timedelta(hours=1)).astype(int))
    found, false = set(), []
    for p, a, b in eps:
        cat, dist = pairs[p]
        hit = planted[(planted.category == cat) & (planted.district == dist)
                      & (planted.s <= b) & (planted.e + rule.window_hours >= a)]
        if len(hit):
            found.update(hit.index)
        else:
            false.append((dist, hours[t0 + a]))
    districts = sorted({d for _, d in pairs})
    months = obs.shape[1] / (24 * 30.44)
    per = pd.Series([d + at.strftime(" %Y-%m") for d, at in false]).value_counts()
    in_range = planted[planted.s >= 0]
    return {"found": len(found & set(in_range.index)), "planted": len(in_range),
            "missed": [f"{r.category}/{r.district} {r.story}" for r in in_range.itertuples() if r.Index not in found],
            "false": len(false), "per_district_month": len(false) / (len(districts) * months),
            "worst_district_month": int(per.max()) if len(per) else 0, "months": months}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    demo_db.arguments(parser, rows=300_000)
    args = parser.parse_args()
    with demo_db.opened(args) as con:
        grid, pairs, hours = hourly(con)
        planted = con.execute("SELECT * FROM demo_surges").df()
        n = int(grid.sum())
    rule = surge.Rule()
    t = time.perf_counter()
    ours = evaluate(grid, pairs, hours, planted, lambda o, h, ro, rh: surge.score(o, h, ro, rh, rule)[2])
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    naive = evaluate(grid, pairs, hours, planted,
                     lambda o, h, ro, rh: (o >= rule.min_count) & (o > 2 * h[..., 0]))
    t_naive = time.perf_counter() - t
    print(f"history: {n:,} submissions, {len(pairs)} category x district pairs, "
          f"{ours['months']:.1f} months scored hour by hour after a {rule.weeks}-week warm-up")
    for name, r, secs in (("trimmed Poisson (ours)", ours, t_ours), ("naive 2x last week (baseline)", naive, t_naive)):
        print(f"{name}: found {r['found']}/{r['planted']} planted surges; {r['false']} false alarms = "
              f"{r['per_district_month']:.3f} per district per month (worst district in one calendar month: {r['worst_district_month']}); "
              f"{secs:.1f} s")
        for m in r["missed"]:
            print(f"  missed: {m}")
    ratio = naive["false"] / max(ours["false"], 1)
    print(f"false alarms, baseline / ours = {ratio:.1f}x")


if __name__ == "__main__":
    main()
