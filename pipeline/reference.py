"""Reference data from data/: taxonomy, regions, districts. Cached per process; files are small."""
from __future__ import annotations

import functools
import re

import pandas as pd

from pipeline.settings import ROOT

DATA = ROOT / "data"
LANGS = ("ru", "kk", "en")


@functools.cache
def taxonomy() -> pd.DataFrame:
    return pd.read_csv(DATA / "taxonomy.csv", dtype=str, keep_default_na=False)


def category_codes() -> list[str]:
    return taxonomy()["code"].tolist()


@functools.cache
def regions() -> pd.DataFrame:
    return pd.read_csv(DATA / "regions.csv", keep_default_na=False)


@functools.cache
def districts() -> pd.DataFrame:
    return pd.read_csv(DATA / "districts.csv", keep_default_na=False)


_MAPS: dict[tuple[int, str], tuple[pd.DataFrame, dict]] = {}


def column_map(table: pd.DataFrame, col: str) -> dict:
    """code -> `col` of a reference table (the first row of a code), kept per table object: pages
    name every row of a list, and a boolean mask per name cost a twentieth of the server's time
    with twenty sessions. The tables are cached and never changed in place."""
    key = (id(table), col)
    hit = _MAPS.get(key)
    if hit is None or hit[0] is not table:
        if len(_MAPS) > 64:  # tables built on the fly do not pile up
            _MAPS.clear()
        mapping: dict = {}
        for code, value in zip(table["code"], table[col]):
            mapping.setdefault(code, value)
        hit = _MAPS[key] = (table, mapping)
    return hit[1]


def name(table: pd.DataFrame, code: str, lang: str) -> str:
    """Display name of a code in a reference table, falling back to the code itself."""
    col = f"name_{lang if lang in LANGS else 'ru'}"
    try:
        return column_map(table, col).get(code, str(code))
    except TypeError:  # an unhashable code names nothing
        return str(code)


def _norm(s: str) -> str:
    s = s.lower().replace("ё", "е")
    s = re.sub(r"\b(район|р-н|ауданы|district|г\.|қ\.|город|қаласы|city)\b", " ", s)
    return re.sub(r"[^\w]+", " ", s).strip()


@functools.cache
def district_lookup() -> dict[str, str]:
    """Normalised district name or alias -> district code."""
    out: dict[str, str] = {}
    for row in districts().itertuples():
        for variant in [row.code, row.name_ru, row.name_kk, row.name_en, *str(row.aliases).split("|")]:
            if variant:
                out[_norm(variant)] = row.code
    return out


def match_district(value: str | None) -> str | None:
    """District code for a free-text district name in ru/kk/en, or None when unknown."""
    if value is None or not str(value).strip():
        return None
    return district_lookup().get(_norm(str(value)))


@functools.cache
def localities() -> pd.DataFrame:
    """Settlements and other places inside one district (data/localities.csv: name, district, kind)."""
    return pd.read_csv(DATA / "localities.csv", dtype=str, keep_default_na=False)


# A name right after one of these is a street named after a person or a city ("ул. Айтеке би",
# "пр. Абая", "Алматы көшесі"), not the district of that name.
_STREET_BEFORE = re.compile(r"(?:\b(?:ул|улица|пр|просп|проспект|пер|переулок|б-р|бульвар|ш|шоссе|наб|даңғылы)\.?\s*)$")
_STREET_AFTER = re.compile(r"^\s*(?:көшесі|даңғылы|тұйығы|атындағы)\b")


_DISTRICT_WORDS = re.compile(r"\([^)]*\)|(?<!\w)(?:район|р-н|ауданы|district)(?!\w)")


@functools.cache
def _address_patterns() -> list[tuple[re.Pattern, str]]:
    """(pattern, district) for every district name, alias and known locality, longest first. A
    Russian adjective (Алгинский) also matches its other case endings (в Алгинском районе)."""
    variants: dict[str, str] = {}
    names = [(row.code, [row.name_ru, row.name_kk, row.name_en, *str(row.aliases).split("|")])
             for row in districts().itertuples()]
    names += [(row.district, [row.name]) for row in localities().itertuples()]
    for code, values in names:
        for v in values:
            v = _DISTRICT_WORDS.sub(" ", v.lower().replace("ё", "е")).strip()
            if v:
                variants[v] = code
    out = []
    for v, code in sorted(variants.items(), key=lambda kv: -len(kv[0])):
        words = [re.escape(w[:-2]) + r"\w{1,3}" if w.endswith(("ский", "цкий")) else re.escape(w)
                 for w in re.split(r"[\s-]+", v) if w]
        out.append((re.compile(r"(?<!\w)" + r"[\s-]+".join(words) + r"(?!\w)"), code))
    return out


def district_from_address(address: str | None) -> str | None:
    """The district an address names, by a district's name or alias or a locality of
    data/localities.csv in it ("с. Бестамак, ул. Школьная 3" -> alga); None when it names none or
    several districts, or only a street named after one ("ул. Айтеке би")."""
    if not address or not str(address).strip():
        return None
    text = str(address).lower().replace("ё", "е")
    found: set[str] = set()
    taken: list[tuple[int, int]] = []
    for pattern, code in _address_patterns():
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue  # inside a longer name already matched
            if _STREET_BEFORE.search(text[:m.start()]) or _STREET_AFTER.match(text[m.end():]):
                continue
            taken.append((m.start(), m.end()))
            found.add(code)
    return found.pop() if len(found) == 1 else None


def region_of(district_code: str) -> str | None:
    hit = districts().loc[districts()["code"] == district_code, "region"]
    return hit.iloc[0] if len(hit) else None
