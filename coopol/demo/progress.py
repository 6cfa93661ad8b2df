"""A text progress bar on stderr, one step at a time (redrawn in place on a terminal, a line per step
otherwise, so logs and tests read it too)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(1, total)
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.in_place = bool(getattr(self.stream, "isatty", lambda: False)())

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self, text: str) -> str:
        filled = round(WIDTH * self.done / self.total)
        return (f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done:>2}/{self.total} "
                f"{self.elapsed:4.0f} s  {text}")

    def step(self, text: str) -> None:
        """One more step done (or starting): `text` says which."""
        self.done = min(self.total, self.done + 1)
        self.show(text)

    def show(self, text: str) -> None:
        if self.in_place:
            self.stream.write("\r\x1b[2K" + self.line(text)[:160])
        else:
            self.stream.write(self.line(text) + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Before a line of ordinary output, on a terminal: the bar is drawn again by the next step."""
        if self.in_place:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
