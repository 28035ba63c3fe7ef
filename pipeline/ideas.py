"""Ideas (residents' proposals that say the same thing) and incidents (complaints about one event).

Proposals are the submissions of the QR/proposal source (`PROPOSAL_SOURCE`, 'qr': the public form
hands its submissions to ingest under it). Each proposal belongs to one idea; an idea has its
supporters (proposals), districts, placements, first and last date and a representative text (the
proposal most similar to the idea's centre).

**Similarity.** A text's features are its word stems (`pipeline.search.doc_key`: Snowball for
Russian, our suffix rules for Kazakh, both readings of a Cyrillic word without Kazakh letters in a
Kazakh text), with Kazakh letters folded to their Russian look-alikes (Байтұрсынов = Байтурсынов),
mapped through a small bilingual vocabulary of city words (`data/ideas_words.csv`: бағдаршам ->
светофор, орнату -> установить, ...) so that the Russian and the Kazakh wording of one proposal
share features, and with a few words every proposal says (предлагаю, нужно; the vocabulary's
concept "-": каждый, бірақ) left out. Greetings, forms of address, thanks and "please" are stripped
first (`textnorm.strip_courtesy`, data/courtesy.csv), then a letter's stock sentences (`strip_stock`:
who writes, that nobody answered, taxes; data/stock_phrases.csv and the sentences a batch repeats
at different places) and places named for comparison (как в Астане); numbers that measure (20
минут, с 19 до 23 часов, 20:00) are no names. Features are weighted by TF-IDF (binary term
frequency; in a long letter the vocabulary's words weigh `CONCEPT_WEIGHT`) and compared by cosine.

**Long letters** (300-400 characters: a greeting, who writes, what happened, the request, thanks)
say their idea in a few words among many. Words said only in sentences of context (not the first
sentence, not one that asks: предлагаю, прошу, керек, an imperative) weigh `CONTEXT_WEIGHT`; a
similarity between texts of many features is lifted by `LENGTH_POWER` (so one threshold serves
short notes and letters); between long texts, the words besides places and numbers must be similar
too (`TOPIC_SHARE`: two topics at one place). A place's word counts once, as the name, and place
keys meet across Russian and Kazakh spellings (`pipeline.placenames`: Кунаева, Қонаев).

**Topics and cities.** What the sentences carrying a letter ask for is its topic (the vocabulary's
concepts grouped by `data/ideas_topics.csv`: lighting, toilet, seating_shelter), and the cities it
names (`placenames.cities`, `data/cities.csv`) are where it is: a proposal never joins, and two
ideas never merge, when both have topics and none in common or both name cities and none in common
(`TOPIC_APART`, `CITY_APART`). A city is one feature in Russian and Kazakh, and no place. In a long
letter each topic of the concepts it says is a feature too (`TOPIC_FEATURES`: "%lighting" for фонари,
освещение, темно, жарық), so letters asking for one thing in other words meet; ordinals in words are
numbers (`ORDINALS`: двенадцатый, жетінші are 12, 7), villages and residential areas places.

**Grouping** is one pass in time order (leader clustering): a proposal joins the idea whose centre
(the sum of its members' vectors) is most similar, if that similarity is at least `THRESHOLD`,
else it starts a new idea. Candidate ideas come from MinHash-LSH buckets of the members' feature
sets (`BANDS` bands of `ROWS` hashes), so a proposal is compared with a handful of ideas, not all.
`update` runs the same pass over proposals not yet grouped against the ideas as they are
(incremental: nothing is regrouped); `regroup` redoes every proposal that staff did not place,
keeping idea numbers where most of an idea's proposals stay together.

**Staff's word is final.** `merge` and `split` pin the proposals they move, and recording a
decision pins the idea's proposals: a regroup starts from the pinned proposals (each idea they are
in is a seed) and leaves them where they are.

**Incidents** use the stored search terms (`submissions.search_terms`): complaints (every other
source) of one category and district, each within `INCIDENT_HOURS` of an earlier one that names
the same street or place (`pipeline.placenames`, on the terms) or whose word set it shares at
least `INCIDENT_JACCARD` of (Jaccard), are one incident. Only incidents of `INCIDENT_MIN` or more
reports are stored; counts of single cases elsewhere are untouched.

Reads (`ideas_table`, `members`, `decisions`) are separate from writes (`merge`, `split`, `decide`,
`update`, `regroup`, `publish_decisions`); writes by a person take a viewer and check `idea:group`
or `idea:decide`; texts come back masked for viewers without `contacts`, and always masked in
what is published.
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import math
import sys
import re
import time
import zlib
from collections import Counter, defaultdict
from itertools import chain, islice
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipeline import placenames, privacy, reference, search, settings, store, textnorm
from pipeline.queries.rows import by_ids

log = logging.getLogger(__name__)

PROPOSAL_SOURCE = "qr"
THRESHOLD = 0.38       # mean cosine with an idea's members to join it (measured on tests/fixtures/ideas_labelled.csv)
BANDS, ROWS = 24, 1     # MinHash-LSH: a pair at Jaccard 0.1 is a candidate with p = 0.92, at 0.2 with 0.995 (rows of 2
                        # missed most pairs of long letters, which share a tenth of their words: p = 0.21 at 0.1)
BUCKET_CAP = 32         # ideas remembered per LSH bucket (a bucket of very common words stops growing)
MERGE_THRESHOLD = 0.26  # mean cosine between two ideas' proposals to merge them (0.30 measured on the labelled fixture; 0.26 since topic features, on heldout6)
MERGE_RATIO = 0.7       # and at least this share of the tighter idea's own mean cosine
MERGE_FANOUT = 16       # ideas per shared LSH bucket compared in the merge pass (the largest first)
CANDIDATES = 20         # ideas compared exactly per proposal: those sharing most buckets with it (12 missed some in longer letters)
INCIDENT_HOURS = 6      # a report joins an earlier one of its category and district at most this much later
INCIDENT_JACCARD = 0.5  # if they share this much of their word sets (Jaccard), or name one street or place
INCIDENT_MIN = 3        # reports an incident needs; fewer stay single cases
DECISIONS = ("accepted", "under_study", "not_accepted")
HALF_LIFE_DAYS = 60     # ranking: a proposal counts half as much after 60 days
WORDS_FILE = reference.DATA / "ideas_words.csv"
TOPICS_FILE = reference.DATA / "ideas_topics.csv"

_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
PREFIX = 4              # letters of a word compared (measured: 4 > 5 > 6 on the labelled fixture)
STRICT_NAMES = True
STEM_FIRST = True       # a word's stem, not the word, is cut to PREFIX letters (хана, ЦУМа: хан, ЦУМ)
NAME_WEIGHT = 1.5       # names and numbers weigh more than other words (2.0 made two topics at one
                        # place in long letters one idea: dogs and a pool in Туран)
NAME_ONCE = True        # a place's word is not a plain word besides (Асар: @асар, not асар as well)
# Long letters: a letter says its idea in a few words among many of context (greetings, who writes,
# what happened), so two letters of one idea share a smaller part of their features than two short
# notes do and their cosine is lower. A similarity between texts of n1 and n2 features (their
# geometric mean n) is divided by (n / LENGTH_PIVOT) ** LENGTH_POWER when n > LENGTH_PIVOT, so one
# threshold serves short notes (unchanged) and long letters.
LENGTH_PIVOT = 8.0
LENGTH_POWER = 0.5
# Two topics at one place (stray dogs and a pool in Туран) share the place; in a long letter the
# place is then much of what is left once context weighs little. Between long texts (the lift above
# at least TOPIC_FROM) a proposal joins an idea, and two ideas merge, only if their words besides places and
# numbers are similar too, at least TOPIC_SHARE of the threshold. Short notes are mostly the place
# and the thing, and keep the former rule.
TOPIC_SHARE = 0.4
TOPIC_FROM = 1.22        # "long" for that: a lift of 1.22, texts of 1.5 times LENGTH_PIVOT features (12)
# (folded, as the features are: ұсынамын is усын)
_GENERIC_PREFIXES = frozenset(w.translate(_FOLD)[:PREFIX] for w in """предлагаю предложение нужно прошу просим
просьба хотелось идея жители город горожане пожалуйста спасибо уважаемые добрый день здравствуйте можно
было бы ұсынамын рахмет сәлеметсіз өтінемін сұраймын керек қажет
улица проспект микрорайон мкр район көше даңғыл аудан шағын""".split())  # and what kind of place a name is
LEXICON_PREFIXES = True  # a word the vocabulary misses by its stem is looked up by its first letters
# In a long letter (CONCEPT_FROM features or more) the words the bilingual vocabulary knows (the
# city's things and doings: фонарь, аялдама, ремонт) are what the idea is about, and the only words
# a Russian and a Kazakh letter can share; the rest is narrative in one language. They weigh
# CONCEPT_WEIGHT times as much. Short notes are mostly such words and keep plain weights.
CONCEPT_WEIGHT = 1.3
CONCEPT_FROM = 14
# Letters of one idea name its thing in other words (фонари, освещение, темно, жарық; лифт, пандус):
# each topic of the concepts a letter says, in any sentence, is a feature of its own besides them
# (TOPIC_FEATURES, "%lighting"), weighing TOPIC_WEIGHT (not discounted as context): two letters asking
# for light in other words share it. Places, numbers and cities still part ideas of one topic. Only
# in long letters (CONCEPT_FROM features or more): a short note is mostly its thing's words already,
# and a topic shared would bring two notes of one topic at one place too near.
TOPIC_FEATURES = True
TOPIC_WEIGHT = 0.5
STOCK = True             # letters' sentences of stock are left out (see strip_stock)
# What an idea asks for is its topic: the vocabulary's concepts of things asked for, grouped by
# data/ideas_topics.csv (фонарь, освещение, темно: lighting; скамейка, навес: seating_shelter),
# said in the sentences that carry the idea. Two letters at one place asking for different things
# (lighting and the stairs in one underpass) share the place and much of their narrative; two
# letters asking for one thing in different cities share all their words but the city. A proposal
# does not join an idea, nor two ideas merge, when both have topics and none in common
# (TOPIC_APART), or both name cities (placenames.cities) and none in common (CITY_APART).
TOPIC_APART = True
CITY_APART = True
# A proposal naming every place an idea mostly names and more joins it by its words without names
# only when it is longer than the idea's proposals on average: a longer letter naming the way there
# ("на Байдибек би, от Тауке хана до Жибек жолы"), not a note of the same length at another place.
NONE_LONGER = True
# Between long letters (TOPIC_FROM) the names of one may be among the other's whatever their lengths:
# a proposal naming the idea's places and more joins it by its words without names (as a longer one
# does), and two ideas merge when one's main places are among the other's (the street; the street and
# the school beside it), their words besides names similar too (TOPIC_SHARE). Short notes keep the
# rules above: between them merges chained from street to street (bench/ideas.py P 0.984 -> 0.865).
LONG_SUBSET = True
# A long letter naming no place the idea's proposals do not name and speaking of a topic they speak of
# (their topic features) joins it though its words besides the places are few (TOPIC_SHARE is for
# two topics at one place): gas for Тассай said as газ, газопровод, голубое топливо.
SAME_TOPIC_PLACE = True


class IdeaError(ValueError):
    """A refused action. str() is English for the command line; pages show `ideas.error.<code>`."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code = code
        self.params = params


# ---- features --------------------------------------------------------------------------------
GENERIC_CONCEPT = "-"   # a vocabulary row whose concept is "-" is a word every letter may say: left out


def _concept_targets(concepts: tuple[str, ...]) -> dict[str, str]:
    """concept -> its feature: the first PREFIX letters of its stem (folded), or as many more as
    set it apart from every other concept's (парк, парко: a park is no parking; детск, детса)."""
    stems = {c: (search.stems(c, kazakh_context=False) or ("",))[0].translate(_FOLD) for c in concepts}
    out = {}
    for c, st in stems.items():
        n = PREFIX
        while n < len(st) and any(o != st and o[:n] == st[:n] for o in stems.values()):
            n += 1
        out[c] = st[:n]
    return out


