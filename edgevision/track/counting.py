"""Counting tracked objects: crossings of a line, and presence in, entries into and exits from a zone, per class.

Each tracked object is followed by one anchor point (its box centre, or ``anchor="bottom"``:
the middle of its bottom edge, where a person or car meets the ground).

- ``LineCounter``: an object crosses when its anchor moves from one side of the line to
  the other and the step between its two positions meets the segment itself (passing
  beside the end of the line is no crossing). ``in`` counts crossings from the left of
  the line, as drawn from its first point to its second, to the right (image
  coordinates, y down: for a line drawn left to right, from above it to below it);
  ``out`` the other way.
- ``ZoneCounter``: ``current`` objects inside the polygon now; ``entered`` and
  ``exited`` count moves from outside to inside and back (an object first seen inside
  has not entered).

A change of side (or of inside/outside) counts once the anchor has been on the new side
for ``min_frames`` frames in a row (2 by default): a box that jitters across a line or a
zone's edge for a single frame is not counted, while one that goes on across is, a frame
later. The ``Tracking`` stage anchors on the tracker's filtered box, which jitters less
than the detection. Counts are per class label. What a counter remembers per track is
dropped once the track is unseen for ``forget`` frames, so memory stays bounded over an
endless stream.

Example:
    >>> from edgevision.results import Detections
    >>> line = LineCounter([(0, 50), (100, 50)])
    >>> for frame, y in enumerate((30, 45, 55, 70, 80)):
    ...     d = Detections(np.array([[40, y - 5, 60, y + 5]]), np.array([0.9]), np.array([0]), ("car",),
    ...                    tracker_id=np.array([7]))
    ...     line.update(d, frame)
    >>> line.counts()
    {'in': {'car': 1}, 'out': {}, 'total_in': 1, 'total_out': 0}
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import UserInputError

ANCHORS = ("center", "bottom")


def anchors_of(xyxy: np.ndarray, anchor: str) -> np.ndarray:
    """(n, 2) anchor points of (n, 4) boxes: centres, or the middles of their bottom edges."""
    b = np.asarray(xyxy, np.float64).reshape(-1, 4)
    x = (b[:, 0] + b[:, 2]) / 2
    y = b[:, 3] if anchor == "bottom" else (b[:, 1] + b[:, 3]) / 2
    return np.stack([x, y], axis=1)


def _points(points: Any, minimum: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(points, np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise UserInputError(f"expected {what} as x,y pairs, got {points!r}") from None
    if len(arr) < minimum or not np.isfinite(arr).all():
        raise UserInputError(f"expected {what} of at least {minimum} x,y points, got {np.asarray(points).tolist()}")
    return arr


class _Counter:
    """What lines and zones share: the anchor, the per-track memory and its bound."""

    closed = False

    def __init__(self, points: Any, *, name: str | None, anchor: str, forget: int, minimum: int, what: str,
                 min_frames: int) -> None:
        if anchor not in ANCHORS:
            raise UserInputError(f"expected anchor among {', '.join(ANCHORS)}, got {anchor!r}")
        if int(min_frames) < 1:
            raise UserInputError(f"expected min_frames of at least 1, got {min_frames}")
        self.points = _points(points, minimum, what)
        self.name, self.anchor, self.forget, self.min_frames = name, anchor, int(forget), int(min_frames)
        self._memory: dict[int, list] = {}  # track id -> [state..., last frame seen]
        self._frame = 0

    def _tracks(self, tracked: Any, boxes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
        if tracked.tracker_id is None:
            raise UserInputError("expected tracked detections (tracker_id set: track=True / --track), got untracked ones")
        return tracked.tracker_id, anchors_of(tracked.xyxy if boxes is None else boxes, self.anchor), tracked.names

    def _forget_old(self, frame: int) -> None:
        self._frame = frame
        if frame % 64 == 0:  # now and then, not every frame: the memory is bounded either way
            stale = [k for k, v in self._memory.items() if frame - v[-1] > self.forget]
            for k in stale:
                del self._memory[k]

    def __len__(self) -> int:
        """Tracks remembered now."""
        return len(self._memory)


class LineCounter(_Counter):
    """Crossings of the segment ``points`` [(x1, y1), (x2, y2)] per class, both ways (see the module docstring)."""

    def __init__(self, points: Any, *, name: str | None = None, anchor: str = "center", forget: int = 300,
                 min_frames: int = 2) -> None:
        super().__init__(points, name=name, anchor=anchor, forget=forget, minimum=2, what="a counting line",
                         min_frames=min_frames)
        if len(self.points) != 2 or np.allclose(self.points[0], self.points[1]):
            raise UserInputError(f"expected a counting line of two distinct points, got {self.points.tolist()}")
        self.start, self.direction = self.points[0], self.points[1] - self.points[0]
        self.crossed_in: Counter[str] = Counter()
        self.crossed_out: Counter[str] = Counter()

    def _side(self, p: np.ndarray) -> np.ndarray:
        d = self.direction
        return d[0] * (p[..., 1] - self.start[1]) - d[1] * (p[..., 0] - self.start[0])

    def update(self, tracked: Any, frame: int, boxes: np.ndarray | None = None) -> None:
        """Count the crossings of this frame's tracked detections (anchored on ``boxes`` when given)."""
        ids, points, names = self._tracks(tracked, boxes)
        sides = np.sign(self._side(points))
        memory = self._memory
        for i, (tid, side) in enumerate(zip(ids.tolist(), sides.tolist())):
            x, y = float(points[i, 0]), float(points[i, 1])
            m = memory.get(tid)
            if m is None:
                if side != 0.0:  # [side, last point on it, the other side's first point and run length, frame]
                    memory[tid] = [side, x, y, 0.0, 0.0, 0, frame]
                continue
            m[-1] = frame
            if side == 0.0:  # on the line: neither side yet
                continue
            if side == m[0]:
                m[1], m[2], m[5] = x, y, 0
                continue
            if m[5] == 0:
                m[3], m[4] = x, y
            m[5] += 1
            if m[5] >= self.min_frames:
                if self._meets((m[1], m[2]), (m[3], m[4])):
                    (self.crossed_in if m[0] < 0 else self.crossed_out)[names[i]] += 1
                memory[tid] = [side, x, y, 0.0, 0.0, 0, frame]
        self._forget_old(frame)

    def _meets(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Whether the step from ``a`` (one side) to ``b`` (the other) meets the segment, not its line beside it."""
        pa, pb = np.array(a), np.array(b)
        sa, sb = float(self._side(pa)), float(self._side(pb))
        hit = pa + (pb - pa) * (sa / (sa - sb))  # where the step changes side
        t = float(np.dot(hit - self.start, self.direction) / np.dot(self.direction, self.direction))
        return 0.0 <= t <= 1.0

    def counts(self) -> dict[str, Any]:
        """``{"in": {label: n}, "out": {label: n}, "total_in": n, "total_out": n}``."""
        return {"in": dict(sorted(self.crossed_in.items())), "out": dict(sorted(self.crossed_out.items())),
                "total_in": sum(self.crossed_in.values()), "total_out": sum(self.crossed_out.values())}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": self.points.tolist(), **self.counts()}

    def describe(self) -> str:
        c = self.counts()
        return f"{self.name or 'line'}: in {c['total_in']}, out {c['total_out']}"  # ASCII: drawn by OpenCV


class ZoneCounter(_Counter):
    """Objects inside the polygon ``points`` now, and entries and exits, per class (see the module docstring)."""

    closed = True

    def __init__(self, points: Any, *, name: str | None = None, anchor: str = "center", forget: int = 300,
                 min_frames: int = 2) -> None:
        super().__init__(points, name=name, anchor=anchor, forget=forget, minimum=3, what="a zone",
                         min_frames=min_frames)
        self.current: Counter[str] = Counter()
        self.entered: Counter[str] = Counter()
        self.exited: Counter[str] = Counter()
        self._edges = (self.points[:, 0], self.points[:, 1], np.roll(self.points[:, 0], 1), np.roll(self.points[:, 1], 1))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """(n,) whether each (x, y) lies inside the polygon (even-odd rule).

        Example:
            >>> ZoneCounter([(0, 0), (10, 0), (10, 10), (0, 10)]).contains(np.array([[5, 5], [15, 5]])).tolist()
            [True, False]
        """
        p = np.asarray(points, np.float64).reshape(-1, 2)
        xi, yi, xj, yj = self._edges  # each edge from vertex j to vertex i
        x, y = p[:, :1], p[:, 1:]
        straddles = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = (xj - xi) * (y - yi) / (yj - yi) + xi
        return (straddles & (x < cross_x)).sum(axis=1) % 2 == 1

    def update(self, tracked: Any, frame: int, boxes: np.ndarray | None = None) -> None:
        """Count this frame's tracked detections in the zone, and those that came in or went out."""
        ids, points, names = self._tracks(tracked, boxes)
        inside = self.contains(points)
        self.current = Counter(n for n, ok in zip(names, inside.tolist()) if ok)
        memory = self._memory
        for tid, name, now in zip(ids.tolist(), names, inside.tolist()):
            m = memory.get(tid)
            if m is None:
                memory[tid] = [now, 0, frame]  # [inside or not, frames in a row the other way, frame]
                continue
            m[2] = frame
            if now == m[0]:
                m[1] = 0
                continue
            m[1] += 1
            if m[1] >= self.min_frames:
                (self.entered if now else self.exited)[name] += 1
                m[0], m[1] = now, 0
        self._forget_old(frame)

    def counts(self) -> dict[str, Any]:
        """``{"current": {label: n}, "entered": {...}, "exited": {...}, "total_current": n, ...}``."""
        return {"current": dict(sorted(self.current.items())), "entered": dict(sorted(self.entered.items())),
                "exited": dict(sorted(self.exited.items())), "total_current": sum(self.current.values()),
                "total_entered": sum(self.entered.values()), "total_exited": sum(self.exited.values())}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "points": self.points.tolist(), **self.counts()}

    def describe(self) -> str:
        c = self.counts()
        return f"{self.name or 'zone'}: {c['total_current']} in, entered {c['total_entered']}"


