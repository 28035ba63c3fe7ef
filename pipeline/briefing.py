"""The akim's briefing: the facts of a period and territory, each with its change against the
previous period and the same period last year, written as Russian or Kazakh text by rules.

Every figure comes from the functions the screens use (pipeline.queries.cases.summary, with pipeline.metrics' definitions, for feedback and
resolution in time, pipeline.queries.explore for counts and per-value counts, which are the
explorer's own row counts, overview.category_shares for corrected shares, overview.district_stats
for per-10,000 rates, overview.top_rising for risers, pipeline.surge for surges), and carries
the explorer filter (Filters.params()) that shows its rows, plus a one-line definition.

Layers: `compute` -> Facts (numbers and filters), `write` -> Briefing (sections of sentences whose
parts point at figures), then pipeline.briefing_docs renders PDF and DOCX and the page renders HTML.
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from pipeline import grammar, i18n, reference, replica, settings, sla, surge
from pipeline.grammar import fmt_dec, fmt_int, fmt_pct
from pipeline.queries import cases, explore, overview
from pipeline.queries.filters import Filters

KINDS = ("week", "month", "quarter", "custom")
FORMATS = ("pdf", "docx")
TOP = 5           # problems listed
RISERS = 3
STANDOUT = 1.2    # a district stands out at this many times the average per 10,000 residents
STANDOUTS = 3
DEPARTMENTS = 5
NOUN = {  # nouns counted in the text: Russian nominative singular, Kazakh stem, English
    "submission": {"ru": "обращение", "kk": "өтініш", "en": "submission"},
    "surge": {"ru": "всплеск", "kk": "рет", "en": "surge"},
}


class BriefingError(ValueError):
    """Bad input (a period or a territory); the message is one line."""


# ---- period and territory ----------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date

    @property
    def code(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "week":
            y, w, _ = self.start.isocalendar()
            return f"{y}-W{w:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start}..{self.end}"

    def previous(self) -> "Period":
        """The calendar period before (last week, last month, last quarter); for custom dates the
        days of equal length just before (Filters.previous)."""
        if self.kind == "week":
            return Period("week", self.start - dt.timedelta(days=7), self.start - dt.timedelta(days=1))
        if self.kind in ("month", "quarter"):
            months = 1 if self.kind == "month" else 3
            return _months(self.kind, _add_months(self.start, -months), months)
        f = Filters(self.start, self.end).previous()
        return Period("custom", f.start, f.end)

    def year_before(self) -> "Period":
        """The same week 52 weeks earlier (Mondays meet Mondays, like the wall), the same month or
        quarter a year earlier, or for custom dates the same days a year earlier (Filters.year_before)."""
        if self.kind == "week":
            return Period("week", self.start - dt.timedelta(weeks=52), self.end - dt.timedelta(weeks=52))
        if self.kind in ("month", "quarter"):
            return _months(self.kind, self.start.replace(year=self.start.year - 1), 1 if self.kind == "month" else 3)
        f = Filters(self.start, self.end).year_before()
        return Period("custom", f.start, f.end)

    def label(self, lang: str) -> str:
        if self.kind == "month":
            return i18n.t("brief.period.month", lang, month=_month(self.start.month, lang), year=self.start.year)
        if self.kind == "quarter":
            q = "I II III IV".split()[(self.start.month - 1) // 3]
            return i18n.t("brief.period.quarter", lang, q=q, year=self.start.year)
        span = f"{self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"
        if self.kind == "week":
            return i18n.t("brief.period.week", lang, n=self.start.isocalendar()[1], span=span)
        return span


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, 1)


def _months(kind: str, first: dt.date, n: int) -> Period:
    return Period(kind, first, _add_months(first, n) - dt.timedelta(days=1))


def _month(m: int, lang: str) -> str:
    return i18n.t("brief.months", lang).split(",")[m - 1]


def parse_period(text: str, today: dt.date | None = None) -> Period:
    """2026-10 (month), 2026-W44 (ISO week), 2026-Q3 (quarter), 2026-10-01..2026-10-31 (custom),
    or last-week / last-month / last-quarter (before today, for scheduled runs)."""
    s = (text or "").strip()
    today = today or dt.datetime.now(ZoneInfo(settings.get("TZ"))).date()
    try:
        if s in ("last-week", "last-month", "last-quarter"):
            kind = s.split("-")[1]
            current = {"week": today - dt.timedelta(days=today.weekday()), "month": today.replace(day=1),
                       "quarter": dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)}[kind]
            return {"week": Period("week", current, current + dt.timedelta(days=6)), "month": _months("month", current, 1),
                    "quarter": _months("quarter", current, 3)}[kind].previous()
        if m := re.fullmatch(r"(\d{4})-(\d{2})", s):
            return _months("month", dt.date(int(m[1]), int(m[2]), 1), 1)
        if m := re.fullmatch(r"(\d{4})-W(\d{2})", s, re.I):
            start = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return Period("week", start, start + dt.timedelta(days=6))
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", s, re.I):
            return _months("quarter", dt.date(int(m[1]), 3 * int(m[2]) - 2, 1), 3)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", s):
            start, end = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if end < start:
                raise BriefingError(f"period {s!r}: the end is before the start")
            return Period("custom", start, end)
    except ValueError as exc:
        if isinstance(exc, BriefingError):
            raise
        raise BriefingError(f"period {s!r} is not a date ({exc})") from None
    raise BriefingError(f"period {s!r} not understood; use 2026-10, 2026-W44, 2026-Q3, "
                        f"2026-10-01..2026-10-31 or last-week, last-month, last-quarter")


@dataclass(frozen=True)
class Territory:
    region: str | None = None
    district: str | None = None

    @property
    def code(self) -> str:
        return self.district or self.region or "all"

    def label(self, lang: str) -> str:
        if self.district:
            return reference.name(reference.districts(), self.district, lang)
        if self.region:
            return reference.name(reference.regions(), self.region, lang)
        return i18n.t("brief.territory.all", lang)


def parse_territory(text: str | None) -> Territory:
    s = (text or "all").strip()
    if s in ("", "all"):
        return Territory()
    if s in set(reference.regions()["code"]):
        return Territory(region=s)
    if s in set(reference.districts()["code"]):
        return Territory(region=reference.region_of(s), district=s)
    known = ["all", *reference.regions()["code"], *reference.districts()["code"]]
    raise BriefingError(f"unknown territory {s!r}; valid: {', '.join(known)}")


# ---- facts -------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One number of the briefing: its value, the explorer filter that shows its rows and the
    kind of figure, whose definition is i18n key brief.def.<kind>."""
    key: str
    kind: str
    value: float | int | None
    filters: Filters
    label: dict[str, str] = field(default_factory=dict)   # what it is, per language (for the appendix)

    def params(self) -> dict[str, str]:
        return self.filters.params()


