"""Chart builders shared by the pages: one colour per category everywhere."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from pipeline import reference


def category_names(codes, lang: str) -> list[str]:
    tax = reference.taxonomy()
    return [reference.name(tax, c, lang) for c in codes]


def category_colors() -> dict[str, str]:
    tax = reference.taxonomy()
    return dict(zip(tax["code"], tax["color"]))


def category_share_bar(shares: pd.DataFrame, lang: str, height: int = 520, font_size: int = 14,
                       dark: bool = False) -> go.Figure:
    """Horizontal bars of the percentage per category, largest on top, labelled with the percent."""
    ordered = shares.sort_values("pct")
    colors = category_colors()
    fig = go.Figure(go.Bar(
        x=ordered["pct"], y=category_names(ordered["category"], lang), orientation="h",
        marker_color=[colors.get(c, "#888") for c in ordered["category"]],
        text=[f"{p:.1f} %" for p in ordered["pct"]], textposition="outside", cliponaxis=False,
        customdata=ordered["n"], hovertemplate="%{y}: %{x:.1f} % (%{customdata})<extra></extra>",
    ))
    fig.update_layout(
        height=height, margin=dict(l=10, r=60, t=10, b=10), font=dict(size=font_size),
        xaxis=dict(ticksuffix=" %", range=[0, max(5.0, float(shares["pct"].max()) * 1.18) if len(shares) else 5]),
        template="plotly_dark" if dark else "plotly_white", showlegend=False,
    )
    return fig


def trend_lines(trend: pd.DataFrame, lang: str, top: int = 6, height: int = 360) -> go.Figure:
    """Daily counts of the largest categories, the rest summed, as lines."""
    colors = category_colors()
    leaders = trend.groupby("category")["n"].sum().nlargest(top).index
    fig = go.Figure()
    for code in leaders:
        part = trend[trend["category"] == code]
        fig.add_trace(go.Scatter(x=part["day"], y=part["n"], mode="lines", name=category_names([code], lang)[0],
                                 line=dict(color=colors.get(code, "#888"), width=2)))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), template="plotly_white",
                      legend=dict(orientation="h", y=-0.2), hovermode="x unified")
    return fig
