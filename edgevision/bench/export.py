"""JSON and CSV of a bench report, and writing report files safely.

A report file is written to a temporary name beside it and renamed into place,
so a reader never sees half a file; ``check_writable`` runs before the bench so
a bad path fails in a second, not after minutes of measuring.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_atomic(d / "r.csv", "a,b\\n").read_text()
    'a,b\\n'
    >>> check_writable(d / "missing" / "r.html", "--report")
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected a writable path for --report, got ... (no such directory ...)
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from .report import BenchReport, as_report
from .stats import STAT_KEYS
from .text import STAGE_ORDER

CSV_META = ("label", "status", "target", "format", "precision", "size_bytes", "backend", "runtime_version", "device",
            "threads", "input_shape", "input_dtype", "input_kind", "warmup", "runs")
CSV_FIGURES = ("stage", "n", *(f"{k}_ms" for k in STAT_KEYS), "fps_from_mean_total", "fps_wall", "fps_overlapped", "init_ms",
               "first_inference_ms", "peak_rss_mb", "governor", "compare_tool", "compare_tool_median_ms",
               "compare_ratio", "error")


def check_writable(path: str | Path, flag: str) -> Path:
    """The path, once its directory exists and takes a new file; UserInputError in one line otherwise."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    reason = None
    if path.is_dir():
        reason = "it is a directory"
    elif not parent.exists():
        reason = f"no such directory {str(parent)!r}"
    elif not parent.is_dir():
        reason = f"{str(parent)!r} is not a directory"
    else:
        try:
            with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".check"):
                pass
        except OSError as e:
            reason = f"cannot create a file in {str(parent)!r}: {e.strerror}"
    if reason:
        raise UserInputError(f"expected a writable path for {flag}, got {str(path)!r} ({reason})")
    return path


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def to_json(report: BenchReport | Mapping[str, Any], *, samples: bool = True, indent: int | None = None) -> str:
    """The report as JSON (``BenchReport.to_dict``); ``samples=False`` leaves out the per-frame latencies and raw
    device samples. A plain dict is written as it is.

    >>> to_json({"runs": []})
    '{"runs": []}'
    """
    data = report.to_dict() if isinstance(report, BenchReport) else dict(report)
    if not samples:
        data = {**data, "runs": [_without_samples(r) for r in data["runs"]]}
    return json.dumps(data, indent=indent, default=str)


def _without_samples(run: dict) -> dict:
    run = {k: v for k, v in run.items() if k != "samples_ms"}
    if "device_state" in run:
        run["device_state"] = {k: v for k, v in run["device_state"].items() if k != "raw"}
    return run


def csv_rows(report: BenchReport | Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per run and stage (a failed run: one row with its error), the run's context on every row.

    >>> csv_rows({"runs": [{"label": "coral-usb", "status": "failed", "error": {"type": "E", "message": "m"}}]})[0]["error"]
    'E: m'
    """
    rows = []
    for run in as_report(report).runs:
        m, rt, inp, c = run.model, run.runtime, run.input, run.counts
        meta = {"label": run.label, "status": run.status.value, "target": m.target, "format": m.format,
                "precision": m.precision, "size_bytes": m.size_bytes, "backend": rt.get("backend"),
                "runtime_version": rt.get("version"), "device": rt.get("device"), "threads": rt.get("threads"),
                "input_shape": "x".join(map(str, inp.shape or [])) if inp else "",
                "input_dtype": inp.dtype if inp else None, "input_kind": inp.kind.value if inp else None,
                "warmup": c.warmup if c else None, "runs": c.runs if c else None}
        if not run.ok:
            e = run.error
            rows.append({**meta, "error": f"{e.type}: {e.message}" if e else None})
            continue
        compare = run.compare or {}
        engine = compare.get("engine") or {}
        fig = run.measured()
        o = fig.fps.overlapped
        common = {"fps_from_mean_total": fig.fps.from_mean_total, "fps_wall": fig.fps.frames_per_wall_second,
                  "fps_overlapped": o.fps if o else None, "init_ms": fig.startup.init_ms,
                  "first_inference_ms": fig.startup.first_predict_ms, "peak_rss_mb": fig.memory.peak_rss_mb,
                  "governor": run.device_state.get("governor")}
        for stage in STAGE_ORDER:
            if stage in run.stages:
                s = run.stages[stage]
                rows.append({**meta, **common, "stage": stage, "n": s.n,
                             **{f"{k}_ms": getattr(s, k) for k in STAT_KEYS}})
        if fig.infer_only:  # back to back on a random tensor: the row the engine tool is compared with
            s = fig.infer_only.summary
            rows.append({**meta, **common, "stage": "infer_only", "n": s.n, "warmup": fig.infer_only.warmup,
                         **{f"{k}_ms": getattr(s, k) for k in STAT_KEYS}, "compare_tool": engine.get("tool"),
                         "compare_tool_median_ms": engine.get("median_ms"), "compare_ratio": compare.get("ratio")})
    return rows


def to_csv(report: BenchReport | Mapping[str, Any]) -> str:
    """CSV text of ``csv_rows`` with a fixed header.

    >>> to_csv({"runs": []}).split(",")[:3]
    ['label', 'status', 'target']
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*CSV_META, *CSV_FIGURES], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(report))
    return out.getvalue()
