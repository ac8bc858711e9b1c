"""The live loop: frames from a source through a model, with per-stage timings and run statistics.

``Stream`` is what ``Model.stream(source)`` returns and what ``edgevision run``
drives. Iterating it yields one ``Result`` per frame; the frame and its
``FrameTimings`` of the latest result are ``stream.frame`` and
``stream.timings``, and ``stream.items()`` yields all three as a ``StreamItem``.
``run_sinks`` feeds every result to output sinks (``edgevision.sinks``) and turns
Ctrl-C into a clean stop.

With ``overlap=True`` the engine runs in a thread of its own (``edgevision.overlap``),
on a lease of the model's engine: while it infers frame N+1 (with N+2 queued behind it),
the caller decodes frame N, writes its output, and captures and preprocesses
frame N+3 into a spare input tensor. The engines release the GIL while they run,
so on a device with a core to spare (or an accelerator doing the inference) a
frame costs about its inference time rather than the sum of the stages. Results
still come in order; a live frame waits at most two inferences. The default,
``overlap="auto"``, overlaps when ``edgevision.overlap.overlap_pays`` says it pays
(the engine runs on an accelerator, or leaves a core free): ``edgevision run``'s rule too.

The stream uses the model's public steps only (``Model.step``, or ``preprocess`` /
``lease`` / ``decode`` overlapped), builds each frame's ``FrameTimings`` itself and
emits them through ``model.hooks``, so the user's callbacks and timed stages see
every frame.

Example:
    >>> model = edgevision.load("detector.tflite")                    # doctest: +SKIP
    >>> with model.stream("csi://0") as stream:                        # doctest: +SKIP
    ...     for result in stream:
    ...         print(stream.frame.index, stream.timings.infer, len(result))
    >>> stream.summary()["fps"]                                         # doctest: +SKIP
    29.8
"""
from __future__ import annotations

import collections
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .hooks import FrameTimings
from .lease import EngineLease
from .overlap import EngineThread, Overlap, choose_overlap
from .results import Result
from .runstats import LatencyHistogram, RunStats  # noqa: F401 - LatencyHistogram: importable from here too
from .sources import Frame, Source, open_source


class StreamItem(NamedTuple):
    """One frame of a stream: the frame, its result, and the seconds each stage took."""

    frame: Frame
    result: Result
    timings: FrameTimings


class _Prepared(NamedTuple):
    """A frame captured and preprocessed into a staging tensor, waiting for or under inference."""

    frame: Frame
    transform: Any
    capture: float
    preprocess: float