@functools.cache
def _targets() -> dict[str, str]:
    """The vocabulary's concepts (without "-") -> their features (`_concept_targets`)."""
    frame = pd.read_csv(WORDS_FILE, dtype=str, keep_default_na=False)
    return _concept_targets(tuple(sorted(set(frame["concept"]) - {GENERIC_CONCEPT})))


@functools.cache
def _topics() -> dict[str, frozenset]:
    """A concept's feature -> its topics (data/ideas_topics.csv, a row per concept and topic: a lift
    is a lift and access for the disabled, as a ramp is; concepts of no topic are absent)."""
    frame = pd.read_csv(TOPICS_FILE, dtype=str, keep_default_na=False)
    targets = _targets()
    unknown = set(frame["concept"]) - set(targets)
    if unknown:
        raise ValueError(f"{TOPICS_FILE.name}: concepts not in {WORDS_FILE.name}: {', '.join(sorted(unknown))}")
    out: dict[str, set] = defaultdict(set)
    for r in frame.itertuples():
        out[targets[r.concept]].add(r.topic)
    return {f: frozenset(t) for f, t in out.items()}


@functools.cache
def _lexicon() -> dict[str, str]:
    """stem (and its folded form) -> the concept's stem, from data/ideas_words.csv ("-" for a word
    left out). A word's own reading (the word as written, or the concept) comes before the shorter
    stems other words of the vocabulary reduce to (жыл is a year, though жылу, heating, stems to жыл)."""
    frame = pd.read_csv(WORDS_FILE, dtype=str, keep_default_na=False)
    out: dict[str, str] = {}
    later: list[tuple[str, str]] = []
    targets = _targets()
    for row in frame.itertuples():
        if row.concept == GENERIC_CONCEPT:
            target, concept = GENERIC_CONCEPT, ()
        else:
            concept = search.stems(row.concept, kazakh_context=False)
            if not concept:
                continue
            target = targets[row.concept]
        word = row.word.lower().replace("ё", "е")
        out.setdefault("=" + word.translate(_FOLD), target)  # the form as written, before any stem
        readings = search.stems(row.word, kazakh_context=row.lang == "kk") + search.stems(row.word, False) + concept
        for reading in readings:
            if reading == word or reading in concept:
                out.setdefault(reading, target)
                out.setdefault(reading.translate(_FOLD), target)
            else:
                later.append((reading, target))
    for reading, target in later:
        out.setdefault(reading, target)
        if len(reading) > 3:  # a short stem folded meets other words (түтін, түт: smoke; тұтқа, тұт: a handrail)
            out.setdefault(reading.translate(_FOLD), target)
    return out


@functools.cache
def _lexicon_prefixes() -> dict[str, tuple[tuple[str, str, str], ...]]:
    """A vocabulary word's first PREFIX letters (folded) -> (its language, its stem, folded; its
    concept), for the word's other forms the stemmers leave longer or shorter (`_prefix_concept`)."""
    frame = pd.read_csv(WORDS_FILE, dtype=str, keep_default_na=False)
    lex = _lexicon()
    seen: dict[str, set] = defaultdict(set)
    for row in frame.itertuples():
        kk = row.lang == "kk"
        for reading in search.stems(row.word, kazakh_context=kk):
            if len(reading) > PREFIX and reading in lex:
                folded = reading.translate(_FOLD)
                seen[folded[:PREFIX]].add((row.lang, folded, lex[reading]))
    return {p: tuple(sorted(t)) for p, t in seen.items()}


@functools.cache
def _concepts() -> frozenset:
    """The features that are concepts of the vocabulary (CONCEPT_WEIGHT)."""
    return frozenset(_lexicon().values()) - {GENERIC_CONCEPT}


_VOICED = {"к": "г", "п": "б"}  # folded қ/к, п before a vowel: бұрқақ, бұрқағы; кітап, кітабы
RU_SHARED = 7  # a Russian form shares this many first letters with a vocabulary stem (отремонтируют)


def _prefix_match(lang: str, s: str, stem: str) -> bool:
    if lang == "kk":  # the stem, its last қ/к/п voiced, or a verb's root (its infinitive -у off)
        return len(s) > PREFIX and (stem.startswith(s) or stem.startswith(s[:-1] + _VOICED.get(s[-1], s[-1]))
                                    or (s[-1] == "у" and stem.startswith(s[:-1])))
    return len(s) >= RU_SHARED and stem[:RU_SHARED] == s[:RU_SHARED]


def _prefix_concept(stem: str) -> str | None:
    """The concept of a form the stemmers leave apart from its vocabulary word, by the vocabulary
    stem it begins with: Kazakh (жөндеу, жөндеп; бұрқақ, бұрқағы; Snowball meets most Russian
    forms) when it begins with the stem, its last қ/к/п voiced, or with a verb's root, so that
    отырмын (I sit) is not отырғызу (to plant), nor Тұран тұрақ (a parking), nor Қаратау қараңғы
    (dark), nor халықаралық (international) халық (people): of five letters or more; Russian when it
    shares RU_SHARED letters with it (отремонтируют, отремонтировать). The longest such stem
    decides, if one concept has it."""
    found = [(len(s), c) for lang, s, c in _lexicon_prefixes().get(stem[:PREFIX], ()) if _prefix_match(lang, s, stem)]
    if not found:
        return None
    longest = max(n for n, _ in found)
    concepts = {c for n, c in found if n == longest}
    return next(iter(concepts)) if len(concepts) == 1 else None


_NUMBER = re.compile(r"\d+")
# a number that measures (20 минут, 45 градусов, 50%, 80 км/ч, 2 рет) or tells the time (20:00) is a
# word like any other, not a name that sets ideas apart (дом 12, школа №45, 8 автобус): "до 23 часов"
# and "23-ке дейін" must not part one idea for want of a unit, nor "с 19 до 23 часов" for the first of a range
_QUANTITY = re.compile(r"(?:(\d+)\s*(?:-|–|—|до)\s*)?(\d+)(?:[.,:](\d+))*\s*(?:-\s*)?(?:%|°|₸|(?<!-)(?:км|м|см|мм|кг|тг|чел|мин|сек|ч)\b|(?:минут|час|"
                       r"секунд|метр|километр|градус|лет|год|раз|процент|тенге|рубл|человек|семей|дней|дня|день|сут|"
                       r"недел|месяц|тысяч|миллион|млн|сағат|жыл|рет|пайыз|теңге|адам|күн|апта|мың)\w*)"
                       r"|(\d{1,2}):(\d{2})(?!\d)", re.IGNORECASE)
# a capitalised word not at the start of a sentence (where every verb is capitalised)
_CAPITAL = re.compile(r"(?<=[^.!?\s]\s)[А-ЯЁӘҒҚҢӨҰҮҺІ][а-яёәғқңөұүһі]{2,}|(?<=[^.!?]\s[«\"(])[А-ЯЁӘҒҚҢӨҰҮҺІ][а-яёәғқңөұүһі]{2,}")


class Doc(NamedTuple):
    feats: frozenset   # comparable features
    names: frozenset   # of them, the proper names and numbers: places that set ideas apart
    context: frozenset = frozenset()  # of them, those said only in sentences of context (CONTEXT_WEIGHT)
    topics: frozenset = frozenset()   # what it asks for (TOPIC_APART), from the sentences that carry it
    cities: frozenset = frozenset()   # the cities it names (CITY_APART)


# A letter's sentences of context (who writes, since when, that nobody answered) say nothing of its
# idea. The sentences that ask (a request word or an imperative), and the first one, carry the idea
# (a lack is no sign: "ештеңе өзгерген жоқ", nothing has changed, is context); words said only in
# other sentences weigh CONTEXT_WEIGHT. A text of one sentence (short notes) is all carrying.
CONTEXT_WEIGHT = 0.3
# (not after the abbreviations of addresses: "ул. Абая", "мкр. Самал-1", "д. 5")
_ABBREVIATIONS = ("ул", "пр", "просп", "мкр", "мкрн", "пл", "г", "д", "им", "обл", "р-н", "кв", "тел", "т.е", "т.д")
_SENTENCE = re.compile(r"(?<=[.!?…])" + "".join(rf"(?<!\b{re.escape(a)}\.)" for a in _ABBREVIATIONS)
                       + r"\s+|\n+|;\s+", re.IGNORECASE)
# the verbs that ask, not the nouns ("Соседи поддерживают это предложение", "Көршілер осы ұсынысты
# қолдайды": neighbours support it, is context)
_ASKS = re.compile(r"предлага|прошу|просим|просят|просьба|\bнуж[ен]|\bнадо\b|необходим|требует|\bпора\b|давайте"
                   r"|хотим|хотелось|керек|қажет|сұрай|ұсынам|ұсынып|өтінем|\w{3,}(?:йте|ите|ьте)\b"
                   r"|\w+ң[ыі]з(?:дар|дер)?(?:шы|ші)?\b", re.IGNORECASE)


# "как в Астане", "как в Европе и в Алматы", "Алматыдағы сияқты", "Астанадағыдай": a place named for
# comparison is not where the idea is, and says nothing of what it is; left out
_COMPARISON = re.compile(r"(?<!\w)как\s+(?:в|во|на)\s+[^\W\d_]+(?:\s*(?:,|и)\s*(?:в|во|на)?\s*[А-ЯЁ][^\W\d_]+)*"
                         r"|(?<!\w)[^\W\d_]+(?:дағы|дегі|тағы|тегі)\s+(?:сияқты|секілді|тәрізді)(?!\w)"
                         r"|(?<!\w)[^\W\d_]+(?:дағыдай|дегідей|тағыдай|тегідей)(?!\w)", re.IGNORECASE)


# Ordinal numbers written in words name what digits name: a route, a microdistrict, a school, a house
# ("ждём двенадцатый", "под девятым микрорайоном", "жетінші шағынаудан", "двадцать первый автобус":
# 12, 9, 7, 21). They are read as digits (ORDINALS), from the third on: первый and второй, бірінші and
# екінші are mostly no numbers (в первую очередь, парк Первого Президента, екінші рет).
ORDINALS = True
_RU_ORD_END = r"(?:ый|ий|ой|ая|яя|ое|ее|ые|ие|ого|его|ому|ему|ым|им|ом|ем|ую|юю|ых|их|ыми|ими)"
_RU_UNITS = {"трет": 3, "четверт": 4, "четвёрт": 4, "пят": 5, "шест": 6, "седьм": 7, "восьм": 8, "девят": 9, "десят": 10,
             "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13, "четырнадцат": 14, "пятнадцат": 15,
             "шестнадцат": 16, "семнадцат": 17, "восемнадцат": 18, "девятнадцат": 19, "двадцат": 20, "тридцат": 30,
             "сороков": 40, "пятидесят": 50}
_RU_TENS = {"двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60, "семьдесят": 70,
            "восемьдесят": 80, "девяносто": 90}
_RU_LOW = {"перв": 1, "втор": 2}  # only after tens: двадцать первый
_KK_UNITS = {"бір": 1, "екі": 2, "үш": 3, "төрт": 4, "бес": 5, "алты": 6, "жеті": 7, "сегіз": 8, "тоғыз": 9,
             "он": 10, "жиырма": 20, "отыз": 30, "қырық": 40, "елу": 50}
_KK_TENS = {"он": 10, "жиырма": 20, "отыз": 30, "қырық": 40, "елу": 50, "алпыс": 60, "жетпіс": 70, "сексен": 80,
            "тоқсан": 90}
_RU_ORDINAL = re.compile(r"(?<![^\W\d_])(?:(" + "|".join(_RU_TENS) + r")\s+)?(" + "|".join(sorted(
    list(_RU_UNITS) + list(_RU_LOW) + ["трет"], key=len, reverse=True)) + r")(?:ь)?(" + _RU_ORD_END
    + r"|ья|ье|ьего|ьему|ьим|ьем|ью|ьи|ьих)(?![^\W\d_])", re.IGNORECASE)
