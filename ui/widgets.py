"""Shared widgets: the filter bar every staff view uses, kept in the URL so a link reproduces it."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from pipeline import reference
from pipeline.queries.filters import Filters
from ui import charts, core, data

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
    # once the widget has state (a map click may have set it) passing an index too makes Streamlit warn
    extra = {} if f"f_{key}" in st.session_state else {"index": index}
    value = st.sidebar.selectbox(label, options, key=f"f_{key}", **extra,
                                 format_func=lambda v: core.t("filter.all") if v is None else fmt(v),
                                 placeholder=core.t("widget.choose"))
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
                                  format_func=lambda p: core.t(f"period.{p}"), key="f_period",
                                  placeholder=core.t("widget.choose"))
    st.query_params["period"] = preset
    start, end = period_bounds(preset, today, first)
    if preset == "custom":
        picked = st.sidebar.date_input(core.t("period.range"), (start, end), format="DD.MM.YYYY", key="f_range")
        if isinstance(picked, (tuple, list)) and len(picked) == 2:
            start, end = picked
    regions = reference.regions()
    region = _choice(core.t("filter.region"), reference.in_order(regions, lang), "region",
                     lambda c: reference.name(regions, c, lang))
    districts = reference.districts()
    if region:
        districts = districts[districts["region"] == region]
    district = _choice(core.t("filter.district"), reference.in_order(districts, lang), "district",
                       lambda c: reference.name(districts, c, lang))
    source = _choice(core.t("filter.source"), list(SOURCES), "source", lambda s: core.t(f"source.{s}"))
    language = _choice(core.t("filter.language"), list(LANGUAGES), "language", lambda s: core.t(f"language.{s}"))
    return Filters(start=start, end=end, region=region, district=district, source=source, language=language)


def _pick_district() -> None:
    """Map click: the clicked district becomes the district filter of every chart on the page."""
    event = st.session_state.get("district_map")
    points = (event or {}).get("selection", {}).get("points", [])
    codes = [p.get("customdata") for p in points if isinstance(p.get("customdata"), str)]
    if codes:
        st.session_state["f_district"] = codes[0]
        st.query_params["district"] = codes[0]


def _clear_district() -> None:
    st.session_state["f_district"] = None
    st.query_params.pop("district", None)


def district_map(f: Filters) -> None:
    """The schematic district map with its metric picker; clicking a district filters the page."""
    lang = core.lang()
    rings, error = data.district_rings()
    if rings is None:
        st.warning(core.t("map.no_geometry", error=error))
        return
    metrics = ("per_10k", "overdue_share", "category")
    left, mid, right = st.columns([2, 2, 1])
    metric = left.radio(core.t("map.metric"), metrics, horizontal=True, key="map_metric",
                        format_func=lambda m: core.t(f"map.metric.{m}"))
    category = None
    if metric == "category":
        codes = reference.category_codes()
        category = mid.selectbox(core.t("map.category"), codes, key="map_category",
                                 format_func=lambda c: reference.name(reference.taxonomy(), c, lang),
                                 placeholder=core.t("widget.choose"))
    show_points = right.toggle(core.t("map.points"), key="map_points")
    stats = data.district_stats(f, category)
    titles = {a: core.t(f"map.area.{a}") for a in ("aktobe_region", "aktobe_city", "shymkent")}
    if f.region:
        rings = rings[rings["code"].isin(stats["district"])]
    fig = charts.district_map(rings, stats, "overdue_share" if metric == "overdue_share" else "per_10k", lang, titles,
                              selected=f.district, points=data.points(f, category) if show_points else None,
                              phone=core.on_phone())
    st.plotly_chart(fig, width="stretch", key="district_map", on_select=_pick_district, selection_mode="points",
                    config={"displayModeBar": False, "scrollZoom": False})
    schematic = bool(rings["schematic"].any())
    st.caption(core.t("wall.schematic" if schematic else "wall.official") + " · " + core.t("map.click_hint"))
    if f.district:
        st.button(core.t("map.clear"), on_click=_clear_district, key="map_clear")


def alert_filters(alert, f: Filters) -> Filters:
    """The explorer's filter for a surge alert: its category and district over the days its
    window touches (the alert counts a rolling window of hours, the explorer whole local days)."""
    from dataclasses import replace

    from pipeline import calendar, surge

    now = dt.datetime.now(dt.timezone.utc)
    first = calendar.local(now - dt.timedelta(hours=surge.Rule().window_hours)).date()
    return replace(Filters(first, calendar.local(now).date()), region=f.region, category=alert.category,
                   district=alert.district)


def open_cases_filters(department=None, district=None, category=None, overdue: bool | None = None,
                       region=None) -> Filters:
    """The explorer's filter for the deadlines page's open cases: received any time up to today."""
    first, last = data.date_range()
    today = max(last or dt.date.today(), dt.date.today())
    return Filters(first or today, today, region=region, district=district, category=category,
                   department=department, status="open", overdue=overdue)


# ---- after a write ---------------------------------------------------------------------------
FLASH = "flash"


def done(message: str) -> None:
    """After a write: run the page again so that every table shows the change, the message on top."""
    st.session_state[FLASH] = message
    st.rerun()


def show_done() -> None:
    if FLASH in st.session_state:
        st.success(st.session_state.pop(FLASH))


def without_table_toolbar(key: str) -> None:
    """Hide Streamlit's own toolbar (search, full screen, columns) over the data tables in the
    container with `key` (st.container(key=...): a table's own key gives it no class to select).
    Streamlit 1.67 cannot translate it (its labels are fixed English in the frontend; the only
    setting, client.disableDataExport, already removes its CSV download), and over the deadlines
    list it covered the link above the table; the page has its own search by number."""
    st.html(f"<style>.st-key-{key} [data-testid='stElementToolbar']{{display:none}}</style>")
