"""Text normalisation for classification: what residents type and web forms leave behind, made
comparable. Ingest classifies hundreds of thousands of rows, so each text goes through one plain
Python function: pandas' string methods would walk the whole column once per rule instead."""
from __future__ import annotations

import functools
import html
import re

import pandas as pd

# Latin letters that look Cyrillic, typed inside Cyrillic words ("дoрога" with a Latin o).
_LOOKALIKE = str.maketrans("aceopxyABCEHKMOPTXY", "асеорхуАВСЕНКМОРТХУ")
_LATIN = re.compile(r"[a-zA-Z]")
_MIXED_WORD = re.compile(r"\b(?=\w*[а-яәғқңөұүһі])(?=\w*[a-z])\w+\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,200}>")
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_PHONE = re.compile(r"(?:\+7|8)[\s(-]*7\d{2}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}")
_DIGIT = re.compile(r"\d")
_NUMBER = re.compile(r"\d+")
_REPEAT = re.compile(r"(\w)\1\1+")  # "ужааасно" -> "ужасно"
# Punctuation becomes a space and runs of spaces one space: a single pass over non-word runs.
_NON_WORD = re.compile(r"\W+")


# Abbreviations residents write for a building's parts and the utilities, spelled out so that
# "3 пар., 5 эт., ГВС" counts as the words the corpus uses. Only forms that are no other word:
# «пар» alone is steam, so it is «парадная» only beside a number ("пар. 3", "3 пар").
_ABBREVIATIONS = {"эт": "этаж", "кв": "квартира", "лк": "лестничная клетка", "мкд": "многоквартирный дом",
                  "гвс": "горячее водоснабжение", "хвс": "холодное водоснабжение", "тп": "трансформаторная подстанция",
                  "жби": "железобетонные изделия", "идн": "искусственная дорожная неровность"}
_ABBREVIATION = re.compile(r"\b(?:" + "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")\b"
                           r"|\bпар(?= _num_)|(?<=_num_ )пар\b")


_ABBREVIATION_PROBES = tuple(f" {w} " for w in [*_ABBREVIATIONS, "пар"])


def spell_out_abbreviations(text: str) -> str:
    """Most texts hold none: a few substring probes (C speed) spare them the regex."""
    padded = f" {text} "
    if any(probe in padded for probe in _ABBREVIATION_PROBES):
        return _ABBREVIATION.sub(_spell_out, text)
    return text


def _spell_out(m: re.Match) -> str:
    word = m.group(0)
    return "парадная" if word == "пар" else _ABBREVIATIONS[word]


def _latin_lookalikes_to_cyrillic(text: str) -> str:
    return _MIXED_WORD.sub(lambda m: m.group(0).translate(_LOOKALIKE), text)


def _placeholders(text: str) -> str:
    """Tags, links, e-mails, phones and numbers; the cheap `in` tests skip the regexes for the
    many texts that cannot contain them."""
    if "<" in text:
        text = _TAG.sub(" ", text)
    if "http" in text or "www." in text:
        text = _URL.sub(" _url_ ", text)
    if "@" in text:
        text = _EMAIL.sub(" _email_ ", text)
    if _DIGIT.search(text):
        text = _NUMBER.sub(" _num_ ", _PHONE.sub(" _phone_ ", text))
    return text


def normalize_text(text: str) -> str:
    return spell_out_abbreviations(normalize_piece(text))


def normalize_piece(text: str) -> str:
    """normalize_text without spelling out abbreviations (which looks at a word's neighbours).
    Apart from entities, tags, links, e-mails (`crosses_whitespace`) and phone numbers
    (`has_phone`), no step here crosses whitespace: a text's result is its whitespace-separated pieces' results joined by
    spaces (pipeline.textbatch relies on it)."""
    if "&" in text:
        text = html.unescape(text)
    text = text.replace("\xa0", " ")
    if _LATIN.search(text):  # most texts have no Latin letters at all
        text = _latin_lookalikes_to_cyrillic(text)
    text = _placeholders(text.lower().replace("ё", "е"))
    return _NON_WORD.sub(" ", _REPEAT.sub(r"\1", text)).strip()


def crosses_whitespace(piece: str) -> bool:
    """Whether `normalize_piece` of a text holding this whitespace-free piece may work across
    pieces: an entity, a tag, a link or an e-mail may start in it (a superset of `_placeholders`'
    own tests). Phone numbers, which may too, are `phone_signs` and then `has_phone`."""
    if "&" in piece or "<" in piece or "@" in piece:
        return True
    low = piece.lower()
    return "http" in low or "www." in low


