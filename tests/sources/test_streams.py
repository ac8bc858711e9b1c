"""A real network stream: MJPEG over HTTP (served by ``edgevision.serve``), read through OpenCV's FFmpeg.

The server goes away mid-stream and comes back on the same port: the live source
reconnects and the frames go on. Nothing here is a stand-in: real sockets, real
FFmpeg demuxing, real JPEG decoding.
"""
from __future__ import annotations

import threading
import time

import pytest

from edgevision.serve import LiveView
from edgevision.sources import LiveSource, open_source
from edgevision.sources.synthetic import SyntheticCapture, parse_synthetic

pytest.importorskip("cv2")


class Broadcast:
    """A LiveView fed with synthetic frames from a thread (its own clock, like a camera on the network)."""

    def __init__(self, port: int = 0) -> None:
        self.view = LiveView(("127.0.0.1", port))
        self.port = self.view.port
        self._capture = SyntheticCapture(parse_synthetic("synthetic://96x64@50?seed=2"))
        self._stop = threading.Event()
        threading.Thread(target=self._feed, daemon=True).start()

    def _feed(self) -> None:
        t = 0
        while not self._stop.wait(0.02):
            self.view.publish(self._capture.image(t)[..., ::-1])
            t += 1

    def stop(self) -> None:
        self._stop.set()
        self.view.close()


def test_http_mjpeg_stream_reconnects_after_the_server_comes_back():
    server = Broadcast()
    events: list[str] = []
    source = open_source(f"http://127.0.0.1:{server.port}/stream.mjpg", timeout=2.0, on_event=events.append)
    assert isinstance(source, LiveSource)
    try:
        first = [next(source) for _ in range(3)]
        assert first[0].image.shape == (64, 96, 3)
        server.stop()  # the camera's server goes away...
        deadline = time.monotonic() + 20
        while not any("reconnecting" in e for e in events) and time.monotonic() < deadline:
            time.sleep(0.05)
        server = Broadcast(server.port)  # ...and comes back
        after = next(source)
        assert after.index > first[-1].index
        assert source.stats.reconnects == 1 and source.stats.last_gap > 0
        assert any(e.startswith("frames again after a") for e in events)
    finally:
        source.close()
        server.stop()
