"""File sources: single images, directories and globs of images, and video files, read in order.

Example:
    >>> from edgevision.sources.files import image_paths
    >>> image_paths("no/such/*.png")
    Traceback (most recent call last):
    ...
    edgevision.errors.SourceError: expected images matching the glob 'no/such/*.png', got none
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ImageError, SourceError
from ..integrity import read_file
from ..limits import MAX_FRAME_PIXELS, MAX_IMAGE_FILE_BYTES, check_frame_size
from .base import cv2_module
from .opencv import OpenCVCapture, quiet_opencv

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
    # One read of a regular file within the limit: a FIFO or a device named like an image is refused, not read.
    data = read_file(path.parent, path.name, limit=MAX_IMAGE_FILE_BYTES, what="image file", error=SourceError,
                     follow=True)
    try:
        with quiet_opencv(), image_library_output_dropped():
            bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    except cv2.error:  # e.g. the pixel limit (OPENCV_IO_MAX_IMAGE_PIXELS) asserted
        bgr = None
    if bgr is None:
        raise ImageError(f"expected an image OpenCV can decode ({', '.join(IMAGE_SUFFIXES)}) of at most "
                         f"{MAX_FRAME_PIXELS / 1e6:.1f} megapixels, got undecodable {path.name!r}")
    check_frame_size((bgr.shape[1], bgr.shape[0]), f"image ({path.name})", ImageError)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# What the image libraries under OpenCV print themselves, from C, straight to stderr (a file that fails
# to decode is one ImageError instead; one that decodes needs no warning about its colour profile).
_IMAGE_LIBRARY_LINE = re.compile(rb"^(libpng (error|warning)|Premature end of JPEG|Corrupt JPEG data|JPEG datastream|"
                                 rb"Invalid JPEG|Warning: |TIFFRead|TIFFFetch|\w+: Not a TIFF|libtiff)")
_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def image_library_output_dropped() -> Iterator[None]:
    """Hold file descriptor 2 while an image decodes; write back all but the image libraries' own lines."""
    with _STDERR_LOCK:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all
            yield
            return
        with tempfile.TemporaryFile() as held:
            sys.stderr.flush()
            os.dup2(held.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                held.seek(0)
                kept = [ln for ln in held.read().splitlines(keepends=True) if not _IMAGE_LIBRARY_LINE.match(ln)]
                if kept:
                    os.write(2, b"".join(kept))


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
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.declared = int(count) if 0 < count < 1e9 else None  # frames the container says it holds
        self.decoded = 0
        self._pending = super().read()
        if self._pending is None:
            self.close()
            raise ImageError(f"expected a video OpenCV can decode, got {path.name!r} (no frame decoded)")
        check_frame_size((self._pending.shape[1], self._pending.shape[0]), f"video frame ({path.name})", ImageError)

    def read(self) -> np.ndarray | None:
        image: np.ndarray | None = self._pending
        if image is not None:
            self._pending = None
        else:
            image = super().read()
        if image is None:
            self._check_complete()
            return None
        self.decoded += 1
        return image

    def _check_complete(self) -> None:
        """ImageError when the video ended well before the frame count its container declares (cut short).

        Containers that estimate the count from the duration may be a frame or two off: 1 % is allowed.
        """
        if self.declared is not None and self.decoded < self.declared - max(1, self.declared // 100):
            raise ImageError(f"expected {self.declared} frames in {Path(self.name).name!r} (its container says so), "
                             f"got {self.decoded}: the video is truncated or damaged")

    def close(self) -> None:
        self._pending = None
        super().close()
