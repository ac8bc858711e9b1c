"""Keras / SavedModel -> ``.tflite`` at fp32, fp16 weights, dynamic-range or full-integer int8.

One pure function builds the ``tf.lite.TFLiteConverter`` (:func:`build_converter`);
:func:`write_tflite` runs it, verifies the file with the pure-Python reader and
moves it into place; :class:`TFLiteConverter` is the registry entry. The Edge TPU
converter reuses :func:`write_tflite` for its full-integer input.

TensorFlow is imported inside the functions: ``import edgevision`` stays light.

Example:
    >>> from edgevision.converters import get_converter            # doctest: +SKIP
    >>> out = get_converter("tflite").convert(job)                 # doctest: +SKIP
    >>> out.file.name, out.precision, out.converter["io_dtype"]    # doctest: +SKIP
    ('classifier_rpi5_int8.tflite', 'int8', 'uint8')
"""
from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConversionError, ModelFileError
from ..formats.tflite import read_tflite
from ..formats.tflite_graph import FLOAT_DTYPES, TFLiteGraph
from .base import Calibration, Converter, ConvertJob, ConvertOutput, SourceModel

IO_DTYPES = ("uint8", "int8")
TOOL = "tf.lite.TFLiteConverter"


def _tf() -> Any:
    """TensorFlow, imported on first use with its C++ log quietened (only effective before the first import)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


def build_converter(source: SourceModel, precision: str, *, calibration: Calibration | None = None,
                    io_dtype: str = "uint8") -> tuple[Any, str]:
    """A configured ``tf.lite.TFLiteConverter`` for ``source`` at ``precision``, and how it reads the source.

    The input is pinned to ``source.input_shape`` (static, batch 1): a source whose
    own input shape differs (``None`` dims) is first re-wrapped with a static input
    (:func:`pin_keras`, or a re-exported SavedModel). int8 is full-integer
    (``TFLITE_BUILTINS_INT8`` only, per-channel weights, ``io_dtype`` input and
    output) and needs ``calibration``. Nothing is converted yet.

    Example:
        >>> conv, how = build_converter(source, "int8", calibration=cal)   # doctest: +SKIP
        >>> how                                                           # doctest: +SKIP
        'from_keras_model'
        >>> data = conv.convert()                                         # doctest: +SKIP
    """
    if precision not in ("fp32", "fp16", "dynamic", "int8"):
        raise ConversionError(f"expected a TFLite precision among fp32, fp16, dynamic, int8, got {precision!r}")
    if precision == "int8":
        if calibration is None or len(calibration) == 0:
            raise ConversionError("expected calibration samples for full-integer int8, got none "
                                  "(pass --calibration DIR or .npy)")
        if io_dtype not in IO_DTYPES:
            raise ConversionError(f"expected io_dtype among {', '.join(IO_DTYPES)}, got {io_dtype!r}")
    _check_static(source)
    tf = _tf()
    conv, how = _from_source(tf, source)
    if precision in ("fp16", "dynamic", "int8"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if precision == "fp16":
        conv.target_spec.supported_types = [tf.float16]  # weights stored as float16, arithmetic stays float
    elif precision == "int8" and calibration is not None:
        samples = calibration

        def representative() -> Iterator[list]:
            for sample in samples:
                yield [sample]

        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]  # no float fallback kernels
        conv.inference_input_type = getattr(tf, io_dtype)
        conv.inference_output_type = getattr(tf, io_dtype)
    return conv, how


def _check_static(source: SourceModel) -> None:
    shape = tuple(source.input_shape)
    if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
        raise ConversionError(f"expected a static input shape for {source.input_name!r}, got {shape}; "
                              "pass the size to use (e.g. --input-shape 1,224,224,3)")


def _from_source(tf: Any, source: SourceModel) -> tuple[Any, str]:
    """The converter for the source kind, reading it as-is when its input already has the pinned shape."""
    shape = tuple(source.input_shape)
    if source.kind == "keras":
        model = source.keras()
        if len(model.inputs) != 1:
            raise ConversionError(f"expected a model with one image input, got {len(model.inputs)} inputs")
        pinned = model if tuple(model.inputs[0].shape) == shape else pin_keras(model, shape, source.input_name)
        return tf.lite.TFLiteConverter.from_keras_model(pinned), "from_keras_model" + (
            "" if pinned is model else " (pinned)")
    if source.kind == "savedmodel":
        path = str(source.saved_model())
        loaded = tf.saved_model.load(path)
        if "serving_default" not in loaded.signatures:
            raise ConversionError(f"expected a 'serving_default' signature in {path}, got "
                                  f"{sorted(loaded.signatures) or 'none'}")
        sig = loaded.signatures["serving_default"]
        specs = sig.structured_input_signature[1]
        if len(specs) != 1:
            raise ConversionError(f"expected a model with one image input, got {len(specs)} inputs")
        (name, spec), = specs.items()
        if tuple(spec.shape) == shape:
            return tf.lite.TFLiteConverter.from_saved_model(path), "from_saved_model"
        pinned = _pin_saved_model(tf, loaded, sig, name, tf.TensorSpec(shape, spec.dtype, name=source.input_name),
                                  source.workdir / "saved_model_pinned")
        return tf.lite.TFLiteConverter.from_saved_model(str(pinned)), "from_saved_model (pinned)"
    raise ConversionError(f"expected a keras or savedmodel source for TFLite, got {source.kind!r}")


def pin_keras(model: Any, shape: tuple[int, ...], name: str) -> Any:
    """``model`` called on a static ``shape`` Input (batch included): a plain Keras model whose input has no None.

    from_keras_model then freezes its variables like any other model's (a hand-made
    tf.function + from_concrete_functions leaves Keras 3 variables as READ_VARIABLE
    ops that int8 calibration cannot run).

    Example:
        >>> pin_keras(model, (1, 224, 224, 3), "images").inputs[0].shape   # doctest: +SKIP
        (1, 224, 224, 3)
    """
    import keras

    fixed = keras.Input(batch_shape=shape, dtype=model.inputs[0].dtype, name=name)
    return keras.Model(fixed, model(fixed), name=model.name)


def _pin_saved_model(tf: Any, loaded: Any, sig: Any, name: str, spec: Any, out: Path) -> Path:
    """Re-export ``sig`` with the static input ``spec``: the converter then freezes its variables as usual.

    (A tf.function passed straight to from_concrete_functions keeps them as READ_VARIABLE ops,
    which int8 calibration cannot run.)
    """

    def call(x: Any) -> Any:
        return sig(**{name: x})

    module = tf.Module()
    module.source = loaded  # tracked, so the variables the signature reads are saved with it
    module.serve = tf.function(call, input_signature=[spec])
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serve})
    return out


def float_tensors(graph: TFLiteGraph) -> list[str]:
    """Names of non-constant float tensors that any op of any subgraph reads or writes.

    A full-integer model has none: every activation from input to output is integer.

    Example:
        >>> float_tensors(read_tflite("model_int8.tflite"))   # doctest: +SKIP
        []
    """
    names: list[str] = []
    for sub in graph.subgraphs:
        for op in sub.operators:
            for i in op.inputs + op.outputs:
                t = sub.tensors[i] if i >= 0 else None
                if t is not None and not t.is_constant and t.dtype in FLOAT_DTYPES and t.name not in names:
                    names.append(t.name)
    return names


def write_tflite(job: ConvertJob, precision: str) -> tuple[Path, TFLiteGraph, dict[str, Any]]:
    """Convert ``job.source`` to ``job.outdir/<stem>.tflite`` and verify it; return (path, graph, converter info).

    The file is written under a temporary name and moved into place only once it
    reads back, has the static batch-1 input, and (int8) the requested IO dtype
    and no float tensor between input and output.

    Example:
        >>> path, graph, info = write_tflite(job, "int8")   # doctest: +SKIP
        >>> info["calibration_samples"]                     # doctest: +SKIP
        32
    """
    io_dtype = job.options.io_dtype
    conv, how = build_converter(job.source, precision, calibration=job.calibration, io_dtype=io_dtype)
    tf = _tf()
    try:
        from tensorflow.lite.python.convert_phase import ConverterError
    except ImportError:  # a private module that may move; the generic errors below still apply
        ConverterError = RuntimeError
    job.log(f"tflite: converting {job.source.path.name} at {precision} ({how})")
    try:
        with warnings.catch_warnings():
            # TF warns that uint8/int8 input statistics are absent: the representative data supplies them.
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs")
            with contextlib.redirect_stdout(io.StringIO()):  # Keras 3 prints where it exports the SavedModel
                data = conv.convert()
    except (ValueError, RuntimeError, TypeError, ConverterError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConversionError(f"expected {TOOL} to convert {job.source.path.name} at {precision}, "
                              f"got: {first}") from e
    final = job.outdir / f"{job.stem}.tflite"
    tmp = job.outdir / f".{job.stem}.tflite.partial"
    tmp.write_bytes(data)
    try:
        graph = _verify(tmp, job.source, precision, io_dtype)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    info: dict[str, Any] = {"tool": TOOL, "version": tf.__version__, "reads": how}
    if precision == "fp16":
        info["weights"] = "float16"
    elif precision == "dynamic":
        info["weights"] = "int8 (dynamic-range: float activations)"
    elif precision == "int8" and job.calibration is not None:  # build_converter refused int8 without it
        info.update(io_dtype=io_dtype, calibration_samples=len(job.calibration),
                    calibration_origin=job.calibration.origin, supported_ops="TFLITE_BUILTINS_INT8",
                    weights="int8 per-channel")
    return final, graph, info


def carry_offsets(job: ConvertJob, path: Path, via: dict[str, Any]) -> None:
    """Write the offsets lifted out of the source's outputs into the artifact (``converters/offsets.py``)."""
    if job.source.output_offsets:
        from .offsets import embed_offsets

        carried = embed_offsets(path, job.source.output_offsets)
        via.setdefault("head_split", {})["offsets_carried_by"] = carried


