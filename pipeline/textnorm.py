"""Text normalisation for classification: what residents type and web forms leave behind, made
comparable. Vectorised over a pandas Series (ingest classifies hundreds of thousands of rows)."""
from __future__ import annotations

import html
import re

import pandas as pd

# Latin letters that look Cyrillic, typed inside Cyrillic words ("дoрога" with a Latin o).
_LOOKALIKE = str.maketrans("aceopxyABCEHKMOPTXY", "асеорхуАВСЕНКМОРТХУ")
_MIXED_WORD = re.compile(r"\b(?=\w*[а-яәғқңөұүһі])(?=\w*[a-z])\w+\b", re.IGNORECASE)
_RULES = [
    (re.compile(r"<[^>]{0,200}>"), " "),                                     # HTML tags
    (re.compile(r"https?://\S+|www\.\S+"), " _url_ "),
    (re.compile(r"\S+@\S+\.\w+"), " _email_ "),
    (re.compile(r"(?:\+7|8)[\s(-]*7\d{2}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}"), " _phone_ "),
    (re.compile(r"\d+"), " _num_ "),
    (re.compile(r"(\w)\1{2,}"), r"\1"),                                      # "ужааасно" -> "ужасно"
    (re.compile(r"[^\w\s]+"), " "),
    (re.compile(r"\s+"), " "),
]


def normalize_series(texts: pd.Series) -> pd.Series:
    s = texts.fillna("").astype(str).map(html.unescape).str.replace("\xa0", " ")
    latin = s.str.contains(r"[a-zA-Z]", regex=True)
    if latin.any():  # most texts have no Latin letters at all: skip the costly pass for them
        s[latin] = s[latin].str.replace(_MIXED_WORD, lambda m: m.group(0).translate(_LOOKALIKE), regex=True)
    s = s.str.lower().str.replace("ё", "е")
    for pattern, repl in _RULES:
        s = s.str.replace(pattern, repl, regex=True)
    return s.str.strip()


def normalize(text: str) -> str:
    return normalize_series(pd.Series([text])).iloc[0]