_KK_ORDINAL = re.compile(r"(?<![^\W\d_])(?:(" + "|".join(_KK_TENS) + r")\s+)?(" + "|".join(sorted(
    _KK_UNITS, key=len, reverse=True)) + r")(?:[ыі]?н(?:шы|ші))[^\W\d_]*", re.IGNORECASE)


def _ru_ordinal(m: re.Match) -> str:
    tens, unit = m.group(1), m.group(2).lower()
    value = _RU_UNITS.get(unit) or (_RU_LOW.get(unit) if tens else None)
    if value is None or (unit == "трет" and not m.group(3).lower().startswith(("ий", "ья", "ье", "ьего", "ьему", "ьим",
                                                                              "ьем", "ью", "ьи", "ьих"))):
        return m.group()
    return str(value + (_RU_TENS[tens.lower()] if tens and value < 10 else 0))


def _kk_ordinal(m: re.Match) -> str:
    tens, unit = m.group(1), m.group(2).lower()
    value = _KK_UNITS[unit] + (_KK_TENS[tens.lower()] if tens and _KK_UNITS[unit] < 10 else 0)
    if value < 3:
        return m.group()
    return str(value)


def ordinals_to_digits(text: str) -> str:
    """Ordinal numbers in words as digits, from 3 on (see ORDINALS)."""
    return _KK_ORDINAL.sub(_kk_ordinal, _RU_ORDINAL.sub(_ru_ordinal, text))


_WORD_FEATURE: tuple[dict, dict] = ({}, {})  # word -> (feature or None, from the vocabulary), [kazakh text]


def _word_feature(word: str, kazakh: bool) -> tuple[str | None, bool]:
    cache = _WORD_FEATURE[kazakh]
    found = cache.get(word)
    if found is None:
        lex = _lexicon()
        stems = search.stems(word, kazakh)
        if not stems:
            found = (None, False)
        else:
            hit = lex.get("=" + word.translate(_FOLD)) or next(
                (lex[x] for s in stems for x in (s, s.translate(_FOLD)) if x in lex), None)
            f = hit or (stems[0] if STEM_FIRST else word).translate(_FOLD)[:PREFIX]
            if hit is None and LEXICON_PREFIXES and len(stems[0]) >= PREFIX:
                hit = _prefix_concept(stems[0].translate(_FOLD))
                f = hit or f
            generic = f == GENERIC_CONCEPT or f in _GENERIC_PREFIXES or (hit and f[:PREFIX] in _GENERIC_PREFIXES)
            found = (None, False) if generic else (f, hit is not None)
        if len(cache) > 500_000:
            cache.clear()
        cache[word] = found
    return found


@functools.cache
def _phrases() -> re.Pattern:
    """The greetings and sign-offs letters open and close with (data/demo/phrases.csv: openers and
    closings), as one pattern of their words in any case, with any punctuation between."""
    frame = pd.read_csv(reference.DATA / "demo" / "phrases.csv", dtype=str, keep_default_na=False)
    texts = sorted({t for t in frame.loc[frame["kind"].isin(["opener", "closing"]), "text"] if t.strip()},
                   key=len, reverse=True)
    parts = [r"[\s.,!?:;«»\"'()–—-]*".join(re.escape(w) for w in re.findall(r"\w+", t)) for t in texts]
    return re.compile(r"(?<!\w)(?:" + "|".join(p for p in parts if p) + r")(?!\w)[\s.,!?:;]*", re.IGNORECASE)


def strip_phrases(text: str) -> str:
    """A text without the openers and closings every letter may carry (case-insensitive)."""
    return _phrases().sub(" ", text)


# ---- letter stock ------------------------------------------------------------------------------
# Long letters carry sentences any letter may carry, whatever it asks for: who writes ("Я живу в
# этом районе двадцать лет", "Мен зейнеткермін"), that nobody answered ("Бұрын да жазғанбыз, бірақ
# жауап болмады"), taxes and rights, social networks, hopes for the budget. Such a sentence is left
# out of the features altogether (as a greeting is), when it holds a phrase of data/stock_phrases.csv
# or when a batch writes it word for word in STOCK_MIN texts or more that name different places.
# Never a sentence that asks, names a place or holds a number: that is the idea, not its frame.
STOCK_FILE = reference.DATA / "stock_phrases.csv"
STOCK_MIN = 3
STOCK_REST = 6  # words a letter keeps without its stock, or its stock stays (a short note is all idea)


@functools.cache
def _stock() -> re.Pattern:
    frame = pd.read_csv(STOCK_FILE, dtype=str, keep_default_na=False)
    phrases = sorted({p for p in frame["phrase"] if p.strip()}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(textnorm.phrase_pattern(p) for p in phrases) + r")(?!\w)",
                      re.IGNORECASE)


_LETTERS = re.compile(r"[^\W\d_]+")


def _sentence_key(sentence: str) -> str:
    return " ".join(_LETTERS.findall(sentence.lower().replace("ё", "е")))


def _may_be_stock(sentence: str, learned: frozenset) -> bool:
    """A sentence that neither asks nor names a place or a number."""
    return not (_NUMBER.search(sentence) or _ASKS.search(sentence) or placenames.places(sentence, learned))


def stock_sentences(texts, learned: frozenset = frozenset()) -> frozenset[str]:
    """The sentences (as `_sentence_key`) a batch of texts writes word for word in STOCK_MIN texts
    or more, of letters naming at least two different places (a petition copied by the residents
    of one place is their idea, not stock), that neither ask nor name a place or a number."""
    where: dict[str, list[str]] = defaultdict(list)
    sample: dict[str, str] = {}
    for text in {t for t in texts if isinstance(t, str) and t}:
        parts = _SENTENCE.split(strip_phrases(text[:search.MAX_CHARS]))
        if len(parts) < 2:
            continue
        for part in parts:
            k = _sentence_key(part)
            if k.count(" ") >= 1:  # two words or more
                where[k].append(text)
                sample.setdefault(k, part)
    out = set()
    for k, found in where.items():
        if len(found) >= STOCK_MIN and _may_be_stock(sample[k], learned):
            named = {placenames.places(t, learned) for t in found[:50]} - {frozenset()}
            if len(named) >= 2:
                out.add(k)
    return frozenset(out)


def strip_stock(text: str, stock: frozenset = frozenset(), learned: frozenset = frozenset()) -> str:
    """A letter without its sentences of stock (see STOCK_FILE), the text itself when it has one
    sentence or fewer than STOCK_REST words would be left (a short note repeated at many places,
    "Запустить фонтан у драмтеатра, мкр. Самал", is all idea); sentences stay apart (one per line)."""
    parts = _SENTENCE.split(text)
    if len(parts) < 2:
        return text
    pattern = _stock()
    kept = [p for p in parts if not ((_sentence_key(p) in stock or pattern.search(p)) and _may_be_stock(p, learned))]
    if len(kept) == len(parts) or len(_LETTERS.findall(textnorm.strip_courtesy(" ".join(kept)))) < STOCK_REST:
        return text
    return "\n".join(kept)


def features(text: str, learned: frozenset = frozenset(), stock: frozenset = frozenset()) -> Doc:
    """A text's comparable features (see the module's docstring): per word its concept from the
    vocabulary, else its first PREFIX letters with Kazakh letters folded (Russian and Kazakh endings
    and the spellings of one name meet there); numbers as '#45'. Names are capitalised words that
    are neither in the vocabulary nor said by every proposal, and numbers. A word's feature is
    worked out once per process (cached), so a text costs its regular expressions and lookups."""
    raw = strip_phrases(text[:search.MAX_CHARS]) if isinstance(text, str) else ""
    if STOCK:
        raw = strip_stock(raw, stock, learned)
    raw = _COMPARISON.sub(" ", raw)
    if ORDINALS:
        raw = ordinals_to_digits(raw)
    text = textnorm.strip_courtesy(raw)
    words, kazakh = search.text_words(text)
    carrying: set[str] | None = None  # the words of the sentences that carry the idea
    if CONTEXT_WEIGHT != 1.0:
        # asking is read before the courtesy goes ("Шамдарын орнатуды өтінеміз": өтінеміз is a "please")
        sentences = [x for x in _SENTENCE.split(raw) if textnorm.strip_courtesy(x)]
        if len(sentences) > 1:
            carrying = set()
            said = []
            for k, sentence in enumerate(sentences):
                if k == 0 or _ASKS.search(sentence):
                    carrying.update(search.text_words(sentence)[0])
                    said.append(sentence)
    feats: set[str] = set()
    common: set[str] = set()
    core: set[str] = set()
    asked: set[str] = set()  # the vocabulary's concepts in the sentences that carry the idea
    places = placenames.places(text, learned) if STRICT_NAMES else frozenset()
    in_city = placenames.city_words(text) if CITY_APART else {}
    for w in set(words):
        f, hit = ("~" + in_city[w], False) if w in in_city else _word_feature(w, kazakh)
        if f is None:
            continue
        if places and not hit and NAME_ONCE and not placenames.word_keys(w).isdisjoint(places):
            continue  # the place's word: counted once, as the name
        feats.add(f)
        if carrying is None or w in carrying:
            core.add(f)
            if hit:
                asked.add(f)
        if hit:
            common.add(f)
    numbers: set[str] = set()
    if _NUMBER.search(text):
        quantities = {"#" + n for m in _QUANTITY.finditer(text) for n in m.groups() if n}
        numbers = {"#" + n for n in _NUMBER.findall(_QUANTITY.sub(" ", text))}
        feats |= quantities
        if carrying is not None and numbers:
            # a number said only in a sentence of context ("пока ждала 12 автобус") is a plain word: it
            # parts no idea (a route's number said in the request is a name)
            plain = numbers - {"#" + n for n in _NUMBER.findall(_QUANTITY.sub(" ", " ".join(said)))}
            feats |= plain
            core |= plain
            numbers -= plain
    if STRICT_NAMES:
        names = {"@" + k for k in places}
    else:  # the former rule: capitalised words not at a sentence's start (misses "ул. Абая", lower case)
        names = {_word_feature(w.lower().replace("ё", "е"), kazakh)[0] for w in _CAPITAL.findall(text)}
        names = (names & feats) - common
    topic_of = _topics()
    topics = frozenset(t for f in asked if f in topic_of for t in topic_of[f]) if TOPIC_APART else frozenset()
    cities = placenames.cities(raw) if CITY_APART else frozenset()
    if TOPIC_FEATURES and len(feats) >= CONCEPT_FROM:  # a letter's topics, in any sentence: a feature each ("%lighting")
        said = {"%" + t for f in common if f in topic_of for t in topic_of[f]}  # words the vocabulary knows
        feats = feats | said
        core = core | said
    return Doc(frozenset(feats | names | numbers), frozenset(names | numbers), frozenset(feats - core), topics, cities)


_rng = np.random.default_rng(20261130)
_A = _rng.integers(1, 1 << 61, BANDS * ROWS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 61, BANDS * ROWS, dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)


