"""A one-line progress bar on stderr: redrawn in place on a terminal, a few plain lines otherwise.

Example:
    >>> p = Progress(3, "calibrating", stream=None)
    >>> for _ in range(3): p.update()
    >>> p.close()
"""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class Progress:
    """Count ``total`` steps under ``label``; ``stream=None`` is silent."""

    def __init__(self, total: int, label: str, *, stream: Optional[TextIO] = sys.stderr, width: int = 24) -> None:
        self.total, self.label, self.width = max(int(total), 1), label, width
        self.done = 0
        self.stream = stream
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self._last_quarter = -1
        self._last_draw = 0.0

    def update(self, steps: int = 1) -> None:
        self.done = min(self.done + steps, self.total)
        if self.stream is None:
            return
        now = time.monotonic()
        if self.tty:
            if now - self._last_draw >= 0.1 or self.done == self.total:
                self._last_draw = now
                filled = self.width * self.done // self.total
                self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                                  f"{self.done}/{self.total} {now - self.start:.1f}s")
                self.stream.flush()
        else:  # a log file: one line per quarter, not a line per step
            quarter = 4 * self.done // self.total
            if quarter > self._last_quarter:
                self._last_quarter = quarter
                self.stream.write(f"{self.label}: {self.done}/{self.total} ({now - self.start:.1f}s)\n")

    def close(self) -> None:
        if self.stream is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()
