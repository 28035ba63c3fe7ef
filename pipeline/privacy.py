"""Masking residents' personal data in texts shown on shared screens (the wall ticker).

Appeals carry phone numbers, names, flat numbers, e-mails, IINs and document numbers inside the
free text. What is masked:
- phones: +7 / 8 / 7 and 10 digits in any grouping ("+7 (7132) 55-66-77", "8 7132 556677"),
  bare 10-digit Kazakh numbers ("7011234567", "701 123 45 67"), local 7- and 6-digit numbers
  ("123-45-67", "55-66-77" unless it reads as a date), and any number of 5+ digits after a phone
  cue ("тел.", "телефон", "телефоным", "ұялы", "WhatsApp", ...);
- IINs (12 digits, also "900101 300123", "9001-0130-0123", any grouping after "ИИН"/"ЖСН"),
  card numbers, any run of 9+ digits, passport ("N12345678"), ID card ("куәлік", "удостоверение")
  and other document or account numbers after their cue; e-mails, also "aliya [at] mail.kz";
- flat numbers ("кв. 54", "квартира 54", "54-пәтер", "пәтер 54"; not "в квартире 17 градусов");
- names: first names from data/privacy_names.csv (Russian and Kazakh, with their case forms, also
  in lower case), surnames and patronymics by their endings (-ов, -ова, -ой, -ских, -ұлы, -қызы,
  -ович, -овна, ...), the capitalised words next to a name ("Звонит Асхат Жаксылык", "Ким Ольга"),
  initials, capitalised words after person cues ("меня зовут", "ФИО:", "гражданки", "звонит",
  "обратилась", "хабарласушы", ...; after "от", "для", "у" a word that may be a name: "от Веры"),
  and mid-sentence words the dictionary knows as names ("вчера Зарема сказала").
pymorphy3's Russian dictionary tells common words with a surname's ending ("Снова", "Машина")
from names; it is asked only for such words and for words next to a name or after a cue.
What stays: street and place names (after "ул.", "пр.", "мкр.", "перекрестке", ..., before
"көшесі", "даңғылы", "ауданы", "батыра", with a house number: "на Абая 12", at crossings:
"Кайтпас - Жандосова", in quotes: кафе «Арай»), house and route numbers, registration numbers
("109-2026-000123"), dates, times, money amounts and counts ("5 дней", "3 подъезд").
Not masked: numbers spelt out in words, names outside the list written alone at a sentence start,
and a surname that is also a listed street ("Байтурсынова Гульнар" keeps "Байтурсынова").
It errs towards masking. It works on spans of the unchanged text and replaces them once, so
nothing in a text (a NUL byte, "***") can mislead it.
"""
from __future__ import annotations

import csv
import functools
import re
from pathlib import Path

MASK = "***"
_DATA = Path(__file__).resolve().parents[1] / "data"

_UP = "А-ЯЁӘҒҚҢӨҰҮҺІA-Z"
_LOW = "а-яёәғқңөұүһіa-z"
_KZ_LETTERS = set("әғқңөұүһі")

# Patterns marked "on the lower-cased text" start with plain letters, so that the regex engine
# skips ahead to where they can begin: that keeps 100,000 texts of 300 characters under 10 s.