class Space:
    """The texts to group as vectors, computed once: TF-IDF weights (binary tf, smoothed idf over
    all the texts; names and numbers NAME_WEIGHT times), normalised to length 1, and the LSH bucket
    keys of each feature set (BANDS keys of ROWS MinHash values each, computed for all texts at once
    with numpy). Texts with the same features share one vector (`kind`), so a repeated wording
    costs one lookup."""

    def __init__(self, texts: list[str]):
        by_text: dict[str, Doc] = {}
        texts = [x if isinstance(x, str) else "" for x in texts]
        self.texts = texts  # for choosing a clean representative
        learned = placenames.learn(set(texts))
        stock = stock_sentences(texts, learned) if STOCK else frozenset()
        docs = [by_text.get(t) or by_text.setdefault(t, features(t, learned, stock)) for t in texts]
        kinds: dict[Doc, int] = {}
        self.kind = np.fromiter((kinds.setdefault(d, len(kinds)) for d in docs), dtype=np.int64, count=len(docs))
        unique = list(kinds)
        vocab: dict[str, int] = {}
        cols = [[vocab.setdefault(f, len(vocab)) for f in sorted(d.feats)] for d in unique]
        counts = np.bincount(self.kind, minlength=len(unique)) if len(unique) else np.zeros(0, int)
        lengths = np.fromiter((len(c) for c in cols), dtype=np.int64, count=len(cols))
        flat = np.fromiter((c for cc in cols for c in cc), dtype=np.int64, count=int(lengths.sum()))
        owner = np.repeat(np.arange(len(unique)), lengths)
        df = np.bincount(flat, weights=counts[owner], minlength=len(vocab))
        idf = np.log((1 + len(docs)) / (1 + df)) + 1.0
        name_of = {f for d in unique for f in d.names}
        words_list = list(vocab)
        is_name = np.zeros(len(vocab), dtype=bool)
        for f in name_of:
            is_name[vocab[f]] = True
        names_per_row = [frozenset(vocab[f] for f in d.names) for d in unique]
        w = idf[flat] if len(flat) else np.zeros(0)
        # a name weighs double only in a text that says it as a name (a capitalised word or a number)
        as_name = np.fromiter((c in names_per_row[o] for c, o in zip(flat.tolist(), owner.tolist())),
                              dtype=bool, count=len(flat))
        w = np.where(as_name, w * NAME_WEIGHT, w)
        if CONCEPT_WEIGHT != 1.0 and len(flat):
            concepts = _concepts()
            is_concept = np.array([f in concepts for f in words_list], dtype=bool)[flat]
            w = np.where(is_concept & ~as_name & (lengths >= CONCEPT_FROM)[owner], w * CONCEPT_WEIGHT, w)
        if TOPIC_FEATURES and TOPIC_WEIGHT != 1.0 and len(flat):
            is_topic = np.array([f[0] == "%" for f in words_list], dtype=bool)[flat]
            w = np.where(is_topic, w * TOPIC_WEIGHT, w)
        context_per_row = [frozenset(vocab[f] for f in d.context) for d in unique]
        if any(context_per_row):
            in_context = np.fromiter((c in context_per_row[o] for c, o in zip(flat.tolist(), owner.tolist())),
                                     dtype=bool, count=len(flat))
            w = np.where(in_context, w * CONTEXT_WEIGHT, w)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else np.zeros(0, np.int64)
        norm = np.sqrt(np.add.reduceat(w * w, starts)) if len(flat) else np.zeros(0)
        w = w / np.repeat(np.where(norm > 0, norm, 1.0), lengths) if len(flat) else w
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        flat_l, w_l = flat.tolist(), w.tolist()
        self.vectors = [dict(zip(flat_l[a:b], w_l[a:b])) for a, b in zip(bounds[:-1], bounds[1:])]
        self.names = names_per_row
        self.topics = [d.topics for d in unique]
        self.cities = [d.cities for d in unique]
        self.words = list(vocab)  # feature index -> feature
        self.bands = self._bands(flat, lengths, starts, vocab)
        # kept for `extend`: the idf is frozen at this size (a few new texts hardly move it)
        self._kinds, self._vocab, self._idf, self._learned = kinds, vocab, idf.tolist(), learned
        self._stock = stock
        self._size = len(docs)

    def extend(self, texts: list[str]) -> list[int]:
        """Add texts after the fact (the app's drain: a few new proposals against thousands):
        features, vector and bucket keys for the new ones only, with the idf frozen at
        construction (a feature never seen weighs as a feature of one text). Returns positions."""
        texts = [x if isinstance(x, str) else "" for x in texts]
        self._learned = self._learned | placenames.learn(set(texts))
        kinds, vocab = self._kinds, self._vocab
        new_kind = []
        for text in texts:
            doc = features(text, self._learned, self._stock)
            kind = kinds.get(doc)
            if kind is None:
                kind = kinds[doc] = len(kinds)
                cols = [vocab.setdefault(f, len(vocab)) for f in sorted(doc.feats)]
                self.words.extend(list(vocab)[len(self.words):])
                fresh = np.log(1 + self._size) + 1.0
                self._idf.extend([fresh] * (len(vocab) - len(self._idf)))
                names = frozenset(vocab[f] for f in doc.names)
                context = frozenset(vocab[f] for f in doc.context)
                concepts = _concepts() if len(cols) >= CONCEPT_FROM else frozenset()
                w = np.array([self._idf[c] * (NAME_WEIGHT if c in names else CONCEPT_WEIGHT if self.words[c] in concepts
                                              else 1.0)
                              * (CONTEXT_WEIGHT if c in context else 1.0)
                              * (TOPIC_WEIGHT if self.words[c][0] == "%" else 1.0) for c in cols])
                norm = float(np.sqrt((w * w).sum())) or 1.0
                self.vectors.append(dict(zip(cols, (w / norm).tolist())))
                self.names.append(names)
                self.topics.append(doc.topics)
                self.cities.append(doc.cities)
                local = {f: i for i, f in enumerate(sorted(doc.feats))}
                n = np.array([len(local)], dtype=np.int64)
                self.bands.append(self._bands(np.arange(len(local), dtype=np.int64), n,
                                              np.zeros(1, dtype=np.int64), local)[0])
            new_kind.append(kind)
        start = len(self.kind)
        self.texts.extend(texts)
        self.kind = np.concatenate([self.kind, np.array(new_kind, dtype=np.int64)])
        return list(range(start, len(self.kind)))

    @staticmethod
    def _bands(flat, lengths, starts, vocab) -> list[tuple[int, ...]]:
        """Per kind, BANDS bucket keys (ints): (a*x + b) mod 2^64 per feature hash x and hash
        function, the minimum per text (numpy's reduceat), ROWS minima mixed into one key per band."""
        if not len(flat):
            return [() for _ in lengths]
        words = list(vocab)
        hashed = np.fromiter((zlib.crc32(f.encode()) for f in words), dtype=np.uint64, count=len(words))
        nonempty = lengths > 0
        keys = np.zeros((len(lengths), BANDS), dtype=np.uint64)
        step = 20_000
        for lo in range(0, len(lengths), step):
            hi = min(lo + step, len(lengths))
            a, b = int(starts[lo]), int(starts[hi - 1] + lengths[hi - 1])
            x = hashed[flat[a:b]]
            with np.errstate(over="ignore"):
                h = (np.multiply.outer(x, _A) + _B) >> np.uint64(32)
            idx = starts[lo:hi] - a
            ok = nonempty[lo:hi]
            mins = np.zeros((hi - lo, BANDS * ROWS), dtype=np.uint64)
            if ok.any():
                mins[ok] = np.minimum.reduceat(h, idx[ok], axis=0)
            m = mins.reshape(hi - lo, BANDS, ROWS)
            with np.errstate(over="ignore"):
                k = np.arange(BANDS, dtype=np.uint64)[None, :] * _MIX
                for r in range(ROWS):
                    k = (k ^ m[:, :, r]) * _MIX
            keys[lo:hi] = k
        keys_l = keys.astype(np.int64).tolist()
        return [tuple(k) if n else () for k, n in zip(keys_l, nonempty.tolist())]


def _same_name(a: str, b: str) -> bool:
    """One place (keys equal or a swapped pair of letters: placenames.same) or one number."""
    return a == b or (a[0] == b[0] == "@" and placenames.same(a[1:], b[1:]))


def _names_agree(na: set, nb: set) -> bool:
    """Two ideas mostly give the same places and numbers (typo-tolerant): none that the other
    does not give. (One's names among the other's was tried: merges chain from street to street,
    bench/ideas.py precision 0.984 -> 0.865.)"""
    return _names_within(na, nb) and _names_within(nb, na)


def _names_within(na: set, nb: set) -> bool:
    """Every name of `na` is one of `nb`'s (typo-tolerant)."""
    return all(any(_same_name(a, b) for b in nb) for a in na)


def _disjoint(a, b) -> bool:
    """Both have something (sets, or Counters of positive counts) and nothing in common."""
    if len(a) > len(b):
        a, b = b, a
    return bool(a) and bool(b) and not any(k in b for k in a)


