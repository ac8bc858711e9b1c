"""OpenCV captures: V4L2 cameras (``/dev/videoN``, ``v4l2://``, ``usb://N``) and network streams (RTSP, HTTP).

OpenCV hands out BGR; every capture here converts to RGB once, into a new array
the consumer owns, while decoding reuses one BGR buffer.

Example:
    >>> cam = open_camera("/dev/video0", size=(640, 480), fps=30)      # doctest: +SKIP
    >>> cam.read().shape                                                # doctest: +SKIP
    (480, 640, 3)
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from ..errors import SourceError
from .base import Size, cv2_module

_VIDEO_NODE = re.compile(r"^/dev/video(\d+)$")


class OpenCVCapture:
    """A ``cv2.VideoCapture`` as a ``Capture``: ``read()`` -> RGB or None when the stream ends or fails."""

    def __init__(self, cap: Any, name: str) -> None:
        cv2 = self._cv2 = cv2_module()
        self._cap = cap
        self.name = name
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps: float | None = fps if 0.0 < fps < 1000.0 else None
        self._bgr: np.ndarray | None = None

    def read(self) -> np.ndarray | None:
        try:
            # Decode into the same BGR buffer every time; only the RGB frame handed out is new.
            ok, bgr = self._cap.read(self._bgr)
        except self._cv2.error:  # a backend that throws when its device vanishes: the same as "no frame"
            return None
        if not ok or bgr is None:
            return None
        self._bgr = bgr
        if bgr.ndim == 2:  # a monochrome camera
            return self._cv2.cvtColor(bgr, self._cv2.COLOR_GRAY2RGB)
        return self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._cap.release()


@contextlib.contextmanager
def quiet_opencv() -> Iterator[Any]:
    """OpenCV with its own log lines held back: a device that does not open is reported in one typed error."""
    cv2 = cv2_module()
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield cv2
        return
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield cv2
    finally:
        logging.setLogLevel(level)


def video_devices() -> list[str]:
    """The V4L2 device nodes on this machine (``/dev/video*``), in numeric order."""
    nodes = [str(p) for p in Path("/dev").glob("video*") if _VIDEO_NODE.match(str(p))]
    return sorted(nodes, key=lambda p: int(_VIDEO_NODE.match(p).group(1)))  # type: ignore[union-attr]


def _set(cap: Any, cv2: Any, size: Size | None, fps: float | None) -> None:
    if size:
        if size[0] * size[1] > 640 * 480:
            # Most USB cameras give more than VGA at full rate only as MJPG; YUYV would drop to a few fps.
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
    if fps:
        cap.set(cv2.CAP_PROP_FPS, float(fps))
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the reader keeps the newest frame; a deep driver queue only adds lag


def open_camera(device: str, *, name: str | None = None, size: Size | None = None,
                fps: float | None = None) -> OpenCVCapture:
    """Open a V4L2 camera by device node (``/dev/video0``, or a ``/dev/v4l/by-id/...`` link).

    Example:
        >>> open_camera("/dev/video99")          # doctest: +SKIP
        SourceError: expected a camera at /dev/video99, got no such device (cameras here: none)
    """
    where = device if name in (None, device) else f"{name} ({device})"
    name = name or device
    if not os.path.exists(device):
        found = ", ".join(video_devices()) or "none"
        raise SourceError(f"expected a camera at {where}, got no such device (cameras here: {found})")
    with quiet_opencv() as cv2:
        match = _VIDEO_NODE.match(os.path.realpath(device))
        # Opening by index is what every OpenCV build's V4L2 backend supports; by path, not all.
        target: int | str = int(match.group(1)) if match else device
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        cap = cv2.VideoCapture(target, api)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"expected a camera OpenCV can open at {where}, got a device it cannot open "
                              f"(busy, or not a capture node)")
        _set(cap, cv2, size, fps)
    return OpenCVCapture(cap, name)


def open_usb(index: int, *, size: Size | None = None, fps: float | None = None) -> OpenCVCapture:
    """Open camera number ``index`` (``usb://N``): ``/dev/videoN`` on Linux, OpenCV's own numbering elsewhere."""
    name = f"usb://{index}"
    if sys.platform.startswith("linux"):
        return open_camera(f"/dev/video{index}", name=name, size=size, fps=fps)
    with quiet_opencv() as cv2:
        cap = cv2.VideoCapture(index)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"expected a camera at {name}, got none that OpenCV can open")
        _set(cap, cv2, size, fps)
    return OpenCVCapture(cap, name)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and logs.

    Example:
        >>> redact("rtsp://admin:secret@10.0.0.2:554/stream1")
        'rtsp://admin:***@10.0.0.2:554/stream1'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def open_stream(url: str, *, timeout: float = 5.0, params: Sequence[int] = ()) -> OpenCVCapture:
    """Open an RTSP or HTTP(S) video stream through OpenCV's FFmpeg backend, with open/read timeouts.

    Example:
        >>> open_stream("rtsp://10.0.0.2:554/stream1", timeout=3)     # doctest: +SKIP
    """
    name = redact(url)
    # FFmpeg prints its own connection errors; the SourceError below says it in one line.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    with quiet_opencv() as cv2:
        ms = int(timeout * 1000)
        cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                                     cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms, *params])
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"expected a video stream at {name}, got nothing OpenCV could open "
                              f"(no answer within {timeout:g} s, or no video in it)")
    return OpenCVCapture(cap, name)