class Stream:
    """Results of ``model`` on every frame of ``source``: ``for result in stream``; see the module docstring.

    ``source`` is a URI or path (opened with ``open_source(source, **options)``:
    ``size``, ``fps``, ``loop``, ``max_frames``, ``timeout``, ``on_event``) or an
    already open ``Source``. Closing the stream (or leaving its ``with`` block)
    closes the source it opened and releases the model's engine. ``overlap=True``
    infers the next frames in a thread of its own while this one is decoded,
    ``False`` runs the stages one after another, ``"auto"`` chooses (see the module
    docstring); ``stream.overlap`` says which runs.
    """

    def __init__(self, model: Any, source: str | Path | Source, *, overlap: Overlap = "auto", track: Any = False,
                 lines: Sequence[Any] = (), zones: Sequence[Any] = (), **options: Any) -> None:
        if isinstance(source, Source) and options:
            raise TypeError(f"expected source options only with a URI or path, got an open source and "
                            f"{', '.join(sorted(options))}")
        self.model = model
        # Tracking (and counting, which needs it) is checked before the source opens, like overlap.
        self.tracking = tracking_for(model, track, lines, zones)
        # Decided before the source opens (a bad value leaves nothing open); "auto" asks the backend what runs.
        self.overlap = choose_overlap(overlap, model.backend.info()) if isinstance(overlap, str) else bool(overlap)
        self.source: Source = source if isinstance(source, Source) else open_source(source, **options)
        self.stats = RunStats()
        self.frame: Frame | None = None
        self.result: Result | None = None
        self.timings: FrameTimings | None = None
        self._closed = False
        self._lease: EngineLease | None = None  # overlap: taken by the first next(), so opening consumes nothing
        self._engine: EngineThread | None = None
        self._staging: list[np.ndarray] = []  # overlap: input tensors, filled and inferred in turn
        self._slot = 0
        self._inflight: collections.deque[_Prepared] = collections.deque()  # submitted, oldest first
        self._ended = False  # overlap: the source has no more frames (or raised)
        self._deferred: Exception | None = None  # the source's error, raised after the frames in flight

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> Result:
        if self._closed:
            raise StopIteration
        if self.overlap:
            return self._next_overlapped()
        start = time.perf_counter()
        try:
            frame = next(self.source)
        except StopIteration:
            self.close()
            raise
        capture = time.perf_counter() - start
        result, t = self.model.step(frame.image)
        return self._emit(frame, result, FrameTimings(capture, t.preprocess, t.infer, t.decode,
                                                      time.monotonic() - frame.timestamp))

    def _emit(self, frame: Frame, result: Result, timings: FrameTimings) -> Result:
        """Track (when asked), hand the frame's timings to the model's hooks (which add the user's timed
        stages, tracking as "track") and keep them; the result, with track ids when tracked."""
        hooks = self.model.hooks
        if self.tracking is not None:
            with hooks.timer("track"):
                result = self.tracking(result)
            timings = timings._replace(total=time.monotonic() - frame.timestamp)
        hooks.emit(timings, result)
        self.frame, self.result, self.timings = frame, result, hooks.last
        self.stats.add(self.timings)
        return result

    DEPTH = 2  # overlap: frames submitted to the engine at once (one running, one queued)

    def _prepare(self) -> _Prepared | None:
        """Capture the next frame and preprocess it into the next staging tensor; None at the end."""
        clock = time.perf_counter
        start = clock()
        try:
            frame = next(self.source)
        except StopIteration:
            return None
        except Exception as e:  # noqa: BLE001 - raised by a later call, once the frames in flight are returned
            self._deferred = e
            return None
        t0 = clock()
        # DEPTH + 1 tensors in turn: the one filled now was last used DEPTH + 1 frames ago, and collected.
        self._slot = (self._slot + 1) % len(self._staging)
        transform = self.model.preprocess(frame.image, self._staging[self._slot])
        return _Prepared(frame, transform, t0 - start, clock() - t0)

    def _next_overlapped(self) -> Result:
        """The oldest frame's result, with the next frames captured, preprocessed and queued for the engine."""
        model = self.model
        if self._engine is None:
            self._lease = model.lease(owner=f"the overlapped stream of {self.source.name}")
            self._staging = [model.new_input() for _ in range(self.DEPTH + 1)]
            self._engine = EngineThread(self._lease, self.DEPTH)
        while not self._ended and len(self._inflight) < self.DEPTH:  # while the engine runs what it has
            prepared = self._prepare()
            if prepared is None:
                self._ended = True
                break
            self._engine.submit(self._staging[self._slot])
            self._inflight.append(prepared)
        if not self._inflight:
            if self._deferred is not None:
                error, self._deferred = self._deferred, None
                raise error
            self.close()
            raise StopIteration
        outputs, infer = self._engine.collect()
        current = self._inflight.popleft()
        t0 = time.perf_counter()
        result = model.decode(outputs, current.transform)
        decode = time.perf_counter() - t0
        frame = current.frame
        return self._emit(frame, result, FrameTimings(current.capture, current.preprocess, infer, decode,
                                                      time.monotonic() - frame.timestamp))

    def items(self) -> Iterator[StreamItem]:
        """The same stream as ``StreamItem(frame, result, timings)`` tuples.

        Example:
            >>> for frame, result, timings in model.stream("video.mp4").items():   # doctest: +SKIP
            ...     print(frame.index, timings.infer)
        """
        for result in self:
            yield StreamItem(self.frame, result, self.timings)  # type: ignore[arg-type]

    def summary(self) -> dict[str, Any]:
        """``RunStats.summary()`` with the source's counters (dropped, reconnects, gap seconds)."""
        source = self.source.stats
        summary = {**self.stats.summary(), "dropped": source.dropped, "reconnects": source.reconnects,
                   "gap_seconds": round(source.gap_seconds, 3)}
        if self.tracking is not None:
            summary.update(self.tracking.summary())
        return summary

    def close(self) -> None:
        """Stop the engine thread, release the model's engine and close the source; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._engine is not None:
                self._engine.stop()
        finally:
            if self._lease is not None:
                self._lease.release()
            self.source.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def tracking_for(model: Any, track: Any, lines: Sequence[Any], zones: Sequence[Any]) -> Any:
    """The ``edgevision.track.Tracking`` stage a stream runs, or None: ``track`` True (or a ``Tracking`` /
    ``ByteTrack`` of the caller's), or counting lines or zones given (they count tracks, so they imply it).

    Example:
        >>> tracking_for(model, True, [[(0, 240), (640, 240)]], ()).counters    # doctest: +SKIP
        [<LineCounter>]
    """
    if (track is None or track is False) and not lines and not zones:  # (an empty ByteTrack is falsy: len 0)
        return None
    from .errors import UserInputError
    from .results import Detections
    from .tasks.registry import task_spec
    from .track import ByteTrack, Tracking

    if not issubclass(task_spec(model.task).result, Detections):
        raise UserInputError(f"expected a model whose results are boxes to track (detection, instance-segmentation, "
                             f"pose), got a {model.task} model")
    if isinstance(track, Tracking):
        if lines or zones:
            raise UserInputError("expected counting lines and zones in the Tracking given as track=, got them apart too")
        return track
    return Tracking(track if isinstance(track, ByteTrack) else None, lines=lines, zones=zones)


def run_sinks(stream: Stream, sinks: Sequence[Any], *, annotator: Any = None) -> str:
    """Feed every result of ``stream`` to ``sinks`` until the source ends, a sink stops, or Ctrl-C.

    Returns why the run stopped: ``"end"``, ``"stopped"`` (a sink, e.g. the window
    closed) or ``"interrupted"`` (Ctrl-C / SIGTERM). Sinks are closed either way;
    ``completed=False`` only when an error ends the run, so a half-written video is
    discarded rather than left behind.

    Example:
        >>> reason = run_sinks(model.stream("video.mp4"), [JsonLinesSink(sys.stdout)])   # doctest: +SKIP
    """
    from .sinks import Output

    out = Output(stream, annotator)
    reason, completed = "end", False
    try:
        for result in stream:
            out.next(result)
            for sink in sinks:
                if sink.write(out) is False:
                    reason = "stopped"
            if reason == "stopped":
                break
        completed = True
    except KeyboardInterrupt:
        reason, completed = "interrupted", True
    finally:
        stream.close()
        for sink in sinks:
            sink.close(completed=completed)
    return reason
