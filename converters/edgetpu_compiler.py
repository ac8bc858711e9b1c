"""Run ``edgetpu_compiler`` when it is on PATH, and read its output into plain data.

The compiler is not on any registry this project installs from and runs only on
x86-64 Linux, so it is looked up, never installed. Its console output (``-s``) and
its ``<name>_edgetpu.log`` share one format; an example from a real run
(google-coral/edgetpu#433, #342, compiler 16.0.384591198)::

    Edge TPU Compiler version 16.0.384591198
    ...
    On-chip memory used for caching model parameters: 80.00KiB
    On-chip memory remaining for caching model parameters: 6.04MiB
    Off-chip memory used for streaming uncached model parameters: 0.00B
    Number of Edge TPU subgraphs: 1
    Total number of operations: 191
    ...
    Operator                       Count      Status

    TRANSPOSE                      70         Operation not supported
    QUANTIZE                       1          Mapped to Edge TPU

Example:
    >>> parse_compiler_log("Edge TPU Compiler version 16.0.384591198\\nNumber of Edge TPU subgraphs: 1")
    {'version': '16.0.384591198', 'subgraphs': 1, 'operators': []}
"""
from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConversionError

COMPILER = "edgetpu_compiler"
# From coral.ai/docs/edgetpu/compiler/#system-requirements (the apt repository Google publishes).
INSTALL = "\n".join([
    "curl https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo apt-key add -",
    'echo "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main" | '
    "sudo tee /etc/apt/sources.list.d/coral-edgetpu.list",
    "sudo apt-get update",
    "sudo apt-get install edgetpu-compiler",
])
_FIELDS: dict[str, tuple[str, Any]] = {  # key -> (pattern, kind: str, int or "size")
    "version": (r"Edge TPU Compiler version (\S+)", str),
    "on_chip_memory": (r"On-chip memory used for caching model parameters: (\S+)", "size"),
    "on_chip_memory_remaining": (r"On-chip memory remaining for caching model parameters: (\S+)", "size"),
    "off_chip_memory": (r"Off-chip memory used for streaming uncached model parameters: (\S+)", "size"),
    "subgraphs": (r"Number of Edge TPU subgraphs: (\d+)", int),
    "total_ops": (r"Total number of operations: (\d+)", int),
    "ops_on_edgetpu": (r"Number of operations that will run on Edge TPU: (\d+)", int),
    "ops_on_cpu": (r"Number of operations that will run on CPU: (\d+)", int),
}
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3}
_HEADER = re.compile(r"^\s*Operator\s+Count\s+Status\s*$")
_ROW = re.compile(r"^\s*(\S+)\s+(\d+)\s+(\S.*?)\s*$")


def find_compiler() -> str | None:
    """The path of ``edgetpu_compiler`` on PATH, or None.

    Example:
        >>> find_compiler() is None or find_compiler().endswith("edgetpu_compiler")
        True
    """
    return shutil.which(COMPILER)


def install_hint() -> str:
    """How to get the compiler, for this host: the apt commands on x86-64 Linux, else where to run them."""
    if sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64"):
        return INSTALL
    return (f"edgetpu_compiler runs only on x86-64 Linux (this host: {sys.platform} {platform.machine()}); on such "
            "a host run:\n" + INSTALL)


def _size(text: str) -> dict[str, Any]:
    m = re.fullmatch(r"([\d.]+)(B|KiB|MiB|GiB)", text)
    return {"text": text, "bytes": round(float(m.group(1)) * _UNITS[m.group(2)]) if m else None}


def parse_compiler_log(text: str) -> dict[str, Any]:
    """The facts in ``edgetpu_compiler`` output or in its ``_edgetpu.log``, as a dict.

    Keys present when the text has them: version, on_chip_memory / off_chip_memory
    ({"text", "bytes"}), subgraphs, total_ops, ops_on_edgetpu, ops_on_cpu; always
    ``operators``: the "Operator Count Status" rows as {op, count, status}. When
    every op maps the compiler omits the per-device counts: they are then summed
    from the rows.

    Example:
        >>> parse_compiler_log("Operator  Count  Status\\n\\nCONV_2D  2  Mapped to Edge TPU")["operators"]
        [{'op': 'CONV_2D', 'count': 2, 'status': 'Mapped to Edge TPU'}]
    """
    out: dict[str, Any] = {}
    for key, (pattern, kind) in _FIELDS.items():
        m = re.search(pattern, text)
        if m:
            out[key] = _size(m.group(1)) if kind == "size" else kind(m.group(1))
    rows: list[dict[str, Any]] = []
    in_table = False
    for line in text.splitlines():
        if _HEADER.match(line):
            in_table, rows = True, []  # console output and log both hold the table: keep the last one
            continue
        if in_table and line.strip():
            m = _ROW.match(line)
            if not m:
                in_table = False
                continue
            rows.append({"op": m.group(1), "count": int(m.group(2)), "status": m.group(3)})
    out["operators"] = rows
    if rows and "total_ops" in out and "ops_on_edgetpu" not in out:
        mapped = sum(r["count"] for r in rows if r["status"].startswith("Mapped to Edge TPU"))
        out["ops_on_edgetpu"], out["ops_on_cpu"] = mapped, out["total_ops"] - mapped
    return out


def run_compiler(exe: str, tflite: Path, outdir: Path, args: Sequence[str] = (), *,
                 timeout: float = 600.0) -> dict[str, Any]:
    """Compile ``tflite`` into ``outdir`` and return the parsed result (plus ``file`` and ``log_file`` paths).

    Raises :class:`ConversionError` when the compiler fails, times out, or writes no
    ``<stem>_edgetpu.tflite``; never installs anything.

    Example:
        >>> r = run_compiler("/usr/bin/edgetpu_compiler", Path("m.tflite"), Path("out"))   # doctest: +SKIP
        >>> r["file"].name, r["subgraphs"]                                                   # doctest: +SKIP
        ('m_edgetpu.tflite', 1)
    """
    cmd = [exe, "-s", "-o", str(outdir), *args, str(tflite)]
    shown = [COMPILER, "-s", "-o", "<outdir>", *args, tflite.name]  # no host paths in the manifest
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise ConversionError(f"expected {COMPILER} to finish within {timeout:.0f} s, got a timeout "
                              f"compiling {tflite.name}") from None
    except OSError as e:
        raise ConversionError(f"expected to run {exe}, got {e.strerror or e}") from None
    file = outdir / f"{tflite.stem}_edgetpu.tflite"
    log_file = outdir / f"{tflite.stem}_edgetpu.log"
    if proc.returncode != 0 or not file.is_file():
        lines = [ln.strip() for ln in (proc.stderr + "\n" + proc.stdout).splitlines() if ln.strip()]
        said = next((ln for ln in lines if "error" in ln.lower() or "invalid" in ln.lower()),
                    lines[-1] if lines else "")
        raise ConversionError(f"expected {COMPILER} to write {file.name}, got exit code {proc.returncode}"
                              + (f": {said}" if said else ""))
    log_text = log_file.read_text(errors="replace") if log_file.is_file() else ""
    parsed = parse_compiler_log(proc.stdout + "\n" + log_text)  # the log's table, when present, comes last
    return {"found": True, "command": shown, "returncode": proc.returncode, **parsed, "file": file,
            "log_file": log_file if log_file.is_file() else None}
