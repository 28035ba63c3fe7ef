"""Kazakhstan's working calendar: weekends and public holidays from the maintained `holidays`
package (its KZ calendar includes the observed and government-moved days off). Weekend days that a
government decree turns into working days are not in that package; they count as days off here,
which can only make a deadline later by a day, never earlier.

A term of N working days runs from the day after registration (APC art. 64: an appeal is
registered on the day it arrives) and ends at 23:59:59 local time on the Nth working day.
A term in hours counts calendar hours from the moment of registration.
"""
from __future__ import annotations

import datetime as dt
import functools

import holidays
import numpy as np
import pandas as pd

from pipeline import settings

# From the year before the oldest date ingest accepts (2000, ingest.OLDEST), so that every accepted
# date has a first working day after it in the calendar.
FIRST_YEAR, LAST_YEAR = 1999, 2045


@functools.cache
def working_days() -> np.ndarray:
    """Every working day of FIRST_YEAR..LAST_YEAR as datetime64[D], sorted."""
    kz = holidays.country_holidays("KZ", years=range(FIRST_YEAR, LAST_YEAR + 1))
    days = pd.date_range(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31", freq="D")
    keep = (days.weekday < 5) & ~np.isin(days.date, list(kz.keys()))
    return days[keep].to_numpy().astype("datetime64[D]")


def is_working_day(day: dt.date) -> bool:
    wd = working_days()
    d = np.datetime64(day, "D")
    i = np.searchsorted(wd, d)
    return bool(i < len(wd) and wd[i] == d)


def _local_dates(instants: pd.Series, tz: str) -> np.ndarray:
    return instants.dt.tz_convert(tz).dt.tz_localize(None).to_numpy().astype("datetime64[D]")


def add_working_days_series(instants: pd.Series, n) -> pd.Series:
    """End (23:59:59 local) of the n-th working day after each instant's local day; n may vary per row."""
    tz = settings.get("TZ")
    instants = pd.to_datetime(instants, utc=True)
    wd = working_days()
    first = np.searchsorted(wd, _local_dates(instants, tz), side="right")  # first working day after
    idx = first + np.asarray(n, dtype=np.int64) - 1
    if len(idx) and (idx.max() >= len(wd) or first.min() == 0):
        raise ValueError(f"date outside the working calendar {FIRST_YEAR}-{LAST_YEAR}")
    end_local = pd.to_datetime(wd[idx]) + pd.Timedelta(hours=23, minutes=59, seconds=59)
    out = pd.Series(end_local, index=instants.index).dt.tz_localize(tz).dt.tz_convert("UTC")
    return out.astype("datetime64[us, UTC]")


def add_working_days(instant: dt.datetime, n: int) -> pd.Timestamp:
    return add_working_days_series(pd.Series([instant]), n).iloc[0]


def add_hours_series(instants: pd.Series, hours) -> pd.Series:
    instants = pd.to_datetime(instants, utc=True)
    return (instants + pd.to_timedelta(np.asarray(hours, dtype=float), unit="h")).astype("datetime64[us, UTC]")


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Working days after start's local day up to and including end's local day."""
    tz = settings.get("TZ")
    a, b = _local_dates(pd.Series([pd.Timestamp(start)]).dt.tz_convert("UTC"), tz)[0], \
        _local_dates(pd.Series([pd.Timestamp(end)]).dt.tz_convert("UTC"), tz)[0]
    wd = working_days()
    return int(max(0, np.searchsorted(wd, b, side="right") - np.searchsorted(wd, a, side="right")))


def local(instant) -> pd.Timestamp:
    """An instant shown in the akimat's local time (tz database: knows the 2024 move to UTC+5)."""
    return pd.Timestamp(instant).tz_convert(settings.get("TZ"))
