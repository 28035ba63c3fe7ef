"""Word-form search over appeal texts (Russian, Kazakh, mixed): pure text functions, no database.

Each stored submission gets a search key once at ingest, `doc_key(text)`: the distinct stems of its
words, sorted, space-separated, with a leading and a trailing space (" жарық фонар ям "). The store
finds a stem with a plain substring test, `contains(search_key, ' ям ')`, so "ямы" finds "яма",
"ямой" and "ям", and "жарық" finds "жарығы" and "жарықтың".

A query is `query_groups(q)`: one group per query word, every group required (AND), a group
matching when the key holds ANY of its stems (OR). Most words have one stem, so most groups have
one element. Two stems appear for a Cyrillic word without Kazakh-only letters ("жолда", "вода"):
it may be Kazakh or Russian, so it gets the Russian Snowball stem and the Kazakh suffix-stripped
stem ("жолда" -> жолд | жол). `query_terms(q)` is the flat list of all those stems, for
`highlight_spans` and `score`; filtering with every one of them required would lose the Kazakh
reading of such words, so filter with the groups (`matches` is the reference test in Python).
Quoted phrases are out of scope: quotes are ignored and the words searched one by one.

Ranking: every result holds every query word, so the list is ordered by recency (newest first);
`score` (distinct query stems found in the text, then matched words) can reorder a shown page.

Kazakh: PyStemmer has no Kazakh algorithm, so `_kk_stem` strips plural, possessive and case
endings (and -сыз "without") from the end, one at a time, each only after the sounds Kazakh allows
before it (locative -да after a vowel or voiced consonant, -та after a voiceless one, ...), never
below two letters, then undoes the voicing of the final consonant (жарығы -> жарығ -> жарық,
мектебі -> мектеп). A word with a Kazakh-only letter (ә ғ қ ң ө ұ ү һ і) is Kazakh. A word without
one is Russian in a text with no Kazakh sign (no Kazakh-only letter, none of a few common Kazakh
words), and both Russian and Kazakh in a text that has one (key: both stems).
Known gaps: verbs (only nouns' endings are stripped), vowel loss ("орын"/"орны", "ауыз"/"аузы"),
Kazakh typed with Russian letters ("жарык", "кошеси"), Latin-script Kazakh, over-stemming of
roots that end like a suffix and are not in `_KK_KEEP` (both forms go to the same stem, so search
still works, but e.g. "орта" and "ор" meet), Russian stems Snowball leaves apart ("дерево"/
"деревья").
"""
from __future__ import annotations

import csv
import functools
import re
import zlib
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import Stemmer  # PyStemmer: Snowball in C

from pipeline import reference

MAX_CHARS = 4000  # the key is built from the first 4,000 characters of a text
_CACHE_LIMIT = 500_000  # distinct words cached before the cache starts over

_KK_LETTERS = frozenset("әғқңөұүһі")
_KK_LETTER = re.compile("[әғқңөұүһі]")
_WORD = re.compile(r"[a-zа-яәғқңөұүһі]{2,}")  # single letters are never keyed: not read at all
# For highlighting: the same words found in the original text, so spans are its offsets.
_WORD_ANYCASE = re.compile(r"[a-zа-яёәғқңөұүһі]+", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-яәғқңөұүһі]")
# Latin letters typed inside Cyrillic words (after lowercasing): "дoрога", "көшесi" with a Latin i.
_LOOKALIKE = str.maketrans("aceopxyikmthb", "асеорхуікмтнв")

RU_STOP = frozenset("""
а без бы был была были было быть в вам вас во вот все всё вы где да для до его ее её если есть еще
ещё же за и из или им их к как ко когда кто ли мне мы на над нам нас не нет но ну о об однако он она
они оно от по под при про с со так также там то тоже только тут у уже чем что чтобы это эта эти этот
я ты мой моя мои наш наша наши ваш ваша ваши очень просто который которая которое которые
""".split())
KK_STOP = frozenset("""
және мен бен пен бұл да де та те ол олар біз сіз сен сендер осы сол бір үшін бар жоқ деп еді әлі
тағы енді қазір өте ғана ма ме ба бе па пе ғой қой емес екен әр барлық туралы бойынша арқылы
""".split())
STOP = RU_STOP | KK_STOP
# Common Kazakh words without Kazakh-only letters: with one of them a text counts as Kazakh too.
_KK_PLAIN_SIGNS = frozenset("мен деп емес туралы бойынша керек жане бул жок ушин биз сиз осы".split())

