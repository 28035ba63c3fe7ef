"""Placement statistics (issue 14): proposals per placement and week, and placements that produced
nothing lately. Aggregated in SQL; a page of placements at a time. Submissions are matched to the
registry by their `placement` code without regard to case or surrounding spaces (a code typed by
hand). Weeks start on Monday, local time (SC_TZ, the connection's time zone)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline import auth, settings

CODE_OF = "upper(trim(placement))"


def _may_read(viewer) -> None:
    if isinstance(viewer, auth.Viewer):
        viewer.require("page:placements")


def window(weeks: int, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """From local Monday midnight `weeks - 1` weeks before this week's Monday, to `now`."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    tz = ZoneInfo(settings.get("TZ"))
    today = now.astimezone(tz).date()
    monday = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
    return dt.datetime.combine(monday, dt.time(), tz), now


def totals(con, viewer, weeks: int, now: dt.datetime, region: str | None = None, offset: int = 0,
           limit: int = 50) -> tuple[pd.DataFrame, int]:
    """One page of placements by their proposals in the window (most first, then by code), with the
    last proposal's time, and the number of placements in all."""
    _may_read(viewer)
    start, end = window(weeks, now)
    count = con.execute("SELECT count(*) FROM placements WHERE (? IS NULL OR region = ?)", [region, region]).fetchone()[0]
    page = con.execute(f"""
        WITH c AS (
            SELECT {CODE_OF} AS code, count(*) AS proposals, max(received_at) AS last_at
            FROM submissions WHERE placement IS NOT NULL AND received_at >= ? AND received_at < ?
            GROUP BY 1)
        SELECT p.code, p.kind, p.name_ru, p.name_kk, p.region, p.district, p.active,
               coalesce(c.proposals, 0) AS proposals, c.last_at
        FROM placements p LEFT JOIN c USING (code)
        WHERE (? IS NULL OR p.region = ?)
        ORDER BY proposals DESC, p.code LIMIT ? OFFSET ?""",
        [start, end, region, region, int(limit), int(offset)]).df()
    return page, int(count)


def weekly(con, viewer, codes: list[str], weeks: int, now: dt.datetime) -> pd.DataFrame:
    """Proposals per placement and week for `codes` (a page of them): code, week (the local date of
    its Monday), proposals; weeks without any are absent."""
    _may_read(viewer)
    start, end = window(weeks, now)
    return con.execute(f"""
        SELECT {CODE_OF} AS code, CAST(date_trunc('week', received_at) AS DATE) AS week, count(*) AS proposals
        FROM submissions
        WHERE placement IS NOT NULL AND received_at >= ? AND received_at < ? AND list_contains(?, {CODE_OF})
        GROUP BY ALL ORDER BY code, week""", [start, end, [str(c).upper() for c in codes]]).df()


def weeks_of(weeks: int, now: dt.datetime) -> list[dt.date]:
    """The Mondays of the window, oldest first (the columns of a placement x week table)."""
    start, _ = window(weeks, now)
    return [start.date() + dt.timedelta(weeks=i) for i in range(weeks)]


def silent(con, viewer, weeks: int, now: dt.datetime, region: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Active placements with no proposal in the last `weeks` weeks (since local Monday, as the
    table): the ones that never produced one first, then the longest silent; with the last
    proposal's time and when the placement was registered."""
    _may_read(viewer)
    start, _ = window(weeks, now)
    return con.execute(f"""
        WITH last AS (
            SELECT {CODE_OF} AS code, max(received_at) AS last_at, count(*) AS proposals_ever
            FROM submissions WHERE placement IS NOT NULL GROUP BY 1)
        SELECT p.code, p.kind, p.name_ru, p.name_kk, p.region, p.district, p.created_at, last.last_at,
               coalesce(last.proposals_ever, 0) AS proposals_ever
        FROM placements p LEFT JOIN last USING (code)
        WHERE p.active AND (last.last_at IS NULL OR last.last_at < ?) AND (? IS NULL OR p.region = ?)
        ORDER BY last.last_at NULLS FIRST, p.code LIMIT ?""", [start, region, region, int(limit)]).df()


def unknown_codes(con, viewer, weeks: int, now: dt.datetime, limit: int = 20) -> pd.DataFrame:
    """Placement codes on submissions in the window that are not in the registry (a mistyped code,
    a poster from elsewhere), most frequent first."""
    _may_read(viewer)
    start, end = window(weeks, now)
    return con.execute(f"""
        SELECT {CODE_OF} AS code, count(*) AS proposals, max(received_at) AS last_at
        FROM submissions s
        WHERE placement IS NOT NULL AND received_at >= ? AND received_at < ?
          AND NOT EXISTS (SELECT 1 FROM placements p WHERE p.code = {CODE_OF})
        GROUP BY 1 ORDER BY proposals DESC, code LIMIT ?""", [start, end, int(limit)]).df()