# ---- numbers and e-mails -------------------------------------------------------------------
# Stretches of 5+ digits with separators: only these can hold a phone, an IIN or a document number.
_CLUSTER = re.compile(r"\d(?:[ \t\-–()]{0,3}\d){4,}")
_SEP = r"[ \t\-–()]"
_MONEY = r"(?![ \t]*(?:тенге|теңге|тг|₸|kzt|руб|млн|млрд|тыс|мың|\$|usd|%))"
_NUMBERS = re.compile(
    # +7 / 8 / 7 and 10 digits, the first of them 3-9 (Kazakh 7xx, Russian 9xx...)
    rf"(?<![\d+])(?:\+[ \t]?7|\+?8|7){_SEP}{{0,3}}[3-9](?:{_SEP}{{0,2}}\d){{9}}(?!\d){_MONEY}"
    # a Kazakh number without the prefix: 7xx xxx xx xx, (7132) 55-66-77, 7011234567
    rf"|(?<![\d+\-])(?:\(?7\d\d\)?[ \-–]?\d{{3}}[ \-–]?\d\d[ \-–]?\d\d|\(?7\d{{3}}\)?[ \-–]?\d\d[ \-–]?\d\d[ \-–]?\d\d"
    rf"|7\d\d[ \-–]\d{{3}}[ \-–]\d{{4}})(?!\d|[\-–]\d){_MONEY}"
    # IIN and card numbers in groups, any run of 9+ digits (IDs, accounts, IINs)
    rf"|(?<![\d\-–/.])(?:\d{{9,}}|\d{{6}}[ \-–]\d{{6}}|\d{{4}}[ \-–]\d{{4}}[ \-–]\d{{4}}(?:[ \-–]\d{{4}})?"
    rf"|\d{{3}}[ \-–]\d{{3}}[ \-–]\d{{3}}[ \-–]\d{{3}})(?!\d|[ \-–/]\d){_MONEY}"
    # local numbers: 123-45-67, 123 45 67, 55-66-77 (unless a date)
    rf"|(?<![\d\-–/.:])\d{{3}}[ \-]\d\d[ \-]\d\d(?!\d|[ \-–/.:]\d)"
    rf"|(?<![\d\-–/.:])(?P<d>\d\d)-(?P<m>\d\d)-\d\d(?!\d|[\-–/.:]\d)"
    # a passport number: N12345678
    rf"|(?<![\w])[NН]\s?\d{{7,9}}(?!\d)",
    re.I)
# a cue and up to four words before a number: "тел.", "ИИН", "паспорт N", "номер телефона для связи:"
_NUM_CUE = (r"тел(?:ефон\w*|\.)?|тлф|моб(?:ильн\w*|\.)?|сот(?:ов\w*|\.)?|whats\s?app|ватс?ап|вотсап|вацап|ұялы|"
            r"байланыс\w*|контакт\w*|номер\s+тел\w*|звоните|позвоните|перезвоните|хабарласыңыз|"
            r"иин|жсн|iin|бин|бсн|паспорт\w*|удостоверени\w*|уд\.\s?л(?:\.|ичн\w*)|у/л|куәлі\w*|куали\w*|"
            r"төлқұжат\w*|свидетельств\w*|лицев\w*\s+сч[её]т\w*|дербес\s+шот\w*|полис\w*|снилс")
_CUED = re.compile(rf"(?:{_NUM_CUE})(?![\w])(?:\s*(?:[:.,№#+(]|no\b|n\b|[{_LOW}]{{1,12}}\b)){{0,4}}?[\s:.,№#+(]*$")
_REGNUM = re.compile(r"\d{3}-\d{4}-\d{5,6}")  # the registration number of an appeal stays
_MONEY_AFTER = re.compile(_MONEY[3:-1])
_DOT = (r"(?:\.|\s*[\[(]\s*(?:dot|точка)\s*[\])]\s*|\s(?:dot|точка)\s"
        r"|\s*\.\s*(?=(?:kz|ru|com|net|org|info|ua|by|uz|kg|рф|қаз)\b))")
_EMAIL = re.compile(
    rf"[\w.+-]+(?:\s*(?:@|[\[(<{{]\s*(?:at|собака)\s*[\])>}}])\s*[\w-]+(?:{_DOT}[\w-]+)*"
    rf"|\s(?:at|собака)\s[\w-]+(?:{_DOT}[\w-]+)+)", re.I)
# on the lower-cased text
_FLAT = re.compile(r"(?:кв\.?|квартир[аеуы]|пәтер|патер|apt\.?)[ \t]*№?[ \t]*(\d+)[а-яa-z]?(?![\d])"
                   r"|(\d+)[ \t]*-?[ \t]*(?:пәтер|патер)")

