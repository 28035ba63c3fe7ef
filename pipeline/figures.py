"""What a headline figure counts, in words: its population, period and territory.

One function for every screen (overview, deadlines, wall), so the same figure is described the
same way everywhere and two figures that count different things say so: "open now, received at
any time" on the wall against "open now, of those received 01.11.2026-30.11.2026" on the
overview. The definitions themselves (open, overdue) are in pipeline/queries/filters.py; this
module only says them. Pure: it takes the language, never Streamlit.
"""
from __future__ import annotations

import datetime as dt

from pipeline import i18n, reference

POPULATIONS = ("received", "open", "overdue", "feedback_in_time", "resolved_on_time", "share", "today")


def period(lang: str, start: dt.date | None = None, end: dt.date | None = None, days: int | None = None) -> str:
    """'01.11.2026-30.11.2026', 'the last 30 days' or 'all time' in the interface language."""
    if days is not None:
        return i18n.t("figure.period.days", lang, n=days)
    if start is None or end is None:
        return i18n.t("figure.period.all", lang)
    if start == end:
        return i18n.t("figure.period.day", lang, day=f"{start:%d.%m.%Y}")
    return i18n.t("figure.period.range", lang, start=f"{start:%d.%m.%Y}", end=f"{end:%d.%m.%Y}")


def territory(lang: str, region: str | None = None, district: str | None = None) -> str:
    if district:
        return reference.name(reference.districts(), district, lang)
    if region:
        return reference.name(reference.regions(), region, lang)
    return i18n.t("figure.territory.all", lang)


def caption(population: str, lang: str, *, start: dt.date | None = None, end: dt.date | None = None,
            days: int | None = None, region: str | None = None, district: str | None = None,
            territory_shown: bool = True, short: bool = False) -> str:
    """The caption of a figure. Without start/end or days the figure covers all time: for open and
    overdue that means "open now, received at any time"; with a period, "open now, of those
    received in the period". `territory_shown=False` leaves out the territory where the screen
    names it once for all figures (the wall's header); `short`: the wall's shorter wording where
    there is one (the same population and period)."""
    if population not in POPULATIONS:
        raise ValueError(f"unknown population {population!r}; one of {', '.join(POPULATIONS)}")
    all_time = days is None and (start is None or end is None)
    key = f"figure.{population}" + (".all" if all_time and population in ("open", "overdue") else "")
    if short and f"{key}.short" in i18n.table():
        key += ".short"
    text = i18n.t(key, lang, period=period(lang, start, end, days))
    text = text[:1].upper() + text[1:]  # a Kazakh caption may start with its period
    if territory_shown:
        text += " · " + territory(lang, region, district)
    return text


def caption_for(population: str, lang: str, f, territory_shown: bool = True) -> str:
    """caption() for a Filters (pipeline.queries.filters): its period, region and district."""
    return caption(population, lang, start=f.start, end=f.end, region=f.region, district=f.district,
                   territory_shown=territory_shown)
