"""Daily rollup of submissions: counts per local day, region, district, category and label kind.

Overview and wall figures over long periods (all time at 10 million rows: a daily trend took
seconds, mostly cutting timestamps into local days) read `rollup_daily` instead of every row.
Open and overdue counts read `live_cases`, the writer's copy of the live rows (open, or awaiting
feedback: the only ones whose figures change with the clock), 1-2 % of all rows; see `live`. A
closed case whose feedback deadline passed before a cutoff (`lapsed_before`) no longer changes
with the clock: rollup_daily counts it (feedback_lapsed), so a store imported from a history
without feedback times is not all live.
The period metrics' reopen rate reads `reopened_cases`, the event log's reopened cases; see `reopened`.
Their counts come from rollup_daily and `live_cases`, their medians and 90th percentiles from
`rollup_durations`, how many cases took each counted duration per local month and region (see
`durations_usable`; pipeline.queries.cases.summary).

Kept by the writer: `refresh(con)` after each drain (the app's drain thread, `drain`, `demo`).
It is incremental: the days of submissions added since the last refresh, and the days of
submissions whose category, confidence, label source, district or feedback changed since then
(events.change logs every such change), are recounted from `submissions`. Nothing else writes
those columns. Readers use the rollup only when it is *fresh* (built up to the latest submission
and event, with the review threshold now in force) and the filter needs nothing it lacks;
otherwise the same figure comes from `submissions`, so a number never depends on which path
served it (tests/test_rollup.py compares the two on random filters).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading

import duckdb

from pipeline import metrics, settings, store
from pipeline.queries import textsearch
from pipeline.queries.filters import Filters, open_sql

# Event fields that move a row between rollup cells; 'created' too: classifying a row stored
# pending (pipeline.pending) writes its 'created' event again. live_cases follows every event.
FIELDS = ("category", "category_confidence", "category_source", "district", "feedback_at", "feedback_due_at",
          "created", "status", "resolved_at", "due_at")
# Event fields that change a row's durations (rollup_durations): a change of status alone does not,
# and recounting its month took 90 ms of a status change's 220-300 ms at 10,000,000 rows.
DURATION_FIELDS = ("feedback_at", "resolved_at", "created")
LIVE_COLUMNS = ("id", "received_at", "source", "language", "region", "district", "placement", "category",
                "category_confidence", "category_source", "priority", "status", "department", "feedback_due_at",
                "feedback_at", "due_at", "resolved_at", "resident_confirmed_at")
# The explorer's facets rollup_daily lacks, one row per cell, facet and value (explore.facets)
FACETS = ("source", "language", "status", "department", "placement", "confirmed")
_FACETS = """
    SELECT day, region, district, category, operator, below, unscored, pending, facet, value, count(*) AS n
    FROM (
        SELECT CAST(received_at AS DATE) AS day, region, district, coalesce(category, 'other') AS category,
               coalesce(category_source = 'operator', false) AS operator,
               coalesce(category_confidence < ?, false) AS below, category_confidence IS NULL AS unscored,
               coalesce(category_source = 'pending', false) AS pending,
               source, language, status, department, placement,
               CASE WHEN resident_confirmed_at IS NULL THEN '0' ELSE '1' END AS confirmed
        FROM submissions WHERE {cond})
    UNPIVOT INCLUDE NULLS (value FOR facet IN (source, language, status, department, placement, confirmed))
    GROUP BY ALL"""
_MONTHLY = """
    SELECT CAST(date_trunc('month', day) AS DATE) AS month, region, district, category, operator, below, unscored,
           pending, facet, value, sum(n) AS n
    FROM rollup_facets WHERE {cond} GROUP BY ALL"""
# The cases ever reopened, from the event log: the one definition (metrics.summary's `reopened`);
# reopened_cases holds its result, kept by refresh() (see reopened()).
REOPENED_SQL = "SELECT DISTINCT submission_id FROM events WHERE field = 'status' AND new = 'reopened'"
# Live: open, or closed without feedback whose feedback deadline is not before the cutoff (or not
# set); parameters: the cutoff, then {cond}'s. The rest of the closed cases without feedback are
# rollup_daily's feedback_lapsed (and its closed_unresolved when not resolved).
_LIVE = (f"SELECT {', '.join(LIVE_COLUMNS)} FROM submissions WHERE ({open_sql()} OR (feedback_at IS NULL AND "
         "(feedback_due_at IS NULL OR feedback_due_at >= ?))) AND {cond}")
# How far behind the newest submission (or now, if earlier) the cutoff is set, and how far it may
# fall behind before a refresh moves it up (recounting the days of the cases that cross it).
LAPSE_DAYS = 30
_CUTOFF = "rollup_lapsed_before"
DIMENSIONS = {"start", "end", "region", "district", "category", "confidence", "reviewed"}  # a filter using only these
log = logging.getLogger(__name__)
_META = ("rollup_submission_id", "rollup_event_id", "rollup_threshold", "rollup_tz", "rollup_version")
# The rollup tables' layout, as the last migration that changed them (110_rollup_monthly) left it:
# a store whose rollups were built under another layout (a store not yet migrated, opened read-only
# by `export` or a notebook after an upgrade) is not fresh, so its readers count the submissions
# instead of asking tables it lacks; its writer rebuilds them. Raise it with such a migration.
VERSION = "111"

_SELECT = f"""
    SELECT CAST(received_at AS DATE) AS day, region, district, coalesce(category, 'other') AS category,
           coalesce(category_source = 'operator', false) AS operator,
           coalesce(category_confidence < $threshold, false) AS below, category_confidence IS NULL AS unscored,
           coalesce(category_source = 'pending', false) AS pending,
           count(*) AS n, count(feedback_at) AS feedback_given,
           count(*) FILTER (WHERE feedback_at <= feedback_due_at) AS feedback_in_time,
           count(resolved_at) AS resolved,
           count(*) FILTER (WHERE resolved_at <= due_at) AS resolved_in_time,
           count(*) FILTER (WHERE NOT {open_sql()} AND resolved_at IS NULL
                                  AND (feedback_at IS NOT NULL OR feedback_due_at < $cutoff)) AS closed_unresolved,
           count(r.submission_id) AS reopened,
           count(*) FILTER (WHERE resolved_at IS NOT NULL OR r.submission_id IS NOT NULL) AS ever_resolved,
           count(*) FILTER (WHERE NOT {open_sql()} AND feedback_at IS NULL AND feedback_due_at < $cutoff)
               AS feedback_lapsed
    FROM submissions LEFT JOIN reopened_cases r ON r.submission_id = submissions.id
    WHERE {{cond}} GROUP BY ALL"""
CELLS = ("region", "district", "category", "operator", "below", "unscored", "pending")
COUNTS = ("n", "feedback_given", "feedback_in_time", "resolved", "resolved_in_time", "closed_unresolved", "reopened",
          "ever_resolved", "feedback_lapsed")
_DAILY_MONTHLY = (f"SELECT CAST(date_trunc('month', day) AS DATE) AS month, {', '.join(CELLS)}, "
                  f"{', '.join(f'sum({c}) AS {c}' for c in COUNTS)} FROM rollup_daily WHERE {{cond}} GROUP BY ALL")
# How many cases took each counted duration to feedback and to resolution (the metrics' unit,
# pipeline.metrics.counted_minutes), per local month and region: all time at 10,000,000 rows is a
# few hundred thousand counts instead of ten million durations to rank.
_MINUTES_TO = "(epoch_us({end}) - epoch_us(received_at)) / 60e6"
_KEYS = {"month": "CAST(date_trunc('month', CAST(received_at AS DATE)) AS DATE) AS month", "region": "region"}


def durations_sql(cond: str, keys: tuple[str, ...] = ()) -> str:
    """SELECT of (keys..., measure, minutes, n): how many submissions matching `cond` took each
    counted duration to feedback (measure 'feedback') and to resolution ('resolution'). One scan:
    the two histograms are grouping sets of it (two UNION ALL scans took 40-70 % longer at
    10,000,000 rows). pipeline.queries.cases reads it from the rows for what rollup_durations,
    made of it per month and region, does not cover."""
    k = "".join(f"{c}, " for c in keys)
    fb = metrics.COUNTED_MINUTES_SQL.format(d=_MINUTES_TO.format(end="feedback_at"))
    res = metrics.COUNTED_MINUTES_SQL.format(d=_MINUTES_TO.format(end="resolved_at"))
    return f"""
        SELECT {k}CASE WHEN fb IS NOT NULL THEN 'feedback' ELSE 'resolution' END AS measure,
               coalesce(fb, res) AS minutes, n
        FROM (SELECT {k}fb, res, count(*) AS n
              FROM (SELECT {''.join(_KEYS[c] + ', ' for c in keys)}{fb} AS fb, {res} AS res
                    FROM submissions WHERE {cond})
              GROUP BY GROUPING SETS (({k}fb), ({k}res)))
        WHERE fb IS NOT NULL OR res IS NOT NULL"""


DURATION_DIMENSIONS = {"start", "end", "region"}  # a filter using only these reads rollup_durations


def _state(con) -> tuple:
    """What the rollup must reflect: the last submission and event ids, threshold, time zone and
    the rollups' layout."""
    sub, ev = con.execute("SELECT (SELECT coalesce(max(id), 0) FROM submissions), "
                          "(SELECT coalesce(max(id), 0) FROM events)").fetchall()[0]
    return _expected(sub, ev)