_VOWELS = frozenset("аәеёиоөуұүыіэюя")
_TRUE_VOWELS = frozenset("аәеоөұүэя")  # vowels a Kazakh stem takes -сы/-сі after (not у, и, ю, ы, і)
_VOICELESS = frozenset("пткқсшфхцчщ")
_VOICED = frozenset("бвгғджзйлмнңрўу")

# Stems that end like a suffix and must stay whole (аудан is not ау + дан).
_KK_KEEP = frozenset("""
аудан күн мекен орын тұрғын ағын жиын заман адам қадам ауыл базар бағдар тауар адрес бизнес
шағым қысым әкім жан мүмкін лифт объект проект пункт факт пост текст ақша дала қала бала ана ата аға әке шама орта жер су үй ауа қыс жаз күз тас бас жас
""".split())


def _after_any(rest: str) -> bool:
    return True


def _after_vowel(rest: str) -> bool:
    return rest[-1] in _VOWELS


def _after_voiced(rest: str) -> bool:  # a vowel or a voiced consonant
    return rest[-1] not in _VOICELESS


def _after_voiceless(rest: str) -> bool:
    return rest[-1] in _VOICELESS


def _after_voiceless_native(rest: str) -> bool:  # қоқыс|ты, мектеп|ті; not лиф|ті (ф: loans)
    return rest[-1] in _VOICELESS and rest[-1] != "ф"


def _after_consonant(rest: str) -> bool:
    return rest[-1] not in _VOWELS


def _after_possessive3(rest: str) -> bool:  # көшесі|нде, ауласы|на, жолы|н
    return rest[-1] in "ыі"


def _after_vowel_or_nasal(rest: str) -> bool:  # көше|нің, аудан|ның, ауданы|нан
    return rest[-1] in _VOWELS or rest[-1] in "мнң"


def _after_plural_l(rest: str) -> bool:  # көше|лер, үй|лер, құбыр|лар
    return rest[-1] in _VOWELS or rest[-1] in "руй"


def _after_possessive3_i(rest: str) -> bool:  # жол|ы, мектеб|і, су|ы; not after a vowel (көше|сі)
    return (rest[-1] not in _VOWELS or rest[-1] in "уию") and (len(rest) >= 3 or rest[-1] in "уию")


def _after_true_vowel(rest: str) -> bool:  # көше|сі, аула|сы; not автобу|сы
    return rest[-1] in _TRUE_VOWELS and len(rest) >= 3


def _after_possessive12(rest: str) -> bool:  # үйім|е; not аялдам|а
    return rest[-2:] in ("ым", "ім", "ың", "ің") and len(rest) >= 3


