"""``gst://PIPELINE``: a GStreamer pipeline through OpenCV, e.g. a Jetson CSI camera with nvarguscamerasrc.

Only OpenCV builds with GStreamer can open these: JetPack's ``python3-opencv`` has
it, the pip wheels (``opencv-python``, ``opencv-python-headless``) do not. A
pipeline that does not end in an ``appsink`` gets one appended (converted to BGR,
newest buffer only). On a Jetson::

    edgevision run bundle/ --source "gst://nvarguscamerasrc sensor-id=0 !
        video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1 !
        nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR !
        appsink drop=true max-buffers=1"

Example:
    >>> with_appsink("v4l2src device=/dev/video0")
    'v4l2src device=/dev/video0 ! videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false'
"""
from __future__ import annotations

import re

from ..errors import BackendUnavailableError, SourceError
from .base import cv2_module
from .opencv import OpenCVCapture, quiet_opencv

APPSINK = "videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false"


def gstreamer_in_opencv() -> bool:
    """True when this OpenCV was built with GStreamer (its build information says ``GStreamer: YES``)."""
    match = re.search(r"GStreamer:\s*(\S+)", cv2_module().getBuildInformation())
    return match is not None and match.group(1).upper() not in ("NO", "NONE")


def with_appsink(pipeline: str) -> str:
    """``pipeline`` ending in an appsink OpenCV can read (added when the pipeline has none)."""
    pipeline = pipeline.strip()
    return pipeline if "appsink" in pipeline else f"{pipeline} ! {APPSINK}"


def open_gstreamer(pipeline: str) -> OpenCVCapture:
    """Open a GStreamer pipeline with ``cv2.CAP_GSTREAMER``; a clear error when OpenCV lacks GStreamer."""
    if not pipeline.strip():
        raise SourceError("expected a GStreamer pipeline after gst://, got an empty one")
    if not gstreamer_in_opencv():
        raise BackendUnavailableError(
            "expected an OpenCV built with GStreamer for gst:// sources (the pip wheels have none; "
            "on a Jetson use JetPack's python3-opencv), got one without it (cv2.getBuildInformation(): GStreamer NO)"
        )
    with quiet_opencv() as cv2:
        cap = cv2.VideoCapture(with_appsink(pipeline), cv2.CAP_GSTREAMER)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"expected a GStreamer pipeline that starts, got one that does not: {pipeline!r}")
    return OpenCVCapture(cap, f"gst://{pipeline}")