def _expected(sub: int, ev: int) -> tuple:
    return int(sub), int(ev), repr(settings.get_float("REVIEW_THRESHOLD")), settings.get("TZ"), VERSION


def _recorded(rows: dict) -> tuple | None:
    if not all(k in rows for k in _META):
        return None
    return (int(rows["rollup_submission_id"]), int(rows["rollup_event_id"]), rows["rollup_threshold"],
            rows["rollup_tz"], rows["rollup_version"])


def _built(con) -> tuple | None:
    return _recorded(dict(con.execute("SELECT key, value FROM meta WHERE key IN (SELECT unnest(?))",
                                      [list(_META)]).fetchall()))


def mark(con) -> tuple[int, int] | None:
    """The submission and event ids the rollup reflects now, for refresh(since=...): a writer whose
    transaction takes ids early and commits late (the pending step) recounts from here."""
    built = _built(con)
    return None if built is None else built[:2]


def fresh(con) -> bool:
    """The rollups reflect every submission and event now. One round trip: every screen asks."""
    try:
        rows = dict(con.execute("""
            SELECT key, value FROM meta
            UNION ALL SELECT ' submissions', coalesce(max(id), 0)::VARCHAR FROM submissions
            UNION ALL SELECT ' events', coalesce(max(id), 0)::VARCHAR FROM events""").fetchall())
        return _recorded(rows) == _expected(rows[" submissions"], rows[" events"])
    except Exception:  # noqa: BLE001 - an old replica without the table, another engine: count the rows
        return False