# ---- names ---------------------------------------------------------------------------------
# a capitalised or all-capital word, or initials ("И.", "И.И.")
_TOKEN = re.compile(rf"[{_UP}](?:\.(?:[ ]?[{_UP}]\.)?|[{_LOW}]+(?:-[{_UP}]?[{_LOW}]+)?|[{_UP}]+(?:-[{_UP}]{{2,}})?)(?![\w])")
_MID_SENTENCE = re.compile(r"[^\W\d][,;]?[ \t]+$")  # a word, maybe a comma, and spaces before a token
_GAP = re.compile(r"[ \t]+|[ \t]*-[ \t]*")
_NEXT_WORD = re.compile(rf"[ \t]+([{_LOW}]+(?:-[{_LOW}]+)?)(?![\w])")
_LOWER_WORD = re.compile(rf"([{_LOW}]+)(?![\w])")
_TRAILING = ",.:;!?)"
# a house number right after a word makes it a street: "на Абая 12" (not "Ольга 5 дней")
_COUNT = (r"дн|ден|сут|раз|лет|год|час|мин|нед|мес|чел|сем|подъезд|этаж|тенге|теңге|тг|₸|руб|метр|м\b|км|шт|"
          r"күн|жыл|сағ|апта|ай\b|рет|адам|пәтер|қабат|кіреберіс|жас|мың|млн|тыс|%|(?:й|го|я|е|ый|ой|ая|ші|шы)\b")
_UNIT_AFTER = re.compile(rf"[ \t]*-?[ \t]*(?:{_COUNT}|градус|квадрат)")
_HOUSE = re.compile(rf"[ \t]+\d{{1,4}}[{_LOW}]?(?:[/-]\d{{1,3}}[{_LOW}]?)?(?!\d|[:.,/\-–]\d|[{_LOW}\w])"
                    rf"(?![ \t]*-?[ \t]*(?:{_COUNT}))", re.I)
# street markers after the name ("Абай көшесі", "Тәуке хан даңғылы"), on the lower-cased text
_CROSSING = re.compile(r"(?:[ \t]+(?:хан|хана|батыр|батыра|би))?(?:[ \t]*[–—/][ \t]*|[ \t]+-[ \t]+)")
_STREET_AFTER = re.compile(r"[ \t]+(?:хан|хана|батыр|батыра|би|(?:көшесі|көш\.|к-сі|даңғылы|даңғ\.|шағын\s?аудан|"
                           r"ш\.\s?а\.|ықшам\s?аудан|тұйығы|алаң|саябағы|ауыл|аудан|облыс|област|район|р-н|қала|кент|"
                           r"селосы|мектеб|коше|киылыс|қиылыс)[\w.]*)(?![\w])")
# The word before a capitalised word says what it is: a street or place ("ул. Абая"), a name that
# follows ("меня зовут", "ФИО:"), a person who is named ("гражданка", "звонит") or may be ("от", "для").
_BEFORE_WORDS = {
    "street": "ул ул. улица улицы улице улицу пр пр. пр-т просп просп. проспект проспекта проспекте пер пер. "
              "переулок переулка переулке бульвар бульвара бульваре б-р мкр мкр. мкрн мкрн. мкр-н микрорайон "
              "микрорайона микрорайоне ж/м жм жилмассив жилмассива жилмассиве жк им. пл. площадь площади "
              "шоссе тупик с. село села селе пос. посёлок поселок посёлка поселка аул аула ауле ст. станция станции "
              "ост. остановка остановки остановке остановку парк парка парке сквер сквера сквере шк. школа школы "
              "школе лицей лицея гимназия гимназии тц трц бц рынок рынка рынке базар базара базаре г. город города "
              "городе район района районе р-н көш. к-сі даңғ. ауылы перекрёсток перекресток перекрёстке перекрестке "
              "пересечение пересечении угол углу азс кафе магазин магазина магазине аптека аптеки аптеке ресторан "
              "ресторана салон салона зал клиника клиники компания компании братьев",
    "def": "зовут фио ф.и.о. ф.и.о имя фамилия атым есімім аты-жөні меня_зовут менің_атым аты_жөні",
    "role": "заявитель заявителя заявителю заявителем заявительница заявительницы заявительнице заявительницу "
            "заявительницей гражданка гражданки гражданке гражданку гражданкой гражданин гражданина гражданину "
            "гражданином гр. гр-н гр-на гр-ну гр-ка гр-ки гр-ке жительница жительницы жительнице жительницу житель "
            "жителя жителю жителем хабарласушы тұрғын тұрғыны азамат азаматша абонент абонента абоненту абонентка "
            "абонентки өтініш_беруші",
    "verb": "звонит звонил звонила позвонил позвонила дозвонился дозвонилась пишет написал написала обратился "
            "обратилась обращается сообщает сообщил сообщила просит просил просила жалуется пожаловался пожаловалась "
            "хабарласты жазды",
    "weak": "от для у к с со ко передайте скажите передать",
}
_QUOTES = "«\"“„'"
_BEFORE = {w.replace("_", " "): kind for kind, words in _BEFORE_WORDS.items() for w in words.split()}
_NAMING = re.compile(r"(?:меня\s+зовут|зовут|фио|ф\.\s?и\.\s?о\.?|менің\s+атым|атым|есімім|аты-жөні|аты\s+жөні)"
                     r"(?![\w])[\s:,\-–]*")
