"""Benchmarking hooks: per-frame stage timings, ``on_frame`` callbacks, and a timer for the user's own stages.

Every ``Model.predict`` times preprocess, infer and decode (three clock reads);
a pipeline that reads frames adds the capture time and the capture-to-result
latency. Callbacks get a ``FrameTimings`` and the ``Result``. With no callback
registered nothing but the clock reads happens. ``Recorder`` is a ready-made
callback that keeps every frame's timings (what ``edgevision bench`` uses).

Example:
    >>> hooks = Hooks()
    >>> seen = []
    >>> _ = hooks.add(lambda timings, result: seen.append(timings.infer))
    >>> with hooks.timer("track"):
    ...     pass
    >>> hooks.emit(FrameTimings(0.0, 0.001, 0.002, 0.0005, 0.0035), None)
    >>> seen, sorted(hooks.last.user)
    ([0.002], ['track'])
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

STAGES = ("capture", "preprocess", "infer", "decode")


class FrameTimings(NamedTuple):
    """Seconds per stage for one frame.

    ``capture`` is the time spent getting the frame (0 for an array passed to
    ``predict``); ``total`` runs from the frame's capture timestamp to the
    result (for ``predict`` on an array: preprocess + infer + decode).
    ``user`` holds stages timed with ``Hooks.timer`` since the previous frame.
    """

    capture: float
    preprocess: float
    infer: float
    decode: float
    total: float
    user: dict | None = None

    def to_dict(self, scale: float = 1000.0, digits: int = 3) -> dict[str, Any]:
        """Milliseconds (by default), rounded, user stages flattened in: for JSON lines."""
        d = {k: round(scale * getattr(self, k), digits) for k in (*STAGES, "total")}
        d.update({k: round(scale * v, digits) for k, v in (self.user or {}).items()})
        return d


Callback = Callable[[FrameTimings, Any], None]


class Stopwatch:
    """A context manager that measures one block: ``with Stopwatch() as sw: ...; sw.elapsed`` (seconds)."""

    __slots__ = ("elapsed", "start")

    def __init__(self) -> None:
        self.start = 0.0
        self.elapsed = 0.0

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.elapsed = time.perf_counter() - self.start


class Hooks:
    """Callbacks run after every frame, and the user's own timed stages for that frame."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []
        self._user: dict[str, float] = {}
        self.last: FrameTimings | None = None

    def add(self, callback: Callback) -> Callback:
        """Register ``callback(timings, result)``; returns it, so it also works as a decorator."""
        if not callable(callback):
            raise TypeError(f"expected a callable on_frame(timings, result), got {type(callback).__name__}")
        self._callbacks.append(callback)
        return callback

    def remove(self, callback: Callback) -> None:
        """Unregister a callback added before."""
        self._callbacks.remove(callback)

    def __bool__(self) -> bool:
        return bool(self._callbacks) or bool(self._user)

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time a block of the user's own (``with model.hooks.timer("track"): ...``); reported with the next frame.

        Time spent under the same name before the next frame adds up.
        """
        start = time.perf_counter()
        try:
            yield
        finally:
            self._user[name] = self._user.get(name, 0.0) + time.perf_counter() - start

    def emit(self, timings: FrameTimings, result: Any) -> None:
        """Hand one frame's timings (with the user stages timed since the last frame) to every callback."""
        if self._user:
            timings = timings._replace(user=self._user)
            self._user = {}
        self.last = timings
        for callback in self._callbacks:
            callback(timings, result)


class Recorder:
    """An ``on_frame`` callback that keeps every frame's timings, to summarise them afterwards.

    Per frame it does one list append (the timings tuple is already built for
    the callbacks), so recording costs nothing measurable next to inference.

    Example:
        >>> rec = Recorder()
        >>> rec(FrameTimings(0.0, 0.001, 0.002, 0.0005, 0.0035), None)
        >>> rec(FrameTimings(0.0, 0.001, 0.004, 0.0005, 0.0055, {"track": 0.001}), None)
        >>> len(rec), rec.seconds("infer"), rec.stages()
        (2, [0.002, 0.004], ['capture', 'preprocess', 'infer', 'decode', 'total', 'track'])
    """

    __slots__ = ("frames",)

    def __init__(self) -> None:
        self.frames: list[FrameTimings] = []

    def __call__(self, timings: FrameTimings, result: Any) -> None:
        self.frames.append(timings)

    def __len__(self) -> int:
        return len(self.frames)

    def clear(self) -> None:
        """Forget what was recorded (e.g. after warm-up)."""
        self.frames.clear()

    def stages(self) -> list[str]:
        """The built-in stages, then every user stage seen, in order of first appearance."""
        user: dict[str, None] = {}
        for t in self.frames:
            if t.user:
                user.update(dict.fromkeys(t.user))
        return [*STAGES, "total", *user]

    def seconds(self, stage: str) -> list[float]:
        """One value per frame for ``stage`` (a user stage absent from a frame counts 0)."""
        if stage in FrameTimings._fields and stage != "user":
            return [float(getattr(t, stage)) for t in self.frames]
        return [(t.user or {}).get(stage, 0.0) for t in self.frames]

    def to_dict(self, stages: Sequence[str] | None = None, scale: float = 1000.0) -> dict[str, list[float]]:
        """{stage: [milliseconds per frame]} for ``stages`` (default: every stage seen)."""
        return {s: [scale * v for v in self.seconds(s)] for s in (stages or self.stages())}