LIVE = "live_cases"


def reopened(con) -> str:
    """The cases ever reopened, as a table expression with a `submission_id` column:
    reopened_cases when the rollups are fresh, else the same set read from the event log."""
    return "reopened_cases" if fresh(con) else f"({REOPENED_SQL})"


def live(con, f: Filters | None = None) -> str:
    """The table to count live cases from: LIVE when it is fresh and the filter needs no text
    search, else 'submissions'. Only for a query whose conditions keep open rows alone (open_sql()):
    on those rows the two tables are the same. Feedback still awaited also needs rollup_daily's
    feedback_lapsed (and `settled`): see overview._kpis_rolled. A path that has already
    checked `usable(con, f)` knows both and names LIVE itself, without a second freshness check."""
    if f is not None and f.q:
        return "submissions"
    return LIVE if fresh(con) else "submissions"


def usable(con, f: Filters) -> bool:
    """The rollup can answer this filter exactly now."""
    return _used(f) <= DIMENSIONS and fresh(con)


def durations_usable(f: Filters) -> bool:
    """rollup_durations can answer this filter's whole months (for a filter `usable` accepts)."""
    return _used(f) <= DURATION_DIMENSIONS


def _used(f: Filters) -> set[str]:
    return {name for name, value in vars(f).items() if value is not None}


_refreshing = threading.Lock()


def refresh(con: duckdb.DuckDBPyConnection, since: tuple[int, int] | None = None) -> int:
    """Bring the rollup up to date in one transaction; returns the number of days recounted
    (-1 for a full rebuild: first time, another threshold or time zone). Call it after a write
    has committed, never inside another transaction: two transactions that both write the rollup's
    meta rows conflict (DuckDB aborts one), so refreshes of this process take turns.

    `since` (a mark() taken before a write began) recounts what changed after it, even when the
    rollup looks fresh: ids come from sequences, so a write that took its ids and committed after
    another one's higher ids was refreshed over (its events below the mark already built)."""
    with _refreshing:
        return _refresh(con, since)


