"""Open a source from a URI or a path: one registry of schemes, each a small opener.

=========================  =====================================================  ==========
source                     what                                                   delivery
=========================  =====================================================  ==========
``csi://N``                Raspberry Pi camera N through picamera2                live
``/dev/videoN``            V4L2 camera (also ``v4l2:///dev/videoN``, ``usb://N``)  live
``gst://PIPELINE``         GStreamer pipeline (OpenCV built with GStreamer)       live
``rtsp://``, ``http(s)://``  network stream through FFmpeg                         live
``synthetic://WxH@FPS``    seeded moving shapes (``?seed=N&pace=0``)              live/order
a video file               every frame, in order                                  in order
an image, a dir, a glob    every image, sorted by name                            in order
=========================  =====================================================  ==========

*Live* sources keep only the newest frame and reconnect after faults
(``LiveSource``); the others yield every frame in order (``OrderedSource``).

Example:
    >>> with open_source("synthetic://64x48@30?seed=1&pace=0", max_frames=3) as frames:
    ...     [(f.index, f.image.shape) for f in frames]
    [(0, (48, 64, 3)), (1, (48, 64, 3)), (2, (48, 64, 3))]
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import SourceError
from ..limits import check_frame_size
from .base import Capture, OrderedSource, Size, Source
from .files import GLOB_CHARS, IMAGE_SUFFIXES, VIDEO_SUFFIXES, ImageListCapture, VideoFileCapture, image_paths
from .live import EventCallback, LiveSource

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.S)
_VIDEO_NODE = re.compile(r"^/dev/video\d+$")


@dataclass(frozen=True)
class SourceOptions:
    """What every opener may use: the requested frame size and rate, looping, a frame limit, fault handling."""

    size: Size | None = None  # frames come out at this (w, h); cameras are asked for it
    fps: float | None = None  # cameras: requested rate; files: played back at this rate
    loop: bool = False  # files: start again at the end
    max_frames: int | None = None
    timeout: float = 5.0  # live: seconds without a frame before the device is reopened
    on_event: EventCallback | None = None  # live: called with a line for every loss and recovery


def _live(name: str, opener: Callable[[], Capture], o: SourceOptions) -> Source:
    return LiveSource(name, opener, size=o.size, max_frames=o.max_frames, timeout=o.timeout, on_event=o.on_event)


def _ordered(name: str, opener: Callable[[], Capture], o: SourceOptions) -> Source:
    return OrderedSource(name, opener, size=o.size, fps=o.fps, pace=o.fps is not None, loop=o.loop,
                         max_frames=o.max_frames)


def _index(uri: str, body: str) -> int:
    if not body.strip("/").isdigit():
        raise SourceError(f"expected a camera number in {uri.split('://')[0]}://N (e.g. usb://0), got {uri!r}")
    return int(body.strip("/"))


def _csi(uri: str, body: str, o: SourceOptions) -> Source:
    from .csi import open_csi  # picamera2 is imported here, only when a csi:// source is opened

    index = _index(uri, body)
    return _live(f"csi://{index}", lambda: open_csi(index, size=o.size, fps=o.fps), o)


def _camera(device: str, o: SourceOptions, name: str | None = None) -> Source:
    from .opencv import open_camera

    return _live(name or device, lambda: open_camera(device, name=name, size=o.size, fps=o.fps), o)


def _v4l2(uri: str, body: str, o: SourceOptions) -> Source:
    device = f"/dev/video{body}" if body.isdigit() else body  # v4l2:///dev/video0, or v4l2://0
    return _camera(device, o, name=uri)


def _usb(uri: str, body: str, o: SourceOptions) -> Source:
    from .opencv import open_usb

    index = _index(uri, body)
    return _live(f"usb://{index}", lambda: open_usb(index, size=o.size, fps=o.fps), o)


def _gst(uri: str, body: str, o: SourceOptions) -> Source:
    from .gstreamer import open_gstreamer

    return _live(uri, lambda: open_gstreamer(body), o)


def _stream(uri: str, body: str, o: SourceOptions) -> Source:
    from .opencv import open_stream, redact

    return _live(redact(uri), lambda: open_stream(uri, timeout=o.timeout), o)


def _synthetic(uri: str, body: str, o: SourceOptions) -> Source:
    from .synthetic import SyntheticCapture, parse_synthetic

    spec = parse_synthetic(uri)
    if o.size:  # drawn at the size asked for, rather than drawn and then resized
        spec = dataclasses.replace(spec, size=o.size)
    if spec.pace:
        return _live(spec.uri, lambda: SyntheticCapture(spec, fps=o.fps), o)
    return OrderedSource(spec.uri, lambda: SyntheticCapture(spec), max_frames=o.max_frames)


def _file(uri: str, body: str, o: SourceOptions) -> Source:
    return open_path(body, o)


# scheme -> opener(uri, text after "://", options); the names are listed in the unknown-scheme error.
SCHEMES: dict[str, Callable[[str, str, SourceOptions], Source]] = {
    "csi": _csi, "v4l2": _v4l2, "usb": _usb, "gst": _gst, "rtsp": _stream, "rtsps": _stream,
    "http": _stream, "https": _stream, "synthetic": _synthetic, "file": _file,
}
VALID_SOURCES = ("csi://N, /dev/videoN, v4l2:///dev/videoN, usb://N, gst://PIPELINE, rtsp://..., http(s)://..., "
                 "synthetic://WxH@FPS, or a path to a video file, an image, a directory or a glob of images")


def open_path(spec: str, o: SourceOptions) -> Source:
    """A file source: a video file, an image, a directory of images or a glob; SourceError when there is none."""
    path = Path(spec)
    if _VIDEO_NODE.match(spec) or spec.startswith("/dev/v4l/"):
        return _camera(spec, o)
    if path.is_dir() or (not path.exists() and any(c in spec for c in GLOB_CHARS)):
        paths = image_paths(spec)
        return _ordered(spec, lambda: ImageListCapture(paths), o)
    if not path.exists():
        raise SourceError(f"expected an image, a directory of images or a video file, got missing path {spec!r}")
    if not path.is_file():  # a FIFO or a device named like a video would block the decoder, never end
        raise SourceError(f"expected an image or a video file, got {spec!r} that is not a regular file")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return _ordered(spec, lambda: VideoFileCapture(path), o)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise SourceError(f"expected a video ({', '.join(VIDEO_SUFFIXES)}) or an image "
                          f"({', '.join(IMAGE_SUFFIXES)}) file, got {path.name!r}")
    return _ordered(spec, lambda: ImageListCapture([path]), o)


def open_source(source: str | Path, *, size: Size | None = None, fps: float | None = None,
                loop: bool = False, max_frames: int | None = None, timeout: float = 5.0,
                on_event: EventCallback | None = None) -> Source:
    """Open ``source`` (a URI or a path, see the module docstring) as an iterable of ``Frame``.

    The device or file is opened here, so a missing camera, an unknown scheme or a
    video that cannot be decoded fails at once with a typed error.

    Example:
        >>> open_source("ftp://x")
        Traceback (most recent call last):
        ...
        edgevision.errors.SourceError: expected a source among csi://N, /dev/videoN, ..., got unknown scheme 'ftp://'
    """
    if size is not None:
        size = check_frame_size(size, "source size", SourceError)
    options = SourceOptions(size=tuple(size) if size else None, fps=fps, loop=loop,  # type: ignore[arg-type]
                            max_frames=max_frames, timeout=timeout, on_event=on_event)
    text = str(source)
    match = _SCHEME.match(text)
    if match is None:
        return open_path(text, options)
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise SourceError(f"expected a source among {VALID_SOURCES}, got unknown scheme '{scheme}://'")
    return SCHEMES[scheme](text, match.group(2), options)
