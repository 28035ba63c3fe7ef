"""Explorer: every submission, open and closed; facets, search by word forms, rows and the case,
time series, cross-tabs, exports and a read-only SQL console. The filter lives in the URL."""
from dataclasses import replace

import pandas as pd
import streamlit as st

from pipeline import workflow
from pipeline.queries import explore as q
from ui import cases, charts, core, data, explorer as ex

viewer = core.page_guard("page:explorer")
lang = core.lang()
st.title(core.t("explorer.title"))
core.demo_banner()

f = ex.current()
# ---- filter: period and words in the main area, facets in the sidebar --------------------------
c1, c2, c3 = st.columns([2, 1, 1])
words = c1.text_input(core.t("explorer.search"), value=f.q or "", key=f"ex_q_{f.q}",
                      placeholder=core.t("explorer.search.placeholder"), help=core.t("explorer.search.help"))
start = c2.date_input(core.t("explorer.from"), value=f.start, format="DD.MM.YYYY", key=f"ex_from_{f.start}")
end = c3.date_input(core.t("explorer.to"), value=f.end, format="DD.MM.YYYY", key=f"ex_to_{f.end}")
f = replace(f, q=words.strip() or None, start=start or f.start, end=end or f.end)
if f.end < f.start:
    f = replace(f, start=f.end, end=f.start)

counts = data.explore_facets(f)
st.sidebar.caption(core.t("explorer.facets.help"))
chosen = {}
for facet in ex.FACET_ORDER:
    chosen[facet] = ex.facet_picker(facet, counts[counts["facet"] == facet], f, st.sidebar)
f = replace(f, **{k: (v == "1" if k in ("overdue", "reviewed", "confirmed") and v is not None else v) for k, v in chosen.items()})
ex.set_params(f)

total = data.explore_count(f)
st.markdown(f"### {core.t('explorer.count', n=core.num(total))}")
st.caption(core.t("explorer.scope", start=f"{f.start:%d.%m.%Y}", end=f"{f.end:%d.%m.%Y}"))
said = bool(f.q) and (total == 0 or not ex.has_words(f.q))  # a message above says why nothing is listed
if f.q and not ex.has_words(f.q):
    st.warning(core.t("explorer.search.no_words"))
elif f.q and total == 0:  # a search that finds nothing: mostly a typo (the search knows word forms, not slips)
    st.info(core.t("explorer.search.nothing", q=core.typed_words(f.q)))

tabs = [core.t("explorer.tab.rows"), core.t("explorer.tab.time"), core.t("explorer.tab.cross")]
if viewer.can("export"):
    tabs.append(core.t("explorer.tab.export"))
if viewer.can("sql"):
    tabs.append(core.t("explorer.tab.sql"))
shown = st.tabs(tabs)