def _refresh(con: duckdb.DuckDBPyConnection, since: tuple[int, int] | None = None) -> int:
    state = _state(con)
    built = _built(con)
    if built == state and (since is None or since == built[:2]):
        return 0  # nothing written: live_cases cannot grow, the cutoff waits for the next write
    cutoff, target = lapsed_before(con), _cutoff_target(con)
    advance = cutoff is not None and target - cutoff >= dt.timedelta(days=LAPSE_DAYS)
    threshold = settings.get_float("REVIEW_THRESHOLD")
    # not under the process's write lock (store.transaction): a refresh writes only the derived
    # tables and takes turns with other refreshes (_refreshing); holding the lock made a page's
    # change wait for a recount of a year of days (1-3 s at 1,000,000 rows, a review measured).
    # Writes are serialised by that lock, so an open write's event ids are above every committed
    # one, and the refresh's high-water mark cannot pass over them.
    with store.transaction(con, serial=False):
        if built is None or built[2:] != state[2:] or cutoff is None:
            cutoff = target
            con.execute("DELETE FROM reopened_cases")  # first: rollup_daily counts them
            con.execute("INSERT INTO reopened_cases " + REOPENED_SQL)
            con.execute("DELETE FROM rollup_daily")
            con.execute("INSERT INTO rollup_daily " + _SELECT.format(cond="true"), {"threshold": threshold, "cutoff": cutoff})
            con.execute("DELETE FROM rollup_monthly")
            con.execute("INSERT INTO rollup_monthly " + _DAILY_MONTHLY.format(cond="true"))
            con.execute("DELETE FROM rollup_durations")
            con.execute("INSERT INTO rollup_durations " + durations_sql("true", ("month", "region")))
            con.execute("DELETE FROM live_cases")
            con.execute("INSERT INTO live_cases " + _LIVE.format(cond="true"), [cutoff])
            con.execute("DELETE FROM rollup_facets")
            con.execute("INSERT INTO rollup_facets " + _FACETS.format(cond="true") + " ORDER BY day", [threshold])
            con.execute("DELETE FROM rollup_facets_monthly")
            con.execute("INSERT INTO rollup_facets_monthly " + _MONTHLY.format(cond="true"))
            days = -1
        else:
            last_sub, last_ev = built[:2]
            if since is not None:
                last_sub, last_ev = min(last_sub, since[0]), min(last_ev, since[1])
            con.execute(f"""INSERT INTO reopened_cases {REOPENED_SQL} AND id > ?
                            AND submission_id NOT IN (SELECT submission_id FROM reopened_cases)""", [last_ev])
            crossing: set[dt.date] = set()
            if advance:  # the days of the live cases the new cutoff makes lapsed, recounted under it
                crossing = {r[0] for r in con.execute(f"""
                    SELECT DISTINCT CAST(received_at AS DATE) FROM live_cases
                    WHERE NOT {open_sql()} AND feedback_at IS NULL AND feedback_due_at < ?""", [target]).fetchall()}
                cutoff = target
            touched = sorted(crossing.union(_touched(con, last_sub, last_ev, FIELDS)))
            for lo, hi in _runs(touched):
                start, end = _midnight(lo), _midnight(hi + dt.timedelta(days=1))
                con.execute("DELETE FROM rollup_daily WHERE day BETWEEN ? AND ?", [lo, hi])
                con.execute("INSERT INTO rollup_daily " + _SELECT.format(cond="received_at >= $start AND received_at < $end"),
                            {"threshold": threshold, "cutoff": cutoff, "start": start, "end": end})
            months: set[dt.date] = set()
            # any change: status, deadline, department
            for lo, hi in _runs(sorted(crossing.union(_touched(con, last_sub, last_ev)))):
                start, end = _midnight(lo), _midnight(hi + dt.timedelta(days=1))
                con.execute("DELETE FROM live_cases WHERE received_at >= ? AND received_at < ?", [start, end])
                con.execute("INSERT INTO live_cases " + _LIVE.format(cond="received_at >= ? AND received_at < ?"),
                            [cutoff, start, end])
                con.execute("DELETE FROM rollup_facets WHERE day BETWEEN ? AND ?", [lo, hi])
                con.execute("INSERT INTO rollup_facets " + _FACETS.format(cond="received_at >= ? AND received_at < ?"),
                            [threshold, start, end])
                months.update(_months(lo, hi))
            for month in sorted(months):  # each month once, after all its days
                con.execute("DELETE FROM rollup_facets_monthly WHERE month = ?", [month])
                con.execute("INSERT INTO rollup_facets_monthly " + _MONTHLY.format(cond="day >= ? AND day < ?"),
                            [month, _next_month(month)])
            for month in sorted({m for lo, hi in _runs(touched) for m in _months(lo, hi)}):
                con.execute("DELETE FROM rollup_monthly WHERE month = ?", [month])
                con.execute("INSERT INTO rollup_monthly " + _DAILY_MONTHLY.format(cond="day >= ? AND day < ?"),
                            [month, _next_month(month)])
            timed = _touched(con, last_sub, last_ev, DURATION_FIELDS)
            for month in sorted({m for lo, hi in _runs(timed) for m in _months(lo, hi)}):
                con.execute("DELETE FROM rollup_durations WHERE month = ?", [month])
                con.execute("INSERT INTO rollup_durations " + durations_sql("received_at >= ? AND received_at < ?",
                            ("month", "region")), [_midnight(month), _midnight(_next_month(month))])
            days = len(touched)
        for key, value in zip(_META, state):
            store.set_meta(con, key, str(value))
        store.set_meta(con, _CUTOFF, cutoff.isoformat())
    return days


