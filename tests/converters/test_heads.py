"""Head splitting on ONNX graphs: the final Concat cut into output groups, a single head conv split back per group,
the model's function unchanged (ONNX Runtime before and after), and every case that cannot be split said why."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.converters.heads import HEAD_SPLITS, HeadSplit, OutputGroup, plan_split, register_head_split, split_onnx

SIZE, GRID, NC = 32, 8, 3
N = GRID * GRID


def _conv_head_onnx(*, scale_after: bool = True):
    """A YOLOv5-like head as tf2onnx writes the reference detector's: one 1x1 Conv of 4+nc channels, Sigmoid,
    a per-channel Mul and a per-position Add (the grid), Transpose/Reshape/Transpose to [1, 4+nc, N], a Slice per
    group, the boxes scaled to pixels, and a Concat as the last op (output0 [1, 4+nc, N])."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    gy, gx = np.mgrid[0:GRID, 0:GRID].astype(np.float32)
    grid = np.zeros((1, 4 + NC, GRID, GRID), np.float32)
    grid[0, 0], grid[0, 1] = (gx + 0.5) / GRID - 0.5 / GRID, (gy + 0.5) / GRID - 0.5 / GRID
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (16, 3, 4, 4)).astype(np.float32), "w0"),
        numpy_helper.from_array(rng.normal(0, 0.5, (4 + NC, 16, 1, 1)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, (4 + NC,)).astype(np.float32), "b1"),
        numpy_helper.from_array(np.array([1 / GRID, 1 / GRID, 1, 1] + [1] * NC, np.float32).reshape(1, -1, 1, 1), "mul"),
        numpy_helper.from_array(grid, "grid"),
        numpy_helper.from_array(np.array([1, N, 4 + NC], np.int64), "rows"),
        numpy_helper.from_array(np.array([0, 0, 0], np.int64), "s0"),
        numpy_helper.from_array(np.array([2**31 - 1, 4, 2**31 - 1], np.int64), "e0"),
        numpy_helper.from_array(np.array([0, 4, 0], np.int64), "s1"),
        numpy_helper.from_array(np.array([2**31 - 1] * 3, np.int64), "e1"),
        numpy_helper.from_array(np.array([0, 1, 2], np.int64), "axes"),
        numpy_helper.from_array(np.array(float(SIZE), np.float32), "pixels"),
    ]
    nodes = [
        helper.make_node("Conv", ["images", "w0"], ["f"], strides=[4, 4], name="backbone"),
        helper.make_node("Relu", ["f"], ["fr"]),
        helper.make_node("Conv", ["fr", "w1", "b1"], ["h"], name="head"),
        helper.make_node("Sigmoid", ["h"], ["hs"]),
        helper.make_node("Mul", ["hs", "mul"], ["hm"]),
        helper.make_node("Add", ["hm", "grid"], ["ha"]),
        helper.make_node("Transpose", ["ha"], ["nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["nhwc", "rows"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Slice", ["t", "s0", "e0", "axes"], ["box_frac"]),
        helper.make_node("Slice", ["t", "s1", "e1", "axes"], ["scores"]),
    ]
    box = "box_frac"
    if scale_after:
        nodes.append(helper.make_node("Mul", ["box_frac", "pixels"], ["box_px"]))
        box = "box_px"
    nodes.append(helper.make_node("Concat", [box, "scores"], ["output0"], axis=1, name="head_concat"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + NC, N])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _run(model, x):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return {o.name: v for o, v in zip(session.get_outputs(), session.run(None, {"images": x}))}


def test_plan_split_follows_the_attribute_axis():
    split = plan_split({"type": "yolo"}, [("output0", (1, 8400, 84))], [str(i) for i in range(80)])
    assert (split.axis, [g.channels for g in split.groups]) == (2, [4, 80])
    assert plan_split({"type": "ssd"}, [("a", (1, 10, 4))], ()) is None  # no planner for its decoder
    assert plan_split({"type": "yolo"}, [("a", (1, 10)), ("b", (1, 3))], ()) is None


@pytest.mark.parametrize("scale_after", [True, False])
def test_a_single_conv_head_is_split_back_to_the_conv_and_computes_the_same(scale_after):
    model = _conv_head_onnx(scale_after=scale_after)
    split = plan_split({"type": "yolo"}, [("output0", (1, 4 + NC, N))], ("a", "b", "c"))
    cut, how = split_onnx(model, split)
    assert how.startswith("cut Concat 'head_concat'") and "split Conv 'head'" in how, how
    assert [o.name for o in cut.graph.output] == ["output0_boxes", "output0_scores"]
    x = np.random.default_rng(1).random((1, 3, SIZE, SIZE), np.float32)
    before, after = _run(model, x)["output0"], _run(cut, x)
    np.testing.assert_allclose(after["output0_boxes"], before[:, :4], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(after["output0_scores"], before[:, 4:], rtol=1e-5, atol=1e-6)
    heads = [n for n in cut.graph.node if n.op_type == "Conv" and n.name.startswith("head")]
    # boxes computed as two parts (centres, sizes), scores as one: three convs, each a scale of its own
    assert sorted(int(np.prod(list(_init(cut, n.input[1]).shape[:1]))) for n in heads) == [2, 2, 3]
    if scale_after:  # the pixel scale moved before the layout ops: no Mul after the last Transpose
        producer = {o: n for n in cut.graph.node for o in n.output}
        assert producer[producer["output0_boxes"].input[0]].op_type in ("Concat", "Transpose")


def _reshape_head_onnx():
    """The head as tf2onnx writes a Keras one: Conv (NCHW) -> Transpose to NHWC -> Sigmoid, a per-channel Mul and
    a per-position Add (the grid) -> Reshape to the output [1, N, 4+nc]; no Slice, no Concat."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    gy, gx = np.mgrid[0:GRID, 0:GRID].astype(np.float32)
    grid = np.zeros((1, GRID, GRID, 4 + NC), np.float32)
    grid[0, ..., 0], grid[0, ..., 1] = gx / GRID, gy / GRID
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (16, 3, 4, 4)).astype(np.float32), "w0"),
        numpy_helper.from_array(rng.normal(0, 0.5, (4 + NC, 16, 1, 1)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, (4 + NC,)).astype(np.float32), "b1"),
        numpy_helper.from_array(np.array([2 / GRID, 2 / GRID, 1, 1] + [1] * NC, np.float32), "mul"),
        numpy_helper.from_array(grid, "grid"),
        numpy_helper.from_array(np.array([1, N, 4 + NC], np.int64), "rows"),
    ]
    nodes = [
        helper.make_node("Transpose", ["images"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w0"], ["f"], strides=[4, 4], name="backbone"),
        helper.make_node("Relu", ["f"], ["fr"]),
        helper.make_node("Conv", ["fr", "w1", "b1"], ["h"], name="head"),
        helper.make_node("Transpose", ["h"], ["nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Sigmoid", ["nhwc"], ["hs"]),
        helper.make_node("Mul", ["hs", "mul"], ["hm"]),
        helper.make_node("Add", ["hm", "grid"], ["ha"]),
        helper.make_node("Reshape", ["ha", "rows"], ["output"]),
    ]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, SIZE, SIZE, 3])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, N, 4 + NC])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def test_a_head_with_no_concat_is_sliced_and_split_back_to_its_conv():
    import onnxruntime as ort

    model = _reshape_head_onnx()
    split = plan_split({"type": "yolo"}, [("output", (1, N, 4 + NC))], ("a", "b", "c"))
    cut, how = split_onnx(model, split)
    assert how.startswith("cut output into output_boxes [1, 64, 4], output_scores [1, 64, 3]; split Conv 'head'"), how
    assert [o.name for o in cut.graph.output] == ["output_boxes", "output_scores"]
    x = np.random.default_rng(2).random((1, SIZE, SIZE, 3), np.float32)
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(  # noqa: E731
        None, {"images": x})
    (before,), (boxes, scores) = run(model), run(cut)
    np.testing.assert_allclose(boxes, before[..., :4], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, before[..., 4:], rtol=1e-5, atol=1e-6)
    heads = [n for n in cut.graph.node if n.op_type == "Conv" and n.name.startswith("head")]
    assert sorted(_init(cut, n.input[1]).shape[0] for n in heads) == [2, 2, 3]


def _init(model, name):
    from onnx import numpy_helper

    return next(numpy_helper.to_array(i) for i in model.graph.initializer if i.name == name)


def test_heads_that_cannot_be_split_say_why(tmp_path):
    import _exporters
    import onnx

    model = onnx.load(str(_exporters.yolov8_onnx(tmp_path / "y.onnx")))  # its boxes are a constant
    split = plan_split({"type": "yolo"}, [("output0", (1, 7, _exporters.N))], _exporters.LABELS)
    same, how = split_onnx(model, split)
    assert how == "not split: the boxes group is a constant, not computed from the input"
    assert [o.name for o in same.graph.output] == ["output0"]
    wrong = HeadSplit("output0", 1, (OutputGroup("boxes", 5), OutputGroup("scores", 2)))
    assert "do not fall into [5, 2]" in split_onnx(model, wrong)[1]
    seg = onnx.load(str(_exporters.segmenter_1ch_onnx(tmp_path / "s.onnx")))
    assert split_onnx(seg, HeadSplit("mask", 1, (OutputGroup("a", 1),)))[1].startswith("not split: mask comes from Sigmoid")


def test_a_task_registers_its_own_split_groups():
    """How a YOLO-seg head would: boxes, scores and mask coefficients of output0, each on its own scale."""
    def seg_split(outputs, labels):
        name, shape = outputs[0]
        return HeadSplit(name, 1, (OutputGroup("boxes", 4), OutputGroup("scores", len(labels)),
                                   OutputGroup("mask_coefficients", shape[1] - 4 - len(labels))))

    register_head_split("toy-seg", seg_split)
    try:
        split = plan_split({"type": "toy-seg"}, [("output0", (1, 4 + 80 + 32, 8400)), ("output1", (1, 32, 160, 160))],
                           [str(i) for i in range(80)])
        assert split.names == ("output0_boxes", "output0_scores", "output0_mask_coefficients")
        with pytest.raises(Exception, match="already registered"):
            register_head_split("toy-seg", seg_split)
    finally:
        HEAD_SPLITS.pop("toy-seg")
