"""Tiny ONNX models written with ``onnx.helper`` (no TensorFlow, built in milliseconds) for pipeline tests.

``bright_spot_detector`` is a YOLO-layout detector ([1, 4+3, 64]) whose class scores are the
mean colour of each 8x8 cell of its 64x64 input: the bright shapes of ``synthetic://`` score
high, the dark background low, so detections move with the shapes. ``colour_classifier``
gives softmax scores over the mean R, G, B. Both take NHWC float input in [0, 1].

Example:
    path = bright_spot_detector(tmp_path / "det.onnx")
    model = edgevision.load(path)           # decoder guessed: yolo
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 64
CELL = 8
LABELS = ("red", "green", "blue")


def _save(graph, path: Path) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="edgevision-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def _pooled(nodes: list, inits: list) -> str:
    """Nodes from the NHWC input to per-cell mean colours [1, 3, cells]; returns the output name."""
    from onnx import helper, numpy_helper

    cells = (SIZE // CELL) ** 2
    inits.append(numpy_helper.from_array(np.array([1, 3, cells], np.int64), "cells_shape"))
    nodes += [
        helper.make_node("Transpose", ["images"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("AveragePool", ["nchw"], ["pooled"], kernel_shape=[CELL, CELL], strides=[CELL, CELL]),
        helper.make_node("Reshape", ["pooled", "cells_shape"], ["cell_colour"]),
    ]
    return "cell_colour"


def bright_spot_detector(path: Path) -> Path:
    """Raw YOLO output [1, 7, 64]: a 16x16 box centred on each 8x8 cell, scored by the cell's colour."""
    from onnx import TensorProto, helper, numpy_helper

    g = SIZE // CELL
    gy, gx = np.mgrid[0:g, 0:g].astype(np.float32)
    boxes = np.stack([gx.ravel() * CELL + CELL / 2, gy.ravel() * CELL + CELL / 2,
                      np.full(g * g, 2.0 * CELL), np.full(g * g, 2.0 * CELL)])[None].astype(np.float32)
    nodes: list = []
    inits = [numpy_helper.from_array(boxes, "boxes"),
             numpy_helper.from_array(np.array(0.5, np.float32), "half"),
             numpy_helper.from_array(np.array(12.0, np.float32), "gain")]
    colour = _pooled(nodes, inits)
    nodes += [
        helper.make_node("Sub", [colour, "half"], ["centred"]),
        helper.make_node("Mul", ["centred", "gain"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["scores"]),
        helper.make_node("Concat", ["boxes", "scores"], ["output0"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "bright_spot_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + 3, g * g])], inits)
    return _save(graph, path)


def colour_classifier(path: Path) -> Path:
    """Softmax [1, 3] over the image's mean R, G, B (scaled up so the scores are not a near-tie)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits = [numpy_helper.from_array(np.array(8.0, np.float32), "gain")]
    colour = _pooled(nodes, inits)
    nodes += [
        helper.make_node("ReduceMean", [colour], ["mean"], axes=[2], keepdims=0),
        helper.make_node("Mul", ["mean", "gain"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "colour_classifier",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 3])], inits)
    return _save(graph, path)
