"""Place names in residents' texts, in any letter case: streets, avenues and microdistricts by their
markers, districts by their names and aliases, and the places the project knows by name.

A place is returned as a key: its name's word, lowercased, Kazakh letters folded to their Russian
look-alikes (Байтұрсынов = Байтурсынов), reduced to its stem when short (Абая = Абай), then its
first `KEY_LETTERS` letters (a short name without its final vowels: Абая, Абай). So Russian and
Kazakh endings meet (Маресьева, Маресьев) and a typo past the fifth letter gives the same key;
`same` also takes two swapped neighbouring letters (the usual slip) as the same place. `places`
returns keys with the vowels after the first letter masked (Кунаева, Қонаев: к*н**), and looks a
short name with a Kazakh case ending up without it (Тассайда, Төленің).

Where names are found (`places(text)`):

- after a street marker: ул., улица, пр., пр-т, проспект, мкр, мкрн, микрорайон (in any form) and
  the word following it (ул. Маресьева, мкр Нурсат, проспекта Абилкайыр хана);
- before a Kazakh marker: көшесі, даңғылы, шағын ауданы (in any form), skipping a title word
  between (Санкибай батыр даңғылы: Санкибай);
- anywhere, words of a known place name (in a text that writes capitals, only capitalised ones): district names and aliases (data/districts.csv), the
  demo's streets and villages (data/demo/places.csv) and the QR placements' names
  (data/placements.csv), without the generic words those names carry (район, остановка, парк...).
"""
from __future__ import annotations

import functools
import re

import pandas as pd
from rapidfuzz.distance import OSA

from pipeline import reference, search

KEY_LETTERS = 5
LEARN_LETTERS = 4  # a name learned from its marker (мкр Асар) has a key of this many letters or more
_FOLD = str.maketrans("әғқңөұүһіё", "агкноуухие")
# words of a place's name that say what kind of place it is, not which one
GENERIC = frozenset("""
район района районе ауданы аудан ауданының аудандық г қ город города қала city district rural
остановка аялдамасы аялдама проспект проспекта даңғылы даңғыл площадь алаңы алаң улица ул пр мкр
микрорайон с село ауыл центральный центральном орталық рынок рынке базар базары базарда железнодорожный
вокзал вокзалы теміржол южный оңтүстік автовокзал автовокзалы автобус маршрут школа гимназия лицей
мектеп городская поликлиника поликлинике емхана средняя орта детская балалар врачебная амбулатория
амбулаториясы дәрігерлік аким акима әкім әкімінің аппарат аппараты цон хққо парк парке саябақ саябағы
дендропарк касса набережная реки река өзен өзенінің жағалауы больница ауруханасы районная зал
ожидания приёма приема бағыт бағыты автобусы аялдамасы хқко граждан вход главный приёмная приемная имени атындағы хана хан батыра батыр
би проход закрыта ремонт жөндеуге жабық области облысы первого первый тұңғыш президента президент
независимости тәуелсіздік со двора мектеп-лицей школа-гимназия школа-лицей тд
""".split())
TITLES = frozenset("хан хана батыр батыра би ата ана жырау ақын".split())
_WORD = r"[^\W\d_][^\W_]*(?:-[^\W_]+)?"
# an abbreviation takes a full stop before the name (ул. Абая); a full word only a space (the word
# after "по тёмным улицам. Просим" starts another sentence)
_RU_MARKER = re.compile(r"(?<![^\W\d_])(?:(?:улиц[а-я]*|проспект[а-я]*|микрорайон[а-я]*)\s+"
                        r"|(?:ул|просп|пр-т|пр|мкрн?)(?:\.\s*|\s+))(?:№\s*)?(" + _WORD + r")"
                        r"(?:\s+(?-i:([А-ЯЁӘҒҚҢӨҰҮҺІ][а-яёәғқңөұүһі]{2,})))?", re.IGNORECASE)
