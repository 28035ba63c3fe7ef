"""Cached access to the query layer. Cache keys include the data version, so an ingest or a
status change shows up on the next rerun while repeated reruns cost nothing."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from pipeline import geo, surge
from pipeline.queries import explore, incidents, overview, wall
from pipeline.queries.filters import Filters
from ui import core


def version() -> tuple:
    return overview.data_version(core.cursor())


@st.cache_data(show_spinner=False, max_entries=256)
def _date_range(data_version: tuple):
    return overview.data_range(core.cursor())


def date_range():
    return _date_range(version())


@st.cache_data(show_spinner=False, max_entries=256)
def _category_shares(f: Filters, data_version: tuple):
    return overview.category_shares(core.cursor(), f)


def category_shares(f: Filters):
    return _category_shares(f, version())


@st.cache_data(show_spinner=False, max_entries=256, ttl=60)
def _kpis(f: Filters, data_version: tuple):
    return overview.kpis(core.cursor(), f, dt.datetime.now(dt.timezone.utc))


def kpis(f: Filters):
    return _kpis(f, version())


@st.cache_data(show_spinner=False, max_entries=256)
def _incidents(f: Filters, data_version: tuple):
    return incidents.counts(core.cursor(), f)


def incidents_line(f: Filters) -> str | None:
    """'N reports about M incidents' for the filter, or None when it holds no incident."""
    c = _incidents(f, version())
    return incidents.line(c, core.lang()) if c["incidents"] else None


@st.cache_data(show_spinner=False, max_entries=256)
def _trend(f: Filters, hour: dt.datetime, data_version: tuple):
    return overview.trend(core.cursor(), f, hour)


def trend(f: Filters):
    """Per hour for one day (up to the current hour), else per day; see overview.trend."""
    hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return _trend(f, hour, version())


def comparison(f: Filters):
    """(period, previous period) that changes are measured over, or None; see overview.comparison."""
    return overview.comparison(f, date_range()[0])


@st.cache_data(show_spinner=False, max_entries=256)
def _top_rising(f: Filters, previous: Filters, data_version: tuple):
    return overview.top_rising(core.cursor(), f, previous=previous)


def top_rising(f: Filters, previous: Filters):
    return _top_rising(f, previous, version())


@st.cache_data(show_spinner=False, max_entries=64, ttl=600)
def _wall_snapshot(region: str | None, at: dt.datetime, data_version: tuple):
    return wall.snapshot(core.cursor(), at, region)


def wall_snapshot(region: str | None, now: dt.datetime, step: int):
    """One wall screen's data. Screens showing the same region within one refresh step share it;
    an ingest changes the data version and so shows up at the next refresh."""
    at = dt.datetime.fromtimestamp(now.timestamp() // step * step, dt.timezone.utc)
    return _wall_snapshot(region, at, version())


@st.cache_data(show_spinner=False, max_entries=4)
def _district_rings(path: str, mtime: float):
    return geo.load(path)


def district_rings():
    """(rings, None) from the configured district GeoJSON, or (None, reason) when it is unusable."""
    path = geo.path()
    try:
        return _district_rings(str(path), path.stat().st_mtime), None
    except (OSError, ValueError) as exc:
        return None, str(exc)


@st.cache_data(show_spinner=False, max_entries=128, ttl=60)
def _district_stats(f: Filters, category: str | None, data_version: tuple):
    return overview.district_stats(core.cursor(), f, dt.datetime.now(dt.timezone.utc), category)


def district_stats(f: Filters, category: str | None = None):
    return _district_stats(f, category, version())


@st.cache_data(show_spinner=False, max_entries=64)
def _points(f: Filters, category: str | None, data_version: tuple):
    return overview.points(core.cursor(), f, category)


def points(f: Filters, category: str | None = None):
    return _points(f, category, version())


@st.cache_data(show_spinner=False, max_entries=16, ttl=60)
def _alerts(region: str | None, at: dt.datetime, data_version: tuple):
    return surge.current_alerts(core.cursor(), at, region=region)


def alerts(region: str | None = None):
    """Surge alerts now; recomputed at most once a minute or when the data changes."""
    now = dt.datetime.now(dt.timezone.utc)
    return _alerts(region, now.replace(second=0, microsecond=0), version())


# ---- explorer ----------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=256, ttl=60)
def _explore_facets(f: Filters, data_version: tuple):
    return explore.facets(core.cursor(), f)


def explore_facets(f: Filters):
    return _explore_facets(f, version())


@st.cache_data(show_spinner=False, max_entries=256, ttl=60)
def _explore_count(f: Filters, data_version: tuple):
    return explore.count(core.cursor(), f)


def explore_count(f: Filters) -> int:
    return _explore_count(f, version())


def explore_page(f: Filters, sort: str, offset: int, limit: int, viewer):
    """Not cached: the page is masked for the viewer, and one page is cheap."""
    return explore.page(core.cursor(), f, sort, offset, limit, viewer)


@st.cache_data(show_spinner=False, max_entries=64, ttl=60)
def _explore_timeline(f: Filters, grain: str, data_version: tuple):
    return explore.timeline(core.cursor(), f, grain)


def explore_timeline(f: Filters, grain: str):
    return _explore_timeline(f, grain, version())


@st.cache_data(show_spinner=False, max_entries=64, ttl=60)
def _explore_crosstab(f: Filters, rows: str, cols: str, measure: str, data_version: tuple):
    return explore.crosstab(core.cursor(), f, rows, cols, measure)


def explore_crosstab(f: Filters, rows: str, cols: str, measure: str):
    return _explore_crosstab(f, rows, cols, measure, version())


def explore_case(case_id: int, viewer):
    from pipeline.queries import cases as case_queries

    return case_queries.case(core.cursor(), case_id, viewer)


def case_history(case_id: int, viewer):
    from pipeline import events

    return events.history(core.cursor(), case_id, viewer)


def similar(case_id: int, viewer):
    return explore.similar(core.cursor(), case_id, viewer=viewer)


@st.cache_data(show_spinner=False, max_entries=256)
def _second_choice(text: str, model_version: str | None) -> dict:
    from pipeline import classify

    return classify.classify_texts([text]).iloc[0].to_dict()


def second_choice(text: str) -> dict:
    """The model's first and second choice for a text (the stored label may be an operator's);
    classified once per text and model, not on every rerun of the page."""
    from pipeline import classify

    return _second_choice(text, classify.current_version())


# ---- briefing ----------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=32, ttl=600)
def _briefing_facts(period, territory, data_version: tuple):
    from pipeline import briefing

    return briefing.compute(core.cursor(), period, territory)


def briefing(period, territory, lang: str):
    """The briefing's text in `lang`; its facts are computed once per period, territory and data version."""
    from pipeline import briefing as b

    return b.write(_briefing_facts(period, territory, version()), lang)


@st.cache_data(show_spinner=False, max_entries=32, ttl=600)
def _briefing_document(period, territory, lang: str, fmt: str, data_version: tuple) -> bytes:
    from pipeline import briefing_docs

    doc = briefing(period, territory, lang)
    return briefing_docs.pdf(doc) if fmt == "pdf" else briefing_docs.docx(doc)


def briefing_document(period, territory, lang: str, fmt: str) -> bytes:
    return _briefing_document(period, territory, lang, fmt, version())


def kept_briefings():
    """The briefings kept by scheduled runs (name, path, size, modified), newest first, and the folder."""
    from pipeline import briefing as b

    return b.kept(), b.keep_dir()


def kept_briefing(name: str) -> bytes | None:
    from pipeline import briefing as b

    return b.kept_file(name)
# ---- placements ------------------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=8, ttl=300)
def _placement_names(registry_version: tuple) -> dict:
    from pipeline import placements

    return placements.names(core.cursor())


def placement_names() -> dict:
    """code -> names and region of every registered placement, read again when the registry changes."""
    from pipeline import placements

    return _placement_names(placements.version(core.cursor()))
