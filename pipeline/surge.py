"""Surge alerts: is a category abnormally busy in a district right now?

Method (the same code scores the live data and the bench over the whole demo history):
- observed: submissions of the category in the district in the last WINDOW_HOURS hours before now;
- history: the same window on the same weekday in each of the previous WEEKS weeks, so the hour of
  day and the weekday are compared like with like and the baseline follows the season;
- expected: the mean of the history after dropping its largest week (one past surge must not
  raise the bar), floored at FLOOR so quiet rural districts are not alarmed by two calls;
- season: when the same category is also up in the rest of the region (the heating season starts,
  snow falls everywhere), expected is scaled up by that rise, (rest now + 1) / (rest expected + 1),
  never down: a district is abnormal against its own past and against its neighbours today;
- alert when observed >= MIN_COUNT, observed >= RATIO x expected and the Poisson upper tail
  P(X >= observed | expected) < ALPHA.
The thresholds were chosen on the demo history with `python bench/surges.py`, which reports the
planted surges found and the false alarms per district per month.
"""
from __future__ import annotations

import argparse
import sys
import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import poisson

from pipeline import reference, replica, settings

WINDOW_HOURS = 24
WEEKS = 8
FLOOR = 1.0
MIN_COUNT = 8
RATIO = 3.0
ALPHA = 1e-6
WEEK_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Rule:
    window_hours: int = WINDOW_HOURS
    weeks: int = WEEKS
    floor: float = FLOOR
    min_count: int = MIN_COUNT
    ratio: float = RATIO
    alpha: float = ALPHA


def expected(history: np.ndarray, rule: Rule = Rule()) -> np.ndarray:
    """Baseline per row of a [n, weeks] array of past window counts: trimmed mean, floored."""
    history = np.asarray(history, dtype=float)
    if history.shape[-1] > 2:
        trimmed = (history.sum(axis=-1) - history.max(axis=-1)) / (history.shape[-1] - 1)
    else:
        trimmed = history.mean(axis=-1)
    return np.maximum(trimmed, rule.floor)


def season_factor(rest_observed: np.ndarray, rest_history: np.ndarray) -> np.ndarray:
    """How much the rest of the region is up against its own baseline; at least 1."""
    history = np.asarray(rest_history, dtype=float)
    base = (history.sum(axis=-1) - history.max(axis=-1)) / max(history.shape[-1] - 1, 1)
    return np.maximum((np.asarray(rest_observed, dtype=float) + 1) / (base + 1), 1.0)