_SUFFIX_RULES = {
    # plural
    "лар": _after_plural_l, "лер": _after_plural_l,
    "дар": _after_voiced, "дер": _after_voiced, "тар": _after_voiceless, "тер": _after_voiceless,
    # possessive
    "ым": _after_consonant, "ім": _after_consonant, "ың": _after_consonant, "ің": _after_consonant,
    "ы": _after_possessive3_i, "і": _after_possessive3_i, "сы": _after_true_vowel, "сі": _after_true_vowel,
    "мыз": _after_vowel, "міз": _after_vowel, "ымыз": _after_consonant, "іміз": _after_consonant,
    "ңыз": _after_vowel, "ңіз": _after_vowel, "ыңыз": _after_consonant, "іңіз": _after_consonant,
    # genitive
    "ның": _after_vowel_or_nasal, "нің": _after_vowel_or_nasal,
    "дың": _after_voiced, "дің": _after_voiced, "тың": _after_voiceless, "тің": _after_voiceless,
    # dative
    "ға": _after_voiced, "ге": _after_voiced, "қа": _after_voiceless, "ке": _after_voiceless,
    "на": _after_possessive3, "не": _after_possessive3, "а": _after_possessive12, "е": _after_possessive12,
    # accusative
    "ды": _after_voiced, "ді": _after_voiced, "ты": _after_voiceless_native, "ті": _after_voiceless_native,
    "ны": _after_vowel, "ні": _after_vowel, "н": _after_possessive3,
    # locative, and its attributive -дағы ("көшедегі")
    "да": _after_voiced, "де": _after_voiced, "та": _after_voiceless, "те": _after_voiceless,
    "нда": _after_possessive3, "нде": _after_possessive3,
    "дағы": _after_voiced, "дегі": _after_voiced, "тағы": _after_voiceless, "тегі": _after_voiceless,
    "ндағы": _after_possessive3, "ндегі": _after_possessive3,
    # ablative
    "дан": _after_voiced, "ден": _after_voiced, "тан": _after_voiceless, "тен": _after_voiceless,
    "нан": _after_vowel_or_nasal, "нен": _after_vowel_or_nasal,
    # instrumental
    "мен": _after_voiced, "бен": _after_voiced, "пен": _after_voiceless,
    # "without": жарықсыз, сусыз
    "сыз": _after_any, "сіз": _after_any,
}
_SUFFIXES_BY_END: dict[str, list[str]] = {}
for _s in sorted(_SUFFIX_RULES, key=len, reverse=True):
    _SUFFIXES_BY_END.setdefault(_s[-1], []).append(_s)
_DEVOICE = {"ғ": "қ", "г": "к", "б": "п"}
_MIN_STEM = 2
_MAX_STRIPS = 6


def _kk_stem(word: str) -> str:
    """Kazakh noun endings stripped from the end, longest first; a strip that leaves a kept stem
    (аудан|ы, not ауда|ны) wins over a longer one."""
    for _ in range(_MAX_STRIPS):
        if word in _KK_KEEP:
            break
        choices = [word[: -len(s)] for s in _SUFFIXES_BY_END.get(word[-1], ())
                   if word.endswith(s) and len(word) - len(s) >= _MIN_STEM
                   and _SUFFIX_RULES[s](word[: -len(s)])]
        if not choices:
            break
        word = next((c for c in choices if c in _KK_KEEP), choices[0])
    last = word[-1]
    if last in _DEVOICE and len(word) > 2:
        word = word[:-1] + _DEVOICE[last]
    return word


_RU = Stemmer.Stemmer("russian", 0)
# word -> its stems, () for a stop word: [False] in a text without Kazakh signs, [True] with one.
# Two flat dicts so that a text's stems are one C-level map over its words.
_CACHE: tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]] = ({}, {})


def _fill(words: list[str]) -> None:
    """Stems for words not yet cached; Snowball takes them as one list (stemWords is far faster
    than a call per word)."""
    plain_cache, kk_cache = _CACHE
    if len(plain_cache) + len(words) > _CACHE_LIMIT:
        plain_cache.clear()
        kk_cache.clear()
    ru_words = [w for w in words if _CYRILLIC.search(w) and _KK_LETTERS.isdisjoint(w)]
    ru = dict(zip(ru_words, _RU.stemWords(ru_words)))
    for w in words:
        if w in STOP or len(w) < 2:
            plain_cache[w] = kk_cache[w] = ()
        elif w in ru:  # Cyrillic, no Kazakh-only letter: Russian, or Kazakh in a Kazakh text
            plain = (ru[w],)
            kk = _kk_stem(w)
            plain_cache[w] = plain
            kk_cache[w] = plain if kk == ru[w] else (ru[w], kk)
        elif _KK_LETTERS.isdisjoint(w):  # Latin
            plain_cache[w] = kk_cache[w] = (w,)
        else:
            plain_cache[w] = kk_cache[w] = (_kk_stem(w),)


def _ensure(words) -> None:
    """Every one of `words` cached: the missing ones filled, again when that fill started the cache
    over (it reached _CACHE_LIMIT and dropped the words cached before it)."""
    for _ in range(2):
        missing = [w for w in set(words) if w not in _CACHE[0]]
        if not missing:
            return
        _fill(missing)


def _lowered(text: str) -> str:
    text = text.lower()
    return text.replace("ё", "е") if "ё" in text else text


