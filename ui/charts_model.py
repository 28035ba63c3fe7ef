"""Charts for the model page."""
from __future__ import annotations

import plotly.graph_objects as go


def confusion(matrix: list[list[int]], names: list[str]) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=matrix, x=names, y=names, colorscale="Blues", text=matrix,
                               texttemplate="%{text}", hovertemplate="%{y} → %{x}: %{z}<extra></extra>"))
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=10, b=10), yaxis=dict(autorange="reversed"))
    return fig
