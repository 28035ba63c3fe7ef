"""Synthetic call-centre exports for load and crash tests (not the demo: no history, no workflow)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import reference

_PROBLEMS = [
    "во дворе огромная яма, машины бьют подвеску", "не горит уличный фонарь уже неделю",
    "нет горячей воды и батареи холодные", "контейнеры переполнены, мусор не вывозят",
    "открытый люк возле подъезда, дети ходят рядом", "автобус по маршруту ходит раз в час",
    "стая бездомных собак бросается на прохожих", "снег не убирают, тротуар покрыт льдом",
    "ауламызда қоқыс шығарылмай жатыр", "жылу жоқ, балалар тоңып отыр", "пахнет газом в подъезде",
    "лифт не работает третий день, КСК не отвечает", "в поликлинике очередь к терапевту на месяц",
]
_TAILS = ["прошу принять меры", "обращаюсь повторно", "когда это закончится?", "көмектесулеріңізді сұраймын",
          "жду ответа", "спасибо", ""]


def call_centre_csv(path: Path, rows: int, seed: int = 1, encoding: str = "utf-8-sig",
                    long_texts: bool = False, first_id: int = 1, append: bool = False) -> Path:
    """A Russian-locale export: ';' delimited, dd.mm.yyyy dates, one id per row. With `long_texts`
    each text is 300-400 characters, the length of real call-centre records (for benchmarks);
    `append` adds the rows, ids from `first_id` on, to an existing file without a header."""
    rng = np.random.default_rng(seed)
    districts = reference.districts()["name_ru"].to_numpy()
    start = pd.Timestamp("2025-01-01").value // 10**9
    stamps = pd.to_datetime(rng.integers(start, start + 300 * 86400, rows), unit="s").strftime("%d.%m.%Y %H:%M")
    text = (np.array(_PROBLEMS, dtype=object)[rng.integers(0, len(_PROBLEMS), rows)] + ", "
            + np.array(_PROBLEMS, dtype=object)[rng.integers(0, len(_PROBLEMS), rows)] + ". "
            + np.array(_TAILS, dtype=object)[rng.integers(0, len(_TAILS), rows)] + " дом "
            + rng.integers(1, 200, rows).astype(str))
    if long_texts:  # more problems, cut to 300-400 characters
        for _ in range(8):
            text = text + ". " + np.array(_PROBLEMS, dtype=object)[rng.integers(0, len(_PROBLEMS), rows)]
        cut = 300 + rng.integers(0, 100, rows)
        text = np.array([t[:n].rstrip() for t, n in zip(text, cut)], dtype=object)
    frame = pd.DataFrame({
        "№ обращения": np.char.add("109-", np.arange(first_id, first_id + rows).astype(str)),
        "Дата поступления": stamps,
        "Район": districts[rng.integers(0, len(districts), rows)],
        "Адрес": np.char.add("ул. Маресьева, ", rng.integers(1, 120, rows).astype(str)),
        "Текст обращения": text,
        "Телефон": np.char.add("+7 701 ", rng.integers(1000000, 9999999, rows).astype(str)),
    })
    if append:  # a further part of a file too big to make at once (bench/ingest.py --rows 10000000)
        with open(path, "a", encoding=encoding.removesuffix("-sig"), newline="") as f:
            frame.to_csv(f, sep=";", index=False, header=False)
    else:
        frame.to_csv(path, sep=";", index=False, encoding=encoding)
    return path
