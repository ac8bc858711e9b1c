"""Frame sources: cameras, streams, files and synthetic scenes, opened from a URI, yielding RGB Frames.

``open_source(uri)`` gives a ``Source``: iterate it for ``Frame`` objects (HxWx3
uint8 RGB, ``time.monotonic()`` capture timestamp, index, name). See
``edgevision.sources.uri`` for every scheme; in short: ``csi://0``,
``/dev/video0``, ``usb://0``, ``gst://...``, ``rtsp://...``, ``http://...``,
``synthetic://640x480@30``, a video file, an image, a directory or a glob.

Example:
    >>> from edgevision.sources import open_source
    >>> with open_source("synthetic://320x240@30?seed=3", max_frames=2) as frames:
    ...     [frame.image.shape for frame in frames]
    [(240, 320, 3), (240, 320, 3)]
"""
from __future__ import annotations

from .base import Capture, Frame, OrderedSource, Source, SourceStats
from .files import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_image
from .live import LiveSource
from .uri import SCHEMES, SourceOptions, open_source

__all__ = [
           "IMAGE_SUFFIXES",
           "SCHEMES",
           "VIDEO_SUFFIXES",
           "Capture",
           "Frame",
           "LiveSource",
           "OrderedSource",
           "Source",
           "SourceOptions",
           "SourceStats",
           "open_source",
           "read_image",
]