def parse_points(text: str, minimum: int, what: str) -> list[tuple[float, float]]:
    """``"x1,y1,x2,y2,..."`` as (x, y) pairs, at least ``minimum``; UserInputError saying what was expected.

    Example:
        >>> parse_points("0,240,640,240", 2, "--count-line")
        [(0.0, 240.0), (640.0, 240.0)]
    """
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        values = []
    if len(values) < 2 * minimum or len(values) % 2:
        raise UserInputError(f"expected {what} as x,y pairs (at least {minimum} points, e.g. "
                             f"{','.join(['0,240', '640,240', '640,480'][:minimum])}), got {text!r}")
    return list(zip(values[0::2], values[1::2]))


def counters_summary(counters: Sequence[Any]) -> dict[str, Any]:
    """``{"lines": [...], "zones": [...]}``: every counter's ``to_dict()``, lines first."""
    return {"lines": [c.to_dict() for c in counters if isinstance(c, LineCounter)],
            "zones": [c.to_dict() for c in counters if isinstance(c, ZoneCounter)]}


def describe_counts(counts: dict[str, Any] | None) -> list[str]:
    """One short text per counter of a ``counters_summary``, with the counts per class.

    Example:
        >>> describe_counts({"lines": [{"name": "line 1", "in": {"car": 2}, "out": {}, "total_in": 2, "total_out": 0}],
        ...                  "zones": []})
        ['line 1: in 2 (car 2) · out 0']
    """
    def per_class(values: dict[str, int]) -> str:
        return f" ({', '.join(f'{k} {v}' for k, v in values.items())})" if values else ""

    out = []
    for line in (counts or {}).get("lines", []):
        out.append(f"{line['name']}: in {line['total_in']}{per_class(line['in'])} · "
                   f"out {line['total_out']}{per_class(line['out'])}")
    for zone in (counts or {}).get("zones", []):
        out.append(f"{zone['name']}: {zone['total_current']} inside{per_class(zone['current'])} · "
                   f"entered {zone['total_entered']}{per_class(zone['entered'])} · "
                   f"exited {zone['total_exited']}{per_class(zone['exited'])}")
    return out