def _words(lowered: str) -> list[str]:
    words = _WORD.findall(lowered)
    if _LATIN.search(lowered):  # most texts have no Latin letter at all
        words = [_fix_lookalikes(w) for w in words]
    return words


def _fix_lookalikes(word: str) -> str:
    if _LATIN.search(word) and _CYRILLIC.search(word):
        return word.translate(_LOOKALIKE)
    return word


def _kazakh_context(words) -> bool:
    return any(not _KK_LETTERS.isdisjoint(w) for w in words) or not _KK_PLAIN_SIGNS.isdisjoint(words)


def text_words(text: str) -> tuple[list[str], bool]:
    """The words of a text as `doc_key` reads them (lowercased, ё as е, Latin look-alikes fixed,
    at most MAX_CHARS characters) and whether the text may be Kazakh (a Kazakh-only letter or a
    common Kazakh word): the public entry for other modules that build their own features."""
    words = _words(_lowered(text[:MAX_CHARS] if isinstance(text, str) else ""))
    return words, _kazakh_context(set(words))


def stems(word: str, kazakh_context: bool = True) -> tuple[str, ...]:
    """All stems of one word (lowercase or not): () for a stop word, a digit or a single letter;
    two for a Cyrillic word without Kazakh-only letters when the text may be Kazakh."""
    words = _words(_lowered(word))
    if len(words) != 1:
        return ()
    w = words[0]
    if w not in _CACHE[0]:
        _fill([w])
    return _CACHE[kazakh_context][w]


def stem(word: str) -> str:
    """The main stem of one lowercase word: Kazakh for a word with a Kazakh-only letter, Russian
    Snowball for other Cyrillic words, the word itself for Latin ones; "" for stop words."""
    found = stems(word, kazakh_context=False)
    return found[0] if found else ""


def doc_key(text: str) -> str:
    """The search key of a stored text: " stem1 stem2 ... " (sorted, distinct), or " " if none
    (also for None and pandas' NaN)."""
    if not text or not isinstance(text, str):
        return " "
    lowered = _lowered(text[:MAX_CHARS])
    distinct = set(_words(lowered))
    # A Kazakh-only letter anywhere is in a word; the lowered text is searched once, in C (and the
    # words too when a Latin i may have become і).
    kazakh = (_KK_LETTER.search(lowered) is not None or not _KK_PLAIN_SIGNS.isdisjoint(distinct)
              or ("i" in lowered and _kazakh_context(distinct)))
    cache = _CACHE[kazakh]
    try:
        found = set(chain.from_iterable(map(cache.__getitem__, distinct)))
    except KeyError:
        _ensure(distinct)
        found = set(chain.from_iterable(map(cache.__getitem__, distinct)))
    return " " + " ".join(sorted(found)) + " " if found else " "


def piece_terms(pieces: list[str]) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """`doc_terms` of whitespace-free pieces of texts: for each (signs, plain, kazakh), where `plain`
    and `kazakh` are the piece's term ids read without and with Kazakh signs, and `signs` has bit 1
    for a Kazakh-only letter or a common Kazakh word, 2 for a Latin i, 4 for a word with a
    Kazakh-only letter. A text (within MAX_CHARS) has Kazakh signs when a piece has bit 1, or one
    has 2 and one has 4; its terms are then the sorted union of its pieces' `kazakh`, else of their
    `plain`: no step of `doc_key` crosses whitespace (pipeline.textbatch relies on it)."""
    lowered = [_lowered(p) for p in pieces]
    distinct = [set(_words(low)) for low in lowered]
    missing = list(set().union(*distinct).difference(_CACHE[0]))
    if missing:  # Snowball takes them as one list
        _fill(missing)
    out = []
    for low, words in zip(lowered, distinct):
        signs = ((_KK_LETTER.search(low) is not None or not _KK_PLAIN_SIGNS.isdisjoint(words))
                 | ("i" in low) << 1 | any(not _KK_LETTERS.isdisjoint(w) for w in words) << 2)
        plain, kazakh = set(), set()
        for w in words:
            if w not in _CACHE[0]:  # emptied by a fill that reached _CACHE_LIMIT
                _fill([w])
            plain.update(term_id(s) for s in _CACHE[0][w] if s)
            kazakh.update(term_id(s) for s in _CACHE[1][w] if s)
        out.append((signs, tuple(sorted(plain)), tuple(sorted(kazakh))))
    return out


