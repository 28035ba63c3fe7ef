"""Cached access to the query layer. Cache keys include the data version, so an ingest or a
status change shows up on the next rerun while repeated reruns cost nothing."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from pipeline.queries import overview
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
def _daily_trend(f: Filters, data_version: tuple):
    return overview.daily_trend(core.cursor(), f)


def daily_trend(f: Filters):
    return _daily_trend(f, version())


@st.cache_data(show_spinner=False, max_entries=256)
def _top_rising(f: Filters, data_version: tuple):
    return overview.top_rising(core.cursor(), f)


def top_rising(f: Filters):
    return _top_rising(f, version())
