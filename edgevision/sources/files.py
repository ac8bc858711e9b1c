"""File sources: single images, directories and globs of images, and video files, read in order.

Example:
    >>> from edgevision.sources.files import image_paths
    >>> image_paths("no/such/*.png")
    Traceback (most recent call last):
    ...
    edgevision.errors.SourceError: expected images matching the glob 'no/such/*.png', got none
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np

from ..errors import ImageError, SourceError
from .base import cv2_module
from .opencv import OpenCVCapture

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
GLOB_CHARS = ("*", "?", "[")


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to HxWx3 uint8 RGB.

    Example:
        >>> read_image("photo.jpg").shape        # doctest: +SKIP
        (480, 640, 3)
    """
    cv2 = cv2_module()
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise SourceError(f"expected a readable image file, got {str(path)!r}: {e.strerror}") from None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise ImageError(f"expected an image OpenCV can decode ({', '.join(IMAGE_SUFFIXES)}), got undecodable {path.name!r}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def image_paths(spec: str) -> list[Path]:
    """The image files a directory or a glob names, sorted; SourceError when there are none.

    Example:
        >>> image_paths("frames/*.jpg")[:2]      # doctest: +SKIP
        [PosixPath('frames/0001.jpg'), PosixPath('frames/0002.jpg')]
    """
    path = Path(spec)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise SourceError(f"expected images ({', '.join(IMAGE_SUFFIXES)}) in directory {str(path)!r}, got none")
        return found
    found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise SourceError(f"expected images matching the glob {spec!r}, got none")
    return found


class ImageListCapture:
    """Decodes a list of image files one by one; ``name`` is the file of the last image read."""

    fps: float | None = None

    def __init__(self, paths: list[Path]) -> None:
        self._paths = paths
        self._next = 0
        self.name = str(paths[0]) if paths else ""

    def read(self) -> np.ndarray | None:
        if self._next >= len(self._paths):
            return None
        path = self._paths[self._next]
        self._next += 1
        self.name = str(path)
        return read_image(path)

    def close(self) -> None:
        self._next = len(self._paths)


class VideoFileCapture(OpenCVCapture):
    """Every frame of a video file through OpenCV (FFmpeg), BGR converted to RGB.

    The first frame is decoded on open, so a file that cannot be decoded fails there,
    before a model loads, not on the first read.
    """

    def __init__(self, path: Path) -> None:
        cv2 = cv2_module()
        # FFmpeg logs its own parse errors ("moov atom not found") straight to stderr; the
        # ImageError below says it in one line. OpenCV reads this once, at its first capture.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise ImageError(f"expected a video OpenCV can decode, got {path.name!r} (could not open it)")
        super().__init__(cap, str(path))
        self._pending: np.ndarray | None = None
        self._pending = super().read()
        if self._pending is None:
            self.close()
            raise ImageError(f"expected a video OpenCV can decode, got {path.name!r} (no frame decoded)")

    def read(self) -> np.ndarray | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        return super().read()

    def close(self) -> None:
        self._pending = None
        super().close()
