"""Numbers in Russian and Kazakh sentences: plural agreement and case endings.

Russian: a noun after a number agrees with it (1 обращение, 2 обращения, 5 обращений, 21 обращение,
11 обращений) through pymorphy3's `make_agree_with_number` (OpenCorpora dictionary, a dependency
already), also in other cases ("из 5 обращений").

Kazakh: a noun after a number stays singular (5 өтініш) and takes the case ending itself
(5 өтініштің, 5 өтінішке). A bare number takes the ending after a hyphen, chosen by the last word
of the number as read aloud (12 = он екі -> 12-ге; 10 = он -> 10-ға; 40 = қырық -> 40-қа); a
percentage is read "... пайыз", so its ending follows "пайыз" (12 %-ға, 5 %-дан). The ending is
chosen by
- vowel harmony: the last vowel of the word is back (а о ұ ы я) or front (ә ө ү і е); и, у, ю are
  skipped (елу -> елуге, миллион -> миллионға);
- the last sound: a vowel; a sonorant л р й у; a nasal м н ң; ж з; a voiceless consonant, and
  б в г д, which are read voiceless at the end of a word (клубқа).
Endings (back/front): genitive ның/нің after vowels and nasals, дың/дің after л р й у ж з, тың/тің
after voiceless; accusative ны/ні, ды/ді, ты/ті the same way; dative ға/ге after vowels and voiced,
қа/ке after voiceless; locative да/де, та/те; ablative нан/нен after nasals, дан/ден after vowels
and л р й у ж з, тан/тен after voiceless; possessive (3rd person) сы/сі after a vowel, ы/і after a
consonant. (Standard school grammar: Қазақ тілі, 5-6 сынып, "Септік жалғаулары".)
"""
from __future__ import annotations

import functools

NBSP = "\u00a0"  # between a number and its unit, and between thousands, so a line never breaks there

# ---- numbers as written ------------------------------------------------------------------------


def fmt_int(n: int) -> str:
    """1234567 -> '1 234 567' (no-break spaces), the Russian and Kazakh way."""
    return f"{int(n):,}".replace(",", NBSP)


def fmt_dec(x: float, digits: int = 1) -> str:
    """12.345 -> '12,3' (decimal comma)."""
    s = f"{x:,.{digits}f}".replace(",", " ").replace(".", ",")
    return s.replace(" ", NBSP)


def fmt_pct(x: float, digits: int = 1) -> str:
    """12.345 -> '12,3 %' (a space before the sign, as Russian and Kazakh typography write it)."""
    return f"{fmt_dec(x, digits)}{NBSP}%"


def number(n: int, lang: str) -> str:
    """A count as every screen writes it: '1 234' (no-break spaces) in ru and kk, '1,234' in en."""
    return f"{int(n):,}" if lang == "en" else fmt_int(n)


def decimal(x: float, lang: str, digits: int = 1) -> str:
    """'12,3' in ru and kk (decimal comma), '12.3' in en."""
    return f"{x:,.{digits}f}" if lang == "en" else fmt_dec(x, digits)


def percent(x: float, lang: str, digits: int = 1) -> str:
    """x in percent: '12,3 %' in ru and kk (no-break space, as the briefing writes it), '12.3%' in en."""
    return decimal(x, lang, digits) + ("%" if lang == "en" else NBSP + "%")


def plotly_separators(lang: str) -> str:
    """plotly's layout.separators (decimal, then thousands) for the figures' numbers and axes."""
    return ".," if lang == "en" else "," + NBSP


# ---- Russian -----------------------------------------------------------------------------------
@functools.cache
def _morph():
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@functools.cache
def _ru_parse(noun: str):
    """The nominative singular noun reading of a word."""
    for p in _morph().parse(noun):
        if p.tag.POS == "NOUN" and p.tag.case == "nomn" and p.tag.number == "sing":
            return p
    raise ValueError(f"{noun!r} is not a Russian noun in the nominative singular")


def ru_noun(n: int, noun: str, case: str = "nomn") -> str:
    """The form of `noun` that agrees with the whole number n in `case` (an OpenCorpora case:
    nomn, gent, datv, accs, ablt, loct)."""
    p = _ru_parse(noun)
    if case != "nomn":
        p = p.inflect({case})
    return p.make_agree_with_number(abs(int(n))).word


def ru_count(n: int, noun: str, case: str = "nomn") -> str:
    """'5 обращений', '21 обращение', 'из 2 обращений' (case='gent')."""
    return f"{fmt_int(n)}{NBSP}{ru_noun(n, noun, case)}"


# ---- Kazakh ------------------------------------------------------------------------------------
_ONES = ["нөл", "бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз"]
_TENS = ["", "он", "жиырма", "отыз", "қырық", "елу", "алпыс", "жетпіс", "сексен", "тоқсан"]
_BIG = [(10 ** 12, "триллион"), (10 ** 9, "миллиард"), (10 ** 6, "миллион"), (1000, "мың")]

BACK, FRONT = set("аоұыя"), set("әөүіеэё")
VOICELESS = set("кқпстфхцчшщ") | set("бвгд")  # б в г д sound voiceless at the end of a word
SONORANT = set("лрйу")
NASAL = set("мнң")
VOICED_FRICATIVE = set("жз")

