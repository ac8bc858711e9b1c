"""The typed sections of one bench run: what was benched, how often, its figures, and a failure's error.

Each section holds exactly the values its JSON form shows (already rounded), so
``X.from_dict(x.to_dict()) == x`` and a report read back from ``--json`` renders
the same as the one measured. ``to_dict`` gives the keys, in the order, that
``edgevision bench --json`` writes.

Example:
    >>> fps = Fps(from_mean_total=250.0, frames_per_wall_second=240.5, how="...")
    >>> Fps.from_dict(fps.to_dict()) == fps, fps.overlapped is None
    (True, True)
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .config import InputKind
from .stats import Summary


def _list(values: Any) -> Any:
    return None if values is None else list(values)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """The benched artifact: its file (None when it never loaded), target, format, precision, size, task.

    ``from_manifest``: a bundle's manifest entry was merged in (a matrix row), so the run
    reports its ``fidelity`` (None when the manifest has none); ``extra``: other facts the
    caller passed (``run_bench(meta=...)``), kept as given.
    """

    file: str | None = None
    target: str | None = None
    format: str | None = None
    precision: str | None = None
    size_bytes: int | None = None
    task: str | None = None
    selected: Any = None
    fidelity: Mapping[str, Any] | None = None
    from_manifest: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    LOADED: ClassVar[tuple[str, ...]] = ("file", "target", "format", "precision", "size_bytes", "task", "selected")
    MANIFEST: ClassVar[tuple[str, ...]] = ("target", "format", "precision", "size_bytes", "fidelity")

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.LOADED} if self.file is not None else {}
        if self.from_manifest:  # the manifest's entry updates the loaded model's facts, fidelity last
            d.update({k: getattr(self, k) for k in self.MANIFEST})
        d.update(self.extra)
        return copy.deepcopy(d)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        known = (*cls.LOADED, "fidelity")
        manifest = "fidelity" in data if data.get("file") is not None else any(k in data for k in cls.MANIFEST)
        return cls(**{k: copy.deepcopy(data[k]) for k in known if k in data}, from_manifest=manifest,
                   extra={k: v for k, v in data.items() if k not in known})


@dataclass(frozen=True, slots=True)
class InputInfo:
    """The input tensor (shape, dtype, quantisation, layout) and the frames fed to it."""

    shape: tuple[int, ...] | None
    dtype: str | None
    quantization: Any
    layout: str | None
    kind: InputKind
    description: str
    source_reopened: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", InputKind(self.kind))  # "random" / "frames" given as text

    def to_dict(self) -> dict[str, Any]:
        return {"shape": _list(self.shape), "dtype": self.dtype, "quantization": copy.deepcopy(self.quantization),
                "layout": self.layout, "kind": self.kind.value, "description": self.description,
                "source_reopened": self.source_reopened}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InputInfo:
        shape = data.get("shape")
        return cls(shape=None if shape is None else tuple(shape), dtype=data.get("dtype"),
                   quantization=copy.deepcopy(data.get("quantization")), layout=data.get("layout"),
                   kind=InputKind(data["kind"]), description=data["description"],
                   source_reopened=data.get("source_reopened", 0))


@dataclass(frozen=True, slots=True)
class Counts:
    """How many runs: warm-up, timed (and what was asked for), the timed loop's wall time in seconds."""

    warmup: int
    runs: int
    requested_runs: int | None
    requested_duration_s: float | None
    timed_wall_s: float
    first_inference_excluded: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"warmup": self.warmup, "runs": self.runs, "requested_runs": self.requested_runs,
                "requested_duration_s": self.requested_duration_s, "timed_wall_s": self.timed_wall_s,
                "first_inference_excluded": self.first_inference_excluded}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Counts:
        return cls(**{k: data[k] for k in ("warmup", "runs", "requested_runs", "requested_duration_s",
                                            "timed_wall_s")},
                   first_inference_excluded=data.get("first_inference_excluded", True))


@dataclass(frozen=True, slots=True)
class Startup:
    """Milliseconds before the timed phases: loading (``init``), the first ``predict`` and its infer stage.

    JSON keys: ``init_ms``, ``first_inference_ms`` (= ``first_predict_ms``: the whole first
    frame, preprocess to decode) and ``first_infer_ms`` (its ``infer`` stage alone).
    """

    init_ms: float
    first_predict_ms: float
    first_infer_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"init_ms": self.init_ms, "first_inference_ms": self.first_predict_ms,
                "first_infer_ms": self.first_infer_ms}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Startup:
        return cls(init_ms=data["init_ms"], first_predict_ms=data["first_inference_ms"],
                   first_infer_ms=data["first_infer_ms"])


