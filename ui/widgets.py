"""Shared widgets: the filter bar every staff view uses, kept in the URL so a link reproduces it."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from pipeline import reference
from pipeline.queries.filters import Filters
from ui import core, data

PRESETS = ("today", "7d", "30d", "month", "quarter", "year", "all", "custom")
SOURCES = ("hotline_109", "qr", "web", "import")
LANGUAGES = ("ru", "kk", "mixed")


def period_bounds(preset: str, today: dt.date, first: dt.date) -> tuple[dt.date, dt.date]:
    days = {"today": 1, "7d": 7, "30d": 30, "quarter": 91, "year": 365}
    if preset in days:
        return today - dt.timedelta(days=days[preset] - 1), today
    if preset == "month":
        return today.replace(day=1), today
    return first, today


def _choice(label: str, options: list, key: str, fmt) -> str | None:
    """A selectbox whose first option means 'all', mirrored in the URL query string."""
    options = [None, *options]
    wanted = st.query_params.get(key)
    index = options.index(wanted) if wanted in options else 0
    value = st.sidebar.selectbox(label, options, index=index, key=f"f_{key}",
                                 format_func=lambda v: core.t("filter.all") if v is None else fmt(v))
    if value is None:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = value
    return value


def filters() -> Filters:
    lang = core.lang()
    first, last = data.date_range()
    today = max(last or dt.date.today(), dt.date.today()) if last else dt.date.today()
    first = first or today
    wanted = st.query_params.get("period", "30d")
    preset = st.sidebar.selectbox(core.t("period.label"), PRESETS, index=PRESETS.index(wanted) if wanted in PRESETS else 2,
                                  format_func=lambda p: core.t(f"period.{p}"), key="f_period")
    st.query_params["period"] = preset
    start, end = period_bounds(preset, today, first)
    if preset == "custom":
        picked = st.sidebar.date_input(core.t("period.range"), (start, end), key="f_range")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            start, end = picked
    regions = reference.regions()
    region = _choice(core.t("filter.region"), regions["code"].tolist(), "region",
                     lambda c: reference.name(regions, c, lang))
    districts = reference.districts()
    if region:
        districts = districts[districts["region"] == region]
    district = _choice(core.t("filter.district"), districts["code"].tolist(), "district",
                       lambda c: reference.name(districts, c, lang))
    source = _choice(core.t("filter.source"), list(SOURCES), "source", lambda s: core.t(f"source.{s}"))
    language = _choice(core.t("filter.language"), list(LANGUAGES), "language", lambda s: core.t(f"language.{s}"))
    return Filters(start=start, end=end, region=region, district=district, source=source, language=language)
