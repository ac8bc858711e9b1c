"""A quantised ``.tflite`` source read by OpenVINO keeps its integer input and output, without their scale and zero
point (OpenVINO ports carry none): the IR is given float input and output here, quantised and dequantised inside.

The tflite's own semantics move into the graph (``q = clamp(round(x / scale) + zero_point)`` on the way in,
``(q - zero_point) * scale`` on the way out), so the artifact takes the same float values as the bundle's
``input.mean``/``std`` describe and gives scores in [0, 1], as every other artifact does.

Example:
    >>> model = float_io(read_source(job.source), job.source)     # doctest: +SKIP
    >>> model.inputs[0].get_element_type()                        # doctest: +SKIP
    <Type: 'float32'>
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import SourceModel


def tflite_io_quant(source: SourceModel) -> tuple[list, list]:
    """(input, output) ``(dtype, scale, zero_point)`` of a quantised ``.tflite`` source's integer tensors (else None)."""
    from ..formats.tflite import read_tflite

    graph = read_tflite(source.path)

    def of(tensors: list) -> list:
        out = []
        for t in tensors:
            q = t.quantization
            integer = t.dtype in ("uint8", "int8") and q is not None and not q.per_channel
            out.append((t.dtype, float(q.scale[0]), int(q.zero_point[0])) if integer and q is not None else None)
        return out

    return of(graph.inputs), of(graph.outputs)


def float_io(model: Any, source: SourceModel) -> Any:
    """``model`` (read by OpenVINO from a quantised ``.tflite``) with float input and outputs; unchanged otherwise."""
    if source.kind != "tflite":
        return model
    inputs, outputs = tflite_io_quant(source)
    if not any(inputs) and not any(outputs):
        return model
    import openvino as ov
    from openvino import opset13 as ops

    ppp = ov.preprocess.PrePostProcessor(model)
    for i, q in enumerate(inputs):
        if q is None:
            continue
        dtype, scale, zero_point = q
        info = np.iinfo(np.dtype(dtype))

        def quantise(node: Any, scale: float = scale, zero_point: int = zero_point, info: Any = info,
                     dtype: str = dtype) -> Any:
            x = ops.add(ops.round(ops.divide(node, np.float32(scale)), "half_to_even"), np.float32(zero_point))
            return ops.convert(ops.clamp(x, float(info.min), float(info.max)), np.dtype(dtype)).output(0)

        ppp.input(i).tensor().set_element_type(ov.Type.f32)
        ppp.input(i).preprocess().custom(quantise)
    for i, q in enumerate(outputs):
        if q is None:
            continue
        _, scale, zero_point = q

        def dequantise(node: Any, scale: float = scale, zero_point: int = zero_point) -> Any:
            return ops.multiply(ops.subtract(ops.convert(node, np.float32), np.float32(zero_point)), np.float32(scale)).output(0)

        ppp.output(i).postprocess().custom(dequantise)
        ppp.output(i).tensor().set_element_type(ov.Type.f32)
    return ppp.build()