# (and a second capitalised word after a short first one, of 3 letters or fewer: проспект Улы Дала,
# as Ұлы Дала даңғылы names Дала; not ул Байтурсынова Драма театры without its comma)
# the name before a Kazakh marker in its possessive form (Абай көшесі, Абай даңғылында, Нұрсат шағын
# ауданы): "Жастар көшеде жүреді" (the young are in the street) names no street; a two-word name's
# second word (Тәуке хан, Жібек жолы) is skipped
_KK_MARKER = re.compile(r"(" + _WORD + r")\s+(?:(?:хан|батыр|би|ата|ана|жырау|ақын|жолы)\s+)?"
                        r"(?:көшес|даңғылы|шағын\s+ауданы)[^\W\d_]*", re.IGNORECASE)
_ANY_WORD = re.compile(_WORD)
# a village or a residential area by its marker, its name capitalised: "село Бабайкорган", "в посёлке
# Шорнак", "Шорнақ ауылы", "Бабайқорған ауылында" (not "біздің ауылымыз", our village), "в жилом массиве
# в Ахмирово", "ж/м Шугыла", "Ахмирово тұрғын алабы"
_VILLAGE = re.compile(r"(?<![^\W\d_])(?:сел[оеау]|пос[её]лк[а-я]*|пос[её]лок|пос\.|(?:жил(?:ой|ом|ого)\s+)?массив[а-я]*"
                      r"(?:\s+в)?|жилмассив[а-я]*|ж/м)\s*(" + _WORD + r")"
                      r"|(" + _WORD + r")\s+(?:ауыл(?:ы|ында|ының|ына|ынан|дық\s+округ[^\W\d_]*)|тұрғын\s+алаб[^\W\d_]*)"
                      r"(?![^\W\d_])", re.IGNORECASE)


def _villages(text: str) -> list[str]:
    return [n for m in _VILLAGE.finditer(text) for n in m.groups()
            if n and n[:1].isupper() and n[1:2].islower() and n.lower() not in GENERIC]


_ENDING = re.compile(r"[аяуюоеиыйь]+$")


def _norm(word: str) -> str:
    """A word lowercased, Kazakh letters folded, a hyphen's number dropped; '' when generic."""
    w = word.lower().replace("ё", "е")
    head, _, tail = w.partition("-")
    w = head if tail.isdigit() or not tail else head + tail  # Батыс-2: батыс; Кен-Баба: кенбаба
    if w in GENERIC or head in GENERIC or len(w) < 3:
        return ""
    return w.translate(_FOLD)


@functools.lru_cache(maxsize=200_000)
def key(word: str) -> str:
    """A place word's key (see the module's docstring); '' for a generic or too short word."""
    w = _norm(word)
    if not w:
        return ""
    if w[:KEY_LETTERS + 1] in _longer():  # Бадамша beside Бадам
        return w[:KEY_LETTERS + 1]
    if len(w) <= KEY_LETTERS + 1:  # a short name's ending (Абая, Абай: аб; Тауке, Тәуке: таук)
        w = _ENDING.sub("", w) if len(_ENDING.sub("", w)) >= 2 else w
    return w[:KEY_LETTERS]


@functools.cache
def _longer() -> frozenset[str]:
    """Six-letter keys of known names that start like another known name (Бадамша, Бадам)."""
    words = {w for w in map(_norm, _name_words()) if w}
    heads: dict[str, set] = {}
    for w in words:
        heads.setdefault(w[:KEY_LETTERS], set()).add(w)
    return frozenset(w[:KEY_LETTERS + 1] for group in heads.values() if len(group) > 1
                     for w in group if len(w) > KEY_LETTERS + 1
                     and not any(o != w and o[:KEY_LETTERS + 1] == w[:KEY_LETTERS + 1] for o in group))


@functools.cache
def _name_words() -> tuple[str, ...]:
    """The capitalised words of every known place name, as written."""
    return tuple(word for name in known_names() for word in _ANY_WORD.findall(name) if word[0].isupper())


