"""Bench every artifact of a bundle this machine can run (or the targets asked for), one row each.

A row that fails keeps its error and the next row still runs. Targets this
machine cannot run (an Edge TPU artifact with no Edge TPU) are listed as
skipped with the reason, unless asked for by name, in which case they are run
and fail with the runtime's own error.

Example:
    >>> report = bench_matrix("bundle/", config=BenchConfig(runs=50))   # doctest: +SKIP
    >>> [(r.label, r.status.value) for r in report.runs]               # doctest: +SKIP
    [('cpu', 'ok'), ('intel-cpu', 'ok')]
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import EdgeVisionError, ManifestError
from .config import DEFAULT_CONFIG
from .report import SCHEMA, BenchReport, BenchRun, as_run, report_warnings
from .runner import BenchConfig, Progress, run_bench
from .sections import Host, ModelInfo, RunError, SkippedTarget
from .system import host_info

__all__ = ["SCHEMA", "artifact_meta", "bench_matrix", "failed_row", "make_report", "plan_matrix"]
# What a runtime raises for a model it cannot run, besides our typed errors: caught per row, named in it.
RUNTIME_ERRORS = (RuntimeError, ValueError, OSError, MemoryError)


def plan_matrix(bundle: str | Path, targets: Sequence[str] | None = None) -> tuple[Any, list[str], list[dict]]:
    """(manifest, target ids to run, [{"target", "reason"} skipped]).

    >>> plan_matrix("bundle/", ["rpi9"])  # doctest: +SKIP
    Traceback (most recent call last):
    edgevision.errors.ManifestError: expected targets among cpu, intel-cpu in the bundle, got 'rpi9'
    """
    from ..bundle import read_manifest
    from ..targets import load_target

    manifest = read_manifest(bundle)
    if targets:
        missing = [t for t in targets if t not in manifest.artifacts]
        if missing:
            raise ManifestError(f"expected targets among {', '.join(manifest.artifacts)} in the bundle, "
                                f"got {', '.join(repr(t) for t in missing)}")
        return manifest, list(dict.fromkeys(targets)), []
    run, skipped = [], []
    for target_id in manifest.artifacts:
        try:
            ok, reason = load_target(target_id).can_run_here()
        except EdgeVisionError as e:  # a target id the bundle names but no profile describes
            ok, reason = False, str(e)
        if ok:
            run.append(target_id)
        else:
            skipped.append({"target": target_id, "format": manifest.artifacts[target_id].format, "reason": reason})
    return manifest, run, skipped


def artifact_meta(manifest: Any, target_id: str) -> dict[str, Any]:
    """What the manifest says of one artifact: format, precision, size (an IR's .bin included), fidelity."""
    art = manifest.artifacts[target_id]
    size = (art.size or 0) + int((art.weights or {}).get("size", 0))
    return {"target": target_id, "format": art.format, "precision": art.precision, "size_bytes": size or None,
            "fidelity": dict(art.fidelity) or None}


def failed_row(label: str, error: BaseException, meta: dict | None = None) -> BenchRun:
    """A row for a target that failed: its error in one line, and its exit code for the CLI.

    >>> row = failed_row("coral-usb", RuntimeError("no Edge TPU\\n found"), {"format": "edgetpu-tflite"})
    >>> row.status.value, row.error.message, row.error.exit_code
    ('failed', 'no Edge TPU found', 1)
    """
    code = error.exit_code if isinstance(error, EdgeVisionError) else 1
    message = " ".join(str(error).split()) or type(error).__name__
    return BenchRun.failed(label, RunError(type=type(error).__name__, message=message, exit_code=code),
                           ModelInfo.from_dict(dict(meta or {})))


def bench_matrix(bundle: str | Path, *, config: BenchConfig = DEFAULT_CONFIG, targets: Sequence[str] | None = None,
                 threads: int | None = None, loader: Callable[[str], Any] | None = None,
                 progress: Callable[[str], Progress | None] | None = None) -> BenchReport:
    """The bench report for a bundle: one run per target (see ``make_report``).

    ``loader(target_id)`` loads one artifact (default: ``edgevision.load(bundle, target=..., threads=...)``);
    ``progress(label)`` returns the progress callback for that row.
    """
    from ..loading import load

    manifest, to_run, skipped = plan_matrix(bundle, targets)
    if not to_run:
        reasons = "; ".join(f"{s['target']}: {s['reason']}" for s in skipped)
        raise ManifestError(f"expected an artifact this machine can run in the bundle, got none ({reasons})")
    load_one = loader or (lambda t: load(bundle, target=t, threads=threads))
    runs = []
    for target_id in to_run:
        meta = artifact_meta(manifest, target_id)
        try:
            runs.append(run_bench(functools.partial(load_one, target_id), config, label=target_id, meta=meta,
                                  progress=progress(target_id) if progress else None))
        except (EdgeVisionError, *RUNTIME_ERRORS) as e:
            runs.append(failed_row(target_id, e, meta))
    return make_report(runs, config, skipped=skipped, bundle=str(bundle))


def make_report(runs: Sequence[BenchRun | Mapping[str, Any]], config: BenchConfig, *,
                skipped: Sequence[SkippedTarget | Mapping[str, Any]] = (), bundle: str | None = None,
                command: Sequence[str] | None = None) -> BenchReport:
    """The whole report: host, config, one entry per run, skipped targets, all warnings.

    >>> make_report([], BenchConfig(runs=5)).schema
    'edgevision.bench/1'
    """
    typed = tuple(as_run(r) for r in runs)
    return BenchReport(
        runs=typed,
        skipped=tuple(s if isinstance(s, SkippedTarget) else SkippedTarget.from_dict(s) for s in skipped),
        warnings=report_warnings(typed), host=Host.from_dict(host_info()), config=config,
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=tuple(command) if command else None, bundle=bundle, schema=SCHEMA,
    )
