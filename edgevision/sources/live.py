"""Live sources: a reader thread keeps only the newest frame, and reopens the device when it fails.

Capture overlaps inference: while the model runs on one frame, the thread reads
the next ones and keeps the newest (the frames it replaces are counted as
dropped), so a pipeline runs at the model's speed, not model + camera.

Faults are recovered, not fatal, once the source has delivered a frame:

- ``read()`` returns None or raises (a USB camera unplugged, an RTSP server gone):
  the thread closes the capture and reopens it with exponential backoff;
- no frame for ``timeout`` seconds (a stream that stalls inside ``read()``): the
  consumer leaves the stuck thread behind (it closes its capture when ``read()``
  returns) and starts a fresh one that reopens the device.

Each loss and recovery is reported through ``on_event(message)``; the gap is added
to ``stats`` (``reconnects``, ``gap_seconds``, ``last_gap``).

Example:
    >>> source = LiveSource("usb://0", open_usb_camera)          # doctest: +SKIP
    >>> for frame in source: ...                                  # doctest: +SKIP
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import EdgeVisionError, SourceError
from .base import CAPTURE_ERRORS, POLL, Capture, Frame, Opener, Size, Source, fit_size

EventCallback = Callable[[str], None]


def _ignore(message: str) -> None:
    pass


class LiveSource(Source):
    """Newest-frame-only reading of a camera or stream, with reconnects (see the module docstring)."""

    live = True

    def __init__(self, name: str, opener: Opener, *, first: Capture | None = None, size: Size | None = None,
                 max_frames: int | None = None, timeout: float = 5.0, backoff: tuple[float, float] = (0.25, 8.0),
                 on_event: EventCallback | None = None) -> None:
        capture = first if first is not None else opener()  # a device that cannot be opened fails here, at once
        super().__init__(name, fps=capture.fps, max_frames=max_frames)
        if timeout <= 0:
            raise SourceError(f"expected a positive frame timeout in seconds, got {timeout}")
        self.timeout, self.backoff = float(timeout), backoff
        self.on_event: EventCallback = on_event or _ignore
        self._opener, self._size = opener, size
        self._first: Capture | None = capture  # opened by the caller, handed to the reader thread
        self._cond = threading.Condition()
        self._slot: Frame | None = None
        self._generation = 0  # a reader thread works only while its generation is current
        self._thread: threading.Thread | None = None
        self._reading = True  # False while reconnecting: a slow reopen is not a stall
        self._progress = time.monotonic()  # the last frame or (re)open: the stall clock starts here
        self._had_frame = False
        self._gap_start: float | None = None
        self._error: Exception | None = None  # raised in the consumer: a source that never worked, or a bug

    # ------------------------------------------------------------------ consumer side
    def _next_frame(self) -> Frame | None:
        events = []
        with self._cond:
            if self._thread is None:
                self._start_reader(self._first)
                self._first = None
            while self._slot is None:
                if self._error is not None:
                    raise self._error
                if self._closed:
                    return None
                if self._reading and time.monotonic() - self._progress > self.timeout:
                    if not self._had_frame:
                        raise SourceError(f"expected frames from {self.name} within {self.timeout:g} s, got none")
                    # read() is stuck: leave that thread behind and reopen in a fresh one.
                    events.append(f"no frame for {time.monotonic() - self._progress:.1f} s; reopening")
                    self._gap_start = self._progress
                    self._reading = False
                    self._start_reader(None)
                    break
                self._cond.wait(POLL)
        for message in events:  # outside the lock: a slow callback must not hold the reader
            self.on_event(message)
        if events:
            return self._next_frame()
        with self._cond:
            frame, self._slot = self._slot, None
        return frame

    def _start_reader(self, capture: Capture | None) -> None:
        self._generation += 1
        self._thread = threading.Thread(target=self._read_loop, args=(self._generation, capture),
                                        name=f"edgevision-reader {self.name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ reader thread
    def _current(self, generation: int) -> bool:
        return generation == self._generation and not self._closed

    def _read_loop(self, generation: int, capture: Capture | None) -> None:
        try:
            while self._current(generation):
                if capture is None:
                    capture = self._reopen(generation)
                    continue
                reason = "the source stopped delivering frames"
                try:
                    image = capture.read()
                except CAPTURE_ERRORS as e:  # reported on the event line, then recovered from
                    image, reason = None, f"read failed: {e}"
                if not self._current(generation):
                    break
                if image is None:
                    capture.close()
                    capture = None
                    with self._cond:
                        if not self._had_frame:  # never worked: a wrong device or URL, not a fault to ride out
                            self._error = SourceError(f"expected frames from {self.name}, got none ({reason})")
                            self._cond.notify_all()
                            return
                        if self._gap_start is None:
                            self._gap_start = self._progress
                        self._reading = False
                    self.on_event(f"{reason}; reconnecting")
                    continue
                self._publish(generation, Frame(fit_size(image, self._size), 0, time.monotonic(), capture.name))
        except Exception as e:  # noqa: BLE001 - not swallowed: the consumer raises it (a reconnect would hide a bug)
            with self._cond:
                self._error = e
                self._cond.notify_all()
        finally:
            if capture is not None:
                capture.close()

    def _publish(self, generation: int, frame: Frame) -> None:
        gap = None
        with self._cond:
            if not self._current(generation):
                return
            stats = self.stats
            if self._gap_start is not None:
                gap = frame.timestamp - self._gap_start
                self._gap_start = None
                stats.reconnects += 1
                stats.gap_seconds += gap
                stats.last_gap = gap
            if self._slot is not None:
                stats.dropped += 1  # the model was busy: the older frame is never seen
            frame.index = stats.captured
            stats.captured += 1
            self._slot = frame
            self._progress = frame.timestamp
            self._had_frame = True
            self._cond.notify()
        if gap is not None:
            self.on_event(f"frames again after a {gap:.1f} s gap (reconnect {self.stats.reconnects})")

    def _reopen(self, generation: int) -> Capture | None:
        """Open the device again, backing off between attempts; None when this thread was superseded."""
        delay, attempt = self.backoff[0], 0
        while True:
            with self._cond:
                self._cond.wait(delay)  # close() notifies, so shutting down never waits out a backoff
                if not self._current(generation):
                    return None
            attempt += 1
            try:
                capture = self._opener()
            except (EdgeVisionError, OSError, RuntimeError) as e:
                self.on_event(f"reopen attempt {attempt} failed: {e}")
                delay = min(2 * delay, self.backoff[1])
                continue
            with self._cond:
                if not self._current(generation):
                    capture.close()
                    return None
                self._reading = True
                self._progress = time.monotonic()
            return capture

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._generation += 1
            self._cond.notify_all()
        if self._first is not None:  # never read from: no thread owns it
            self._first.close()
            self._first = None
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=0.5)  # a thread stuck in read() is a daemon; it closes its capture later