@dataclass
class Facts:
    period: Period
    territory: Territory
    now: dt.datetime
    figures: dict[str, Figure]
    shares: pd.DataFrame          # top problems: category, pct, low, high, n, prev_pct, year_pct
    share_method: str
    risers: pd.DataFrame          # category, district, n, previous, change
    districts: pd.DataFrame       # district, n, population, per_10k, ratio (stand-outs first)
    district_average: float | None
    departments: pd.DataFrame     # department, n (overdue now)
    surges: pd.DataFrame          # category, district, first, last, peak, expected, cases, resolved, open, overdue
    confirmed_by_category: pd.DataFrame
    ideas: pd.DataFrame | None    # only when issue 11's table exists


def _filters(p: Period, t: Territory) -> Filters:
    return Filters(p.start, p.end, region=t.region, district=t.district)


def _facet(table: pd.DataFrame, facet: str) -> pd.DataFrame:
    part = table[(table["facet"] == facet) & table["value"].notna()]
    return part[["value", "n"]].reset_index(drop=True)


def _names(kind: str, codes, lang: str) -> list[str]:
    table = {"category": reference.taxonomy(), "district": reference.districts(), "region": reference.regions(),
             "department": sla.departments()}[kind]
    return [reference.name(table, c, lang) for c in codes]