_PATR = re.compile(r"(?:ович|евич|ьич)(?:а|у|ем|е)?$|(?:овн|евн|ичн)(?:а|ы|е|у|ой)$")
_KZ_SURNAME = re.compile(r"\w\w(?:ұлы|[^\Wаеёиоуыэюяәөүұі]улы|қызы|кызы)(?:ның|на|ға|ны|нан|мен|да|нда|ндағы)?$")
_RU_SURNAME = re.compile(r"\w\w(?:ов|ев|ёв)(?:а|у|ым|ой|ою|е|ых)?$|\w\w(?:енко|чук|щук|юк)$|\w\w\w(?:ин)(?:а|у|ым|ой|е)?$")
_ADJ_SURNAME = re.compile(r"\w\w(?:ск|цк)(?:ий|ая|ого|ому|им|ом|ой|ую)$")  # "Брусиловский", or "Алгинский"
_SURNAME_LIKE = re.compile("|".join((_RU_SURNAME.pattern, _KZ_SURNAME.pattern, _ADJ_SURNAME.pattern)))
_PERSON = ("name", "surn", "patr")
_STRONG = ("def", "role", "verb")
_NOT_PERSON = ("word", "place", "lone")

_RU_ENDS = {"а": ("а", "ы", "и", "е", "у", "ой", "ою", "ей"), "я": ("я", "и", "е", "ю", "ей", "ёй", "ею"),
            "й": ("й", "я", "ю", "ем", "е", "ём"), "ь": ("ь", "я", "ю", "ем", "е", "ём", "и", "ью")}
_KZ_ENDS = ("ның", "нің", "дың", "дің", "тың", "тің", "ға", "ге", "қа", "ке", "на", "не", "ны", "ні", "ды", "ді",
            "ты", "ті", "да", "де", "та", "те", "нда", "нде", "дан", "ден", "тан", "тен", "нан", "нен", "мен",
            "бен", "пен", "ым", "ім", "дегі", "дағы", "тегі", "тағы", "ндегі", "ндағы")


def _forms(name: str) -> set[str]:
    """A first name in its Russian and Kazakh case forms, lower-case."""
    w = name.lower()
    out = {w} | {w + e for e in _KZ_ENDS}
    if w[-2:] == "ия":
        out |= {w[:-1] + e for e in ("и", "ю", "ей", "ею")}
    elif w[-1] in _RU_ENDS:
        out |= {w[:-1] + e for e in _RU_ENDS[w[-1]]}
    else:
        out |= {w + e for e in ("а", "у", "ом", "ем", "е", "ым")}
    return out