def lapsed_before(con) -> dt.datetime | None:
    """The cutoff of the rollups as built: a closed case without feedback whose feedback deadline
    is before it is counted in rollup_daily (feedback_lapsed), not kept in live_cases. None before
    the first build."""
    try:
        value = con.execute("SELECT value FROM meta WHERE key = ?", [_CUTOFF]).fetchall()
    except Exception:  # noqa: BLE001 - another engine or an old replica without it: no rollups
        return None
    return dt.datetime.fromisoformat(value[0][0]) if value else None


def settled(con, now: dt.datetime) -> bool:
    """Whether the rollups' lapsed feedback holds at `now`: every case counted lapsed was late by
    then (`now` not before the cutoff). A figure for an earlier moment counts the rows."""
    cutoff = lapsed_before(con)
    if cutoff is None:
        return False
    if now.tzinfo is None:  # as DuckDB reads a naive parameter: local time
        from zoneinfo import ZoneInfo
        now = now.replace(tzinfo=ZoneInfo(settings.get("TZ")))
    return now >= cutoff


def _utcnow() -> dt.datetime:  # the clock, apart so a test can move it
    return dt.datetime.now(dt.timezone.utc)


def _cutoff_target(con) -> dt.datetime:
    """LAPSE_DAYS before the newest submission, or before now if that is earlier (a row dated in
    the future does not move it)."""
    now = _utcnow()
    newest = con.execute("SELECT max(received_at) FROM submissions").fetchall()[0][0]
    return min(now, newest) - dt.timedelta(days=LAPSE_DAYS) if newest is not None else now - dt.timedelta(days=LAPSE_DAYS)


def _touched(con, last_sub: int, last_ev: int, fields: tuple[str, ...] | None = None) -> list[dt.date]:
    """Local days of the submissions added since `last_sub`, and of those with events since
    `last_ev` (of `fields`, or of any field). One query: the changed ids' range bounds the scan of
    the submissions, so one status change reads one row group (a plain join of the events with
    every submission took 140 ms at 1M rows); fetching the ids into Python first took 0.3 s for the
    200,000 'created' events of a classified file, three times per refresh."""
    which = "" if fields is None else " AND field IN (SELECT unnest(?))"
    return [r[0] for r in con.execute(f"""
        WITH changed AS MATERIALIZED (SELECT DISTINCT submission_id AS id FROM events WHERE id > ?{which}),
             bounds AS (SELECT min(id) AS lo, max(id) AS hi FROM changed)
        SELECT DISTINCT CAST(received_at AS DATE) FROM submissions WHERE id > ?
        UNION
        SELECT DISTINCT CAST(s.received_at AS DATE) FROM submissions s, bounds b
        WHERE s.id BETWEEN b.lo AND b.hi AND s.id IN (SELECT id FROM changed)
        ORDER BY 1""", [last_ev, *([list(fields)] if fields is not None else []), last_sub]).fetchall()]


def rebuild(con: duckdb.DuckDBPyConnection) -> int:
    """Count everything again (after rows were deleted, as a demo rebuild does)."""
    con.execute("DELETE FROM meta WHERE key IN (SELECT unnest(?))", [list(_META)])
    return refresh(con)


def keep_up(con: duckdb.DuckDBPyConnection, since: tuple[int, int] | None = None) -> None:
    """refresh() after a write, and the new rows' search signatures, never failing the write: a rollup
    left behind only makes readers count from `submissions` until the next refresh (the app's drain
    thread tries every round).
    Inside an open transaction it does nothing: the one who opened it refreshes after its commit."""
    if store.in_transaction(con):
        return
    try:
        refresh(con, since)
    except Exception:  # noqa: BLE001 - logged; the figures stay right through the fallback
        log.exception("rollup refresh failed")
    try:  # the search signatures of the rows written since: searches stay right without them, only slower
        with _refreshing:  # two signings at once would conflict over the same new rows
            textsearch.sign(con)
    except Exception:  # noqa: BLE001
        log.exception("search signatures not written")


