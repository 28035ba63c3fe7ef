"""Pieces of the explorer page: the filter kept in the URL, facet pickers, escaped highlights,
links that reproduce a view, and the cross-tab as a table of links."""
from __future__ import annotations

import datetime as dt
import html
from dataclasses import replace
import urllib.parse

import pandas as pd
import streamlit as st

from pipeline import reference, sla
from pipeline.queries import textsearch
from pipeline.queries.filters import Filters, from_params
from pipeline import search
from ui import cases, core, data

FACET_ORDER = ("region", "district", "category", "source", "language", "status", "department", "placement",
               "confidence", "overdue", "reviewed", "confirmed")


def url(f: Filters, **extra) -> str:
    """The explorer's address for a filter: a link that reproduces the view."""
    params = {**f.params(), **{k: v for k, v in extra.items() if v is not None}}
    return "/explorer?" + urllib.parse.urlencode(params)


def current() -> Filters:
    """The filter in the URL; without dates, the last 30 days of data."""
    first, last = data.date_range()
    today = max(last or dt.date.today(), dt.date.today())
    return from_params(st.query_params, today - dt.timedelta(days=29), today)


def set_params(f: Filters, **extra) -> None:
    """Write the filter to the URL (so a reload or a copied link shows the same view)."""
    wanted = {**f.params(), **{k: str(v) for k, v in extra.items() if v is not None}}
    keep = {k: v for k, v in st.query_params.items() if k in ("lang",)}
    st.query_params.from_dict({**keep, **wanted})


