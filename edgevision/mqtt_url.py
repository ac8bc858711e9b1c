"""``mqtt://[user@]host[:port]/topic``: where ``--publish`` sends results, parsed and checked before any connection.

``mqtts://`` means TLS (port 8883 unless given); a user name may be in the URL, a
password never is (it would show in ``ps`` and shell history: ``--mqtt-password-env``
names the variable that holds it). ``{hostname}`` in the topic becomes this machine's
host name. ``edgevision fleet start`` checks its ``--publish`` URL here too.

Example:
    >>> target = parse_mqtt_url("mqtt://cam@broker.local/edgevision/results")
    >>> target.host, target.port, target.topic, target.url()
    ('broker.local', 1883, 'edgevision/results', 'mqtt://cam@broker.local:1883/edgevision/results')
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .errors import UserInputError

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class MqttTarget:
    """Where to publish: broker, port, topic, user (the password is never part of it), TLS."""

    host: str
    port: int
    topic: str
    username: str | None = None
    tls: bool = False

    def url(self) -> str:
        """The URL without a password, for messages."""
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}/{self.topic}"


def parse_mqtt_url(url: str) -> MqttTarget:
    """``mqtt://[user@]host[:port]/topic`` (or ``mqtts://`` for TLS, port 8883) as an ``MqttTarget``.

    A password in the URL is refused: it would show in ``ps`` and shell history (use
    ``password_env``).

    >>> parse_mqtt_url("mqtt://broker/")
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected --publish mqtt://[user@]host[:port]/topic with a topic (no wildcards + #), got 'mqtt://broker/'
    """
    form = "mqtt://[user@]host[:port]/topic"
    parts = urlsplit(str(url))
    if parts.scheme not in DEFAULT_PORTS:
        raise UserInputError(f"expected --publish {form} (or mqtts:// for TLS), got {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise UserInputError(f"expected --publish {form} with a port 1-65535, got {url!r}") from None
    if not parts.hostname:
        raise UserInputError(f"expected --publish {form} with a broker host, got {url!r}")
    if parts.password is not None:
        raise UserInputError("expected the MQTT password in an environment variable (--mqtt-password-env), got one "
                             "in the --publish URL, where ps and shell history show it")
    topic = unquote(parts.path.lstrip("/"))
    if not topic or any(c in str(url) for c in "?#") or any(c in topic for c in "+\0"):
        raise UserInputError(f"expected --publish {form} with a topic (no wildcards + #), got {url!r}")
    topic = topic.replace("{hostname}", socket.gethostname())
    return MqttTarget(parts.hostname, port, topic, unquote(parts.username) if parts.username else None,
                      parts.scheme == "mqtts")