def _load() -> tuple[dict[str, str], frozenset[str]]:
    """data/privacy_names.csv (first names, names that are also common words, surnames no ending
    gives away, words that are no names) and the words of every district's and region's names."""
    kinds: dict[str, str] = {}
    with open(_DATA / "privacy_names.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    kind_of = {"name": "name", "name_common": "amb", "surname": "surn"}
    for row in rows:
        if row["kind"] in kind_of:  # a listed surname ("Ким", "Пак") only as it is: "Шина" is a tyre
            for form in _forms(row["word"]) if row["kind"] != "surname" else (row["word"].lower(),):
                kinds.setdefault(form, kind_of[row["kind"]])
    places = {r["word"].lower() for r in rows if r["kind"] == "not_name"}
    for file, cols in (("districts.csv", ("name_ru", "name_kk", "aliases", "short_ru", "short_kk")),
                       ("regions.csv", ("name_ru", "name_kk"))):
        with open(_DATA / file, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                for col in cols:
                    places.update(w.lower() for w in re.findall(rf"[{_UP}][{_LOW}]+(?:-[{_UP}]?[{_LOW}]+)?", row[col]))
    for p in places:
        for form in _forms(p) if len(p) > 3 else (p,):
            kinds[form] = "place"  # "Астану", "Шымкента"
    # lower-case names are looked for in their forms as split() leaves them ("айгуль,"); not those
    # of short names, which meet Kazakh words written without its letters ("Иса": "иси" for "иісі")
    names = [f for row in rows if row["kind"] == "name" and len(row["word"]) > 4 for f in _forms(row["word"])
             if kinds.get(f) == "name"]
    return kinds, frozenset(names + [n + c for n in names for c in _TRAILING])


_LISTED, _LOWER_NAMES = _load()


@functools.lru_cache(maxsize=1)
def _morph():
    import pymorphy3
    return pymorphy3.MorphAnalyzer()


_COMMON: set[str] = set()


@functools.lru_cache(maxsize=1 << 12)
def _is_common(w: str) -> bool:
    """Whether pymorphy3 knows the word as something other than a person (more likely than not)."""
    morph = _morph()
    if not morph.word_is_known(w):
        return False
    return sum(p.score for p in morph.parse(w) if "plur" not in p.tag and {"Name", "Surn", "Patr"} & p.tag.grammemes) < 0.5


@functools.lru_cache(maxsize=1 << 16)
def _dict_kind(w: str) -> str | None:
    """pymorphy3's view of a lower-cased word: name, surn, patr, amb (maybe a person), word (a common
    word); None when its dictionary does not have it. Costs ~0.2 ms a word, so only asked where it matters."""
    morph = _morph()
    if not morph.word_is_known(w):
        return None
    score = {"Name": 0.0, "Surn": 0.0, "Patr": 0.0}
    for p in morph.parse(w):
        if "plur" not in p.tag:  # "ал", "электр" are no names, whatever plural of "Ала" they match
            for g in score:
                if g in p.tag:
                    score[g] += p.score
    if sum(score.values()) > 0.5:
        kind = {"Name": "name", "Surn": "surn", "Patr": "patr"}[max(score, key=score.get)]
        # a rare surname in the dictionary without a surname's ending ("Тексер") may be a Kazakh word
        return "amb" if kind == "surn" and not _SURNAME_LIKE.search(w) else kind
    return "amb" if any(score.values()) else "word"


@functools.lru_cache(maxsize=1 << 16)
def _kind(w: str) -> str:
    """What a lower-cased word is: name, surn, patr, amb (maybe a name), word (common), place, or unk
    (not listed, no telling ending: see _dict_kind)."""
    listed = _LISTED.get(w)
    if listed:
        return listed
    if _KZ_SURNAME.search(w):
        return "surn"
    if len(w) < 2 or "-" in w and w.split("-")[0][-1:] in ("о", "е"):
        return "word"  # "Фельдшерско-акушерский"
    if _PATR.search(w):
        ending = "patr"
    elif _RU_SURNAME.search(w) and not (w.endswith(("ин", "ина", "ину", "ином", "иной", "ине")) and _KZ_LETTERS & set(w)):
        ending = "surn"
    elif _ADJ_SURNAME.search(w):
        ending = "amb"
    else:
        return "unk"
    # the dictionary tells common words with a surname's ending ("Снова", "Машина") from names
    return _dict_kind(w) or ending


def _refined(w: str) -> str:
    """The kind of an "unk" token once the dictionary is asked."""
    k = _dict_kind(w.lower()) or "unk"
    return "amb" if k == "name" and w[1:2].isupper() else k


_TOKEN_KINDS: dict[str, str] = {}


def _token_kind(w: str) -> str:
    if len(_TOKEN_KINDS) > 1 << 16:
        _TOKEN_KINDS.clear()
    if w[1:2] == ".":
        k = "init"
    else:
        low = w.lower()
        k = _kind(low)
        if len(w) > 1 and w[1].isupper() and low not in _LISTED:
            if len(w) <= 4:
                k = "word"  # an abbreviation: "МӘС", "АЗС"
            elif k == "name":
                k = "amb"  # in shouted text every word is capitalised: "АЙДАН" is more likely "from a month"
        elif "-" in low and any(_LISTED.get(part) == "place" for part in low.split("-")):
            k = "place"  # "Молдагуловой-Ломоносова": a crossing
    _TOKEN_KINDS[w] = k
    return k


def _starts_word(low: str, i: int) -> bool:
    return i == 0 or not low[i - 1].isalnum()


def _number_spans(text: str, low: str, spans: list) -> None:
    n = len(text)
    for c in _CLUSTER.finditer(text):
        s, e = c.span()
        for m in _NUMBERS.finditer(text, max(0, s - 4), min(n, e + 12)):
            if m.group("d") and 1 <= int(m.group("d")) <= 31 and 1 <= int(m.group("m")) <= 12:
                continue  # 18-03-26 is a date
            spans.append(m.span())
        if _REGNUM.fullmatch(text, s, e) or _MONEY_AFTER.match(text, e):
            continue
        cue = _CUED.search(low, max(0, s - 48), s)
        if cue and _starts_word(low, cue.start()):
            while s and text[s - 1] in "+(":
                s -= 1
            spans.append((s, e))
    if "кв" in low or "пәтер" in low or "патер" in low or "apt" in low:
        for m in _FLAT.finditer(low):
            if _starts_word(low, m.start()) and not (m.group(1) and _UNIT_AFTER.match(low, m.end(1))):
                spans.append(m.span(1) if m.group(1) else m.span(2))


def _before(low: str, s: int) -> str | None:
    """What the word(s) right before position s say about the word there (see _BEFORE)."""
    parts = low[max(0, s - 32):s].rsplit(None, 3)
    if not parts:
        return None
    last = parts[-1]
    kind = _BEFORE.get(last)
    if kind:
        return kind
    if last[-1] in ".!?":
        return None  # a sentence starts here
    if last[-1] in _QUOTES:
        return "quote"  # «Арай», "Айсулу": the name of a shop, a company
    if ";" in last or ">" in last or "/" in last:  # "&nbsp;Улица", "<p>ул.", "хана/Братьев"
        kind = _BEFORE.get(re.split(r"[;>/]", last)[-1])
        if kind:
            return kind
    bare = last.rstrip(":,-–")  # "ФИО:", "заявитель -"
    if not bare and len(parts) > 1:
        parts, bare = parts[:-1], parts[-2].rstrip(":,-–")
    kind = _BEFORE.get(bare) or (_BEFORE.get(parts[-2] + " " + bare) if len(parts) > 1 else None)
    return kind if kind in ("def", "role") else None


def _street(low: str, toks: list, kinds: list, i: int, before: str | None) -> bool:
    """Whether token i names a street (or place), the words of it marked as such in kinds."""
    nxt = i + 1 < len(toks) and _GAP.fullmatch(low, toks[i][1], toks[i + 1][0])
    prev = i and _GAP.fullmatch(low, toks[i - 1][1], toks[i][0])
    if before in ("street", "quote") or (prev and _before(low, toks[i - 1][0]) == "street"):
        # "ул. Абая", "пр. Алии Молдагуловой", "ул. Братьев Жубановых", кафе «Арай»
        if nxt and kinds[i + 1] in ("surn", "place", "unk", "amb"):
            kinds[i + 1] = "place"
    elif i and kinds[i - 1] in ("place", "lone") and _CROSSING.fullmatch(low, toks[i - 1][1], toks[i][0]):
        pass  # "Кайтпас - Жандосова", "Абилкайыр хана/Братьев Жубановых": a crossing
    elif i + 1 < len(toks) and kinds[i] in ("surn", "amb", "unk") and kinds[i + 1] in ("surn", "amb", "unk", "place") \
            and _CROSSING.fullmatch(low, toks[i][1], toks[i + 1][0]) and not _CROSSING.fullmatch(low, toks[i][1], toks[i][1] + 1):
        kinds[i + 1] = "place"  # "Молдағұлова – Ломоносов"
    elif nxt and kinds[i] == "amb" and kinds[i + 1] == "place":
        kinds[i + 1] = "place"  # "Нур Актобе"
    elif nxt and kinds[i + 1] == "place" and _LISTED.get(toks[i + 1][2].lower()) == "place" \
            and _SURNAME_LIKE.search(toks[i + 1][2].lower()):
        kinds[i + 1] = "place"  # "по Алии Молдагуловой": a listed street named after a person
    elif _STREET_AFTER.match(low, toks[i][1]):  # "Абай көшесі", "Есет батыра", "Бауыржан Момышұлы көшесі"
        if i and kinds[i] in ("surn", "place") and kinds[i - 1] in ("name", "amb", "unk") \
                and _GAP.fullmatch(low, toks[i - 1][1], toks[i][0]):
            kinds[i - 1] = "place"
    else:
        return False
    kinds[i] = "place"
    return True


def _name_spans(text: str, low: str, spans: list) -> None:
    toks = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)
            if not (m.start() and text[m.start() - 1].isalpha())]
    words = low.split()
    if not _LOWER_NAMES.isdisjoint(words):  # first names written in lower case ("айгуль", "айгуль,"),
        # unless the form is also a common word: "жене" (to a wife), "лени" (of laziness)
        _COMMON.update(w for w in words if w in _LOWER_NAMES and _is_common(w.rstrip(_TRAILING)))
        for w in {w.rstrip(_TRAILING) for w in _LOWER_NAMES.intersection(words)} - _COMMON:
            toks += [(m.start(), m.end(), w) for m in re.finditer(rf"(?<![\w]){w}(?![\w])", text)]
        toks.sort()
    if toks:
        kinds = [_TOKEN_KINDS.get(w) or _token_kind(w) for _, _, w in toks]
        if not all(k in _NOT_PERSON for k in kinds):
            _runs(text, low, toks, kinds, spans)
    if "зовут" in low or "аты" in low or "фио" in low or "ф.и" in low or "есімім" in low:
        for m in _NAMING.finditer(low):  # "меня зовут айгуль": a lower-case word that is no common word
            w = _LOWER_WORD.match(text, m.end())
            k = _kind(w.group(1)) if w else "word"
            if k == "unk":
                k = _dict_kind(w.group(1)) or "unk"
            if k not in _NOT_PERSON and _starts_word(low, m.start()):
                end = w.end()
                nxt = _NEXT_WORD.match(text, end)
                if nxt and _kind(nxt.group(1)) in _PERSON:
                    end = nxt.end()
                spans.append((w.start(), end))


