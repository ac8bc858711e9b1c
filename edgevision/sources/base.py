"""What every source shares: the ``Frame``, the ``Capture`` a device adapter implements, and ``Source``.

A *capture* is the thin adapter over one device or file handle (an OpenCV
``VideoCapture``, a ``Picamera2``, a list of image paths): ``read()`` gives the
next RGB image or None when the stream ended or broke. A *source* drives
captures from a reader thread and hands out ``Frame`` objects: in order and none
dropped for files (``OrderedSource``, here), newest-only with reconnects for
cameras and streams (``LiveSource``, in ``live.py``).

Example:
    >>> import numpy as np
    >>> class Two:                      # a capture: two grey frames, then the end
    ...     name, fps, n = "two", None, 0
    ...     def read(self):
    ...         self.n += 1
    ...         return np.zeros((2, 2, 3), np.uint8) if self.n <= 2 else None
    ...     def close(self): pass
    >>> with OrderedSource("two", Two) as source:
    ...     [f.index for f in source]
    [0, 1]
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..errors import BackendUnavailableError, EdgeVisionError

Size = tuple[int, int]  # (width, height)
# What a capture may raise from read() when its device goes away; anything else is a bug and propagates.
CAPTURE_ERRORS = (OSError, RuntimeError, EdgeVisionError)
POLL = 0.1  # seconds: how often a waiting consumer re-checks for close/stall, so Ctrl-C is never held up


@dataclass
class Frame:
    """One frame: HxWx3 uint8 RGB, when it was captured (time.monotonic seconds), its index and origin.

    For live sources ``index`` counts every frame the camera delivered, so a jump in
    it is the frames dropped while the model was busy.
    """

    image: np.ndarray
    index: int
    timestamp: float
    name: str = ""


class Capture(Protocol):
    """A device adapter: ``read()`` -> HxWx3 uint8 RGB image, or None at the end of the stream or on a fault."""

    name: str  # what produced the last image (a file path for image lists, else the source URI)
    fps: float | None  # nominal frame rate when the device or file says, else None

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


Opener = Callable[[], Capture]


@dataclass
class SourceStats:
    """Counters of one source: frames captured and handed out, dropped, and the gaps it recovered from."""

    captured: int = 0
    delivered: int = 0
    dropped: int = 0
    reconnects: int = 0
    gap_seconds: float = 0.0  # total time without frames across all reconnects
    last_gap: float = 0.0  # seconds without frames before the latest reconnect

    def to_dict(self) -> dict[str, Any]:
        return {"captured": self.captured, "delivered": self.delivered, "dropped": self.dropped,
                "reconnects": self.reconnects, "gap_seconds": round(self.gap_seconds, 3)}


def cv2_module() -> Any:
    """OpenCV, or BackendUnavailableError saying how to install it."""
    from ..limits import opencv_limits

    opencv_limits()
    try:
        import cv2
    except ModuleNotFoundError:
        raise BackendUnavailableError(
            "expected OpenCV to decode images and video (pip install 'edgevision[camera]'), got no module named 'cv2'"
        ) from None
    return cv2


def fit_size(image: np.ndarray, size: Size | None) -> np.ndarray:
    """``image`` resized to ``size`` (w, h) when it differs; unchanged otherwise."""
    if size is None or (image.shape[1], image.shape[0]) == tuple(size):
        return image
    cv2 = cv2_module()
    return cv2.resize(image, tuple(size), interpolation=cv2.INTER_AREA)


class Source:
    """Frames from one opened source: iterate it, and close it (or use ``with``) when done.

    ``live`` sources (cameras, streams, paced ``synthetic://``) keep only the newest
    frame; the others yield every frame in order. ``stats`` counts frames, drops and
    reconnects.
    """

    live = False

    def __init__(self, name: str, *, fps: float | None = None, max_frames: int | None = None) -> None:
        self.name = name
        self.fps = fps
        self.max_frames = max_frames
        self.stats = SourceStats()
        self._closed = False

    def __iter__(self) -> Source:
        return self

    def __next__(self) -> Frame:
        if self._closed or (self.max_frames is not None and self.stats.delivered >= self.max_frames):
            self.close()
            raise StopIteration
        frame = self._next_frame()
        if frame is None:
            self.close()
            raise StopIteration
        self.stats.delivered += 1
        return frame

    def _next_frame(self) -> Frame | None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the reader thread and release the device; safe to call twice."""
        self._closed = True

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


_END = object()


class OrderedSource(Source):
    """Every frame of a file-like capture, in order, decoded ahead by a reader thread (none dropped).

    The thread keeps ``prefetch`` frames ready, so decoding overlaps inference. ``fps``
    paces reading to that rate (a file played back like a camera); ``loop`` reopens
    the capture at its end.
    """

    def __init__(self, name: str, opener: Opener, *, first: Capture | None = None, size: Size | None = None,
                 fps: float | None = None, pace: bool = False, loop: bool = False,
                 max_frames: int | None = None, prefetch: int = 2) -> None:
        capture = first if first is not None else opener()
        super().__init__(name, fps=fps or capture.fps, max_frames=max_frames)
        self._opener, self._capture, self._size, self._loop = opener, capture, size, loop
        self._interval = 1.0 / fps if (pace and fps) else 0.0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=prefetch)
        self._thread: threading.Thread | None = None

    def _next_frame(self) -> Frame | None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._read_all, name=f"edgevision-reader {self.name}", daemon=True)
            self._thread.start()
        while True:
            try:
                item = self._queue.get(timeout=POLL)
            except queue.Empty:
                if self._closed:
                    return None
                continue
            if item is _END:
                return None
            if isinstance(item, BaseException):
                raise item
            return item

    def _read_all(self) -> None:
        capture: Capture | None = self._capture
        index, start = 0, time.monotonic()
        try:
            while capture is not None and not self._closed:
                image = capture.read()
                if image is None:
                    capture.close()
                    # A loop restarts from a fresh capture; one that is empty right away ends the run.
                    capture = self._opener() if self._loop and index > 0 else None
                    continue
                if self._interval:
                    time.sleep(max(0.0, start + index * self._interval - time.monotonic()))
                frame = Frame(fit_size(image, self._size), index, time.monotonic(), capture.name)
                index += 1
                self.stats.captured = index
                self._put(frame)
            self._put(_END)
        except Exception as e:  # noqa: BLE001 - not swallowed: handed to the consumer and raised there, as inline
            self._put(e)
        finally:
            if capture is not None:
                capture.close()

    def _put(self, item: Any) -> None:
        while not self._closed:
            try:
                self._queue.put(item, timeout=POLL)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is None:
            self._capture.close()
        elif self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