@functools.cache
def frequent_stems() -> tuple[str, ...]:
    """The stems most frequent in residents' texts, most frequent first (data/search_top_stems.csv):
    the search signs the first 256 with bits of their own; a word with one of them is a common
    word, never a slip of a rare place name (pipeline.placenames)."""
    with open(reference.DATA / "search_top_stems.csv", encoding="utf-8", newline="") as f:
        return tuple(row["stem"] for row in csv.DictReader(f))


def term_id(stem: str) -> int:
    """A stem as the unsigned 32-bit number the store keeps (CRC-32 of its UTF-8, stored as a
    six-character token, see `encode`): numbers of a fixed width are searched about five times
    faster than a string of stems, and at 50 stems a text two stems share a number about once in
    80 million texts."""
    return zlib.crc32(stem.encode("utf-8"))


def doc_terms(text: str) -> list[int]:
    """The search terms of a stored text: the distinct numbers of its stems, sorted."""
    return sorted({term_id(s) for s in doc_key(text).split()})


# How the store keeps a text's terms (submissions.search_terms): one string, each number as five
# base-85 digits ('!' to 'u', most significant first) and a space, found with
# contains(search_terms, token(n)). Exact: every token is six characters and only a token's last
# is a space, so a match can only be a whole token (85**5 > 2**32: every number has its own). The
# space last, not first: DuckDB's contains() looks for a needle's first character with memchr and
# compares from there, and a space first stopped it at every token (500,000 strings of 60 tokens:
# 245 ms, with the space last 54).
# A string, not a list of numbers: DuckDB rewrites a whole row (its 300-400-character text
# included) when a LIST column of it is updated, which made the pending step's store four times
# slower than its classification; a string column is updated in place. Six bytes a number, not
# nine (a space and eight hexadecimal digits): the search reads the terms of every row its Bloom bits let
# through (all the column's blocks), so its time follows the column's size (10,000,000 rows: about
# 300 ms with nine bytes a number).
TOKEN = 6
DIGITS = 85
_FIRST = ord("!")
_POWERS = [DIGITS ** k for k in range(TOKEN - 2, -1, -1)]  # 85**4 .. 1


def stored_terms(text: str) -> str:
    """The search terms of a text as the store keeps them: encode(doc_terms(text))."""
    return encode(doc_terms(text))


def token(term: int) -> str:
    """One term number as it appears in a stored terms string."""
    return "".join(chr(_FIRST + term // p % DIGITS) for p in _POWERS) + " "


def encode(terms) -> str:
    """A list of term numbers as the store keeps them."""
    return "".join(token(t) for t in terms)


def decode(stored: str | None) -> list[int]:
    """The term numbers of a stored terms string (None: no terms yet)."""
    return decode_many([stored])[1].tolist()


def encode_flat(offsets: np.ndarray, flat: np.ndarray) -> pa.StringArray:
    """Many lists at once: offsets (n + 1, from 0) into the flat term numbers -> n stored strings."""
    rest = np.array(flat, dtype=np.uint32)  # a copy: divided in place below
    chars = np.empty((rest.size, TOKEN), dtype=np.uint8)
    chars[:, TOKEN - 1] = ord(" ")
    for k in range(TOKEN - 2, -1, -1):  # least significant digit last
        rest, digit = np.divmod(rest, np.uint32(DIGITS))
        chars[:, k] = digit + _FIRST
    ends = np.asarray(offsets, dtype=np.int64) * TOKEN
    strings = pa.LargeStringArray.from_buffers(len(ends) - 1, pa.py_buffer(ends), pa.py_buffer(chars.tobytes()))
    return strings if ends[-1] >= 2 ** 31 else strings.cast(pa.string())  # 32-bit offsets while they fit


def encode_many(lists) -> pa.StringArray:
    """Lists of term numbers as the store keeps them (pa.StringArray of the same length)."""
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists)), out=offsets[1:])
    flat = np.concatenate([np.asarray(x, dtype=np.uint32) for x in lists]) if len(lists) else np.zeros(0, np.uint32)
    return encode_flat(offsets, flat)


