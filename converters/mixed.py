"""int8 TFLite after the build: its per-layer report, and mixed precision where the format allows it.

:func:`tflite_int8` runs TensorFlow's ``QuantizationDebugger`` on the job's SavedModel / Keras
source (:func:`.layer_report.tflite_layers`); with ``job.options.float_layers`` it replaces the
full-integer file by the selectively quantised model the debugger builds, those layers in float
(LiteRT runs them on the CPU beside the int8 ones). The Edge TPU takes no float layer
(``FormatSpec.float_layers`` is False for it): asked for one, it says so.

Example:
    >>> path, report, info = tflite_int8(job, path)       # doctest: +SKIP
    >>> report["worst"][0]["layer"]                       # doctest: +SKIP
    'model/head/BiasAdd'
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConversionError
from ..formats.tflite import read_tflite
from ..formats.tflite_graph import TFLiteGraph
from ..targets.catalogue import FORMATS
from .base import ConvertJob

WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV")


def head_layers(graph: TFLiteGraph) -> list[str]:
    """Names of the ops from each output back to the last weighted op (included): the head's final ops, as the
    QuantizationDebugger's ``denylisted_nodes`` names them (their output tensors' names).

    Example:
        >>> head_layers(read_tflite("detector_int8.tflite"))[:2]      # doctest: +SKIP
        ['model/transpose', 'model/reshape']
    """
    sub = graph.subgraphs[0]
    producer = {o: op for op in sub.operators for o in op.outputs}
    names: list[str] = []
    stack, seen = list(sub.outputs), set()
    while stack:
        op = producer.get(stack.pop())
        if op is None or id(op) in seen:
            continue
        seen.add(id(op))
        kind = graph.op_name(op)
        if kind not in ("QUANTIZE", "DEQUANTIZE"):
            names.append(sub.tensors[op.outputs[0]].name)
        if kind not in WEIGHTED:
            stack.extend(i for i in op.inputs if i >= 0 and not sub.tensors[i].is_constant)
    return names


def tflite_int8(job: ConvertJob, path: Path, fmt: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """(artifact path, per-layer report, converter info on the float layers kept) for an int8 TFLite build."""
    from .layer_report import tflite_layers
    from .tflite import _verify

    wanted = tuple(job.options.float_layers)
    if wanted and not FORMATS[fmt].float_layers:
        raise ConversionError(f"expected no float layers for {fmt} (full-integer: a float op and every op after it "
                              f"would leave the accelerator), got {len(wanted)} ({wanted[0]!r} ...)")
    report, mixed = tflite_layers(job, float_layers=wanted)
    if not wanted or mixed is None:
        report["head"] = head_layers(read_tflite(path))
        return path, report, {}
    tmp = path.with_name(f".{path.name}.mixed.partial")
    tmp.write_bytes(mixed)
    try:
        graph = _verify(tmp, job.source, "fp32", job.options.io_dtype)  # float tensors allowed now
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    io = sorted({t.dtype for t in graph.inputs + graph.outputs})
    return path, report, {"float_layers": list(wanted), "io_dtypes": io,
                          "mixed_precision": "int8 with the named layers in float (QuantizationDebugger "
                                             "denylisted_nodes): LiteRT runs them on the CPU"}