class Grouper:
    """The one-pass grouping over a `Space`: each idea as the sum of its members' vectors, the names
    its members give, and LSH buckets of its members' features pointing to it. Items are positions
    in the space.

    A proposal's similarity to an idea is its mean cosine with the idea's members (average link:
    the sum's dot product over the member count). A proposal does not join an idea whose members
    never name a place or number it names (the same traffic light at another crossing is another
    idea), unless it names every place the idea mostly names besides (a longer letter that also
    says the way there) and its words without the names are similar enough."""

    def __init__(self, space: Space, threshold: float = THRESHOLD):
        self.space = space
        self.threshold = threshold
        self.centre: dict[int, dict[int, float]] = {}
        self.names: dict[int, Counter] = {}
        # the members' topics and cities (TOPIC_APART, CITY_APART), counts above zero only
        self.topics: dict[int, Counter] = defaultdict(Counter)
        self.cities: dict[int, Counter] = defaultdict(Counter)
        self.buckets: dict[int, list[int]] = defaultdict(list)
        self.members: dict[int, list[int]] = defaultdict(list)
        self.length: dict[int, int] = defaultdict(int)  # the members' feature counts, summed
        self._kind_idea: dict[int, int] = {}  # a feature set's last placement: the same wording joins it again

    def add(self, idea: int, item: int) -> None:
        kind = int(self.space.kind[item])
        vec = self.space.vectors[kind]
        c = self.centre.setdefault(idea, {})
        for f, v in vec.items():
            c[f] = c.get(f, 0.0) + v
        names = self.names.setdefault(idea, Counter())
        for n in self.space.names[kind]:
            names[n] += 1
        counts = self.topics[idea]
        for k in self.space.topics[kind]:
            counts[k] += 1
        counts = self.cities[idea]
        for k in self.space.cities[kind]:
            counts[k] += 1
        members = self.members[idea]
        members.append(item)
        self.length[idea] += len(vec)
        if self._kind_idea.get(kind) == idea and len(members) > 1:
            return  # the same features are in the idea's buckets already
        self._kind_idea[kind] = idea
        for key in self.space.bands[kind]:
            bucket = self.buckets[key]
            if idea not in bucket and len(bucket) < BUCKET_CAP:
                bucket.append(idea)

    def rename(self, old: int, new: int) -> None:
        """Give an idea its final number once grouping is over (the buckets are dropped: no more
        proposals are placed after renaming)."""
        for table in (self.centre, self.names, self.topics, self.cities, self.members, self.length):
            table[new] = table.pop(old)
        self.buckets.clear()
        self._kind_idea.clear()

    def remove(self, idea: int, item: int) -> None:
        kind = int(self.space.kind[item])
        c = self.centre[idea]
        for f, v in self.space.vectors[kind].items():
            c[f] -= v
        names = self.names[idea]
        for n in self.space.names[kind]:
            names[n] -= 1
        for table, said in ((self.topics, self.space.topics[kind]), (self.cities, self.space.cities[kind])):
            counts = table[idea]
            for k in said:
                counts[k] -= 1
                if counts[k] <= 0:
                    del counts[k]
        self.members[idea].remove(item)
        self.length[idea] -= len(self.space.vectors[kind])

    def _lift(self, idea: int, size: float, n: int | None = None) -> float:
        """The length factor (see LENGTH_PIVOT) for a text of `size` features against an idea."""
        n = n or len(self.members[idea])
        mean = math.sqrt(max(size, 1) * max(self.length[idea] / n, 1))
        return (mean / LENGTH_PIVOT) ** LENGTH_POWER if mean > LENGTH_PIVOT else 1.0

    def _long(self, idea: int, kind: int) -> bool:
        return self._lift(idea, len(self.space.vectors[kind])) >= TOPIC_FROM

    def similarity(self, idea: int, kind: int) -> float:
        n = len(self.members.get(idea, ()))
        if not n:
            return 0.0
        c = self.centre[idea]
        vec = self.space.vectors[kind]
        return sum(v * c.get(f, 0.0) for f, v in vec.items()) / n * self._lift(idea, len(vec), n)

    def conflicts(self, idea: int, kind: int) -> bool | None:
        """True when the proposal names a place or number the idea's proposals never name, False
        when it names none of them, None when those it adds come beside every place the idea
        mostly names and it is longer than their average (a longer letter naming the way there: "на
        Байдибек би, от Тауке хана до Жибек жолы"; NONE_LONGER): the proposal's words without its
        names must then be similar enough."""
        mine = self.space.names[kind]
        if not mine:
            return False
        names = [n for n, c in self.names[idea].items() if c > 0]
        if not names:
            return False
        words = self.space.words
        known = [any(n == x or _same_name(words[n], words[x]) for x in names) for n in mine]
        if all(known):
            return False
        if any(known):
            main = self._main_names(idea)
            if main and all(any(x == n or _same_name(words[x], words[n]) for n in mine) for x in main) \
                    and (not NONE_LONGER or len(self.space.vectors[kind]) > self.length[idea] / len(self.members[idea])
                         or (LONG_SUBSET and self._long(idea, kind))):
                return None
        return True

    def similarity_without_names(self, idea: int, kind: int) -> float:
        n = len(self.members.get(idea, ()))
        c, names, vec = self.centre[idea], self.space.names[kind], self.space.vectors[kind]
        return sum(v * c.get(f, 0.0) for f, v in vec.items() if f not in names) / n * self._lift(idea, len(vec), n)

    def apart(self, idea: int, kind: int) -> bool:
        """The proposal asks for other things than the idea's proposals do, or is in another city
        (see TOPIC_APART): both have some and none in common."""
        mine, theirs = self.space.topics[kind], self.topics[idea]
        if mine and theirs and mine.isdisjoint(theirs):
            return True
        mine, theirs = self.space.cities[kind], self.cities[idea]
        return bool(mine and theirs and mine.isdisjoint(theirs))

    def shares_topic(self, idea: int, kind: int) -> bool:
        """The proposal speaks of a topic the idea's proposals speak of (their topic features)."""
        words, c = self.space.words, self.centre[idea]
        return any(words[f][0] == "%" and c.get(f, 0.0) > 1e-9 for f in self.space.vectors[kind])

    def best(self, kind: int) -> tuple[int | None, float]:
        get = self.buckets.get
        hits = Counter(chain.from_iterable(get(key, ()) for key in self.space.bands[kind]))
        # the ideas sharing most buckets (an estimate of word overlap) are compared exactly; those it
        # cannot join (`apart`) take no candidate's place
        if self.space.topics[kind] or self.space.cities[kind]:
            candidates = list(islice(((i, c) for i, c in hits.most_common() if self.members.get(i)
                                      and not self.apart(i, kind)), CANDIDATES))
        else:
            candidates = hits.most_common(CANDIDATES) if len(hits) > CANDIDATES else hits.items()
        best, score = None, 0.0
        for i, _ in sorted(candidates):
            if not self.members.get(i):
                continue
            s = self.similarity(i, kind)
            if s > score:
                conflict = self.conflicts(i, kind)
                if conflict is True:
                    continue
                topic = self.similarity_without_names(i, kind) if conflict is None or TOPIC_SHARE else s
                if conflict is None:
                    s = topic
                if s > score and (topic >= TOPIC_SHARE * self.threshold or not self._long(i, kind)
                                  or (SAME_TOPIC_PLACE and conflict is False and self.shares_topic(i, kind))):
                    best, score = i, s
        return best, score

    def place(self, item: int, new_id) -> int:
        kind = int(self.space.kind[item])
        last = self._kind_idea.get(kind)
        if last is not None and self.members.get(last):
            idea = last  # the same features as a proposal already placed: the same decision
        else:
            idea, score = self.best(kind)
            if idea is None or score < self.threshold:
                idea = new_id()
        self.add(idea, item)
        return idea

    def refine(self, items: list[int], placed: dict[int, int]) -> int:
        """One more pass in the same order: a proposal moves to another idea it is more similar to
        than to the rest of its own (the first pass saw only the proposals before it). Returns moves."""
        moves = 0
        decided: dict[tuple[int, int], int] = {}
        for item in items:
            kind = int(self.space.kind[item])
            own = placed[item]
            target = decided.get((kind, own))
            if target is None or not self.members.get(target):
                self.remove(own, item)
                stay = self.similarity(own, kind) if self.members[own] else -1.0
                idea, score = self.best(kind)
                target = idea if idea is not None and score >= self.threshold and score > stay else own
                decided[(kind, own)] = target
            else:
                self.remove(own, item)
            self.add(target, item)
            if target != own:
                placed[item] = target
                moves += 1
        for idea in [i for i, m in self.members.items() if not m]:
            for table in (self.centre, self.names, self.topics, self.cities, self.members, self.length):
                table.pop(idea, None)
        return moves

    def _link(self, a: int, b: int) -> float:
        """Mean cosine between the members of two ideas (average link): centre . centre / sizes."""
        ca, cb = self.centre[a], self.centre[b]
        if len(ca) > len(cb):
            ca, cb = cb, ca
        na, nb = len(self.members[a]), len(self.members[b])
        return sum(v * cb.get(f, 0.0) for f, v in ca.items()) / (na * nb) * self._lift(a, self.length[b] / nb, na)

    def _topic_link(self, a: int, b: int) -> tuple[float, bool]:
        """`_link` over the words besides places and numbers, and whether the ideas' texts are long."""
        ca, cb = self.centre[a], self.centre[b]
        if len(ca) > len(cb):
            ca, cb = cb, ca
        words = self.space.words
        na, nb = len(self.members[a]), len(self.members[b])
        lift = self._lift(a, self.length[b] / nb, na)
        return sum(v * cb.get(f, 0.0) for f, v in ca.items() if words[f][0] not in "@#") / (na * nb) * lift, lift >= TOPIC_FROM

    def _cohesion(self, idea: int) -> float:
        """Mean cosine between two different proposals of an idea (1 for an idea of one)."""
        n = len(self.members[idea])
        if n < 2:
            return 1.0
        sq = sum(v * v for v in self.centre[idea].values())
        return max(0.0, (sq - n) / (n * (n - 1))) * self._lift(idea, self.length[idea] / n, n)

    def _main_names(self, idea: int) -> set:
        """The names (places, numbers) at least a third of an idea's proposals give."""
        n = len(self.members[idea])
        return {k for k, c in self.names[idea].items() if c * 3 >= n}

    def merge_pass(self, threshold: float | None = None, keep=frozenset()) -> int:
        """Average-link merging of whole ideas, best pair first: two ideas whose proposals are on
        average at least `threshold` similar become one, unless each gives names (places, numbers)
        the other never mostly gives. The one-pass grouping places a proposal by the proposals before
        it; two wordings of one idea that started apart meet here. Ideas in `keep` (staff's) are
        never merged away. Returns merges."""
        import heapq

        threshold = MERGE_THRESHOLD if threshold is None else threshold
        alive = [i for i, m in self.members.items() if m]
        by_bucket: dict[int, list[int]] = defaultdict(list)
        for i in alive:
            for kind in {int(self.space.kind[m]) for m in self.members[i]}:
                for key in self.space.bands[kind]:
                    by_bucket[key].append(i)
        shared: Counter = Counter()
        for ideas in by_bucket.values():
            if len(ideas) < 2:
                continue
            top = sorted(set(ideas), key=lambda i: (-len(self.members[i]), i))[:MERGE_FANOUT]
            shared.update((a, b) if a < b else (b, a) for x, a in enumerate(top) for b in top[x + 1:]
                          if not (_disjoint(self.topics[a], self.topics[b]) or _disjoint(self.cities[a], self.cities[b])))
        # each idea is compared with the CANDIDATES ideas it shares most buckets with
        partners: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for (a, b), c in shared.items():
            partners[a].append((c, b))
            partners[b].append((c, a))
        pairs: set[tuple[int, int]] = set()
        for a, found in partners.items():
            for _, b in heapq.nlargest(CANDIDATES, found):
                pairs.add((a, b) if a < b else (b, a))
        neighbours: dict[int, set[int]] = defaultdict(set)
        for a, b in pairs:
            neighbours[a].add(b)
            neighbours[b].add(a)
        version = dict.fromkeys(alive, 0)
        heap = []
        for a, b in pairs:
            s = self._link(a, b)
            if s >= threshold:
                heap.append((-s, a, b, 0, 0))
        heapq.heapify(heap)
        merged: dict[int, int] = {}
        merges = 0
        while heap:
            _, a, b, va, vb = heapq.heappop(heap)  # noqa: F841 (_ is minus the link)
            if a in merged or b in merged or version[a] != va or version[b] != vb:
                continue  # merged away, or grown since: a fresher entry is in the heap
            na, nb = self._main_names(a), self._main_names(b)
            wa, wb = {self.space.words[x] for x in na}, {self.space.words[x] for x in nb}
            if wa and wb and not _names_agree(wa, wb):
                # long letters: one names the street and the school beside it, the other the street
                if not (LONG_SUBSET and self._topic_link(a, b)[1] and (_names_within(wa, wb) or _names_within(wb, wa))):
                    continue  # they mostly give different places or numbers: another place
            if _disjoint(self.topics[a], self.topics[b]) or _disjoint(self.cities[a], self.cities[b]):
                continue  # other things asked for, or another city
            if MERGE_RATIO and -_ < MERGE_RATIO * min(self._cohesion(a), self._cohesion(b)):
                continue  # each is much tighter than the two together: two ideas
            if TOPIC_SHARE:
                topic, long = self._topic_link(a, b)
                if long and topic < TOPIC_SHARE * threshold:
                    continue  # long letters at one place on two topics
            if b in keep:
                a, b = b, a
            if b in keep:
                continue
            c = self.centre[a]
            for f, v in self.centre.pop(b).items():
                c[f] = c.get(f, 0.0) + v
            self.names[a].update(self.names.pop(b))
            self.topics[a].update(self.topics.pop(b))
            self.cities[a].update(self.cities.pop(b))
            self.members[a].extend(self.members.pop(b))
            self.length[a] += self.length.pop(b)
            merged[b] = a
            version[a] += 1
            merges += 1
            neighbours[a] |= neighbours.pop(b, set())
            neighbours[a] -= {a, b}
            neighbours[a] = set(sorted((k for k in neighbours[a] if k not in merged),
                                       key=lambda k: (-len(self.members[k]), k))[:4 * CANDIDATES])
            for k in neighbours[a]:
                s = self._link(a, k)
                if s >= threshold:
                    x, y = (a, k) if a < k else (k, a)
                    heapq.heappush(heap, (-s, x, y, version[x], version[y]))

        def find(i):
            while i in merged:
                i = merged[i]
            return i

        self._kind_idea.clear()
        self.buckets.clear()
        self._merged = {i: find(i) for i in merged}
        return merges

    def _root(self, idea: int) -> int:
        """The idea a placed idea ended in after `merge_pass`."""
        return getattr(self, "_merged", {}).get(idea, idea)

    def representative(self, idea: int) -> int:
        """The cleanest (`untidiness`) of the members most similar to the others: those of the
        REPRESENTATIVE_POOL most central feature sets at least REPRESENTATIVE_MARGIN as central as
        the most central; then the more central, then the earliest."""
        kind = self.space.kind
        kinds = {int(kind[m]) for m in self.members[idea]}
        score = {k: self.similarity(idea, k) for k in kinds}
        top = sorted(kinds, key=lambda k: -score[k])[:REPRESENTATIVE_POOL]
        near = {k for k in top if score[k] >= REPRESENTATIVE_MARGIN * score[top[0]]} | {top[0]}
        texts = self.space.texts
        pool = [m for m in self.members[idea] if int(kind[m]) in near]
        distinct = {texts[m] for m in pool}
        words = {t: set(_WORDS.findall(_trimmed(t).lower())) for t in distinct}
        seen = Counter(w for ws in words.values() for w in ws)
        # a word no other of these texts writes so is most often a slip (Каратасуком, перетсают):
        # worse than a greeting, which the display trims
        mess = {t: untidiness(t) + (sum(seen[w] == 1 for w in words[t] if len(w) > 3) if len(distinct) > 2 else 0)
                for t in distinct}
        return min(pool, key=lambda m: (mess[texts[m]], -score[int(kind[m])], m))


