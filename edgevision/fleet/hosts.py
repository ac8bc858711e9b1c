"""The devices of a fleet: ``user@host[:port]`` on the command line, or a hosts file with one device a line.

A hosts file line is a host and optional ``key=value`` settings; ``#`` starts a comment::

    # name=       the device's name in reports (default: the host as written)
    # python=     the Python that has edgevision on the device (default: python3)
    # workdir=    where bundles are kept on the device (default: .cache/edgevision/fleet, under its home)
    # identity=   the SSH private key for this device (default: ssh's own choice)
    pi@10.0.0.21            name=pi5-door  python=/home/pi/ev/.venv/bin/python
    pi@10.0.0.22:2222       name=pi4-yard
    user@nuc.lan            name=nuc-npu

Example:
    >>> d = parse_host("pi@10.0.0.21:2222 name=door python=/opt/ev/bin/python")
    >>> d.name, d.destination, d.port, d.python, d.workdir
    ('door', 'pi@10.0.0.21', 2222, '/opt/ev/bin/python', '.cache/edgevision/fleet')
    >>> parse_host("[::1]:2200").host, parse_host("nuc").name
    ('::1', 'nuc')
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..errors import UserInputError

DEFAULT_PYTHON = "python3"
DEFAULT_WORKDIR = ".cache/edgevision/fleet"
_HOST = re.compile(r"(?:(?P<user>[A-Za-z0-9._-]+)@)?(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))"
                   r"(?::(?P<port>\d{1,5}))?")
_SAFE = re.compile(r"[A-Za-z0-9_./~+-]+")  # a path given to the remote shell as is (it is also quoted)


@dataclass(frozen=True)
class Device:
    """One device of the fleet, reached over SSH."""

    name: str
    host: str
    user: str | None = None
    port: int = 22
    python: str = DEFAULT_PYTHON
    workdir: str = DEFAULT_WORKDIR
    identity: str | None = None

    @property
    def destination(self) -> str:
        """``user@host`` for ssh (the port goes in ``-p``)."""
        return f"{self.user}@{self.host}" if self.user else self.host


SETTINGS = tuple(f.name for f in fields(Device) if f.name in ("name", "python", "workdir", "identity"))


def parse_host(text: str) -> Device:
    """A ``Device`` from ``[user@]host[:port] [key=value ...]`` (a hosts-file line or a ``--host`` value)."""
    words = shlex.split(text, comments=True)
    if not words:
        raise UserInputError(f"expected a host [user@]host[:port], got {text!r}")
    match = _HOST.fullmatch(words[0])
    if not match or not 0 < int(match["port"] or 22) <= 65535:
        raise UserInputError(f"expected a host [user@]host[:port] (IPv6 in brackets), got {words[0]!r}")
    host = match["v6"] or match["name"]
    device = Device(name=words[0], host=host, user=match["user"], port=int(match["port"] or 22))
    settings: dict[str, Any] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or key not in SETTINGS or not value:
            raise UserInputError(f"expected settings key=value with a key among {', '.join(SETTINGS)} after "
                                 f"{words[0]}, got {word!r}")
        if key in ("python", "workdir") and not _SAFE.fullmatch(value):
            raise UserInputError(f"expected a plain path for {key}= (letters, digits, _ . / ~ + -), got {value!r}")
        settings[key] = value
    return replace(device, **settings)


def read_hosts(path: str | Path) -> list[Device]:
    """Every device of a hosts file (see the module docstring); names must be unique.

    >>> read_hosts("/nonexistent/hosts")
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected a hosts file, got missing path '/nonexistent/hosts'
    """
    try:
        text = Path(path).read_text()
    except OSError:
        raise UserInputError(f"expected a hosts file, got missing path {str(path)!r}") from None
    devices = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.split("#", 1)[0].strip():
            try:
                devices.append(parse_host(line))
            except UserInputError as e:
                raise UserInputError(f"{path}:{number}: {e}") from None
    return devices


def check_unique(devices: list[Device]) -> list[Device]:
    """``devices`` when they have distinct names and there is at least one; else a UserInputError."""
    if not devices:
        raise UserInputError("expected at least one device (--host user@host or --hosts FILE), got none")
    names = [d.name for d in devices]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserInputError(f"expected distinct device names, got {', '.join(repeated)} more than once "
                             f"(set name= in the hosts file)")
    return devices
