"""Commands on a device over SSH, through the OpenSSH client (``ssh``), with host keys always checked.

Every connection runs ``ssh -o BatchMode=yes -o StrictHostKeyChecking=yes``: a host whose key
is not in known_hosts (``~/.ssh/known_hosts``, or ``known_hosts=``) or does not match it is an
error naming the host, never a prompt and never a silent accept. ``accept_new=True`` (the CLI's
``--accept-new-host-keys``) trusts a host's key on first contact and records it
(``StrictHostKeyChecking=accept-new``); a changed key is refused even then. The caller's
``ssh_config`` and agent apply as usual.

Example:
    >>> ssh = Ssh(known_hosts="fleet_known_hosts", connect_timeout=5)
    >>> ssh.command(parse_host("pi@10.0.0.21:2222"), "uname -m")[:3]
    ['ssh', '-p', '2222']
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import IO, Any

from ..errors import RemoteError, UserInputError
from .hosts import Device, parse_host  # noqa: F401 - parse_host: for the docstring example

# What ssh says on stderr (exit 255) -> what it means for the user, and what to do.
_SSH_FAILURES = (
    ("REMOTE HOST IDENTIFICATION HAS CHANGED", "its host key does not match known_hosts (changed, or another "
                                               "machine answers): check it, then fix known_hosts with ssh-keygen -R"),
    ("No ED25519 host key is known", "its host key is not in known_hosts: add it (ssh-keyscan, checked), or pass "
                                     "--accept-new-host-keys to trust it on first contact"),
    ("host key is known", "its host key is not in known_hosts: add it (ssh-keyscan, checked), or pass "
                          "--accept-new-host-keys to trust it on first contact"),
    ("Host key verification failed", "its host key is not in known_hosts or does not match it: add it "
                                     "(ssh-keyscan, checked), or pass --accept-new-host-keys to trust a new host"),
    ("Permission denied", "it refused the login: check the user and that the key is in its authorized_keys"),
    ("Connection refused", "nothing accepts SSH on that port"),
    ("Connection timed out", "it did not answer in time"),
    ("Could not resolve hostname", "the host name does not resolve"),
    ("No route to host", "there is no route to it"),
)


@dataclass(frozen=True)
class Ssh:
    """How to reach devices: known_hosts file, whether new host keys may be trusted, a default key, timeouts."""

    known_hosts: str | None = None
    accept_new: bool = False
    identity: str | None = None
    connect_timeout: float = 10.0
    program: str = "ssh"

    def command(self, device: Device, remote: str) -> list[str]:
        """The ssh command line that runs ``remote`` (a shell command line) on ``device``."""
        args = [self.program, "-p", str(device.port), "-o", "BatchMode=yes",
                "-o", f"StrictHostKeyChecking={'accept-new' if self.accept_new else 'yes'}",
                "-o", f"ConnectTimeout={max(1, round(self.connect_timeout))}", "-o", "ServerAliveInterval=5",
                "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR"]
        if self.known_hosts:
            args += ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null"]
        identity = device.identity or self.identity
        if identity:
            args += ["-i", identity, "-o", "IdentitiesOnly=yes"]
        return [*args, "--", device.destination, remote]

    def check(self) -> Ssh:
        """This ``Ssh`` when the client is installed; else a UserInputError saying how to install it."""
        if shutil.which(self.program) is None:
            raise UserInputError(f"expected the OpenSSH client ({self.program}) on PATH, got none; "
                                 f"install it (Debian: apt install openssh-client)")
        return self

    def run(self, device: Device, remote: str, *, stdin: IO[bytes] | bytes | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run ``remote`` on ``device``; RemoteError when ssh cannot connect or ``timeout`` seconds pass.

        The remote command's own exit code is the caller's to judge (``returncode``); stdout and
        stderr are bytes.
        """
        data = stdin if isinstance(stdin, bytes) else None
        source: Any = None if data is not None else (subprocess.DEVNULL if stdin is None else stdin)
        try:
            done = subprocess.run(self.command(device, remote), input=data, stdin=source, capture_output=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RemoteError(f"expected {device.name} to finish within {timeout:.0f} s, got no end "
                              f"(stopped waiting)") from None
        except OSError as e:
            raise UserInputError(f"expected to run the OpenSSH client {self.program}, got {e}") from None
        if done.returncode == 255:  # ssh's own failure: it never ran the command (or lost the connection)
            raise RemoteError(connect_error(device, done.stderr.decode("utf-8", "replace")))
        return done


def connect_error(device: Device, stderr: str) -> str:
    """One line: which device, what ssh said, and what to do about it.

    >>> connect_error(parse_host("pi@pi1 name=door"), "Connection refused\\n")
    'expected to reach door (pi@pi1:22) over SSH, got: Connection refused (nothing accepts SSH on that port)'
    """
    lines = [ln.strip().strip("@").strip() for ln in stderr.splitlines() if ln.strip().strip("@").strip()]
    said = next((ln for ln in lines if any(k in ln for k, _ in _SSH_FAILURES)), lines[-1] if lines else "exit 255")
    why = next((hint for key, hint in _SSH_FAILURES if key in stderr), None)
    where = f"{device.destination}:{device.port}"
    return f"expected to reach {device.name} ({where}) over SSH, got: {said}" + (f" ({why})" if why else "")
