"""The explorer's queries at national scale: facet refresh, word-form search, a page of rows,
the row count and a cross-tab, against the obvious way of doing each in the same run.

    python bench/explorer.py --rows 1000000 [--rows 10000000] [--db /tmp/explorer_{rows}.duckdb] [--reps 15]
                             [--baseline-reps 1]

A store of N submissions is built once per size (kept in --db and reused): texts of 300-400
characters made of two to four texts of our corpus, given search terms by the same search.doc_terms as ingest
(a pool of 40,000 distinct texts, each row one of them), over two years and every district.
With search words, the first facets make the search's cube (its rows counted by every column
a facet or a filter reads, kept for the next click) and are timed with no cube kept; a facet
click after them (one district, open cases) and its count are timed from the kept cube.
Baselines, each run in the same process on the same store:
- facets: one GROUP BY query per facet (ours: one GROUPING SETS pass);
- search: DuckDB's ILIKE '%word%' over the texts (ours: the numbers of the stems in search_terms, every form),
  for three common words and a misspelt one that no text holds;
- page: the same ORDER BY ... LIMIT through pandas (.df() of all filtered ids and times, sorted).
Prints p50 and p95 in ms and the ratio ours / baseline (below 1 is faster); ours after one untimed
run (the first read of a column after opening the store is a cold read from disk), the baselines
too unless they run once (--baseline-reps 1: cold, so slower than warm).
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import reference, rollup, search, store, train  # noqa: E402
from pipeline.queries import explore, textsearch  # noqa: E402
from pipeline.queries.filters import Filters, where  # noqa: E402

POOL = 40_000
END = dt.date(2026, 11, 30)
START = END - dt.timedelta(days=729)


def build(path: Path, rows: int) -> None:
    rng = np.random.default_rng(7)
    corpus = train.corpus()
    texts, cats = corpus["text"].to_numpy(), corpus["category"].to_numpy()
    pool_text, pool_cat = [], []
    for _ in range(POOL):
        pick = rng.choice(len(texts), size=rng.integers(2, 5))
        body = " ".join(texts[pick])
        while len(body) < 300:
            body += " " + texts[rng.integers(len(texts))]
        pool_text.append(body[:400])
        pool_cat.append(cats[pick[0]])
    pool = pd.DataFrame({"i": np.arange(POOL), "text": pool_text, "category": pool_cat,
                         "search_terms": [search.stored_terms(t) for t in pool_text]})
    d = reference.districts()
    districts = pd.DataFrame({"j": np.arange(len(d)), "district": d["code"], "region": d["region"]})
    con = store.connect(path)
    con.register("pool", pool)
    con.register("dists", districts)
    step = 1_000_000
    for lo in range(0, rows, step):
        n = min(step, rows - lo)
        con.execute(f"""
            INSERT INTO submissions (source, source_id, received_at, text, language, region, district, category,
                                     category_confidence, category_source, priority, status, department,
                                     feedback_due_at, due_at, search_terms)
            SELECT CASE WHEN r % 10 < 7 THEN 'hotline_109' WHEN r % 10 < 9 THEN 'qr' ELSE 'web' END,
                   'b' || r, TIMESTAMPTZ '{START}' + to_seconds(CAST(hash(r) % (730 * 86400) AS BIGINT)),
                   p.text, CASE WHEN r % 3 = 0 THEN 'kk' ELSE 'ru' END, ds.region, ds.district, p.category,
                   (hash(r * 7) % 1000) / 1000.0, CASE WHEN r % 50 = 0 THEN 'operator' ELSE 'model' END, 'normal',
                   CASE WHEN r % 20 = 0 THEN 'new' WHEN r % 20 = 1 THEN 'in_progress' ELSE 'resolved' END,
                   'akimat', TIMESTAMPTZ '{START}' + to_seconds(CAST(hash(r) % (730 * 86400) AS BIGINT)) + INTERVAL 2 DAY,
                   TIMESTAMPTZ '{START}' + to_seconds(CAST(hash(r) % (730 * 86400) AS BIGINT)) + INTERVAL 15 DAY,
                   p.search_terms
            FROM range({lo}, {lo + n}) t(r)
            JOIN pool p ON p.i = hash(r * 31) % {POOL}
            JOIN dists ds ON ds.j = hash(r * 17) % {len(d)}""")
        print(f"  built {lo + n:,} rows", flush=True)
    con.execute("CHECKPOINT")
    con.close()


def timed(fn, reps: int, warm: bool = True) -> tuple[float, float, object]:
    """p50 and p95 in ms of `reps` runs, and the last result. `warm`: one run first, not timed, as
    bench/run.py does (the first read of a column after opening a 10M store took up to 7 s, and
    with 11 runs p95 is the slowest); the slow baselines run once, cold, with warm=False."""
    out, times = None, []
    if warm:
        fn()
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(1000 * (time.perf_counter() - t))
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], out


def facets_one_by_one(con, f: Filters):
    cond, params = where(f)
    return {name: con.execute(f"SELECT {sql} AS v, count(*) FROM submissions WHERE {cond} GROUP BY 1",
                              ([0.4] if "?" in sql and name == "confidence" else [dt.datetime.now(dt.timezone.utc)]
                               if "?" in sql else []) + params).fetchall()
            for name, sql in explore.FACETS.items()}


def ilike_count(con, f: Filters, word: str):
    cond, params = where(replace(f, q=None))
    return con.execute(f"SELECT count(*) FROM submissions WHERE {cond} AND text ILIKE ?", [*params, f"%{word}%"]).fetchall()[0][0]


def ilike_page(con, f: Filters, word: str):
    cond, params = where(replace(f, q=None))
    return con.execute(f"SELECT id, received_at, category, district, status, text FROM submissions WHERE {cond} "
                       "AND text ILIKE ? ORDER BY received_at DESC, id DESC LIMIT 50", [*params, f"%{word}%"]).df()


def pandas_page(con, f: Filters):
    cond, params = where(f)
    df = con.execute(f"SELECT id, received_at FROM submissions WHERE {cond}", params).df()
    top = df.sort_values(["received_at", "id"], ascending=False).head(50)["id"].tolist()
    return con.execute(f"SELECT * FROM submissions WHERE id IN ({','.join(map(str, top))})").df() if top else df


def run(path: Path, rows: int, reps: int, base_reps: int) -> None:
    con = store.connect(path)
    t = time.perf_counter()
    rollup.keep_up(con)  # as the app's writer does after every write: rollups and search signatures
    print(f"  rollups and search signatures brought up to date in {time.perf_counter() - t:.1f} s", flush=True)
    have = con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
    print(f"\n== {have:,} submissions ({path}) ==")
    all_time = Filters(START, END)
    month = Filters(END - dt.timedelta(days=29), END)
    district = replace(all_time, district="al_farabi", category="roads")
    lines = []

    def line(name, ours, base=None):
        p50, p95, _ = ours
        ratio = f"  ratio {p50 / base[0]:.2f} vs baseline p50 {base[0]:.0f} ms (p95 {base[1]:.0f})" if base else ""
        lines.append(f"{name:<44} p50 {p50:7.0f} ms  p95 {p95:7.0f} ms{ratio}")
        print(lines[-1], flush=True)

    for label, f in (("all time", all_time), ("30 days", month), ("one district and category", district)):
        line(f"facets, {label}", timed(lambda: explore.facets(con, f), reps), timed(lambda: facets_one_by_one(con, f), base_reps, warm=base_reps > 1))
        line(f"count, {label}", timed(lambda: explore.count(con, f), reps))
    # three common words, and a misspelt one no text of the store holds ("свтофор", a typo), whose
    # page must read the search's condition instead of taking more candidates round after round
    for word, stemq in (("яма", "ямы"), ("вода", "воды"), ("свет", "света"), ("свтофор", "свтофор")):
        explore._cubes.clear()  # a count alone: from the rows (no search's cube is kept yet)
        ours = timed(lambda: explore.count(con, replace(all_time, q=stemq)), reps)
        base = timed(lambda: ilike_count(con, all_time, word), base_reps, warm=base_reps > 1)
        line(f"search count '{stemq}' ({ours[2]:,} / ILIKE {base[2]:,})", ours, base)
        line(f"search page of 50 '{stemq}'", timed(lambda: explore.page(con, replace(all_time, q=stemq), limit=50), reps),
             timed(lambda: ilike_page(con, all_time, word), base_reps, warm=base_reps > 1))
        searched = replace(all_time, q=stemq)

        def first_facets():  # the first facets of a search: its cube is made from the rows
            explore._cubes.clear()
            explore.facets(con, searched)
        line(f"facets with '{stemq}', first (cube made)", timed(first_facets, reps))
        clicked = replace(searched, district="al_farabi", status="open")
        line(f"facets with '{stemq}', a facet click", timed(lambda: explore.facets(con, clicked), reps))
        line(f"count with '{stemq}', a facet click", timed(lambda: explore.count(con, clicked), reps))
    line("page of 50 rows, all time, newest first", timed(lambda: explore.page(con, all_time, limit=50), reps),
         timed(lambda: pandas_page(con, all_time), base_reps, warm=base_reps > 1))
    line("page 200 (offset 10,000), all time", timed(lambda: explore.page(con, all_time, offset=10_000, limit=50), reps))
    line("page of 50, one district and category", timed(lambda: explore.page(con, district, limit=50), reps),
         timed(lambda: pandas_page(con, district), base_reps, warm=base_reps > 1))
    line("cross-tab category x district, all time", timed(lambda: explore.crosstab(con, all_time, "category", "district"), reps))
    line("time series by week, all time", timed(lambda: explore.timeline(con, all_time, "week"), reps))
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, action="append", help="store size (repeatable); default 1,000,000")
    ap.add_argument("--db", default="/tmp/explorer_{rows}.duckdb")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--baseline-reps", type=int, help="repetitions of the (slow) baselines; default --reps")
    args = ap.parse_args()
    for rows in args.rows or [1_000_000]:
        path = Path(args.db.format(rows=rows))
        if not path.exists():
            t = time.perf_counter()
            build(path, rows)
            print(f"  built in {time.perf_counter() - t:.0f} s")
        run(path, rows, args.reps, args.baseline_reps or args.reps)


if __name__ == "__main__":
    main()
