"""Opening sources by URI: the scheme registry, bad input as one typed error, and imports kept lazy."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from edgevision.errors import BackendUnavailableError, SourceError
from edgevision.sources import SCHEMES, open_source
from edgevision.sources.gstreamer import gstreamer_in_opencv, with_appsink
from edgevision.sources.opencv import redact

pytest.importorskip("cv2")


def test_unknown_scheme_names_the_valid_ones():
    with pytest.raises(SourceError) as info:
        open_source("ftp://camera.local/stream")
    message = str(info.value)
    assert message.endswith("got unknown scheme 'ftp://'") and "\n" not in message
    for valid in ("csi://N", "/dev/videoN", "v4l2:///dev/videoN", "usb://N", "gst://PIPELINE", "rtsp://",
                  "http(s)://", "synthetic://WxH@FPS", "video file", "glob"):
        assert valid in message
    assert set(SCHEMES) >= {"csi", "v4l2", "usb", "gst", "rtsp", "http", "https", "synthetic", "file"}


@pytest.mark.parametrize("uri, message", [
    ("/dev/video99", r"expected a camera at /dev/video99, got no such device \(cameras here: "),
    ("v4l2:///dev/video99", r"expected a camera at v4l2:///dev/video99 \(/dev/video99\), got no such device"),
    ("usb://9", r"expected a camera at usb://9 \(/dev/video9\), got no such device"),
    ("usb://front", r"expected a camera number in usb://N \(e.g. usb://0\), got 'usb://front'"),
    ("csi://x", r"expected a camera number in csi://N"),
])
def test_cameras_that_do_not_exist(uri, message):
    with pytest.raises(SourceError, match=message):
        open_source(uri)


def test_gstreamer_without_gstreamer_in_opencv():
    if gstreamer_in_opencv():
        pytest.skip("this OpenCV has GStreamer")
    with pytest.raises(BackendUnavailableError, match=r"expected an OpenCV built with GStreamer for gst:// sources "
                                                      r"\(the pip wheels have none"):
        open_source("gst://videotestsrc ! appsink")


def test_gstreamer_pipelines_get_an_appsink():
    assert with_appsink("videotestsrc ! appsink name=x") == "videotestsrc ! appsink name=x"
    assert with_appsink(" nvarguscamerasrc ").startswith("nvarguscamerasrc ! videoconvert ! ")


def test_stream_that_does_not_answer_is_one_error_without_the_password():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceError, match=rf"expected a video stream at rtsp://admin:\*\*\*@127.0.0.1:{port}/live"):
        open_source(f"rtsp://admin:hunter2@127.0.0.1:{port}/live", timeout=2)
    assert redact("http://cam/x.mjpg") == "http://cam/x.mjpg"


def test_file_scheme_is_a_path(tmp_path):
    with pytest.raises(SourceError, match="got missing path"):
        open_source(f"file://{tmp_path}/missing.png")


def test_import_edgevision_stays_light():
    code = ("import sys, edgevision; heavy = [m for m in ('edgevision.sources', 'edgevision.pipeline', "
            "'edgevision.serve', 'edgevision.sinks', 'edgevision.annotate', 'picamera2', 'http.server') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr
