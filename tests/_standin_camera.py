"""STAND-IN camera for the reconnect tests: a scripted capture, not a real device.

``StandInCamera(plan)`` is an opener: each call opens the next session of the plan.
A session is ``"unplugged"`` (opening raises ``SourceError``, as OpenCV/picamera2
opens fail while a USB camera is away) or ``(n_frames, ending)``: ``n_frames``
frames (``None``: forever), then ``ending``: ``"disconnect"`` (``read()`` returns
None, as ``cv2.VideoCapture.read`` does when the device goes), ``"error"``
(``read()`` raises OSError), ``"bug"`` (raises ValueError: not a device fault) or ``"stall"``
(``read()`` blocks until released, as an RTSP read can). Every pixel of a frame is ``session * 16 + frame % 16`` in red, so
tests can tell sessions apart.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from edgevision.errors import SourceError

Session = str | tuple


class StandInCapture:
    """STAND-IN for a capture handle (see the module docstring)."""

    fps: float | None = 100.0

    def __init__(self, session: int, n_frames: int | None, ending: str | None, interval: float,
                 release: threading.Event) -> None:
        self.name = f"standin://{session}"
        self.session, self.n_frames, self.ending, self.interval = session, n_frames, ending, interval
        self.release = release
        self.read_count = 0
        self.closed = False

    def read(self) -> np.ndarray | None:
        assert not self.closed, "read after close"
        if self.n_frames is not None and self.read_count >= self.n_frames:
            if self.ending == "error":
                raise OSError("device unplugged")
            if self.ending == "bug":
                raise ValueError("a bug in the capture code")
            if self.ending == "stall":
                self.release.wait()
            return None
        time.sleep(self.interval)
        frame = np.zeros((24, 32, 3), np.uint8)
        frame[..., 0] = self.session * 16 + self.read_count % 16
        self.read_count += 1
        return frame

    def close(self) -> None:
        self.closed = True


class StandInCamera:
    """STAND-IN for a camera that is unplugged and plugged back: an opener that follows a plan."""

    def __init__(self, *plan: Session, interval: float = 0.002) -> None:
        self.plan = list(plan)
        self.interval = interval
        self.opened: list[StandInCapture] = []
        self.attempts = 0
        self.release = threading.Event()  # lets stalled reads return at teardown

    def __call__(self) -> StandInCapture:
        self.attempts += 1
        session = self.plan.pop(0) if len(self.plan) > 1 else self.plan[0]
        if session == "unplugged":
            raise SourceError("expected a camera at standin://, got no such device")
        n_frames, ending = session
        capture = StandInCapture(len(self.opened), n_frames, ending, self.interval, self.release)
        self.opened.append(capture)
        return capture
