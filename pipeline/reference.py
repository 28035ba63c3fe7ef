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


def name(table: pd.DataFrame, code: str, lang: str) -> str:
    """Display name of a code in a reference table, falling back to the code itself."""
    col = f"name_{lang if lang in LANGS else 'ru'}"
    hit = table.loc[table["code"] == code, col]
    return hit.iloc[0] if len(hit) else str(code)


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


def region_of(district_code: str) -> str | None:
    hit = districts().loc[districts()["code"] == district_code, "region"]
    return hit.iloc[0] if len(hit) else None
