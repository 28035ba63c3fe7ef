"""Incidents on the screens: how many of the submissions a view counts are reports about one
event that several people reported (pipeline.ideas groups them: `ideas.kind = 'incident'`).
Single cases are counted everywhere else as before; this only adds the line "N reports about M
incidents"."""
from __future__ import annotations

import datetime as dt

import duckdb

from pipeline import grammar, i18n
from pipeline.queries.filters import Filters, where


def counts(con: duckdb.DuckDBPyConnection, f: Filters) -> dict:
    """Among the submissions the filter selects: reports in an incident, and the incidents."""
    cond, params = where(f, "s")
    row = con.execute(f"""
        SELECT count(*), count(DISTINCT m.idea_id)
        FROM submissions s JOIN idea_members m ON m.submission_id = s.id AND m.kind = 'incident'
        WHERE {cond}""", params).fetchall()[0]
    return {"reports": int(row[0]), "incidents": int(row[1])}


def counts_between(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime,
                   region: str | None = None) -> dict:
    """The same for submissions received in [start, end) of a region (None: all), for the wall."""
    row = con.execute("""
        SELECT count(*), count(DISTINCT m.idea_id)
        FROM submissions s JOIN idea_members m ON m.submission_id = s.id AND m.kind = 'incident'
        WHERE s.received_at >= ? AND s.received_at < ? AND (CAST(? AS VARCHAR) IS NULL OR s.region = ?)""",
        [start, end, region, region]).fetchall()[0]
    return {"reports": int(row[0]), "incidents": int(row[1])}


REPORT = {"ru": "обращение", "kk": "өтініш", "en": "report"}
INCIDENT = {"ru": "происшествие", "kk": "оқиға", "en": "incident"}


def line(c: dict, lang: str) -> str:
    """'45 обращений о 3 происшествиях' / '3 оқиға туралы 45 өтініш' / '45 reports about 3 incidents'."""
    n, m = c["reports"], c["incidents"]
    if lang == "ru":
        return i18n.t("incidents.line", lang, reports=grammar.count(n, REPORT, lang),
                      incidents=grammar.count(m, INCIDENT, lang, "loc"))
    if lang == "en":  # the English template carries no nouns: "1 report about 1 incident"
        return i18n.t("incidents.line", lang, reports=grammar.count(n, REPORT, lang),
                      incidents=grammar.count(m, INCIDENT, lang))
    # Kazakh: the nouns stay singular after a number and are in the template ("3 оқиға туралы 45 өтініш")
    return i18n.t("incidents.line", lang, reports=grammar.fmt_int(n), incidents=grammar.fmt_int(m))
