"""Pieces of the briefing page: the text as escaped HTML whose figures link to the explorer view
that produces them, the tables likewise, and the period and territory pickers' options."""
from __future__ import annotations

import datetime as dt
import html

from pipeline import briefing, reference
from pipeline.briefing import Briefing, Part, Period

STYLE = """<style>
.sc-brief p {margin: 0 0 .55rem 0; line-height: 1.5}
.sc-brief a {text-decoration: none; border-bottom: 1px dotted}
.sc-brief table {border-collapse: collapse; margin: .2rem 0 .8rem 0; font-size: .92rem}
.sc-brief th, .sc-brief td {padding: .15rem .7rem .15rem 0; border-bottom: 1px solid #ddd; text-align: right}
.sc-brief th:first-child, .sc-brief td:first-child {text-align: left}
</style>"""


def _parts(parts: list[Part], b: Briefing) -> str:
    out = []
    for p in parts:
        text = html.escape(p.text)
        if p.said:  # residents' words, marked as such (the page's language checks leave data alone)
            text = f"<span class='said'>{text}</span>"
        fig = b.facts.figures.get(p.fig) if p.fig else None
        out.append(f'<a href="{html.escape(briefing.explorer_link(fig))}" target="_self">{text}</a>' if fig else text)
    return "".join(out)


def section_html(sec, b: Briefing) -> str:
    """A section's sentences and table; every text escaped, every figure a link to the explorer."""
    body = "".join(f"<p>{_parts(s, b)}</p>" for s in sec.sentences)
    if sec.table:
        header, rows = sec.table
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        cells = "".join("<tr>" + "".join(f"<td>{_parts([c], b)}</td>" for c in row) + "</tr>" for row in rows)
        body += f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
    return f"<div class='sc-brief'>{body}</div>"


def period_options(kind: str, last_day: dt.date) -> list[Period]:
    """The periods a picker offers, newest first, up to the last day with data."""
    if kind == "month":
        first = last_day.replace(day=1)
        return [briefing.parse_period(f"{briefing._add_months(first, -i):%Y-%m}") for i in range(24)]
    if kind == "quarter":
        q = briefing.parse_period(f"{last_day.year}-Q{(last_day.month - 1) // 3 + 1}")
        out = [q]
        for _ in range(7):
            out.append(out[-1].previous())
        return out
    monday = last_day - dt.timedelta(days=last_day.weekday())
    return [briefing.Period("week", monday - dt.timedelta(weeks=i), monday - dt.timedelta(weeks=i) + dt.timedelta(days=6))
            for i in range(26)]


def default_index(options: list[Period], last_day: dt.date) -> int:
    """The newest period that has ended by the last day with data (a finished month, not a started one)."""
    for i, p in enumerate(options):
        if p.end <= last_day:
            return i
    return 0


def territory_options(lang: str) -> list[str]:
    return ["all", *reference.in_order(reference.regions(), lang), *reference.in_order(reference.districts(), lang)]


def territory_name(code: str, lang: str) -> str:
    return briefing.parse_territory(code).label(lang)
