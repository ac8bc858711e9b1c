"""Tracking over any detector's results, with line and zone counting: ``model.stream(src, track=True)``.

``Tracking`` is the stage a stream runs after decoding: ByteTrack gives every detection
on a confirmed track its ``tracker_id``, then each ``LineCounter`` and ``ZoneCounter``
counts. Detections, instance masks and poses are all tracked alike (each is a
``Detections``). ``edgevision run --track --count-line x1,y1,x2,y2 --zone x,y,...`` builds one.

Example:
    >>> from edgevision.results import Detections
    >>> tracking = Tracking(lines=[[(0, 50), (100, 50)]], zones=[[(0, 0), (100, 0), (100, 40), (0, 40)]])
    >>> for y in (30, 40, 50, 60, 70, 80):
    ...     out = tracking(Detections(np.array([[40, y - 20, 60, y + 20]]), np.array([0.9]), np.array([0]), ("car",)))
    >>> out.tracker_id.tolist(), tracking.counts()["lines"][0]["in"], tracking.counts()["zones"][0]["exited"]
    ([1], {'car': 1}, {'car': 1})
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .bytetrack import ByteTrack
from .counting import LineCounter, ZoneCounter, counters_summary, parse_points

__all__ = ["ByteTrack", "LineCounter", "Tracking", "ZoneCounter", "parse_points"]


class Tracking:
    """ByteTrack then the counters, on every result: ``tracked = tracking(result)``."""

    def __init__(self, tracker: ByteTrack | None = None, *, lines: Sequence[Any] = (), zones: Sequence[Any] = (),
                 anchor: str = "center", frame_rate: float | None = None) -> None:
        self.tracker = tracker if tracker is not None else ByteTrack(frame_rate=frame_rate or 30.0)
        self.counters: list[Any] = [c if isinstance(c, LineCounter) else LineCounter(c, name=f"line {i + 1}", anchor=anchor)
                                    for i, c in enumerate(lines)]
        self.counters += [z if isinstance(z, ZoneCounter) else ZoneCounter(z, name=f"zone {i + 1}", anchor=anchor)
                          for i, z in enumerate(zones)]
        self.frames = 0

    def __call__(self, result: Any) -> Any:
        """``result`` with track ids, only the detections on confirmed tracks; the counters updated."""
        tracked = self.tracker.update(result)
        self.frames += 1
        if self.counters:
            smooth = self.tracker.filtered_boxes()  # the tracks' Kalman boxes: steadier anchors than the detections
            for counter in self.counters:
                counter.update(tracked, self.frames, smooth)
        return tracked

    def counts(self) -> dict[str, Any]:
        """``{"lines": [...], "zones": [...]}`` with every counter's counts per class (JSON-ready)."""
        return counters_summary(self.counters)

    def summary(self) -> dict[str, Any]:
        """What a run's summary adds: the confirmed tracks so far, and the counts when there are counters."""
        out: dict[str, Any] = {"tracks": self.tracker.next_id - 1}
        if self.counters:
            out["counts"] = self.counts()
        return out

    def describe(self) -> str:
        """One line: each counter's totals (``'line 1: in 3, out 1 · zone 1: 2 in, entered 5'``)."""
        return " · ".join(c.describe() for c in self.counters)
