"""Run statistics of a live loop: frame count, fps, and per-stage latency over the whole run and the last frames.

``Stream.stats`` is a ``RunStats``; ``edgevision run`` prints its summary and the live
view shows ``recent()``. Medians over runs of any length come from ``LatencyHistogram``,
in fixed memory.

Example:
    >>> stats = RunStats()
    >>> stats.add(FrameTimings(0.0, 0.001, 0.004, 0.001, 0.006), now=10.0)
    >>> stats.frames, round(stats.summary()["median_ms"]["infer"], 1)
    (1, 4.0)
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .hooks import STAGES, FrameTimings

TIMED = (*STAGES, "total")  # what each frame records, in this order


class LatencyHistogram:
    """Durations in fixed memory: log-spaced bins 0.23 % wide from 1 µs to 100 s, for medians over any run length.

    Example:
        >>> h = LatencyHistogram()
        >>> for ms in (1, 2, 3, 4, 100):
        ...     h.add(ms / 1000)
        >>> round(1000 * h.quantile(0.5), 2)
        3.0
    """

    PER_DECADE, LOW, DECADES = 1000, 1e-6, 8

    def __init__(self) -> None:
        self.counts = np.zeros(self.PER_DECADE * self.DECADES + 1, np.int64)
        self.n = 0

    def add(self, seconds: float) -> None:
        i = int(math.log10(max(seconds, self.LOW) / self.LOW) * self.PER_DECADE + 0.5)
        self.counts[min(i, len(self.counts) - 1)] += 1
        self.n += 1

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0..1) in seconds; 0.0 before anything was added."""
        if not self.n:
            return 0.0
        i = int(np.searchsorted(np.cumsum(self.counts), q * self.n, side="left"))
        return self.LOW * 10 ** (i / self.PER_DECADE)


class RunStats:
    """Frame count, throughput and per-stage latency of a run: over the whole run and over the last frames.

    Example:
        >>> stats = RunStats()
        >>> for i in range(3):
        ...     stats.add(FrameTimings(0.0, 0.001, 0.004, 0.001, 0.006), now=10.0 + 0.1 * i)
        >>> round(stats.fps(), 1), round(stats.summary()["median_ms"]["infer"], 2)   # bins 0.23 % wide
        (10.0, 4.0)
    """

    def __init__(self, window: int = 60) -> None:
        self.frames = 0
        self.started = time.monotonic()
        self.first_result: float | None = None  # monotonic time of the first result
        self.last_result: float | None = None
        self.first_seconds = 0.0  # the first frame's total, warm-up included; reported apart
        self.histograms = {k: LatencyHistogram() for k in TIMED}
        # The last ``window`` frames for the live view: a fixed ring, written in place.
        self._recent = np.zeros((window, len(TIMED)))
        self._recent_at = np.zeros(window)

    def add(self, timings: FrameTimings, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self.first_result is None:
            self.first_result, self.first_seconds = now, timings.total
        self.last_result = now
        slot = self.frames % len(self._recent_at)
        for j, key in enumerate(TIMED):
            value = getattr(timings, key)
            self.histograms[key].add(value)
            self._recent[slot, j] = value
        self._recent_at[slot] = now
        self.frames += 1

    def fps(self) -> float:
        """Steady-state results per second: from the first result to the last (the first frame's warm-up left out)."""
        if self.frames > 1 and self.last_result and self.first_result and self.last_result > self.first_result:
            return (self.frames - 1) / (self.last_result - self.first_result)
        return 1.0 / self.first_seconds if self.frames == 1 and self.first_seconds > 0 else 0.0

    def recent(self) -> dict[str, Any]:
        """FPS and median milliseconds per stage over the last frames (what a live view shows)."""
        n = min(self.frames, len(self._recent_at))
        if n == 0:
            return {"frames": 0, "fps": 0.0, "latency_ms": dict.fromkeys(TIMED, 0.0)}
        at = np.sort(self._recent_at[:n])
        fps = (n - 1) / (at[-1] - at[0]) if n > 1 and at[-1] > at[0] else 0.0
        if self.last_result is not None and time.monotonic() - self.last_result > 2.0:
            fps = 0.0  # nothing for a while (a reconnect): the rate of old frames would mislead
        medians = np.median(self._recent[:n], axis=0)
        return {"frames": self.frames, "fps": round(fps, 2),
                "latency_ms": {k: round(1000 * float(v), 3) for k, v in zip(TIMED, medians)}}

    def summary(self) -> dict[str, Any]:
        """Totals for the whole run: frames, seconds, fps, first-frame ms, median and p95 ms per stage."""
        return {
            "frames": self.frames,
            "seconds": round(time.monotonic() - self.started, 3),
            "fps": round(self.fps(), 3),
            "first_frame_ms": round(1000 * self.first_seconds, 3),
            "median_ms": {k: round(1000 * h.quantile(0.5), 3) for k, h in self.histograms.items()},
            "p95_ms": {k: round(1000 * h.quantile(0.95), 3) for k, h in self.histograms.items()},
        }
