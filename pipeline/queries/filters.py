"""The filter every staff view shares, and how it becomes SQL conditions with `?` parameters."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from pipeline import settings


@dataclass(frozen=True)
class Filters:
    start: dt.date                 # first local day included
    end: dt.date                   # last local day included
    region: str | None = None
    district: str | None = None
    source: str | None = None
    language: str | None = None
    category: str | None = None

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Instants of local midnight at the start and after the end (the akimat's days)."""
        tz = ZoneInfo(settings.get("TZ"))
        return (dt.datetime.combine(self.start, dt.time(), tz),
                dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tz))

    def previous(self) -> "Filters":
        """The period of equal length just before this one."""
        days = (self.end - self.start).days + 1
        return replace(self, start=self.start - dt.timedelta(days=days), end=self.start - dt.timedelta(days=1))


def where(f: Filters, alias: str = "") -> tuple[str, list]:
    """SQL condition and parameters for a filter; None means 'all'."""
    p = f"{alias}." if alias else ""
    start, end = f.bounds()
    sql = (f"{p}received_at >= ? AND {p}received_at < ? "
           f"AND (CAST(? AS VARCHAR) IS NULL OR {p}region = ?) AND (CAST(? AS VARCHAR) IS NULL OR {p}district = ?) "
           f"AND (CAST(? AS VARCHAR) IS NULL OR {p}source = ?) AND (CAST(? AS VARCHAR) IS NULL OR {p}language = ?) "
           f"AND (CAST(? AS VARCHAR) IS NULL OR {p}category = ?)")
    return sql, [start, end, f.region, f.region, f.district, f.district, f.source, f.source, f.language, f.language,
                 f.category, f.category]