def _verify(path: Path, source: SourceModel, precision: str, io_dtype: str) -> TFLiteGraph:
    try:
        graph = read_tflite(path)
    except ModelFileError as e:
        raise ConversionError(f"expected {TOOL} to write a valid .tflite, got: {e}") from None
    want = tuple(source.input_shape)
    for t in graph.inputs:
        if t.shape != want or t.is_dynamic:
            raise ConversionError(f"expected input {t.name!r} of static shape {want}, got "
                                  f"{t.shape_signature if t.is_dynamic else t.shape}")
    if precision == "int8":
        for t in graph.inputs + graph.outputs:
            if t.dtype != io_dtype:
                raise ConversionError(f"expected {io_dtype} model input/output {t.name!r}, got {t.dtype}")
        floats = float_tensors(graph)
        if floats:
            raise ConversionError(f"expected no float tensor between input and output of the int8 model, "
                                  f"got {len(floats)} (first: {floats[0]!r}); an op without an int8 kernel "
                                  "sits there: replace it or move it out of the model")
    return graph


class TFLiteConverter(Converter):
    """``.tflite`` for LiteRT (Raspberry Pi, any CPU): fp32, fp16 weights, dynamic-range or full-integer int8.

    Options: ``io_dtype`` ("uint8" or "int8", int8 only; default "uint8").
    """

    format = "tflite"
    precisions = ("fp32", "fp16", "dynamic", "int8")
    sources = ("keras", "savedmodel", "onnx")

    def convert(self, job: ConvertJob) -> ConvertOutput:
        if job.precision not in self.precisions:
            raise ConversionError(f"expected a TFLite precision among {', '.join(self.precisions)}, "
                                  f"got {job.precision!r}")
        from .onnx_tflite import tflite_job

        job, via = tflite_job(job)  # an ONNX source: its NHWC SavedModel (onnx2tf), the head split for int8
        if job.precision == "fp16":
            check_fp16_weights(job)
        path, _, info = write_tflite(job, job.precision)
        report: dict = {}
        if job.precision == "int8":
            from .mixed import tflite_int8

            path, report["layers"], mixed = tflite_int8(job, path, self.format)
            info.update(mixed)
        carry_offsets(job, path, via)
        return ConvertOutput(file=path, format=self.format, precision=job.precision,
                             converter={**info, **({"onnx2tf": via} if via else {})}, report=report)


FP16_MAX = 65504.0


def check_fp16_weights(job: ConvertJob) -> None:
    """ConversionError naming the layer when a Keras source's weights exceed the float16 range (they would turn inf).

    Example:
        >>> check_fp16_weights(job)                      # doctest: +SKIP
    """
    if job.source.kind != "keras":
        return
    import numpy as np

    for weight in job.source.keras().weights:
        values = np.asarray(weight)
        finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values[:0]
        if finite.size and float(np.abs(finite).max()) > FP16_MAX:
            raise ConversionError(f"expected weights within the float16 range (|x| <= {FP16_MAX:.0f}) for an fp16 "
                                  f"artifact, got {float(np.abs(finite).max()):.4g} in {weight.path!r}: convert "
                                  f"this target at fp32 or int8 (--target {job.target.id}:fp32)")
