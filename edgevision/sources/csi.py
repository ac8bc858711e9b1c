"""``csi://N``: a Raspberry Pi camera through picamera2, imported only when such a source is opened.

picamera2 comes with Raspberry Pi OS (``sudo apt install python3-picamera2``), not
from PyPI. Its ``"RGB888"`` format is named after libcamera's DRM fourcc, which
lists the channels from the most significant byte: the bytes in memory are
**B, G, R**. This capture converts them to RGB, the order every Frame has.

The main stream is sized for inference, not for the sensor: 640 pixels wide at the
sensor's aspect ratio unless a size is asked for (a 12 MP frame would cost more
to resize than a small model takes to run). ``queue=False`` makes every
``capture_array`` wait for a fresh frame instead of returning a queued, older one.

Example:
    >>> cam = open_csi(0, size=(640, 480), fps=30)     # doctest: +SKIP
    >>> cam.read().shape                               # doctest: +SKIP
    (480, 640, 3)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, SourceError
from .base import Size

DEFAULT_WIDTH = 640


def _picamera2() -> Any:
    try:
        from picamera2 import Picamera2
    except ModuleNotFoundError:
        raise BackendUnavailableError(
            "expected picamera2 for csi:// cameras (on Raspberry Pi OS: sudo apt install python3-picamera2), "
            "got no module named 'picamera2'"
        ) from None
    return Picamera2


def inference_size(sensor: tuple | None) -> Size:
    """A main-stream size for inference: 640 wide at the sensor's aspect ratio (even height), else 640x480.

    Example:
        >>> inference_size((4608, 2592)), inference_size(None)
        ((640, 360), (640, 480))
    """
    if not sensor or not sensor[0] or not sensor[1]:
        return DEFAULT_WIDTH, 480
    height = round(DEFAULT_WIDTH * sensor[1] / sensor[0] / 2) * 2
    return DEFAULT_WIDTH, max(2, height)


class Picamera2Capture:
    """One started picamera2 camera; ``read()`` -> RGB (converted from the BGR bytes of RGB888)."""

    def __init__(self, camera: Any, name: str, fps: float | None) -> None:
        self._camera = camera
        self.name = name
        self.fps = fps
        self._cv2: Any = None
        try:
            import cv2

            self._cv2 = cv2
        except ModuleNotFoundError:  # picamera2 does not need OpenCV; numpy does the swap, a little slower
            pass

    def read(self) -> np.ndarray | None:
        bgr = self._camera.capture_array("main")
        if bgr is None:
            return None
        bgr = bgr[..., :3]  # XBGR8888/XRGB8888 (if configured) carry a fourth, unused byte
        if self._cv2 is not None:
            return self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)
        return np.ascontiguousarray(bgr[..., ::-1])

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            try:
                camera.stop()
            finally:
                camera.close()


def open_csi(index: int, *, size: Size | None = None, fps: float | None = None) -> Picamera2Capture:
    """Open and start CSI camera ``index`` with an RGB888 main stream sized for inference."""
    Picamera2 = _picamera2()
    name = f"csi://{index}"
    info = Picamera2.global_camera_info() if hasattr(Picamera2, "global_camera_info") else None
    if info is not None and not 0 <= index < len(info):
        found = ", ".join(f"csi://{i} ({c.get('Model', '?')})" for i, c in enumerate(info)) or "none"
        raise SourceError(f"expected a camera at {name}, got no such camera (cameras here: {found})")
    try:
        camera = Picamera2(camera_num=index)
    except (RuntimeError, IndexError, OSError) as e:  # busy, or held by another process
        raise SourceError(f"expected a camera at {name} that can be opened, got: {e}") from None
    try:
        main = {"size": tuple(size) if size else inference_size(getattr(camera, "sensor_resolution", None)),
                "format": "RGB888"}
        controls = {"FrameRate": float(fps)} if fps else {}
        config = camera.create_video_configuration(main=main, controls=controls, queue=False)
        if hasattr(camera, "align_configuration"):
            camera.align_configuration(config)  # the ISP wants aligned widths; Frame sizes are fixed after
        camera.configure(config)
        camera.start()
    except (RuntimeError, ValueError, OSError) as e:
        camera.close()
        raise SourceError(f"expected camera {name} to start with a {main['size'][0]}x{main['size'][1]} RGB888 "
                          f"stream, got: {e}") from None
    return Picamera2Capture(camera, name, float(fps) if fps else None)
