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
import json
import sys
import time
import zlib

import holidays
import numpy as np
import pandas as pd

from pipeline import classify, events, rollup, placements, reference, search, settings, sla, store

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


def proposals_for(rng: np.random.Generator, regions: np.ndarray, langs: np.ndarray,
                  districts: np.ndarray | None = None) -> pd.DataFrame:
    """A proposal (idea, category, text) for each row of a region and language: ideas by their
    popularity in the region and, given the rows' districts, by their home districts
    (`home_districts`: an idea comes mostly from one to three districts); a text among the idea's
    variants in that language."""
    pool = proposal_pool(rng)
    homes = home_districts(rng.spawn(1)[0], pool) if districts is not None else {}
    out = pd.DataFrame({"idea": pd.Series([None] * len(regions), dtype=object),
                        "category": pd.Series([None] * len(regions), dtype=object),
                        "text": pd.Series([None] * len(regions), dtype=object)})
    for region in np.unique(regions):
        ideas = pool[pool["region"] == region].drop_duplicates("idea")
        rows = np.flatnonzero(regions == region)
        names = ideas["idea"].to_numpy(dtype=object)
        p = ideas["weight"].to_numpy(float)
        u = rng.random(len(rows))  # one draw a row, as rng.choice takes
        picked = np.empty(len(rows), dtype=np.int64)
        for district in ([None] if districts is None else np.unique(districts[rows].astype(str))):
            mine = np.arange(len(rows)) if district is None else np.flatnonzero(districts[rows].astype(str) == district)
            w = p if district is None else p * np.array([homes.get((i, district), AWAY_WEIGHT) for i in names])
            cdf = np.cumsum(w / w.sum())
            picked[mine] = np.minimum(cdf.searchsorted(u[mine], side="right"), len(names) - 1)
        chosen = names[picked]
        for lang in LANGS:
            for idea in np.unique(chosen):
                sel = rows[(chosen == idea) & (langs[rows] == lang)]
                if not len(sel):
                    continue
                variants = pool[(pool["idea"] == idea) & (pool["lang"] == lang)]
                pick = rng.integers(len(variants), size=len(sel))
                out.loc[sel, "idea"] = idea
                out.loc[sel, "category"] = variants["category"].iloc[0]
                out.loc[sel, "text"] = variants["text"].to_numpy(dtype=object)[pick]
    return out


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