_WORDS = re.compile(r"[^\W\d_]+")
REPRESENTATIVE_POOL = 5     # feature sets among which the cleanest text is shown for an idea
REPRESENTATIVE_MARGIN = 0.8  # each at least this share of the most central one's similarity


def untidiness(text: str) -> float:
    """How far a text is from one to show for its idea (0 is tidy): shouting in capitals (4),
    a lower-case start (1), greetings or thanks (trimmed for display), no punctuation in a long text
    or repeated marks (0.5 each)."""
    if not isinstance(text, str) or not text.strip():
        return 10.0
    letters = [c for c in text if c.isalpha()]
    out = 0.0
    if len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.5 * len(letters):
        out += 4
    if len(_trimmed(text)) < len(" ".join(text.split())):
        out += 0.5
    if letters and letters[0].islower():
        out += 1
    if len(text) > 60 and not any(c in text for c in ".,!?;:"):
        out += 0.5
    if "!!" in text or "??" in text:
        out += 0.5
    return out


def _trimmed(text: str) -> str:
    """A text without greetings, forms of address, thanks, "please" and the set openers and
    closings of letters (Заявитель сообщает, что; Прошу принять меры)."""
    out = textnorm.strip_courtesy(strip_phrases(text))
    return out[:1].upper() + out[1:] if out and text.lstrip()[:1].isupper() else out


def display_text(text) -> str:
    """An idea's representative text as shown: greetings, thanks, "please" and set phrases
    trimmed (the text itself when nothing else is left)."""
    if not isinstance(text, str):
        return text
    return _trimmed(text) or text


def cluster(texts: list[str], threshold: float | None = None) -> list[int]:
    """Group texts (in the order given, as if received in that order): an idea number per text."""
    g = Grouper(Space(texts), THRESHOLD if threshold is None else threshold)
    counter = iter(range(len(texts)))
    placed = {i: g.place(i, lambda: next(counter)) for i in range(len(texts))}
    g.refine(list(range(len(texts))), placed)
    g.merge_pass()
    return [g._root(placed[i]) for i in range(len(texts))]


# ---- grouping proposals in the store -------------------------------------------------------------
def _proposals(con) -> pd.DataFrame:
    return con.execute("""
        SELECT s.id, s.text, s.received_at, m.idea_id, coalesce(m.pinned, false) AS pinned
        FROM submissions s LEFT JOIN idea_members m ON m.submission_id = s.id AND m.kind = 'idea'
        WHERE s.source = ? ORDER BY s.received_at, s.id""", [PROPOSAL_SOURCE]).df()


def _allocate(con, kind: str, n: int) -> list[int]:
    """n new ideas (or incidents) in one statement; their numbers."""
    if n <= 0:
        return []
    ids = [r[0] for r in con.execute("SELECT nextval('ideas_id_seq') FROM range(?)", [n]).fetchall()]
    con.register("_new_ideas", pd.DataFrame({"id": ids, "kind": kind}))
    con.execute("INSERT INTO ideas (id, kind) SELECT id, kind FROM _new_ideas")
    con.unregister("_new_ideas")
    return ids


def _insert_members(con, pairs, kind: str) -> None:
    """(submission id, idea id) pairs as unpinned members, in one statement."""
    pairs = list(pairs)
    if not pairs:
        return
    frame = pd.DataFrame(pairs, columns=["submission_id", "idea_id"]).assign(kind=kind, pinned=False)
    con.register("_members", frame)
    con.execute("INSERT INTO idea_members SELECT submission_id, idea_id, kind, pinned FROM _members")
    con.unregister("_members")


def _temp_ids():
    counter = iter(range(-1, -(1 << 62), -1))
    return lambda: next(counter)


def _finalise(con, g: "Grouper", kind: str) -> dict[int, int]:
    """Real numbers for the groups `g` made with temporary (negative) ones; renames them in `g`."""
    temp = sorted((i for i in g.centre if i < 0), reverse=True)
    rename = dict(zip(temp, _allocate(con, kind, len(temp))))
    for old, new in rename.items():
        g.rename(old, new)
    return rename


def _set_representatives(con, g: Grouper, ids, ideas) -> None:
    """ideas.representative_id of each of `ideas` (grouper positions mapped to submission `ids`)."""
    rows = [(int(i), int(ids[g.representative(i)])) for i in ideas if g.members.get(i)]
    if rows:
        con.register("_reps", pd.DataFrame(rows, columns=["id", "rep"]))
        con.execute("UPDATE ideas SET representative_id = r.rep FROM _reps r WHERE ideas.id = r.id")
        con.unregister("_reps")


def update(con, threshold: float = THRESHOLD) -> dict:
    """Proposals not yet in an idea join the most similar existing idea or start one (incremental:
    ideas already formed keep their proposals). Returns counts."""
    frame = _proposals(con)
    loose = frame["idea_id"].isna().to_numpy()
    if not loose.any():
        return {"proposals": len(frame), "grouped": 0, "new_ideas": 0}
    ids = frame["id"].to_numpy()
    g = Grouper(Space(frame["text"].tolist()), threshold)
    for pos, idea in zip(np.flatnonzero(~loose).tolist(), frame["idea_id"][~loose].astype("int64").tolist()):
        g.add(idea, pos)
    make = _temp_ids()
    placed = [(pos, g.place(pos, make)) for pos in np.flatnonzero(loose).tolist()]
    with store.transaction(con):
        rename = _finalise(con, g, "idea")
        placed = [(int(ids[pos]), rename.get(idea, idea)) for pos, idea in placed]
        _insert_members(con, placed, "idea")
        _set_representatives(con, g, ids, {idea for _, idea in placed})
    return {"proposals": len(frame), "grouped": len(placed), "new_ideas": len(rename)}


class Live:
    """The grouping kept in memory between the app's drains, so that a few new proposals cost
    milliseconds, not the seconds of building every vector again (`update` does that).

    It is valid while nobody else moved proposals: staff's merges and splits, a regroup and the
    CLI change idea_members; a cheap fingerprint (members and staff actions) finds that out and
    the state is built again. New ideas get their numbers at once (one nextval each); after any
    failure the state is dropped and built again next time."""

    def __init__(self):
        self._state = None  # (fingerprint, Grouper, submission ids by position)
        self.joined: list[int] = []  # the ideas the last update added to

    @staticmethod
    def _fingerprint(con) -> tuple:
        return tuple(con.execute("""SELECT (SELECT count(*) FROM idea_members WHERE kind = 'idea'),
                                           (SELECT coalesce(max(submission_id), 0) FROM idea_members WHERE kind = 'idea'),
                                           (SELECT count(*) FROM idea_actions),
                                           (SELECT count(*) FROM ideas WHERE kind = 'idea')""").fetchall()[0])

    def _build(self, con):
        frame = _proposals(con)
        frame = frame[frame["idea_id"].notna()]
        g = Grouper(Space(frame["text"].tolist()))
        for pos, idea in enumerate(frame["idea_id"].astype("int64").tolist()):
            g.add(idea, pos)
        return g, frame["id"].astype("int64").tolist()

    def update(self, con) -> dict:
        """Group the proposals not yet in an idea; returns counts (grouped, new_ideas)."""
        loose = con.execute("""SELECT s.id, s.text FROM submissions s
                               WHERE s.source = ? AND NOT EXISTS (SELECT 1 FROM idea_members m
                                     WHERE m.submission_id = s.id AND m.kind = 'idea')
                               ORDER BY s.received_at, s.id""", [PROPOSAL_SOURCE]).fetchall()
        if not loose:
            return {"grouped": 0, "new_ideas": 0}
        fingerprint = self._fingerprint(con)
        if self._state is None or self._state[0] != fingerprint:
            g, ids = self._build(con)
        else:
            _, g, ids = self._state
        self._state = None  # until this update is stored
        positions = g.space.extend([t for _, t in loose])
        created: list[int] = []

        def new_id() -> int:
            created.append(_allocate(con, "idea", 1)[0])
            return created[-1]

        with store.transaction(con):
            placed = [(sid, g.place(pos, new_id)) for (sid, _), pos in zip(loose, positions)]
            ids.extend(sid for sid, _ in loose)
            _insert_members(con, placed, "idea")
            _set_representatives(con, g, ids, {idea for _, idea in placed})
        self._state = (self._fingerprint(con), g, ids)
        self.joined = sorted({idea for _, idea in placed})
        return {"grouped": len(placed), "new_ideas": len(created)}


class AfterDrain:
    """What the app runs after each drain of the inbox (ui.core.AppStore.drain_once): new
    proposals into ideas only when the drain applied rows of the proposal source (`Live`:
    milliseconds for a few), new complaints into incidents, and decisions.json published again
    when what it shows may have changed (a new decision, or proposals joining ideas). Each step's
    failure is logged and dropped: draining goes on."""

    def __init__(self):
        self.live = Live()
        self.published: tuple | None = None

    def after_drain(self, con, receipts: list[dict], public_dir: str | Path | None = None) -> dict:
        runs = [int(r["ingest_run_id"]) for r in receipts if r and r.get("inserted") and r.get("ingest_run_id") is not None]
        out: dict = {}
        if runs:
            counts = con.execute("""SELECT count(*) FILTER (WHERE source = ?), min(id) FILTER (WHERE source <> ?)
                                    FROM submissions WHERE ingest_run_id IN (SELECT unnest(?))""",
                                 [PROPOSAL_SOURCE, PROPOSAL_SOURCE, runs]).fetchall()[0]
            if counts[0]:
                try:
                    out["ideas"] = self.live.update(con)
                except Exception:
                    log.exception("grouping new proposals failed; built again at the next drain")
                    self.live = Live()
            if counts[1] is not None:
                try:
                    out["incidents"] = update_incidents(con, since_id=int(counts[1]) - 1)
                except Exception:
                    log.exception("grouping new complaints into incidents failed")
        version = tuple(con.execute("SELECT count(*), coalesce(max(id), 0) FROM idea_decisions").fetchall()[0])
        grew = out.get("ideas", {}).get("grouped") and con.execute(
            f"SELECT count(*) FROM {_LATEST} d WHERE d.decision = 'accepted' AND d.idea_id IN (SELECT unnest(?))",
            [self.live.joined]).fetchall()[0][0]  # an accepted idea's supporters changed
        if version != self.published or grew:
            from pipeline import public

            folder = Path(public_dir) if public_dir else settings.public_path()
            try:
                publish_decisions(con, folder / public.DECISIONS_FILE)
                self.published = version
            except Exception:
                log.exception("publishing decisions.json failed")
        return out


