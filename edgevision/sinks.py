"""Where a run's results go: JSON lines, text lines, a video file, image files, a window.

A sink has ``write(out) -> None | False`` (False asks the run to stop, e.g. a
closed window) and ``close(completed=...)``. ``out`` is one ``Output`` object,
updated in place every frame; ``out.annotated()`` draws the frame once, in BGR,
however many sinks ask for it (and not at all when none does).

Example:
    >>> sinks = [JsonLinesSink(sys.stdout), VideoSink("out.mp4")]            # doctest: +SKIP
    >>> run_sinks(model.stream("video.mp4"), sinks, annotator=Annotator())   # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .errors import BackendUnavailableError, UserInputError

# Container -> codec OpenCV's bundled FFmpeg can write everywhere (H.264 needs an encoder the wheels lack).
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
IMAGE_OUTPUTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class Output:
    """One frame's output, shared by all sinks: frame, result, timings, counters and the annotated image."""

    def __init__(self, stream: Any, annotator: Any = None) -> None:
        self.stream, self.annotator = stream, annotator
        # Set by next(): the stream's latest Frame, its Result and its FrameTimings.
        self.frame: Any = None
        self.result: Any = None
        self.timings: Any = None
        self.gap = 0.0  # seconds without frames just before this one (a reconnect), else 0
        self._reconnects = 0
        self._drawn: np.ndarray | None = None

    def next(self, result: Any) -> None:
        """Move on to the stream's latest frame."""
        s = self.stream
        self.frame, self.result, self.timings, self._drawn = s.frame, result, s.timings, None
        src = s.source.stats
        self.gap = src.last_gap if src.reconnects != self._reconnects else 0.0
        self._reconnects = src.reconnects

    def annotated(self) -> np.ndarray:
        """The frame with its result drawn (BGR, the annotator's buffer: copy it to keep it)."""
        if self._drawn is None:
            if self.annotator is None:
                from .annotate import Annotator

                self.annotator = Annotator()
            self._drawn = self.annotator.draw(self.frame.image, self.result)
            tracking = getattr(self.stream, "tracking", None)
            if tracking is not None and tracking.counters:  # the counting lines and zones, with their counts
                from .overlays import draw_counting

                draw_counting(self.annotator, self._drawn, tracking.counters, max(1, round(min(self._drawn.shape[:2]) / 300)))
        return self._drawn

    def record(self) -> dict[str, Any]:
        """The JSON-lines record of this frame."""
        f, src = self.frame, self.stream.source.stats
        record = {"frame": f.index, "timestamp": round(f.timestamp, 6), "source": f.name,
                  "size": [f.image.shape[1], f.image.shape[0]], "latency_ms": self.timings.to_dict(),
                  "dropped": src.dropped, "reconnects": src.reconnects}
        if self.gap:
            record["gap_ms"] = round(1000 * self.gap, 1)
        record.update(self.result.to_dict())
        tracking = getattr(self.stream, "tracking", None)
        if tracking is not None and tracking.counters:
            record["counts"] = tracking.counts()
        return record


def describe(result: Any) -> str:
    """A short human line for one result.

    Example:
        >>> from edgevision.results import Classification
        >>> describe(Classification([1], [0.5], ("cat", "dog")))
        'dog 0.50'
    """
    return str(result.describe())


class JsonLinesSink:
    """One JSON object per frame (``Output.record()``), flushed, so a pipe sees each frame as it happens."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout  # looked up now: sys.stdout may have been replaced since import

    def write(self, out: Output) -> None:
        self.stream.write(json.dumps(out.record()) + "\n")
        self.stream.flush()

    def close(self, completed: bool = True) -> None:
        pass


class TextSink:
    """One human line per frame: ``frame 3 clip.mp4: 2 detections: ... (4.1 ms)`` (model time)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout  # looked up now: sys.stdout may have been replaced since import

    def write(self, out: Output) -> None:
        t = out.timings
        gap = f" after a {out.gap:.1f} s gap" if out.gap else ""
        self.stream.write(f"frame {out.frame.index} {out.frame.name}{gap}: {describe(out.result)} "
                          f"({1000 * (t.preprocess + t.infer + t.decode):.1f} ms)\n")
        self.stream.flush()

    def close(self, completed: bool = True) -> None:
        pass


def _cv2() -> Any:
    from .sources.base import cv2_module

    return cv2_module()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a reader never sees half a file


class VideoSink:
    """Annotated frames to a video file: written as ``.NAME.partial.EXT`` and renamed when the run completes.

    The rate is ``fps``, else the source's own, else 30. A run that fails leaves no file.
    """

    def __init__(self, path: str | Path, *, fps: float | None = None) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_CODECS:
            raise UserInputError(f"expected a video file ({', '.join(VIDEO_CODECS)}), got {self.path.name!r}")
        if not self.path.parent.is_dir():
            raise UserInputError(f"expected an existing directory for --output, got {str(self.path.parent)!r}")
        self.fps, self.frames = fps, 0
        self._cv2 = _cv2()
        self._fourcc = self._cv2.VideoWriter_fourcc(*VIDEO_CODECS[suffix])
        self._tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._writer: Any = None
        self._size = (0, 0)
        self._probe()

    def _probe(self) -> None:
        """Open a tiny writer now, so a missing encoder or an unwritable directory fails before the model loads."""
        try:
            fd, probe = tempfile.mkstemp(suffix=self.path.suffix, dir=self.path.parent)
        except OSError as e:
            raise UserInputError(f"expected --output in a writable directory, got {str(self.path)!r} "
                                 f"({e.strerror or e})") from None
        os.close(fd)
        try:
            writer = self._cv2.VideoWriter(probe, self._fourcc, 30.0, (64, 48))
            ok = writer.isOpened()
            writer.release()
        finally:
            os.unlink(probe)
        if not ok:
            raise BackendUnavailableError(f"expected OpenCV to write {self.path.suffix} video "
                                          f"({VIDEO_CODECS[self.path.suffix.lower()]}), got no such encoder")

    def write(self, out: Output) -> None:
        image = out.annotated()
        size = (image.shape[1], image.shape[0])
        if self._writer is None:
            self._size = size
            fps = self.fps or out.stream.source.fps or 30.0
            self._writer = self._cv2.VideoWriter(str(self._tmp), self._fourcc, float(fps), size)
        elif size != self._size:
            image = self._cv2.resize(image, self._size)  # a stream that changed size mid-run
        self._writer.write(image)
        self.frames += 1

    def close(self, completed: bool = True) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if completed and self.frames:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


