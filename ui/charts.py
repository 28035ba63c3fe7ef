"""Chart builders shared by the pages: one colour per category everywhere."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from pipeline import geo, grammar, i18n, reference


# ---- dates: plotly has no Russian or Kazakh locale here, so axes show numbers (dd.mm, dd.mm.yyyy)
# or month names from our own translations (date.months), never plotly's "Nov 1 2026".
DAY, DATE = "%d.%m", "%d.%m.%Y"


def month_name(day, lang: str, year: bool = True) -> str:
    """'ноя 2026' / 'қар 2026' for a date in that month."""
    d = pd.Timestamp(day)
    name = i18n.t("date.months", lang).split(",")[d.month - 1]
    return f"{name} {d.year}" if year else name


def month_ticks(first, last, lang: str, most: int = 12) -> tuple[list, list[str]]:
    """Tick positions on the first of each month between two dates (every k-th month so there are
    at most `most`), labelled with our month names; the year is written at January and the first tick."""
    months = pd.date_range(pd.Timestamp(first).to_period("M").to_timestamp(), pd.Timestamp(last), freq="MS")
    if len(months) == 0:
        months = pd.DatetimeIndex([pd.Timestamp(first).to_period("M").to_timestamp()])
    step = max(1, -(-len(months) // most))
    months = months[::step]
    text = [month_name(m, lang, year=i == 0 or m.month <= step) for i, m in enumerate(months)]
    return list(months), text


def date_axis(fig: go.Figure, days, lang: str) -> go.Figure:
    """A date x-axis in dd.mm (up to three months shown), otherwise month names; hover dd.mm.yyyy."""
    days = pd.to_datetime(pd.Series(days)).dropna()
    axis = dict(type="date", hoverformat=DATE)
    if len(days) and (days.max() - days.min()).days > 92:
        tickvals, ticktext = month_ticks(days.min(), days.max(), lang)
        axis.update(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    else:
        axis.update(tickformat=DAY)
    fig.update_xaxes(**axis)
    return fig


def category_names(codes, lang: str) -> list[str]:
    tax = reference.taxonomy()
    return [reference.name(tax, c, lang) for c in codes]


def category_colors() -> dict[str, str]:
    tax = reference.taxonomy()
    return dict(zip(tax["code"], tax["color"]))


def category_share_bar(shares: pd.DataFrame, lang: str, height: int = 520, font_size: int = 14,
                       dark: bool = False, counts: bool = False) -> go.Figure:
    """Horizontal bars of the percentage per category, largest on top, labelled with the percent
    (and with the number of submissions labelled so, when `counts`). Each bar's customdata is
    (n, category code): what a click on it opens."""
    ordered = shares.sort_values("pct")
    colors = category_colors()
    names = category_names(ordered["category"], lang)
    customdata = list(zip(ordered["n"].astype(int), ordered["category"]))
    interval = {"low", "high"} <= set(ordered.columns)
    fig = go.Figure(go.Bar(
        x=ordered["pct"], y=names, orientation="h",
        marker_color=[colors.get(c, "#888") for c in ordered["category"]],
        customdata=customdata,
        hovertemplate="%{y}: %{x:.1f}" + grammar.NBSP + "% (%{customdata[0]:,})<extra></extra>",
        # The 90 % interval of the corrected share, where the frame has one.
        error_x=dict(type="data", symmetric=False, array=(ordered["high"] - ordered["pct"]).clip(lower=0),
                     arrayminus=(ordered["pct"] - ordered["low"]).clip(lower=0), color="#555", thickness=1, width=3)
        if interval else None,
    ))
    # The labels start after the interval's whisker, not at the bar's end (where the whisker ran
    # through their first digit); a click on a label opens the same rows as its bar.
    ends = ordered[["pct", "high"]].max(axis=1) if interval else ordered["pct"]
    fig.add_trace(go.Scatter(
        x=ends, y=names, mode="text", textposition="middle right", cliponaxis=False, customdata=customdata,
        text=["\u2002" + (f"{grammar.percent(p, lang)} · {grammar.number(n, lang)}" if counts else grammar.percent(p, lang))
              for p, n in zip(ordered["pct"], ordered["n"])],
        textfont=dict(size=font_size), hoverinfo="skip", showlegend=False))
    fig.update_layout(
        height=height, margin=dict(l=10, r=60, t=10, b=10), font=dict(size=font_size),
        separators=grammar.plotly_separators(lang),
        xaxis=dict(ticksuffix=grammar.NBSP + "%", range=[0, max(5.0, float(shares[["pct", "high"] if "high" in shares else "pct"].max(axis=None)) * (1.35 if counts else 1.18)) if len(shares) else 5]),
        template="plotly_dark" if dark else "plotly_white", showlegend=False,
    )
    return fig


def trend_chart(trend: pd.DataFrame, lang: str, top: int = 6, height: int = 360) -> go.Figure:
    """Submissions of the largest categories (at, category, n; see overview.trend): lines per day,
    week or month (the trend's grain),
    or stacked bars per hour for one day with the rest summed on top (lines between hours of one
    day read as a continuous rate and vanish for a category seen in one hour only; a line of the
    rest would dwarf the others). Every name in the legend has its line or bar."""
    colors = category_colors()
    grain = trend.attrs.get("grain", "day")
    hourly = grain == "hour"
    totals = trend.groupby("category")["n"].sum() if len(trend) else pd.Series(dtype=int)
    leaders = list(totals[totals > 0].nlargest(top).index)
    series = [(code, category_names([code], lang)[0], colors.get(code, "#888")) for code in leaders]
    rest = trend[~trend["category"].isin(leaders)] if len(trend) else trend
    if hourly and len(rest) and rest["n"].sum() > 0:
        rest = rest.groupby("at", as_index=False)["n"].sum().assign(category="__rest")
        trend = pd.concat([trend, rest], ignore_index=True)
        series.append(("__rest", i18n.t("overview.trend.rest", lang), "#9aa0a6"))
    fig = go.Figure()
    for code, name, color in series:
        part = trend[trend["category"] == code]
        if hourly:
            fig.add_bar(x=part["at"], y=part["n"], name=name, marker_color=color,
                        hovertemplate=f"%{{x|%H:%M}} · {name}: %{{y}}<extra></extra>")
        else:  # a week's or month's point is marked: few enough to see each
            fig.add_trace(go.Scatter(x=part["at"], y=part["n"], mode="lines" if grain == "day" else "lines+markers",
                                     name=name, line=dict(color=color, width=2)))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      hovermode="closest" if hourly else "x unified", barmode="stack",
                      separators=grammar.plotly_separators(lang))
    legend_above(fig, len(series))
    if hourly:  # the whole day on the axis, so an hour's bar is an hour wide however few have passed
        day = pd.Timestamp(trend["at"].min()).normalize() if len(trend) else pd.Timestamp.now().normalize()
        fig.update_xaxes(type="date", tickformat="%H:%M", dtick=3 * 3600 * 1000, hoverformat="%H:%M",
                         range=[day - pd.Timedelta(minutes=30), day + pd.Timedelta(hours=23, minutes=30)])
        return fig
    date_axis(fig, trend["at"] if "at" in trend else [], lang)
    if grain == "week":  # the hover names the step, not a day that looks like a day's count
        fig.update_xaxes(hoverformat=i18n.t("overview.trend.hover.week", lang))
    elif grain == "month":
        fig.update_xaxes(hoverformat="%m.%Y")
    return fig


# ---- district map ----------------------------------------------------------------------------
RAMP = ("#1d3557", "#2a6f97", "#2c9c8f", "#8ab54a", "#e9c46a", "#f4a261", "#e76f51", "#d62828")


def ramp(value: float | None, lo: float, hi: float) -> str:
    """Colour of a value on the sequential ramp; grey when there is no value."""
    if value is None or pd.isna(value):
        return "#2b3446"
    x = 0.0 if hi <= lo else min(max((value - lo) / (hi - lo), 0.0), 1.0)
    return RAMP[min(int(x * len(RAMP)), len(RAMP) - 1)]


def metric_scale(stats: pd.DataFrame, metric: str) -> tuple[pd.Series, float, float]:
    """A map metric per district and the range its colours span."""
    values = stats.set_index("district")[metric]
    present = values.dropna()
    lo, hi = (float(present.min()), float(present.max())) if len(present) else (0.0, 1.0)
    return values, lo, hi


def short_name(code: str, lang: str) -> str:
    return reference.column_map(reference.districts(), f"short_{lang}" if lang in reference.LANGS else "short_ru").get(code, code)


PHONE_MAP_HEIGHT = 400  # px: the square drawing at a phone's width (360-430 px) and little more


def label_shifts(points: list[tuple[float, float]], texts: list[str], scale: float, font: int) -> list[tuple[int, int]]:
    """(x, y) shifts in px (y up) of the districts' labels: above each marker where that is free,
    else below, right or left of it, else further up or down: as far as those ten places allow, no
    label covers another (neighbouring districts' markers lie closer than a label's width on a
    phone); where all are taken the last is used. `scale`: px per map unit (the drawing is 1000
    units square; from the figure's height, so on a phone narrower than that the boxes are taken
    a little larger than drawn), `font`: the labels' size in px; a box is estimated from its text."""
    high = font * 1.4 + 2
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for (x, y), text in zip(points, texts):
        half = (len(text) * font * 0.56 + 4) / 2
        cx, cy = x * scale, y * scale  # px, y downwards
        side = half + 7  # beside the marker (7 px: its radius and a gap)
        for dx, dy in ((0, high), (0, -high), (side, 0), (-side, 0), (0, 2 * high), (0, -2 * high),
                       (side, high), (-side, high), (side, -high), (-side, -high)):
            box = (cx + dx - half, cy - dy - high / 2, cx + dx + half, cy - dy + high / 2)
            if all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in placed):
                break
        placed.append(box)
        out.append((round(dx), round(dy)))
    return out


