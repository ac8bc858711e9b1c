"""ONNX -> TensorFlow SavedModel (NHWC) through onnx2tf, for the TFLite and Edge TPU converters.

onnx2tf is installed without its pinned dependencies (``converters/onnx2tf-requirements.txt``,
README's install) and runs in a child process (:mod:`.onnx2tf_run`). It turns an NCHW graph
into NHWC: the SavedModel takes ``[1, H, W, C]``, so the runtime's preprocessing (which follows
the artifact's own input shape) applies unchanged; 4-D outputs come out NHWC too (a segmenter's
``[1, C, H, W]`` logits as ``[1, H, W, C]``: the segmentation decoder reads either, and the
manifest records the shape each artifact has), rank-3 detection heads keep their ONNX shape.

From the SavedModel on, the Keras/SavedModel path does the rest (:func:`.tflite.write_tflite`):
fp32, fp16, dynamic-range and full-integer int8 with per-channel weights, calibrated on the
user's data (transposed to NHWC here). For int8, a detection head is first cut into output
groups (:mod:`.heads`) so boxes and scores get scales of their own.

Example:
    >>> tf_job = tflite_job(job)                       # doctest: +SKIP
    >>> tf_job.source.kind, tf_job.source.layout       # doctest: +SKIP
    ('savedmodel', 'NHWC')
"""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConversionError
from .base import Calibration, ConvertJob, SourceModel
from .heads import HeadSplit, split_onnx

TIMEOUT = 1800.0  # seconds onnx2tf may take (a YOLOv8n: about a minute on 2 cores)
TEST_SAMPLES = 20  # images onnx2tf checks its layout decisions on (what its own download would give)


def nhwc(shape: Sequence[int], layout: str) -> tuple[int, ...]:
    """The NHWC form of an input shape.

    >>> nhwc((1, 3, 224, 160), "NCHW"), nhwc((1, 224, 160, 3), "NHWC")
    ((1, 224, 160, 3), (1, 224, 160, 3))
    """
    n, *rest = (int(d) for d in shape)
    return (n, rest[1], rest[2], rest[0]) if layout == "NCHW" else (n, *rest)


class _NHWC(Sequence):
    """Calibration samples of an NCHW source, each transposed when it is read (never all at once in memory)."""

    def __init__(self, samples: Sequence[np.ndarray] | np.ndarray) -> None:
        self._samples = samples

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, i: Any) -> Any:
        s = np.asarray(self._samples[i])
        return s.transpose(1, 2, 0) if s.ndim == 3 else s.transpose(0, 2, 3, 1)


def nhwc_calibration(calibration: Calibration | None, layout: str) -> Calibration | None:
    """The calibration data in the SavedModel's NHWC layout (unchanged for an NHWC source)."""
    if calibration is None or layout != "NCHW":
        return calibration
    out = Calibration(_NHWC(calibration._samples), origin=calibration.origin)
    out.dtype = calibration.dtype
    return out


def _test_data(calibration: Calibration | None, layout: str) -> np.ndarray | None:
    """Up to ``TEST_SAMPLES`` NHWC float tensors of the user's data, or None (onnx2tf_run uses seeded noise)."""
    if calibration is None or len(calibration) == 0:
        return None
    out = []
    for s in calibration:
        out.append(np.asarray(s[0], np.float32).transpose(1, 2, 0) if layout == "NCHW" else np.asarray(s[0], np.float32))
        if len(out) == TEST_SAMPLES:
            break
    return np.stack(out)


def onnx_for_tf(source: SourceModel, split: HeadSplit | None,
                log: Any) -> tuple[Any, dict[str, Any], dict[str, np.ndarray]]:
    """The ONNX model onnx2tf reads: the user's, input pinned, the head cut into groups when ``split`` is given
    (and the cell positions lifted out of its box group); with the converter info and the lifted offsets."""
    from .onnx import _read_onnx, pin_input

    model = _read_onnx(source.path)
    info: dict[str, Any] = {}
    pinned = pin_input(model, source.input_shape)
    if pinned:
        info["pinned_dims"] = pinned
    if split is not None:
        model, how = split_onnx(model, split)
        info["head_split"] = {**split.to_dict(), "done": how} if how.startswith("cut") else {"not_split": how}
        log(f"onnx2tf: head {how}")
        lift = [n for g, n in zip(split.groups, split.names) if g.lift]
        if how.startswith("cut") and lift:
            from .offsets import lift_offsets

            model, offsets, lifted = lift_offsets(model, lift)
            info["head_split"]["offsets"] = lifted
            log(f"onnx2tf: head {lifted}")
            return model, info, offsets
    return model, info, {}


