"""A bench's results, typed: ``BenchRun`` (one model or one bundle target) and ``BenchReport`` (the whole matrix).

``to_dict()`` is the JSON ``edgevision bench --json`` writes (same keys, same order,
same values); ``from_dict()`` reads it back, so a saved report renders again as the
one measured. A failed row is a ``BenchRun`` with status ``failed``, its ``error``
set and no figures. Sections that come from elsewhere stay plain dicts: the
backend's ``runtime`` info, the sampler's ``device_state``, the engine tool's
``compare``.

Example:
    >>> failed = BenchRun.failed("coral-usb", RunError("BackendUnavailableError", "no Edge TPU", 3))
    >>> failed.ok, failed.error.exit_code, failed.to_dict()["status"]
    (False, 3, 'failed')
    >>> BenchRun.from_dict(failed.to_dict()) == failed
    True
    >>> report = BenchReport.from_dict({"runs": [failed.to_dict()], "skipped": []})
    >>> [r.label for r in report.runs], report.warnings
    (['coral-usb'], ())
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, cast

from ..errors import UserInputError
from .config import BenchConfig
from .sections import (
    Counts,
    Fps,
    Host,
    InferOnly,
    InputInfo,
    Memory,
    ModelInfo,
    RunError,
    Samples,
    SkippedTarget,
    Startup,
)
from .stats import Summary

SCHEMA = "edgevision.bench/1"


class RunStatus(str, Enum):
    """A row's outcome: measured, or failed with its error."""

    OK = "ok"
    FAILED = "failed"


class MeasuredRun(Protocol):
    """A run that completed, as ``BenchRun.measured()`` returns it: every figure's section is there."""

    label: str
    runtime: Mapping[str, Any]
    input: InputInfo
    counts: Counts
    startup: Startup
    stages: Mapping[str, Summary]
    infer_only: InferOnly
    fps: Fps
    memory: Memory
    samples: Samples


FIGURE_SECTIONS = ("input", "counts", "startup", "infer_only", "fps", "memory", "samples")


