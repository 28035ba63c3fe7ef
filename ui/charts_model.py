"""Charts for the model page."""
from __future__ import annotations

import plotly.graph_objects as go


def confusion(matrix: list[list[int]], names: list[str], true_title: str = "", predicted_title: str = "") -> go.Figure:
    """Rows: the true category, columns: the model's; names and titles in the reader's language."""
    fig = go.Figure(go.Heatmap(z=matrix, x=names, y=names, colorscale="Blues", text=matrix, showscale=False,
                               texttemplate="%{text}", hovertemplate="%{y} → %{x}: %{z}<extra></extra>"))
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title=predicted_title, tickangle=-45, automargin=True),
                      yaxis=dict(title=true_title, autorange="reversed", automargin=True))
    return fig
