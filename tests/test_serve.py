"""The live view: HTTP endpoints, MJPEG, no work without viewers, slow viewers, and the page in real Chromium."""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import _onnx_models
import numpy as np
import pytest

import edgevision
from edgevision.errors import UserInputError
from edgevision.pipeline import run_sinks
from edgevision.serve import BOUNDARY, LiveView, parse_address

cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return edgevision.load(_onnx_models.bright_spot_detector(tmp_path_factory.mktemp("m") / "det.onnx"),
                           labels=_onnx_models.LABELS)


class Running:
    """A run feeding a LiveView from a background thread, until ``stop()``."""

    def __init__(self, model, source: str = "synthetic://320x240@30?seed=1", extra_sinks=(), **stream) -> None:
        self.view = LiveView("127.0.0.1:0", title="test run")
        self.stream = model.stream(source, **stream)
        self._stop = threading.Event()
        sinks = [self.view, *extra_sinks, self]
        self.thread = threading.Thread(target=run_sinks, args=(self.stream, sinks), daemon=True)
        self.thread.start()

    def write(self, out):  # also a sink: stops the run when asked
        return False if self._stop.is_set() else None

    def close(self, completed=True):
        pass

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "the run did not stop"
        self.view.close()

    def get(self, path: str, timeout: float = 10) -> bytes:
        with urllib.request.urlopen(self.view.url + path.lstrip("/"), timeout=timeout) as r:
            return r.read()


def wait_for(predicate, limit: float = 15.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_parse_address():
    assert parse_address("8080") == ("127.0.0.1", 8080)
    assert parse_address(":8080") == ("127.0.0.1", 8080)
    assert parse_address("0.0.0.0:80") == ("0.0.0.0", 80)
    with pytest.raises(UserInputError, match=r"expected --serve \[HOST:\]PORT"):
        parse_address("localhost:http")


def test_port_in_use_is_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserInputError, match=rf"^expected a free port for --serve, got 127.0.0.1:{port} "
                                                 r"already in use$"):
            LiveView(f"127.0.0.1:{port}")


def test_endpoints_stats_snapshot_and_mjpeg(model):
    run = Running(model)
    try:
        page = run.get("/").decode()
        assert '<img id="view" src="/stream.mjpg"' in page and "test run" in page
        stats = wait_for(lambda: (s := json.loads(run.get("/stats")))["frames"] > 2 and s)
        assert stats["fps"] > 0 and stats["source"].startswith("synthetic://320x240@30")
        assert set(stats["latency_ms"]) == {"capture", "preprocess", "infer", "decode", "total"}
        snapshot = cv2.imdecode(np.frombuffer(run.get("/snapshot.jpg"), np.uint8), cv2.IMREAD_COLOR)
        assert snapshot.shape == (240, 320, 3)
        with urllib.request.urlopen(run.view.url + "stream.mjpg", timeout=10) as r:
            assert r.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            parts = [read_part(r) for _ in range(3)]
        images = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in parts]
        assert all(i.shape == (240, 320, 3) for i in images)
        assert not np.array_equal(images[0], images[2])  # moving frames
    finally:
        run.stop()


def test_results_as_server_sent_events_beside_the_stream(model):
    run = Running(model)
    try:
        with urllib.request.urlopen(run.view.url + "results", timeout=10) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            events, event = [], {}
            while len(events) < 5:
                line = r.readline().decode().rstrip("\n")
                if not line:
                    if "data" in event:
                        events.append(event)
                    event = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    event[key] = value
        records = [json.loads(e["data"]) for e in events]
        assert all(e["event"] == "result" and int(e["id"]) == rec["frame"] for e, rec in zip(events, records))
        assert [r["frame"] for r in records] == sorted({r["frame"] for r in records})  # newest, in order
        assert all({"frame", "latency_ms", "detections"} <= set(rec) for rec in records)
        latest = json.loads(run.get("/result"))
        assert latest["frame"] > records[-1]["frame"] and "detections" in latest
        wait_for(lambda: run.view.result_clients == 0)  # a listener that left is noticed at the next event
    finally:
        run.stop()