def saved_model(source: SourceModel, *, split: HeadSplit | None = None, calibration: Calibration | None = None,
                log: Any = lambda m: None) -> tuple[SourceModel, dict[str, Any]]:
    """The NHWC SavedModel of an ONNX source as a ``SourceModel`` of kind ``savedmodel``, made once per split.

    Example:
        >>> tf_source, info = saved_model(job.source, split=None)   # doctest: +SKIP
        >>> tf_source.input_shape, info["tool"]                      # doctest: +SKIP
        ((1, 640, 640, 3), 'onnx2tf')
    """
    import onnx

    key = ("onnx2tf", split.to_dict()["groups"].__repr__() if split else None)
    if key in source._cache:
        return source._cache[key]
    # absolute: onnx2tf runs with this as its cwd, and `convert -o` may be a relative path
    work = (source.workdir / f"onnx2tf-{len([k for k in source._cache if k[0] == 'onnx2tf'])}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    model, info, offsets = onnx_for_tf(source, split, log)
    onnx.save(model, str(work / "model.onnx"))
    args = [sys.executable, "-m", "edgevision.converters.onnx2tf_run", str(work / "model.onnx"), str(work / "saved_model")]
    if source.layout == "NHWC":  # a TensorFlow model through tf2onnx: onnx2tf would take its input for NCHW
        args += ["--nhwc-input", source.input_name]
    data = _test_data(calibration, source.layout)
    if data is not None:
        np.save(work / "test_data.npy", data)
        args += ["--test-data", str(work / "test_data.npy")]
    log(f"onnx2tf: {source.path.name} -> SavedModel (NHWC)")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1"}
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=work, check=False)
    except subprocess.TimeoutExpired:
        raise ConversionError(f"expected onnx2tf to convert {source.path.name} within {TIMEOUT:.0f} s, got no "
                              "result in time") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.startswith("onnx2tf:")] or \
            [line for line in done.stderr.splitlines() if line.strip()][-1:] or [f"exit {done.returncode}"]
        if "No module named 'onnx2tf'" in done.stderr or "No module named onnx2tf" in done.stderr:
            raise ConversionError("expected onnx2tf for ONNX -> TFLite, got none installed: pip install --no-deps "
                                  "-r converters/onnx2tf-requirements.txt (README's install does)")
        raise ConversionError(f"expected onnx2tf to convert {source.path.name}, got: {lines[-1][:300]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    tf_source = dataclasses.replace(_read_saved_model(source, Path(result["saved_model"]), work), output_offsets=offsets)
    info.update(tool="onnx2tf", version=result["onnx2tf"], seconds=result["seconds"], layout="NHWC",
                outputs=list(tf_source.output_names))
    source._cache[key] = (tf_source, info)
    return tf_source, info


def _read_saved_model(source: SourceModel, path: Path, work: Path) -> SourceModel:
    from .source import _read_savedmodel

    name, shape, outputs, dtype, _ = _read_savedmodel(path)
    want = nhwc(source.input_shape, source.layout)
    if tuple(shape) != want:
        raise ConversionError(f"expected onnx2tf's SavedModel to take {list(want)} (NHWC), got {shape}")
    return SourceModel(path=path, kind="savedmodel", input_name=name, input_shape=want, layout="NHWC",
                       output_names=tuple(outputs), workdir=work, input_dtype=dtype)


def tflite_job(job: ConvertJob) -> tuple[ConvertJob, dict[str, Any]]:
    """``job`` with an ONNX source replaced by its NHWC SavedModel and the calibration transposed to match;
    int8 builds cut a detection head into output groups (``job.options.head_split``). Other sources: unchanged.

    Example:
        >>> tf_job, info = tflite_job(job)                 # doctest: +SKIP
    """
    if job.source.kind != "onnx":
        return job, {}
    split = job.options.head_split if job.precision == "int8" else None
    if job.precision == "fp16":
        from .onnx import _read_onnx
        from .onnx_precision import FP16_MAX, fp16_overflow

        over = fp16_overflow(_read_onnx(job.source.path))
        if over:
            node, op, name, peak = over[0]
            raise ConversionError(f"expected constants within the float16 range (|x| <= {FP16_MAX:.0f}) for an fp16 "
                                  f"artifact, got {peak:.4g} in {name!r} of layer {node!r} ({op}): convert this target "
                                  f"at fp32 or int8 (--target {job.target.id}:fp32)")
    tf_source, info = saved_model(job.source, split=split, calibration=job.calibration, log=job.log)
    return dataclasses.replace(job, source=tf_source,
                               calibration=nhwc_calibration(job.calibration, job.source.layout)), info
