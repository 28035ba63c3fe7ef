"""Charts for the model page."""
from __future__ import annotations

import plotly.graph_objects as go


def confusion(matrix: list[list[int]], names: list[str], true_title: str = "", predicted_title: str = "") -> go.Figure:
    """Rows: the true category, columns: the model's; titles in the reader's language. Both axes carry
    the categories' numbers (key() lists them under the chart): a dozen long names on the axes took
    half the chart and, on a phone, left the cells a few pixels wide. Hovering a cell names both
    categories in full."""
    numbers = [str(i + 1) for i in range(len(names))]
    hover = [[f"{names[i]} → {names[j]}: {matrix[i][j]}" for j in range(len(names))] for i in range(len(names))]
    fig = go.Figure(go.Heatmap(z=matrix, x=numbers, y=numbers, colorscale="Blues", text=matrix, showscale=False,
                               texttemplate="%{text}", customdata=hover, hovertemplate="%{customdata}<extra></extra>",
                               xgap=1, ygap=1))
    fig.update_layout(height=90 + 34 * len(names), margin=dict(l=0, r=0, t=10, b=0),
                      xaxis=dict(title=predicted_title, side="top", type="category", fixedrange=True),
                      yaxis=dict(title=true_title, autorange="reversed", type="category", fixedrange=True))
    return fig


def key(names: list[str]) -> str:
    """The numbers on the confusion matrix's axes, in words."""
    return " · ".join(f"{i + 1} — {name}" for i, name in enumerate(names))
