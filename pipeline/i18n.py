"""Interface texts from data/i18n/*.csv (key,ru,kk,en). Russian first, Kazakh second, English third."""
from __future__ import annotations

import csv
import functools

from pipeline.settings import ROOT

LANGS = ("ru", "kk", "en")
I18N = ROOT / "data" / "i18n"


@functools.cache
def table() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for path in sorted(I18N.glob("*.csv")):
        # The csv module, not pandas: the public form's small process reads these words too.
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            row = {k: (v or "") for k, v in row.items()}
            if row["key"] in out:
                raise ValueError(f"{path.name}: translation key {row['key']!r} is defined twice")
            out[row["key"]] = row
    return out


def t(key: str, lang: str = "ru", **fmt) -> str:
    """Text for key in lang; falls back to Russian, then to the key itself so gaps stay visible."""
    row = table().get(key)
    text = (row.get(lang) or row.get("ru")) if row else key
    return text.format(**fmt) if fmt else text


def missing(lang: str) -> list[str]:
    return [k for k, row in table().items() if not row.get(lang)]
