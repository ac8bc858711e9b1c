"""Progress on stderr while a bench runs: a bar redrawn in place on a terminal, milestone lines otherwise.

The runner calls it at most ten times a second, outside the timed calls.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar("cpu", stream=out, tty=False)
    >>> bar("timed", 50, 100, 0.5, None); bar("timed", 100, 100, 1.0, None)
    >>> out.getvalue().splitlines()
    ['cpu timed: 50% (50/100 runs, 0.5 s)', 'cpu timed: 100% (100/100 runs, 1.0 s)']
"""
from __future__ import annotations

import sys
from typing import Optional, TextIO

WIDTH = 30
MILESTONES = (0.25, 0.5, 0.75, 1.0)


class ProgressBar:
    """A ``runner.Progress`` callback for one row; ``tty`` None asks the stream."""

    def __init__(self, label: str, *, stream: Optional[TextIO] = None, tty: Optional[bool] = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._phase = ""
        self._next_milestone = 0

    def __call__(self, phase: str, done: int, total: Optional[int], elapsed: float, duration: Optional[float]) -> None:
        if phase != self._phase:
            self._phase, self._next_milestone = phase, 0
        if total:
            fraction = done / total
            counted = f"{done}/{total} runs, {elapsed:.1f} s"
        elif duration:
            fraction = min(1.0, elapsed / duration)
            counted = f"{done} runs, {elapsed:.1f}/{duration:g} s"
        else:
            fraction, counted = 0.0, f"{done} runs"
        finished = total is not None and done >= total
        if self.tty:
            filled = int(WIDTH * fraction)
            end = "\n" if finished else ""
            self.stream.write(f"\r\033[K{self.label} {phase:<14}[{'#' * filled}{'.' * (WIDTH - filled)}] "
                              f"{100 * fraction:3.0f}% {counted}{end}")
            self.stream.flush()
            return
        passed = sum(fraction >= m - 1e-9 for m in MILESTONES)
        if passed > self._next_milestone:  # one line per milestone crossed, not per call
            self._next_milestone = passed
            self.stream.write(f"{self.label} {phase}: {100 * fraction:.0f}% ({counted})\n")
            self.stream.flush()
