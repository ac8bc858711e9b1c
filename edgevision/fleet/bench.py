"""``edgevision bench --json`` on every device of a fleet, in parallel, each within its own timeout.

Per device: put the bundle there (``deploy``: skipped when the same digest is there), run
``python -m edgevision bench DIR --json [options]`` over SSH, read its JSON back as a
``BenchReport``. Whatever stops a device (no route, a refused host key or login, no edgevision
on its Python, its timeout, a bench that printed no report) becomes that device's row with the
error; the other devices go on.

Example:
    >>> devices = [parse_host("pi@pi1 name=pi5"), parse_host("pi@pi2 name=pi4")]           # doctest: +SKIP
    >>> report = fleet_bench("bundle/", devices, ssh=Ssh(), bench_args=["--runs", "200"])  # doctest: +SKIP
    >>> [(d.device, d.ok) for d in report.devices]                                         # doctest: +SKIP
    [('pi5', True), ('pi4', False)]
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from ..bench.report import BenchReport
from ..bench.sections import RunError
from ..errors import EdgeVisionError, RemoteError
from .deploy import Placed, deploy, python_call
from .digest import bundle_digest
from .hosts import Device, parse_host  # noqa: F401 - parse_host: for the docstring example
from .report import DeviceRun, FleetReport
from .ssh import Ssh

DEFAULT_TIMEOUT_S = 600.0


def _bundle_section(placed: Placed | None) -> dict:
    if placed is None:
        return {}
    return {"path": placed.path, "digest": placed.digest, "copied": placed.copied, "copy_seconds": placed.seconds}


def bench_device(ssh: Ssh, device: Device, bundle: Path, digest: str, bench_args: Sequence[str], *,
                 timeout: float = DEFAULT_TIMEOUT_S) -> DeviceRun:
    """One device's row: deploy, bench, parse; any failure is the row's error, never an exception."""
    t0 = time.monotonic()
    placed: Placed | None = None
    try:
        placed = deploy(ssh, device, bundle, timeout=timeout, digest=digest)
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            raise RemoteError(f"expected {device.name} to finish within {timeout:.0f} s, got the copy alone "
                              f"taking that long")
        done = ssh.run(device, python_call(device, "-m", "edgevision", "bench", placed.path, "--json",
                                           "--no-progress", *bench_args), timeout=left)
        out = done.stdout.decode("utf-8", "replace").strip()
        try:
            report = BenchReport.from_dict(json.loads(out))
        except (ValueError, EdgeVisionError):
            err = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RemoteError(f"expected edgevision bench on {device.name} to print its report, got exit "
                              f"{done.returncode}: {err[-1] if err else out[-200:] or 'no output'}") from None
        return DeviceRun(device=device.name, host=f"{device.destination}:{device.port}", ok=True,
                         seconds=round(time.monotonic() - t0, 3), report=report, bundle=_bundle_section(placed))
    except EdgeVisionError as e:
        return DeviceRun.failed(device.name, f"{device.destination}:{device.port}",
                                RunError(type(e).__name__, str(e), e.exit_code), round(time.monotonic() - t0, 3),
                                _bundle_section(placed))


def fleet_bench(bundle: str | Path, devices: Sequence[Device], *, ssh: Ssh, bench_args: Sequence[str] = (),
                timeout: float = DEFAULT_TIMEOUT_S, parallel: int = 8, command: Sequence[str] | None = None,
                on_done: Callable[[DeviceRun], None] | None = None) -> FleetReport:
    """Bench ``bundle`` on every device (``parallel`` at a time, each within ``timeout`` s): one ``FleetReport``."""
    bundle = Path(bundle)
    digest = bundle_digest(bundle)

    def one(device: Device) -> DeviceRun:
        row = bench_device(ssh, device, bundle, digest, bench_args, timeout=timeout)
        if on_done is not None:
            on_done(row)
        return row

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(devices)))) as pool:
        rows = list(pool.map(one, devices))  # in the order given, whichever finishes first
    return FleetReport(devices=tuple(rows), bundle=bundle.resolve().name, digest=digest,
                       created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       command=tuple(command) if command else None)