def compute(con: duckdb.DuckDBPyConnection, period: Period, territory: Territory,
            now: dt.datetime | None = None) -> Facts:
    now = now or dt.datetime.now(dt.timezone.utc)
    figs: dict[str, Figure] = {}

    def add(key: str, kind: str, value, f: Filters) -> Figure:
        figs[key] = Figure(key, kind, value, f)
        return figs[key]

    frames = {"now": _filters(period, territory), "prev": _filters(period.previous(), territory),
              "year": _filters(period.year_before(), territory)}
    facets = {}
    for when, f in frames.items():
        facets[when] = explore.facets(con, f, now)
        received = explore.count(con, f, now)
        add(f"received.{when}", "received", received, f)
        m = cases.summary(con, f, now)
        add(f"feedback.{when}", "feedback", None if m["feedback_in_time"] is None else 100 * m["feedback_in_time"], f)
        add(f"resolved.{when}", "resolved", None if m["resolved_on_time"] is None else 100 * m["resolved_on_time"], f)
        overdue = _facet(facets[when], "overdue")
        add(f"overdue.{when}", "overdue", int(overdue.loc[overdue["value"] == "1", "n"].sum()), replace(f, overdue=True))
    f = frames["now"]

    # the five biggest problems, corrected shares with their interval, against both comparisons
    shares = overview.category_shares(con, f)
    method = shares.attrs.get("method", "none")
    prev = overview.category_shares(con, frames["prev"]).set_index("category")["pct"]
    year = overview.category_shares(con, frames["year"]).set_index("category")["pct"]
    top = shares.head(TOP).copy()
    top["prev_pct"] = top["category"].map(prev)
    top["year_pct"] = top["category"].map(year)
    for r in top.itertuples():
        add(f"share.{r.category}", "share", float(r.pct), replace(f, category=r.category))

    risers = overview.top_rising(con, f, limit=RISERS, previous=frames["prev"])
    for r in risers.itertuples():
        add(f"riser.{r.category}.{r.district}", "riser", int(r.n), replace(f, category=r.category, district=r.district))

    # districts per 10,000 residents: every district of the region (or both regions)
    stats = overview.district_stats(con, f, now)
    stats = stats[stats["population"] > 0].copy()
    average = 10_000 * stats["n"].sum() / stats["population"].sum() if stats["population"].sum() else None
    stats["ratio"] = stats["per_10k"] / average if average else None
    stats = stats.sort_values("per_10k", ascending=False).reset_index(drop=True)
    for r in stats.itertuples():
        add(f"district.{r.district}", "district", float(r.per_10k), replace(f, district=r.district))
    if average is not None:
        add("district.average", "district_average", float(average), f)

    departments = _facet(explore.facets(con, replace(f, overdue=True), now), "department").head(DEPARTMENTS)
    departments = departments.rename(columns={"value": "department"})
    for r in departments.itertuples():
        add(f"overdue.dept.{r.department}", "overdue", int(r.n), replace(f, overdue=True, department=r.department))

    # surges: the live rule replayed at every hour of the period, and how their cases ended
    start, end = f.bounds()
    eps = surge.episodes(con, start, min(end, now), territory.region, territory.district)
    rows = []
    for i, e in enumerate(eps.itertuples()):
        tz = ZoneInfo(settings.get("TZ"))
        first_day = (e.first - pd.Timedelta(hours=surge.WINDOW_HOURS)).tz_convert(tz).date()
        sf = Filters(first_day, e.last.tz_convert(tz).date(), region=e.region, district=e.district, category=e.category)
        status = _facet(explore.facets(con, sf, now), "status").set_index("value")["n"]
        n = int(status.sum())
        closed = {s: int(status.get(s, 0)) for s in ("resolved", "rejected", "forwarded")}
        open_ = n - sum(closed.values())
        late = explore.count(con, replace(sf, overdue=True), now)
        running = e.last >= pd.Timestamp(min(end, now)) - pd.Timedelta(hours=1)
        rows.append({"category": e.category, "district": e.district, "first": e.first, "last": e.last,
                     "peak": int(e.peak), "expected": float(e.expected), "cases": n, "resolved": closed["resolved"],
                     "open": open_, "overdue": late, "running": bool(running)})
        add(f"surge.{i}", "surge", n, sf)
    surges = pd.DataFrame(rows, columns=["category", "district", "first", "last", "peak", "expected", "cases",
                                         "resolved", "open", "overdue", "running"])

    # what residents confirmed as fixed (resident_confirmed_at), against what was resolved
    for when, ff in frames.items():
        status = _facet(facets[when], "status").set_index("value")["n"]
        add(f"resolved_n.{when}", "resolved_n", int(status.get("resolved", 0)), replace(ff, status="resolved"))
        confirmed = _facet(facets[when], "confirmed")
        add(f"confirmed.{when}", "confirmed", int(confirmed.loc[confirmed["value"] == "1", "n"].sum()),
            replace(ff, confirmed=True))
    by_cat = _facet(explore.facets(con, replace(f, confirmed=True), now), "category").head(3)
    by_cat = by_cat.rename(columns={"value": "category"})
    for r in by_cat.itertuples():
        add(f"confirmed.cat.{r.category}", "confirmed", int(r.n), replace(f, confirmed=True, category=r.category))

    return Facts(period, territory, now, figs, top.reset_index(drop=True), method, risers, stats, average,
                 departments, surges, by_cat, ideas(con, f))