@functools.cache
def known_names() -> tuple[str, ...]:
    """The place names of the reference files (see the module's docstring)."""
    districts = reference.districts().astype(str)
    names = [a for x in districts["aliases"] for a in x.split("|") if a]
    names += districts["short_ru"].tolist() + districts["short_kk"].tolist()
    names += pd.read_csv(reference.DATA / "demo" / "places.csv", dtype=str, keep_default_na=False)["text"].tolist()
    placements = pd.read_csv(reference.DATA / "placements.csv", dtype=str, keep_default_na=False)
    return tuple(names + placements["name_ru"].tolist() + placements["name_kk"].tolist())


def same(a: str, b: str) -> bool:
    """Two keys of one place: equal, equal with х for қ (Бухар, Бұқар: the Russian spelling of a
    Kazakh қ), or two neighbouring letters swapped (the usual typo)."""
    if a == b:
        return True
    if len(a) != len(b):
        return False
    if a.replace("х", "к") == b.replace("х", "к"):
        return True
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


_CITY = re.compile(r"(?:\bгорода|\bгород|\bг\.)\s*(" + _WORD + r")|(" + _WORD + r")\s+(?:қаласы|қ\.)", re.IGNORECASE)


def _proper(name: str) -> list[str]:
    """Keys of a place name's proper words: Cyrillic, capitalised, not generic, not the city the
    place is in (Аким города Шымкент, Шымкент қаласы әкімдігі: a letter naming the city names no
    place in it)."""
    out = []
    cities = {w for m in _CITY.findall(name) for w in m if w}
    for word in _ANY_WORD.findall(name):
        if word in cities:
            continue
        if word[0].isupper() and re.search(r"[а-яәғқңөұүһі]", word.lower()):
            k = key(word)
            if k:
                out.append(k)
    return out


@functools.cache
def gazetteer() -> dict[str, str]:
    """key -> the place's key, for the proper words of every known place name (see the module's
    docstring). The Kazakh name's words map to the Russian name's (Елек: Илек, Тәуке: Тауке), and
    every alias of a district to the district's first alias word (Абайский, Абай)."""
    out: dict[str, str] = {}

    def add(variants: list[list[str]]) -> None:
        base = next((v for v in variants if v), [])
        for v in variants:
            same_shape = len(v) == len(base)
            for i, k in enumerate(v):
                if len(k) >= 3:
                    out.setdefault(k, base[i] if same_shape else k)

    districts = reference.districts().astype(str)
    for row in districts.itertuples():
        aliases = [a for a in str(row.aliases).split("|") if a]
        words = [_proper(x) for x in [*aliases, row.short_ru, row.short_kk]]  # names carry their city
        first = next((w[0] for w in words if w), None)
        for w in words:  # a district is one place whatever its alias
            for k in w:
                out.setdefault(k, first)
    places = pd.read_csv(reference.DATA / "demo" / "places.csv", dtype=str, keep_default_na=False)
    for text in places["text"]:
        add([_proper(text)])
    placements = pd.read_csv(reference.DATA / "placements.csv", dtype=str, keep_default_na=False)
    for row in placements.itertuples():
        add([_proper(row.name_ru), _proper(row.name_kk)])
    return out


@functools.lru_cache(maxsize=200_000)
def _near(word: str) -> str | None:
    """The known place a long word is one slip away from: two neighbouring letters of its key
    swapped, or another fifth letter where only one known place starts with the same four; and the
    word is that place's name with one slip (Кайтбас, Кайтбаста: Кайтпас; not Қайталама, "repeated",
    the opening of many Kazakh appeals, nor Қартайған, "aged", beside Карат). A common word is
    never a slip of a rare name (Құрметті, the usual opening of a Kazakh letter, beside Курмы)."""
    k = key(word)
    if len(k) < KEY_LETTERS or _common(word):
        return None
    known = gazetteer()
    swaps = (k[:i] + k[i + 1] + k[i] + k[i + 2:] for i in range(len(k) - 1))
    place = next((known[s] for s in swaps if s in known), None) or _by_prefix().get(k[:KEY_LETTERS - 1])
    w = _norm(word)
    return place if place and any(_one_slip(w, name) for name in _full_names().get(place, ())) else None


