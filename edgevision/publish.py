"""``--publish mqtt://[user@]host[:port]/topic``: each frame's JSON record to an MQTT broker, never in the way.

``MqttPublisher`` is a sink (``write(out)`` / ``close()``) around paho-mqtt. The run
loop only appends the frame's record to a bounded queue; a sender thread of its
own hands records to paho while the broker is connected, at most ``max_inflight``
unconfirmed at a time. When the broker is slow or gone the queue fills and the
**oldest** record is dropped and counted, so inference never waits on the network
and the newest results go out first once it is back. paho's network thread
reconnects with exponential backoff (``reconnect_min_s`` doubling to
``reconnect_max_s``).

Each message is exactly the JSON line ``edgevision run --json`` prints for the
frame. With ``on_change=True`` a record goes out only when what it shows changes
(the top class, the count per label, the classes in a mask; or the tracker's
``counts`` / ``tracks`` when the record carries them): ``edgevision.changes``.

QoS 0 or 1; TLS (``mqtts://``, or ``tls=True``) with an optional CA file and client
certificate; a user name in the URL and the password from the environment
(``password_env``), never printed. ``{hostname}`` in the topic becomes this
machine's host name (``edgevision.mqtt_url``).

Example:
    >>> target = parse_mqtt_url("mqtt://cam@broker.local/edgevision/{hostname}/results")
    >>> target.host, target.port, target.username, target.tls
    ('broker.local', 1883, 'cam', False)
    >>> parse_mqtt_url("mqtts://broker.local:8884/t").port
    8884
    >>> pub = MqttPublisher("mqtt://127.0.0.1:1883/edgevision", qos=1)   # doctest: +SKIP
    >>> run_sinks(model.stream("csi://0"), [pub]); pub.stats()          # doctest: +SKIP
    {'published': 1200, 'dropped': 0, 'reconnects': 0, ...}
"""
from __future__ import annotations

import collections
import json
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from .changes import change_key
from .errors import BackendUnavailableError, UserInputError
from .mqtt_url import MqttTarget, parse_mqtt_url


def _paho() -> Any:
    try:
        import paho.mqtt.client as mqtt
    except ModuleNotFoundError:
        raise BackendUnavailableError("expected paho-mqtt for --publish (pip install 'edgevision[mqtt]'), "
                                      "got no module named 'paho'") from None
    return mqtt


