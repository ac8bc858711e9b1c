"""Plain-dict digests of OpenVINO IR and ONNX graphs for ``edgevision inspect``.

Each reader imports its library only when called; the ``.tflite`` digest lives
in ``formats.tflite`` and needs no library at all.

Example:
    >>> digest("model.onnx")["ops"]        # doctest: +SKIP
    {'Conv': 2, 'Relu': 2, 'Gemm': 1}
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from ..integrity import ModelBytes, as_model_bytes

QUANT_OPS = {"FakeQuantize", "QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}


def _by_count(counts: Counter) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def openvino_digest(path: str | Path | ModelBytes) -> dict[str, Any]:
    from ..backends.openvino import _openvino, read_model

    ov = _openvino()
    source = as_model_bytes(path)
    model = read_model(ov.Core(), source, source)

    def port(p: Any) -> dict[str, Any]:
        names = sorted(p.get_names())
        return {"name": names[0] if names else "", "shape": str(p.get_partial_shape()),
                "dtype": p.get_element_type().get_type_name()}

    ops = Counter(op.get_type_name() for op in model.get_ordered_ops()
                  if op.get_type_name() not in ("Parameter", "Result", "Constant"))
    weights = Counter(op.get_element_type().get_type_name() for op in model.get_ordered_ops()
                      if op.get_type_name() == "Constant")
    return {"format": "openvino-ir", "inputs": [port(p) for p in model.inputs],
            "outputs": [port(p) for p in model.outputs], "ops": _by_count(ops),
            "constants_by_dtype": _by_count(weights), "quantized_ops": sum(n for k, n in ops.items() if k in QUANT_OPS)}


def onnx_digest(path: str | Path | ModelBytes) -> dict[str, Any]:
    source = as_model_bytes(path)
    path = source.path
    try:
        import onnx
    except ModuleNotFoundError:  # the device may have ONNX Runtime only
        return _ort_digest(source)
    try:
        model = onnx.load_model_from_string(source.data)  # the bytes checked, external data left out
    except (onnx.onnx_cpp2py_export.checker.ValidationError, ValueError, OSError) as e:
        raise ModelFileError(f"expected an ONNX model, got {path.name}: {str(e).splitlines()[0]}") from None
    except Exception as e:  # protobuf's DecodeError has no stable import path across versions
        if type(e).__name__ != "DecodeError":
            raise
        raise ModelFileError(f"expected an ONNX protobuf, got {path.name}: {e}") from None
    if not model.graph.node:
        raise ModelFileError(f"expected an ONNX model with a graph, got {path.name} with no nodes")
    init = {i.name for i in model.graph.initializer}

    def value(v: Any) -> dict[str, Any]:
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or -1) for d in t.shape.dim]
        return {"name": v.name, "shape": dims, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name}

    ops = Counter(n.op_type for n in model.graph.node)
    return {"format": "onnx", "opset": [f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import],
            "inputs": [value(v) for v in model.graph.input if v.name not in init],
            "outputs": [value(v) for v in model.graph.output], "ops": _by_count(ops),
            "quantized_ops": sum(n for k, n in ops.items() if k in QUANT_OPS)}


def _ort_digest(path: ModelBytes) -> dict[str, Any]:
    from ..backends.onnxruntime import ONNXRuntimeBackend

    b = ONNXRuntimeBackend(path, threads=1)
    return {"format": "onnx", "inputs": [s.to_dict() for s in b.inputs], "outputs": [s.to_dict() for s in b.outputs]}


def digest(path: str | Path | ModelBytes) -> dict[str, Any]:
    """Inputs, outputs, op counts and quantisation of a .tflite, .xml or .onnx file (or of checked ModelBytes)."""
    suffix = Path(path).suffix.lower()
    if not isinstance(path, ModelBytes) and not Path(path).is_file():
        raise ModelFileError(f"expected a model file, got missing path {str(path)!r}")
    if suffix == ".tflite":
        from .tflite import read_tflite
        from .tflite_summary import summary

        source = as_model_bytes(path)
        return {"format": "tflite", **summary(read_tflite(source.data, name=source.name))}
    if suffix == ".xml":
        return openvino_digest(path)
    if suffix == ".onnx":
        return onnx_digest(path)
    path = Path(path)
    raise ModelFileError(f"expected a .tflite, .xml or .onnx file or a bundle directory, got {path.name!r}")