# ---- build -----------------------------------------------------------------------------------
def generate(rows: int, seed: int, end: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    d = reference.districts()
    cats = _csv("categories.csv")
    codes = cats["category"].to_numpy()
    grid = hour_grid(end)
    per_capita = np.where(d["kind"] == "city_district", 1.3, 0.8)
    dist_p = (d["population"] * per_capita).to_numpy(float)
    dist_p = dist_p / dist_p.sum()
    season = cats[[f"m{m}" for m in range(1, 13)]].to_numpy(float) * cats["share"].to_numpy(float)[:, None]
    season_p = season / season.sum(axis=0)  # [category, month]

    surges = _surge_windows(end)
    # Expected count of a (category, district) in a window, to size each surge's extra volume.
    base_rows = int(rows * 0.997)
    extra = []
    for s in surges.itertuples():
        in_window = (grid["start"] >= s.start_at) & (grid["start"] < s.end_at)
        cat_i = int(np.flatnonzero(codes == s.category)[0])
        dist_i = int(np.flatnonzero(d["code"].to_numpy() == s.district)[0])
        expected = base_rows * (grid.loc[in_window, "weight"] * season_p[cat_i, grid.loc[in_window, "month"] - 1]).sum() * dist_p[dist_i]
        extra.append(max(MIN_SURGE, int(round(expected * (s.multiplier - 1)))))
    surges["extra_count"] = extra
    base_rows = rows - int(sum(extra))

    hour_idx = rng.choice(len(grid), size=base_rows, p=grid["weight"].to_numpy())
    month = grid["month"].to_numpy()[hour_idx]
    category = np.empty(base_rows, dtype=object)
    for m in range(1, 13):
        sel = np.flatnonzero(month == m)
        category[sel] = rng.choice(codes, size=len(sel), p=season_p[:, m - 1])
    district = rng.choice(d["code"].to_numpy(), size=base_rows, p=dist_p)
    received = grid["start"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()[hour_idx] + rng.integers(0, 3600, base_rows).astype("timedelta64[s]")
    frame = pd.DataFrame({"received_at": received, "truth": category, "district": district})
    for s in surges.itertuples():  # surge rows spread evenly over their window
        span = (s.end_at - s.start_at).total_seconds()
        offs = np.sort(rng.uniform(0, span, s.extra_count)).astype("int64").astype("timedelta64[s]")
        frame = pd.concat([frame, pd.DataFrame({
            "received_at": s.start_at.tz_convert("UTC").tz_localize(None).to_datetime64() + offs,
            "truth": s.category, "district": s.district, "planted": True})], ignore_index=True)
    frame["planted"] = frame["planted"].eq(True) if "planted" in frame else False
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    if frame["received_at"].dt.tz is None:
        frame["received_at"] = frame["received_at"].dt.tz_localize("UTC")
    frame["received_at"] = frame["received_at"].dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    frame = frame[frame["received_at"] <= end].sort_values("received_at", kind="stable").reset_index(drop=True)
    frame["region"] = frame["district"].map(dict(zip(d["code"], d["region"])))
    return frame, surges


def compose(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(frame)
    pool = message_pool(rng)
    labels = classify.classify_texts(pool["body"].tolist())  # distinct bodies: the costly part, once
    pool = pd.concat([pool, labels.rename(columns={"language": "lang_detected"})], axis=1)
    key = pool["truth"] + "|" + pool["language_gen"]
    starts = key.drop_duplicates().reset_index().set_index(key.drop_duplicates())["index"]
    sizes = key.value_counts()

    lang = np.empty(n, dtype=object)
    for region, p in LANG_SHARES.items():
        sel = np.flatnonzero(frame["region"].to_numpy() == region)
        lang[sel] = rng.choice(LANGS, size=len(sel), p=p)
    row_key = frame["truth"].to_numpy(dtype=object) + "|" + lang
    offset = pd.Series(row_key).map(starts).to_numpy()
    size = pd.Series(row_key).map(sizes).to_numpy()
    pick = (offset + (rng.random(n) * size).astype(int)).astype(int)
    if "planted" in frame:  # a planted surge's reports share one wording (per language) that reads as its category
        right = pool.index[pool["category"] == pool["truth"]].to_series().groupby(key[pool["category"] == pool["truth"]]).first()
        planted = np.flatnonzero(frame["planted"].to_numpy(bool))
        fixed = pd.Series(row_key[planted]).map(right).to_numpy()
        pick[planted] = np.where(pd.isna(fixed), pick[planted], fixed).astype(int)
    chosen = pool.iloc[pick].reset_index(drop=True)

    places = _csv("places.csv")
    d = reference.districts().set_index("code")
    rural = frame["district"].map(d["kind"]).to_numpy() == "district"
    street = np.empty(n, dtype=object)
    for region in ("aktobe", "shymkent"):
        names = places[(places.region == region) & (places.kind == "street")]["text"].to_numpy()
        sel = np.flatnonzero((frame["region"].to_numpy() == region) & ~rural)
        street[sel] = rng.choice(names, size=len(sel))
    villages = places[places.kind == "village"]["text"].to_numpy()
    street[rural] = rng.choice(villages, size=int(rural.sum()))
    if "planted" in frame:  # a planted surge is one event: its reports name one street (or village)
        planted = frame["planted"].to_numpy(bool)
        for (cat, dist), rows in frame[planted].groupby(["truth", "district"]).groups.items():
            region = d.loc[dist, "region"]
            pool = (places[places.kind == "village"] if d.loc[dist, "kind"] == "district" else
                    places[(places.region == region) & (places.kind == "street")])["text"].to_numpy()
            street[np.asarray(rows)] = pool[zlib.crc32(f"{cat}:{dist}".encode()) % len(pool)]
    house = rng.integers(1, 180, n).astype(str)
    address = pd.Series(street) + ", " + pd.Series(house)
    flat = rng.random(n) < 0.15
    address = address.where(~flat, address + ", кв. " + pd.Series(rng.integers(1, 120, n).astype(str)))
    style = rng.random(n)
    if "planted" in frame:  # and say where it is
        style = np.where(frame["planted"].to_numpy(bool) & (style >= 0.65), style * 0.5, style)
    suffix = np.where(style < 0.35, " Адрес: " + address, np.where(style < 0.55, " (" + address + ")",
                      np.where(style < 0.65, " Мекенжайы: " + address, "")))
    source = rng.choice(SOURCES, size=n, p=SOURCE_P)
    if "planted" in frame:  # a planted surge is complaints about one event, never proposals
        source = np.where(frame["planted"].to_numpy(bool) & (source == "qr"), "hotline_109", source)
    names = _csv("names.csv")["name"].to_numpy()
    phone = "+7 7" + pd.Series(rng.choice(["01", "02", "05", "07", "47", "71", "75", "77"], n)) + " " + \
        pd.Series(rng.integers(100, 999, n).astype(str)) + " " + pd.Series(rng.integers(10, 99, n).astype(str)) + \
        " " + pd.Series(rng.integers(10, 99, n).astype(str))
    contact = (phone + "; " + pd.Series(rng.choice(names, n))).where(
        (source == "hotline_109") | (rng.random(n) < 0.3), None)
    geo = (source != "hotline_109") & (rng.random(n) < 0.6)
    jitter = np.where(rural, 0.25, 0.025)
    lat = np.where(geo, frame["district"].map(d["lat"]).to_numpy(float) + rng.normal(0, 1, n) * jitter, np.nan)
    lon = np.where(geo, frame["district"].map(d["lon"]).to_numpy(float) + rng.normal(0, 1, n) * jitter * 1.5, np.nan)
    placement_rng = rng.spawn(1)[0]  # placements are drawn once the proposals' ideas are known
    # the draws placements took before the registry, so that everything after them stays as it was
    rng.integers(1, 400, n), rng.integers(1, 60, n), rng.random(n)
    # Search terms of body and address apart: few distinct bodies, and addresses differ mostly in
    # numbers, which have no stems (a tenth of the time of keying 150,000 whole texts).
    # QR rows are residents' proposals: their own texts (no address line), the proposal's topic as
    # the category (the form asks for it), the wording's language.
    qr = np.flatnonzero(source == "qr")
    bodies = chosen["body"].to_numpy(dtype=object)
    language = chosen["lang_detected"].to_numpy(dtype=object).copy()
    category = chosen["category"].to_numpy(dtype=object).copy()
    confidence = chosen["confidence"].to_numpy(float).copy()
    category_source = np.full(n, "model", dtype=object)
    truth = frame["truth"].to_numpy(dtype=object).copy()
    idea = np.full(n, None, dtype=object)
    if len(qr):
        prop = proposals_for(rng, frame["region"].to_numpy(dtype=object)[qr], lang[qr],
                             frame["district"].to_numpy(dtype=object)[qr])
        idea[qr] = prop["idea"].to_numpy(dtype=object)
        bodies = bodies.copy()
        bodies[qr] = prop["text"].to_numpy(dtype=object)
        language[qr] = lang[qr]
        category[qr] = truth[qr] = prop["category"].to_numpy(dtype=object)
        confidence[qr] = 1.0
        category_source[qr] = "topic"
        suffix = suffix.astype(object)
        suffix[qr] = ""
        address = address.where(source != "qr", None)
    placement = qr_placements(frame, source == "qr", placement_rng, idea)
    body_terms = {b: search.doc_terms(b) for b in set(bodies)}
    bare = pd.Series(suffix).str.replace(r"\d+", "", regex=True).to_numpy(dtype=object)
    suffix_terms = {a: search.doc_terms(a) for a in set(bare)}
    terms = [sorted(set(body_terms[b]).union(suffix_terms[a])) for b, a in zip(bodies, bare)]
    return frame.assign(
        source=source, source_id=[f"demo-{i:08d}" for i in range(n)], search_terms=terms, truth=truth,
        text=bodies + suffix, language=language,
        category=category, category_confidence=confidence,
        category_source=category_source, address=address.to_numpy(dtype=object), contact=contact.to_numpy(dtype=object),
        lat=lat, lon=lon, placement=placement, status="new",
    )


# The demo's QR proposals come through the registry's placements (data/placements.csv): one in the
# submission's district, or a bus route of its region; bus stops and routes carry most. Placements
# the registry lists as taken down (inactive) produced proposals only until TAKEN_DOWN_DAYS before the end.
# An idea's proposals in a district come mostly from one or two placements there (where the people
# who care about it pass): FAVOURITE_BOOST times their kind's weight.
FAVOURITE_BOOST = 8.0
KIND_WEIGHT = {"bus_stop": 3.0, "bus_route": 3.0, "akimat_office": 1.5, "school": 1.0, "clinic": 1.0, "park": 1.0,
               "other": 1.0}
TAKEN_DOWN_DAYS = 120


def qr_placements(frame: pd.DataFrame, qr: np.ndarray, rng: np.random.Generator,
                  ideas: np.ndarray | None = None) -> np.ndarray:
    registry = _csv("../placements.csv")  # checked as a whole by load_demo and tests/test_placements.py
    registry["active"] = registry["active"].astype(str).str.lower().isin(placements.TRUE)
    registry["weight"] = registry["kind"].map(KIND_WEIGHT).fillna(1.0)
    out = np.full(len(frame), None, dtype=object)
    received = frame["received_at"]
    late = (received > received.max() - pd.Timedelta(days=TAKEN_DOWN_DAYS)).to_numpy(bool)
    rows = np.flatnonzero(qr)
    ideas = np.full(len(frame), "", dtype=object) if ideas is None else np.where(pd.isna(ideas), "", ideas)
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


# ---- workflow ------------------------------------------------------------------------------
# Shares of the outcomes, for the median district (slower districts have more late cases).
FEEDBACK_LATE = 0.075  # first feedback after its deadline
RESOLVE_LATE = 0.07    # resolved after the resolution deadline (late by a part of the term, <= MAX_LATE_DAYS)
REJECTED, FORWARDED, REOPENED = 0.015, 0.025, 0.02
CONFIRMED = 0.4        # resolved cases the resident confirmed
MAX_LATE_DAYS = 30     # no late resolution comes later than this after the deadline
NEVER = pd.Timedelta(days=3650)  # "after the end": such events are not written


def hotspot_windows(end: pd.Timestamp) -> pd.DataFrame:
    """The planted backlog hot spots (data/demo/hotspots.csv) as windows ending at `end`."""
    spots = _csv("hotspots.csv")
    spots["start_at"] = [end - pd.Timedelta(days=int(d)) for d in spots["days_before_end"]]
    spots["end_at"] = end
    spots["department"] = spots["category"].map(sla.department_of())
    return spots


def forgotten_cases(frame: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """The planted forgotten cases (data/demo/forgotten.csv): for each line, the case of that
    category and district received nearest to `days_before_end` before the end."""
    out = []
    taken: set[int] = set()
    for f in _csv("forgotten.csv").itertuples():
        target = end - pd.Timedelta(days=int(f.days_before_end))
        pool = frame[(frame["category"] == f.category) & (frame["district"] == f.district)]
        if pool.empty:
            pool = frame[frame["district"] == f.district]
        pool = pool[~pool.index.isin(taken) & (pool["received_at"] < end - pd.Timedelta(days=91))]
        if pool.empty:
            continue
        i = int((pool["received_at"] - target).abs().idxmin())
        taken.add(i)
        out.append((i, f.status, f.story))
    return pd.DataFrame(out, columns=["row", "status", "story"])


def workflow(frame: pd.DataFrame, rng: np.random.Generator, end: pd.Timestamp,
             hotspots: pd.DataFrame, forgotten: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Final state and the status events that lead to it, consistent in time.

    Feedback and resolution are drawn against each case's own deadlines: most cases get feedback
    and are resolved within them, a few late (by part of the term, never months). Cases of a
    hot spot received in its window are stuck (never resolved by the end); the forgotten cases are
    the only ones left open for months. Returns the events, the final state and, per row, whether
    it is stuck in a hot spot."""
    n = len(frame)
    ids = frame["id"].to_numpy()
    t0 = frame["received_at"]
    hours = lambda a, b: ((b - a) / pd.Timedelta(hours=1)).to_numpy(float)  # noqa: E731
    H = lambda h: pd.to_timedelta(np.round(h * 3600), unit="s")  # noqa: E731
    fb_window = np.maximum(hours(t0, frame["feedback_due_at"]), 0.1)
    res_window = np.maximum(hours(t0, frame["due_at"]), 1.0)
    never = np.full(n, NEVER / pd.Timedelta(hours=1))  # from receipt: past the end of any history

    district_codes = reference.districts()["code"].to_numpy()
    slowness = frame["district"].map(dict(zip(district_codes, rng.lognormal(0.0, 0.35, len(district_codes))))).to_numpy(float)
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
    for s in hotspots.itertuples():
        stuck |= ((frame["category"] == s.category) & (frame["district"] == s.district)
                  & (t0 >= s.start_at)).to_numpy() & (rng.random(n) < s.stuck_share)
    waiting = stuck & (rng.random(n) < 0.3)  # of them, some never even started
    prog_h = np.where(waiting, never, np.where(stuck, fb_h + rng.uniform(1, 72, n), prog_h))
    res_h = np.where(stuck, never, res_h)
    planted = stuck.copy()
    forgotten_reopened = np.zeros(n, dtype=bool)
    for f in forgotten.itertuples():
        planted[f.row] = True
        if f.status == "reopened":
            forgotten_reopened[f.row] = True
        else:
            res_h[f.row] = never[f.row]
    rejected &= ~planted
    forwarded &= ~planted
    reopens = (reopens & ~planted) | forgotten_reopened
    normal = ~rejected & ~forwarded

    fb = t0 + H(fb_h)
    prog = t0 + H(prog_h)
    res = t0 + H(res_h)
    reopen = res + H(rng.uniform(24, 240, n))
    progress2 = reopen + H(np.where(forgotten_reopened, never, rng.uniform(2, 24, n)))
    res2 = progress2 + H(np.minimum(natural_res * 0.6, 240) + 4)
    confirm = res + H(rng.uniform(12, 120, n))
    confirms = normal & ~reopens & (rng.random(n) < CONFIRMED)

    comments = _csv("comments.csv")
    def comment_of(kind):
        pool = comments[comments["kind"] == kind].reset_index(drop=True)
        pick = rng.integers(len(pool), size=n)
        return pool["text"].to_numpy(dtype=object)[pick], pool["forwarded_to"].to_numpy(dtype=object)[pick]
    rej_comment, _ = comment_of("rejected")
    fwd_comment, fwd_to = comment_of("forwarded")
    reopen_comment, _ = comment_of("reopened")

    ev = []

    def add(mask, at, field, old, new, comment=None):
        mask = mask & (at <= end).to_numpy()
        if mask.any():
            def val(v):
                if isinstance(v, pd.Series):
                    v = v[mask]
                    if hasattr(v, "dt"):  # numpy's formatter is C, strftime is Python per value
                        utc = v.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
                        return np.char.add(np.datetime_as_string(utc), "Z").astype(object)
                    return v.to_numpy()
                return v[mask] if isinstance(v, np.ndarray) else v
            ev.append(pd.DataFrame({"submission_id": ids[mask], "happened_at": at[mask].reset_index(drop=True),
                                    "field": field, "old": val(old), "new": val(new), "comment": val(comment)}))
        return mask

    all_ = np.ones(n, dtype=bool)
    got_fb = add(all_, fb, "status", "new", "feedback_given")
    add(got_fb, fb, "feedback_at", None, fb)
    rej_at, fwd_at = fb + H(rng.uniform(0.5, 6, n)), fb + H(rng.uniform(1, 24, n))
    add(rejected & got_fb, rej_at, "status", "feedback_given", "rejected", rej_comment)
    fwd = add(forwarded & got_fb, fwd_at, "status", "feedback_given", "forwarded", fwd_comment)
    add(fwd, fwd_at, "forwarded_to", None, fwd_to, fwd_comment)
    in_prog = add(normal & got_fb, prog, "status", "feedback_given", "in_progress")
    resolved = add(in_prog, res, "status", "in_progress", "resolved")
    add(resolved, res, "resolved_at", None, res)
    reopened = add(resolved & reopens, reopen, "status", "resolved", "reopened", reopen_comment)
    add(reopened, reopen, "resolved_at", res, None, reopen_comment)
    prog2 = add(reopened, progress2, "status", "reopened", "in_progress")
    res2_done = add(prog2, res2, "status", "in_progress", "resolved")
    add(res2_done, res2, "resolved_at", None, res2)
    add(confirms & resolved, confirm, "resident_confirmed_at", None, confirm)

    events_frame = pd.concat(ev, ignore_index=True)
    events_frame["actor"] = "demo"
    final = events_frame.sort_values(["submission_id", "happened_at"], kind="stable")
    # The last event of each field wins, a cleared value (None) included.
    last = final.drop_duplicates(["submission_id", "field"], keep="last")
    state = last.pivot(index="submission_id", columns="field", values="new")
    return events_frame, state, stuck


def build_demo(con, rows: int, seed: int, end=None) -> dict:
    started = time.perf_counter()
    end = pd.Timestamp(end if end is not None else pd.Timestamp.now(tz="UTC"))
    end = (end.tz_localize(settings.get("TZ")) if end.tzinfo is None else end).tz_convert("UTC").floor("s")
    rng = np.random.default_rng(seed)
    frame, surges = generate(rows, seed, end)
    t_gen = time.perf_counter()
    frame = compose(frame, rng)
    t_text = time.perf_counter()
    case = sla.initial_case_fields(frame[["received_at", "category", "text", "district"]])
    frame = pd.concat([frame, case], axis=1)
    cols = ["source", "source_id", "received_at", "text", "language", "region", "district", "address", "lat",
            "lon", "placement", "contact", "category", "category_confidence", "category_source", "priority",
            "status", "department", "feedback_due_at", "due_at", "search_terms"]
    with store.transaction(con):
        for table in ("events", "quarantine", "ingest_runs", "demo_truth", "demo_surges", "demo_hotspots",
                      "demo_forgotten", "idea_members", "idea_decisions", "idea_actions", "ideas", "submissions"):
            con.execute(f"DELETE FROM {table}")
        con.register("_demo", frame[cols])
        con.execute(f"INSERT INTO submissions ({', '.join(cols)}) SELECT * FROM _demo")
        con.unregister("_demo")
        ids = con.execute("SELECT source_id, id FROM submissions").df().set_index("source_id")["id"]
        frame["id"] = frame["source_id"].map(ids).to_numpy()
        con.register("_truth", frame[["id", "truth"]])
        con.execute("INSERT INTO demo_truth SELECT id, truth FROM _truth")
        con.unregister("_truth")
        events.record_created(con, actor="demo")
        hotspots, forgotten = hotspot_windows(end), forgotten_cases(frame, end)
        ev, state, stuck = workflow(frame, rng, end, hotspots, forgotten)
        con.register("_ev", ev[["submission_id", "happened_at", "actor", "field", "old", "new", "comment"]])
        con.execute("INSERT INTO events (submission_id, happened_at, actor, field, old, new, comment) "
                    "SELECT submission_id, happened_at, actor, field, old, new, comment FROM _ev")
        con.unregister("_ev")
        state = state.reindex(columns=["status", "feedback_at", "resolved_at", "resident_confirmed_at",
                                       "forwarded_to"]).reset_index()
        con.register("_state", state)
        con.execute("""
            UPDATE submissions s SET
                status = coalesce(f.status, s.status),
                feedback_at = CAST(f.feedback_at AS TIMESTAMPTZ),
                resolved_at = CAST(f.resolved_at AS TIMESTAMPTZ),
                resident_confirmed_at = CAST(f.resident_confirmed_at AS TIMESTAMPTZ),
                forwarded_to = f.forwarded_to
            FROM _state f WHERE s.id = f.submission_id""")
        con.unregister("_state")
        con.register("_surges", surges[["category", "district", "start_at", "end_at", "extra_count", "story"]])
        con.execute("INSERT INTO demo_surges SELECT * FROM _surges")
        con.unregister("_surges")
        hotspots["stuck_cases"] = [int((stuck & (frame["category"] == h.category).to_numpy()
                                        & (frame["district"] == h.district).to_numpy()).sum()) for h in hotspots.itertuples()]
        con.register("_spots", hotspots[["category", "district", "department", "start_at", "end_at", "stuck_cases", "story"]])
        con.execute("INSERT INTO demo_hotspots SELECT * FROM _spots")
        con.unregister("_spots")
        con.register("_forgotten", frame.loc[forgotten["row"], ["id", "category", "district", "received_at"]]
                     .assign(status=forgotten["status"].to_numpy(), story=forgotten["story"].to_numpy()))
        con.execute("INSERT INTO demo_forgotten SELECT * FROM _forgotten")
        con.unregister("_forgotten")
        for key, value in {"dataset": "demo", "demo_seed": str(seed), "demo_end": end.isoformat()}.items():
            store.set_meta(con, key, value)
        placements.load_demo(con)
        rollup.rebuild(con)
    if placements.db_file(con) is not None:  # the public form's copy, next to a store on disk
        placements.publish(con)
    t_write = time.perf_counter()
    from pipeline import ideas  # proposals into ideas, complaints into incidents: once, at the end

    grouped = ideas.regroup_all(con)
    done = time.perf_counter()
    return {"rows": len(frame), "ideas": grouped["ideas"]["ideas"], "incidents": grouped["incidents"]["incidents"], "events": len(ev), "surges": len(surges), "hotspots": len(hotspots),
            "forgotten": len(forgotten), "seconds": round(done - started, 1),
            "generate_s": round(t_gen - started, 1), "texts_and_classify_s": round(t_text - t_gen, 1),
            "write_s": round(t_write - t_text, 1), "ideas_s": round(done - t_write, 1)}


# ---- CLI -------------------------------------------------------------------------------------
def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} rows: a demo needs at least 1 row")
    return number


def arguments_demo(parser) -> None:
    parser.add_argument("--rows", type=_positive_int, default=settings.get_int("DEMO_ROWS"),
                        help="submissions to create (at least 1)")
    parser.add_argument("--seed", type=int, default=settings.get_int("DEMO_SEED"))
    parser.add_argument("--end", help="last day of the history, YYYY-MM-DD (default: now)")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")


def run_demo(args) -> int:
    db = settings.db_path(args.db)
    con = store.connect_writer_or_explain(db, "stop the app first")
    if con is None:
        return 1
    if store.submission_count(con) and store.get_meta(con, "dataset") != "demo":
        print(f"error: {db} holds real (non-demo) submissions; refusing to overwrite them", file=sys.stderr)
        con.close()
        return 1
    try:
        end = pd.Timestamp(args.end + " 23:59:59") if args.end else None
    except ValueError:
        print(f"error: --end {args.end!r} is not a date; use YYYY-MM-DD", file=sys.stderr)
        con.close()
        return 2
    stats = build_demo(con, rows=args.rows, seed=args.seed, end=end)
    con.close()
    print(json.dumps(stats) if False else " ".join(f"{k}={v}" for k, v in stats.items()) + f" db={db}")
    return 0