def regroup(con, threshold: float = THRESHOLD) -> dict:
    """Group every proposal again, except those staff placed (merge, split) or that belong to a
    decided idea: their ideas are the seeds. Idea numbers stay where most of an idea stays."""
    frame = _proposals(con)
    ids = frame["id"].to_numpy()
    g = Grouper(Space(frame["text"].tolist()), threshold)
    pinned = frame["pinned"].to_numpy(dtype=bool)
    for pos, idea in zip(np.flatnonzero(pinned).tolist(), frame["idea_id"][pinned].astype("int64").tolist()):
        g.add(idea, pos)
    seeds = set(g.centre)
    make = _temp_ids()  # new groups get negative numbers until matched below
    loose = np.flatnonzero(~pinned).tolist()
    placed = {pos: g.place(pos, make) for pos in loose}
    g.refine(loose, placed)
    g.merge_pass(keep=seeds)
    placed = {pos: g._root(grp) for pos, grp in placed.items()}
    # a new group takes the number of the old idea most of its proposals were in, if still free
    old_ideas = frame["idea_id"].to_numpy()
    votes = Counter((grp, int(old_ideas[pos])) for pos, grp in placed.items() if grp < 0 and pd.notna(old_ideas[pos]))
    rename, taken = {}, set(seeds)
    for (grp, old), _ in votes.most_common():
        if grp not in rename and old not in taken:
            rename[grp], _ = old, taken.add(old)
    for grp, new in rename.items():  # groups that keep an old number
        g.rename(grp, new)
    with store.transaction(con):
        rename.update(_finalise(con, g, "idea"))
        final = [(int(ids[pos]), rename.get(grp, grp)) for pos, grp in placed.items()]
        con.execute("DELETE FROM idea_members WHERE kind = 'idea' AND NOT pinned")
        _insert_members(con, final, "idea")
        con.execute("""DELETE FROM ideas WHERE kind = 'idea' AND id NOT IN (SELECT idea_id FROM idea_members)
                       AND id NOT IN (SELECT idea_id FROM idea_decisions)""")
        _set_representatives(con, g, ids, list(g.centre))
    n_ideas = len({i for _, i in final} | seeds)
    return {"proposals": len(frame), "ideas": n_ideas, "pinned": int(pinned.sum())}


# ---- incidents -----------------------------------------------------------------------------------
@functools.cache
def _place_terms() -> dict[int, str]:
    """Search term (the number of a stem) -> the known street or place whose name has that stem."""
    known = placenames.gazetteer()
    out: dict[int, str] = {}
    for name in placenames.known_names():
        for word in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)?", name):
            place = known.get(placenames.key(word))
            if place:
                for stem in set(search.stems(word, True) + search.stems(word, False)):
                    out.setdefault(search.term_id(stem), place)
    return out


def _term_places(terms) -> frozenset:
    """The known streets and places among a complaint's search terms."""
    places = _place_terms()
    return frozenset(places[t] for t in terms if t in places)


def _incident_groups(rows: pd.DataFrame, hours: float, jaccard: float, least: int = INCIDENT_MIN) -> dict[int, int]:
    """rows: id, category, district, t (epoch seconds), terms, incident (existing or NaN), sorted by
    category, district, t. Returns id -> group key (existing incident id, or a negative new key)
    for rows of a group of `least` or more (with the incident's earlier members)."""
    window = hours * 3600
    group: dict[int, int] = {}
    for i, inc in zip(rows["id"], rows["incident"]):
        if pd.notna(inc):
            group[int(i)] = int(inc)
    next_key = -1
    ids, cats, dists, ts, terms = (rows[c].tolist() for c in ("id", "category", "district", "t", "terms"))
    places: dict[int, frozenset] = {}
    start = 0
    for k in range(len(ids)):
        while start < k and (cats[start] != cats[k] or dists[start] != dists[k] or ts[k] - ts[start] > window):
            start += 1
        a = terms[k]
        if not a or start == k:
            continue
        mine = places[k] = places.get(k) or _term_places(a)
        best, score = None, 0.0
        for j in range(k - 1, start - 1, -1):
            b = terms[j]
            if not b:
                continue
            if j not in places:
                places[j] = _term_places(b)
            inter = len(a & b)
            s = inter / (len(a) + len(b) - inter) if inter else 0.0
            if mine & places[j]:
                s += 1.0  # the same street or place: the strongest sign of one event
            if s > score:
                best, score = j, s
        if best is None or score < jaccard:
            continue
        other, me = int(ids[best]), int(ids[k])
        if me in group and other in group:
            continue  # both placed already (earlier runs): leave them
        key = group.get(other) or group.get(me)
        if key is None:
            key, next_key = next_key, next_key - 1
        group[other] = group.get(other, key)
        group[me] = group.get(me, key)
    sizes = Counter(group.values())
    return {i: g for i, g in group.items() if g >= 0 or sizes[g] >= least}  # an incident stored stays one


def update_incidents(con, since_id: int | None = None, hours: float = INCIDENT_HOURS,
                     jaccard: float = INCIDENT_JACCARD) -> dict:
    """Group complaints received after `since_id` (all when None) into incidents, joining the
    incidents of the complaints around them; returns counts."""
    if since_id is None:
        with store.transaction(con):
            con.execute("DELETE FROM idea_members WHERE kind = 'incident'")
            con.execute("DELETE FROM ideas WHERE kind = 'incident'")
        span = con.execute("SELECT min(received_at), max(received_at) FROM submissions WHERE source <> ?",
                           [PROPOSAL_SOURCE]).fetchall()[0]
    else:
        span = con.execute("SELECT min(received_at), max(received_at) FROM submissions WHERE source <> ? AND id > ?",
                           [PROPOSAL_SOURCE, since_id]).fetchall()[0]
    if span[0] is None:
        return {"complaints": 0, "incidents": 0}
    pad = dt.timedelta(hours=hours)
    rows = con.execute("""
        SELECT s.id, s.category, s.district, epoch(s.received_at) AS t, s.search_terms AS terms, m.idea_id AS incident
        FROM submissions s LEFT JOIN idea_members m ON m.submission_id = s.id AND m.kind = 'incident'
        WHERE s.source <> ? AND s.received_at >= ? AND s.received_at <= ? AND s.category IS NOT NULL
          AND s.district IS NOT NULL
        ORDER BY s.category, s.district, s.received_at, s.id""", [PROPOSAL_SOURCE, span[0] - pad, span[1] + pad]).df()
    offsets, flat = search.decode_many(rows["terms"].to_numpy(dtype=object))  # None: no terms yet
    flat, bounds = flat.tolist(), offsets.tolist()
    rows["terms"] = [frozenset(flat[a:b]) for a, b in zip(bounds, bounds[1:])]
    groups = _incident_groups(rows, hours, jaccard)
    existing = {int(i) for i in rows["id"][rows["incident"].notna()]}
    with store.transaction(con):
        temp = sorted({k for k in groups.values() if k < 0}, reverse=True)
        keys = dict(zip(temp, _allocate(con, "incident", len(temp))))
        new = [(i, keys.get(k, k)) for i, k in groups.items() if i not in existing]
        _insert_members(con, new, "incident")
    return {"complaints": len(rows), "incidents": len(keys), "reports": len(new)}


def refresh(con) -> dict:
    """What the app runs after new submissions arrive: proposals into ideas, complaints into
    incidents, each only for rows not yet seen (`meta.ideas_upto` is the last id looked at)."""
    upto = int(store.get_meta(con, "ideas_upto", "0") or 0)
    last = con.execute("SELECT max(id) FROM submissions").fetchall()[0][0]
    if last is None or last <= upto:
        return {}
    out = {"ideas": update(con), "incidents": update_incidents(con, since_id=upto if upto else None)}
    store.set_meta(con, "ideas_upto", str(last))
    return out


def regroup_all(con) -> dict:
    """The full regroup: every proposal (staff's placements kept) and every incident."""
    last = con.execute("SELECT max(id) FROM submissions").fetchall()[0][0]
    out = {"ideas": regroup(con), "incidents": update_incidents(con, since_id=None)}
    store.set_meta(con, "ideas_upto", str(last or 0))
    return out


# ---- staff's writes ------------------------------------------------------------------------------
def _actor(viewer, permission: str) -> str:
    from pipeline import auth

    return auth.actor_of(viewer, permission)


def _idea_exists(con, idea_id: int) -> None:
    if not con.execute("SELECT 1 FROM ideas WHERE id = ? AND kind = 'idea'", [idea_id]).fetchall():
        raise IdeaError("unknown_idea", f"no idea number {idea_id}", idea=idea_id)


def merge(con, viewer, keep_id: int, other_id: int) -> None:
    """Move every proposal of `other_id` into `keep_id` and pin them all there (a regroup keeps
    them together); the other idea's decisions are dropped from view with it."""
    actor = _actor(viewer, "idea:group")
    if keep_id == other_id:
        raise IdeaError("same_idea", f"idea {keep_id} cannot be merged with itself", idea=keep_id)
    _idea_exists(con, keep_id)
    _idea_exists(con, other_id)
    with store.transaction(con):
        con.execute("UPDATE idea_members SET idea_id = ?, pinned = true WHERE idea_id IN (?, ?) AND kind = 'idea'",
                    [keep_id, keep_id, other_id])
        con.execute("DELETE FROM ideas WHERE id = ?", [other_id])
        con.execute("INSERT INTO idea_actions (actor, action, idea_id, other_id) VALUES (?, 'merge', ?, ?)",
                    [actor, keep_id, other_id])
    _refresh_representatives(con, [keep_id])


def split(con, viewer, submission_id: int) -> int:
    """Take one proposal out of its idea into a new idea of its own, pinned; returns the new idea."""
    actor = _actor(viewer, "idea:group")
    row = con.execute("SELECT idea_id FROM idea_members WHERE submission_id = ? AND kind = 'idea'",
                      [submission_id]).fetchall()
    if not row:
        raise IdeaError("not_a_proposal", f"submission {submission_id} is not in an idea", submission=submission_id)
    old = row[0][0]
    with store.transaction(con):
        new = _allocate(con, "idea", 1)[0]
        con.execute("UPDATE idea_members SET idea_id = ?, pinned = true WHERE submission_id = ?", [new, submission_id])
        con.execute("INSERT INTO idea_actions (actor, action, idea_id, other_id, submission_id) VALUES (?, 'split', ?, ?, ?)",
                    [actor, old, new, submission_id])
        if not con.execute("SELECT 1 FROM idea_members WHERE idea_id = ?", [old]).fetchall():
            con.execute("DELETE FROM ideas WHERE id = ? AND id NOT IN (SELECT idea_id FROM idea_decisions)", [old])
    _refresh_representatives(con, [old, new])
    return new


def _refresh_representatives(con, idea_ids) -> None:
    frame = con.execute("""SELECT m.idea_id, s.id, s.text FROM idea_members m JOIN submissions s ON s.id = m.submission_id
                           WHERE m.idea_id IN (SELECT unnest(?))""", [list(idea_ids)]).df()
    if frame.empty:
        return
    ids = frame["id"].to_numpy()
    g = Grouper(Space(frame["text"].tolist()))
    for pos, idea in enumerate(frame["idea_id"].astype("int64").tolist()):
        g.add(idea, pos)
    _set_representatives(con, g, ids, list(g.centre))


