"""``convert``: one source model in, one bundle out, with an artifact per target and its fidelity measured.

Everything is built in a temporary directory beside the destination; the
bundle is renamed into place only when every artifact is built, loaded through
the runtime and within ``max_drop`` of the source. A failure leaves nothing.

Example:
    >>> bundle = convert("model.keras", ["rpi5", "coral-usb", "intel-npu", "jetson-orin"],
    ...                  out="bundle/", calibration="images/")          # doctest: +SKIP
    >>> bundle.rows[0]["target"], bundle.load("rpi5")                   # doctest: +SKIP
    ('rpi5', Model(task='classification', ...))
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends import open_backend
from ..bundle import Artifact, Manifest, sha256_file, write_bundle
from ..decode import num_classes
from ..errors import ConversionError, UserInputError
from ..model import Model
from ..targets import Target
from ..targets.catalogue import FORMATS, ArtifactFormat, BackendName, Precision
from ..tasks.registry import task_spec
from . import fidelity
from .base import Calibration, ConvertJob, ConvertOptions, ConvertOutput, SourceModel
from .data import load_data
from .info import ModelInfo, resolve_model_info
from .source import ReferenceBackend, open_source_model, source_kind

# Why a source kind cannot reach a format, where the reason is not obvious.
NO_ROUTE: dict[tuple[str, ArtifactFormat], str] = {}
FLAG_DROP = 0.05  # an artifact that drops more than this is flagged, with or without --max-drop
DEFAULT_NUM_CLASSES = 91  # SSD / COCO label space, when neither labels nor the outputs say otherwise


@dataclass(frozen=True)
class ArtifactReport:
    """One row of a conversion: what was built for one target, and how close it stays to the source."""

    target: str
    format: str
    precision: str
    size: int  # bytes, an IR's weights included
    fidelity: dict  # the manifest's fidelity entry (metric, its value, drop, ...)
    file: str  # the artifact's file name in the bundle
    layers: dict = field(default_factory=dict)  # int8: the per-layer error report (worst layers first)
    int8_gate: dict = field(default_factory=dict)  # int8: the gate's figure and what it did (float layers kept)

    @property
    def drop(self) -> float:
        """What ``--max-drop`` compares: the source's metric minus the artifact's."""
        return float(self.fidelity["drop"])

    def to_dict(self) -> dict[str, Any]:
        """The row as ``convert --json`` prints it."""
        row = {"target": self.target, "format": self.format, "precision": self.precision, "size": self.size,
               "fidelity": self.fidelity, "file": self.file}
        return {**row, **({"layers": self.layers} if self.layers else {}),
                **({"int8_gate": self.int8_gate} if self.int8_gate else {})}


@dataclass
class ConvertResult:
    """What ``convert`` wrote: the bundle's path, its manifest, one report per target, and the warnings."""

    path: Path
    manifest: Manifest
    artifacts: list[ArtifactReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The reports as plain data (``convert --json``'s ``rows``)."""
        return [a.to_dict() for a in self.artifacts]

    def load(self, target: str = "auto", **kwargs: Any) -> Model:
        """``edgevision.load`` on this bundle."""
        from ..loading import load

        return load(self.path, target=target, **kwargs)


class FidelityError(ConversionError):
    """An artifact dropped more than ``--max-drop``: no bundle written; ``reports`` has every row's figures."""

    def __init__(self, message: str, reports: Sequence[ArtifactReport]) -> None:
        super().__init__(message)
        self.reports = list(reports)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reports]


def plan(targets: Sequence[str], precision: str | None) -> list[tuple[Target, str]]:
    """(target profile, precision) per target; unknown targets and precisions a target refuses fail here.

    A target may carry its own precision: ``"jetson-orin:int8"`` overrides ``precision`` for it.
    """
    from edgevision.targets import load_target

    if not targets:
        raise UserInputError("expected at least one --target, got none")
    precisions = {p.value for p in Precision}
    out: list[tuple[Target, str]] = []
    for t in dict.fromkeys(targets):
        name, _, suffix = t.rpartition(":")
        per_target = suffix if name and suffix in precisions else None  # "jetson-orin:int8"
        profile = load_target(name if per_target else t)
        allowed = [p.value for p in profile.artifact.precisions]
        want = per_target or precision or profile.artifact.precision.value
        if want not in allowed:
            raise UserInputError(f"expected a precision {profile.id} takes ({', '.join(allowed)}), got {want!r}")
        twice = [p for prof, p in out if prof.id == profile.id]
        if twice:
            # The manifest holds one artifact per target id (what target="auto" and --target pick by).
            raise UserInputError(f"expected each target once in a bundle, got {profile.id} twice ({twice[0]} and "
                                 f"{want}): a bundle holds one artifact per target; convert into two bundles "
                                 f"(-o {profile.id}-{twice[0]}/ and -o {profile.id}-{want}/) to compare them")
        out.append((profile, want))
    return out


def check_routes(kind: str, jobs: list[tuple[Target, str]]) -> None:
    """ConversionError when a target's converter cannot read this kind of source."""
    from . import get_converter

    for profile, _ in jobs:
        fmt = profile.artifact.format
        converter = get_converter(fmt)
        if kind not in converter.sources:
            reason = NO_ROUTE.get((kind, fmt), f"the {fmt} converter reads {', '.join(converter.sources)}")
            raise ConversionError(f"expected a source the {profile.id} target's converter reads, got a {kind} "
                                  f"model: {reason}")


def convert(model: str | Path, targets: Sequence[str], *, out: str | Path,
            calibration: str | Path | int | None = None, validation: str | Path | None = None,
            precision: str | None = None, input_shape: Sequence[int] | None = None,
            model_info: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
            max_drop: float | None = None, io_dtype: str = "uint8", samples: int = 300, mixed_precision: bool = True,
            overwrite: bool = False, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> ConvertResult:
    """Convert ``model`` for every target into the bundle ``out``.

    ``calibration``: a directory of images, a ``.npy`` of preprocessed tensors, or a
    number of synthetic samples. ``validation``: held-out images for fidelity
    (default: every fifth calibration image, kept out of calibration). Raises
    ``FidelityError`` (nothing written) when an artifact drops more than ``max_drop``.
    ``mixed_precision``: an int8 artifact that misses its task's gate keeps its worst layers in float where the
    format allows (``edgevision.converters.gate``); False keeps every int8 artifact full-integer.
    """
    model, dest = Path(model), Path(out)
    jobs = plan(targets, precision)  # typed errors before any heavy work
    check_routes(source_kind(model), jobs)
    if max_drop is not None and not 0 <= max_drop <= 1:
        raise UserInputError(f"expected --max-drop between 0 and 1, got {max_drop}")
    if dest.exists() and not overwrite:
        raise UserInputError(f"expected a new bundle path, got existing {str(dest)!r} (pass --overwrite)")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        work = tempfile.TemporaryDirectory(prefix=f".{dest.name}.", suffix=".convert", dir=dest.parent)
    except OSError as e:  # -o under a file, or in a directory this user cannot write
        raise UserInputError(f"expected a directory the bundle can be written in, got {str(dest.parent)!r} "
                             f"({e.strerror or e})") from None
    with work as tmp:
        session = Session.open(model, Path(tmp), calibration=calibration, validation=validation,
                               input_shape=input_shape, model_info=model_info, overrides=overrides,
                               samples=samples, io_dtype=io_dtype, log=log,
                               need_calibration=any(p == Precision.INT8.value for _, p in jobs))
        session.mixed_precision = mixed_precision
        artifacts, files, reports = {}, {}, []
        for profile, prec in jobs:
            report, artifact, shipped = session.build(profile, prec)
            artifacts[profile.id] = artifact
            files.update(shipped)
            reports.append(report)
        manifest = Manifest(task=session.info.task, decoder=session.info.decoder, labels=session.info.labels,
                            input=session.info.input, artifacts=artifacts, name=model.stem,
                            source={"file": model.name, "sha256": _source_digest(model),
                                    "format": session.source.kind,
                                    **({"metadata": session.info.metadata} if session.info.metadata else {})})
        over = [r for r in reports if max_drop is not None and r.drop > max_drop]
        if over:
            worst = max(over, key=lambda r: r.drop)
            raise FidelityError(
                f"expected every artifact within --max-drop {max_drop} of the source, got {worst.target} "
                f"{worst.precision} dropping {worst.drop:.4f} ({worst.fidelity['drop_metric']}); "
                f"{len(over)} of {len(reports)} over the bound, no bundle written", reports)
        write_bundle(dest, manifest, files, overwrite=overwrite)
    return ConvertResult(dest, manifest, reports, session.warnings)


@dataclass
class Session:
    """What every target's build in one ``convert`` shares: the source, its information, the data, its results."""

    model: Path
    work: Path
    source: SourceModel
    info: ModelInfo
    calibration: Calibration | None
    samples: list  # validation samples (with ground truth where given)
    reference: list  # the source's own results on them
    num_classes: int
    reference_truth: float | None  # the source's metric against ground truth
    io_dtype: str
    log: Callable[[str], None]
    built: dict = field(default_factory=dict)  # (format, precision, compiler) -> ConvertOutput: targets may share one
    warnings: list = field(default_factory=list)
    head_split: Any = None  # heads.HeadSplit: how int8 TFLite/Edge TPU builds of an ONNX detector cut its head
    mixed_precision: bool = True  # an int8 artifact that misses its task's gate keeps its worst layers float

    @classmethod
    def open(cls, model: Path, work: Path, *, calibration: Any, validation: Any, input_shape: Any, model_info: Any,
             overrides: Any, samples: int, io_dtype: str, log: Callable[[str], None],
             need_calibration: bool) -> Session:
        """Read the source, resolve its information, load the data and run the source on the held-out images."""
        (work / "source").mkdir()
        source = open_source_model(model, workdir=work / "source", input_shape=input_shape)
        log(f"source: {model.name} ({source.kind}), input {list(source.input_shape)} {source.layout}")
        reference_backend = ReferenceBackend(source)
        from ..metadata import read_metadata

        meta = read_metadata(model)
        info = resolve_model_info(model, reference_backend.outputs, info_file=Path(model_info) if model_info else None,
                                  overrides=overrides, input_size=source.size, metadata=meta,
                                  input_dtype=source.input_dtype, input_quant=source.input_quant)
        reference = Model(reference_backend, task=info.task, labels=info.labels, input_format=info.input,
                          decoder=info.decoder)  # a task that does not fit the outputs fails here
        log(f"model: {info.task}, decoder {info.decoder['type']}, {len(info.labels)} labels (from {info.origin})")
        for key, origin in info.metadata.items():
            log(f"  {key} from {origin}")
        calib, held = load_data(source, info, calibration, validation, samples, log, need_calibration=need_calibration)
        ref_results = fidelity.run_model(reference, held)
        warnings = []
        if info.task == "detection" and ref_results and not any(len(r) for r in ref_results):
            warnings.append(f"the source model detects nothing on the {len(held)} validation images: every artifact's "
                            f"fidelity against it means nothing (check the input normalisation, --mean/--std/--scale, "
                            f"--resize and --color, or pass --validation images of its classes)")
            log(f"warning: {warnings[-1]}")
        n_classes = len(info.labels) or num_classes(info.decoder, reference_backend.outputs) or DEFAULT_NUM_CLASSES
        ref_truth = fidelity.reference_truth_score(info.task, ref_results, held, n_classes)
        from .heads import plan_split

        split = plan_split(info.decoder, [(o.name, tuple(o.shape)) for o in reference_backend.outputs], info.labels)
        return cls(model, work, source, info, calib, held, ref_results, n_classes, ref_truth, io_dtype, log,
                   warnings=warnings, head_split=split)

    def build(self, profile: Target, precision: str) -> tuple[ArtifactReport, Artifact, dict[str, Path]]:
        """Build (or reuse) the artifact one target needs, measure its fidelity: (report, manifest entry, files)."""
        from .gate import apply_gate

        specs: dict[int, tuple] = {}  # per build: its (input spec, output specs) as the runtime sees them

        def measured(float_layers: tuple[str, ...] = ()) -> tuple[ConvertOutput, dict]:
            built = self._artifact(profile, precision, float_layers)
            got, input_spec, output_specs = _fidelity(built, self.info, self.samples, self.reference,
                                                      self.num_classes, self.reference_truth)
            specs[id(built)] = (input_spec, output_specs)
            return built, got

        output, fid = measured()
        output, fid, gated = apply_gate(self.info.task, profile.artifact.format, precision, output, fid, measured, self.log,
                                        enabled=self.mixed_precision)
        input_spec, output_specs = specs[id(output)]
        if fid["drop"] > FLAG_DROP:  # said even without --max-drop: in the table, on stderr and in the manifest
            fid["flagged"] = f"drop {fid['drop']:.4f} > {FLAG_DROP} ({fid['drop_metric']})"
            self.log(f"warning: {profile.id}: {output.precision} artifact {fid['flagged']}")
            self.warnings.append(f"{profile.id}: {fid['flagged']}")
        files = {Path(f).name: Path(f) for f in (output.file, *output.extra_files)}
        weights = FORMATS[output.format].weights_suffix
        size = Path(output.file).stat().st_size + sum(Path(f).stat().st_size for f in output.extra_files
                                                      if weights and Path(f).suffix == weights)
        artifact = Artifact(file=output.file.name, format=output.format, precision=output.precision,
                            converter={**output.converter,
                                       "calibration": self.calibration.origin if self.calibration else None,
                                       **({"warnings": list(output.warnings)} if output.warnings else {}),
                                       **({"int8_gate": gated} if gated else {})},
                            fidelity=fid, input=input_spec, outputs=output_specs, report=output.report)
        report = ArtifactReport(profile.id, output.format, output.precision, size, fid, output.file.name,
                                layers=output.report.get("layers", {}), int8_gate=gated or {})
        return report, artifact, files

    def _artifact(self, profile: Target, precision: str, float_layers: tuple[str, ...] = ()) -> ConvertOutput:
        fmt = profile.artifact.format
        # Targets share an artifact only when its converter builds it the same way for both: an IR quantised
        # for the NPU is not the CPU's (NNCF's target device), an fp16 IR for the GPU is not an fp32 one.
        key = (fmt, precision, profile.compiler, float_layers)
        if key in self.built:
            return self.built[key]
        from . import get_converter

        outdir = self.work / "artifacts" / f"{fmt}-{precision}-{len(self.built)}"
        stem = FORMATS[fmt].stem.format(m=self.model.stem, p=precision)
        if any(k[:2] == key[:2] and k[3] == float_layers for k in self.built):  # built another way: its own name
            stem = f"{stem}_{profile.id}"
        outdir.mkdir(parents=True)
        options = ConvertOptions(io_dtype=self.io_dtype, float_head=task_spec(self.info.task).float_head,
                                 head_split=self.head_split, float_layers=float_layers)
        job = ConvertJob(source=self.source, target=profile, precision=precision, calibration=self.calibration,
                         outdir=outdir, stem=stem,
                         options=options, log=self.log)
        self.log(f"{profile.id}: building {fmt} {precision} ...")
        output = self.built[key] = get_converter(fmt).convert(job)
        for line in output.notes:
            self.log(f"{profile.id}: {line}")
        for w in output.warnings:
            if not getattr(w, "explained", False):  # an explained warning was said at length just above
                self.log(f"warning: {profile.id}: {w}")
            self.warnings.append(f"{profile.id}: {w}")
        return output


def _fidelity(output: ConvertOutput, info: ModelInfo, samples: list, ref_results: list, n_classes: int,
              ref_truth: float | None) -> tuple[dict, dict, list]:
    """Load the artifact through the runtime (this host's CPU) and compare it with the source."""
    file = Path(output.file)
    cpu_twin = file.with_name(file.name.replace("_edgetpu.tflite", ".tflite"))
    ran = cpu_twin if file.name.endswith("_edgetpu.tflite") and cpu_twin.is_file() else file
    backend_name = FORMATS[output.format].backend
    backend = open_backend(ran, backend=str(backend_name), threads=None,
                           **({"device": "CPU"} if backend_name is BackendName.OPENVINO else {}))
    model = Model(backend, task=info.task, labels=info.labels, input_format=info.input, decoder=info.decoder)
    fid = fidelity.measure(model, samples, ref_results, num_classes=n_classes, reference_truth_score=ref_truth)
    fid["measured_on"] = f"{backend.info()['backend']} {backend.info()['device']} (this host)" + (
        f", {ran.name} (the Edge TPU artifact's CPU twin)" if ran != file else "")
    return fid, backend.inputs[0].to_dict(), output_layouts(backend.outputs, model.input_size)


def output_layouts(outputs: Sequence[Any], input_size: tuple[int, int]) -> list[dict[str, Any]]:
    """The artifact's outputs as the manifest records them: name, shape, dtype, quantisation, and for a rank-4
    output the layout the runtime reads it in (an NCHW ONNX segmenter's TFLite artifact gives NHWC).

    Example:
        >>> from edgevision.backends.base import TensorSpec
        >>> output_layouts([TensorSpec("logits", (1, 96, 96, 4), np.dtype("float32"))], (96, 96))[0]["layout"]
        'NHWC'
    """
    from ..tasks.segment import guess_layout

    out = []
    for spec in outputs:
        entry = spec.to_dict()
        if len(spec.shape) == 4:
            entry["layout"] = guess_layout(spec.shape, input_size)
        out.append(entry)
    return out


def _source_digest(path: Path) -> str:
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()  # a SavedModel directory: every file, in a stable order
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()
