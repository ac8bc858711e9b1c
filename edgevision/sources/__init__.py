"""Frame sources: images, directories of images and video files, yielding RGB Frames.

Example:
    >>> for frame in open_source("images/"):          # doctest: +SKIP
    ...     result = model.predict(frame.image)
"""
from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from ..errors import BackendUnavailableError, ImageError, SourceError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass
class Frame:
    """One frame: HxWx3 uint8 RGB, when it was captured (time.monotonic seconds), its index and origin."""

    image: np.ndarray
    index: int
    timestamp: float
    name: str = ""


def _cv2() -> Any:
    try:
        import cv2
    except ModuleNotFoundError:
        raise BackendUnavailableError(
            "expected OpenCV to decode images and video (pip install 'edgevision[camera]'), got no module named 'cv2'"
        ) from None
    return cv2


def read_image(path: "str | Path") -> np.ndarray:
    """Decode an image file to HxWx3 uint8 RGB."""
    cv2 = _cv2()
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise SourceError(f"expected a readable image file, got {str(path)!r}: {e.strerror}") from None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise ImageError(f"expected an image OpenCV can decode ({', '.join(IMAGE_SUFFIXES)}), got undecodable {path.name!r}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def iter_images(paths: list[Path]) -> Iterator[Frame]:
    for i, p in enumerate(paths):
        yield Frame(read_image(p), i, time.monotonic(), str(p))


def iter_video(path: Path, *, max_frames: Optional[int] = None) -> Iterator[Frame]:
    """Every frame of a video file, in order, none dropped."""
    cv2 = _cv2()
    # FFmpeg logs its own parse errors ("moov atom not found") straight to stderr; the
    # ImageError below says it in one line. OpenCV reads this once, at its first capture.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ImageError(f"expected a video OpenCV can decode, got {path.name!r} (could not open it)")
    try:
        index = 0
        while max_frames is None or index < max_frames:
            ok, bgr = cap.read()
            if not ok:
                if index == 0:
                    raise ImageError(f"expected a video OpenCV can decode, got {path.name!r} (no frame decoded)")
                return
            yield Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index, time.monotonic(), str(path))
            index += 1
    finally:
        cap.release()


def open_source(source: "str | Path", *, max_frames: Optional[int] = None) -> Iterator[Frame]:
    """Frames from an image file, a directory of images, or a video file."""
    path = Path(source)
    if not path.exists():
        raise SourceError(f"expected an image, a directory of images or a video file, got missing path {str(source)!r}")
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise SourceError(f"expected images ({', '.join(IMAGE_SUFFIXES)}) in directory {str(path)!r}, got none")
        frames: Iterator[Frame] = iter_images(images)
    elif path.suffix.lower() in VIDEO_SUFFIXES:
        return iter_video(path, max_frames=max_frames)
    else:
        frames = iter_images([path])
    if max_frames is None:
        return frames
    return itertools.islice(frames, max_frames)
