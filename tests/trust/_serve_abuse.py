"""The ``--serve`` abuse set: requests a careless client or an attacker sends to the live view, on loopback.

One real ``edgevision run ... --serve 127.0.0.1:0`` process serves the whole set; each
request is a case, classified like the others: ``success`` when the server answers as it
should (404 for a path outside its four pages, 431 for a 100 kB header, ...), ``hang``
when no answer comes within the timeout, ``crash`` when the process died,
``wrong-success`` for any other answer. The last case checks the run is still serving,
then stops it with SIGTERM: exit 0, and no traceback on its stderr.
"""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _corpus import Case, Outcome

TIMEOUT = 10.0


def request(port: int, raw: bytes, *, read: int = 65536, timeout: float = TIMEOUT) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while len(data) < read:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data and not data.startswith(b"HTTP/1.0 200") and b"multipart" not in data[:300]:
                break
        return data


def status(data: bytes) -> int:
    """The status of a response; for a request too malformed to have a version, the server answers as to
    HTTP/0.9 (a body, no status line): the code the error page gives."""
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data) or re.search(rb"Error code: (\d{3})", data)
    return int(m.group(1)) if m else 0


def get(port: int, path: str, extra: bytes = b"") -> int:
    return status(request(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode() + extra + b"\r\n"))


def _slowloris(port: int) -> str | None:
    """Ten connections trickling headers; meanwhile a plain request is answered."""
    socks = []
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        for s in socks:
            s.sendall(b"X-a: b\r\n")
        code = get(port, "/stats")
        return None if code == 200 else f"/stats answered {code} during a slowloris"
    finally:
        for s in socks:
            s.close()


def _streams(port: int) -> str | None:
    """50 MJPEG streams at once: at most 32 served (200), the rest refused (503); the view answers after."""
    socks, codes = [], []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        for s in socks:
            codes.append(status(s.recv(4096)))
    finally:
        for s in socks:
            s.close()
    served, refused = codes.count(200), codes.count(503)
    if served + refused != 50 or served > 32:
        return f"expected 50 answers, at most 32 of them streams, got {served} x 200, {refused} x 503, others {codes}"
    for _ in range(50):  # the streams' threads notice their closed sockets within a frame or two
        if get(port, "/stats") == 200:
            return None
        time.sleep(0.1)
    return "/stats not answered after the streams closed"


def _expect(code: int, fn: Callable[[int], int]) -> Callable[[int], str | None]:
    def check(port: int) -> str | None:
        got = fn(port)
        return None if got == code else f"expected HTTP {code}, got {got}"
    return check


ABUSE: dict[str, Callable[[int], str | None]] = {
    "page": _expect(200, lambda p: get(p, "/")),
    "stats": _expect(200, lambda p: get(p, "/stats")),
    "snapshot": _expect(200, lambda p: get(p, "/snapshot.jpg")),
    "path-traversal": _expect(404, lambda p: get(p, "/../../../../etc/passwd")),
    "encoded-traversal": _expect(404, lambda p: get(p, "/%2e%2e/%2e%2e/etc/passwd")),
    "double-slash": _expect(404, lambda p: get(p, "//etc/passwd")),
    "header-100-kb": _expect(431, lambda p: get(p, "/", b"X-Big: " + b"a" * 100_000 + b"\r\n")),
    "200-headers": _expect(431, lambda p: get(p, "/", b"".join(b"X-%d: y\r\n" % i for i in range(200)))),
    "url-70-kb": _expect(414, lambda p: get(p, "/" + "a" * 70_000)),
    "post": _expect(501, lambda p: status(request(p, b"POST /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"))),
    "head": _expect(501, lambda p: status(request(p, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"))),
    "http-2-preface": _expect(505, lambda p: status(request(p, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))),
    "binary-garbage": _expect(400, lambda p: status(request(p, bytes(range(1, 256)) + b"\r\n\r\n"))),
    "query-not-utf8": _expect(200, lambda p: get(p, "/stats?%ff%fe=%00")),
    "connect-and-close": lambda p: (socket.create_connection(("127.0.0.1", p), timeout=TIMEOUT).close(), None)[1],
    "slowloris": _slowloris,
    "50-streams": _streams,
}


def run_abuse(model: Path, root: Path) -> list[Outcome]:
    """Start one live run, send every ABUSE request, then stop it; an Outcome per request and one for the stop."""
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "edgevision", "run", str(model), "--source",
                             "synthetic://160x120@15?seed=4", "--serve", "127.0.0.1:0", "--quiet", "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=root)
    lines: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("live view: "):
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    outcomes = []
    try:
        if not ready.wait(60):
            raise RuntimeError(f"the live view did not start: {''.join(lines)[-800:]}")
        url = next(ln for ln in lines if ln.startswith("live view: ")).split()[-1]
        host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()  # type: ignore[union-attr]
        loop = Case("serve/loopback-by-default", ["(live run)"])
        outcomes.append(Outcome(loop, "success" if host == "127.0.0.1" else "wrong-success", None, url, ""))
        for name, check in ABUSE.items():
            case = Case(f"serve/{name}", ["(live run)"])
            if proc.poll() is not None:
                outcomes.append(Outcome(case, "crash", proc.returncode, "", "".join(lines)))
                continue
            try:
                problem = check(int(port))
                kind = "wrong-success" if problem else "success"
            except TimeoutError:
                kind, problem = "hang", f"no answer within {TIMEOUT:g} s"
            except OSError as e:
                kind, problem = ("crash" if proc.poll() is not None else "wrong-success"), str(e)
            outcomes.append(Outcome(case, kind, None, "", "", problem or ""))
    finally:
        stop = Case("serve/stops-cleanly", ["(live run)"])
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
        time.sleep(0.2)
        err = "".join(lines)
        if rc is None:
            kind = "hang"
        elif "Traceback" in err or "Exception ignored" in err:
            kind = "traceback"
        else:
            kind = "success" if rc == 0 else "crash"
        outcomes.append(Outcome(stop, kind, rc, "", err[-2000:]))
    return outcomes