def _one_slip(word: str, name: str) -> bool:
    """`word` begins with `name` written with one slip: a letter changed, added or left out, or two
    neighbours swapped (what follows is a case ending: Кайтбаста)."""
    n = len(name)
    return any(OSA.distance(head, name, score_cutoff=1) <= 1 for head in (word[:n], word[:n + 1], word[:n - 1]))


@functools.cache
def _full_names() -> dict[str, frozenset[str]]:
    """A known place's key -> its names' proper words in full, lower-cased and folded (as _norm)."""
    known = gazetteer()
    out: dict[str, set] = {}
    for word in _name_words():
        place = known.get(key(word))
        if place:
            out.setdefault(place, set()).add(_norm(word))
    return {k: frozenset(v) for k, v in out.items()}


def _common(word: str) -> bool:
    """A word with one of the stems most frequent in residents' texts."""
    return not _frequent().isdisjoint(search.stems(word))


@functools.cache
def _frequent() -> frozenset[str]:
    return frozenset(search.frequent_stems())


@functools.cache
def _by_prefix() -> dict[str, str]:
    """Four first letters -> the one known place of KEY_LETTERS letters starting so."""
    seen: dict[str, set] = {}
    for k, place in gazetteer().items():
        if len(k) == KEY_LETTERS:
            seen.setdefault(k[:KEY_LETTERS - 1], set()).add(place)
    return {p: next(iter(v)) for p, v in seen.items() if len(v) == 1}


def _marked(text: str, at_city=frozenset(), cased: bool = False) -> list[str]:
    """The names after Russian street markers (see _RU_MARKER), but cities (their words' starts
    `at_city`) and, when `cased`, lower-case words."""
    out = []
    for m in _RU_MARKER.finditer(text):
        for g in (1, 2) if len(m.group(1)) <= 3 else (1,):
            name = m.group(g)
            if name and m.start(g) not in at_city and (not cased or name[0].isupper()):
                out.append(name)
    return out


def learn(texts) -> frozenset[str]:
    """Place names a set of texts teaches: capitalised words after a street marker (мкр Болашак),
    of LEARN_LETTERS letters or more and not known already, so that the same name without its
    marker (в Болашаке) is a place too in every text grouped with them."""
    known = gazetteer()
    out = set()
    for text in texts:
        if isinstance(text, str) and text:
            for m in [n for n in _marked(text)] + _KK_MARKER.findall(text) + _villages(text):
                if m[:1].isupper() and m[1:2].islower():
                    k = key(m)
                    if len(k) >= LEARN_LETTERS and k not in known:
                        out.add(k)
    return frozenset(out)


