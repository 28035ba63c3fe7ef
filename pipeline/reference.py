"""Reference data from data/: taxonomy, regions, districts. Cached per process; files are small."""
from __future__ import annotations

import functools
import re

import pandas as pd

from pipeline import grammar
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


def in_order(table: pd.DataFrame, lang: str, codes=None) -> list[str]:
    """The codes of a reference table (or `codes` of it) in alphabetical order of their names in
    `lang`, Kazakh letters in their places (grammar.alphabetical): the order of every picker."""
    codes = table["code"].tolist() if codes is None else list(codes)
    return sorted(codes, key=lambda c: grammar.alphabetical(name(table, c, lang)))


# Words that only say what kind of place a name is. A dotted abbreviation may be glued to the name
# ("г.Шымкент", "р.Абай"); a whole word stands apart. District words (район, р-н, р-он, р., ауданы,
# ауд.), city words before a name (г., г, гор., город) and after it (қ., қ, қаласы, city), region words.
_DISTRICT_WORDS_RE = re.compile(r"(?<!\w)(?:(?:р|ауд)\.|(?:район|р-о?н|рн|ауданы|ауд|district)(?!\w))")
_CITY_WORDS_RE = re.compile(r"(?<!\w)(?:(?:г|гор|қ)\.|(?:г|город|қ|қаласы|city)(?!\w))")
_REGION_WORDS_RE = re.compile(r"(?<!\w)(?:обл\.|(?:область|обл|облысы|region|oblast)(?!\w))")
# A city named with its marker, so that it can be told apart from a district of the same name
# ("г. Алматы" is the city, "район Алматы" the district of Aktobe): marker before or after one word.
_NAME = r"(?P<name>[^\W\d_][\w-]*)"
_CITY_BEFORE = re.compile(r"(?<!\w)(?:(?:г|гор)\.\s*|(?:г|город)\s+)" + _NAME)
_CITY_AFTER = re.compile(_NAME + r"\s*(?:қ\.|(?:қ|қаласы|city)(?!\w))")


def _fold(s: str) -> str:
    return str(s).lower().replace("ё", "е")


def _clean(s: str, *words: re.Pattern) -> str:
    s = _fold(s)
    for pattern in words:
        s = pattern.sub(" ", s)
    return re.sub(r"[^\w]+", " ", s).strip()


def _region_key(s: str) -> str:
    return _clean(s, _DISTRICT_WORDS_RE, _CITY_WORDS_RE, _REGION_WORDS_RE)


@functools.cache
def region_aliases() -> dict[str, str]:
    """Normalised region name or alias (data/regions.csv names and `aliases`, e.g. the region
    centre's city in ru/kk/Latin) -> region code; a name two regions share is left out."""
    seen: dict[str, set[str]] = {}
    table = regions()
    aliases = table["aliases"] if "aliases" in table.columns else [""] * len(table)
    for code, ru, kk, en, more in zip(table["code"], table["name_ru"], table["name_kk"], table["name_en"], aliases):
        for variant in [code, ru, kk, en, *str(more).split("|")]:
            key = _region_key(variant)
            if key:
                seen.setdefault(key, set()).add(code)
    return {key: codes.pop() for key, codes in seen.items() if len(codes) == 1}


def _norm(s: str) -> str:
    """A place name without its kind words (район, р-н, ауданы, г., город, қаласы, область, ...),
    punctuation and case. A region's name or alias becomes its code, so that a table keyed by the
    _norm of a region's names finds it by any alias ("Актобе", "Ақтөбе қ.", "Aktyubinsk")."""
    key = _region_key(s)
    return region_aliases().get(key, key)


def match_region(value: str | None) -> str | None:
    """Region code for a free-text region in ru/kk/en: its code, name or an alias (the centre's city
    in any spelling: Актобе, г. Шымкент), or None when unknown."""
    if value is None or not str(value).strip():
        return None
    codes = set(regions()["code"])
    value = str(value).strip()
    key = value.lower() if value.lower() in codes else _norm(value)
    return key if key in codes else None


