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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence

from ..backends import open_backend
from ..bundle import Artifact, Manifest, sha256_file, write_bundle
from ..errors import ConversionError, UserInputError
from ..model import Model
from . import calibration as cal
from . import fidelity
from .base import PRECISIONS, Calibration, ConvertJob, ConvertOutput
from .info import ModelInfo, resolve_model_info
from .source import ReferenceBackend, open_source_model, source_kind

# Why a source kind cannot reach a format, where the reason is not obvious.
NO_ROUTE = {
    ("onnx", "tflite"): "ONNX -> TFLite needs onnx2tf, which pins tensorflow 2.19, numpy 1.26 and protobuf 4 "
                        "(and its Python 3.12 release other exact versions) and breaks TensorFlow 2.21 in the "
                        "same environment; convert the Keras/SavedModel source instead, or run onnx2tf in a "
                        "venv of its own",
}

# How the fidelity check runs each format on this workstation (its CPU; the device's accelerator is not here).
FIDELITY_BACKEND = {"tflite": "litert", "edgetpu-tflite": "litert", "openvino-ir": "openvino", "onnx": "onnxruntime"}
STEM = {"tflite": "{m}_{p}", "edgetpu-tflite": "{m}_coral_{p}", "openvino-ir": "{m}_{p}", "onnx": "{m}_{p}"}


@dataclass
class ConvertedBundle:
    """What ``convert`` wrote: the bundle's path, its manifest, and one summary row per target."""

    path: Path
    manifest: Manifest
    rows: list = field(default_factory=list)
    warnings: list = field(default_factory=list)

    def load(self, target: str = "auto", **kwargs: Any) -> Model:
        """``edgevision.load`` on this bundle."""
        from ..model import load

        return load(self.path, target=target, **kwargs)


def plan(targets: Sequence[str], precision: Optional[str]) -> list[tuple[Any, str]]:
    """(target profile, precision) per target; unknown targets and precisions a target refuses fail here.

    A target may carry its own precision: ``"jetson-orin:int8"`` overrides ``precision`` for it.
    """
    from edgevision.targets import load_target

    if not targets:
        raise UserInputError("expected at least one --target, got none")
    out = []
    for t in dict.fromkeys(targets):
        name, _, suffix = t.rpartition(":")
        per_target = suffix if name and suffix in PRECISIONS else None  # "jetson-orin:int8"
        profile = load_target(name if per_target else t)
        allowed = [p.value for p in profile.artifact.precisions]
        want = per_target or precision or profile.artifact.precision.value
        if want not in allowed:
            raise UserInputError(f"expected a precision {profile.id} takes ({', '.join(allowed)}), got {want!r}")
        out.append((profile, want))
    return out


def check_routes(kind: str, jobs: list[tuple[Any, str]]) -> None:
    """ConversionError when a target's converter cannot read this kind of source."""
    from . import get_converter

    for profile, _ in jobs:
        fmt = profile.artifact.format.value
        converter = get_converter(fmt)
        if kind not in converter.sources:
            reason = NO_ROUTE.get((kind, "tflite" if fmt == "edgetpu-tflite" else fmt),
                                  f"the {fmt} converter reads {', '.join(converter.sources)}")
            raise ConversionError(f"expected a source the {profile.id} target's converter reads, got a {kind} "
                                  f"model: {reason}")