class ImageSink:
    """Annotated frames as image files: into a directory (one file per frame), or one file kept up to date.

    In a directory, a frame from an image file keeps that file's name; others are
    ``frame_000123.jpg``. With an image path (``latest.jpg``), every frame replaces
    the file atomically: the latest annotated frame, e.g. for a web page to show.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.single = self.path.suffix.lower() in IMAGE_OUTPUTS
        if self.single and not self.path.parent.is_dir():
            raise UserInputError(f"expected an existing directory for --output, got {str(self.path.parent)!r}")
        if not self.single:
            if self.path.exists() and not self.path.is_dir():
                raise UserInputError(f"expected a directory, a video ({', '.join(VIDEO_CODECS)}) or an image "
                                     f"({', '.join(IMAGE_OUTPUTS)}) for --output, got {str(self.path)!r}")
            _check_creatable(self.path)  # made at the first frame: a run that fails before leaves no empty directory
        self._cv2 = _cv2()

    def _target(self, out: Output) -> Path:
        if self.single:
            return self.path
        name = Path(out.frame.name)
        if name.suffix.lower() in IMAGE_OUTPUTS:
            return self.path / name.name
        return self.path / f"frame_{out.frame.index:06d}.jpg"

    def write(self, out: Output) -> None:
        target = self._target(out)
        if not self.single:
            self.path.mkdir(parents=True, exist_ok=True)
        ok, data = self._cv2.imencode(target.suffix, out.annotated())
        if not ok:
            raise UserInputError(f"expected an image format OpenCV can write, got {target.suffix!r}")
        _write_atomic(target, data.tobytes())

    def close(self, completed: bool = True) -> None:
        pass


def _check_creatable(directory: Path) -> None:
    """UserInputError unless ``directory`` exists or can be made: its nearest existing ancestor is a writable directory."""
    ancestor = directory
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserInputError(f"expected --output in a writable directory, got {str(directory)!r} "
                             f"({str(ancestor)!r} is {'not writable' if ancestor.is_dir() else 'not a directory'})")


def output_sink(path: str | Path, *, fps: float | None = None) -> Any:
    """``VideoSink`` for a video suffix, ``ImageSink`` for an image suffix or a directory.

    Example:
        >>> output_sink("annotated.mp4"), output_sink("frames/")          # doctest: +SKIP
        (<VideoSink>, <ImageSink>)
    """
    text = str(path)
    if Path(text).suffix.lower() in VIDEO_CODECS:
        return VideoSink(text, fps=fps)
    if text.endswith(("/", os.sep)) or Path(text).is_dir() or Path(text).suffix.lower() in IMAGE_OUTPUTS \
            or not Path(text).suffix:
        return ImageSink(text)
    raise UserInputError(f"expected a directory, a video ({', '.join(VIDEO_CODECS)}) or an image "
                         f"({', '.join(IMAGE_OUTPUTS)}) for --output, got {text!r}")


def display_problem(cv2: Any) -> str | None:
    """Why ``cv2.imshow`` cannot work here: ``"headless"`` (OpenCV without a GUI), ``"no display"``, or None.

    Example:
        >>> import cv2
        >>> display_problem(cv2)                # with opencv-python-headless  # doctest: +SKIP
        'headless'
    """
    gui = re.search(r"GUI:\s*(\S+)", cv2.getBuildInformation())
    if gui and gui.group(1).upper() == "NONE":
        return "headless"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display"
    return None


class WindowSink:
    """Annotated frames in an OpenCV window; ``q`` or Esc (or closing the window) stops the run."""

    def __init__(self, title: str = "edgevision") -> None:
        cv2 = self._cv2 = _cv2()
        problem = display_problem(cv2)
        if problem == "headless":
            raise BackendUnavailableError("expected an OpenCV with a GUI for --show (pip install opencv-python), "
                                          "got a headless build (GUI: NONE); use --serve to watch in a browser")
        if problem:
            raise UserInputError("expected a display for --show, got none (DISPLAY is not set); "
                                 "use --serve to watch in a browser")
        self.title = title
        self._shown = False

    def write(self, out: Output) -> bool | None:
        cv2 = self._cv2
        cv2.imshow(self.title, out.annotated())
        key = cv2.waitKey(1) & 0xFF
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            return False
        self._shown = True
        return False if key in (27, ord("q")) else None

    def close(self, completed: bool = True) -> None:
        if self._shown:
            self._cv2.destroyWindow(self.title)
