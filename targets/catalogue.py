"""The closed sets everything else reads: artifact formats, precisions, backends, target kinds.

Each set is an enum with one spec per member, written here once as data. The bundle
reader, ``target="auto"``, the backends, the converters, the benchmark and the target
profiles all look things up here; a new format or runtime is one entry in these tables
(``register_format``, ``register_backend``: the tables are keyed by name, and the enums'
members, being strings, are the names of the built-in entries).

- ``FORMATS``: per artifact format, its file suffix, the runtime that runs it, whether a
  plain CPU can run it, the side file it needs, its converter, its file-name stem and the
  engine's own benchmark tool.
- ``BACKENDS``: per runtime, its name for people, the formats it reads, the Python modules
  that provide it (best first), the pip extra that installs it, and its implementation.
- ``KINDS``: per kind of target device, its rank when ``target="auto"`` falls back to
  running on this host's CPU.
- ``EDGETPU_LIBRARIES``: the Edge TPU delegate's library file per OS.

Example:
    >>> FORMATS[ArtifactFormat.OPENVINO_IR].backend
    <BackendName.OPENVINO: 'openvino'>
    >>> format_of("model.xml").value, backend_of("model.tflite").value
    ('openvino-ir', 'litert')
    >>> sorted(f.value for f in BACKENDS[BackendName.OPENVINO].reads)
    ['onnx', 'openvino-ir', 'tflite']
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import Any, Union

from edgevision.errors import ModelFileError, UserInputError
from edgevision.refs import Ref


class Name(str, Enum):
    """A closed choice whose members are their names: ``str(m)`` and f-strings give the value, as StrEnum does."""

    def __str__(self) -> str:
        return str(self.value)


class ArtifactFormat(Name):
    """What a bundle artifact is (``format`` in the manifest and in a target profile)."""

    TFLITE = "tflite"
    EDGETPU_TFLITE = "edgetpu-tflite"
    OPENVINO_IR = "openvino-ir"
    ONNX = "onnx"


class Precision(Name):
    """What an artifact computes in. ``dynamic``: int8 weights, float activations (no calibration needed);
    ``int8``: full-integer, calibrated."""

    FP32 = "fp32"
    FP16 = "fp16"
    DYNAMIC = "dynamic"
    INT8 = "int8"


class BackendName(Name):
    """An inference runtime on the device."""

    LITERT = "litert"
    OPENVINO = "openvino"
    ONNXRUNTIME = "onnxruntime"


class Delegate(Name):
    """A LiteRT delegate a profile can ask for."""

    EDGETPU = "edgetpu"


class TargetKind(Name):
    """What does the work on a target device (derived from its profile's runtime, see ``kind_of``)."""

    EDGETPU = "edgetpu"
    NPU = "npu"
    GPU = "gpu"
    CPU = "cpu"


@dataclass(frozen=True)
class FormatSpec:
    """One artifact format, as data."""

    suffix: str  # the artifact's file suffix
    backend: str  # the runtime (a BackendName) that runs it on the device, and for fidelity on the workstation
    cpu: bool  # a plain CPU can run it (an Edge TPU-compiled graph cannot)
    converter: Ref  # the converter class that builds it, or "module:Class" imported on use
    stem: str  # artifact file-name stem: {m} the source model's stem, {p} the precision
    weights_suffix: str | None = None  # a side file the runtime loads with it (OpenVINO IR: .bin)
    # "module:function" (data: bytes, name: str) -> [relative paths]: the files the model's own bytes
    # name, which its runtime opens too (ONNX external data); checked like the artifact (edgevision.integrity)
    references: Ref | None = None
    engine_tool: str | None = None  # the runtime's own benchmark tool, for ``edgevision bench --compare``


@dataclass(frozen=True)
class BackendSpec:
    """One inference runtime, as data."""

    label: str  # its name for people
    reads: frozenset[str]  # formats (ArtifactFormat names) it can open
    modules: tuple[str, ...]  # Python modules that provide it, best first (the first importable one is used)
    extra: str  # pip extra of edgevision that installs it
    implementation: Ref  # its Backend class, or "module:Class" imported on use
    distributions: tuple[str, ...] = ()  # pip distributions that provide it, best first (versions in reports)

    @property
    def suffixes(self) -> tuple[str, ...]:
        """File suffixes it opens, e.g. ``('.xml', '.onnx', '.tflite')`` for OpenVINO."""
        return tuple(dict.fromkeys(spec.suffix for name, spec in FORMATS.items() if name in self.reads))


@dataclass(frozen=True)
class KindSpec:
    """One kind of target device: its rank when ``target="auto"`` runs a bundle on this host's CPU instead."""

    cpu_fallback_rank: int | None  # lower first; None: its artifacts cannot run on a CPU at all


# Keyed by name: ArtifactFormat members (strings) for the built-in formats, any name for a registered one.
FORMATS: dict[str, FormatSpec] = {
    ArtifactFormat.TFLITE: FormatSpec(
        ".tflite", BackendName.LITERT, cpu=True, converter="edgevision.converters.tflite:TFLiteConverter",
        stem="{m}_{p}", engine_tool="litert-benchmark"),
    ArtifactFormat.EDGETPU_TFLITE: FormatSpec(
        ".tflite", BackendName.LITERT, cpu=False, converter="edgevision.converters.edgetpu:EdgeTPUConverter",
        stem="{m}_coral_{p}"),
    ArtifactFormat.OPENVINO_IR: FormatSpec(
        ".xml", BackendName.OPENVINO, cpu=True, converter="edgevision.converters.openvino:OpenVINOConverter",
        stem="{m}_{p}", weights_suffix=".bin", engine_tool="benchmark_app"),
    ArtifactFormat.ONNX: FormatSpec(
        ".onnx", BackendName.ONNXRUNTIME, cpu=True, converter="edgevision.converters.onnx:ONNXConverter",
        stem="{m}_{p}", references="edgevision.formats.onnx_external:external_files"),
}

# Keyed by name: BackendName members (strings) for the built-in runtimes, any name for a registered one.
BACKENDS: dict[str, BackendSpec] = {
    BackendName.LITERT: BackendSpec(
        "LiteRT", frozenset({ArtifactFormat.TFLITE, ArtifactFormat.EDGETPU_TFLITE}),
        ("ai_edge_litert.interpreter", "tflite_runtime.interpreter", "tensorflow.lite"), "litert",
        "edgevision.backends.litert:LiteRTBackend", ("ai-edge-litert", "tflite-runtime")),
    BackendName.OPENVINO: BackendSpec(
        "OpenVINO", frozenset({ArtifactFormat.OPENVINO_IR, ArtifactFormat.ONNX, ArtifactFormat.TFLITE}),
        ("openvino",), "openvino", "edgevision.backends.openvino:OpenVINOBackend", ("openvino",)),
    BackendName.ONNXRUNTIME: BackendSpec(
        "ONNX Runtime", frozenset({ArtifactFormat.ONNX}), ("onnxruntime",), "onnx",
        "edgevision.backends.onnxruntime:ONNXRuntimeBackend", ("onnxruntime", "onnxruntime-gpu")),
}

KINDS: dict[TargetKind, KindSpec] = {
    # On a host without the device, artifacts built for CPUs run best, then fp16 GPU builds, then NPU int8.
    TargetKind.CPU: KindSpec(cpu_fallback_rank=0),
    TargetKind.GPU: KindSpec(cpu_fallback_rank=1),
    TargetKind.NPU: KindSpec(cpu_fallback_rank=2),
    TargetKind.EDGETPU: KindSpec(cpu_fallback_rank=None),
}

# The Edge TPU delegate as LiteRT's load_delegate() names it on each OS (as pycoral does).
EDGETPU_LIBRARIES: dict[str, str] = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib",
                                     "Windows": "edgetpu.dll"}
