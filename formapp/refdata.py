"""Reference data the form shows (districts, regions, topics, departments), read from data/*.csv
with the csv module: the form's process needs no pandas and no database."""
from __future__ import annotations

import csv
import functools

from pipeline.grammar import alphabetical
from pipeline.settings import ROOT

DATA = ROOT / "data"


def _rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@functools.cache
def _by_code(name: str) -> dict[str, dict]:
    return {r["code"]: r for r in _rows(name)}


def districts() -> dict[str, dict]:
    return _by_code("districts.csv")


def regions() -> dict[str, dict]:
    return _by_code("regions.csv")


def topics() -> dict[str, dict]:
    return _by_code("taxonomy.csv")


def departments() -> dict[str, dict]:
    return _by_code("departments.csv")


def name(row: dict | None, lang: str, fallback: str = "") -> str:
    if not row:
        return fallback
    return row.get(f"name_{lang}") or row.get("name_ru") or fallback


def districts_by_region(lang: str, region: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(region name, [(district code, district name), ...]), ...] for the district picker, in
    alphabetical order of the language (Kazakh letters in their places); only `region`'s districts
    when it is given (a bus route's placement knows its city, not its district)."""
    out = []
    for region_code, row in regions().items():
        if region is not None and region_code != region:
            continue
        items = sorted(((code, name(d, lang)) for code, d in districts().items() if d["region"] == region_code),
                       key=lambda item: alphabetical(item[1]))
        if items:
            out.append((name(row, lang), items))
    return sorted(out, key=lambda group: alphabetical(group[0]))
