"""Cell positions lifted out of an int8 box branch: cut from the ONNX graph (the function unchanged once they are
added back), carried inside the .tflite, added back by the runtime before any decoder sees the outputs, and
refused with one line when the entry is malformed."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from test_heads import GRID, NC, SIZE, _conv_head_onnx, _run

from edgevision.converters.heads import plan_split, split_onnx
from edgevision.converters.offsets import embed_offsets, lift_offsets
from edgevision.errors import ConversionError, ModelFileError
from edgevision.formats.tflite import metadata_entry
from edgevision.model import load
from edgevision.offsets import METADATA_NAME, decode_offsets, encode_offsets


def _split_head():
    model = _conv_head_onnx()
    split = plan_split({"type": "yolo"}, [("output0", (1, 4 + NC, GRID * GRID))], ("a", "b", "c"))
    return model, split_onnx(model, split)[0]


def test_the_grid_is_lifted_out_of_the_boxes_and_adding_it_back_gives_the_same_outputs():
    model, cut = _split_head()
    lifted, offsets, how = lift_offsets(cut, ["output0_boxes"])
    assert how.startswith("lifted 2 constant Add ops out of output0_boxes"), how
    x = np.random.default_rng(5).random((1, 3, SIZE, SIZE), np.float32)
    before, after = _run(model, x)["output0"], _run(lifted, x)
    np.testing.assert_allclose(after["output0_boxes"] + offsets["output0_boxes"], before[:, :4], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(after["output0_scores"], before[:, 4:], rtol=1e-6, atol=1e-6)
    # what was lifted is the grid in pixels: cell centres - half a cell, on the centre channels only
    gy, gx = np.mgrid[0:GRID, 0:GRID].astype(np.float32)
    offset = offsets["output0_boxes"][0]
    np.testing.assert_allclose(offset[0], (gx.ravel() / GRID) * SIZE, atol=1e-4)
    np.testing.assert_allclose(offset[1], (gy.ravel() / GRID) * SIZE, atol=1e-4)
    assert not np.any(offset[2:])
    box_adds = [n for n in lifted.graph.node if n.op_type == "Add" and any(i.startswith("grid__g0") for i in n.input)]
    assert box_adds == [] and any(n.op_type == "Add" and "grid__g1p0" in n.input for n in lifted.graph.node)


def test_an_add_that_a_later_op_scales_stays_in_the_graph():
    """YOLOv8's anchor points are multiplied by the strides after the add: lifting stops at the Mul."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(1, 1, 8), "anchors"),
             numpy_helper.from_array(np.full((1, 1, 8), 8.0, np.float32), "strides")]
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Add", ["s", "anchors"], ["a"]),
             helper.make_node("Mul", ["a", "strides"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    same, offsets, how = lift_offsets(model, ["y"])
    assert same is model and offsets == {} and how.startswith("no constant add"), how
    onnx.checker.check_model(same)


def test_an_add_that_feeds_another_output_too_stays_in_the_graph():
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(1, 1, 8), "cells"),
             numpy_helper.from_array(np.array(2.0, np.float32), "two")]
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Add", ["s", "cells"], ["a"]),
             helper.make_node("Identity", ["a"], ["boxes"]), helper.make_node("Mul", ["a", "two"], ["other"])]
    value = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 1, 8])  # noqa: E731
    graph = helper.make_graph(nodes, "g", [value("x")], [value("boxes"), value("other")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    same, offsets, how = lift_offsets(model, ["boxes"])
    assert same is model and offsets == {} and how == "not lifted: the adds also change other", how


def test_offsets_travel_in_the_tflite_and_the_runtime_adds_them_before_decoding(zoo, scene, tmp_path):
    """A bare .tflite (no bundle) with an entry that moves every box centre 3 px right and 2 px down."""
    image = scene.image
    plain = tmp_path / "plain.tflite"
    shutil.copy(zoo["yolo"]["tflite"], plain)
    shifted = tmp_path / "shifted.tflite"
    shutil.copy(plain, shifted)
    reference = load(plain, task="detection", decoder="yolo", score_threshold=0.3)
    shape = reference.backend.outputs[0].shape
    offset = np.zeros(shape, np.float32)
    offset[0, 0], offset[0, 1] = 3.0, 2.0
    assert embed_offsets(shifted, {"output0": offset}) == [reference.backend.outputs[0].name]
    model = load(shifted, task="detection", decoder="yolo", score_threshold=0.3)
    assert set(model.backend.output_offsets()) == {0}
    a, b = reference.predict(image), model.predict(image)
    assert len(a.xyxy) > 0 and len(a.xyxy) == len(b.xyxy)
    sx, sy = image.shape[1] / model.input_size[0], image.shape[0] / model.input_size[1]
    h, w = image.shape[:2]
    inside = (a.xyxy[:, 0] > 1) & (a.xyxy[:, 1] > 1) & (b.xyxy[:, 2] < w - 1) & (b.xyxy[:, 3] < h - 1)  # not clipped
    assert inside.sum() >= 10
    np.testing.assert_allclose(b.xyxy[inside] - a.xyxy[inside], np.tile([3 * sx, 2 * sy], (int(inside.sum()), 2)),
                               atol=0.05)
    with pytest.raises(ConversionError, match=r"expected one output of shape \[1, 2, 3\]"):
        embed_offsets(shifted, {"output0": np.zeros((1, 2, 3), np.float32)})


@pytest.mark.parametrize("blob, message", [
    (b"\xff\xfe", "UTF-8 JSON"),
    (b'{"version": 2, "outputs": []}', '"version": 1'),
    (b'{"version": 1, "outputs": [{"index": 3, "name": "o", "shape": [1, 2], "values": [0, 0]}]}', "index 0..0"),
    (b'{"version": 1, "outputs": [{"index": 0, "name": "x", "shape": [1, 2], "values": [0, 0]}]}', "named 'o'"),
    (b'{"version": 1, "outputs": [{"index": 0, "name": "o", "shape": [1, 2], "values": [0]}]}', "2 numbers"),
    (b'{"version": 1, "outputs": [{"index": 0, "name": "o", "shape": [1, 2], "values": [0, NaN]}]}', "finite"),
])
def test_a_malformed_entry_is_one_typed_line(blob, message):
    from edgevision.backends.base import TensorSpec

    spec = TensorSpec("o", (1, 2), np.dtype("float32"))
    with pytest.raises(ModelFileError, match=message) as e:
        decode_offsets(blob, [spec], "m.tflite")
    assert "\n" not in str(e.value) and METADATA_NAME in str(e.value)
    good = encode_offsets([(0, "o", np.array([[1.5, -2.0]], np.float32))])
    assert decode_offsets(good, [spec], "m.tflite")[0].tolist() == [[1.5, -2.0]]


def test_a_bad_entry_in_a_tflite_fails_at_load(zoo, tmp_path):
    path = tmp_path / "bad.tflite"
    shutil.copy(zoo["yolo"]["tflite"], path)
    embed_offsets(path, {"output0": np.zeros(load(path, task="detection", decoder="yolo").backend.outputs[0].shape,
                                             np.float32)})
    data = bytearray(path.read_bytes())
    at = bytes(data).index(b'"version":1')
    data[at:at + 11] = b'"version":7'
    path.write_bytes(bytes(data))
    assert metadata_entry(bytes(data), METADATA_NAME).startswith(b'{"version":7')
    with pytest.raises(ModelFileError, match=r"expected edgevision.output_offsets in bad.tflite to be"):
        load(path, task="detection", decoder="yolo")
