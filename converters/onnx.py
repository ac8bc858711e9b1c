"""Keras / SavedModel (through tf2onnx) or an existing ``.onnx`` -> a checked, static-shape ``.onnx``
at fp32, fp16 (float16 weights and arithmetic, float32 input and output) or QDQ int8.

:func:`build_onnx` gives the fp32 ``ModelProto`` (exported with opset 17, or the
user's file with its input pinned to ``source.input_shape``); :func:`check_onnx`
holds it to what TensorRT and ONNX Runtime need; ``onnx_precision`` converts it
(fp16, int8); :class:`ONNXConverter` writes and verifies the file.

Example:
    >>> from edgevision.converters import get_converter            # doctest: +SKIP
    >>> out = get_converter("onnx").convert(job)                   # doctest: +SKIP
    >>> out.converter["tool"], out.converter["symmetric"]          # doctest: +SKIP
    ('tf2onnx + onnxruntime.quantization', True)
"""
from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConversionError, ModelError, ModelFileError
from .base import Converter, ConvertJob, ConvertOutput, SourceModel, check_job, dynamic_dims

OPSET = 17  # what tf2onnx exports: TensorRT 8.6+ (JetPack 6) and ONNX Runtime 1.14+ read it
MIN_OPSET = 11  # the oldest a passthrough file may have: the first with today's Resize/Pad/Slice semantics
FLOAT = 1  # onnx.TensorProto.FLOAT
UINT8 = 2  # onnx.TensorProto.UINT8


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # only effective before TensorFlow's first import
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


def build_onnx(source: SourceModel) -> tuple[Any, dict[str, Any]]:
    """The fp32 ``onnx.ModelProto`` of ``source`` with its input pinned, and how it was made.

    Example:
        >>> model, info = build_onnx(job.source)            # doctest: +SKIP
        >>> info["tool"], info["opset"]                    # doctest: +SKIP
        ('tf2onnx', 17)
    """
    import onnx

    if source.kind in ("keras", "savedmodel"):
        import tf2onnx

        model = _from_keras(source) if source.kind == "keras" else _from_savedmodel(source)
        return model, {"tool": "tf2onnx", "version": tf2onnx.__version__, "opset": OPSET}
    if source.kind == "onnx":
        model = _read_onnx(source.path)
        pinned = pin_input(model, source.input_shape)
        info: dict[str, Any] = {"tool": "onnx passthrough", "version": onnx.__version__, "opset": opset_of(model)}
        if pinned:
            info["pinned_dims"] = pinned
        return model, info
    raise ConversionError(f"expected a keras, savedmodel or onnx source for ONNX, got {source.kind!r}")


def _from_keras(source: SourceModel) -> Any:
    import tf2onnx

    tf = _tf()
    model = source.keras()
    spec = (tf.TensorSpec(tuple(source.input_shape), tf.as_dtype(source.input_dtype), name=source.input_name),)
    return _tf2onnx(lambda: tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET), source)


def _from_savedmodel(source: SourceModel) -> Any:
    import tf2onnx

    tf = _tf()
    try:
        # Keep `loaded` referenced until the export is done: the signature holds its variables only weakly.
        loaded = tf.saved_model.load(str(source.path))
        sig = loaded.signatures["serving_default"]
    except (KeyError, OSError, ValueError) as e:
        raise ModelFileError(f"expected a SavedModel with a serving_default signature, got {source.path.name}: "
                             f"{' '.join(str(e).split())[:200]}") from None
    specs = sig.structured_input_signature[1]
    if len(specs) != 1:
        raise ModelError(f"expected a model with one image input, got {len(specs)} inputs in {source.path.name}")
    (name, _), = specs.items()
    fixed = tf.TensorSpec(tuple(source.input_shape), tf.as_dtype(source.input_dtype), name=source.input_name)

    def call(x: Any) -> Any:
        out = sig(**{name: x})
        return [out[k] for k in sorted(out)]  # outputs in name order, as the source reader lists them

    fn = tf.function(call, input_signature=[fixed])
    model = _tf2onnx(lambda: tf2onnx.convert.from_function(fn, input_signature=[fixed], opset=OPSET), source)
    del loaded
    return model


