"""The live view's HTTP side: its routes, the MJPEG and server-sent-event streams, and the page.

``LiveViewServer`` is the standard library's threading server for one ``LiveView``
(``edgevision.serve``); ``LiveViewHandler`` answers ``/``, ``/stats``, ``/stream.mjpg``,
``/snapshot.jpg``, ``/results`` and ``/result`` from that view's newest frame and record,
and refuses connections beyond ``MAX_VIEWERS`` with 503.

Example:
    >>> import json, urllib.request
    >>> from edgevision.serve import LiveView
    >>> view = LiveView("127.0.0.1:0")
    >>> with urllib.request.urlopen(view.url + "stats", timeout=10) as r:
    ...     json.load(r)["frames"]
    0
    >>> view.close()
"""
from __future__ import annotations

import html
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .limits import MAX_VIEWERS

if TYPE_CHECKING:
    from .serve import LiveView

BOUNDARY = "edgevisionframe"


class LiveViewServer(ThreadingHTTPServer):
    """The standard library's threading HTTP server, bound to one ``LiveView``, counting open connections."""

    daemon_threads = True  # a viewer's connection never keeps the process alive

    def __init__(self, address: tuple[str, int], view: LiveView) -> None:
        self.view = view
        self.connections = 0  # open now; above MAX_VIEWERS a connection gets 503 and is closed
        self.connections_lock = threading.Lock()
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, LiveViewHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A viewer that resets or times out is no fault of the run; anything else is one line, not a traceback."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            print(f"edgevision: live view: request from {client_address[0]} failed: {type(error).__name__}: {error}",
                  file=sys.stderr, flush=True)


class LiveViewHandler(BaseHTTPRequestHandler):
    """One connection: the routes, with MJPEG and server-sent events streamed from the view."""

    server: LiveViewServer
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