# A phone number (_PHONE) in a text has "+7" or "8", then maybe "(" or "-", then "7" in one piece, or
# a piece ending in "+7" or "8" (and maybe "(" or "-") and a later one starting with a "7" (idem).
_PHONE_WITHIN = re.compile(r"(?:\+7|8)[(-]*7")
_PHONE_OPEN = re.compile(r"(?:\+7|8)[(-]*$")
_PHONE_CLOSE = re.compile(r"^[(-]*7")


def phone_signs(piece: str) -> tuple[bool, bool, bool]:
    """(a phone number may start and go on in this piece, may start at its end, may go on at its
    start): a text may hold one (`has_phone`) only with the first, or with the second and the third."""
    if "8" not in piece and "+7" not in piece:
        return False, False, _PHONE_CLOSE.match(piece) is not None
    return (_PHONE_WITHIN.search(piece) is not None, _PHONE_OPEN.search(piece) is not None,
            _PHONE_CLOSE.match(piece) is not None)


def has_phone(text: str) -> bool:
    return _PHONE.search(text) is not None


# normalize_text is normalize_piece for a text none of whose words is one of these
ABBREVIATION_WORDS = frozenset([*_ABBREVIATIONS, "пар"])


def normalize_series(texts: pd.Series) -> pd.Series:
    values = texts.fillna("").astype(str).tolist()
    return pd.Series([normalize_text(t) for t in values], index=texts.index, dtype=object)


def normalize(text: str) -> str:
    return normalize_text("" if text is None else str(text))


# ---- courtesy: greetings, forms of address, thanks and "please" (data/courtesy.csv) ------------------
COURTESY_FILE = "courtesy.csv"
_GAP = r"[\s,.!?:;«»\"'()–—-]*"


def phrase_pattern(phrase: str) -> str:
    """A phrase's words in any case with any punctuation between; a word ending in * takes any ending."""
    words = phrase.split()
    return _GAP.join(re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) for w in words)


@functools.cache
def _courtesy_heads() -> tuple[str, ...]:
    """The lowercased beginnings (up to 4 letters) of every phrase's first word: a text holding
    none of them (plain substring tests, in C) holds no phrase and skips the regular expression."""
    from pipeline import reference

    frame = pd.read_csv(reference.DATA / COURTESY_FILE, dtype=str, keep_default_na=False)
    heads = set()
    for phrase in frame.loc[frame["kind"] != "address", "phrase"]:  # an address only follows a greeting
        words = [w.rstrip("*").lower() for w in phrase.split()]
        if words:
            heads.add(next((w for w in words if len(w) >= 3), words[0])[:4])
    return tuple(sorted(heads))


@functools.cache
def _courtesy() -> re.Pattern:
    from pipeline import reference

    frame = pd.read_csv(reference.DATA / COURTESY_FILE, dtype=str, keep_default_na=False)
    by_kind = {k: sorted(g["phrase"], key=len, reverse=True) for k, g in frame.groupby("kind")}
    alt = lambda kind: "|".join(phrase_pattern(p) for p in by_kind.get(kind, []))  # noqa: E731
    # a greeting with up to three words of address after it (Уважаемые сотрудники акимата!), a
    # closing, or a "please", each as whole words, with the punctuation that follows it
    return re.compile(r"(?<!\w)(?:(?:" + alt("greeting") + r")(?:" + _GAP + r"(?:" + alt("address") + r")){0,3}"
                      r"|" + alt("closing") + r")(?!\w)[\s,.!?:;]*"
                      r"|(?:,\s*)?(?<!\w)(?:" + alt("please") + r")(?!\w)[\s,]*", re.IGNORECASE)


_SPACE_BEFORE = re.compile(r"\s+([,.!?:;])")
_LEADING = re.compile(r"^[\s,.!?:;–—-]+")
_TRAILING_COMMA = re.compile(r"[\s,:;–—-]+$")


def strip_courtesy(text: str) -> str:
    """A resident's text without greetings, forms of address, thanks and "please" (Здравствуйте!,
    Уважаемый аким, Құрметті әкім мырза, Заранее спасибо, Рахмет, пожалуйста, өтінемін): what every
    letter may say and no idea is about. The rest is kept as written (case, punctuation)."""
    if not isinstance(text, str) or not text:
        return ""
    lowered = text.lower()
    if not any(head in lowered for head in _courtesy_heads()):
        return " ".join(text.split())
    out = " ".join(_courtesy().sub(" ", text).split())
    return _TRAILING_COMMA.sub("", _LEADING.sub("", _SPACE_BEFORE.sub(r"\1", out)))