def convert(model: "str | Path", targets: Sequence[str], *, out: "str | Path",
            calibration: "str | Path | int | None" = None, validation: "str | Path | None" = None,
            precision: Optional[str] = None, input_shape: Optional[Sequence[int]] = None,
            model_info: "str | Path | None" = None, overrides: Optional[Mapping[str, Any]] = None,
            max_drop: Optional[float] = None, io_dtype: str = "uint8", samples: int = 300,
            overwrite: bool = False, log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> ConvertedBundle:
    """Convert ``model`` for every target into the bundle ``out``.

    ``calibration``: a directory of images, a ``.npy`` of preprocessed tensors, or a
    number of synthetic samples. ``validation``: held-out images for fidelity
    (default: every fifth calibration image, kept out of calibration).
    """
    model, dest = Path(model), Path(out)
    jobs = plan(targets, precision)  # typed errors before any heavy work
    check_routes(source_kind(model), jobs)
    if max_drop is not None and not 0 <= max_drop <= 1:
        raise UserInputError(f"expected --max-drop between 0 and 1, got {max_drop}")
    if dest.exists() and not overwrite:
        raise UserInputError(f"expected a new bundle path, got existing {str(dest)!r} (pass --overwrite)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.", suffix=".convert", dir=dest.parent) as tmp:
        work = Path(tmp)
        (work / "source").mkdir()
        source = open_source_model(model, workdir=work / "source", input_shape=input_shape)
        log(f"source: {model.name} ({source.kind}), input {list(source.input_shape)} {source.layout}")
        reference_backend = ReferenceBackend(source)
        info = resolve_model_info(model, reference_backend.outputs, info_file=Path(model_info) if model_info else None,
                                  overrides=overrides, input_size=source.size)
        reference = Model(reference_backend, task=info.task, labels=info.labels, input_format=info.input,
                          decoder=info.decoder)  # a task that does not fit the outputs fails here
        log(f"model: {info.task}, decoder {info.decoder['type']}, {len(info.labels)} labels (from {info.origin})")
        calib, samples_ = _data(source, info, calibration, validation, samples, log,
                                need_calibration=any(p == "int8" for _, p in jobs))
        ref_results = fidelity.run_model(reference, samples_)
        n_classes = _num_classes(info, reference_backend.outputs)
        ref_truth = fidelity.reference_truth_score(info.task, ref_results, samples_, n_classes)
        built: dict[tuple, ConvertOutput] = {}
        artifacts, files, rows, warnings = {}, {}, [], []
        for profile, prec in jobs:
            fmt = profile.artifact.format.value
            key = (fmt, prec)
            if key not in built:
                from . import get_converter

                outdir = work / "artifacts" / f"{fmt}-{prec}"
                outdir.mkdir(parents=True)
                job = ConvertJob(source=source, target=profile, precision=prec, calibration=calib, outdir=outdir,
                                 stem=STEM[fmt].format(m=model.stem, p=prec), log=log,
                                 # A detector head concatenates boxes and scores: kept float in the OpenVINO
                                 # and ONNX int8 builds (a 0.015-0.15 mAP drop otherwise); a classifier's
                                 # head is most of its weights and quantises well.
                                 options={"io_dtype": io_dtype, "float_head": info.task == "detection"})
                log(f"{profile.id}: building {fmt} {prec} ...")
                built[key] = get_converter(fmt).convert(job)
                report = built[key].report
                if "summary" in report:  # the Edge TPU op-mapping report, and how to get the compiler
                    from .edgetpu_report import format_report

                    for line in format_report(report):
                        log(f"{profile.id}: {line}")
                for w in built[key].warnings:
                    if not ("summary" in report and w.startswith("edgetpu_compiler not found")):  # said just above
                        log(f"warning: {profile.id}: {w}")
                    warnings.append(f"{profile.id}: {w}")
            output = built[key]
            fid, input_spec = _fidelity(output, info, samples_, ref_results, n_classes, ref_truth)
            for f in (output.file, *output.extra_files):
                files[Path(f).name] = f
            artifacts[profile.id] = Artifact(file=output.file.name, format=output.format, precision=output.precision,
                                             converter={**output.converter, "calibration": calib.origin if calib else None,
                                                        **({"warnings": output.warnings} if output.warnings else {})},
                                             fidelity=fid, input=input_spec, report=output.report)
            rows.append({"target": profile.id, "format": output.format, "precision": output.precision,
                         "size": Path(output.file).stat().st_size + sum(Path(f).stat().st_size for f in output.extra_files
                                                                        if Path(f).suffix == ".bin"),
                         "fidelity": fid, "file": output.file.name})
        failed = [r for r in rows if max_drop is not None and r["fidelity"]["drop"] > max_drop]
        manifest = Manifest(task=info.task, decoder=info.decoder, labels=info.labels, input=info.input,
                            artifacts=artifacts, name=model.stem,
                            source={"file": model.name, "sha256": _source_digest(model), "format": source.kind})
        result = ConvertedBundle(dest, manifest, rows, warnings)
        if failed:
            worst = max(failed, key=lambda r: r["fidelity"]["drop"])
            error = ConversionError(
                f"expected every artifact within --max-drop {max_drop} of the source, got {worst['target']} "
                f"{worst['precision']} dropping {worst['fidelity']['drop']:.4f} ({worst['fidelity']['drop_metric']}); "
                f"{len(failed)} of {len(rows)} over the bound, no bundle written")
            error.rows = rows  # the CLI still prints the table, so the user sees every figure
            raise error
        write_bundle(dest, manifest, files, overwrite=overwrite)
    return result


def _data(source: Any, info: ModelInfo, calibration: Any, validation: Any, limit: int, log: Callable,
          need_calibration: bool) -> tuple[Optional[Calibration], list]:
    """(calibration tensors, validation samples with ground truth)."""
    shape = source.input_shape
    held: list[Path] = []
    calib = None
    if calibration is None and need_calibration:
        raise UserInputError("expected --calibration (a directory of images, a .npy, or a number of synthetic "
                             "samples) for an int8 target, got none")
    if isinstance(calibration, int) or (isinstance(calibration, str) and calibration.isdigit()):
        calib = cal.calibration_from_synthetic(int(calibration), info.input, shape) if need_calibration else None
    elif calibration is not None and Path(calibration).suffix.lower() == ".npy":
        calib = cal.calibration_from_npy(calibration, shape, limit=limit)
    elif calibration is not None:
        images = cal.find_images(calibration)
        used = images
        if validation is None and len(images) >= 10:
            used, held = cal.split_held_out(images)
        calib = cal.calibration_from_images(used, info.input, shape, limit=limit) if need_calibration else None
    if validation is not None:
        held = cal.find_images(validation)
        root = Path(validation)
    else:
        root = Path(calibration) if held else None
    if held:
        samples = cal.load_samples(held, info.task, info.labels, root=root)
        log(f"fidelity on {len(samples)} held-out images from {held[0].parent}")
    else:
        w, h = source.size
        images = cal.synthetic_images(32, (max(w, 64), max(h, 64)), seed=12345)
        samples = [cal.Sample(f"synthetic-{i}", im) for i, im in enumerate(images)]
        log("warning: no held-out images (pass --validation DIR): fidelity measured on 32 synthetic scenes")
    if calib is not None:
        log(f"calibration: {calib.origin}")
    return calib, samples


def _fidelity(output: ConvertOutput, info: ModelInfo, samples: list, ref_results: list, n_classes: int,
              ref_truth: Optional[float]) -> tuple[dict, dict]:
    """Load the artifact through the runtime (this host's CPU) and compare it with the source."""
    file = Path(output.file)
    cpu_twin = file.with_name(file.name.replace("_edgetpu.tflite", ".tflite"))
    ran = cpu_twin if file.name.endswith("_edgetpu.tflite") and cpu_twin.is_file() else file
    backend = open_backend(ran, backend=FIDELITY_BACKEND[output.format], threads=None,
                           **({"device": "CPU"} if output.format == "openvino-ir" else {}))
    model = Model(backend, task=info.task, labels=info.labels, input_format=info.input, decoder=info.decoder)
    fid = fidelity.measure(model, samples, ref_results, num_classes=n_classes, reference_truth_score=ref_truth)
    fid["measured_on"] = f"{backend.info()['backend']} {backend.info()['device']} (this host)" + (
        f", {ran.name} (the Edge TPU artifact's CPU twin)" if ran != file else "")
    return fid, backend.inputs[0].to_dict()


def _num_classes(info: ModelInfo, outputs: list) -> int:
    if info.labels:
        return len(info.labels)
    shape = [d for d in outputs[0].shape]
    if info.decoder["type"] == "yolo":
        return min(shape[1], shape[2]) - 4
    if info.decoder["type"] == "classification":
        return max(shape)
    if info.decoder["type"] == "segmentation" and len(shape) == 4:
        return min(shape[1], shape[3])
    return 91  # SSD / COCO label space, when no labels say otherwise


def _source_digest(path: Path) -> str:
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()  # a SavedModel directory: every file, in a stable order
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()