@dataclass(frozen=True, slots=True)
class InferOnly:
    """``backend.infer()`` back to back on a seeded random tensor: its summary, over ``phases`` phases."""

    summary: Summary
    warmup: int
    phases: int
    timed_wall_s: float | None
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary.to_dict(), "warmup": self.warmup, "phases": self.phases,
                "timed_wall_s": self.timed_wall_s, "how": self.how}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InferOnly:
        return cls(summary=Summary.from_dict(data), warmup=data["warmup"], phases=data.get("phases", 1),
                   timed_wall_s=data.get("timed_wall_s"), how=data.get("how", ""))


@dataclass(frozen=True, slots=True)
class OverlappedFps:
    """The same frames through an overlapped stream (``run --overlap``): fps, its median infer ms, their product.

    ``fps_x_median_infer`` is ``fps * infer_median_ms / 1000`` of the figures shown here
    (the fraction of the wall time the engine was busy, about 1 when it is the bottleneck).
    """

    fps: float
    frames: int
    infer_median_ms: float | None
    fps_x_median_infer: float | None
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {"fps": self.fps, "frames": self.frames, "infer_median_ms": self.infer_median_ms,
                "fps_x_median_infer": self.fps_x_median_infer, "how": self.how}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OverlappedFps:
        values: dict[str, Any] = {k: data.get(k) for k in ("fps", "frames", "infer_median_ms", "fps_x_median_infer",
                                                           "how")}
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Fps:
    """Frames per second of the pipeline two ways (see ``stats.fps_figures``), and overlapped when measured."""

    from_mean_total: float | None
    frames_per_wall_second: float | None
    how: str
    overlapped: OverlappedFps | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"from_mean_total": self.from_mean_total,
                             "frames_per_wall_second": self.frames_per_wall_second, "how": self.how}
        if self.overlapped is not None:
            d["overlapped"] = self.overlapped.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fps:
        o = data.get("overlapped")
        return cls(from_mean_total=data.get("from_mean_total"),
                   frames_per_wall_second=data.get("frames_per_wall_second"), how=data.get("how", ""),
                   overlapped=OverlappedFps.from_dict(o) if o else None)


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident memory in MB: the process's peak so far, and before load, after load, at the end."""

    peak_rss_mb: float | None
    rss_before_load_mb: float | None
    rss_after_load_mb: float | None
    rss_end_mb: float | None
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {"peak_rss_mb": self.peak_rss_mb, "rss_before_load_mb": self.rss_before_load_mb,
                "rss_after_load_mb": self.rss_after_load_mb, "rss_end_mb": self.rss_end_mb, "how": self.how}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Memory:
        values: dict[str, Any] = {k: data.get(k) for k in ("peak_rss_mb", "rss_before_load_mb", "rss_after_load_mb",
                                                           "rss_end_mb", "how")}
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Samples:
    """Every timed call in ms: per pipeline stage with each frame's start ``t_s``, and the infer-only calls."""

    t_s: tuple[float, ...]
    stages: Mapping[str, tuple[float, ...]]
    infer_only_t_s: tuple[float, ...]
    infer_only: tuple[float, ...]

    NOT_STAGES: ClassVar[tuple[str, ...]] = ("t_s", "infer_only_t_s", "infer_only")

    def to_dict(self) -> dict[str, Any]:
        return {"t_s": list(self.t_s), **{k: list(v) for k, v in self.stages.items()},
                "infer_only_t_s": list(self.infer_only_t_s), "infer_only": list(self.infer_only)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Samples:
        return cls(t_s=tuple(data.get("t_s", ())),
                   stages={k: tuple(v) for k, v in data.items() if k not in cls.NOT_STAGES},
                   infer_only_t_s=tuple(data.get("infer_only_t_s", ())), infer_only=tuple(data.get("infer_only", ())))


@dataclass(frozen=True, slots=True)
class RunError:
    """Why a row failed (not an exception: what the report keeps of one): its type, one line, the exit code."""

    type: str
    message: str
    exit_code: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "exit_code": self.exit_code}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunError:
        return cls(type=data["type"], message=data["message"], exit_code=data.get("exit_code", 1))


@dataclass(frozen=True, slots=True)
class Host:
    """The machine a report was measured on (see ``system.host_info``)."""

    cpu: str
    machine: str
    system: str
    cores_usable: int
    cores_total: int | None
    versions: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"cpu": self.cpu, "machine": self.machine, "system": self.system, "cores_usable": self.cores_usable,
                "cores_total": self.cores_total, "versions": dict(self.versions)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Host:
        return cls(cpu=data["cpu"], machine=data["machine"], system=data["system"],
                   cores_usable=data["cores_usable"], cores_total=data.get("cores_total"),
                   versions=dict(data.get("versions", {})))


@dataclass(frozen=True, slots=True)
class SkippedTarget:
    """A bundle target this machine cannot run, with the reason (see ``matrix.plan_matrix``)."""

    target: str
    format: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "format": self.format, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SkippedTarget:
        return cls(target=data["target"], format=data.get("format"), reason=data["reason"])
