"""A progress bar for long CLI work on stderr: redrawn in place on a terminal, a line per step
otherwise (when asked for with --progress), nothing when not asked for and not a terminal."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, enabled: bool | None = None, stream=None, unit: str = "rows",
                 width: int = 30):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = self.tty if enabled is None else enabled
        self.label, self.unit, self.width = label, unit, width
        self.started = time.monotonic()
        self.drawn = False

    def line(self, share: float, count: int, total: int | None = None) -> str:
        share = min(max(share, 0.0), 1.0)
        filled = int(round(share * self.width))
        seconds = time.monotonic() - self.started
        rate = f", {count / seconds:,.0f} {self.unit}/s" if seconds > 0 and count else ""
        of = f" of {total:,}" if total else ""
        return f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} {count:,}{of} {self.unit}{rate}"

    def update(self, done: int, total: int | None = None, share: float | None = None) -> None:
        """`done` of `total` units; `share` (0-1) when the total is not known (bytes of a file)."""
        if not self.enabled:
            return
        if share is None:
            share = done / total if total else 0.0
        text = self.line(share, done, total)
        if self.tty:
            self.stream.write("\r" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.enabled and self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
