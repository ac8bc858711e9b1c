"""Overlapped streams: whether to overlap (``overlap_pays``), and the engine in a thread of its own.

The engines release the GIL while they run, so while this thread infers one frame the
caller can capture, preprocess and decode others. ``edgevision.pipeline.Stream`` drives it
(``Model.stream(src)`` and ``edgevision run`` overlap when ``overlap_pays`` says so).

Example:
    >>> lease = model.lease(owner="my stream")                                 # doctest: +SKIP
    >>> engine = EngineThread(lease, depth=2)                                  # doctest: +SKIP
    >>> engine.submit(tensor_a); engine.submit(tensor_b)                       # doctest: +SKIP
    >>> outputs, seconds = engine.collect()   # tensor_a's, while tensor_b runs  # doctest: +SKIP
    >>> engine.stop(); lease.release()                                         # doctest: +SKIP
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from .errors import UserInputError

Overlap = bool | str  # True, False or "auto"


def overlap_pays(backend_info: Mapping[str, Any], cores: int) -> bool:
    """Whether overlapping is the better default: the engine runs on an accelerator, or leaves a core free.

    With as many engine threads as cores, the rest of the pipeline takes cores from the engine
    and slows every inference: on 2 cores, a 256x256 MobileNetV2 detector ran at 330 fps
    overlapped and 340 fps not, with two more frames of latency overlapped.

    Example:
        >>> overlap_pays({"device": "CPU", "threads": 1}, 4), overlap_pays({"device": "CPU", "threads": 4}, 4)
        (True, False)
        >>> overlap_pays({"device": "edgetpu", "threads": 4}, 4)
        True
    """
    if str(backend_info.get("device", "CPU")).upper().split(",")[0] not in ("CPU", ""):
        return True
    threads = backend_info.get("threads")
    return threads is not None and 0 < int(threads) < cores


def choose_overlap(overlap: Overlap, backend_info: Mapping[str, Any], cores: int | None = None) -> bool:
    """``overlap`` as given (True/False), or for ``"auto"`` what ``overlap_pays`` says on ``cores`` (default: all usable).

    Example:
        >>> choose_overlap("auto", {"device": "NPU", "threads": None}), choose_overlap(False, {"device": "NPU"})
        (True, False)
        >>> choose_overlap("auto", {"device": "CPU", "threads": 2}, cores=2)
        False
    """
    if isinstance(overlap, str):
        if overlap != "auto":
            raise UserInputError(f"expected overlap=True, False or 'auto', got {overlap!r}")
        if cores is None:
            from .backends.base import default_threads

            cores = default_threads()
        return overlap_pays(backend_info, cores)
    return bool(overlap)


class _Failure(NamedTuple):
    error: BaseException


_STOP = object()
POLL = 0.1  # seconds: how often a blocked side looks whether the other has stopped


class EngineThread:
    """The engine in a thread of its own: ``submit(tensor)`` up to ``depth`` tensors, ``collect()`` in order.

    Between the two the caller is free: it captures and preprocesses the next frame and
    decodes the last one while the engine runs (which releases the GIL). With a second
    tensor queued the engine goes straight on to it, rather than idling until the caller
    wakes up to collect and submit (on a VM that hand-over took 0.45 ms a frame). Only this
    thread runs ``engine``: a lease from ``Model.lease`` (``run(tensor)``, ``fresh_outputs``),
    which the caller releases after ``stop()``. An error in it is raised by ``collect``, as inline.
    """

    def __init__(self, engine: Any, depth: int) -> None:
        self._engine = engine
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._done: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._work, name="edgevision-infer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        engine, clock = self._engine, time.perf_counter
        copy = not engine.fresh_outputs  # outputs the next inference would overwrite are copied
        while True:
            tensor = self._jobs.get()
            if tensor is _STOP:
                return
            try:
                start = clock()
                outputs = engine.run(tensor)
                if copy:
                    outputs = [np.array(o) for o in outputs]
                self._done.put((outputs, clock() - start))
            except BaseException as e:  # noqa: BLE001 - not swallowed: collect() raises it
                self._done.put(_Failure(e))

    def submit(self, tensor: np.ndarray) -> None:
        self._jobs.put(tensor)

    def collect(self) -> tuple[list[np.ndarray], float]:
        """The outputs of the oldest tensor not yet collected (submission order), and the seconds the engine took."""
        while True:
            try:
                item = self._done.get(timeout=POLL)
                break
            except queue.Empty:
                if not self._thread.is_alive():
                    raise RuntimeError("expected the inference thread to be running, got it stopped") from None
        if isinstance(item, _Failure):
            raise item.error
        return item

    def stop(self) -> None:
        """End the thread once the inferences under way (if any) are done."""
        while self._thread.is_alive():
            try:  # uncollected results: dropped, so the thread is never stuck handing one over
                while True:
                    self._done.get_nowait()
            except queue.Empty:
                pass
            try:
                self._jobs.put(_STOP, timeout=POLL)
                break
            except queue.Full:
                continue
        self._thread.join(timeout=5.0)
