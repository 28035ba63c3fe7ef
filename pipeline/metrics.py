"""Case metrics as pure functions of a DataFrame of cases (columns received_at, feedback_due_at,
feedback_at, due_at, resolved_at, status, reopened, category, district, department) and a `now`.

Definitions (the same everywhere in the app):
- feedback in time: feedback_at <= feedback_due_at, among cases whose feedback is given or due;
- resolved on time: resolved_at <= due_at, among cases resolved or already past due;
- open: status in new, feedback_given, in_progress, reopened; backlog age in days since received;
- reopen rate: share of resolved-at-some-point cases that were reopened;
- days to feedback and to resolution: counted in whole minutes under two days, in whole hours from
  two days on (`counted_minutes`), the unit pipeline.rollup keeps them in, so that the medians and
  90th percentiles of a year come from its counts and equal those of the rows (the pages show
  tenths of a day, the README's figures tenths of an hour).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline.queries.filters import OPEN_STATUSES

OPEN = OPEN_STATUSES
DAY = pd.Timedelta(days=1)
MINUTE = pd.Timedelta(minutes=1)
FINE_MINUTES = 2880  # durations under two days are counted in minutes, longer ones in hours
# The same rule in SQL, on a duration in minutes `{d}` (a DOUBLE): pipeline.rollup and
# pipeline.queries.cases format it; floor(x + 0.5) rounds halves up in both engines and in numpy.
COUNTED_MINUTES_SQL = (f"CAST(CASE WHEN {{d}} < {FINE_MINUTES} THEN floor({{d}} + 0.5) "
                       "ELSE floor({d} / 60 + 0.5) * 60 END AS BIGINT)")


def quantile(values, q: float) -> float | None:
    """Linear-interpolated quantile of the non-missing values (None when there are none)."""
    xs = sorted(v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v)))
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values) -> float | None:
    return quantile(values, 0.5)


def quantile_counted(counts, q: float) -> float | None:
    """quantile() of values given as (value, how many times) pairs, as a histogram gives them: the
    same linear interpolation between the two values around the position."""
    pairs = sorted((v, int(n)) for v, n in counts if n)
    total = sum(n for _, n in pairs)
    if not total:
        return None
    pos = (total - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    at, seen = {}, 0
    for v, n in pairs:
        for k in (lo, hi):
            if k not in at and k < seen + n:
                at[k] = v
        if hi in at:
            break
        seen += n
    return at[lo] + (at[hi] - at[lo]) * (pos - lo)


def counted_minutes(minutes: pd.Series) -> pd.Series:
    """Durations in minutes as the metrics count them (COUNTED_MINUTES_SQL): whole minutes under
    two days, whole hours (in minutes) from two days on."""
    fine = np.floor(minutes + 0.5)
    coarse = np.floor(minutes / 60 + 0.5) * 60
    return fine.where(minutes < FINE_MINUTES, coarse)


def _share(hit: pd.Series, base: pd.Series) -> float | None:
    n = int(base.sum())
    return None if n == 0 else float((hit & base).sum()) / n


def feedback_in_time(df: pd.DataFrame, now) -> float | None:
    due = df["feedback_at"].notna() | (df["feedback_due_at"] < now)
    return _share(df["feedback_at"].notna() & (df["feedback_at"] <= df["feedback_due_at"]), due)


def resolved_on_time(df: pd.DataFrame, now) -> float | None:
    counted = df["resolved_at"].notna() | (df["due_at"] < now)
    return _share(df["resolved_at"].notna() & (df["resolved_at"] <= df["due_at"]), counted)


def days_between(start: pd.Series, end: pd.Series) -> list[float]:
    """Days from start to end as counted_minutes counts them; missing ends left out."""
    return [m / 1440 for m in counted_minutes((end - start) / MINUTE).tolist() if m == m]


def summary(df: pd.DataFrame, now) -> dict:
    open_ = df["status"].isin(OPEN)
    to_feedback = days_between(df["received_at"], df["feedback_at"])
    to_resolution = days_between(df["received_at"], df["resolved_at"])
    ever_resolved = df["resolved_at"].notna() | df["reopened"]
    age = ((now - df.loc[open_, "received_at"]) / DAY).tolist()
    return {
        "cases": len(df),
        "feedback_in_time": feedback_in_time(df, now),
        "resolved_on_time": resolved_on_time(df, now),
        "median_days_to_feedback": median(to_feedback),
        "p90_days_to_feedback": quantile(to_feedback, 0.9),
        "median_days_to_resolution": median(to_resolution),
        "p90_days_to_resolution": quantile(to_resolution, 0.9),
        "backlog": int(open_.sum()),
        "backlog_median_age_days": median(age),
        "overdue": int((open_ & (df["due_at"] < now)).sum()),
        "reopen_rate": _share(df["reopened"], ever_resolved),
    }


def summary_by(df: pd.DataFrame, now, by: str) -> pd.DataFrame:
    """summary() for each value of a column (category, district or department)."""
    rows = [{by: key, **summary(group, now)} for key, group in df.groupby(by, dropna=False)]
    return pd.DataFrame(rows).sort_values("cases", ascending=False, ignore_index=True)
