"""``Session``: one ``convert``'s shared state, and the build of each target's artifact with its fidelity.

The source is read and run once on the held-out images; each target's artifact is
then built (or reused, when another target needs the very same build), gated, loaded
through the runtime on this host, and compared with the source: an ``ArtifactReport``
row and the manifest's ``Artifact`` entry come out.

Example:
    >>> session = Session.open(Path("model.keras"), Path(tmp), calibration="images/", validation=None,
    ...                        input_shape=None, model_info=None, overrides=None, samples=300,
    ...                        io_dtype="uint8", log=print, need_calibration=True)       # doctest: +SKIP
    >>> report, artifact, files = session.build(load_target("rpi5"), "int8")          # doctest: +SKIP
    >>> report.drop < FLAG_DROP                                                         # doctest: +SKIP
    True
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends import open_backend
from ..bundle import Artifact
from ..decode import num_classes
from ..model import Model
from ..targets import Target
from ..targets.catalogue import FORMATS, BackendName
from ..tasks.registry import task_spec
from . import fidelity
from .base import Calibration, ConvertJob, ConvertOptions, ConvertOutput, SourceModel
from .data import load_data
from .info import ModelInfo, resolve_model_info
from .source import ReferenceBackend, open_source_model

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

    def _onnx_hint(self) -> str:
        """What to try when a full-integer build of a TensorFlow detector misses the gate: its ONNX export, where
        the head is cut into groups (converters/heads.py), which the Keras/SavedModel route leaves whole."""
        if self.head_split is None or self.source.kind not in ("keras", "savedmodel"):
            return ""
        return ("its ONNX export (python -m tf2onnx.convert) converts with the head cut into boxes and scores, each "
                "on an int8 scale of its own (README: int8 that keeps a detector's boxes)")

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
                                        enabled=self.mixed_precision, hint=self._onnx_hint())
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