def district_map(rings: pd.DataFrame, stats: pd.DataFrame, metric: str, lang: str, area_titles: dict[str, str],
                 selected: str | None = None, points: pd.DataFrame | None = None, height: int = 640,
                 phone: bool = False) -> go.Figure:
    """Schematic districts coloured by `metric` on plain axes (no tiles, no geo basemap, so it draws
    offline); one clickable marker per district carries its code in customdata; optional binned
    points (lat, lon, n, area) drawn on top. `phone`: a square figure about a phone's width, the
    labels smaller (at 640 px high the square drawing left blank bands above and below, and its
    labels of 11 px overlapped one another)."""
    if phone:
        height = min(height, PHONE_MAP_HEIGHT)
    placed, areas = geo.arrange(rings)
    values, lo, hi = metric_scale(stats, metric)
    fig = go.Figure()
    for r in placed.itertuples():
        xs, ys = zip(*(r.points + r.points[:1]))
        fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", mode="lines", fillcolor=ramp(values.get(r.code), lo, hi),
                                 line=dict(color="#ff4d6d" if r.code == selected else "#ffffff",
                                           width=4 if r.code == selected else 1),
                                 hoverinfo="skip", showlegend=False))
    if points is not None and len(points):
        xy = [areas[a][2]((lon, lat)) if a in areas else (None, None)
              for lon, lat, a in zip(points["lon"], points["lat"], points["area"])]
        size = 4 + 14 * (points["n"] / max(float(points["n"].max()), 1.0)) ** 0.5
        fig.add_trace(go.Scatter(x=[p[0] for p in xy], y=[p[1] for p in xy], mode="markers",
                                 marker=dict(size=size, color="rgba(20,20,20,0.45)", line=dict(width=0)),
                                 hoverinfo="skip", showlegend=False))
    labels = placed.assign(value=placed["code"].map(values))
    fig.add_trace(go.Scatter(  # the click targets: one marker per district carrying its code
        x=[p[0] for p in labels["label"]], y=[p[1] for p in labels["label"]], mode="markers",
        marker=dict(size=10, color="rgba(255,255,255,0.9)", line=dict(width=1, color="#333")),
        customdata=labels["code"], hovertext=[short_name(c, lang) for c in labels["code"]], hoverinfo="text",
        showlegend=False))
    font = 8 if phone else 11
    texts = [f"{short_name(code, lang)} {'—' if pd.isna(v) else grammar.decimal(v, lang, 0)}"
             for code, v in zip(labels["code"], labels["value"])]
    shifts = label_shifts(list(labels["label"]), texts, height / 1000, font)
    for (x, y), text, (dx, dy) in zip(labels["label"], texts, shifts):
        # boxed labels read on any fill and where a label overhangs the outline onto the page
        fig.add_annotation(x=x, y=y, xshift=dx, yshift=dy, showarrow=False, font=dict(size=font, color="#111"),
                           text=text, bgcolor="rgba(255,255,255,0.8)", borderpad=1)
    for area, (tx, ty, _) in areas.items():
        fig.add_annotation(x=tx, y=ty, text=area_titles.get(area, area), showarrow=False, xanchor="left",
                           font=dict(size=11 if phone else 15, color="#555"))
    fig.update_xaxes(visible=False, range=[0, 1000])
    fig.update_yaxes(visible=False, range=[1000, 0], scaleanchor="x")
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=0, b=0), template="plotly_white",
                      dragmode=False, clickmode="event+select")
    return fig