def decode_many(stored) -> tuple[np.ndarray, np.ndarray]:
    """Stored terms strings (an Arrow string array, or a sequence; None or NaN as no terms) ->
    (offsets (n + 1, from 0), flat uint32 term numbers)."""
    if isinstance(stored, pa.ChunkedArray):
        stored = stored.combine_chunks()
    # from_pandas: a NULL read through pandas is NaN in its string columns, not None
    arr = stored if isinstance(stored, pa.Array) else pa.array(list(stored), pa.string(), from_pandas=True)
    if not isinstance(arr, pa.StringArray):  # large or view strings, or nothing but nulls
        arr = arr.cast(pa.string())
    arr = arr.fill_null("")
    _, ends_buf, data_buf = arr.buffers()
    ends = np.frombuffer(ends_buf, dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
    lengths = np.diff(ends)
    if (lengths % TOKEN).any():
        raise ValueError("a stored terms string is not a run of six-character tokens")
    offsets = np.zeros(len(arr) + 1, dtype=np.int64)
    np.cumsum(lengths // TOKEN, out=offsets[1:])
    data = np.frombuffer(data_buf, dtype=np.uint8)[ends[0]:ends[-1]] if data_buf is not None and len(arr) else np.zeros(0, np.uint8)
    chars = data.reshape(-1, TOKEN)
    flat = chars[:, 0].astype(np.uint32) - np.uint32(_FIRST)
    for k in range(1, TOKEN - 1):  # most significant first; a stored number < 2**32 fits at every step
        flat *= np.uint32(DIGITS)
        flat += chars[:, k]
        flat -= np.uint32(_FIRST)
    return offsets, flat


def query_groups(q: str) -> list[tuple[str, ...]]:
    """One group of stems per distinct query word (stop words dropped); a text matches when its
    key holds a stem of every group. A query word may be either language, so its group holds both
    readings."""
    words = _words(_lowered(q or ""))
    _ensure(words)
    groups: list[tuple[str, ...]] = []
    for w in words:
        group = _CACHE[True][w]
        if group and group not in groups:
            groups.append(group)
    return groups


def query_terms(q: str) -> list[str]:
    """Every stem of the query, in query order, distinct: for highlighting and scoring. Filter
    with `query_groups` (a word's readings are alternatives, not each required)."""
    terms: list[str] = []
    for group in query_groups(q):
        terms.extend(s for s in group if s not in terms)
    return terms


def key_needles(groups: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The groups as the substrings to look for in a key: ' stem ' with its spaces."""
    return [tuple(f" {s} " for s in group) for group in groups]


def matches(key: str, groups: list[tuple[str, ...]]) -> bool:
    """What the database test does, in Python: every group has a stem in the key. No groups (an
    empty query, or only stop words) match nothing."""
    return bool(groups) and all(any(n in key for n in group) for group in key_needles(groups))


def _matched(text: str, wanted: set[str]) -> list[tuple[int, int, frozenset[str]]]:
    """(start, end, query stems it carries) of each matching word of `text`, read as `doc_key`
    reads it (Kazakh readings only in a text with a Kazakh sign)."""
    found = [(m.start(), m.end(), _fix_lookalikes(m.group(0).lower().replace("ё", "е")))
             for m in _WORD_ANYCASE.finditer(text)]
    words = {w for _, _, w in found}
    _ensure(words)
    cache = _CACHE[_kazakh_context(words)]
    hits = []
    for a, b, w in found:
        common = wanted.intersection(cache[w])
        if common:
            hits.append((a, b, frozenset(common)))
    return hits


def highlight_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """(start, end) character offsets in `text` of the words whose stem is in `terms`, in order;
    the caller escapes the text around and inside them."""
    if not text or not terms:
        return []
    return [(a, b) for a, b, _ in _matched(text, set(terms))]


def score(text: str, terms: list[str]) -> tuple[int, int]:
    """(distinct query stems found in the text, words matched): higher is better; ties go to the
    newer submission."""
    if not text or not terms:
        return (0, 0)
    hits = _matched(text, set(terms))
    return (len(frozenset().union(*(h[2] for h in hits))), len(hits))