def _tf2onnx(convert: Any, source: SourceModel) -> Any:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras and tf2onnx print progress to stdout
            model, _ = convert()
    except (ValueError, TypeError, RuntimeError, KeyError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConversionError(f"expected tf2onnx to convert {source.path.name}, got: {first[:300]}") from None
    return model


def _read_onnx(path: Path) -> Any:
    import onnx
    from google.protobuf.message import DecodeError

    if not path.is_file():
        raise ModelFileError(f"expected an .onnx file, got missing path {str(path)!r}")
    try:
        model = onnx.load(str(path))
    except (DecodeError, RuntimeWarning, ValueError, OSError) as e:
        raise ModelFileError(f"expected an ONNX model, got {path.name} that onnx cannot parse "
                             f"({type(e).__name__})") from None
    if model.ir_version == 0 or not model.graph.node:  # protobuf parses an empty file as an empty message
        raise ModelFileError(f"expected an ONNX model, got {path.name} that holds no graph")
    return model


def opset_of(model: Any) -> int:
    """The model's default-domain (``ai.onnx``) opset version; 0 if it names none.

    Example:
        >>> import onnx.helper as h
        >>> opset_of(h.make_model(h.make_graph([], "g", [], []), opset_imports=[h.make_opsetid("", 13)]))
        13
    """
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)


def graph_inputs(model: Any) -> list[Any]:
    """The graph inputs a caller feeds (old exporters also list every initializer as an input)."""
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def pin_input(model: Any, shape: Sequence[int]) -> dict[str, int]:
    """Fix the single input's dynamic dims (dim_params, unknown or -1) to ``shape`` throughout the graph, in place.

    Returns {dim name or index: value} for what changed; a fixed dim that differs is a ConversionError.

    Example:
        >>> pin_input(model, (1, 224, 224, 3))              # doctest: +SKIP
        {'batch': 1}
    """
    from onnxruntime.tools.onnx_model_utils import fix_output_shapes, make_input_shape_fixed

    inputs = graph_inputs(model)
    if len(inputs) != 1:
        raise ModelError(f"expected a model with one image input, got {len(inputs)} inputs "
                         f"({', '.join(i.name for i in inputs)})")
    dims = inputs[0].type.tensor_type.shape.dim
    declared = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (d.dim_param or "?") for d in dims]
    if len(declared) != len(shape) or any(isinstance(d, int) and d != s for d, s in zip(declared, shape)):
        raise ConversionError(f"expected the input shape {tuple(shape)} to fit {inputs[0].name!r} of the ONNX file, "
                              f"got {declared}")
    changed = {(d if d != "?" else str(i)): int(s)
               for i, (d, s) in enumerate(zip(declared, shape)) if isinstance(d, str)}
    if changed:
        names = [d for d in declared if isinstance(d, str)]
        if len(set(names)) == len(names) and "?" not in names:
            make_input_shape_fixed(model.graph, inputs[0].name, [int(s) for s in shape])  # each name, everywhere
        else:
            # Dims sharing one name (PaddleOCR's "?" for both height and width) cannot be fixed by name:
            # pin the input's own dims; shape inference carries them through the graph.
            for dim, value in zip(dims, shape):
                dim.ClearField("dim_param")
                dim.dim_value = int(value)
            for value_info in model.graph.value_info:  # stale intermediate shapes would contradict the pinned input
                value_info.type.tensor_type.ClearField("shape")
        fix_output_shapes(model)  # runs ONNX shape inference so outputs get static shapes where they follow
    return changed


