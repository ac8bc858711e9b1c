"""A real Mosquitto broker on a loopback port, started and stopped by the tests (Debian's ``mosquitto``).

Started as root, mosquitto drops to its own ``mosquitto`` user once its listener is open, and reads
its password file as that user: ``readable_dir()`` gives a directory it can read (pytest's are private).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def missing(what: str) -> None:
    """Skip where a server is not installed; in CI (which installs it through .ci/system-deps) fail instead."""
    message = f"{what} is not installed (sh .ci/system-deps installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {limit} s")


def readable_dir() -> Path:
    """A fresh directory under the system temp dir that other users (mosquitto's) can read."""
    d = Path(tempfile.mkdtemp(prefix="edgevision-test-broker-"))
    d.chmod(0o755)
    return d


class Broker:
    """``mosquitto -c CONF`` on 127.0.0.1:``port``; ``stop()`` kills it, ``start()`` starts it again on the same port."""

    def __init__(self, directory: Path, *, port: int | None = None, extra: str = "") -> None:
        if not Path(MOSQUITTO).exists():
            missing("mosquitto")
        self.port = port or free_port()
        self.directory = directory
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\npersistence false\nlog_dest stderr\n"
                             f"{extra or 'allow_anonymous true'}\n")
        self.proc: subprocess.Popen | None = None
        self.log = directory / "mosquitto.log"

    def start(self) -> Broker:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


class Subscriber:
    """A paho client subscribed to ``topic`` that keeps every payload; resubscribes after a reconnect."""

    def __init__(self, port: int, topic: str, **tls) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[bytes] = []
        self.topics: list[str] = []  # each message's topic, in the same order
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{port}-{id(self)}")
        if tls:
            self.client.tls_set(**tls)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the test subscriber did not subscribe"

    def _message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append(message.payload)
            self.topics.append(message.topic)

    def wait_for(self, n: int, limit: float = 20.0) -> list[bytes]:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
