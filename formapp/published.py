"""The files the staff side publishes (pipeline/public.py), read and cached by modification time.

A missing, empty or broken file is not an error for the resident: placements fall back to the
district picker, statuses to "received, not yet processed", decisions to the empty state. The
reason goes to the form's log once per change of the file.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from formapp import refdata

log = logging.getLogger("formapp")
MAX_PLACEMENT_CODE = 40


class JsonFile:
    """One JSON file, parsed again only when its (mtime, size) changes; `parse` turns the loaded
    JSON into what the form uses and raises ValueError on a wrong shape."""

    def __init__(self, path: Path, parse, empty):
        self.path, self.parse, self.empty = Path(path), parse, empty
        self._stamp = None
        self._value = empty
        self._lock = threading.Lock()

    def get(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp:
            return self._value
        with self._lock:
            if stamp != self._stamp:
                self._value = self._load() if stamp else self.empty
                self._stamp = stamp
        return self._value

    def _load(self):
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
            return self.parse(data)
        except (OSError, ValueError, TypeError, AttributeError, KeyError, RecursionError) as exc:
            log.warning("%s cannot be used (%s); going on without it", self.path, " ".join(str(exc).split())[:200])
            return self.empty


def parse_placements(data) -> dict[str, dict]:
    """placements.json: [{"code", "kind", "name_ru", "name_kk", "region", "district", "active"}];
    keyed by the upper-case code. A placement without a district (a bus or a route crosses several)
    is kept, with its region: the form asks the resident for the district. Entries without a code,
    or with a district or region that is not known, are skipped."""
    if not isinstance(data, list):
        raise ValueError("placements.json is not a list")
    known, regions = refdata.districts(), refdata.regions()
    out = {}
    for item in data:
        if not isinstance(item, dict):
            continue
        code = str(item.get("code") or "").strip().upper()
        district = str(item.get("district") or "") or None
        region = known[district]["region"] if district in known else str(item.get("region") or "") or None
        if not code or len(code) > MAX_PLACEMENT_CODE or (district is not None and district not in known) \
                or (district is None and region not in regions):
            continue
        out[code] = {"code": code, "kind": str(item.get("kind") or ""), "name_ru": str(item.get("name_ru") or ""),
                     "name_kk": str(item.get("name_kk") or ""), "district": district,
                     "region": region, "active": item.get("active") is not False}
    return out


def parse_status(data) -> dict[str, dict]:
    """status.json: {"version": 1, "receipts": {receipt: {...}}} (see pipeline/public.py)."""
    receipts = data["receipts"]
    if not isinstance(receipts, dict):
        raise ValueError("receipts is not an object")
    return receipts


def parse_decisions(data) -> list[dict]:
    """decisions.json: {"version": 1, "decisions": [...]}; the form lists the accepted ones."""
    items = data["decisions"]
    if not isinstance(items, list):
        raise ValueError("decisions is not a list")
    return [d for d in items if isinstance(d, dict) and d.get("decision") == "accepted" and d.get("district")]


class Published:
    def __init__(self, folder: Path):
        folder = Path(folder)
        self.placements = JsonFile(folder / "placements.json", parse_placements, {})
        self.status = JsonFile(folder / "status.json", parse_status, {})
        self.decisions = JsonFile(folder / "decisions.json", parse_decisions, [])

    def placement(self, code: str) -> dict | None:
        return self.placements.get().get(str(code or "").strip().upper())

    def receipt(self, receipt: str) -> dict | None:
        entry = self.status.get().get(receipt)
        return entry if isinstance(entry, dict) else None
