"""Overview: the centre's headline view of problems as percentages for a period and area."""
from dataclasses import replace

import streamlit as st

from pipeline import figures, reference
from ui import charts, core, data, widgets

core.page_guard("page:overview")
lang = core.lang()
st.title(core.t("overview.title"))
core.demo_banner()
f = widgets.filters()

k = data.kpis(f)
# What a change is measured against: the previous period of equal length, or (all time: there is
# none) the last 30 days against the 30 before them, for the rising problems only.
compared = data.comparison(f)
has_previous = compared is not None and compared[0] == f
links = st.columns(4)  # each headline figure opens the submissions it counts
for col, key, extra in ((links[0], "overview.open_all", {}), (links[1], "overview.open_open", {"status": "open"}),
                        (links[2], "overview.open_overdue", {"overdue": True})):
    col.page_link("pages/explorer.py", label=core.t(key), icon=":material/search:",
                  query_params=replace(f, **extra).params())
cols = st.columns(4)
delta = k["total"] - k["previous"]
cols[0].metric(core.t("overview.kpi.total"), core.num(k["total"]),
               f"{'+' if delta > 0 else '-' if delta < 0 else ''}{core.num(abs(delta))} {core.t('overview.kpi.vs_previous')}"
               if has_previous else None,
               delta_color="off")
cols[1].metric(core.t("overview.kpi.open"), core.num(k["open"]))
cols[2].metric(core.t("overview.kpi.overdue"), core.num(k["overdue"]))
cols[3].metric(core.t("overview.kpi.feedback"),
               "—" if k["feedback_in_time_pct"] is None else core.pct(k["feedback_in_time_pct"]))
for col, population in zip(cols, ("received", "open", "overdue", "feedback_in_time")):  # what each counts
    col.caption(figures.caption_for(population, lang, f))
if not has_previous:
    cols[0].caption(core.t("overview.kpi.no_previous"))
if incident_line := data.incidents_line(f):  # reports of one event by many people (counts above unchanged)
    st.caption(incident_line)

alerts = data.alerts(f.region)
st.subheader(core.t("overview.alerts"), help=core.t("overview.alerts.help"))
if alerts.empty:
    st.caption(core.t("overview.alerts.none"))
else:
    for a in alerts.itertuples():
        st.error(f"**{charts.category_names([a.category], lang)[0]} · {charts.short_name(a.district, lang)}**: "
                 + core.t("wall.alert.line", n=int(a.observed), e=f"{a.expected:.0f}"), icon=":material/warning:")
        st.page_link("pages/explorer.py", label=core.t("overview.alert.open"), icon=":material/search:",
                     query_params=widgets.alert_filters(a, f).params())

shares = data.category_shares(f)
if shares.empty:
    st.info(core.t("common.no_data"))
    st.stop()

left, right = st.columns([3, 2])
left.subheader(core.t("overview.shares"))
bar = left.plotly_chart(charts.category_share_bar(shares, lang, counts=True), width="stretch", key="ov_bar",
                        on_select="rerun", selection_mode="points", config={"displayModeBar": False})
left.caption(core.t("overview.bar.click"))
clicked = [p.get("customdata") for p in (bar.selection.points if bar else [])]
if clicked and isinstance(clicked[0], (list, tuple)):  # a bar opens its submissions in the explorer
    st.switch_page("pages/explorer.py", query_params=replace(f, category=str(clicked[0][1])).params())
right.subheader(core.t("overview.table"))
table = shares.assign(name=charts.category_names(shares["category"], lang))
corrected = shares.attrs.get("method", "none") != "none"  # uncorrected shares have no error estimate
rows = [{core.t("common.category"): r.name, core.t("overview.share.counted"): f"{core.num(r.n)} · {core.pct(r.counted_pct)}",
         core.t("overview.share.estimated"): core.pct(r.pct),
         core.t("overview.share.interval"): f"{core.decimal(r.low)}–{core.decimal(r.high)}" if corrected else "—"}
        for r in table.itertuples()]
rows.append({core.t("common.category"): core.t("overview.percent_total"),
             core.t("overview.share.counted"): f"{core.num(shares['n'].sum())} · {core.pct(100)}",
             core.t("overview.share.estimated"): core.pct(shares["pct"].sum()), core.t("overview.share.interval"): ""})
right.table(rows, hide_index=True)
right.caption(core.t(f"overview.share.method.{shares.attrs.get('method', 'none')}", n=shares.attrs.get("basis", 0)))
if shares.attrs.get("pending"):  # stored by a big ingest, classification still running
    right.caption(core.t("overview.share.pending", n=core.num(shares.attrs["pending"])))

st.subheader(core.t("map.title"), help=core.t("map.click_hint"))
widgets.district_map(f)
if f.district:
    st.page_link("pages/explorer.py", label=core.t("overview.district.open"), icon=":material/search:",
                 query_params=f.params())

trend = data.trend(f)
grain = trend.attrs.get("grain", "day")
st.subheader(core.t("overview.trend" if grain == "day" else f"overview.trend.by_{grain}"))
st.plotly_chart(charts.trend_chart(trend, lang), width="stretch", config={"displayModeBar": False})
st.caption(core.t(f"overview.trend.caption.{grain}"))

st.subheader(core.t("overview.rising"), help=core.t("overview.rising.help"))
if compared is None:
    st.caption(core.t("overview.rising.no_previous"))
    st.stop()
current, previous = compared
if not has_previous:
    st.caption(core.t("overview.rising.last_days", start=current.start.strftime("%d.%m.%Y"),
                      end=current.end.strftime("%d.%m.%Y"), pstart=previous.start.strftime("%d.%m.%Y"),
                      pend=previous.end.strftime("%d.%m.%Y")))
rising = data.top_rising(current, previous)
if rising.empty:
    st.caption(core.t("common.no_data"))
else:
    districts = reference.districts()
    st.table([{core.t("common.category"): charts.category_names([r.category], lang)[0],
               core.t("filter.district"): reference.name(districts, r.district, lang),
               core.t("common.count"): int(r.n), core.t("overview.previous"): int(r.previous),
               core.t("overview.change"): f"+{int(r.change)}"} for r in rising.itertuples()], hide_index=True)
