"""What a bench feeds the model, and the timed loop that runs one phase.

- ``RandomFrames``: a few seeded uniform-noise RGB frames, cycled (no ``--source``)
- ``SourceFrames``: frames from ``open_source``, reopened when exhausted
- ``pipeline_step`` / ``infer_step``: one frame through ``Model.predict`` / one bare ``infer()``
- ``timed``: run a step a fixed number of times or for a minimum duration, recording each
- ``overlapped_fps``: the same frames through an overlapped ``Model.stream`` (what ``run --overlap`` reaches)

Example:
    >>> loop = timed(lambda i: time.perf_counter(), runs=5, duration=None, phase="demo", progress=None)
    >>> len(loop.totals), loop.wall >= 0
    (5, True)
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import SourceError

# progress(phase, done, total, elapsed_s, duration_s): total/duration None when not bounded that way.
Progress = Callable[[str, int, int | None, float, float | None], None]
PROGRESS_EVERY_S = 0.1
RANDOM_POOL = 4  # distinct noise frames cycled through, so no cache holds "the" frame


class RandomFrames:
    """A few seeded uniform-noise RGB uint8 frames of ``size`` (w, h)."""

    def __init__(self, size: tuple[int, int], seed: int) -> None:
        rng = np.random.default_rng(seed)
        w, h = size
        self.frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(RANDOM_POOL)]
        self.description = (f"random: {RANDOM_POOL} seeded uniform-noise RGB uint8 frames {w}x{h} (seed {seed}), "
                            f"not real images")

    def first(self) -> np.ndarray:
        return self.frames[0]


class SourceFrames:
    """Frames from ``open_source``, reopened when exhausted (the reopen is not timed as capture)."""

    def __init__(self, source: str) -> None:
        from ..sources import open_source

        self._open = lambda: open_source(source)
        self._it: Iterator[Any] = self._open()  # a missing source fails here, before the model loads
        self.reopened = 0
        self.description = f"frames: real frames from {source}"

    def capture(self) -> tuple[Any, float, float]:
        """(frame, capture start, capture end) on the perf_counter clock."""
        t0 = time.perf_counter()
        try:
            frame = next(self._it)
        except StopIteration:
            self._it, self.reopened = self._open(), self.reopened + 1
            t0 = time.perf_counter()
            frame = next(self._it, None)
            if frame is None:
                raise SourceError("expected frames from the source, got none on reopening it") from None
        return frame, t0, time.perf_counter()

    def first(self) -> np.ndarray:
        return self.capture()[0].image


# step(i) runs frame i and returns the perf_counter time it started; the loop reads the end time.
Step = Callable[[int], float]


def pipeline_step(model: Any, feed: RandomFrames | SourceFrames) -> Step:
    """One frame through ``Model.predict`` (random frames) or ``Model.predict_frame`` (with its capture time).

    >>> step = pipeline_step(model, RandomFrames((640, 480), seed=0))  # doctest: +SKIP
    >>> timed(step, runs=100, duration=None, phase="pipeline", progress=None).totals[:2]  # doctest: +SKIP
    [0.0041, 0.0039]
    """
    clock = time.perf_counter
    if isinstance(feed, RandomFrames):
        pool, predict = feed.frames, model.predict

        def step(i: int) -> float:
            t0 = clock()
            predict(pool[i % RANDOM_POOL])
            return t0
        return step
    capture, predict_frame = feed.capture, model.predict_frame

    def step_frame(i: int) -> float:
        frame, t0, t1 = capture()
        predict_frame(frame, capture=t1 - t0)
        return t0
    return step_frame


def infer_step(model: Any, seed: int) -> Step:
    """Bare ``backend.infer()`` on a seeded random input tensor: a noise image through the model's own
    preprocessing, so the tensor has the input's dtype and value range.

    >>> loop = timed(infer_step(model, seed=1), runs=100, duration=None, phase="infer", progress=None)  # doctest: +SKIP
    """
    backend, clock = model.backend, time.perf_counter
    w, h = model.input_size
    noise = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    model.preprocess(noise, backend.input_buffer())
    infer = backend.infer

    def step(i: int) -> float:
        t0 = clock()
        infer()
        return t0
    return step


@dataclass
class Loop:
    """One timed phase: seconds per frame, each frame's start (seconds into the loop), the loop's wall time."""

    totals: list = field(default_factory=list)
    starts: list = field(default_factory=list)
    wall: float = 0.0


def timed(step: Step, *, runs: int | None, duration: float | None, phase: str,
          progress: Progress | None) -> Loop:
    """Run ``step`` until ``runs`` frames and ``duration`` seconds (whichever are given) are both reached."""
    out, clock, minimum = Loop(), time.perf_counter, runs or 1
    totals, starts = out.totals, out.starts
    start = clock()
    deadline = start + duration if duration else None
    next_tick, i = start, 0
    while True:
        t0 = step(i)
        t1 = clock()
        totals.append(t1 - t0)
        starts.append(t0 - start)
        i += 1
        if i >= minimum and (deadline is None or t1 >= deadline):
            break
        if progress is not None and t1 >= next_tick:  # at most 10 updates a second, between frames
            progress(phase, i, runs if deadline is None else None, t1 - start, duration)
            next_tick = t1 + PROGRESS_EVERY_S
    out.wall = clock() - start
    if progress is not None:
        progress(phase, i, i, out.wall, duration)
    return out


def overlapped_fps(model: Any, feed: RandomFrames | SourceFrames, frames: int) -> dict[str, Any]:
    """``frames`` frames of ``feed`` through ``Model.stream(..., overlap=True)``: the engine in a thread of its
    own while frames are captured, preprocessed and decoded, as ``edgevision run --overlap`` runs them.

    >>> overlapped_fps(model, RandomFrames((640, 480), seed=0), 200)["fps"]  # doctest: +SKIP
    281.4
    """
    from ..sources import Frame, Source

    class Feed(Source):
        def __init__(self) -> None:
            super().__init__("bench feed", max_frames=frames)
            self.i = 0

        def _next_frame(self) -> Frame | None:
            if isinstance(feed, RandomFrames):
                image, name = feed.frames[self.i % RANDOM_POOL], "random"
            else:
                frame = feed.capture()[0]
                image, name = frame.image, frame.name
            self.i += 1
            return Frame(image, self.i - 1, time.monotonic(), name)

    with model.stream(Feed(), overlap=True) as stream:
        for _ in stream:
            pass
        summary = stream.summary()
    from .stats import round_significant

    fps, infer = summary["fps"], summary["median_ms"]["infer"]
    # The product of the two figures reported beside it, to 6 significant digits (a fixed 4 decimals of a
    # value near 0.01 was up to 0.4 % off them).
    return {"fps": fps, "frames": summary["frames"], "infer_median_ms": infer,
            "fps_x_median_infer": round_significant(fps * infer / 1000) if infer else None,
            "how": "frames after the first / seconds from the first result to the last, through "
                   "Model.stream(overlap=True): the engine in a thread of its own (edgevision run --overlap)"}
