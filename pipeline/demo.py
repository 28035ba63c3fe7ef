"""Demo data: a believable, deterministic two-year history for the Aktobe region and Shymkent.

Volumes follow district populations, the hour of day, the weekday, public holidays and seasons
(data/demo/categories.csv, profile.csv); texts are composed from Russian and Kazakh fragments
(data/demo/*.csv, written separately from the classifier's training corpus) with addresses,
typos and second problems; the workflow history (feedback, progress, resolution, rejections,
forwarding, reopening, residents' confirmations) is written to the event log so state can be
rebuilt from it; a few surges are planted and recorded in demo_surges. Same seed and end, same data.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import dataclasses
import json
import re
import sys
import time
import zlib

import duckdb
import holidays
import numpy as np
import pandas as pd

from pipeline import classify, events, placements, reference, rollup, search, settings, sla, store
from pipeline.queries import textsearch

DEMO = reference.DATA / "demo"
POOL = 300            # distinct message bodies per (category, language)
LANG_SHARES = {"aktobe": (0.70, 0.15, 0.15), "shymkent": (0.55, 0.30, 0.15)}  # ru, kk, mixed
LANGS = ("ru", "kk", "mixed")
SOURCES = ("hotline_109", "qr", "web")
SOURCE_P = (0.70, 0.08, 0.22)  # qr: residents' proposals (data/demo/proposals.csv), not complaints
PROPOSAL_VARIANTS = 40  # distinct styled texts per (idea, language)
MIN_SURGE = 24       # extra calls of the smallest planted surge: about what one broken water main brings


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DEMO / name, keep_default_na=False)


# ---- texts -----------------------------------------------------------------------------------
def _typo(rng: np.random.Generator, text: str) -> str:
    if len(text) < 8:
        return text
    i = int(rng.integers(1, len(text) - 2))
    return text[:i] + text[i + 1] + text[i] + text[i + 2:] if text[i].isalpha() else text


def _style(rng: np.random.Generator, text: str) -> str:
    r = rng.random()
    if r < 0.15:
        text = text.lower()
    elif r < 0.18:
        text = text.upper()
    if rng.random() < 0.15:
        text = "".join(ch for ch in text if ch not in ".,!?:")
    if rng.random() < 0.12:
        text = _typo(rng, text)
    return " ".join(text.split())


def message_pool(rng: np.random.Generator) -> pd.DataFrame:
    """POOL distinct message bodies for every (category, language): the generating category kept."""
    problems = _csv("problems.csv")
    phrases = _csv("phrases.csv")
    by = {k: g["text"].tolist() for k, g in phrases.groupby(["kind", "lang"])}
    prob = {k: g["text"].tolist() for k, g in problems.groupby(["category", "lang"])}
    cats = reference.category_codes()
    out = []
    for cat in cats:
        for lang in LANGS:
            seen: set[str] = set()
            tries = 0
            while len(seen) < POOL and tries < POOL * 20:
                tries += 1
                body_lang = lang if lang != "mixed" else ("ru" if rng.random() < 0.5 else "kk")
                frame_lang = lang if lang != "mixed" else ("kk" if body_lang == "ru" else "ru")
                pick = lambda items: items[int(rng.integers(len(items)))]  # noqa: E731
                problem = pick(prob[(cat, body_lang)])
                shape = rng.random()
                if shape < 0.12:  # a short note: the first clause only
                    parts = [problem.split(",")[0]]
                else:
                    parts = [pick(by[("opener", frame_lang)]), problem[0].upper() + problem[1:] + "."]
                    for _ in range(int(rng.integers(0, 3 if shape > 0.8 else 2))):
                        parts.append(pick(by[("detail", frame_lang if rng.random() < 0.5 else body_lang)]))
                    if rng.random() < 0.10:  # a second, different problem in the same message
                        other = pick([c for c in cats if c != cat])
                        second = pick(prob[(other, body_lang)])
                        parts.append(("Также " if body_lang == "ru" else "Сонымен қатар ") + second + ".")
                    parts.append(pick(by[("closing", frame_lang)]))
                seen.add(_style(rng, " ".join(p for p in parts if p)))
            out.extend((cat, lang, text) for text in sorted(seen))
    return pd.DataFrame(out, columns=["truth", "language_gen", "body"])


def proposal_pool(rng: np.random.Generator) -> pd.DataFrame:
    """Distinct proposal texts: for every idea of data/demo/proposals.csv and language, up to
    PROPOSAL_VARIANTS of its wordings (a Kazakh or Russian wording stands in for a missing
    language) with an opener or a closing now and then and the demo's usual style variation.
    Columns: idea, region, category, lang, text, weight (the idea's popularity in its region:
    Zipf over a seeded order, so ranking has a clear top)."""
    material = _csv("proposals.csv")
    phrases = _csv("phrases.csv")
    by = {k: [t for t in g["text"] if t] for k, g in phrases.groupby(["kind", "lang"])}
    rows = []
    for region, ideas in material.groupby("region", sort=True):
        names = sorted(ideas["idea"].unique())
        order = rng.permutation(len(names))
        for rank, idea in zip(order, names):
            mine = ideas[ideas["idea"] == idea]
            for lang in LANGS:
                wordings = mine[mine["lang"] == lang]["text"].tolist() or mine["text"].tolist()
                frame_lang = "kk" if lang == "kk" else "ru"
                seen: set[str] = set()
                for _ in range(PROPOSAL_VARIANTS * 3):
                    text = wordings[int(rng.integers(len(wordings)))]
                    r = rng.random()
                    if r < 0.2:
                        text = by[("opener", frame_lang)][int(rng.integers(len(by[("opener", frame_lang)])))] + " " + text
                    elif r < 0.3:
                        text = text + ". " + by[("closing", frame_lang)][int(rng.integers(len(by[("closing", frame_lang)])))]
                    seen.add(_style(rng, text))
                    if len(seen) >= PROPOSAL_VARIANTS:
                        break
                rows.extend((idea, region, mine["category"].iloc[0], lang, t, 1.0 / (rank + 1) ** 0.9)
                            for t in sorted(seen))
    return pd.DataFrame(rows, columns=["idea", "region", "category", "lang", "text", "weight"])


# ---- volumes ---------------------------------------------------------------------------------
def hour_grid(end: pd.Timestamp, days: int = 730) -> pd.DataFrame:
    """Every local hour of the history with its relative call intensity."""
    tz = settings.get("TZ")
    stop = end.tz_convert(tz).floor("h")
    hours = pd.date_range(stop - pd.Timedelta(days=days), stop, freq="h", inclusive="left")
    prof = _csv("profile.csv")
    hour_w = prof[prof.kind == "hour"].set_index("index")["weight"]
    wd_w = prof[prof.kind == "weekday"].set_index("index")["weight"]
    kz = holidays.country_holidays("KZ", years=range(hours[0].year, hours[-1].year + 1))
    holiday = np.array([d in kz for d in hours.date])
    growth = np.linspace(0.85, 1.15, len(hours))
    w = hour_w.reindex(hours.hour).to_numpy() * wd_w.reindex(hours.weekday).to_numpy() * growth
    w = np.where(holiday, w * 0.5, w)
    return pd.DataFrame({"start": hours, "weight": w / w.sum(), "month": hours.month})


def _surge_windows(end: pd.Timestamp) -> pd.DataFrame:
    tz = settings.get("TZ")
    local_end = end.tz_convert(tz)
    rows = []
    for s in _csv("surges.csv").itertuples():
        if s.hours_before_end != "":
            start = local_end - pd.Timedelta(hours=int(s.hours_before_end))
        else:
            year = local_end.year if (int(s.month), int(s.day)) < (local_end.month, local_end.day) else local_end.year - 1
            start = pd.Timestamp(year=year, month=int(s.month), day=int(s.day), hour=6, tz=tz)
            if (local_end - start).days < 7:
                start -= pd.DateOffset(years=1)
        stop = min(start + pd.Timedelta(hours=int(s.duration_hours)), local_end)
        rows.append((s.category, s.district, start, stop, float(s.multiplier), s.story))
    return pd.DataFrame(rows, columns=["category", "district", "start_at", "end_at", "multiplier", "story"])


# ---- the plan: what the whole history shares, drawn once and small ------------------------------
# The history is drawn, composed and written in chunks of about CHUNK_ROWS rows (contiguous spans of
# hours of equal expected volume), each with its own generator seeded by (seed, chunk), so memory
# stays flat whatever the number of rows. What spans chunks is drawn once: the rows of each chunk
# (a multinomial split of the total), the planted surges and forgotten cases (as rows of their own),
# each district's slowness, and the pools of texts (classified once, as distinct bodies).
CHUNK_ROWS = 200_000
# DuckDB keeps the blocks it wrote cached up to its memory limit (80 % of the machine by default):
# while a demo is written to a file it may use this much, then the limit is put back.
BUILD_MEMORY = "512MB"
NORMAL, SURGE, FORGOTTEN = 0, 1, 2  # kind of a row: drawn, a planted surge's, a planted forgotten case


@dataclasses.dataclass
class Plan:
    end: pd.Timestamp
    end_s: int                    # the end in epoch seconds
    districts: pd.DataFrame
    dist_codes: np.ndarray
    dist_p: np.ndarray
    cat_codes: np.ndarray         # categories.csv order (the generating categories)
    season_p: np.ndarray          # [category, month]
    grid_s: np.ndarray            # each local hour's start, epoch seconds
    grid_w: np.ndarray
    grid_month: np.ndarray
    bounds: np.ndarray            # chunk k draws from grid hours bounds[k]:bounds[k + 1]
    counts: np.ndarray            # drawn rows of each chunk
    planted: pd.DataFrame         # t, truth, district, kind, forgotten (row of data/demo/forgotten.csv), chunk
    surges: pd.DataFrame
    forgotten: pd.DataFrame
    hotspots: pd.DataFrame
    slowness: dict                # district -> factor on its handling times
    texts: pd.DataFrame           # every text a row can have: message bodies, then proposals (id = position)
    terms: list                   # search terms of each text
    groups: dict                  # (truth, lang) -> (first text id, count) of message bodies
    right: dict                   # (truth, lang) -> a body the classifier reads as its truth
    proposals: dict               # region -> (ideas, p, {(idea, lang): (first text id, count)}, {idea: category})
    places: pd.DataFrame          # streets and villages (id = position)
    registry: pd.DataFrame        # QR placements


def _epoch(ts) -> int:
    return int(pd.Timestamp(ts).tz_convert("UTC").timestamp())


def _seconds(instants: pd.Series) -> np.ndarray:
    """Instants (any resolution) as epoch seconds."""
    return instants.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)


def plan(rows: int, seed: int, end: pd.Timestamp, chunk_rows: int = CHUNK_ROWS) -> Plan:
    g = np.random.default_rng([seed, 0])
    d = reference.districts()
    cats = _csv("categories.csv")
    codes = cats["category"].to_numpy(dtype=object)
    grid = hour_grid(end)
    per_capita = np.where(d["kind"] == "city_district", 1.3, 0.8)
    dist_p = (d["population"] * per_capita).to_numpy(float)
    dist_p = dist_p / dist_p.sum()
    season = cats[[f"m{m}" for m in range(1, 13)]].to_numpy(float) * cats["share"].to_numpy(float)[:, None]
    season_p = season / season.sum(axis=0)
    grid_s = _seconds(grid["start"])
    weight = grid["weight"].to_numpy()
    month = grid["month"].to_numpy()

    surges = _surge_windows(end)
    # Expected count of a (category, district) in a window, to size each surge's extra volume.
    expected_rows = int(rows * 0.997)
    extra = []
    for s in surges.itertuples():
        in_window = (grid["start"] >= s.start_at) & (grid["start"] < s.end_at)
        cat_i = int(np.flatnonzero(codes == s.category)[0])
        dist_i = int(np.flatnonzero(d["code"].to_numpy() == s.district)[0])
        expected = expected_rows * (grid.loc[in_window, "weight"] * season_p[cat_i, grid.loc[in_window, "month"] - 1]).sum() * dist_p[dist_i]
        extra.append(max(MIN_SURGE, int(round(expected * (s.multiplier - 1)))))
    surges["extra_count"] = extra
    planted = []
    for s in surges.itertuples():  # surge rows spread evenly over their window
        span = (s.end_at - s.start_at).total_seconds()
        offs = np.sort(g.uniform(0, span, s.extra_count)).astype("int64")
        planted.append(pd.DataFrame({"t": _epoch(s.start_at) + offs, "truth": s.category, "district": s.district,
                                     "kind": SURGE, "forgotten": -1}))
    # The forgotten cases: received on their day, in office hours, never finished.
    forgotten = _csv("forgotten.csv")
    tz = settings.get("TZ")
    for i, f in enumerate(forgotten.itertuples()):
        day = (end.tz_convert(tz) - pd.Timedelta(days=int(f.days_before_end))).normalize()
        planted.append(pd.DataFrame({"t": [_epoch(day) + int(g.integers(9 * 3600, 17 * 3600))], "truth": f.category,
                                     "district": f.district, "kind": FORGOTTEN, "forgotten": i}))
    planted = pd.concat(planted, ignore_index=True)
    base_rows = max(0, rows - len(planted))

    chunks = max(1, -(-rows // max(1, chunk_rows)))
    cum = np.cumsum(weight)
    inner = np.searchsorted(cum, np.arange(1, chunks) / chunks * cum[-1])
    bounds = np.unique(np.concatenate([[0], inner, [len(weight)]]))
    shares = np.add.reduceat(weight, bounds[:-1])
    shares = shares / shares.sum()
    shares[-1] = max(0.0, 1.0 - shares[:-1].sum())  # exactly 1 in all, as multinomial wants
    counts = g.multinomial(base_rows, shares)
    planted["chunk"] = np.clip(np.searchsorted(grid_s[bounds[:-1]], planted["t"].to_numpy(), side="right") - 1,
                               0, len(counts) - 1)
    slowness = dict(zip(d["code"], g.lognormal(0.0, 0.35, len(d))))

    texts, terms, groups, right, proposals = _text_pools(seed, classify.current_version(), settings.get("MODEL_DIR"))
    places = _csv("places.csv")
    registry = _csv("../placements.csv")  # checked as a whole by load_demo and tests/test_placements.py
    registry["active"] = registry["active"].astype(str).str.lower().isin(placements.TRUE)
    registry["weight"] = registry["kind"].map(KIND_WEIGHT).fillna(1.0)
    return Plan(end, _epoch(end), d, d["code"].to_numpy(dtype=object), dist_p, codes, season_p, grid_s, weight,
                month, bounds, counts, planted, surges, forgotten, hotspot_windows(end), slowness, texts, terms,
                groups, right, proposals, places, registry)


# An idea is a local matter: its proposals come mostly from its one to three home districts (the first
# the most), drawn among its region's districts by population; the rest of a district's proposals
# go to the other ideas of the region at AWAY_WEIGHT of their popularity.
HOME_SHARES = (0.6, 0.25, 0.15)
AWAY_WEIGHT = 0.01


def home_districts(rng: np.random.Generator, pool: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(idea, district) -> the idea's affinity to a home district (HOME_SHARES over its one to
    three homes, the first the most); districts not listed are AWAY_WEIGHT. Homes are drawn by
    population; a district left without an idea becomes a further home of an idea with fewer than
    three, so that every district has ideas of its own."""
    d = reference.districts()
    out: dict[tuple[str, str], float] = {}
    for region, ideas in pool.drop_duplicates("idea").groupby("region", sort=True):
        codes = d.loc[d["region"] == region, "code"].to_numpy(dtype=object)
        p = d.loc[d["region"] == region, "population"].to_numpy(float)
        homes: dict[str, list[str]] = {}
        for idea in sorted(ideas["idea"]):
            k = min(int(rng.integers(1, len(HOME_SHARES) + 1)), len(codes))
            homes[idea] = list(rng.choice(codes, size=k, replace=False, p=p / p.sum()))
            named = {reference.district_from_address(t) for t in pool.loc[pool["idea"] == idea, "text"]} & set(codes)
            if named:  # a wording names its district (в Каратауском районе): that is its first home
                first = sorted(named)[0]
                homes[idea] = [first] + [h for h in homes[idea] if h != first][:k - 1]
        for district in codes[np.argsort(-p, kind="stable")]:
            open_ = [i for i in homes if len(homes[i]) < len(HOME_SHARES)]
            if open_ and not any(district in h for h in homes.values()):
                fewest = min(len(homes[i]) for i in open_)
                open_ = [i for i in open_ if len(homes[i]) == fewest]
                homes[open_[int(rng.integers(len(open_)))]].append(district)
        for idea, mine in homes.items():
            shares = np.array(HOME_SHARES[:len(mine)]) / sum(HOME_SHARES[:len(mine)])
            out.update({(idea, h): float(x) for h, x in zip(mine, shares)})
    return out


