"""Pieces of the placements page: the registry's table and forms, codes and posters to download,
and the statistics tables. Reads and writes go through pipeline.placements, pipeline.posters and
pipeline.queries.placement_stats, which check the viewer's role themselves."""
from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import streamlit as st

from pipeline import auth, calendar, placements, posters, reference
from pipeline.queries import placement_stats
from ui import cases, core, data
from ui.widgets import done, show_done  # noqa: F401  (the page calls them as ui.done, ui.show_done)

STATS_PAGE = 25


# ---- words ---------------------------------------------------------------------------------
def kind_name(kind) -> str:
    return core.t(f"placements.kind.{kind}")


def region_name(code) -> str:
    return "" if code is None or pd.isna(code) else reference.name(reference.regions(), code, core.lang())


def district_name(code) -> str:
    return core.t("placements.no_district") if code is None or pd.isna(code) else cases.district_name(code)


def name_of(row) -> str:
    """The placement's name in the interface language (Russian for English)."""
    return row["name_kk"] if core.lang() == "kk" else row["name_ru"]


def label(row) -> str:
    return f"{row['code']} · {name_of(row)}"


def refusal(exc: Exception) -> str:
    """A refused write in the interface language, naming the line of a file where there is one."""
    if isinstance(exc, auth.Forbidden):
        return core.t("auth.forbidden_action")
    if isinstance(exc, placements.PlacementError):
        params = dict(exc.params)
        if "field" in params:
            params["field"] = core.t(f"placements.col.{params['field']}")
        if exc.code == "district_region":  # codes from the form, names from a file: names either way
            params["district"] = cases.name_map("district", core.lang()).get(params["district"], params["district"])
            params["region"] = reference.name(reference.regions(), params["region"], core.lang())
        message = core.t(f"placements.error.{exc.code}", **params)
        return core.t("placements.line", line=exc.line, message=message) if exc.line else message
    return str(exc)


# ---- reads ---------------------------------------------------------------------------------
def registry_version() -> tuple:
    return placements.version(core.cursor())


@st.cache_data(show_spinner=False, max_entries=64, ttl=300)
def _registry(viewer, region, active, q, version: tuple) -> pd.DataFrame:
    return placements.table(core.cursor(), viewer, region=region, active=active, q=q)


def registry(viewer, region=None, active=None, q=None) -> pd.DataFrame:
    return _registry(viewer, region, active, q, registry_version())


def registry_table(frame: pd.DataFrame) -> pd.DataFrame:
    t = core.t
    return pd.DataFrame({
        t("placements.col.code"): frame["code"],
        t("placements.col.kind"): frame["kind"].map(kind_name),
        t("placements.col.name"): [name_of(r) for r in frame.to_dict("records")],
        t("placements.col.region"): frame["region"].map(region_name),
        t("placements.col.district"): frame["district"].map(district_name),
        t("placements.col.active"): frame["active"].astype(bool),
        t("placements.col.updated"): frame["updated_at"].map(cases.when),
        t("placements.col.updated_by"): cases.who_column(frame["updated_by"].fillna("")),
    })


@st.cache_data(show_spinner=False, max_entries=64, ttl=60)
def _stats(viewer, weeks: int, region, offset: int, minute: dt.datetime, version: tuple):
    con = core.cursor()
    page, count = placement_stats.totals(con, viewer, weeks, minute, region, offset, STATS_PAGE)
    weekly = placement_stats.weekly(con, viewer, page["code"].tolist(), weeks, minute)
    silent = placement_stats.silent(con, viewer, weeks, minute, region)
    unknown = placement_stats.unknown_codes(con, viewer, weeks, minute)
    return page, count, weekly, silent, unknown


def stats(viewer, weeks: int, region, page: int):
    """One page of the placement x week table and the lists under it; recomputed at most once a
    minute, or when submissions or the registry change."""
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    return _stats(viewer, weeks, region, (page - 1) * STATS_PAGE, now, (data.version(), registry_version()))


def local_day(value) -> str:
    return "—" if value is None or pd.isna(value) else calendar.local(value).strftime("%d.%m.%Y")


def pages(count: int) -> int:
    return max(1, math.ceil(count / STATS_PAGE))