def places(text: str, learned: frozenset = frozenset()) -> frozenset[str]:
    """Keys of the places a text names (any letter case); `learned`: keys from `learn`."""
    if not isinstance(text, str) or not text:
        return frozenset()
    known = gazetteer()
    cased = any(c.isupper() for c in text)
    at_city = {start for start, _, _ in _city_words(text)}
    # a name after a marker: in a text that writes capitals a capitalised one (проспектах уже
    # сделали names no street), never a city (в 12-м микрорайоне Актобе)
    marked = set(_marked(text, at_city, cased))
    marked |= {m for m in _KK_MARKER.findall(text) if m.lower() not in TITLES}
    marked |= set(_villages(text))
    found = {known.get(k := key(n)) or _near(n) or k for n in marked}
    for m in _ANY_WORD.finditer(text):
        word = m.group()
        if m.start() in at_city:
            continue  # a city, not a place in it (see `cities`)
        if not word[0].isupper() and (cased or len(key(word)) < KEY_LETTERS):
            # in a text that writes capitals, a lower-case word is a common word (темір: iron, not
            # Темир); a short key is one in any text (толы: full, not Толе би)
            continue
        k = key(word)
        # a slip is looked for only in a capitalised word: lower-case words are mostly not names
        hit = known.get(k) or (k in learned and k) or (len(word) >= 6 and word[:2].istitle() and _near(word))
        if not hit:  # a short name with a Kazakh case ending (Тассайда, Асардан, Төленің: Тассай, Асар, Төле)
            bare = _kazakh_bare(word)
            if bare:
                k = key(bare)
                hit = known.get(k) or (k in learned and k)
        if hit:
            found.add(hit)
    found.discard("")
    found.discard(None)
    return frozenset(_vowels_masked(k) for k in found)


_KK_CASE = re.compile(r"(?:ндағы|ндегі|дағы|дегі|тағы|тегі|нда|нде|дан|ден|тан|тен|нан|нен|ның|нің|дың|дің|тың|тің"
                      r"|да|де|та|те|ға|ге|қа|ке|на|не|ны|ні|ды|ді|ты|ті|ға|ка)$")


def _kazakh_bare(word: str) -> str:
    """A word without one Kazakh case ending, if three letters or more stay; '' otherwise."""
    bare = _KK_CASE.sub("", word.lower())
    return bare if bare != word.lower() and len(bare) >= 3 else ""


@functools.lru_cache(maxsize=200_000)
def word_keys(word: str) -> frozenset[str]:
    """The (masked) keys a single word could stand for as a place, whether or not it is one here:
    its own key, the known place that key maps to, and the same for the word without a Kazakh case
    ending. For leaving a name's word out of the plain words once the name is counted."""
    out = set()
    for w in (word, _kazakh_bare(word)):
        k = key(w) if w else ""
        if k:
            out.add(_vowels_masked(k))
            if k in gazetteer():
                out.add(_vowels_masked(gazetteer()[k]))
    return frozenset(out)


_VOWEL = re.compile(r"[аеиоуыэюя]")


def _vowels_masked(k: str) -> str:
    """A key with the vowels after its first letter masked: the Russian and the Kazakh spelling of
    one name often differ in a vowel the folding does not meet (Кунаева, Қонаев: к*н**)."""
    return k[:1] + _VOWEL.sub("*", k[1:])


# ---- cities ------------------------------------------------------------------------------------
# Kazakhstan's larger cities (data/cities.csv, Russian and Kazakh names). A city is not a place in
# the sense above (a letter to one akimat names its own city and no place in it); it is where a
# letter is, and two letters in different cities are about different things however alike.
CITIES_FILE = reference.DATA / "cities.csv"
_CITY_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)?")
# what a city's name may take after its stem: its own last letters and a Russian or Kazakh case
# ending (Шымкенте, Шымкентте, Қарағандыдағы, Ақтөбенің; folded), not more (Семенов is no Семей)
_CITY_TAIL = re.compile(r"[аеиоуыйяю]{0,2}(?:[дтнгк][аеы]|[дтн][ае]н|[дт][ае](?:гы|ги)|[нтд][ыи]н|ом|ем|ой|ей|ым|ю|у)?")
_CITY_LOWER = 5  # a city in lower case or capitals only by a stem this long (семей: of families, not Семей)
_DISTRICT_AFTER = re.compile(r"\s+аудан", re.IGNORECASE)  # Алматы ауданы: a district of Aktobe, not the city
_DISTRICT_BEFORE = re.compile(r"район[а-я]*\s+$", re.IGNORECASE)  # район Астана
# where a bus goes, not where the letter is: "автобусы на Бишкек и Талдыкорган", "до Алматы"
_DESTINATION = re.compile(r"(?<![^\W\d_])(?:на|до)\s+(?:[^\W\d_]+\s+(?:и|или)\s+)?$", re.IGNORECASE)