def decide(con, viewer, idea_id: int, decision: str, answer: str = "", department: str | None = None,
           decided_on: dt.date | None = None, reason: str | None = None, title: str | None = None) -> None:
    """Record a decision on an idea (the latest one counts) and pin its proposals.

    accepted needs a department of data/departments.csv and a date; not_accepted needs a reason."""
    actor = _actor(viewer, "idea:decide")
    _idea_exists(con, idea_id)
    clean = lambda v: (v or "").strip() or None  # noqa: E731
    answer, reason, title, department = clean(answer), clean(reason), clean(title), clean(department)
    if decision not in DECISIONS:
        raise IdeaError("bad_decision", f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}",
                        decision=decision)
    if decision == "accepted":
        from pipeline import sla

        if department not in set(sla.departments()["code"]):
            raise IdeaError("needs_department", f"an accepted idea needs a department of data/departments.csv, "
                            f"not {department!r}", department=department)
        if decided_on is None:
            raise IdeaError("needs_date", "an accepted idea needs the date of the decision")
    if decision == "not_accepted" and not reason:
        raise IdeaError("needs_reason", "an idea not accepted needs a reason")
    for name, value, limit in (("answer", answer, 4000), ("reason", reason, 2000), ("title", title, 200)):
        if value and len(value) > limit:
            raise IdeaError("too_long", f"{name} longer than {limit} characters", field=name, limit=limit)
    with store.transaction(con):
        con.execute("""INSERT INTO idea_decisions (idea_id, decision, department, decided_on, reason, answer, actor, title)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                    [idea_id, decision, department if decision == "accepted" else None,
                     decided_on, reason, answer, actor, title])
        con.execute("UPDATE idea_members SET pinned = true WHERE idea_id = ?", [idea_id])


# ---- reads -----------------------------------------------------------------------------------
_LATEST = """(SELECT * FROM idea_decisions QUALIFY row_number() OVER (PARTITION BY idea_id ORDER BY id DESC) = 1)"""


def ideas_table(con, viewer=None, now: dt.datetime | None = None, district: str | None = None,
                category: str | None = None, decision: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Ideas ranked by support and recency (each proposal weighs 0.5 ** (age / HALF_LIFE_DAYS)):
    idea_id, supporters, districts (codes, most proposals first), placements, category (the most
    frequent), first_at, last_at, score, text (the representative, masked for the viewer), decision
    (None when undecided), department, decided_on, reason, answer, title.

    `district` and `category` keep ideas with a proposal there; `decision` 'none' keeps undecided ones."""
    now = now or dt.datetime.now(dt.timezone.utc)
    frame = con.execute(f"""
        WITH m AS MATERIALIZED (SELECT m.idea_id, s.received_at, s.district, s.placement, s.category  -- narrow, once
                   FROM idea_members m JOIN submissions s ON s.id = m.submission_id WHERE m.kind = 'idea'),
        agg AS (SELECT idea_id, count(*) AS supporters, min(received_at) AS first_at, max(received_at) AS last_at,
                       sum(pow(0.5, greatest(epoch(CAST(? AS TIMESTAMPTZ)) - epoch(received_at), 0) / 86400.0 / ?)) AS score,
                       list(DISTINCT placement) FILTER (WHERE placement IS NOT NULL) AS placements,
                       mode(coalesce(category, 'other')) AS category,
                       bool_or(CAST(? AS VARCHAR) IS NULL OR district = ?) AS in_district,
                       bool_or(CAST(? AS VARCHAR) IS NULL OR coalesce(category, 'other') = ?) AS in_category
                FROM m GROUP BY idea_id),
        -- districts by their proposals, most first (a list of every member's district took 1 s at 10M rows)
        dist AS (SELECT idea_id, list(district ORDER BY n DESC, district) AS districts
                 FROM (SELECT idea_id, district, count(*) AS n FROM m WHERE district IS NOT NULL GROUP BY ALL)
                 GROUP BY idea_id)
        SELECT a.idea_id, a.supporters, a.placements, a.category, a.first_at, a.last_at, a.score,
               i.representative_id, dist.districts, d.decision, d.department, d.decided_on, d.reason, d.answer, d.title
        FROM agg a JOIN ideas i ON i.id = a.idea_id LEFT JOIN dist USING (idea_id)
        LEFT JOIN {_LATEST} d ON d.idea_id = a.idea_id
        WHERE a.in_district AND a.in_category
          AND (CAST(? AS VARCHAR) IS NULL OR (? = 'none' AND d.decision IS NULL) OR d.decision = ?)
        ORDER BY a.score DESC, a.supporters DESC, a.idea_id LIMIT ?""",
        [now, HALF_LIFE_DAYS, district, district, category, category, decision, decision, decision, limit]).df()
    listed = lambda x: list(x) if isinstance(x, (list, tuple, np.ndarray)) else []  # noqa: E731
    frame["districts"] = [listed(x) for x in frame.pop("districts")]
    frame["placements"] = [sorted(listed(x)) for x in frame["placements"]]
    # the representatives' texts by id, after the ranking (a join named `text` for every submission)
    rep = frame.pop("representative_id")
    texts = by_ids(con, ("id", "text"), [int(i) for i in rep.dropna().unique()])
    by_id = dict(zip(texts["id"].astype(int), texts["text"]))
    frame.insert(frame.columns.get_loc("score") + 1, "text",
                 [display_text(by_id.get(int(i))) if pd.notna(i) else None for i in rep])
    return privacy.for_viewer(frame, viewer)


def top_in(con, f, limit: int = 5) -> pd.DataFrame:
    """The ideas that gathered the most proposals within a filter (period and territory: the
    explorer's own `where`), for the briefing: idea_id, supporters (in the filter), total (all
    time), title (the representative text's first sentence, masked), decision (None when undecided)."""
    from pipeline.queries.filters import where

    cond, params = where(f, "s")
    frame = con.execute(f"""
        WITH inside AS (SELECT m.idea_id, count(*) AS supporters FROM idea_members m
                        JOIN submissions s ON s.id = m.submission_id
                        WHERE m.kind = 'idea' AND {cond} GROUP BY m.idea_id),
             total AS (SELECT idea_id, count(*) AS total FROM idea_members WHERE kind = 'idea' GROUP BY idea_id)
        SELECT i.idea_id, i.supporters, t.total, r.text, d.decision
        FROM inside i JOIN total t USING (idea_id) JOIN ideas x ON x.id = i.idea_id
        LEFT JOIN submissions r ON r.id = x.representative_id LEFT JOIN {_LATEST} d ON d.idea_id = i.idea_id
        ORDER BY i.supporters DESC, t.total DESC, i.idea_id LIMIT ?""", [*params, limit]).df()
    frame["text"] = [display_text(t) for t in frame["text"]]
    frame = privacy.for_viewer(frame, _Nobody())
    frame["title"] = [_title(t or "") for t in frame.pop("text")]
    frame["decision"] = frame["decision"].astype(object).where(frame["decision"].notna(), None)
    return frame


MEMBERS_SHOWN = 200  # proposals of one idea listed on the page, newest first (the count says how many in all)


def members(con, idea_id: int, viewer=None, limit: int | None = MEMBERS_SHOWN) -> pd.DataFrame:
    """The proposals of an idea, newest first (the newest `limit`, or all): id, received_at,
    district, placement, language, pinned, text (masked for the viewer), contact (hidden for the
    viewer). Texts are fetched by id for the listed ones only: an idea of the 10M demo has 20,000
    proposals, and masking every text took seconds."""
    window = "" if limit is None else f" LIMIT {int(limit)}"
    head = con.execute(f"""
        SELECT s.id, m.pinned
        FROM idea_members m JOIN submissions s ON s.id = m.submission_id
        WHERE m.idea_id = ? AND m.kind = 'idea' ORDER BY s.received_at DESC, s.id DESC{window}""", [idea_id]).df()
    rows = by_ids(con, ("id", "received_at", "district", "placement", "language", "text", "contact"),
                  head["id"].astype(int).tolist())
    rows.insert(5, "pinned", head["pinned"].to_numpy())
    return privacy.for_viewer(rows, viewer)


def accepted(con) -> pd.DataFrame:
    """Ideas whose latest decision is accepted, for publishing (texts masked, whoever asks)."""
    frame = ideas_table(con, viewer=_NOBODY, decision="accepted", limit=1_000_000)
    return frame.sort_values(["decided_on", "idea_id"], ascending=[False, True]).reset_index(drop=True)


class _Nobody:  # a viewer with no permission at all: masked texts, no contacts
    def can(self, permission: str) -> bool:
        return False


_NOBODY = _Nobody()


def decision_items(con) -> list[dict]:
    """The accepted ideas as decisions.json items (pipeline.public's schema: idea, district,
    title, text, supporters, decision, department, date, answer), texts masked."""
    clean = lambda v: " ".join(privacy.mask(privacy.display_text(v or "")).split())  # noqa: E731
    items = []
    for r in accepted(con).itertuples():
        text = clean(r.text)
        title = r.title if isinstance(r.title, str) and r.title else _title(text)
        items.append({"idea": str(int(r.idea_id)), "district": r.districts[0] if r.districts else "other",
                      "title": clean(title) or str(int(r.idea_id)), "text": text, "supporters": int(r.supporters),
                      "decision": "accepted", "department": str(r.department or ""),
                      "date": pd.Timestamp(r.decided_on).date().isoformat(), "answer": clean(r.answer)})
    return items


def publish_decisions(con, path: str | Path | None = None) -> tuple[Path, int]:
    """Write the accepted ideas to `<public dir>/decisions.json` (pipeline.public.write_decisions:
    checked, a temporary file in the same folder, then a rename, so the public form never reads
    half a file). Returns (path, count)."""
    from pipeline import public

    target = Path(path) if path else settings.public_path() / public.DECISIONS_FILE
    items = decision_items(con)
    public.write_json_atomic(target, {"version": public.SCHEMA_VERSION,
                                      "decisions": [public.check_decision(i) for i in items]})
    return target, len(items)


def _title(text: str, limit: int = 80) -> str:
    first = text.split(". ")[0].strip()
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


# ---- CLI -------------------------------------------------------------------------------------
def arguments_publish_decisions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--out", help="file to write (default: <SC_PUBLIC_DIR>/decisions.json)")


def run_publish_decisions(args) -> int:
    if args.out and Path(args.out).exists() and Path(args.out).suffix.lower() != ".json":
        print(f"error: --out {args.out} exists and is not a .json file; give the form's decisions.json", file=sys.stderr)
        return 2
    if args.out and not Path(args.out).parent.is_dir():
        print(f"error: --out {args.out}: folder {Path(args.out).parent} does not exist", file=sys.stderr)
        return 2
    db = settings.db_path(args.db)
    con = store.connect_writer_or_explain(db, "the app publishes by itself when a decision is recorded; "
                                              "or stop it first", must_exist=True)
    if con is None:
        return 2
    try:
        path, n = publish_decisions(con, args.out or (settings.public_path(db) / "decisions.json"))
    except OSError as exc:
        print(f"error: cannot write {args.out or settings.public_path(db)}: {exc.strerror}", file=sys.stderr)
        return 2
    finally:
        con.close()
    print(f"{n} accepted ideas written to {path}")
    return 0


def arguments_ideas(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("update", "regroup", "list"),
                        help="update: group what is new; regroup: group everything again (staff's "
                             "merges, splits and decided ideas kept); list: the top ideas")
    parser.add_argument("--db", help="DuckDB file (default: SC_DB)")
    parser.add_argument("--limit", type=int, default=20, help="ideas listed (list)")


def run_ideas(args) -> int:
    if not 1 <= args.limit <= 10_000:  # 0 or -1 listed one idea; a huge one overflowed DuckDB's integer
        print(f"error: --limit {args.limit}: give 1 to 10000 ideas", file=sys.stderr)
        return 2
    db = settings.db_path(args.db)
    if args.action == "list":  # only reads: the store, or the running app's replica
        from pipeline import replica

        con = replica.open_for_cli(args.db, "the ideas page lists them while the app runs")
    else:
        con = store.connect_writer_or_explain(db, "the app groups new proposals by itself; stop it first to regroup",
                                              must_exist=True)
    if con is None:
        return 2
    try:
        started = time.perf_counter()
        if args.action == "list":
            for r in ideas_table(con, viewer=_NOBODY, limit=max(1, args.limit)).itertuples():
                decision = r.decision if isinstance(r.decision, str) else "-"
                print(f"{int(r.idea_id)}\t{int(r.supporters)}\t{decision}\t{' '.join(str(r.text).split())[:100]}")
            return 0
        out = refresh(con) if args.action == "update" else regroup_all(con)
        flat = {f"{k}_{kk}": vv for k, v in out.items() for kk, vv in v.items()} or {"new_submissions": 0}
        print(" ".join(f"{k}={v}" for k, v in flat.items()) + f" seconds={time.perf_counter() - started:.1f}")
        return 0
    finally:
        con.close()
