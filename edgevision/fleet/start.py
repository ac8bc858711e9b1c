"""``edgevision fleet run``: start ``edgevision run BUNDLE --publish mqtt://...`` in the background on every device.

Per device: put the bundle there (as ``fleet bench`` does), then start the run detached from
the SSH session (``nohup``, its own session, output to a log beside the bundle) and report its
process id and log. ``{device}`` in the publish URL (or any run argument) becomes the device's
name, so each device can publish to a topic of its own. Stop one with ``ssh HOST kill PID``.

Example:
    >>> started = fleet_start("bundle/", devices, ssh=Ssh(), source="csi://0",                   # doctest: +SKIP
    ...                       publish="mqtt://broker.lan/edgevision/{device}")
    >>> [(s.device, s.pid) for s in started]                                                     # doctest: +SKIP
    [('pi5-door', 2141), ('pi4-yard', 1877)]
"""
from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import EdgeVisionError, RemoteError
from .deploy import deploy, python_call
from .digest import bundle_digest
from .hosts import Device
from .ssh import Ssh


@dataclass(frozen=True)
class Started:
    """A run started on a device (``pid``, ``log``), or the error that kept it from starting."""

    device: str
    host: str
    ok: bool
    pid: int | None = None
    log: str | None = None
    bundle: str | None = None
    copied: bool | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """``pi5-door (pi@10.0.0.21:22): started, pid 2141, log ...`` or the error."""
        if not self.ok:
            return f"{self.device} ({self.host}): error: {self.error}"
        how = "copied" if self.copied else "already there"
        return f"{self.device} ({self.host}): started, pid {self.pid}, log {self.log} (bundle {how})"


def start_command(device: Device, bundle_path: str, run_args: Sequence[str]) -> tuple[str, str]:
    """(shell command line, log path): the run, detached, its output to a log; the line prints its pid.

    >>> from edgevision.fleet.hosts import parse_host
    >>> cmd, log = start_command(parse_host("pi@pi1 name=door"), "b/x-1", ["--source", "csi://0"])
    >>> log, cmd.startswith("nohup setsid python3 -m edgevision run b/x-1 --source csi://0 --quiet")
    ('b/x-1.door.log', True)
    """
    log = f"{bundle_path}.{device.name}.log"
    args = [a.replace("{device}", device.name) for a in run_args]
    run = python_call(device, "-m", "edgevision", "run", bundle_path, *args, "--quiet")
    return f"nohup setsid {run} > {shlex.quote(log)} 2>&1 < /dev/null & echo $!", log


def start_device(ssh: Ssh, device: Device, bundle: Path, digest: str, run_args: Sequence[str], *,
                 timeout: float, settle: float = 2.0) -> Started:
    """Deploy and start on one device; ``settle`` seconds later, check the run is still alive (or show its log)."""
    host = f"{device.destination}:{device.port}"
    try:
        placed = deploy(ssh, device, bundle, timeout=timeout, digest=digest)
        command, log = start_command(device, placed.path, run_args)
        done = ssh.run(device, command, timeout=timeout)
        out = done.stdout.decode().strip().splitlines()
        if done.returncode != 0 or not out or not out[-1].isdigit():
            raise RemoteError(f"expected {device.name} to start edgevision run, got exit {done.returncode}: "
                              f"{done.stderr.decode('utf-8', 'replace').strip()[-200:]}")
        pid = int(out[-1])
        time.sleep(settle)
        q = shlex.quote
        check = ssh.run(device, f"kill -0 {pid} 2>/dev/null && echo running || tail -n 3 {q(log)}", timeout=timeout)
        said = check.stdout.decode("utf-8", "replace").strip()
        if said != "running" and "error" in said:  # it ended already, with an error (a run that finished is fine)
            raise RemoteError(f"expected edgevision run to keep running on {device.name}, got: "
                              f"{said.splitlines()[-1]}")
        return Started(device.name, host, True, pid=pid, log=log, bundle=placed.path, copied=placed.copied)
    except EdgeVisionError as e:
        return Started(device.name, host, False, error=str(e))


def fleet_start(bundle: str | Path, devices: Sequence[Device], *, ssh: Ssh, run_args: Sequence[str],
                timeout: float = 300.0, parallel: int = 8, settle: float = 2.0) -> list[Started]:
    """Start ``edgevision run BUNDLE run_args...`` on every device; one ``Started`` per device, in order."""
    bundle = Path(bundle)
    digest = bundle_digest(bundle)
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(devices)))) as pool:
        return list(pool.map(lambda d: start_device(ssh, d, bundle, digest, run_args, timeout=timeout,
                                                    settle=settle), devices))