def _runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) runs, so each recount reads one time range."""
    runs: list[list[dt.date]] = []
    for d in days:
        if runs and d - runs[-1][1] <= dt.timedelta(days=1):
            runs[-1][1] = d
        else:
            runs.append([d, d])
    return [(a, b) for a, b in runs]


def _next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _months(lo: dt.date, hi: dt.date) -> list[dt.date]:
    """First days of the months from the one of `lo` to the one of `hi`."""
    out, month = [], lo.replace(day=1)
    while month <= hi:
        out.append(month)
        month = _next_month(month)
    return out


def split_months(start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """The period as its whole calendar months (first days of the first and last, or None) and the
    day ranges left before and after them."""
    first = start if start.day == 1 else _next_month(start.replace(day=1))
    after = _next_month(end.replace(day=1)) if end == _next_month(end.replace(day=1)) - dt.timedelta(days=1) \
        else end.replace(day=1)
    if first >= after:
        return None, [(start, end)]
    last = _months(first, after - dt.timedelta(days=1))[-1]
    days = [r for r in ((start, first - dt.timedelta(days=1)), (after, end)) if r[0] <= r[1]]
    return (first, last), days


def _midnight(day: dt.date) -> dt.datetime:
    from zoneinfo import ZoneInfo
    return dt.datetime.combine(day, dt.time(), ZoneInfo(settings.get("TZ")))


def cells(f: Filters) -> tuple[str, list]:
    """rollup_daily's cells and COUNTS for the filter (one `usable` accepts), with the local month
    instead of the day, as a table expression with its parameters: the period's whole months from
    rollup_monthly, its odd days from rollup_daily. For every figure that needs no day: at national
    scale the daily cells of two years are nearly as many as a region's rows, their months a
    twelfth of that."""
    cols = ", ".join(CELLS + COUNTS)
    return periods(f, f"SELECT month, {cols} FROM rollup_monthly",
                   f"SELECT CAST(date_trunc('month', day) AS DATE) AS month, {cols} FROM rollup_daily")


def periods(f: Filters, monthly: str, daily: str) -> tuple[str, list]:
    """A table expression, with its parameters, of a monthly rollup's rows for the filter's whole
    months and the daily one's for its odd days (split_months), both of the filter's cells
    (where_cells). `monthly` and `daily` are SELECT ... FROM a table with a `month` or `day`
    column, giving the same columns."""
    cond, params = where_cells(f)
    months, days = split_months(f.start, f.end)
    parts, out = [], []
    if months:
        parts.append(f"{monthly} WHERE month BETWEEN ? AND ? AND {cond}")
        out += [*months, *params]
    for lo, hi in days:
        parts.append(f"{daily} WHERE day BETWEEN ? AND ? AND {cond}")
        out += [lo, hi, *params]
    return "(" + " UNION ALL ".join(parts) + ")", out


def steps(f: Filters, grain: str) -> tuple[str, list, str]:
    """(table expression, parameters, step column) of the rollup's cells for the filter, for a
    series cut at `grain` (date_trunc's unit): whole months and years from `cells` (step 'month'),
    shorter steps from rollup_daily's days of the period (step 'day')."""
    if grain in ("month", "year"):
        table, params = cells(f)
        return table, params, "month"
    cond, params = where_cells(f)
    return f"(SELECT * FROM rollup_daily WHERE day BETWEEN ? AND ? AND {cond})", [f.start, f.end, *params], "day"


def where_cells(f: Filters) -> tuple[str, list]:
    """The filter's condition on a rollup's cells, without the period."""
    parts, params = ["true"], []
    for name in ("region", "district", "category"):
        if getattr(f, name) is not None:
            parts.append(f"{name} = ?")
            params.append(getattr(f, name))
    if f.confidence == "operator":  # the bands as filters.where draws them
        parts.append("operator")
    elif f.confidence == "low":
        parts.append("NOT operator AND (below OR unscored)")
    elif f.confidence == "high":
        parts.append("NOT operator AND NOT below AND (NOT unscored OR ? <= 0)")  # coalesce(NULL, 0) >= threshold
        params.append(settings.get_float("REVIEW_THRESHOLD"))
    if f.reviewed is not None:
        parts.append(("" if f.reviewed else "NOT ") + "operator")
    return " AND ".join(parts), params
