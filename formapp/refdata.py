"""Reference data the form shows (districts, regions, topics, departments), read from data/*.csv
with the csv module: the form's process needs no pandas and no database."""
from __future__ import annotations

import csv
import functools

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


def districts_by_region(lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(region name, [(district code, district name), ...]), ...] for the district picker."""
    out = []
    for region_code, region in regions().items():
        items = sorted(((code, name(d, lang)) for code, d in districts().items() if d["region"] == region_code),
                       key=lambda item: item[1])
        if items:
            out.append((name(region, lang), items))
    return out