def value_name(facet: str, value) -> str:
    """A facet value in the UI language."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return core.t("explorer.none")
    lang = core.lang()
    if facet == "region":
        return reference.name(reference.regions(), value, lang)
    if facet in ("district", "category", "department"):
        return cases.name_map(facet, lang).get(value, str(value))
    if facet == "source":
        return core.t(f"source.{value}")
    if facet == "language":
        return core.t(f"language.{value}")
    if facet == "status":
        return core.t(f"status.{value}") if value not in ("open", "closed") else core.t(f"explorer.status.{value}")
    if facet == "confidence":
        return core.t(f"explorer.confidence.{value}")
    if facet in ("overdue", "reviewed", "confirmed"):
        return core.t("common.yes" if str(value) in ("1", "True", "true") else "common.no")
    if facet == "placement":
        return placement_name(str(value))
    return str(value)


def placement_name(code: str) -> str:
    """A QR placement as people say it: a registered one by its region and name (data/placements.csv,
    the placements page); codes of the form region:bus_stop:N and region:bus:route_N (the demo's
    before the registry) in words; any other as written."""
    named = data.placement_names().get(str(code).strip().upper())
    if named:
        region = reference.name(reference.regions(), named["region"], core.lang())
        return core.t("placement.named", region=region, name=named["kk" if core.lang() == "kk" else "ru"])
    parts = code.split(":")
    if len(parts) == 3 and parts[0] in set(reference.regions()["code"]):
        region = reference.name(reference.regions(), parts[0], core.lang())
        if parts[1] == "bus_stop":
            return core.t("placement.bus_stop", region=region, n=parts[2])
        if parts[1] == "bus" and parts[2].startswith("route_"):
            return core.t("placement.bus", region=region, n=parts[2].removeprefix("route_"))
    return code


def facet_picker(facet: str, counts: pd.DataFrame, f: Filters, container) -> object:
    """A select box for one facet: 'all' and every value with its count among the filtered rows.
    Returns the value chosen (a string, or None for all)."""
    chosen = getattr(f, facet)
    if isinstance(chosen, bool):
        chosen = "1" if chosen else "0"
    options = [None] + [v for v in counts["value"].tolist() if v is not None]
    if facet == "status":
        options = [None, "open", "closed"] + options[1:]
    if chosen is not None and chosen not in options:
        options.append(chosen)
    n = dict(zip(counts["value"], counts["n"]))

    def fmt(v):
        if v is None:
            return core.t("filter.all")
        return f"{value_name(facet, v)} · {core.num(n[v])}" if v in n else value_name(facet, v)

    return container.selectbox(core.t(f"explorer.facet.{facet}"), options, index=options.index(chosen),
                               format_func=fmt, key=f"ex_{facet}_{chosen}", placeholder=core.t("widget.choose"))


def has_words(q: str | None) -> bool:
    return bool(textsearch.terms(q))


def nothing(said: bool) -> None:
    """An empty list, chart or table: "no data", unless the message above the tabs already says why
    (a search that finds nothing, or has no words to look for)."""
    if not said:
        st.info(core.t("common.no_data"))


def highlighted(text: str, q: str | None) -> str:
    """The text as escaped HTML with the words that match the query marked."""
    terms = textsearch.terms(q)
    if not terms:
        return html.escape(text)
    out, last = [], 0
    for a, b in search.highlight_spans(text, terms):
        out += [html.escape(text[last:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        last = b
    out.append(html.escape(text[last:]))
    return "".join(out)


def crosstab_html(table: pd.DataFrame, f: Filters, rows: str, cols: str, measure: str) -> str:
    """The cross-tab as an HTML table whose every cell links to its rows in the explorer."""
    def cell_filter(dim: str, value) -> dict:
        if dim == "month":
            start = dt.date.fromisoformat(f"{value}-01")
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            return {"start": max(start, f.start), "end": min(end, f.end)}
        return {dim: None if value == "?" else value}

    def label(dim: str, value) -> str:
        if dim == "month":
            from ui import charts
            return charts.month_name(f"{value}-01", core.lang())
        return value_name(dim, None if value == "?" else value)

    def fmt(v: float) -> str:
        return core.num(v) if measure == "count" else core.decimal(v)

    head = "".join(f"<th>{html.escape(label(cols, c))}</th>" for c in table.columns)
    body = []
    for r, row in table.iterrows():
        cells = []
        for c, v in row.items():
            target = replace(f, **cell_filter(rows, r), **cell_filter(cols, c))
            text = "" if pd.isna(v) else fmt(v)
            if "?" in (r, c) or not text:  # no district or department: no filter gives exactly these rows
                cells.append(f"<td>{text}</td>")
            else:
                cells.append(f'<td><a href="{html.escape(url(target))}" target="_self">{text}</a></td>')
        body.append(f"<tr><th>{html.escape(label(rows, r))}</th>{''.join(cells)}</tr>")
    return ("<div style='overflow-x:auto'><table class='sc-crosstab'><thead><tr><th></th>" + head +
            "</tr></thead><tbody>" + "".join(body) + "</tbody></table></div>")


def department_options() -> list[str]:
    return sla.departments()["code"].tolist()


def sql_panel(viewer) -> None:
    """The read-only SQL console: an example to start from, the query, its result (masked for a
    viewer without contacts), the schema with each column's meaning."""
    from pipeline import i18n, settings, sqlconsole

    st.caption(core.t("explorer.sql.help", timeout=settings.get("SQL_TIMEOUT"), limit=settings.get("SQL_DISPLAY_ROWS")))
    titles = [core.t(f"explorer.sql.example.{code}") for code in sqlconsole.EXAMPLE_CODES]
    example = st.selectbox(core.t("explorer.sql.example"), [None, *range(len(titles))], key="ex_sql_example",
                           format_func=lambda i: "—" if i is None else titles[i], placeholder=core.t("widget.choose"))
    if example is not None and st.session_state.get("_ex_sql_loaded") != example:
        st.session_state["ex_sql"] = sqlconsole.EXAMPLES[example][1]
        st.session_state["_ex_sql_loaded"] = example
    sql = st.text_area(core.t("explorer.sql.query"), key="ex_sql", height=180,
                       placeholder="SELECT category, count(*) FROM submissions GROUP BY ALL")
    if st.button(core.t("explorer.sql.run"), type="primary", key="ex_sql_run") and sql.strip():
        try:
            result = sqlconsole.run_for(core.cursor(), sql, viewer)
        except sqlconsole.ConsoleError as exc:
            st.error(core.t("explorer.sql.refused", why=core.t(exc.key, **exc.params)))
        else:
            st.caption(core.t("explorer.sql.rows", n=core.num(len(result.rows)), s=core.decimal(result.elapsed_s, 2),
                              more=core.t("explorer.sql.more") if result.truncated else ""))
            st.dataframe(result.rows, hide_index=True)
    with st.expander(core.t("explorer.sql.schema")):
        schema = pd.DataFrame(sqlconsole.schema(), columns=["table", "column", "type", "meaning"])
        schema["meaning"] = [core.t(f"sql.column.{t}.{c}") if f"sql.column.{t}.{c}" in i18n.table() else m
                             for t, c, m in zip(schema["table"], schema["column"], schema["meaning"])]
        st.dataframe(schema.rename(columns={c: core.t(f"explorer.sql.col.{c}") for c in schema.columns}),
                     hide_index=True)


def export_panel(f: Filters, total: int, viewer) -> None:
    """Export exactly the filtered rows, all of them, in the format chosen."""
    import tempfile
    import time
    from pathlib import Path

    from pipeline import auth, export

    fmt = st.segmented_control(core.t("explorer.export.format"), ["csv", "xlsx", "parquet"], default="csv",
                               key="ex_fmt", format_func=str.upper) or "csv"
    st.caption(core.t("explorer.export.contacts" if auth.may_see_contacts(viewer) else "explorer.export.masked"))
    if st.button(core.t("explorer.export.prepare", n=core.num(total)), key="ex_export"):
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"submissions_{f.start:%Y%m%d}_{f.end:%Y%m%d}.{fmt}"
            n = export.export_for(core.cursor(), f, fmt, path, viewer, core.lang())
            st.session_state["ex_file"] = (path.name, path.read_bytes())
        st.success(core.t("explorer.export.done", n=core.num(n), s=core.decimal(time.monotonic() - started)))
    if "ex_file" in st.session_state:
        name, payload = st.session_state["ex_file"]
        st.download_button(core.t("explorer.export.download", name=name), payload, file_name=name, key="ex_download",
                           on_click="ignore")