def score(observed: np.ndarray, history: np.ndarray, rest_observed: np.ndarray | None = None,
          rest_history: np.ndarray | None = None, rule: Rule = Rule()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected, p-value, alert) for arrays of observed counts and their [.., weeks] history;
    rest_* are the same counts for the rest of the region (the region minus this district)."""
    observed = np.asarray(observed, dtype=float)
    lam = expected(history, rule)
    if rest_observed is not None:
        lam = lam * season_factor(rest_observed, rest_history)
    p = poisson.sf(observed - 1, lam)
    alert = (observed >= rule.min_count) & (observed >= rule.ratio * lam) & (p < rule.alpha)
    return lam, p, alert


def window_counts(con: duckdb.DuckDBPyConnection, now: dt.datetime, rule: Rule = Rule(),
                  region: str | None = None) -> pd.DataFrame:
    """Counts per (category, district, k): k = 0 is the window ending now, k = 1..weeks the same
    window k weeks earlier."""
    return con.execute("""
        WITH s AS (
            SELECT category, district, (epoch_us(CAST(? AS TIMESTAMPTZ)) - epoch_us(received_at)) / 1e6 AS age
            FROM submissions
            WHERE received_at > CAST(? AS TIMESTAMPTZ) - to_days(CAST(? AS INTEGER))
              AND received_at <= CAST(? AS TIMESTAMPTZ)
              AND category IS NOT NULL AND district IS NOT NULL
              AND (CAST(? AS VARCHAR) IS NULL OR region = ?))
        SELECT category, district, CAST(floor(age / ?) AS INTEGER) AS k, count(*) AS n
        FROM s
        WHERE age - floor(age / ?) * ? < ? AND age >= 0
        GROUP BY ALL""",
        [now, now, 7 * rule.weeks + 1, now, region, region, WEEK_SECONDS, WEEK_SECONDS, WEEK_SECONDS,
         rule.window_hours * 3600]).df()


def current_alerts(con: duckdb.DuckDBPyConnection, now: dt.datetime, rule: Rule = Rule(),
                   region: str | None = None) -> pd.DataFrame:
    """Alerts at `now`, largest excess first: category, district, observed, expected, p, ratio."""
    counts = window_counts(con, now, rule, region)
    cols = ["category", "district", "region", "observed", "expected", "p", "ratio"]
    counts = counts[counts["k"] <= rule.weeks]
    if counts.empty:
        return pd.DataFrame(columns=cols)
    wide = counts.pivot_table(index=["category", "district"], columns="k", values="n", fill_value=0)
    wide = wide.reindex(columns=range(rule.weeks + 1), fill_value=0)
    regions = reference.districts().set_index("code")["region"]
    region_of = wide.index.get_level_values("district").map(regions)
    totals = wide.groupby([wide.index.get_level_values("category"), region_of]).transform("sum")
    rest = (totals - wide).to_numpy()
    weeks = list(range(1, rule.weeks + 1))
    lam, p, alert = score(wide[0].to_numpy(), wide[weeks].to_numpy(), rest[:, 0], rest[:, 1:], rule)
    out = wide.reset_index()[["category", "district"]].assign(observed=wide[0].to_numpy().astype(int),
                                                               expected=lam, p=p)
    out = out[alert].copy()
    out["ratio"] = out["observed"] / out["expected"]
    out["region"] = out["district"].map(regions)
    return out.sort_values(["p", "observed"], ascending=[True, False])[cols].reset_index(drop=True)


def episodes(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime, region: str | None = None,
             district: str | None = None, rule: Rule = Rule(), gap_hours: int = 24) -> pd.DataFrame:
    """The alerts this rule would have raised at every whole hour in (start, end], merged per
    category and district into episodes (alerts less than `gap_hours` apart are one episode):
    category, district, region, first and last (the instants of the first and last alert), peak
    (the largest 24-hour count) and expected (the baseline at the peak). Hourly counts are scored
    the way `current_alerts` scores now, and the rest of the region is the season check as there."""
    cols = ["category", "district", "region", "first", "last", "peak", "expected"]
    week = 7 * 24
    start_h = pd.Timestamp(start).tz_convert("UTC").floor("h")
    end_h = pd.Timestamp(end).tz_convert("UTC").floor("h")
    if end_h <= start_h:
        return pd.DataFrame(columns=cols)
    first_bin = start_h - pd.Timedelta(hours=rule.weeks * week + rule.window_hours)
    if district is not None:
        region = reference.region_of(district) or region
    df = con.execute("""
        SELECT category, district, date_trunc('hour', received_at) AS hour, count(*) AS n
        FROM submissions
        WHERE received_at >= ? AND received_at < ? AND category IS NOT NULL AND district IS NOT NULL
          AND (CAST(? AS VARCHAR) IS NULL OR region = ?)
        GROUP BY ALL""", [first_bin.to_pydatetime(), end_h.to_pydatetime(), region, region]).df()
    if df.empty:
        return pd.DataFrame(columns=cols)
    hours = pd.date_range(first_bin, end_h - pd.Timedelta(hours=1), freq="h")
    pairs = sorted(set(zip(df["category"], df["district"])))
    index = {p: i for i, p in enumerate(pairs)}
    grid = np.zeros((len(pairs), len(hours)), dtype=np.int64)
    rows = np.array([index[p] for p in zip(df["category"], df["district"])])
    at = ((pd.to_datetime(df["hour"], utc=True) - first_bin) / pd.Timedelta(hours=1)).astype(int).to_numpy()
    np.add.at(grid, (rows, at), df["n"].to_numpy())
    c = np.concatenate([np.zeros((len(pairs), 1), dtype=np.int64), np.cumsum(grid, axis=1)], axis=1)
    w = np.zeros(grid.shape, dtype=np.int64)   # w[:, i]: the window ending after hour i
    width = rule.window_hours
    w[:, width - 1:] = c[:, width:] - c[:, :-width]
    regions = reference.districts().set_index("code")["region"]
    groups = np.array([f"{cat}|{regions.get(d, '')}" for cat, d in pairs])
    rest = pd.DataFrame(w).groupby(groups).transform("sum").to_numpy() - w
    t0 = rule.weeks * week + rule.window_hours - 1  # the window ending at start_h + 1 h
    lag = lambda a: np.stack([a[:, t0 - k * week: a.shape[1] - k * week] for k in range(1, rule.weeks + 1)], axis=-1)
    lam, _, alert = score(w[:, t0:], lag(w), rest[:, t0:], lag(rest), rule)
    out = []
    for p in np.flatnonzero(alert.any(axis=1)):
        cat, dist = pairs[p]
        if district is not None and dist != district:
            continue
        ts = np.flatnonzero(alert[p])
        runs, begin, prev = [], ts[0], ts[0]
        for t in ts[1:]:
            if t - prev > gap_hours:
                runs.append((begin, prev))
                begin = t
            prev = t
        runs.append((begin, prev))
        for a, b in runs:
            k = a + int(np.argmax(w[p, t0 + a: t0 + b + 1]))
            out.append({"category": cat, "district": dist, "region": regions.get(dist),
                        "first": hours[t0 + a] + pd.Timedelta(hours=1), "last": hours[t0 + b] + pd.Timedelta(hours=1),
                        "peak": int(w[p, t0 + k]), "expected": float(lam[p, k])})
    if not out:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(out)[cols].sort_values(["first", "category", "district"]).reset_index(drop=True)


# ---- CLI -------------------------------------------------------------------------------------
def arguments_surges(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--at", help="evaluate at this local time, YYYY-MM-DD HH:MM (default: now)")
    parser.add_argument("--region", help="only this region code (aktobe, shymkent)")


def run_surges(args: argparse.Namespace) -> int:
    tz = settings.get("TZ")
    try:
        now = pd.Timestamp(args.at).tz_localize(tz) if args.at else pd.Timestamp.now(tz=tz)
    except (ValueError, TypeError):
        print(f"error: --at {args.at!r} is not a time; use e.g. '2026-11-20 18:00'", file=sys.stderr)
        return 2
    regions = reference.regions()["code"].tolist()
    if args.region is not None and args.region not in regions:  # "no surges" for a typo was a wrong answer
        print(f"error: unknown region {args.region!r}; valid: {', '.join(regions)}", file=sys.stderr)
        return 2
    con = replica.open_for_cli(args.db, "the running app shows the same alerts on the wall display and the overview")
    if con is None:
        return 1
    alerts = current_alerts(con, now.to_pydatetime(), region=args.region)
    if alerts.empty:
        print(f"no surges at {now:%Y-%m-%d %H:%M}")
        return 0
    for a in alerts.itertuples():
        print(f"{a.category}, {a.district}: {a.observed} in the last {WINDOW_HOURS} h, "
              f"expected {a.expected:.1f} (p={a.p:.1e})")
    return 0