EDGETPU_CUSTOM_OP = "edgetpu-custom-op"  # the op the Edge TPU compiler puts its subgraphs in

# The values of nncf.TargetDevice (checked without importing NNCF).
NNCF_TARGET_DEVICES = ("ANY", "CPU", "GPU", "NPU", "CPU_SPR")

Pathish = Union[str, "os.PathLike[str]"]


def register_format(name: str, spec: FormatSpec, *, replace: bool = False) -> FormatSpec:
    """Add an artifact format (its backend must be registered); bundles, profiles and ``load`` then know it."""
    if spec.backend not in BACKENDS:
        raise UserInputError(f"expected the format's backend among {', '.join(BACKENDS)}, got {spec.backend!r}")
    return _register(FORMATS, "artifact format", name, spec, replace)


def register_backend(name: str, spec: BackendSpec, *, replace: bool = False) -> BackendSpec:
    """Add an inference runtime; the formats it reads are named in ``spec.reads``."""
    return _register(BACKENDS, "backend", name, spec, replace)


def unregister(name: str) -> None:
    """Remove a format or backend added with ``register_format`` / ``register_backend`` (tests, plug-ins)."""
    if name in ArtifactFormat._value2member_map_ or name in BackendName._value2member_map_:
        raise UserInputError(f"expected a registered extra, got built-in {name!r}")
    FORMATS.pop(name, None)
    BACKENDS.pop(name, None)


