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
The HTTP side (routes, streams, the page) is ``edgevision.serve_http``.

Example:
    >>> view = LiveView("127.0.0.1:0")        # port 0: any free port
    >>> view.url.startswith("http://127.0.0.1:")
    True
    >>> view.close()
"""
from __future__ import annotations

import contextlib
import errno
import json
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import UserInputError
from .serve_http import BOUNDARY as BOUNDARY  # the MJPEG part boundary, importable from here as before
from .serve_http import LiveViewServer

LOOPBACK = "127.0.0.1"


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


class LiveView:
    """The live-view HTTP server (see the module docstring); ``close()`` stops it."""

    def __init__(self, address: str | tuple[str, int], *, title: str = "edgevision", quality: int = 80) -> None:
        host, port = parse_address(address) if isinstance(address, str) else address
        try:
            self._server = LiveViewServer((host, port), self)
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