# ---- rows and the case -------------------------------------------------------------------------
with shown[0]:
    s1, s2, s3 = st.columns([2, 1, 1])
    sort = s1.selectbox(core.t("explorer.sort"), list(q.SORTS), format_func=lambda s: core.t(f"explorer.sort.{s}"),
                        key="ex_sort", placeholder=core.t("widget.choose"))
    size = s2.selectbox(core.t("explorer.page_size"), [25, 50, 100, 200], index=1, key="ex_size",
                        placeholder=core.t("widget.choose"))
    pages = max(1, -(-total // size))
    number = s3.number_input(core.t("explorer.page", n=pages), min_value=1, max_value=pages, value=1, key="ex_page")
    rows = data.explore_page(f, sort, (int(number) - 1) * size, size, viewer)
    if rows.empty:
        ex.nothing(said)
    else:
        numbers = cases.registration_numbers(rows["id"], rows["received_at"])
        st.dataframe(pd.DataFrame({
            "№": numbers,
            core.t("deadlines.received"): cases.when_column(rows["received_at"]),
            core.t("common.category"): cases.names("category", rows["category"]),
            core.t("explorer.confidence"): [("✓ " + core.t("explorer.confidence.operator")) if s == "operator"
                                            else ("—" if pd.isna(c) else core.share(c))
                                            for s, c in zip(rows["category_source"], rows["category_confidence"])],
            core.t("filter.district"): cases.names("district", rows["district"]),
            core.t("deadlines.status"): rows["status"].map({s: core.t(f"status.{s}") for s in workflow.STATUSES}),
            core.t("deadlines.department"): cases.names("department", rows["department"]),
            core.t("intake.text"): [t[:200] for t in rows["text"]],
        }), hide_index=True, height=min(38 + 35 * len(rows), 560))
        if f.q:  # the matched words, marked, in the rows of this page
            st.caption(core.t("explorer.matches"))
            st.html("".join(f"<p class='sc-hit'><b>{n}</b> · {ex.highlighted(t[:400], f.q)}</p>"
                            for n, t in zip(numbers.head(10), rows["text"].head(10))))
        pick = st.selectbox(core.t("explorer.open_case"), [None, *rows["id"].tolist()], key="ex_case",
                            format_func=lambda i: "—" if i is None else numbers[rows.index[rows["id"] == i][0]],
                            placeholder=core.t("widget.choose"))
        if pick is not None:
            case = data.explore_case(int(pick), viewer)
            st.subheader(f"{workflow.registration_number(int(pick), case['received_at'])} · "
                         f"{cases.category_name(case['category'])} · {cases.district_name(case['district'])}")
            st.html(f"<div class='sc-text'>{ex.highlighted(case['text'], f.q)}</div>")  # escaped, never Markdown
            label = data.second_choice(case["text"])
            m = st.columns(4)
            m[0].metric(core.t("deadlines.status"), core.t(f"status.{case['status']}"))
            m[1].metric(core.t("explorer.confidence"), "—" if pd.isna(case["category_confidence"])
                        else core.share(case["category_confidence"]))
            m[2].metric(core.t("explorer.second"), f"{cases.category_name(label['category2'])} · {core.share(label['confidence2'])}")
            m[3].metric(core.t("deadlines.received"), cases.when(case["received_at"]))
            st.markdown(f"**{core.t('deadlines.history')}**")
            st.table(cases.history_table(data.case_history(int(pick), viewer)), hide_index=True)
            similar = data.similar(int(pick), viewer)
            st.markdown(f"**{core.t('explorer.similar')}**")
            if similar.empty:
                st.caption(core.t("common.no_data"))
            else:
                st.dataframe(pd.DataFrame({
                    "№": cases.registration_numbers(similar["id"], similar["received_at"]),
                    core.t("common.category"): cases.names("category", similar["category"]),
                    core.t("deadlines.status"): similar["status"].map({s: core.t(f"status.{s}") for s in workflow.STATUSES}),
                    core.t("intake.text"): [t[:200] for t in similar["text"]],
                }), hide_index=True)

# ---- time ----------------------------------------------------------------------------------------
with shown[1]:
    grain = st.segmented_control(core.t("explorer.grain"), q.GRAINS, default="day" if (f.end - f.start).days <= 62 else "week",
                                 format_func=lambda g: core.t(f"explorer.grain.{g}"), key="ex_grain") or "day"
    series = data.explore_timeline(f, grain)
    if series.empty:
        ex.nothing(said)
    else:
        st.plotly_chart(charts.timeline_bars(series, lang, grain), width="stretch", config={"displayModeBar": False})

# ---- cross-tabs ----------------------------------------------------------------------------------
with shown[2]:
    x1, x2, x3 = st.columns(3)
    dims = list(q.CROSS_DIMENSIONS)
    r = x1.selectbox(core.t("explorer.cross.rows"), dims, index=0, format_func=lambda d: core.t(f"explorer.dim.{d}"), key="ex_xr",
                     placeholder=core.t("widget.choose"))
    c = x2.selectbox(core.t("explorer.cross.cols"), [d for d in dims if d != r], index=0,
                     format_func=lambda d: core.t(f"explorer.dim.{d}"), key="ex_xc",
                     placeholder=core.t("widget.choose"))
    measures = ["count", "share"] + (["per_10k"] if "district" in (r, c) else [])
    m = x3.selectbox(core.t("explorer.cross.measure"), measures, format_func=lambda v: core.t(f"explorer.measure.{v}"),
                     key="ex_xm", placeholder=core.t("widget.choose"))
    table = data.explore_crosstab(f, r, c, m)
    if table.empty:
        ex.nothing(said)
    else:
        st.caption(core.t(f"explorer.measure.{m}.help"))
        st.html(ex.crosstab_html(table, f, r, c, m))

# ---- export ----------------------------------------------------------------------------------------
if viewer.can("export"):
    with shown[3]:
        ex.export_panel(f, total, viewer)

# ---- SQL ----------------------------------------------------------------------------------------
if viewer.can("sql"):
    with shown[-1]:
        ex.sql_panel(viewer)
