"""Demo data: placeholder until the demo issue lands. build_demo(con, rows, seed) -> stats dict."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline import classify, events, reference, sla, store

_TEXTS = ["Яма на дороге у дома", "Не горит фонарь во дворе", "Нет горячей воды", "Мусор не вывозят",
          "Қоқыс шығарылмайды", "Автобус не приходит", "Жылу жоқ, батарея суық"]


def build_demo(con, rows: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    d = reference.districts()
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame({
        "source": "hotline_109",
        "source_id": [f"demo-{i}" for i in range(rows)],
        "received_at": now - pd.to_timedelta(rng.integers(0, 730 * 86400, rows), unit="s"),
        "text": rng.choice(_TEXTS, rows),
        "district": rng.choice(d["code"], rows),
    })
    frame["region"] = frame["district"].map(dict(zip(d["code"], d["region"])))
    frame = pd.concat([frame, classify.classify_texts(frame["text"].tolist())], axis=1)
    frame = pd.concat([frame, sla.initial_case_fields(frame)], axis=1)
    frame["category_source"] = "model"
    frame["category_confidence"] = frame.pop("confidence")
    with store.transaction(con):
        con.register("_demo", frame)
        cols = ", ".join(c for c in frame.columns)
        con.execute(f"INSERT INTO submissions ({cols}) SELECT {cols} FROM _demo")
        con.unregister("_demo")
        events.record_created(con, actor="demo")
        store.set_meta(con, "dataset", "demo")
    return {"rows": rows}