@functools.lru_cache(maxsize=2)
def _text_pools(seed: int, model_version: str | None = None, model_dir: str | None = None):
    """Message bodies (classified once: the costly part) and proposal texts, with their search terms.
    Kept per seed and model (version and folder) for the process: a second demo of the same seed
    (the tests build dozens) does not classify the same 17,000 bodies again. Read-only for callers."""
    pool = message_pool(np.random.default_rng([seed, 1]))
    labels = classify.classify_texts(pool["body"].tolist())
    pool = pd.concat([pool, labels.rename(columns={"language": "lang_detected"})], axis=1)
    key = list(zip(pool["truth"], pool["language_gen"]))
    groups: dict = {}
    for i, k in enumerate(key):
        first, count = groups.get(k, (i, 0))
        groups[k] = (first, count + 1)
    right: dict = {}
    for i, (k, cat) in enumerate(zip(key, pool["category"])):
        if cat == k[0]:
            right.setdefault(k, i)
    props = proposal_pool(np.random.default_rng([seed, 2]))
    offset = len(pool)
    proposals = {}
    homes = home_districts(np.random.default_rng([seed, 4]), props)  # each idea's one to three districts
    for region, mine in props.groupby("region", sort=True):
        ideas = mine.drop_duplicates("idea")
        spans = {}
        for (idea, lang), rows in mine.groupby(["idea", "lang"]).groups.items():
            pos = props.index.get_indexer(rows)
            spans[(idea, lang)] = (offset + int(pos.min()), len(pos))
        p = ideas["weight"].to_numpy(float)
        proposals[region] = (ideas["idea"].to_numpy(dtype=object), p / p.sum(), spans,
                             dict(zip(ideas["idea"], ideas["category"])), homes)
    texts = pd.DataFrame({
        "text": pd.concat([pool["body"], props["text"]], ignore_index=True),
        "category": pd.concat([pool["category"], props["category"]], ignore_index=True),
        "confidence": np.concatenate([pool["confidence"].to_numpy(float), np.ones(len(props))]),
        "language": pd.concat([pool["lang_detected"], props["lang"]], ignore_index=True)})
    terms = [search.doc_terms(t) for t in texts["text"]]
    return texts, terms, groups, right, proposals