def legend_above(fig: go.Figure, entries: int) -> go.Figure:
    """A horizontal legend above the plot, and the figure taller by the rows it may take.

    Below the plot, plotly places the legend at a fraction of the plot's height and does not count
    the tick labels, so with many entries or slanted dates it covered them and the lowest bars.
    Above, nothing is in its way; plotly's automargin moves the plot down by the legend's height.
    The figure grows by a row of ~20 px per two entries (a phone's width holds two), so the plot
    keeps its height on a phone and gains a little on a wide screen."""
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
                      height=fig.layout.height + 20 * ((entries + 1) // 2))
    return fig


def timeline_bars(series: pd.DataFrame, lang: str, grain: str, height: int = 380) -> go.Figure:
    """Stacked bars of submissions per period and category (period, category, n)."""
    colors = category_colors()
    fig = go.Figure()
    order = series.groupby("category")["n"].sum().sort_values(ascending=False).index
    label = {"month": lambda d: month_name(d, lang), "year": lambda d: f"{pd.Timestamp(d).year}"}.get(
        grain, lambda d: pd.Timestamp(d).strftime(DATE))
    for code, name in zip(order, category_names(order, lang)):
        part = series[series["category"] == code]
        fig.add_bar(x=part["period"], y=part["n"], name=name, marker_color=colors.get(code, "#888"),
                    customdata=[label(p) for p in part["period"]],
                    hovertemplate=f"%{{customdata}} · {name}: %{{y}}<extra></extra>")
    fig.update_layout(barmode="stack", height=height, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      separators=grammar.plotly_separators(lang))
    legend_above(fig, len(order))
    periods = pd.to_datetime(series["period"]) if len(series) else pd.Series([], dtype="datetime64[ns]")
    if grain == "month" and len(periods):
        tickvals, ticktext = month_ticks(periods.min(), periods.max(), lang)
        fig.update_xaxes(type="date", tickmode="array", tickvals=tickvals, ticktext=ticktext, hoverformat=DATE)
    elif grain == "year" and len(periods):
        years = sorted(periods.dt.year.unique())
        fig.update_xaxes(type="date", tickmode="array", tickvals=[pd.Timestamp(y, 1, 1) for y in years],
                         ticktext=[str(y) for y in years], hoverformat="%Y")
    else:
        fig.update_xaxes(type="date", tickformat=DAY if grain == "day" else DATE, hoverformat=DATE)
    return fig
