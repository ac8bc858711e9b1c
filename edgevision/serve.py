"""``--serve HOST:PORT``: the live view in a browser, from the standard library's HTTP server.

``LiveView`` serves, from its own threads:

- ``/``: a page showing the stream and live FPS and per-stage latency;
- ``/stream.mjpg``: annotated frames as MJPEG (``multipart/x-mixed-replace``);
- ``/snapshot.jpg``: the latest annotated frame; ``/stats``: the figures as JSON;
- ``/results``: each frame's JSON record (as ``edgevision run --json`` prints it) as
  server-sent events (``event: result``, ``id:`` the frame index); ``/result``: the next one as JSON.

It is also a sink: ``write(out)`` is called per frame by the run loop. Inference
never waits for a browser: with no viewer the frame is not even drawn; with
viewers it is drawn and copied once, and each viewer's thread encodes (once per
frame, shared) and sends only the newest frame when its socket is ready, so a
slow browser gets fewer frames, not older ones. It binds to loopback unless a
host is given. At most ``MAX_VIEWERS`` connections are served at once (more get 503), a
connection that sends nothing for 30 s is closed, and the standard library's limits on a
request (64 kB lines: 414/431, 100 headers: 431) hold.

Example:
    >>> view = LiveView("127.0.0.1:0")        # port 0: any free port
    >>> view.url.startswith("http://127.0.0.1:")
    True
    >>> view.close()
"""
from __future__ import annotations

import contextlib
import errno
import html
import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from .errors import UserInputError
from .limits import MAX_VIEWERS

LOOPBACK = "127.0.0.1"
BOUNDARY = "edgevisionframe"


def parse_address(text: str) -> tuple[str, int]:
    """(host, port) from ``PORT``, ``:PORT``, ``HOST:PORT`` or ``[IPv6]:PORT``; the host defaults to loopback.

    Example:
        >>> parse_address("8080"), parse_address("0.0.0.0:8000"), parse_address("[::1]:9000")
        (('127.0.0.1', 8080), ('0.0.0.0', 8000), ('::1', 9000))
    """
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]") if sep else ""
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserInputError(f"expected --serve [HOST:]PORT with a port 0-65535 (e.g. 127.0.0.1:8080), got {text!r}")
    return host or LOOPBACK, int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a viewer's connection never keeps the process alive

    def __init__(self, address: tuple[str, int], view: LiveView) -> None:
        self.view = view
        self.connections = 0  # open now; above MAX_VIEWERS a connection gets 503 and is closed
        self.connections_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A viewer that resets or times out is no fault of the run; anything else is one line, not a traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            print(f"edgevision: live view: request from {client_address[0]} failed: {type(error).__name__}: {error}",
                  file=sys.stderr, flush=True)