CASES = ("nom", "gen", "acc", "dat", "loc", "abl", "poss")
_ENDINGS = {  # case -> (after a vowel, after л р й у, after м н ң, after ж з, after voiceless) as (back, front)
    "gen": (("ның", "нің"), ("дың", "дің"), ("ның", "нің"), ("дың", "дің"), ("тың", "тің")),
    "acc": (("ны", "ні"), ("ды", "ді"), ("ды", "ді"), ("ды", "ді"), ("ты", "ті")),
    "dat": (("ға", "ге"), ("ға", "ге"), ("ға", "ге"), ("ға", "ге"), ("қа", "ке")),
    "loc": (("да", "де"), ("да", "де"), ("да", "де"), ("да", "де"), ("та", "те")),
    "abl": (("дан", "ден"), ("дан", "ден"), ("нан", "нен"), ("дан", "ден"), ("тан", "тен")),
    "poss": (("сы", "сі"), ("ы", "і"), ("ы", "і"), ("ы", "і"), ("ы", "і")),
}


def kk_number_words(n: int) -> list[str]:
    """A whole number as read aloud in Kazakh: 1234 -> ['бір', 'мың', 'екі', 'жүз', 'отыз', 'төрт']."""
    n = abs(int(n))
    if n == 0:
        return ["нөл"]
    words: list[str] = []
    for size, name in _BIG:
        if n >= size:
            head, n = divmod(n, size)
            words += ([] if head == 1 and size == 1000 else kk_number_words(head)) + [name]
    if n >= 100:
        head, n = divmod(n, 100)
        words += ([] if head == 1 else [_ONES[head]]) + ["жүз"]
    if n >= 10:
        words.append(_TENS[n // 10])
        n %= 10
    if n:
        words.append(_ONES[n])
    return words


def _back(word: str) -> bool:
    for ch in reversed(word.lower()):
        if ch in BACK:
            return True
        if ch in FRONT:
            return False
    return True


def kk_ending(word: str, case: str) -> str:
    """The case ending a Kazakh word takes: kk_ending('өтініш', 'gen') -> 'тің'."""
    if case == "nom":
        return ""
    if case not in _ENDINGS:
        raise ValueError(f"unknown case {case!r}; one of {', '.join(CASES)}")
    last = word.lower()[-1]
    if last in BACK | FRONT | set("иию"):
        group = 0
    elif last in SONORANT:
        group = 1
    elif last in NASAL:
        group = 2
    elif last in VOICED_FRICATIVE:
        group = 3
    else:
        group = 4
    back, front = _ENDINGS[case][group]
    return back if _back(word) else front


def kk_word(word: str, case: str = "nom") -> str:
    """A Kazakh noun with its case ending: kk_word('өтініш', 'dat') -> 'өтінішке'."""
    return word + kk_ending(word, case)


def kk_num(n: int, case: str = "nom") -> str:
    """A bare number with its case ending after a hyphen: 12 -> '12-ге', 10 -> '10-ға'."""
    return fmt_int(n) + ("" if case == "nom" else "-" + kk_ending(kk_number_words(n)[-1], case))


def kk_count(n: int, noun: str, case: str = "nom") -> str:
    """A number and a noun, which stays singular and carries the ending: '5 өтініштің'."""
    return f"{fmt_int(n)}{NBSP}{kk_word(noun, case)}"


def kk_pct(x: float, case: str = "nom", digits: int = 1) -> str:
    """A percentage, read '... пайыз': '12,0 %-ға'."""
    return fmt_pct(x, digits) + ("" if case == "nom" else "-" + kk_ending("пайыз", case))


# ---- either language ---------------------------------------------------------------------------
def count(n: int, noun: dict[str, str], lang: str, case: str = "nom") -> str:
    """A number with its noun in `lang`; noun maps language -> the word (Russian nominative
    singular, Kazakh stem). case is a Kazakh case name; the Russian one follows it."""
    if lang == "kk":
        return kk_count(n, noun["kk"], case)
    if lang == "ru":
        return ru_count(n, noun["ru"], _RU_CASE[case])
    return f"{fmt_int(n)} {noun['en'] if n == 1 else noun.get('en_pl', noun['en'] + 's')}"


_RU_CASE = {"nom": "nomn", "gen": "gent", "acc": "accs", "dat": "datv", "loc": "loct", "abl": "gent", "poss": "gent"}


# ---- alphabetical order ------------------------------------------------------------------------
# The Kazakh Cyrillic alphabet (42 letters); the Russian one is the same order without Ә Ғ Қ Ң Ө Ұ Ү Һ І.
# Python's sort goes by code point, which puts Ә Қ Ө Ү (U+04D8, U+049A, ...) after Я: "Әйтеке би" and
# "Қарғалы" came last in a list of districts.
KK_ALPHABET = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
_RANK = {ch: i for i, ch in enumerate(KK_ALPHABET)}


def alphabetical(text: str) -> tuple:
    """A sort key that orders Russian and Kazakh names as a dictionary does: case-insensitive, by
    the Kazakh alphabet; digits and Latin letters before Cyrillic, others by code point after."""
    key = []
    for ch in str(text or "").casefold():
        if ch in _RANK:
            key.append((2, _RANK[ch]))
        elif ch.isalnum() and ch.isascii():
            key.append((1, ord(ch)))
        elif ch.isspace() or not ch.isalnum():
            key.append((0, 0))  # "Аль-Фараби" and "Аль Фараби" sort together, before "Альма"
        else:
            key.append((3, ord(ch)))
    return tuple(key)