def check_onnx(model: Any, shape: Sequence[int], *, name: str) -> None:
    """ConversionError/ModelError unless ``model`` passes ``onnx.checker``, has opset >= 11, one float (or uint8) input
    of static ``shape``.

    Example:
        >>> check_onnx(model, (1, 64, 64, 3), name="model.onnx")   # doctest: +SKIP
    """
    import onnx

    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        first = (str(e).strip().splitlines() or ["invalid"])[0]
        raise ConversionError(f"expected a valid ONNX model, got {name} failing onnx.checker: {first[:200]}") from None
    opset = opset_of(model)
    if opset < MIN_OPSET:
        raise ConversionError(f"expected ONNX opset >= {MIN_OPSET}, got {opset} in {name}; re-export it with a "
                              f"newer opset (e.g. torch.onnx.export(..., opset_version={OPSET}))")
    inputs = graph_inputs(model)
    if len(inputs) != 1:
        raise ModelError(f"expected a model with one image input, got {len(inputs)} inputs in {name}")
    tensor = inputs[0].type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    if tensor.elem_type not in (FLOAT, UINT8):  # uint8: the TF OD API's image_tensor takes the pixels themselves
        raise ModelError(f"expected a float32 or uint8 image input, got "
                         f"{onnx.TensorProto.DataType.Name(tensor.elem_type)} input {inputs[0].name!r} in {name}")
    if dims != [int(d) for d in shape]:
        raise ConversionError(f"expected the static input shape {list(shape)}, got {dims} in {name}")


def write_onnx(model: Any, outdir: Path, stem: str, shape: Sequence[int]) -> Path:
    """Check ``model``, write ``<stem>.onnx`` under a temporary name, load it in ONNX Runtime, move it into place.

    Example:
        >>> write_onnx(model, Path("out"), "model_jetson-orin_fp16", (1, 64, 64, 3)).name   # doctest: +SKIP
        'model_jetson-orin_fp16.onnx'
    """
    import onnxruntime as ort

    final, tmp = outdir / f"{stem}.onnx", outdir / f".{stem}.onnx.partial"
    check_onnx(model, shape, name=final.name)
    tmp.write_bytes(model.SerializeToString())
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        try:
            ort.InferenceSession(str(tmp), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - ORT's pybind errors share no base below Exception
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ConversionError(f"expected ONNX Runtime to load the converted {final.name}, "
                                  f"got: {first[:200]}") from None
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


class ONNXConverter(Converter):
    """``.onnx`` for ONNX Runtime / TensorRT (Jetson): fp32, fp16 (float32 I/O), QDQ int8 (symmetric, per-channel).

    Options (int8 only): ``calibrate_method`` ("minmax", default; "entropy", "percentile"),
    ``op_types`` (the op types whose inputs are quantised; default the weighted ones), ``float_head``
    (default True) — see :func:`edgevision.converters.onnx_precision.quantize_qdq`.
    """

    format = "onnx"
    precisions = ("fp32", "fp16", "int8")
    sources = ("keras", "savedmodel", "onnx")

    def convert(self, job: ConvertJob) -> ConvertOutput:
        check_job(job, self.precisions, self.format)
        if job.source.kind not in self.sources:
            raise ConversionError(f"expected a keras, savedmodel or onnx source for ONNX, got {job.source.kind!r}")
        shape = tuple(job.source.input_shape)
        if dynamic_dims(shape):  # ONNX artifacts are always static: TensorRT rebuilds engines per shape
            raise ConversionError(f"expected a static input shape for ONNX, got {shape} for "
                                  f"{job.source.input_name!r}; pass the size to use (e.g. --input-shape 1,3,640,640)")
        from .onnx_precision import quantize_qdq, to_fp16

        job.log(f"onnx: reading {job.source.path.name} ({job.source.kind}) at {shape}")
        model, info = build_onnx(job.source)
        info["input_shape"] = list(shape)
        check_onnx(model, shape, name=job.source.path.name)
        if job.precision == "fp16":
            model, settings = to_fp16(model, target=job.target.id)
            info.update(settings)
        elif job.precision == "int8":
            model, settings = quantize_qdq(model, job)
            info.update(settings, tool=f"{info['tool']} + onnxruntime.quantization")
        path = write_onnx(model, job.outdir, job.stem, shape)
        return ConvertOutput(file=path, format=self.format, precision=job.precision, converter=info)