# ---- one chunk -------------------------------------------------------------------------------
def draw(p: Plan, k: int, rng: np.random.Generator) -> pd.DataFrame:
    """Chunk k's rows (with its planted ones) in time order: t (epoch seconds), truth, district, region,
    kind, forgotten."""
    lo, hi = int(p.bounds[k]), int(p.bounds[k + 1])
    n = int(p.counts[k])
    w = p.grid_w[lo:hi]
    hour = lo + rng.choice(hi - lo, size=n, p=w / w.sum())
    month = p.grid_month[hour]
    truth = np.empty(n, dtype=object)
    for m in range(1, 13):
        sel = np.flatnonzero(month == m)
        if len(sel):
            truth[sel] = rng.choice(p.cat_codes, size=len(sel), p=p.season_p[:, m - 1])
    district = rng.choice(p.dist_codes, size=n, p=p.dist_p)
    t = p.grid_s[hour] + rng.integers(0, 3600, n)
    mine = p.planted[p.planted["chunk"] == k]
    frame = pd.DataFrame({"t": np.concatenate([t, mine["t"].to_numpy()]),
                          "truth": np.concatenate([truth, mine["truth"].to_numpy(dtype=object)]),
                          "district": np.concatenate([district, mine["district"].to_numpy(dtype=object)]),
                          "kind": np.concatenate([np.zeros(n, dtype=np.int8), mine["kind"].to_numpy(np.int8)]),
                          "forgotten": np.concatenate([np.full(n, -1), mine["forgotten"].to_numpy()])})
    frame = frame[frame["t"] <= p.end_s].sort_values("t", kind="stable").reset_index(drop=True)
    frame["region"] = frame["district"].map(dict(zip(p.districts["code"], p.districts["region"])))
    return frame