def ideas(con: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame | None:
    """The residents' ideas that gathered the most proposals in the period and territory
    (pipeline.ideas.top_in), with their decisions; None for a store without ideas (before migration 091)."""
    from pipeline import ideas as ideas_

    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'idea_members'").fetchall()[0][0]:
        return None
    return ideas_.top_in(con, f)


# ---- text --------------------------------------------------------------------------------------
@dataclass
class Part:
    text: str
    fig: str | None = None   # key of the figure this text shows (a link on the page)
    said: bool = False       # residents' own words (an idea's title): data, in whatever letters they wrote


@dataclass
class Section:
    key: str                              # brief.section.<key>
    title: str
    sentences: list[list[Part]]
    table: tuple[list[str], list[list[Part]]] | None = None   # header, rows of cells
    bars: list[tuple[str, float, float | None, float | None]] | None = None  # label, value, low, high
    bars_unit: str = "%"


@dataclass
class Briefing:
    lang: str
    title: str
    subtitle: str
    sections: list[Section]
    definitions: list[tuple[str, str]]           # kind title, definition
    figures: list[tuple[str, str, str]]          # what, value, explorer link (relative)
    facts: Facts


def _split(template: str, values: dict[str, Part | str]) -> list[Part]:
    """A template's text and its {placeholders} as parts; a Part keeps its figure link."""
    out: list[Part] = []
    for i, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            if piece:
                out.append(Part(piece))
        else:
            v = values[piece]
            out.extend(v if isinstance(v, list) else [v if isinstance(v, Part) else Part(str(v))])
    return out


def _join(items: list[list[Part]], sep: str = ", ") -> list[Part]:
    out: list[Part] = []
    for i, item in enumerate(items):
        if i:
            out.append(Part(sep))
        out.extend(item)
    return out


def plain(parts: list[Part]) -> str:
    return "".join(p.text for p in parts)


def explorer_link(fig: Figure) -> str:
    import urllib.parse

    return "/explorer?" + urllib.parse.urlencode(fig.params())


def write(facts: Facts, lang: str = "ru") -> Briefing:
    """The briefing's text in `lang` from the facts, by rules."""
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    F = facts.figures
    tz = ZoneInfo(settings.get("TZ"))
    count = lambda n, noun="submission", case="nom": grammar.count(n, NOUN[noun], lang, case)  # noqa: E731

    def pct(x, case="nom"):
        if x is None:
            return "—"
        return grammar.kk_pct(x, case) if lang == "kk" else fmt_pct(x)

    def fig(key: str, text: str) -> Part:
        return Part(text, key)

    def compare(key: str) -> list[Part]:
        """'на 12,0 % больше, чем в предыдущем периоде (1 100), и ...' from received.<now|prev|year>."""
        cur = F[f"{key}.now"].value
        pieces = []
        for when in ("prev", "year"):
            base = F[f"{key}.{when}"].value
            n = fig(f"{key}.{when}", fmt_int(base))
            if base == 0:
                pieces.append(_split(t(f"brief.cmp.zero.{when}"), {}))
            elif cur == base:
                pieces.append(_split(t(f"brief.cmp.same.{when}"), {"n": n}))
            else:
                change = 100.0 * abs(cur - base) / base
                pieces.append(_split(t(f"brief.cmp.{'up' if cur > base else 'down'}.{when}"),
                                     {"n": n, "pct": pct(change, "dat")}))
        return _split(t("brief.cmp.both"), {"a": pieces[0], "b": pieces[1]})

    def rate(key: str) -> dict:
        return {"pct": fig(f"{key}.now", pct(F[f"{key}.now"].value, "poss" if lang == "kk" else "nom")),
                "prev": fig(f"{key}.prev", pct(F[f"{key}.prev"].value)),
                "year": fig(f"{key}.year", pct(F[f"{key}.year"].value))}

    sections: list[Section] = []
    received = F["received.now"].value
    s = [_split(t("brief.received"), {"n": fig("received.now", count(received))})]
    s.append(_split(t("brief.received.change"), {"cmp": compare("received")}))
    sections.append(Section("received", t("brief.section.received"), s))

    s = []
    s.append(_split(t("brief.feedback") if F["feedback.now"].value is not None else t("brief.feedback.none"), rate("feedback")))
    s.append(_split(t("brief.resolved") if F["resolved.now"].value is not None else t("brief.resolved.none"), rate("resolved")))
    overdue = F["overdue.now"].value
    s.append(_split(t("brief.overdue"), {"n": fig("overdue.now", count(overdue, case="gen" if lang == "kk" else "nom")),
                                         "when": f"{facts.now.astimezone(tz):%d.%m.%Y %H:%M}",
                                         "prev": fig("overdue.prev", fmt_int(F["overdue.prev"].value)),
                                         "year": fig("overdue.year", fmt_int(F["overdue.year"].value))}))
    depts = facts.departments
    rows = []
    if len(depts):
        names = _names("department", depts["department"], lang)
        items = [[Part(f"{name} — "), fig(f"overdue.dept.{d}", fmt_int(n))]
                 for name, d, n in zip(names, depts["department"], depts["n"])]
        s.append(_split(t("brief.overdue.departments"), {"list": _join(items, "; ")}))
        rows = [[Part(name), fig(f"overdue.dept.{d}", fmt_int(n))] for name, d, n in zip(names, depts["department"], depts["n"])]
    sections.append(Section("deadlines", t("brief.section.deadlines"), s,
                            table=([t("brief.col.department"), t("brief.col.overdue")], rows) if rows else None))

    # problems
    s, bars, rows = [], [], []
    corrected = facts.share_method != "none"
    if len(facts.shares):
        items = []
        names = _names("category", facts.shares["category"], lang)
        for name, r in zip(names, facts.shares.itertuples()):
            was = "" if pd.isna(r.prev_pct) else t("brief.was", v=fmt_pct(r.prev_pct))
            items.append([Part(f"{name} — "), fig(f"share.{r.category}", fmt_pct(r.pct)), Part(was)])
            bars.append((name, float(r.pct), float(r.low) if corrected else None, float(r.high) if corrected else None))
            rows.append([Part(name), fig(f"share.{r.category}", fmt_pct(r.pct)),
                         Part(f"{fmt_dec(r.low)}–{fmt_dec(r.high)}" if corrected else "—"),
                         Part("—" if pd.isna(r.prev_pct) else fmt_pct(r.prev_pct)),
                         Part("—" if pd.isna(r.year_pct) else fmt_pct(r.year_pct))])
        s.append(_split(t("brief.shares"), {"list": _join(items, "; ")}))
        s.append([Part(t(f"brief.shares.method.{facts.share_method}"))])
    else:
        s.append([Part(t("brief.none"))])
    if len(facts.risers):
        items = []
        for r in facts.risers.itertuples():
            cat, dist = _names("category", [r.category], lang)[0], _short(r.district, lang)
            items.append([Part(f"{cat} · {dist}: "), fig(f"riser.{r.category}.{r.district}", count(int(r.n))),
                          Part(t("brief.was", v=fmt_int(r.previous)))])
        s.append(_split(t("brief.risers"), {"list": _join(items, "; ")}))
    else:
        s.append([Part(t("brief.risers.none"))])
    sections.append(Section("problems", t("brief.section.problems"), s, bars=bars,
                            table=([t("brief.col.category"), t("brief.col.share"), t("brief.col.interval"),
                                    t("brief.col.prev"), t("brief.col.year")], rows) if rows else None))

    # districts
    s, rows = [], []
    d = facts.districts
    if facts.district_average:
        stand = d[d["ratio"] >= STANDOUT].head(STANDOUTS)
        avg = fig("district.average", fmt_dec(facts.district_average))
        if len(stand):
            items = [[Part(f"{_short(r.district, lang)} — "), fig(f"district.{r.district}", fmt_dec(r.per_10k)),
                      Part(t("brief.times", x=fmt_dec(r.ratio)))] for r in stand.itertuples()]
            s.append(_split(t("brief.districts"), {"list": _join(items, "; "), "avg": avg}))
        else:
            s.append(_split(t("brief.districts.none"), {"x": fmt_dec(STANDOUT), "avg": avg}))
        own = facts.territory.district
        if own and own in set(d["district"]):
            r = d[d["district"] == own].iloc[0]
            s.append(_split(t("brief.districts.own"), {"name": _short(own, lang), "v": fig(f"district.{own}", fmt_dec(r.per_10k)), "avg": avg}))
        rows = [[Part(_short(r.district, lang)), fig(f"district.{r.district}", fmt_dec(r.per_10k)),
                 Part(fmt_int(r.n)), Part(fmt_int(r.population))] for r in d.head(10).itertuples()]
    else:
        s.append([Part(t("brief.none"))])
    sections.append(Section("districts", t("brief.section.districts"), s,
                            table=([t("brief.col.district"), t("brief.col.per_10k"), t("brief.col.count"),
                                    t("brief.col.population")], rows) if rows else None))

    # surges
    s = []
    if len(facts.surges):
        s.append(_split(t("brief.surges"), {"n": count(len(facts.surges), "surge")}))
        for i, r in enumerate(facts.surges.itertuples()):
            cat, dist = _names("category", [r.category], lang)[0], _short(r.district, lang)
            span = f"{r.first.tz_convert(tz):%d.%m %H:%M}–{r.last.tz_convert(tz):%d.%m %H:%M}"
            peak = count(r.peak, case="dat") if lang == "kk" else grammar.count(r.peak, NOUN["submission"], lang, "gen")
            head = _split(t("brief.surge"), {"what": f"{cat} · {dist}", "span": span, "peak": peak,
                                             "e": fmt_dec(r.expected)})
            end = _split(t("brief.surge.end.running" if r.running else "brief.surge.end"),
                         {"n": fig(f"surge.{i}", count(r.cases, case="gen")),
                          "resolved": _num(r.resolved, lang), "open": _num(r.open, lang), "late": fmt_int(r.overdue)})
            s.append(head + [Part(" ")] + end)
    else:
        s.append([Part(t("brief.surges.none"))])
    sections.append(Section("surges", t("brief.section.surges"), s))

    # confirmations
    s = []
    confirmed, resolved = F["confirmed.now"].value, F["resolved_n.now"].value
    if resolved:
        s.append(_split(t("brief.confirmed"), {
            "n": fig("confirmed.now", count(confirmed, case="dat" if lang == "ru" else "nom")),
            "pct": pct(100.0 * confirmed / resolved, "poss" if lang == "kk" else "nom"),
            "resolved": fig("resolved_n.now", fmt_int(resolved)),
            "prev": fig("confirmed.prev", fmt_int(F["confirmed.prev"].value)),
            "year": fig("confirmed.year", fmt_int(F["confirmed.year"].value))}))
        if len(facts.confirmed_by_category):
            names = _names("category", facts.confirmed_by_category["category"], lang)
            items = [[Part(f"{name} — "), fig(f"confirmed.cat.{c}", fmt_int(n))]
                     for name, c, n in zip(names, facts.confirmed_by_category["category"], facts.confirmed_by_category["n"])]
            s.append(_split(t("brief.confirmed.categories"), {"list": _join(items, "; ")}))
    else:
        s.append([Part(t("brief.confirmed.none"))])
    sections.append(Section("confirmed", t("brief.section.confirmed"), s))

    if facts.ideas is not None:  # issue 11: proposals and ideas, listed only once their table exists
        rows = [[Part(str(r.title), said=True), Part(fmt_int(r.supporters)),
                 Part(i18n.t(f"ideas.decision.{r.decision or 'none'}", lang))]
                for r in facts.ideas.itertuples()]
        sections.append(Section("ideas", t("brief.section.ideas"), [[Part(t("brief.ideas"))]] if rows else [[Part(t("brief.none"))]],
                                table=([t("brief.col.idea"), t("brief.col.support"), t("brief.col.decision")], rows) if rows else None))

    kinds = []
    for f_ in F.values():
        if f_.kind not in kinds:
            kinds.append(f_.kind)
    definitions = [(t(f"brief.kind.{k}"), t(f"brief.def.{k}")) for k in kinds]
    shown = {p.fig for sec in sections for sent in sec.sentences for p in sent if p.fig}
    shown |= {p.fig for sec in sections if sec.table for row in sec.table[1] for p in row if p.fig}
    figures = [(_figure_label(F[k], lang), _figure_value(F[k]), explorer_link(F[k])) for k in F if k in shown]
    title = t("brief.title", territory=facts.territory.label(lang), period=facts.period.label(lang))
    subtitle = t("brief.subtitle", when=f"{facts.now.astimezone(tz):%d.%m.%Y %H:%M}",
                 prev=facts.period.previous().label(lang), year=facts.period.year_before().label(lang))
    subtitle = subtitle.replace("..", ".")  # a label ending in "г." before the sentence's full stop
    return Briefing(lang, title, subtitle, sections, definitions, figures, facts)


def _short(code: str, lang: str) -> str:
    d = reference.districts()
    hit = d.loc[d["code"] == code, f"short_{lang}" if lang in reference.LANGS else "short_ru"]
    return hit.iloc[0] if len(hit) else code


def _num(n: int, lang: str) -> str:
    """A count of the cases just named: Kazakh takes the possessive ('20-сы'), Russian the bare number."""
    return grammar.kk_num(n, "poss") if lang == "kk" else fmt_int(n)


def _figure_label(f: Figure, lang: str) -> str:
    parts = f.key.split(".")
    base = i18n.t(f"brief.kind.{f.kind}", lang)
    when = parts[-1] if parts[-1] in ("now", "prev", "year") else None
    detail = []
    p = f.filters
    if p.category and f.kind != "surge":
        detail.append(_names("category", [p.category], lang)[0])
    if p.department:
        detail.append(_names("department", [p.department], lang)[0])
    if p.district and (f.kind in ("district", "riser", "surge")):
        detail.append(_short(p.district, lang))
    if f.kind == "surge":
        detail.append(_names("category", [p.category], lang)[0])
    span = f"{p.start:%d.%m.%Y}–{p.end:%d.%m.%Y}" if when in ("prev", "year") or f.kind == "surge" else ""
    return " · ".join(x for x in [base, *detail, span] if x)


def _figure_value(f: Figure) -> str:
    if f.value is None:
        return "—"
    if f.kind in ("feedback", "resolved", "share"):
        return fmt_pct(f.value)
    if f.kind in ("district", "district_average"):
        return fmt_dec(f.value)
    return fmt_int(f.value)


def make(con, period: Period, territory: Territory, lang: str = "ru", now: dt.datetime | None = None) -> Briefing:
    return write(compute(con, period, territory, now), lang)


# ---- kept briefings ----------------------------------------------------------------------------
def keep_dir(explicit: str | Path | None = None) -> Path:
    """Where generated briefings are kept: --keep, else SC_BRIEFING_DIR, else <DB>.briefings."""
    if explicit:
        return Path(explicit)
    return Path(settings.get("BRIEFING_DIR") or f"{settings.db_path()}.briefings")


def file_name(period: Period, territory: Territory, lang: str, fmt: str) -> str:
    return f"briefing_{period.code.replace('..', '_')}_{territory.code}_{lang}.{fmt}"


def kept(folder: str | Path | None = None) -> pd.DataFrame:
    """Briefings in the keep folder, newest first: name, path, size, modified."""
    folder = keep_dir(folder)
    files = sorted((p for p in folder.glob("briefing_*") if p.suffix in (".pdf", ".docx")),
                   key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
    return pd.DataFrame({"name": [p.name for p in files], "path": [str(p) for p in files],
                         "size": [p.stat().st_size for p in files],
                         "modified": [dt.datetime.fromtimestamp(p.stat().st_mtime) for p in files]})


def kept_file(name: str, folder: str | Path | None = None) -> bytes | None:
    """The bytes of one kept briefing by its file name (only names the folder lists: no paths)."""
    listed = kept(folder)
    hit = listed[listed["name"] == name]
    return Path(hit.iloc[0]["path"]).read_bytes() if len(hit) else None


# ---- CLI ---------------------------------------------------------------------------------------
def arguments_briefing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--period", required=True,
                        help="2026-10 (month), 2026-W44 (week), 2026-Q3 (quarter), 2026-10-01..2026-10-31, "
                             "or last-week / last-month / last-quarter for scheduled runs")
    parser.add_argument("--territory", default="all", help="all, a region code (aktobe, shymkent) or a district code")
    parser.add_argument("--lang", choices=i18n.LANGS, help="language of the text (default: SC_LANG)")
    parser.add_argument("--format", choices=FORMATS, help="pdf or docx (default: from --out, else pdf)")
    parser.add_argument("--out", help="file to write (default: a dated name in the --keep folder)")
    parser.add_argument("--keep", nargs="?", const="", default=None, metavar="DIR",
                        help="also keep a copy in DIR (without DIR: SC_BRIEFING_DIR, else <DB>.briefings), "
                             "the folder the briefing page lists")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")


def run_briefing(args) -> int:
    import shutil
    import time

    from pipeline import briefing_docs

    began = time.perf_counter()
    try:
        if args.territory is not None and not args.territory.strip():  # '' was taken for all
            raise BriefingError("--territory is empty; give all, a region or a district code")
        period = parse_period(args.period)
        territory = parse_territory(args.territory)
        if period.start > dt.datetime.now(dt.timezone.utc).date():
            raise BriefingError(f"--period {args.period} has not begun yet")
    except BriefingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lang = args.lang or settings.get("LANG")
    fmt = args.format or (Path(args.out).suffix.lower().lstrip(".") if args.out else "pdf")
    suffix = Path(args.out).suffix.lower().lstrip(".") if args.out else ""
    if args.format and suffix in FORMATS and suffix != args.format:  # a PDF named .docx opens in nothing
        print(f"error: --format {args.format} but --out {args.out} ends in .{suffix}; make them agree", file=sys.stderr)
        return 2
    if fmt not in FORMATS:
        print(f"error: cannot tell the format from {args.out!r}; give --format pdf|docx or an --out ending in .pdf or .docx",
              file=sys.stderr)
        return 2
    name = file_name(period, territory, lang, fmt)
    keep = keep_dir(args.keep or None) if args.keep is not None or not args.out else None
    out = Path(args.out) if args.out else keep / name
    if out.is_dir() or not (out.parent.is_dir() or (keep is not None and out.parent == keep)):
        print(f"error: {out}: {'is a folder' if out.is_dir() else f'folder {out.parent} does not exist'}", file=sys.stderr)
        return 2
    con = replica.open_for_cli(args.db, "the briefing page makes the same briefing while the app runs")
    if con is None:
        return 1
    try:
        brief = make(con, period, territory, lang)
    finally:
        con.close()
    data = briefing_docs.pdf(brief) if fmt == "pdf" else briefing_docs.docx(brief)
    partial = out.with_name(f".{out.name}.partial")
    try:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        partial.replace(out)
        if keep is not None and out.resolve() != (keep / name).resolve():
            shutil.copyfile(out, keep / name)
    except OSError as exc:  # said of the file asked for, not of the hidden one it is written as first
        partial.unlink(missing_ok=True)
        print(f"error: {exc.filename if exc.filename and exc.filename != str(partial) else out}: cannot write "
              f"({exc.strerror or exc})", file=sys.stderr)
        return 2
    if not brief.facts.figures["received.now"].value:  # an empty period (a typo of the year?) is said, not only shown
        print(f"note: no submissions in {period.code} for {territory.code}; the briefing has no figures",
              file=sys.stderr)
    print(f"{out}: {fmt}, {len(data):,} bytes, {period.code} {territory.code} {lang}, "
          f"{time.perf_counter() - began:.1f} s" + (f"; kept in {keep}" if keep is not None else ""))
    return 0
