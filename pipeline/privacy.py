"""Masking residents' personal data in texts shown on shared screens (the wall ticker).

Appeals carry phone numbers, names, flat numbers, e-mails and IINs inside the free text. What
is masked: phone numbers (+7 / 8 and 10 digits in any grouping), 12-digit IINs, e-mail addresses,
flat numbers ("кв. 54", "квартира 54", "54-пәтер", "пәтер 54"), names after a cue ("меня зовут",
"заявитель", "гражданка", "ФИО", "менің атым", "атым"), "Surname I. O." and words with a
Russian or Kazakh surname ending (-ов, -ева, -ин, -ская, -ұлы, -қызы, ...). House and route
numbers stay: they are what staff need to see where the problem is. It errs towards masking.
"""
from __future__ import annotations

import re

MASK = "***"

_PHONE = re.compile(r"(?<!\d)(?:\+?7|8)[\s\-()]*\d{3}[\s\-()]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)")
_SHORT_PHONE = re.compile(r"(?<!\d)\d{3}[\s\-]\d{2}[\s\-]\d{2}(?!\d)")  # local 7-digit numbers
_IIN = re.compile(r"(?<!\d)\d{12}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_FLAT = re.compile(r"(?i)\b(кв\.?|квартир[аеуы]?|пәтер|патер|apt\.?)\s*№?\s*\d+[а-яa-z]?|\b\d+\s*-?\s*(пәтер|патер)")
_UP = "А-ЯЁӘҒҚҢӨҰҮҺІA-Z"
_LOW = "а-яёәғқңөұүһіa-z"
_NAME = rf"[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?"
_CUE = re.compile(
    rf"(?i:\b(меня зовут|зовут|заявитель(?:ница)?|гражданк[аи]|гражданин[а]?|фио|ф\.и\.о\.?|"
    rf"менің атым|атым|өтініш беруші|обратил[аи]?сь|звонил[аи]?)\b[\s:,-]*)"
    rf"((?:{_NAME}|[{_UP}]\.)(?:\s+(?:{_NAME}|[{_UP}]\.(?:\s?[{_UP}]\.)?)){{0,2}})")
_INITIALS = re.compile(rf"\b{_NAME}\s+[{_UP}]\.(?:\s?[{_UP}]\.)?|\b[{_UP}]\.\s?(?:[{_UP}]\.\s?)?{_NAME}")
_SURNAME = re.compile(
    rf"\b[{_UP}][{_LOW}]{{2,}}(?:ова|ева|ёва|ов|ев|ёв|ина|ин|ына|ын|ская|ский|цкая|цкий|енко|ук|юк|"
    rf"ұлы|улы|қызы|кызы|баев|баева|бекова|беков)\b")
# Words with a surname ending that are place or street names in this region, not people.
_NOT_NAMES = {"Абилкайыр", "Маресьева", "Есет", "Курашсай", "Кирпичный", "Каргалинский", "Мартукский",
              "Хромтауский", "Мугалжарский", "Алгинский", "Уилский", "Темирский", "Шалкарский", "Иргизский",
              "Хобдинский", "Байганинский", "Айтекебийский", "Абайский", "Енбекшинский", "Каратауский",
              "Туранский", "Астанинский", "Алматинский", "Байтурсынова", "Алтынсарина", "Молдагуловой",
              "Рыскулова", "Жилгородок", "Аль-Фарабийский", "Гагарина", "Пушкина", "Ленина", "Абая",
              "Кенесары", "Жансугурова", "Сатпаева", "Тулебаева", "Кунаева", "Ауэзова", "Джамбула"}


_NAMED = "\x00"  # a masked name, until its neighbours are looked at
_NEXT_TO_NAME = re.compile(rf"(?:{_NAME}\s+)?\x00(?:\s+{_NAME}){{0,2}}")
_STREET = re.compile(r"(?i)(ул|улица|пр|просп|проспект|пер|переулок|бульвар|б-р|мкр|им|имени|көшесі)\.?\s*$")


def _surname(m: re.Match) -> str:
    # Streets are named after people: "ул. Маресьева" is an address, not a resident.
    if m.group(0) in _NOT_NAMES or _STREET.search(m.string[max(0, m.start() - 12):m.start()]):
        return m.group(0)
    return _NAMED


def mask(text: str) -> str:
    """The text with personal data replaced by ***; None and empty texts come back unchanged."""
    if not text:
        return text
    out = _EMAIL.sub(MASK, text)
    out = _PHONE.sub(MASK, out)
    out = _IIN.sub(MASK, out)
    out = _SHORT_PHONE.sub(MASK, out)
    out = _FLAT.sub(lambda m: re.sub(r"\d+[а-яa-z]?", MASK, m.group(0)), out)
    out = _CUE.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + _NAMED, out)
    out = _INITIALS.sub(_NAMED, out)
    out = _SURNAME.sub(_surname, out)
    # a first name or patronymic right next to a masked surname goes too
    return _NEXT_TO_NAME.sub(MASK, out)