class LiveView:
    """The live-view HTTP server (see the module docstring); ``close()`` stops it."""

    def __init__(self, address: str | tuple[str, int], *, title: str = "edgevision", quality: int = 80) -> None:
        host, port = parse_address(address) if isinstance(address, str) else address
        try:
            self._server = _Server((host, port), self)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UserInputError(f"expected a free port for --serve, got {host}:{port} already in use") from None
            raise UserInputError(f"expected an address to serve on, got {host}:{port} ({e.strerror or e})") from None
        self.host, self.port = host, self._server.server_address[1]
        self.title, self.quality = title, int(quality)
        self.stream: Any = None  # set by the first write: the Stream whose figures /stats reports
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None  # the newest annotated frame (BGR), never written to again
        self._seq = 0
        self._jpeg: tuple[int, bytes] = (0, b"")
        self._encode = threading.Lock()
        self.clients = 0  # viewers waiting for frames; frames are drawn only while there are some
        self.result_clients = 0  # listeners to /results; records are made only while there are some
        self._record: tuple[int, int, bytes] = (0, 0, b"")  # (seq, frame index, JSON)
        self._clients_lock = threading.Lock()
        self.closed = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="edgevision-serve", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # ------------------------------------------------------------------ the run loop's side (a sink)
    def write(self, out: Any) -> None:
        self.stream = out.stream
        if self.clients:
            self.publish(out.annotated())
        if self.result_clients:
            record = out.record()
            data = json.dumps(record).encode()
            with self._cond:
                self._record = (self._record[0] + 1, int(record.get("frame", 0)), data)
                self._cond.notify_all()

    def publish(self, bgr: np.ndarray) -> None:
        """Offer a new frame (BGR) to the viewers; copied, so the caller may reuse its buffer."""
        frame = bgr.copy()
        with self._cond:
            self._frame, self._seq = frame, self._seq + 1
            self._cond.notify_all()

    def close(self, completed: bool = True) -> None:
        if self.closed:
            return
        self.closed = True
        with self._cond:
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ the viewers' side (server threads)
    @contextlib.contextmanager
    def viewer(self) -> Iterator[int]:
        """Count one viewer while the block runs; yields the newest frame's seq (0: none yet)."""
        with self._clients_lock:
            self.clients += 1
        try:
            yield self._seq
        finally:
            with self._clients_lock:
                self.clients -= 1

    @contextlib.contextmanager
    def listener(self) -> Iterator[int]:
        """Count one /results listener while the block runs; yields the newest record's seq."""
        with self._clients_lock:
            self.result_clients += 1
        try:
            yield self._record[0]
        finally:
            with self._clients_lock:
                self.result_clients -= 1

    def next_record(self, after: int, timeout: float = 1.0) -> tuple[int, int, bytes | None]:
        """(seq, frame, JSON) of the newest record after ``after``, waiting up to ``timeout``; (after, 0, None) if none."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._record[0] > after or self.closed, timeout) or self.closed:
                return after, 0, None
            return self._record

    def next_jpeg(self, after: int, timeout: float = 1.0) -> tuple[int, bytes | None]:
        """(seq, JPEG) of the first frame newer than ``after``, waiting up to ``timeout``; (after, None) if none."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._seq > after or self.closed, timeout) or self.closed:
                return after, None
            seq, frame = self._seq, self._frame
        assert frame is not None  # a frame is published before _seq moves past any 'after'
        with self._encode:  # one encode per frame, whichever viewer asks first
            if self._jpeg[0] != seq:
                import cv2

                ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                self._jpeg = (seq, data.tobytes() if ok else b"")
            return self._jpeg

    def stats(self) -> dict[str, Any]:
        """What /stats returns: recent FPS and median ms per stage, counters, and what runs."""
        figures: dict[str, Any] = {"title": self.title, "viewers": self.clients}
        if self.stream is None:
            return {**figures, "frames": 0, "fps": 0.0, "latency_ms": {}, "dropped": 0, "reconnects": 0}
        src = self.stream.source
        figures.update({**self.stream.stats.recent(), "source": src.name, "dropped": src.stats.dropped,
                        "reconnects": src.stats.reconnects})
        tracking = getattr(self.stream, "tracking", None)
        if tracking is not None:  # tracks so far and, with counters, the counts per class
            figures.update(tracking.summary())
        return figures


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30  # seconds a send may block: a viewer that stopped reading loses its connection, not a thread

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        server = self.server
        with server.connections_lock:
            server.connections += 1
            over = server.connections > MAX_VIEWERS
        try:
            if over:  # a bound on threads and sockets: 50 streams or a slowloris cannot exhaust the device
                body = f"more than {MAX_VIEWERS} connections at once\n".encode()
                self.wfile.write(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
                                 + body)
                return
            super().handle()
        except (ConnectionError, TimeoutError):
            pass
        finally:
            with server.connections_lock:
                server.connections -= 1

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        view, path = self.server.view, self.path.split("?", 1)[0]
        try:
            if path in ("/", "/index.html"):
                self._send(PAGE.replace("{{title}}", html.escape(view.title)).encode(), "text/html; charset=utf-8")
            elif path == "/stats":
                self._send(json.dumps(view.stats()).encode(), "application/json")
            elif path == "/stream.mjpg":
                self._mjpeg(view)
            elif path == "/snapshot.jpg":
                self._snapshot(view)
            elif path == "/results":
                self._events(view)
            elif path == "/result":
                with view.listener() as newest:
                    _seq, _frame, record = view.next_record(newest, timeout=5.0)
                self._send(record or b"null", "application/json", 200 if record else 503)
            else:
                self._send(b"not found\n", "text/plain", 404)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):  # the viewer went away: its thread ends
            pass

    def _snapshot(self, view: LiveView) -> None:
        with view.viewer() as newest:  # the run draws frames only while someone waits for one
            _seq, data = view.next_jpeg(newest, timeout=5.0)  # a fresh frame: the last one may be old
        if data:
            self._send(data, "image/jpeg")
        else:
            self._send(b"no frame yet\n", "text/plain", 503)

    def _events(self, view: LiveView) -> None:
        """Server-sent events: the newest record whenever there is one (a slow listener skips, never stalls the run)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(b": edgevision results\n\n")  # headers and a first line out at once
        self.wfile.flush()
        with view.listener() as seq:
            while not view.closed:
                seq, frame, record = view.next_record(seq)
                if record:
                    self.wfile.write(b"event: result\nid: %d\ndata: %s\n\n" % (frame, record))
                else:
                    self.wfile.write(b": keep-alive\n\n")  # also finds a listener that went away
                self.wfile.flush()

    def _mjpeg(self, view: LiveView) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        with view.viewer() as seq:  # from the next frame drawn: the last one may be from long ago
            while not view.closed:
                seq, data = view.next_jpeg(seq)
                if data:
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}"
                                     f"\r\n\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()


# The page: the MJPEG stream in an <img>, and the figures polled from /stats twice a second.
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}} · live</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
 body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: #111; color: #eee; }
 header { padding: 8px 16px; background: #222; display: flex; gap: 16px; align-items: baseline; }
 header h1 { font-size: 16px; margin: 0; } header span { color: #aaa; }
 main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px; }
 #view { max-width: 100%; background: #000; min-width: 320px; min-height: 240px; }
 aside { min-width: 220px; } .big { font-size: 32px; font-weight: 600; }
 table { border-collapse: collapse; margin: 8px 0; } td, th { padding: 2px 10px 2px 0; text-align: left; }
 td.ms { text-align: right; font-variant-numeric: tabular-nums; } #status { color: #e88; }
</style></head>
<body>
<header><h1>{{title}}</h1><span id="source"></span></header>
<main>
 <img id="view" src="/stream.mjpg" alt="live view">
 <aside>
  <div class="big"><span id="fps">0.0</span> fps</div>
  <table><thead><tr><th>stage</th><th>median ms</th></tr></thead><tbody id="latency"></tbody></table>
  <div>frames <span id="frames">0</span> · dropped <span id="dropped">0</span>
   · reconnects <span id="reconnects">0</span></div>
  <div id="tracks"></div>
  <ul id="counts"></ul>
  <div id="status"></div>
 </aside>
</main>
<script>
const $ = (id) => document.getElementById(id);
async function poll() {
  try {
    const s = await (await fetch("/stats", {cache: "no-store"})).json();
    $("fps").textContent = s.fps.toFixed(1);
    for (const k of ["frames", "dropped", "reconnects"]) $(k).textContent = s[k];
    $("source").textContent = s.source || "";
    $("latency").innerHTML = Object.entries(s.latency_ms).map(
      ([k, v]) => `<tr><td>${k}</td><td class="ms" data-stage="${k}">${v.toFixed(2)}</td></tr>`).join("");
    $("tracks").textContent = s.tracks === undefined ? "" : `tracks ${s.tracks}`;
    const per = (o) => Object.entries(o || {}).map(([k, v]) => `${k} ${v}`).join(", ");
    const counts = s.counts || {lines: [], zones: []};
    $("counts").innerHTML = [
      ...counts.lines.map((l) => `<li data-counter="${l.name}">${l.name}: in ${l.total_in} (${per(l.in)})`
        + ` · out ${l.total_out} (${per(l.out)})</li>`),
      ...counts.zones.map((z) => `<li data-counter="${z.name}">${z.name}: ${z.total_current} inside`
        + ` (${per(z.current)}) · entered ${z.total_entered} · exited ${z.total_exited}</li>`),
    ].join("");
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = "run ended or unreachable";
  }
  setTimeout(poll, 500);
}
poll();
</script>
</body></html>
"""