class MqttPublisher:
    """A sink that publishes each frame's record to MQTT from a thread of its own (see the module docstring).

    ``connect_timeout``: how long the constructor waits for the first connection. A
    broker that refuses the credentials is a ``UserInputError`` then; one that is not
    reachable yet is reported through ``on_event`` and tried again in the background.
    """

    def __init__(self, url: str, *, qos: int = 0, on_change: bool = False, queue_size: int = 256,
                 max_inflight: int = 32, tls: bool | None = None, ca_file: str | None = None,
                 cert_file: str | None = None, key_file: str | None = None, password_env: str | None = None,
                 client_id: str | None = None, keepalive: int = 30, reconnect_min_s: float = 0.5,
                 reconnect_max_s: float = 30.0, connect_timeout: float = 5.0, flush_timeout: float = 5.0,
                 on_event: Callable[[str], None] | None = None) -> None:
        if qos not in (0, 1):
            raise UserInputError(f"expected an MQTT QoS of 0 or 1, got {qos!r}")
        if queue_size < 1 or max_inflight < 1:
            raise UserInputError(f"expected a positive queue size and in-flight window, got {queue_size}, "
                                 f"{max_inflight}")
        self.target = parse_mqtt_url(url)
        if tls or ca_file or cert_file:
            self.target = MqttTarget(**{**self.target.__dict__, "tls": True})
        self.qos, self.on_change, self.flush_timeout = qos, on_change, flush_timeout
        self.max_inflight = max_inflight
        self._event = on_event or (lambda message: None)
        self._queue: collections.deque[bytes] = collections.deque(maxlen=queue_size)
        self._cond = threading.Condition()
        self._connected = False
        self._closing = False
        self._pending = 0  # handed to paho, not yet confirmed (QoS 1: PUBACK; QoS 0: written to the socket)
        self._last_key: Any = object()
        self.counts = {"frames": 0, "queued": 0, "skipped_unchanged": 0, "published": 0, "dropped": 0,
                       "lost": 0, "connects": 0, "disconnects": 0}
        self.last_error: str | None = None
        self._refused: str | None = None
        self._client = self._make_client(_paho(), client_id=client_id, ca_file=ca_file, cert_file=cert_file,
                                         key_file=key_file, password_env=password_env,
                                         reconnect=(reconnect_min_s, reconnect_max_s))
        self._start(keepalive, connect_timeout)
        self._sender = threading.Thread(target=self._send_loop, name="edgevision-mqtt-send", daemon=True)
        self._sender.start()

    # ------------------------------------------------------------------ set-up
    def _make_client(self, mqtt: Any, *, client_id: str | None, ca_file: str | None, cert_file: str | None,
                     key_file: str | None, password_env: str | None, reconnect: tuple[float, float]) -> Any:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"edgevision-{os.getpid()}",
                             protocol=mqtt.MQTTv311)
        if self.target.username:
            password = None
            if password_env:
                password = os.environ.get(password_env)
                if password is None:
                    raise UserInputError(f"expected the MQTT password in ${password_env}, got no such variable")
            client.username_pw_set(self.target.username, password)
        elif password_env:
            raise UserInputError("expected a user name in the --publish URL (mqtt://user@host/topic) with "
                                 "--mqtt-password-env, got none")
        if self.target.tls:
            for flag, path in (("CA file", ca_file), ("certificate", cert_file), ("key", key_file)):
                if path and not os.path.isfile(path):
                    raise UserInputError(f"expected an MQTT TLS {flag} file, got missing path {path!r}")
            try:
                client.tls_set(ca_certs=ca_file, certfile=cert_file, keyfile=key_file)
            except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
                raise UserInputError(f"expected usable MQTT TLS files, got: {e}") from None
        client.reconnect_delay_set(min_delay=max(1, round(reconnect[0])), max_delay=max(1, round(reconnect[1])))
        client.max_inflight_messages_set(self.max_inflight)
        client.on_connect, client.on_disconnect, client.on_publish = self._on_connect, self._on_disconnect, \
            self._on_publish
        return client

    def _start(self, keepalive: int, connect_timeout: float) -> None:
        try:
            self._client.connect_async(self.target.host, self.target.port, keepalive=keepalive)
        except (OSError, ValueError) as e:
            raise UserInputError(f"expected an MQTT broker address, got {self.target.url()}: {e}") from None
        self._client.loop_start()  # paho's network thread: connects, reconnects with backoff, sends
        with self._cond:
            self._cond.wait_for(lambda: self._connected or self._refused is not None, connect_timeout)
            refused, connected = self._refused, self._connected
        if refused is not None:
            self._client.loop_stop()
            raise UserInputError(f"expected the MQTT broker {self.target.url()} to accept this client, got "
                                 f"'{refused}'")
        if not connected:
            self._event(f"MQTT broker {self.target.url()} not reachable yet ({self.last_error or 'no answer'}); "
                        f"results are queued (newest {self._queue.maxlen}) and it is tried again with backoff")

    # ------------------------------------------------------------------ paho's thread
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        with self._cond:
            if reason.is_failure:
                self.last_error = str(reason)
                if reason.value in (0x84, 0x86, 0x87, 0x8C, 4, 5):  # bad credentials / not authorised
                    self._refused = str(reason)
                self._cond.notify_all()
                return
            self.counts["connects"] += 1
            if self.qos == 0:  # paho drops unsent QoS 0 packets on a new connection
                self.counts["lost"] += self._pending
                self._pending = 0
            self._connected = True
            self._cond.notify_all()
        if self.counts["connects"] > 1:
            self._event(f"MQTT broker {self.target.url()} reconnected")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any = None) -> None:
        with self._cond:
            was = self._connected
            self._connected = False
            self.last_error = str(reason)
            if was:
                self.counts["disconnects"] += 1
            self._cond.notify_all()
        if was and not self._closing:
            self._event(f"MQTT broker {self.target.url()} disconnected ({reason}); reconnecting with backoff")

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any = None, properties: Any = None) -> None:
        with self._cond:
            self._pending = max(0, self._pending - 1)
            self.counts["published"] += 1
            self._cond.notify_all()

    # ------------------------------------------------------------------ the sender thread
    def _ready(self) -> bool:
        return self._closing or (self._connected and bool(self._queue) and self._pending < self.max_inflight)

    def _send_loop(self) -> None:
        ok = _paho().MQTT_ERR_SUCCESS
        while True:
            with self._cond:
                self._cond.wait_for(self._ready)
                if not (self._connected and self._queue and self._pending < self.max_inflight):
                    if self._closing:
                        return
                    continue
                payload = self._queue.popleft()
                self._pending += 1
            info = self._client.publish(self.target.topic, payload, qos=self.qos)
            if info.rc != ok:  # the connection dropped between the check and the call: keep it, newest first
                with self._cond:
                    self._pending = max(0, self._pending - 1)
                    if len(self._queue) < (self._queue.maxlen or 0):
                        self._queue.appendleft(payload)
                    else:
                        self.counts["dropped"] += 1
                    self._connected = self._connected and info.rc != _paho().MQTT_ERR_NO_CONN
                    self._cond.wait(0.05)

    # ------------------------------------------------------------------ the run loop's side (a sink)
    def publish(self, record: dict[str, Any]) -> None:
        """Queue one record (dropping the oldest queued one when full); returns at once."""
        self.counts["frames"] += 1
        if self.on_change:
            key = change_key(record)
            if key == self._last_key:
                self.counts["skipped_unchanged"] += 1
                return
            self._last_key = key
        payload = json.dumps(record).encode()
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.counts["dropped"] += 1  # deque(maxlen) drops the oldest on append
            self._queue.append(payload)
            self.counts["queued"] += 1
            self._cond.notify_all()

    def write(self, out: Any) -> None:
        self.publish(out.record())

    def close(self, completed: bool = True) -> None:
        """Send what is queued for up to ``flush_timeout`` seconds, then disconnect; what is left is counted."""
        if self._closing:
            return
        deadline = time.monotonic() + (self.flush_timeout if completed else 0.0)
        with self._cond:
            self._cond.wait_for(lambda: not self._queue and not self._pending, max(0.0, deadline - time.monotonic()))
            self._closing = True
            self.counts["unsent"] = len(self._queue) + self._pending
            self._cond.notify_all()
        self._sender.join(timeout=5)
        self._client.disconnect()
        self._client.loop_stop()

    def stats(self) -> dict[str, Any]:
        """Counters for the run's summary: frames seen, queued, published, dropped (queue full), lost, reconnects."""
        with self._cond:
            counts = dict(self.counts)
            connected, backlog = self._connected, len(self._queue)
        return {"url": self.target.url(), "qos": self.qos, "on_change": self.on_change, "connected": connected,
                "backlog": backlog, **counts, "reconnects": max(0, counts["connects"] - 1)}
