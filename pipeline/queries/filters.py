"""The filter every staff view shares, and how it becomes SQL conditions with `?` parameters.

One definition per concept lives here too: what counts as open, overdue, closed, a low-confidence
label and a reviewed one. Every screen, the exports and the explorer's drill-downs use these, so
a figure on one screen is the row count of the same filter in the explorer."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from zoneinfo import ZoneInfo

from pipeline import settings

OPEN_STATUSES = ("new", "feedback_given", "in_progress", "reopened")
OPEN = "(" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"   # the same, as a SQL list
STATUS_GROUPS = ("open", "closed")
CONFIDENCE_BANDS = ("low", "high", "operator")


def open_sql(alias: str = "") -> str:
    """A case still waiting for the akimat: new, feedback given, in progress or reopened."""
    return f"{alias}status IN {OPEN}"


def overdue_sql(alias: str = "") -> str:
    """Open and past its resolution deadline at the parameter `?` (now)."""
    return f"({alias}status IN {OPEN} AND {alias}due_at < ?)"


@dataclass(frozen=True)
class Filters:
    start: dt.date                 # first local day included
    end: dt.date                   # last local day included
    region: str | None = None
    district: str | None = None
    source: str | None = None
    language: str | None = None
    category: str | None = None
    status: str | None = None      # 'open', 'closed' or one status code
    department: str | None = None
    placement: str | None = None
    confidence: str | None = None  # 'low' (model, below the review threshold), 'high' (model), 'operator'
    overdue: bool | None = None    # open and past the deadline (True) or not (False)
    reviewed: bool | None = None   # an operator confirmed or corrected the category
    confirmed: bool | None = None  # the resident confirmed it is fixed (resident_confirmed_at is set)
    q: str | None = None           # words to find in the text, in any of their forms

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """Instants of local midnight at the start and after the end (the akimat's days)."""
        tz = ZoneInfo(settings.get("TZ"))
        return (dt.datetime.combine(self.start, dt.time(), tz),
                dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tz))

    def previous(self) -> "Filters":
        """The period of equal length just before this one."""
        days = (self.end - self.start).days + 1
        return replace(self, start=self.start - dt.timedelta(days=days), end=self.start - dt.timedelta(days=1))

    def year_before(self) -> "Filters":
        """The same days one year earlier (29 February becomes 28 February)."""
        def back(d: dt.date) -> dt.date:
            return d.replace(year=d.year - 1, day=min(d.day, 28 if d.month == 2 else d.day))
        return replace(self, start=back(self.start), end=back(self.end))

    def without(self, *names: str) -> "Filters":
        return replace(self, **{n: None for n in names})

    def params(self) -> dict[str, str]:
        """The filter as URL query parameters (what a link to the explorer carries)."""
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("start", "end") or value is None or value == "":
                continue
            out[f.name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out


def from_params(params, default_start: dt.date, default_end: dt.date) -> Filters:
    """A Filters from URL query parameters (the inverse of Filters.params); unknown or malformed
    values are dropped, so a hand-edited link never fails."""
    def day(key: str, default: dt.date) -> dt.date:
        try:
            return dt.date.fromisoformat(str(params.get(key)))
        except (TypeError, ValueError):
            return default

    def flag(key: str) -> bool | None:
        value = params.get(key)
        return {"1": True, "0": False, "true": True, "false": False}.get(str(value).lower()) if value is not None else None

    def choice(key: str, allowed=None) -> str | None:
        value = params.get(key)
        if value is None or str(value) == "" or len(str(value)) > 200:
            return None
        return str(value) if allowed is None or str(value) in allowed else None

    from pipeline.workflow import STATUSES  # the workflow imports this module

    start, end = day("from", default_start), day("to", default_end)
    if end < start:
        start, end = end, start
    return Filters(start=start, end=end, region=choice("region"), district=choice("district"),
                   source=choice("source"), language=choice("language"), category=choice("category"),
                   status=choice("status", STATUS_GROUPS + STATUSES), department=choice("department"),
                   placement=choice("placement"), confidence=choice("confidence", CONFIDENCE_BANDS),
                   overdue=flag("overdue"), reviewed=flag("reviewed"), confirmed=flag("confirmed"), q=choice("q"))


def where(f: Filters, alias: str = "", now: dt.datetime | None = None) -> tuple[str, list]:
    """SQL condition and parameters for a filter; None means 'all'. `now` decides what is overdue."""
    from pipeline.queries import textsearch

    p = f"{alias}." if alias else ""
    start, end = f.bounds()
    parts = [f"{p}received_at >= ?", f"{p}received_at < ?"]
    params: list = [start, end]
    for name in ("region", "district", "source", "language", "category", "department", "placement"):
        value = getattr(f, name)
        if value is not None:
            parts.append(f"coalesce({p}category, 'other') = ?" if name == "category" else f"{p}{name} = ?")
            params.append(value)
    if f.status == "open":
        parts.append(open_sql(p))
    elif f.status == "closed":
        parts.append(f"NOT {open_sql(p)}")
    elif f.status is not None:
        parts.append(f"{p}status = ?")
        params.append(f.status)
    if f.confidence == "operator":
        parts.append(f"{p}category_source = 'operator'")
    elif f.confidence in ("low", "high"):
        op = "<" if f.confidence == "low" else ">="
        parts.append(f"coalesce({p}category_source, 'model') <> 'operator' AND coalesce({p}category_confidence, 0) {op} ?")
        params.append(settings.get_float("REVIEW_THRESHOLD"))
    if f.reviewed is not None:
        parts.append(f"{'' if f.reviewed else 'NOT '}coalesce({p}category_source = 'operator', false)")
    if f.confirmed is not None:
        parts.append(f"{p}resident_confirmed_at IS {'NOT ' if f.confirmed else ''}NULL")
    if f.overdue is not None:
        parts.append(overdue_sql(p) if f.overdue else f"NOT coalesce({overdue_sql(p)}, false)")
        params.append(now or dt.datetime.now(dt.timezone.utc))
    if f.q:
        cond, terms = textsearch.condition(f.q, p)
        if cond:
            parts.append(cond)
            params.extend(terms)
    return " AND ".join(parts), params