def _register(table: dict, what: str, name: str, spec: Any, replace: bool) -> Any:
    if name in table and not replace:
        raise UserInputError(f"expected a new {what} name, got {name!r} (already registered)")
    table[name] = spec
    return spec


def _named(table: dict, enum: type[Enum], what: str, value: Any) -> Any:
    """The enum member for a built-in name, the name for a registered one; UserInputError naming all."""
    if value in enum._value2member_map_:
        return enum(value)
    if isinstance(value, str) and value in table:
        return value
    raise UserInputError(f"expected {what} among {', '.join(table)}, got {value!r}")


def parse_format(value: str) -> str:
    """A format's name (the ``ArtifactFormat`` member for a built-in one); UserInputError naming the valid ones.

    >>> parse_format("onnx")
    <ArtifactFormat.ONNX: 'onnx'>
    """
    found: str = _named(FORMATS, ArtifactFormat, "an artifact format", value)
    return found


def parse_backend(value: str) -> str:
    """A backend's name (the ``BackendName`` member for a built-in one); UserInputError naming the valid ones.

    >>> parse_backend("litert")
    <BackendName.LITERT: 'litert'>
    """
    found: str = _named(BACKENDS, BackendName, "a backend", value)
    return found


def format_of(path: Pathish) -> str:
    """The artifact format a bare model file is, from its suffix (a ``.tflite`` is plain ``tflite``).

    >>> format_of("det.onnx")
    <ArtifactFormat.ONNX: 'onnx'>
    """
    suffix = PurePath(path).suffix.lower()
    for fmt, spec in FORMATS.items():  # in enum order: plain tflite before the Edge TPU's
        if spec.suffix == suffix:
            return fmt
    suffixes = ", ".join(dict.fromkeys(s.suffix for s in FORMATS.values()))
    raise ModelFileError(f"expected a model file ending in {suffixes} or a bundle directory, got {str(path)!r}")


def backend_of(path: Pathish) -> str:
    """The runtime that runs a bare model file by default, from its suffix."""
    return FORMATS[format_of(path)].backend


def installed_module(backend: str) -> str | None:
    """The top-level module of the first installed provider of ``backend`` (found, not imported), or None.

    >>> installed_module(BackendName.ONNXRUNTIME) in ("onnxruntime", None)
    True
    """
    for module in BACKENDS[backend].modules:
        top = module.split(".")[0]
        if importlib.util.find_spec(top) is not None:
            return top
    return None


def kind_of(backend: BackendName, device: str, delegate: Delegate | None) -> TargetKind:
    """The kind of device a profile's runtime section targets.

    >>> kind_of(BackendName.LITERT, "usb", Delegate.EDGETPU).value, kind_of(BackendName.OPENVINO, "NPU", None).value
    ('edgetpu', 'npu')
    """
    if delegate is Delegate.EDGETPU:
        return TargetKind.EDGETPU
    head = device.upper().split(":")[0].split(".")[0]
    return {"NPU": TargetKind.NPU, "GPU": TargetKind.GPU}.get(head, TargetKind.CPU)