def _runs(text: str, low: str, toks: list, kinds: list, spans: list) -> None:
    """Runs of neighbouring capitalised words that may be one person's name."""
    cues = {}
    n = len(toks)
    for i, (s, e, w) in enumerate(toks):
        k = kinds[i]
        if k in _NOT_PERSON:
            continue
        if k == "init" and low.startswith("ф.и.о", s):
            kinds[i] = "word"
            continue
        cue = cues[i] = _before(low, s)
        if (k == "unk" and cue not in _STRONG or k == "amb" and cue is None) \
                and not (i and kinds[i - 1] not in _NOT_PERSON and _GAP.fullmatch(text, toks[i - 1][1], s)) \
                and not (i + 1 < n and kinds[i + 1] not in _NOT_PERSON and _GAP.fullmatch(text, e, toks[i + 1][0])):
            # a lone word with no cue before it: a name only if the dictionary says so mid-sentence
            # ("вчера Зарема сказала"); at a sentence start it is just capitalised
            if k == "amb" or not _MID_SENTENCE.search(text, max(0, s - 3), s) or _refined(w) not in _PERSON:
                kinds[i] = "lone"
                continue
        if k == "unk":
            k = kinds[i] = _refined(w)
            if k in _NOT_PERSON:
                continue
        if _street(low, toks, kinds, i, cue):
            continue
        if k in ("surn", "amb", "unk") and cue not in _STRONG and _HOUSE.match(text, e):
            kinds[i] = "word"  # "на Абая 12", "Маресьева 97": a street with a house number
    i = 0
    while i < n:
        if kinds[i] in _NOT_PERSON:
            i += 1
            continue
        j = i
        while j + 1 < n and kinds[j + 1] not in _NOT_PERSON and _GAP.fullmatch(text, toks[j][1], toks[j + 1][0]):
            j += 1
        run, ks, cue = range(i, j + 1), kinds[i:j + 1], cues.get(i)
        i = j + 1
        persons = [x for x, k in enumerate(ks) if k in _PERSON]
        if cue in _STRONG:
            chosen = run[:3]
        elif persons:
            first, last = persons[0], persons[-1]
            if cue == "weak":
                first = 0
            elif first > 0:
                first -= 1  # "Ким Ольга", "Жаксылык Асхат": a word just before a name
            chosen = run[first: last + 3]
        elif cue == "weak" and "amb" in ks:
            chosen = run[: ks.index("amb") + 2]
        elif "init" in ks and len(ks) > 1:
            chosen = run
        else:
            continue
        start, end = toks[chosen[0]][0], toks[chosen[-1]][1]
        for _ in range(2):  # a lower-case surname or patronymic right after: "айгуль сапарова"
            m = _NEXT_WORD.match(text, end)
            if not m or _kind(m.group(1)) not in ("surn", "patr"):
                break
            end = m.end()
        spans.append((start, end))


