"""What a figure was measured on: the host, the runtime versions, load, and the process's memory.

Example:
    >>> mem = memory_now()
    >>> mem["rss_mb"] is None or mem["rss_mb"] > 0
    True
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any

# Besides the runtimes' own (the catalogue's), distributions whose versions a reader needs beside a figure.
OTHER_DISTRIBUTIONS = ("numpy", "opencv-python-headless", "opencv-python")


def runtime_distributions() -> tuple[str, ...]:
    """Every distribution whose version is reported, if installed: the runtimes', then numpy and OpenCV.

    >>> runtime_distributions()[:2]
    ('ai-edge-litert', 'tflite-runtime')
    """
    from ..targets.catalogue import BACKENDS

    return tuple(dict.fromkeys([d for spec in BACKENDS.values() for d in spec.distributions] + list(OTHER_DISTRIBUTIONS)))


def versions() -> dict[str, str]:
    """{distribution: version} for Python, edgevision and every installed runtime it can use.

    >>> sorted(versions())[:2]  # doctest: +SKIP
    ['ai-edge-litert', 'edgevision']
    """
    from .. import __version__

    out = {"python": platform.python_version(), "edgevision": __version__}
    for dist in runtime_distributions():
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def cpu_name(root: Path = Path("/")) -> str:
    """The CPU model from /proc/cpuinfo (x86 "model name"; a Raspberry Pi's "Model"), else the platform's.

    >>> isinstance(cpu_name(), str)
    True
    """
    try:
        lines = (root / "proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    fields: dict[str, str] = {}
    for line in lines:
        if ":" in line:
            key, value = line.split(":", 1)
            fields.setdefault(key.strip().lower(), value.strip())
    for key in ("model name", "model", "hardware"):
        if fields.get(key) and not fields[key].isdigit():
            return fields[key]
    return platform.processor() or platform.machine()


def load_average() -> float | None:
    """The 1-minute load average: other processes competing for the cores skew every figure.

    >>> load_average() is None or load_average() >= 0
    True
    """
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def host_info() -> dict[str, Any]:
    """The machine and software a bench ran on.

    >>> host_info()["cores_usable"] >= 1
    True
    """
    from ..backends.base import default_threads

    return {"cpu": cpu_name(), "machine": platform.machine(), "system": f"{platform.system()} {platform.release()}",
            "cores_usable": default_threads(), "cores_total": os.cpu_count(), "versions": versions()}


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_now() -> dict[str, float | None]:
    """Resident memory of this process in MB: now (/proc/self/status VmRSS) and its peak so far.

    The peak is ``getrusage(RUSAGE_SELF).ru_maxrss`` (kilobytes on Linux, bytes on macOS);
    it never goes down, so in a matrix it is the peak of every row run so far.
    """
    rss_kb = _status_kb("VmRSS")
    peak_mb: float | None = None
    try:
        import resource

        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mb = maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024
    except (ImportError, OSError):  # Windows has no resource module
        hwm = _status_kb("VmHWM")
        peak_mb = hwm / 1024 if hwm else None
    return {"rss_mb": round(rss_kb / 1024, 1) if rss_kb else None,
            "peak_rss_mb": round(peak_mb, 1) if peak_mb else None}