def compose(p: Plan, frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Every column of a chunk's submissions as numbers and codes; the strings are put together
    by DuckDB at insert (write_chunk)."""
    n = len(frame)
    region = frame["region"].to_numpy(dtype=object)
    district = frame["district"].to_numpy(dtype=object)
    truth = frame["truth"].to_numpy(dtype=object).copy()
    kind = frame["kind"].to_numpy()
    fixed, surge = kind != NORMAL, kind == SURGE
    lang = np.empty(n, dtype=object)
    for name, shares in LANG_SHARES.items():
        sel = np.flatnonzero(region == name)
        lang[sel] = rng.choice(LANGS, size=len(sel), p=shares)
    keys = list(zip(truth.tolist(), lang.tolist()))
    first = np.fromiter((p.groups[k][0] for k in keys), dtype=np.int64, count=n)
    size = np.fromiter((p.groups[k][1] for k in keys), dtype=np.int64, count=n)
    text_id = first + (rng.random(n) * size).astype(np.int64)
    for i in np.flatnonzero(fixed):  # planted reports share one wording (per language) that reads as their category
        text_id[i] = p.right.get(keys[i], text_id[i])

    d = p.districts.set_index("code")
    rural = frame["district"].map(d["kind"]).to_numpy() == "district"
    street = np.zeros(n, dtype=np.int64)
    for name in ("aktobe", "shymkent"):
        ids = np.flatnonzero(((p.places["region"] == name) & (p.places["kind"] == "street")).to_numpy())
        sel = np.flatnonzero((region == name) & ~rural)
        street[sel] = rng.choice(ids, size=len(sel))
    villages = np.flatnonzero((p.places["kind"] == "village").to_numpy())
    street[rural] = rng.choice(villages, size=int(rural.sum()))
    if surge.any():  # a planted surge is one event: its reports name one street (or village)
        for (cat, dist), rows in frame[surge].groupby(["truth", "district"]).groups.items():
            pool = villages if d.loc[dist, "kind"] == "district" else np.flatnonzero(
                ((p.places["region"] == d.loc[dist, "region"]) & (p.places["kind"] == "street")).to_numpy())
            street[np.asarray(rows)] = pool[zlib.crc32(f"{cat}:{dist}".encode()) % len(pool)]
    house = rng.integers(1, 180, n)
    flat = np.where(rng.random(n) < 0.15, rng.integers(1, 120, n), 0)
    style = rng.random(n)
    style = np.where(surge & (style >= 0.65), style * 0.5, style)  # and say where it is
    style = np.select([style < 0.35, style < 0.55, style < 0.65], [0, 1, 2], 3)
    source = rng.choice(len(SOURCES), size=n, p=SOURCE_P)
    qr = source == SOURCES.index("qr")
    source = np.where(fixed & qr, SOURCES.index("hotline_109"), source)  # planted ones are complaints
    qr = source == SOURCES.index("qr")
    hotline = source == SOURCES.index("hotline_109")
    has_contact = hotline | (rng.random(n) < 0.3)
    operator, a, b, c = (rng.integers(0, len(OPERATORS), n), rng.integers(100, 999, n),
                         rng.integers(10, 99, n), rng.integers(10, 99, n))
    name_id = rng.integers(0, len(NAMES), n)
    geo = ~hotline & (rng.random(n) < 0.6)
    jitter = np.where(rural, 0.25, 0.025)
    lat = np.where(geo, frame["district"].map(d["lat"]).to_numpy(float) + rng.normal(0, 1, n) * jitter, np.nan)
    lon = np.where(geo, frame["district"].map(d["lon"]).to_numpy(float) + rng.normal(0, 1, n) * jitter * 1.5, np.nan)

    # QR rows are residents' proposals: their own texts (no address line), the proposal's topic as
    # the category (the form asks for it), the wording's language.
    rows = np.flatnonzero(qr)
    idea = np.full(n, "", dtype=object)
    for name in np.unique(region[rows]):
        ideas, prob, spans, category_of, homes = p.proposals[name]
        sel = rows[region[rows] == name]
        u = rng.random(len(sel))  # one draw a row; an idea is likelier in its home districts
        picked = np.empty(len(sel), dtype=np.int64)
        for dist in np.unique(district[sel].astype(str)):
            mine = np.flatnonzero(district[sel].astype(str) == dist)
            w = prob * np.array([homes.get((i, dist), AWAY_WEIGHT) for i in ideas])
            picked[mine] = np.minimum(np.cumsum(w / w.sum()).searchsorted(u[mine], side="right"), len(ideas) - 1)
        chosen = ideas[picked]
        idea[sel] = chosen
        span = [spans.get((i, l)) for i, l in zip(chosen.tolist(), lang[sel].tolist())]
        first = np.array([s[0] for s in span], dtype=np.int64)
        count = np.array([s[1] for s in span], dtype=np.int64)
        text_id[sel] = first + (rng.random(len(sel)) * count).astype(np.int64)
        truth[sel] = [category_of[i] for i in chosen.tolist()]
    placement = qr_placements(p, frame, qr, rng, idea)
    texts = p.texts
    category = texts["category"].to_numpy(dtype=object)[text_id]
    language = np.where(qr, lang, texts["language"].to_numpy(dtype=object)[text_id])
    style = np.where(qr, 3, style)
    n_places = len(p.places)
    return pd.DataFrame({
        "t": frame["t"].to_numpy(), "truth": truth, "district": district, "region": region, "kind": kind,
        "forgotten": frame["forgotten"].to_numpy(), "source": np.array(SOURCES, dtype=object)[source],
        "text_id": text_id, "suffix": np.where(style < 3, (style * n_places + street) * 2 + (flat > 0), -1),
        "street": street, "house": house, "flat": flat, "style": style, "has_contact": has_contact,
        "operator": operator, "a": a, "b": b, "c": c, "name": name_id, "lat": lat, "lon": lon,
        "placement": placement, "language": language, "category": category,
        "category_confidence": texts["confidence"].to_numpy(float)[text_id],
        "category_source": np.where(qr, "topic", "model").astype(object)})


# The demo's QR proposals come through the registry's placements (data/placements.csv): one in the
# submission's district, or a bus route of its region; bus stops and routes carry most. Placements
# the registry lists as taken down (inactive) produced proposals only until TAKEN_DOWN_DAYS before the end.
KIND_WEIGHT = {"bus_stop": 3.0, "bus_route": 3.0, "akimat_office": 1.5, "school": 1.0, "clinic": 1.0, "park": 1.0,
               "other": 1.0}
TAKEN_DOWN_DAYS = 120
# An idea's proposals in a district come mostly from one or two placements there (where the people
# who care about it pass): FAVOURITE_BOOST times their kind's weight.
FAVOURITE_BOOST = 8.0
OPERATORS = ("01", "02", "05", "07", "47", "71", "75", "77")
NAMES = tuple(_csv("names.csv")["name"].drop_duplicates())


def qr_placements(p: Plan, frame: pd.DataFrame, qr: np.ndarray, rng: np.random.Generator,
                  ideas: np.ndarray | None = None) -> np.ndarray:
    registry = p.registry
    out = np.full(len(frame), None, dtype=object)
    late = frame["t"].to_numpy() > p.end_s - TAKEN_DOWN_DAYS * 86400
    rows = np.flatnonzero(qr)
    ideas = np.full(len(frame), "", dtype=object) if ideas is None else ideas
    groups, districts = pd.factorize(frame["district"].to_numpy(dtype=object)[rows])
    regions = frame["region"].to_numpy(dtype=object)
    for k, district in enumerate(districts):
        in_district = rows[groups == k]
        region = regions[in_district[0]]
        cands = registry[(registry["district"] == district) | ((registry["district"] == "") & (registry["region"] == region))]
        for idea in sorted(set(ideas[in_district])):
            mine = in_district[ideas[in_district] == idea]
            for live_only in (False, True):
                sel = mine[late[mine] == live_only]
                pool = cands[cands["active"]] if live_only else cands
                if len(sel) and len(pool):
                    w = pool["weight"].to_numpy(float).copy()
                    if idea:  # the idea's favourite one or two placements in the district
                        codes = pool["code"].to_numpy(dtype=object)
                        rank = [zlib.crc32(f"{idea}:{c}".encode()) for c in codes]
                        w[np.argsort(rank)[:1 + zlib.crc32(f"{idea}:{district}".encode()) % 2]] *= FAVOURITE_BOOST
                    out[sel] = rng.choice(pool["code"].to_numpy(dtype=object), size=len(sel), p=w / w.sum())
    return out


def case_fields(p: Plan, frame: pd.DataFrame) -> pd.DataFrame:
    """Priority, department and deadlines (pipeline.sla). The priority is read from the body of
    each distinct (text, category, heating season): the address lines name no emergency word
    (tests/test_demo.py checks), so it is the whole text's."""
    received = pd.Series(pd.to_datetime(frame["t"].to_numpy(), unit="s", utc=True)).astype("datetime64[us, UTC]")
    heating = sla.in_heating_season(received)
    cats = pd.Series(frame["category"].to_numpy(dtype=object))
    cat_code = pd.factorize(cats)[0]
    key = (frame["text_id"].to_numpy() * (cat_code.max() + 1) + cat_code) * 2 + heating
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    sample = pd.DataFrame({"text": p.texts["text"].to_numpy(dtype=object)[frame["text_id"].to_numpy()[first]],
                           "category": cats.to_numpy()[first], "received_at": received.to_numpy()[first]})
    priority = pd.Series(sla.priority_of(sample).to_numpy(dtype=object)[inverse.ravel()])
    feedback_due, due = sla.deadlines(received, cats, priority)
    return pd.DataFrame({"received_at": received, "priority": priority,
                         "department": cats.map(sla.department_of()).fillna("district_akimat"),
                         "feedback_due_at": feedback_due, "due_at": due})


# ---- workflow ------------------------------------------------------------------------------
# Shares of the outcomes, for the median district (slower districts have more late cases).
FEEDBACK_LATE = 0.075  # first feedback after its deadline
RESOLVE_LATE = 0.07    # resolved after the resolution deadline (late by a part of the term, <= MAX_LATE_DAYS)
REJECTED, FORWARDED, REOPENED = 0.015, 0.025, 0.02
CONFIRMED = 0.4        # resolved cases the resident confirmed
MAX_LATE_DAYS = 30     # no late resolution comes later than this after the deadline
NEVER = 3650 * 24.0    # hours after receipt, "after the end": such events are not written
# The events the workflow writes, in the order it writes them: field, old, new. "@at" is the
# event's time, "@old" the time it replaces, "@to" the forwarding comment's department.
EVENT_KINDS = (("status", "new", "feedback_given"), ("feedback_at", None, "@at"),
               ("status", "feedback_given", "rejected"), ("status", "feedback_given", "forwarded"),
               ("forwarded_to", None, "@to"), ("status", "feedback_given", "in_progress"),
               ("status", "in_progress", "resolved"), ("resolved_at", None, "@at"),
               ("status", "resolved", "reopened"), ("resolved_at", "@old", None),
               ("status", "reopened", "in_progress"), ("status", "in_progress", "resolved"),
               ("resolved_at", None, "@at"), ("resident_confirmed_at", None, "@at"))


def hotspot_windows(end: pd.Timestamp) -> pd.DataFrame:
    """The planted backlog hot spots (data/demo/hotspots.csv) as windows ending at `end`."""
    spots = _csv("hotspots.csv")
    spots["start_at"] = [end - pd.Timedelta(days=int(d)) for d in spots["days_before_end"]]
    spots["end_at"] = end
    spots["department"] = spots["category"].map(sla.department_of())
    return spots


def workflow(p: Plan, frame: pd.DataFrame, case: pd.DataFrame, rng: np.random.Generator):
    """Final state and the status events that lead to it, consistent in time.

    Feedback and resolution are drawn against each case's own deadlines: most cases get feedback
    and are resolved within them, a few late (by part of the term, never months). Cases of a
    hot spot received in its window are stuck (never resolved by the end); the forgotten cases are
    the only ones left open for months. Returns the events (row, kind of EVENT_KINDS, time, time
    replaced, comment), the final state (times in epoch seconds, -1 for none) and, per row,
    whether it is stuck in a hot spot."""
    n = len(frame)
    t0 = frame["t"].to_numpy()
    sec = lambda col: _seconds(case[col])  # noqa: E731
    fb_window = np.maximum((sec("feedback_due_at") - t0) / 3600, 0.1)
    res_window = np.maximum((sec("due_at") - t0) / 3600, 1.0)
    never = np.full(n, NEVER)

    slowness = frame["district"].map(p.slowness).to_numpy(float)
    # Feedback: a call back within hours; late ones miss the deadline by hours, at most 3 days.
    natural_fb = rng.lognormal(np.log(2.0 * slowness), 0.9)
    fb_late = rng.random(n) < np.clip(FEEDBACK_LATE * slowness, 0.01, 0.2)
    fb_h = np.where(fb_late, fb_window + np.minimum(72, np.maximum(0.1, np.minimum(fb_window, 24) * rng.exponential(0.6, n))),
                    np.minimum(natural_fb, fb_window * rng.uniform(0.3, 0.97, n)))
    # Resolution: the category's typical time, kept inside the term unless the case is late.
    resolve = _csv("categories.csv").set_index("category")["resolve_days"]
    natural_res = 24 * rng.lognormal(np.log(2.0 * frame["truth"].map(resolve).to_numpy(float)), 0.6)
    res_late = rng.random(n) < np.clip(RESOLVE_LATE * slowness, 0.02, 0.25)
    late_by = np.minimum(MAX_LATE_DAYS * 24, np.minimum(res_window, 30 * 24) * rng.exponential(0.2, n))
    res_h = np.where(res_late, res_window + np.maximum(0.5, late_by),
                     np.minimum(natural_res, res_window * rng.uniform(0.35, 0.98, n)))
    res_h = np.maximum(res_h, fb_h + 1)
    prog_h = fb_h + (res_h - fb_h) * rng.uniform(0.1, 0.5, n)

    u = rng.random(n)
    rejected = u < REJECTED
    forwarded = (u >= REJECTED) & (u < REJECTED + FORWARDED)
    reopens = (u >= REJECTED + FORWARDED) & (u < REJECTED + FORWARDED + REOPENED)
    # Hot spots: cases of the category and district received in the window are not resolved.
    stuck = np.zeros(n, dtype=bool)
    category, district = frame["category"].to_numpy(dtype=object), frame["district"].to_numpy(dtype=object)
    for s in p.hotspots.itertuples():
        stuck |= (category == s.category) & (district == s.district) & (t0 >= _epoch(s.start_at)) \
            & (rng.random(n) < s.stuck_share)
    waiting = stuck & (rng.random(n) < 0.3)  # of them, some never even started
    prog_h = np.where(waiting, never, np.where(stuck, fb_h + rng.uniform(1, 72, n), prog_h))
    res_h = np.where(stuck, never, res_h)
    planted = stuck.copy()
    forgotten = frame["forgotten"].to_numpy()
    forgotten_reopened = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(forgotten >= 0):
        planted[i] = True
        if p.forgotten["status"].iloc[forgotten[i]] == "reopened":
            forgotten_reopened[i] = True
        else:
            res_h[i] = never[i]
    rejected &= ~planted
    forwarded &= ~planted
    reopens = (reopens & ~planted) | forgotten_reopened
    normal = ~rejected & ~forwarded

    at = lambda h: t0 + np.round(h * 3600).astype(np.int64)  # noqa: E731
    fb, prog, res = at(fb_h), at(prog_h), at(res_h)
    reopen = res + np.round(rng.uniform(24, 240, n) * 3600).astype(np.int64)
    progress2 = reopen + np.round(np.where(forgotten_reopened, never, rng.uniform(2, 24, n)) * 3600).astype(np.int64)
    res2 = progress2 + np.round((np.minimum(natural_res * 0.6, 240) + 4) * 3600).astype(np.int64)
    confirm = res + np.round(rng.uniform(12, 120, n) * 3600).astype(np.int64)
    confirms = normal & ~reopens & (rng.random(n) < CONFIRMED)

    kinds = COMMENTS["kind"].to_numpy()
    comment_of = lambda kind: np.flatnonzero(kinds == kind)[rng.integers((kinds == kind).sum(), size=n)]  # noqa: E731
    rej_comment, fwd_comment, reopen_comment = comment_of("rejected"), comment_of("forwarded"), comment_of("reopened")

    ev = []
    state = {"status": np.full(n, "new", dtype=object), "feedback_at": np.full(n, -1), "resolved_at": np.full(n, -1),
             "resident_confirmed_at": np.full(n, -1), "forwarded_to": np.full(n, -1)}

    def add(mask, when, kind, old=None, comment=None):
        mask = mask & (when <= p.end_s)
        rows = np.flatnonzero(mask)
        if len(rows):
            ev.append((rows, np.full(len(rows), kind, dtype=np.int8), when[rows],
                       old[rows] if old is not None else np.full(len(rows), -1),
                       comment[rows] if comment is not None else np.full(len(rows), -1)))
            field, _, new = EVENT_KINDS[kind]  # in time order per case: the last one wins
            state[field][rows] = (when[rows] if new == "@at" else comment[rows] if new == "@to"
                                  else -1 if new is None else new)
        return mask

    everyone = np.ones(n, dtype=bool)
    got_fb = add(everyone, fb, 0)
    add(got_fb, fb, 1)
    rej_at = fb + np.round(rng.uniform(0.5, 6, n) * 3600).astype(np.int64)
    fwd_at = fb + np.round(rng.uniform(1, 24, n) * 3600).astype(np.int64)
    add(rejected & got_fb, rej_at, 2, comment=rej_comment)
    fwd = add(forwarded & got_fb, fwd_at, 3, comment=fwd_comment)
    add(fwd, fwd_at, 4, comment=fwd_comment)
    in_prog = add(normal & got_fb, prog, 5)
    resolved = add(in_prog, res, 6)
    add(resolved, res, 7)
    reopened = add(resolved & reopens, reopen, 8, comment=reopen_comment)
    add(reopened, reopen, 9, old=res, comment=reopen_comment)
    prog2 = add(reopened, progress2, 10)
    res2_done = add(prog2, res2, 11)
    add(res2_done, res2, 12)
    add(confirms & resolved, confirm, 13)
    events_frame = pd.DataFrame({name: np.concatenate([e[i] for e in ev]) if ev else np.zeros(0, np.int64)
                                 for i, name in enumerate(("row", "kind", "at", "old", "comment"))})
    return events_frame, state, stuck


COMMENTS = _csv("comments.csv")


# ---- writing -------------------------------------------------------------------------------
def _times(seconds) -> pd.Series:
    """Epoch seconds (-1: none) as UTC instants (NaT)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    out = seconds.astype("datetime64[s]").astype("datetime64[us]")
    out[seconds < 0] = np.datetime64("NaT")
    return pd.Series(out).dt.tz_localize("UTC")


def _categorical(values) -> pd.Categorical:
    return pd.Categorical(np.asarray(values, dtype=object))


def _lookups(con, p: Plan) -> None:
    """The small tables the chunks' inserts join: texts with their search terms, address lines'
    search terms, places, the event kinds and the comments."""
    import pyarrow as pa

    con.register("_demo_texts_src", pa.table({
        "id": pa.array(np.arange(len(p.texts)), pa.int64()), "body": pa.array(p.texts["text"].tolist(), pa.string()),
        "terms": pa.array([search.encode(t) for t in p.terms], pa.string())}))  # as stored (search.encode)
    con.execute("CREATE OR REPLACE TEMP TABLE _demo_texts AS SELECT * FROM _demo_texts_src")
    con.unregister("_demo_texts_src")
    # The search terms of an address line: its words without the numbers (numbers have no stems),
    # by (style, place, with a flat number): few, so computed once.
    keys, terms = [], []
    for style, (before, after) in enumerate(ADDRESS_STYLES):
        for place, name in enumerate(p.places["text"]):
            for flat in (0, 1):
                line = f"{before}{name}, 1{', кв. 1' if flat else ''}{after}"
                keys.append((style * len(p.places) + place) * 2 + flat)
                terms.append([search.token(t) for t in search.doc_terms(re.sub(r"\d+", "", line))])
    con.register("_demo_suffix_src", pa.table({"key": pa.array(keys, pa.int64()),
                                               "tokens": pa.array(terms, pa.list_(pa.string()))}))
    con.execute("CREATE OR REPLACE TEMP TABLE _demo_suffix AS SELECT * FROM _demo_suffix_src")
    con.unregister("_demo_suffix_src")
    places = pd.DataFrame({"id": np.arange(len(p.places)), "name": p.places["text"].to_numpy(dtype=object)})
    kinds = pd.DataFrame(EVENT_KINDS, columns=["field", "old", "new"]).assign(kind=np.arange(len(EVENT_KINDS)))
    comments = COMMENTS.assign(id=np.arange(len(COMMENTS)))[["id", "text", "forwarded_to"]]
    for name, frame in (("places", places), ("event_kinds", kinds), ("comments", comments)):
        con.register(f"_demo_{name}_src", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _demo_{name} AS SELECT * FROM _demo_{name}_src")
        con.unregister(f"_demo_{name}_src")


ADDRESS_STYLES = ((" Адрес: ", ""), (" (", ")"), (" Мекенжайы: ", ""))  # how a text ends with its address
_ISO = "'%Y-%m-%dT%H:%M:%SZ'"
_CREATED = {"status": "'new'", "feedback_at": "NULL::TIMESTAMPTZ", "resolved_at": "NULL::TIMESTAMPTZ",
            "resident_confirmed_at": "NULL::TIMESTAMPTZ", "forwarded_to": "NULL::VARCHAR"}


def write_chunk(con, p: Plan, frame: pd.DataFrame, case: pd.DataFrame, ev: pd.DataFrame, state: dict,
                first_row: int) -> np.ndarray:
    """Insert a chunk's submissions (texts, addresses, contacts and search terms put together
    here), their demo truth, 'created' events with the initial state and the workflow events.
    Returns the submissions' ids (in time order, from the table's sequence)."""
    n = len(frame)
    ids = np.sort(con.execute("SELECT nextval('submissions_id_seq') AS id FROM range(?)", [n]).fetchnumpy()["id"])
    fwd_to = COMMENTS["forwarded_to"].to_numpy(dtype=object)
    forwarded = np.where(state["forwarded_to"] >= 0, fwd_to[np.maximum(state["forwarded_to"], 0)], None)
    rows = pd.DataFrame({
        "id": ids, "no": np.arange(first_row, first_row + n), "source": _categorical(frame["source"]),
        "received_at": case["received_at"], "text_id": frame["text_id"].to_numpy(), "suffix": frame["suffix"].to_numpy(),
        "street": frame["street"].to_numpy(), "house": frame["house"].to_numpy(), "flat": frame["flat"].to_numpy(),
        "style": frame["style"].to_numpy(), "has_contact": frame["has_contact"].to_numpy(),
        "operator": pd.Categorical.from_codes(frame["operator"].to_numpy(), OPERATORS),
        "a": frame["a"].to_numpy(), "b": frame["b"].to_numpy(), "c": frame["c"].to_numpy(),
        "name": pd.Categorical.from_codes(frame["name"].to_numpy(), NAMES),
        "language": _categorical(frame["language"]), "region": _categorical(frame["region"]),
        "district": _categorical(frame["district"]), "lat": frame["lat"].to_numpy(), "lon": frame["lon"].to_numpy(),
        "placement": _categorical(frame["placement"]), "category": _categorical(frame["category"]),
        "category_confidence": frame["category_confidence"].to_numpy(),
        "category_source": _categorical(frame["category_source"]), "priority": _categorical(case["priority"]),
        "status": _categorical(state["status"]), "department": _categorical(case["department"]),
        "feedback_due_at": case["feedback_due_at"], "feedback_at": _times(state["feedback_at"]),
        "due_at": case["due_at"], "resolved_at": _times(state["resolved_at"]),
        "resident_confirmed_at": _times(state["resident_confirmed_at"]), "forwarded_to": _categorical(forwarded),
        "truth": _categorical(frame["truth"])})
    con.register("_demo_chunk", rows)
    con.execute(f"""
        INSERT INTO submissions (id, source, source_id, received_at, text, language, region, district, address, lat,
                                 lon, placement, contact, category, category_confidence, category_source, priority,
                                 status, department, feedback_due_at, feedback_at, due_at, resolved_at,
                                 resident_confirmed_at, forwarded_to, search_terms)
        WITH c AS (
            SELECT c.*, CASE WHEN c.source::VARCHAR <> 'qr' THEN pl.name || ', ' || c.house
                        || CASE WHEN c.flat > 0 THEN ', кв. ' || c.flat ELSE '' END END AS address
            FROM _demo_chunk c JOIN _demo_places pl ON pl.id = c.street)
        SELECT c.id, c.source::VARCHAR, 'demo-' || lpad(c.no::VARCHAR, 8, '0'), c.received_at,
               t.body || CASE c.style {" ".join(f"WHEN {i} THEN '{a}' || c.address || '{b}'" for i, (a, b) in enumerate(ADDRESS_STYLES))}
                         ELSE '' END,
               c.language::VARCHAR, c.region::VARCHAR, c.district::VARCHAR, c.address, c.lat, c.lon,
               c.placement::VARCHAR,
               CASE WHEN c.has_contact THEN '+7 7' || c.operator::VARCHAR || ' ' || c.a || ' ' || c.b || ' ' || c.c
                    || '; ' || c.name::VARCHAR END,
               c.category::VARCHAR, c.category_confidence, c.category_source::VARCHAR, c.priority::VARCHAR,
               c.status::VARCHAR, c.department::VARCHAR, c.feedback_due_at, c.feedback_at, c.due_at, c.resolved_at,
               c.resident_confirmed_at, c.forwarded_to::VARCHAR,
               t.terms || coalesce(array_to_string(list_filter(x.tokens, lambda k: NOT contains(t.terms, k)), ''), '')
        FROM c JOIN _demo_texts t ON t.id = c.text_id LEFT JOIN _demo_suffix x ON x.key = c.suffix
        ORDER BY c.id""")
    con.execute("INSERT INTO demo_truth SELECT id, truth::VARCHAR FROM _demo_chunk ORDER BY id")
    con.unregister("_demo_chunk")
    snapshot = ", ".join(f"'{f}', {_CREATED.get(f, f)}" for f in events.STATE_FIELDS)
    con.execute(f"""
        INSERT INTO events (submission_id, happened_at, actor, field, old, new, comment)
        SELECT id, received_at, 'demo', 'created', NULL, to_json(json_object({snapshot}))::VARCHAR, NULL
        FROM submissions WHERE id BETWEEN ? AND ? ORDER BY id""", [int(ids[0]), int(ids[-1])])
    con.register("_demo_ev", pd.DataFrame({
        "pos": np.arange(len(ev)), "submission_id": ids[ev["row"].to_numpy()], "kind": ev["kind"].to_numpy(),
        "happened_at": _times(ev["at"]), "old_at": _times(ev["old"]), "comment": ev["comment"].to_numpy()}))
    con.execute(f"""
        INSERT INTO events (submission_id, happened_at, actor, field, old, new, comment)
        SELECT e.submission_id, e.happened_at, 'demo', k.field,
               CASE WHEN k.old = '@old' THEN strftime(e.old_at AT TIME ZONE 'UTC', {_ISO}) ELSE k.old END,
               CASE k.new WHEN '@at' THEN strftime(e.happened_at AT TIME ZONE 'UTC', {_ISO})
                          WHEN '@to' THEN c.forwarded_to ELSE k.new END,
               c.text
        FROM _demo_ev e JOIN _demo_event_kinds k ON k.kind = e.kind LEFT JOIN _demo_comments c ON c.id = e.comment
        ORDER BY e.pos""")
    con.unregister("_demo_ev")
    return ids


def _normal_end(end) -> pd.Timestamp:
    end = pd.Timestamp(end if end is not None else pd.Timestamp.now(tz="UTC"))
    return (end.tz_localize(settings.get("TZ")) if end.tzinfo is None else end).tz_convert("UTC").floor("s")


def build_demo(con, rows: int, seed: int, end=None, chunk_rows: int = CHUNK_ROWS, progress=None) -> dict:
    """Replace the store's data by a demo of about `rows` submissions ending at `end` (default now),
    written chunk by chunk. `progress(done_rows, rows)` is told after each chunk."""
    if store.db_file(con) is None:  # an in-memory store holds everything in memory anyway
        return _build(con, rows, seed, end, chunk_rows, progress)
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    default = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute(f"SET memory_limit = '{BUILD_MEMORY}'")
    try:
        return _build(con, rows, seed, end, chunk_rows, progress)
    finally:  # the setting reads rounded ("18.7 GiB"): the default is put back exactly by RESET
        con.execute("RESET memory_limit" if limit == default else f"SET memory_limit = '{limit}'")


def _build(con, rows: int, seed: int, end, chunk_rows: int, progress) -> dict:
    started = time.perf_counter()
    end = _normal_end(end)
    p = plan(rows, seed, end, chunk_rows)
    t_plan = time.perf_counter()
    from pipeline import ideas  # proposals into ideas, complaints into incidents

    spent = {"draw": 0.0, "compose": 0.0, "workflow": 0.0, "write": 0.0, "incidents": 0.0}
    written = n_events = n_incidents = 0
    stuck_cases = np.zeros(len(p.hotspots), dtype=np.int64)
    forgotten = []
    # One chunk (the app's first start): one transaction, all or nothing. More: a transaction per
    # chunk, so that DuckDB holds no more than a chunk of uncommitted rows and their index entries;
    # the store says it holds a demo from the first commit on, so an interrupted build is rebuilt
    # by running `demo` again.
    with store.transaction(con) if len(p.counts) == 1 else contextlib.nullcontext():
        with store.transaction(con):
            for table in ("events", "quarantine", "ingest_runs", "demo_truth", "demo_surges", "demo_hotspots",
                          "demo_forgotten", "idea_members", "idea_decisions", "idea_actions", "ideas", "submissions"):
                con.execute(f"DELETE FROM {table}")
            for key, value in {"dataset": "demo", "demo_seed": str(seed), "demo_end": end.isoformat()}.items():
                store.set_meta(con, key, value)
            _lookups(con, p)
        for k in range(len(p.counts)):
            rng = np.random.default_rng([seed, 3, k])
            t = time.perf_counter()
            frame = draw(p, k, rng)
            if frame.empty:
                continue
            t1 = time.perf_counter()
            frame = compose(p, frame, rng)
            case = case_fields(p, frame)
            t2 = time.perf_counter()
            ev, state, stuck = workflow(p, frame, case, rng)
            t3 = time.perf_counter()
            with store.transaction(con):
                ids = write_chunk(con, p, frame, case, ev, state, written)
                t4 = time.perf_counter()
                # incremental, as the app does for new rows: this chunk's complaints join the
                # incidents of the chunk before where they continue them
                n_incidents += ideas.update_incidents(con, since_id=None if not written else int(ids[0]) - 1)["incidents"]
            t5 = time.perf_counter()
            for i, h in enumerate(p.hotspots.itertuples()):
                stuck_cases[i] += int((stuck & (frame["category"] == h.category).to_numpy()
                                       & (frame["district"] == h.district).to_numpy()).sum())
            mine = np.flatnonzero(frame["forgotten"].to_numpy() >= 0)
            forgotten.extend((int(ids[i]), frame["category"].iloc[i], frame["district"].iloc[i],
                              case["received_at"].iloc[i], int(frame["forgotten"].iloc[i])) for i in mine)
            written += len(frame)
            n_events += len(ev)
            for key, a, b in (("draw", t, t1), ("compose", t1, t2), ("workflow", t2, t3), ("write", t3, t4),
                              ("incidents", t4, t5)):
                spent[key] += b - a
            del frame, case, ev, state, stuck
            if progress:
                progress(written, rows)
        with store.transaction(con):
            for name in ("texts", "suffix", "places", "event_kinds", "comments"):
                con.execute(f"DROP TABLE IF EXISTS _demo_{name}")
            con.register("_surges", p.surges[["category", "district", "start_at", "end_at", "extra_count", "story"]])
            con.execute("INSERT INTO demo_surges SELECT * FROM _surges")
            con.unregister("_surges")
            spots = p.hotspots.assign(stuck_cases=stuck_cases)
            con.register("_spots", spots[["category", "district", "department", "start_at", "end_at", "stuck_cases", "story"]])
            con.execute("INSERT INTO demo_hotspots SELECT * FROM _spots")
            con.unregister("_spots")
            lost = pd.DataFrame(forgotten, columns=["submission_id", "category", "district", "received_at", "row"])
            lost["status"] = p.forgotten["status"].to_numpy()[lost["row"].to_numpy(int)]
            lost["story"] = p.forgotten["story"].to_numpy()[lost["row"].to_numpy(int)]
            con.register("_forgotten", lost[["submission_id", "category", "district", "received_at", "status", "story"]])
            con.execute("INSERT INTO demo_forgotten SELECT * FROM _forgotten")
            con.unregister("_forgotten")
            placements.load_demo(con)
            rollup.rebuild(con)
            textsearch.sign(con)
    if store.db_file(con) is not None:  # the public form's copy, next to a store on disk
        placements.publish(con)
    t_write = time.perf_counter()
    grouped = ideas.regroup(con)
    store.set_meta(con, "ideas_upto", str(con.execute("SELECT max(id) FROM submissions").fetchall()[0][0] or 0))
    done = time.perf_counter()
    return {"rows": written, "chunks": len(p.counts), "ideas": grouped["ideas"], "incidents": n_incidents,
            "events": n_events, "surges": len(p.surges), "hotspots": len(p.hotspots), "forgotten": len(lost),
            "seconds": round(done - started, 1), "plan_s": round(t_plan - started, 1),
            **{f"{k}_s": round(v, 1) for k, v in spent.items()}, "ideas_s": round(done - t_write, 1)}


# ---- CLI -------------------------------------------------------------------------------------
def _whole(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None


def _positive_int(value: str) -> int:
    number = _whole(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} rows: a demo needs at least 1 row")
    if number > MAX_ROWS:  # 10,000,000 took 16 minutes here; a typo of a few zeros ran for days
        raise argparse.ArgumentTypeError(f"{number:,} rows: at most {MAX_ROWS:,} (10,000,000 take about 16 "
                                         f"minutes on two cores)")
    return number


MAX_ROWS = 100_000_000


def _seed(value: str) -> int:
    number = _whole(value)
    if not 0 <= number < 2**32:
        raise argparse.ArgumentTypeError(f"{number}: a seed is a whole number from 0 to {2**32 - 1}")
    return number


def arguments_demo(parser) -> None:
    parser.add_argument("--rows", type=_positive_int, default=settings.get_int("DEMO_ROWS"),
                        help="submissions to create (at least 1)")
    parser.add_argument("--seed", type=_seed, default=settings.get_int("DEMO_SEED"),
                        help="the same seed makes the same rows (0 to 4294967295)")
    parser.add_argument("--end", help="last day of the history, YYYY-MM-DD (default: now)")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")


def run_demo(args) -> int:
    from pipeline import calendar

    try:
        end = pd.Timestamp(args.end + " 23:59:59") if args.end else None
    except ValueError:
        print(f"error: --end {args.end!r} is not a date; use YYYY-MM-DD", file=sys.stderr)
        return 2
    if end is not None and not calendar.FIRST_YEAR + 2 <= end.year <= calendar.LAST_YEAR:
        print(f"error: --end {args.end}: the demo's two years must lie in the working calendar "
              f"{calendar.FIRST_YEAR}-{calendar.LAST_YEAR}", file=sys.stderr)
        return 2
    db = settings.db_path(args.db)
    con = store.connect_writer_or_explain(db, "stop the app first")
    if con is None:
        return 1
    if store.submission_count(con) and store.get_meta(con, "dataset") != "demo":
        print(f"error: {db} holds real (non-demo) submissions; refusing to overwrite them", file=sys.stderr)
        con.close()
        return 1
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:  # one line per chunk on stderr, when there are several
        if total > CHUNK_ROWS:
            print(f"demo: {done:,} of {total:,} rows, {done / (time.perf_counter() - started):,.0f} rows/s",
                  file=sys.stderr, flush=True)

    stats = build_demo(con, rows=args.rows, seed=args.seed, end=end, progress=progress)
    con.close()
    print(json.dumps(stats) if False else " ".join(f"{k}={v}" for k, v in stats.items()) + f" db={db}")
    return 0