def _city_stem(name: str) -> str:
    w = name.lower().translate(_FOLD)
    while len(w) > 4 and w[-1] in "аеиоуыяй":  # Костанай, Костанае
        w = w[:-1]
    return w


@functools.cache
def _cities() -> tuple[tuple[str, str], ...]:
    """(stem, the city's key: its Russian name's stem), longest stems first."""
    frame = pd.read_csv(CITIES_FILE, dtype=str, keep_default_na=False)
    out = {(_city_stem(n), _city_stem(r.name_ru)) for r in frame.itertuples() for n in (r.name_ru, r.name_kk) if n}
    return tuple(sorted(out, key=lambda x: -len(x[0])))


@functools.cache
def _district_words() -> frozenset[str]:
    """The words of districts' names (data/districts.csv): Алматы, Астана are districts of Aktobe too."""
    districts = reference.districts().astype(str)
    names = [a for x in districts["aliases"] for a in x.split("|")] + districts["short_ru"].tolist() \
        + districts["short_kk"].tolist()
    return frozenset(w.lower() for n in names for w in _CITY_WORD.findall(n))


@functools.cache
def _city_pattern() -> re.Pattern:
    """A word beginning with a city's stem (longest first), in the lower-cased folded text."""
    return re.compile(r"(?<![^\W\d_])(" + "|".join(re.escape(stem) for stem, _ in _cities()) + r")([^\W\d_]*)")


@functools.lru_cache(maxsize=50_000)
def _city_words(text: str) -> tuple[tuple[int, str, bool], ...]:
    """(start, city key, whether it is where a bus goes) of each word of `text` that names a city
    (see `cities`)."""
    low = text.lower().translate(_FOLD)  # one letter for one: positions stay
    if not any(stem[:3] in low for stem in _city_heads()):
        return ()
    keys = dict(_cities())
    out = []
    for m in _city_pattern().finditer(low):
        stem, tail = m.group(1), m.group(2)
        word = text[m.start():m.end()]
        if not (word[0].isupper() and word[1:2].islower()) and len(stem) < _CITY_LOWER:
            continue
        if not _CITY_TAIL.fullmatch(tail):
            continue
        district = word.lower() in _district_words() and bool(
            _DISTRICT_AFTER.match(text, m.end()) or _DISTRICT_BEFORE.search(text[max(0, m.start() - 20):m.start()]))
        if not district:
            out.append((m.start(), keys[stem], bool(_DESTINATION.search(text[max(0, m.start() - 40):m.start()]))))
    return tuple(out)


@functools.cache
def _city_heads() -> frozenset[str]:
    return frozenset(stem[:3] for stem, _ in _cities())


def cities(text: str) -> frozenset[str]:
    """The cities a text names (their keys): a word of a city's stem (in lower case or capitals
    only a stem of `_CITY_LOWER` letters or more) and a case ending (`_CITY_TAIL`; no adjective:
    Алматинский район is a district of Aktobe), not a district's name (район Астана, Алматы
    ауданы) and not where a bus goes (автобус на Шымкент, до Алматы). Such a word, where a bus
    goes too, is no place of `places` (Ақтөбе is not the regional akimat's placement, Караганды
    not Каргалы)."""
    if not isinstance(text, str) or not text:
        return frozenset()
    return frozenset(city for _, city, destination in _city_words(text) if not destination)


def city_words(text: str) -> dict[str, str]:
    """The words (lower case, each part of a hyphenated name) of `text` that name a city, where a
    bus goes too -> the city's key (Өскемендегі, усть, каменогорске: усть-каменогорск)."""
    if not isinstance(text, str) or not text:
        return {}
    out = {}
    for start, city, _ in _city_words(text):
        for part in _CITY_WORD.match(text, start).group().lower().split("-"):
            out[part] = city
    return out