def _lower(text: str) -> str:
    """text.lower() with every character kept in its place (a few letters grow when lower-cased)."""
    low = text.lower()
    return low if len(low) == len(text) else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def mask(text: str) -> str:
    """The text with personal data replaced by ***; None and empty texts come back unchanged."""
    if not text:
        return text
    low = _lower(text)
    spans: list[tuple[int, int]] = []
    if "@" in text or "at" in low or "собака" in low:
        spans += [m.span() for m in _EMAIL.finditer(text)]
    _number_spans(text, low, spans)
    _name_spans(text, low, spans)
    if not spans:
        return text
    merged: list[list[int]] = []
    for s, e in sorted(spans):
        if merged and (s <= merged[-1][1] or not text[merged[-1][1]:s].strip()):
            merged[-1][1] = max(merged[-1][1], e)  # overlapping, or only spaces between: one mask
        else:
            merged.append([s, e])
    out, last = [], 0
    for s, e in merged:
        out += [text[last:s], MASK]
        last = e
    out.append(text[last:])
    return "".join(out)


# Bidirectional overrides and isolates, and other invisible format characters: a text can use them
# to show staff something other than what it says ("‮txt.exe" reading backwards).
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u0000-\u0008\u000b\u000c\u000e-\u001f]")


def display_text(text) -> str:
    """A resident's text as it may be shown: without bidi overrides and invisible control characters."""
    return "" if text is None or (isinstance(text, float) and text != text) else _INVISIBLE.sub("", str(text))


def for_viewer(rows, viewer):
    """Rows of submissions as `viewer` may see them: texts cleaned of invisible characters, and
    for a viewer without the `contacts` permission texts masked, contacts and addresses hidden.
    `viewer` None is the trusted path of the CLI and jobs."""
    from pipeline import auth

    rows = rows.copy()
    if "text" in rows:
        rows["text"] = [display_text(t) for t in rows["text"]]
    if not auth.may_see_contacts(viewer):
        if "text" in rows:
            rows["text"] = [mask(t) for t in rows["text"]]
        if "contact" in rows:
            rows["contact"] = [None if v is None or v != v else MASK for v in rows["contact"]]
        if "address" in rows:  # the street and house stay: they say where the problem is
            rows["address"] = [v if v is None or v != v else mask(str(v)) for v in rows["address"]]
    return rows
