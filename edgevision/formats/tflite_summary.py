"""``summary``: a plain-dict digest of a verified ``.tflite`` graph, as ``edgevision inspect`` prints it.

Inputs and outputs (name, shape, dtype, quantisation), op counts, how many ops run in
float and in integer, and whether the model is fully quantised.

Example:
    >>> from edgevision.formats.tflite import read_tflite
    >>> s = summary(read_tflite("model_int8.tflite"))            # doctest: +SKIP
    >>> s["float_ops"], s["int_ops"], s["boundary_ops"]           # doctest: +SKIP
    (0, 64, {'DEQUANTIZE': 1, 'QUANTIZE': 1})
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from edgevision.formats.tflite_graph import FLOAT_DTYPES, Tensor, TFLiteGraph

__all__ = ["BOUNDARY_OPS", "summary"]

#: Ops that convert between float and integer: counted apart, not as float or int.
BOUNDARY_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


def summary(graph: TFLiteGraph) -> dict[str, Any]:
    """A plain-dict digest of ``graph`` for ``edgevision inspect`` (printable, JSON-able).

    Inputs/outputs are those of subgraph 0; op counts cover every subgraph.
    An op is a float op when its first non-constant input (else its first
    output) is float; QUANTIZE/DEQUANTIZE are counted apart as boundaries.
    ``fully_quantized`` means no op reads or writes a non-constant float tensor.

    Example:
        >>> s = summary(read_tflite("model_int8.tflite"))      # doctest: +SKIP
        >>> s["inputs"][0]["quantization"], s["fully_quantized"]  # doctest: +SKIP
        ({'scale': 0.0039, 'zero_point': 0}, True)
    """
    counts: Counter[str] = Counter()
    boundary: Counter[str] = Counter()
    float_ops = int_ops = 0
    fully_quantized = True
    for sub in graph.subgraphs:
        tensors = sub.tensors
        for op in sub.operators:
            name = graph.op_name(op)
            counts[name] += 1
            live = [tensors[i] for i in op.inputs if i >= 0 and not tensors[i].is_constant]
            live_outputs = [tensors[i] for i in op.outputs if i >= 0]
            if any(t.dtype in FLOAT_DTYPES for t in live + live_outputs):
                fully_quantized = False
            if name in BOUNDARY_OPS:
                boundary[name] += 1
                continue
            first = next(iter(live or live_outputs), None)
            if first is not None and first.dtype in FLOAT_DTYPES:
                float_ops += 1
            else:
                int_ops += 1
    return {
        "version": graph.version,
        "description": graph.description,
        "subgraphs": len(graph.subgraphs),
        "inputs": [_describe(t) for t in graph.inputs],
        "outputs": [_describe(t) for t in graph.outputs],
        "ops": _by_count(counts),
        "float_ops": float_ops,
        "int_ops": int_ops,
        "boundary_ops": _by_count(boundary),
        "fully_quantized": fully_quantized,
        "metadata_entries": list(graph.metadata),
    }


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _describe(t: Tensor) -> dict[str, Any]:
    info: dict[str, Any] = {"name": t.name, "shape": list(t.shape), "dtype": t.dtype}
    if t.is_dynamic:
        info["shape_signature"] = list(t.shape_signature or ())
    q = t.quantization
    if q is not None:
        if q.per_channel:
            info["quantization"] = f"per-channel ({len(q.scale)})"
        else:
            info["quantization"] = {"scale": q.scale[0], "zero_point": q.zero_point[0]}
    return info