def _district_key(s: str) -> str:
    # city words are kept: "г. Алматы" is not the district "Алматы"
    return _clean(s, _DISTRICT_WORDS_RE)


@functools.cache
def district_lookup() -> dict[str, str]:
    """Normalised district name or alias -> district code; a form two districts share is left out."""
    seen: dict[str, set[str]] = {}
    for row in districts().itertuples():
        for variant in [row.code, row.name_ru, row.name_kk, row.name_en, *str(row.aliases).split("|")]:
            key = _district_key(variant) if variant else ""
            if key:
                seen.setdefault(key, set()).add(row.code)
    return {key: codes.pop() for key, codes in seen.items() if len(codes) == 1}


@functools.cache
def _big_cities() -> frozenset[str]:
    """data/cities.csv names, normalised: a city of its own, never a district's town."""
    table = pd.read_csv(DATA / "cities.csv", dtype=str, keep_default_na=False)
    return frozenset(_district_key(v) for v in [*table["name_ru"], *table["name_kk"]] if v)


@functools.cache
def _locality_districts() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in localities().itertuples():
        out.setdefault(_district_key(row.name), set()).add(row.district)
    return out


def _is_city(words: str) -> bool:
    return words in _big_cities() or _region_key(words) in region_aliases()


def _city_fits(city: str, district: str) -> bool:
    """Whether a city named beside a district is where that district is: the centre of its region
    (Актобе for the Aktobe region), or a town of that district (Хромтау, Кандыагаш)."""
    region = region_aliases().get(_region_key(city))
    if region is not None:
        return region == region_of(district)
    if city in _big_cities():
        return False  # another city: "г. Астана, район Алматы" is not Aktobe's district
    if _locality_districts().get(city) == {district}:
        return True  # a town or village of data/localities.csv: "г. Кандыагаш, Мугалжарский р-н"
    # the seat of a rural district bears its name ("г. Хромтау, Хромтауский район"); a city
    # district does not ("г. Astana, район Астана" is not Aktobe's)
    row = districts().loc[districts()["code"] == district]
    return bool(len(row)) and row["kind"].iloc[0] == "district" and district_lookup().get(city) == district


def match_district(value: str | None) -> str | None:
    """District code for a free-text district name in ru/kk/en, or None when unknown. The name may
    stand beside its city or region ("Абайский район г. Шымкент", "г.Шымкент, Туранский р-он",
    "Алгинский р., Актюбинская обл."); a city that is not the district's, or two districts, give None."""
    if value is None or not str(value).strip():
        return None
    lookup = district_lookup()
    hit = lookup.get(_district_key(value))
    if hit is not None:
        return hit
    text, cities = _fold(value), []

    def take(m: re.Match) -> str:
        cities.append(_district_key(m.group("name")))
        return ","

    text = _CITY_AFTER.sub(take, _CITY_BEFORE.sub(take, text))
    found: set[str] = set()
    for part in re.split(r"[,;/|()\[\]]+", text):
        words = _district_key(part).split()
        if not words:
            continue
        hit = lookup.get(" ".join(words))
        if hit is None:  # a bare city before or after the district: "Шымкент Туранский район"
            for k in range(1, min(2, len(words) - 1) + 1):
                head, tail = " ".join(words[:k]), " ".join(words[-k:])
                if _is_city(head) and (hit := lookup.get(" ".join(words[k:]))):
                    cities.append(head)
                    break
                if _is_city(tail) and (hit := lookup.get(" ".join(words[:-k]))):
                    cities.append(tail)
                    break
        if hit is None and _is_city(" ".join(words)):
            cities.append(" ".join(words))  # a lone city or region part: "Шымкент", "Актюбинская обл."
            continue
        if hit is None:
            return None  # a part naming nothing known: not guessed
        found.add(hit)
    if len(found) != 1:
        return None
    district = found.pop()
    return district if all(_city_fits(c, district) for c in cities) else None


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