def week_table(page: pd.DataFrame, weekly: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """Placements down, weeks across (headed by their Monday, dd.mm), the total and the last proposal."""
    t = core.t
    mondays = placement_stats.weeks_of(weeks, dt.datetime.now(dt.timezone.utc))
    weekly = weekly.assign(week=pd.to_datetime(weekly["week"]).dt.date)
    wide = weekly.pivot_table(index="code", columns="week", values="proposals", aggfunc="sum", fill_value=0) \
        if len(weekly) else pd.DataFrame()
    out = pd.DataFrame({
        t("placements.col.code"): page["code"],
        t("placements.col.name"): [name_of(r) for r in page.to_dict("records")],
        t("placements.col.kind"): page["kind"].map(kind_name),
        t("placements.stats.total"): page["proposals"].astype(int),
    })
    for monday in mondays:
        column = wide[monday] if monday in getattr(wide, "columns", []) else pd.Series(dtype=int)
        out[monday.strftime("%d.%m")] = page["code"].map(column).fillna(0).astype(int).to_numpy()
    out[t("placements.stats.last")] = page["last_at"].map(lambda v: cases.when(v) if pd.notna(v) else "")
    return out


def silent_table(frame: pd.DataFrame) -> pd.DataFrame:
    t = core.t
    return pd.DataFrame({
        t("placements.col.code"): frame["code"],
        t("placements.col.name"): [name_of(r) for r in frame.to_dict("records")],
        t("placements.col.kind"): frame["kind"].map(kind_name),
        t("placements.col.district"): frame["district"].map(district_name),
        t("placements.stats.last"): frame["last_at"].map(lambda v: cases.when(v) if pd.notna(v) else t("placements.stats.never")),
        t("placements.stats.ever"): frame["proposals_ever"].astype(int),
        t("placements.stats.registered"): frame["created_at"].map(local_day),
    })


def unknown_table(frame: pd.DataFrame) -> pd.DataFrame:
    t = core.t
    return pd.DataFrame({
        t("placements.col.code"): frame["code"], t("common.count"): frame["proposals"].astype(int),
        t("placements.stats.last"): frame["last_at"].map(cases.when),
    })


# ---- writes --------------------------------------------------------------------------------
def act(action, *args, **kwargs):
    """Run a write; a refusal is shown in the interface language. The result, or None when refused."""
    try:
        return action(core.cursor(), *args, **kwargs)
    except placements.ImportRefused as exc:
        st.error(core.t("placements.import_refused", name=exc.name) + "\n\n" +
                 "\n".join(f"- {refusal(e)}" for e in exc.errors))
    except (placements.PlacementError, auth.Forbidden) as exc:
        st.error(refusal(exc))
    return None


def fields_form(key: str, row: dict | None) -> dict | None:
    """The fields of one placement (prefilled from `row` when editing) inside a form; the record
    when the form is sent, else None."""
    t = core.t
    row = row or {}
    regions = reference.in_order(reference.regions(), core.lang())
    districts = [None, *reference.in_order(reference.districts(), core.lang())]
    with st.form(key, clear_on_submit=not row):
        code = row.get("code")
        if not code:
            code = st.text_input(t("placements.col.code"), max_chars=placements.CODE_MAX, help=t("placements.code_help"),
                                 key=f"{key}_code")
        kind = st.selectbox(t("placements.col.kind"), placements.KINDS, format_func=kind_name, key=f"{key}_kind",
                            index=placements.KINDS.index(row["kind"]) if row.get("kind") in placements.KINDS else 0,
                            placeholder=core.t("widget.choose"))
        name_ru = st.text_input(t("placements.col.name_ru"), value=row.get("name_ru") or "", key=f"{key}_name_ru",
                                max_chars=placements.NAME_MAX)
        name_kk = st.text_input(t("placements.col.name_kk"), value=row.get("name_kk") or "", key=f"{key}_name_kk",
                                max_chars=placements.NAME_MAX)
        left, right = st.columns(2)
        region = left.selectbox(t("placements.col.region"), regions, format_func=region_name, key=f"{key}_region",
                                index=regions.index(row["region"]) if row.get("region") in regions else 0,
                                placeholder=core.t("widget.choose"))
        district = right.selectbox(t("placements.col.district"), districts, format_func=district_name,
                                   key=f"{key}_district",
                                   index=districts.index(row.get("district")) if row.get("district") in districts else 0,
                                   placeholder=core.t("widget.choose"))
        lat = left.number_input(t("placements.col.lat"), value=_number(row.get("lat")), format="%.5f", key=f"{key}_lat",
                                min_value=placements.LAT[0], max_value=placements.LAT[1])
        lon = right.number_input(t("placements.col.lon"), value=_number(row.get("lon")), format="%.5f", key=f"{key}_lon",
                                 min_value=placements.LON[0], max_value=placements.LON[1])
        sent = st.form_submit_button(t("placements.save" if row else "placements.add"), type="primary")
    if not sent:
        return None
    # a district decides the region (the two boxes cannot follow each other inside a form)
    return {"code": code, "kind": kind, "name_ru": name_ru, "name_kk": name_kk, "region": None if district else region,
            "district": district,
            "lat": lat, "lon": lon, "active": row.get("active", True)}


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


# ---- codes and posters ---------------------------------------------------------------------
@st.cache_data(show_spinner=False, max_entries=256)
def png(code: str, base: str) -> bytes:
    return posters.png(code, base)


def downloads(row: dict, size: str) -> None:
    """PNG, SVG and the poster of one placement; files are made when the button is pressed."""
    t, base, code = core.t, posters.form_url(), row["code"]
    one = {k: row[k] for k in ("code", "name_ru", "name_kk")}
    a, b, c = st.columns(3)
    a.download_button(t("placements.codes.png"), data=lambda: posters.png(code, base), file_name=f"{code}.png",
                      mime="image/png", key=f"pl_png_{code}", on_click="ignore")
    b.download_button(t("placements.codes.svg"), data=lambda: posters.svg(code, base), file_name=f"{code}.svg",
                      mime="image/svg+xml", key=f"pl_svg_{code}", on_click="ignore")
    c.download_button(t("placements.codes.poster", size=size.upper()), data=lambda: posters.poster_pdf([one], size, base),
                      file_name=f"{code}-{size}.pdf", mime="application/pdf", key=f"pl_poster_{code}", on_click="ignore")


def all_posters(rows: list[dict], size: str, region) -> None:
    base = posters.form_url()
    rows = [{k: r[k] for k in ("code", "name_ru", "name_kk")} for r in rows]
    st.download_button(core.t("placements.codes.all", n=core.num(len(rows))), data=lambda: posters.poster_pdf(rows, size, base),
                       file_name=f"posters-{region or 'all'}-{size}.pdf", mime="application/pdf", key="pl_all_posters",
                       on_click="ignore", disabled=not rows, type="primary")