def read_part(response) -> bytes:
    assert response.readline().strip() == f"--{BOUNDARY}".encode()
    headers = {}
    while (line := response.readline().strip()):
        key, _, value = line.decode().partition(":")
        headers[key.lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    data = response.read(int(headers["content-length"]))
    response.readline()
    return data


class CountingAnnotator:
    def __init__(self) -> None:
        self.calls = 0

    def draw(self, image, result):
        self.calls += 1
        return image


def test_no_viewer_no_drawing(model):
    view = LiveView("127.0.0.1:0")
    annotator = CountingAnnotator()
    try:
        run_sinks(model.stream("synthetic://64x48@30?pace=0", max_frames=20), [view], annotator=annotator)
    finally:
        view.close()
    assert annotator.calls == 0 and view.stream.stats.frames == 20


def test_a_viewer_that_never_reads_does_not_stall_the_run(model):
    run = Running(model, "synthetic://320x240@30?seed=2&pace=0")
    try:
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", run.view.port))
        stuck.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")  # ...and never reads a byte
        wait_for(lambda: run.view.clients == 1)
        start = run.stream.stats.frames
        wait_for(lambda: run.stream.stats.frames > start + 100, limit=30)  # the run goes on regardless
        stats = json.loads(run.get("/stats"))  # and the server still answers others
        assert stats["viewers"] == 1 and stats["frames"] > start
    finally:
        stuck.close()
        run.stop()


def test_live_view_in_headless_chromium_shows_moving_frames_and_figures(model):
    from _browser import open_page

    run = Running(model, "synthetic://320x240@20?seed=4")
    try:
        with open_page(run.view.url) as page:
            page.wait_for_function("document.getElementById('view').naturalWidth > 0", timeout=20000)
            assert page.evaluate("document.getElementById('view').naturalWidth") == 320
            first = page.evaluate(FRAME_HASH)
            page.wait_for_function(f"({FRAME_HASH})() !== {first}", timeout=20000)  # the picture moves
            page.wait_for_function("parseFloat(document.getElementById('fps').textContent) > 0", timeout=20000)
            page.wait_for_selector("td[data-stage=infer]", timeout=20000)
            frames = int(page.text_content("#frames"))
            page.wait_for_function(f"parseInt(document.getElementById('frames').textContent) > {frames}",
                                   timeout=20000)  # the figures update
            infer_ms = float(page.text_content("td[data-stage=infer]"))
            assert 0 < infer_ms < 1000
            assert page.console_errors == []
    finally:
        run.stop()


def test_tracks_and_counts_reach_stats_and_the_page(model):
    from _browser import open_page

    run = Running(model, "synthetic://320x240@20?seed=4", track=True, lines=[[(0, 120), (320, 120)]],
                  zones=[[(0, 0), (160, 0), (160, 240), (0, 240)]])
    try:
        stats = wait_for(lambda: (s := json.loads(run.get("/stats")))["frames"] > 5 and s)
        assert stats["tracks"] >= 1 and [c["name"] for c in stats["counts"]["lines"]] == ["line 1"]
        assert stats["counts"]["zones"][0]["name"] == "zone 1" and "current" in stats["counts"]["zones"][0]
        with open_page(run.view.url) as page:
            page.wait_for_selector("li[data-counter='line 1']", timeout=20000)
            page.wait_for_selector("li[data-counter='zone 1']", timeout=20000)
            assert page.text_content("#tracks").startswith("tracks ")
            assert page.console_errors == []
    finally:
        run.stop()


# A checksum of the <img>'s current frame, drawn into a canvas (same origin: readable).
FRAME_HASH = """() => {
  const img = document.getElementById('view');
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) >>> 0;
  return h;
}"""