@dataclass(frozen=True, slots=True)
class BenchRun:
    """One model benched (or the error that stopped it): every figure beside what it was measured on.

    ``stages`` maps each pipeline stage (``capture`` with a source, then ``preprocess``,
    ``infer``, ``decode``, ``total``) to its summary in ms. The sections after ``model``
    are None (or empty) in a failed row.
    """

    label: str
    status: RunStatus
    model: ModelInfo = field(default_factory=ModelInfo)
    runtime: Mapping[str, Any] = field(default_factory=dict)  # the backend's info(): backend, version, threads...
    input: InputInfo | None = None
    counts: Counts | None = None
    startup: Startup | None = None
    stages: Mapping[str, Summary] = field(default_factory=dict)
    infer_only: InferOnly | None = None
    fps: Fps | None = None
    memory: Memory | None = None
    load_average_1min: tuple[float | None, ...] = ()  # before and after the run
    device_state: Mapping[str, Any] = field(default_factory=dict)  # the DeviceSampler's summary
    warnings: tuple[str, ...] = ()
    samples: Samples | None = None
    compare: Mapping[str, Any] | None = None  # the engine tool's comparison, a note or its error
    profile: Mapping[str, Any] | None = None  # per-layer times (bench.profile), or its error
    error: RunError | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", RunStatus(self.status))  # "ok" / "failed" given as text

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.OK

    @property
    def frames(self) -> int:
        """Timed frames of the pipeline phase (0 in a failed row)."""
        return self.counts.runs if self.counts else 0

    @classmethod
    def failed(cls, label: str, error: RunError, model: ModelInfo | None = None) -> BenchRun:
        """A row that failed: its label, its error, and what the manifest said of its artifact."""
        return cls(label=label, status=RunStatus.FAILED, model=model or ModelInfo(), error=error)

    def to_dict(self) -> dict[str, Any]:
        """The run as ``edgevision bench --json`` writes it."""
        head = {"label": self.label, "status": self.status.value, "model": self.model.to_dict()}
        if not self.ok:
            return {**head, "warnings": list(self.warnings),
                    "error": self.error.to_dict() if self.error else None}
        figures = self.measured()
        return {
            **head, "runtime": copy.deepcopy(dict(self.runtime)), "input": figures.input.to_dict(),
            "counts": figures.counts.to_dict(), **figures.startup.to_dict(),
            "stages": {k: s.to_dict() for k, s in self.stages.items()},
            "infer_only": figures.infer_only.to_dict(), "fps": figures.fps.to_dict(),
            "memory": figures.memory.to_dict(), "load_average_1min": list(self.load_average_1min),
            "device_state": copy.deepcopy(dict(self.device_state)), "warnings": list(self.warnings),
            "samples_ms": figures.samples.to_dict(),
            **({"compare": copy.deepcopy(dict(self.compare))} if self.compare is not None else {}),
            **({"profile": copy.deepcopy(dict(self.profile))} if self.profile is not None else {}),
            "frames": self.frames,
        }

    def measured(self) -> MeasuredRun:
        """This run with every figure's section checked present (a failed row has none): what renderers read.

        >>> BenchRun.failed("tpu", RunError("E", "no TPU", 3)).measured()
        Traceback (most recent call last):
        ...
        edgevision.errors.UserInputError: expected every section of a measured run, got 'tpu' without input, ...
        """
        missing = [n for n in FIGURE_SECTIONS if getattr(self, n) is None]
        if missing:
            raise UserInputError(f"expected every section of a measured run, got {self.label!r} without "
                                 f"{', '.join(missing)}")
        return cast(MeasuredRun, self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchRun:
        """A run from its dict form (a saved report's, or a hand-made one with the keys a renderer reads)."""
        try:
            return cls._parse(data)
        except (KeyError, TypeError, ValueError) as e:
            raise UserInputError(f"expected a bench run as `edgevision bench --json` writes it, got one with "
                                 f"{_why(e)}") from None

    @classmethod
    def _parse(cls, data: Mapping[str, Any]) -> BenchRun:
        status = RunStatus(data["status"])
        common = {"label": data["label"], "status": status, "model": ModelInfo.from_dict(data.get("model") or {}),
                  "warnings": tuple(data.get("warnings", ()))}
        if status != RunStatus.OK:
            return cls(**common, error=RunError.from_dict(data["error"]))
        return cls(**common, runtime=copy.deepcopy(dict(data.get("runtime") or {})),
                   input=InputInfo.from_dict(data["input"]), counts=Counts.from_dict(data["counts"]),
                   startup=Startup.from_dict(data), stages={k: Summary.from_dict(s) for k, s in data["stages"].items()},
                   infer_only=InferOnly.from_dict(data["infer_only"]), fps=Fps.from_dict(data["fps"]),
                   memory=Memory.from_dict(data["memory"]),
                   load_average_1min=tuple(data.get("load_average_1min", ())),
                   device_state=copy.deepcopy(dict(data.get("device_state") or {})),
                   samples=Samples.from_dict(data.get("samples_ms") or {}),
                   compare=copy.deepcopy(dict(data["compare"])) if data.get("compare") is not None else None,
                   profile=copy.deepcopy(dict(data["profile"])) if data.get("profile") is not None else None)


@dataclass(frozen=True, slots=True)
class BenchReport:
    """The whole report: the host, the config, one run per model or target, the targets skipped, all warnings."""

    runs: tuple[BenchRun, ...] = ()
    skipped: tuple[SkippedTarget, ...] = ()
    warnings: tuple[str, ...] = ()  # every run's warnings, each prefixed with its run's label
    host: Host | None = None
    config: BenchConfig | None = None
    created: str | None = None  # UTC, ISO 8601 to the second
    command: tuple[str, ...] | None = None  # the command line, when it came from `edgevision bench`
    bundle: str | None = None
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The report as ``edgevision bench --json`` writes it."""
        return {"schema": self.schema, "created": self.created,
                "command": list(self.command) if self.command is not None else None, "bundle": self.bundle,
                "host": self.host.to_dict() if self.host else None,
                "config": self.config.to_dict() if self.config else None,
                "runs": [r.to_dict() for r in self.runs], "skipped": [s.to_dict() for s in self.skipped],
                "warnings": list(self.warnings)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchReport:
        """A report from its dict form; ``runs`` may hold ``BenchRun`` objects already.

        >>> BenchReport.from_dict({"schema": "edgevision.bench/9", "runs": []})
        Traceback (most recent call last):
        ...
        edgevision.errors.UserInputError: expected a bench report of schema edgevision.bench/1, got 'edgevision.bench/9'
        """
        schema = data.get("schema", SCHEMA)
        if schema != SCHEMA:
            raise UserInputError(f"expected a bench report of schema {SCHEMA}, got {schema!r}")
        try:
            return cls(runs=tuple(as_run(r) for r in data.get("runs", ())),
                       skipped=tuple(SkippedTarget.from_dict(s) for s in data.get("skipped", ())),
                       warnings=tuple(data.get("warnings", ())),
                       host=Host.from_dict(data["host"]) if data.get("host") else None,
                       config=BenchConfig.from_dict(data["config"]) if data.get("config") else None,
                       created=data.get("created"),
                       command=tuple(data["command"]) if data.get("command") is not None else None,
                       bundle=data.get("bundle"))
        except (KeyError, TypeError, ValueError) as e:
            raise UserInputError(f"expected a bench report as `edgevision bench --json` writes it, got one with "
                                 f"{_why(e)}") from None


def _why(e: Exception) -> str:
    return f"no {e.args[0]!r} key" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"


def as_run(run: BenchRun | Mapping[str, Any]) -> BenchRun:
    """``run`` itself, or parsed from its dict form.

    >>> as_run({"label": "tpu", "status": "failed", "error": {"type": "E", "message": "no TPU"}}).error.message
    'no TPU'
    """
    return run if isinstance(run, BenchRun) else BenchRun.from_dict(run)


def as_report(report: BenchReport | Mapping[str, Any]) -> BenchReport:
    """``report`` itself, or parsed from its dict form (once, by the renderer that receives it)."""
    return report if isinstance(report, BenchReport) else BenchReport.from_dict(report)


def report_warnings(runs: Sequence[BenchRun]) -> tuple[str, ...]:
    """Every run's warnings, each prefixed with its run's label: the report's ``warnings``."""
    return tuple(f"{r.label}: {w}" for r in runs for w in r.warnings)
