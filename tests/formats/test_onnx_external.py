"""``edgevision.formats.onnx_external``: the external data files an ONNX model names, found without ``onnx``.

Checked against models ``onnx.save_model(..., save_as_external_data=True)`` writes, with
tensors in a graph's initializers, in a ``Constant`` node and in an ``If`` branch.
"""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.errors import ModelFileError
from edgevision.formats.onnx_external import MAX_DEPTH, external_files

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _model_with_tensors_everywhere():
    big = numpy_helper.from_array(np.ones((32, 32), np.float32), "w")
    const = helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.ones((32, 32), np.float32), "cv"))
    then_init = numpy_helper.from_array(np.full((32, 32), 2.0, np.float32), "t")
    then = helper.make_graph([helper.make_node("Add", ["x", "t"], ["y_then"])], "then", [],
                             [helper.make_tensor_value_info("y_then", TensorProto.FLOAT, [32, 32])], [then_init])
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["y_else"])], "else", [],
                              [helper.make_tensor_value_info("y_else", TensorProto.FLOAT, [32, 32])])
    nodes = [const, helper.make_node("Add", ["w", "c"], ["x"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=then, else_branch=other)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [32, 32])], [big])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_every_tensor_saved_as_external_data_is_found(tmp_path):
    model = _model_with_tensors_everywhere()
    onnx.save_model(model, tmp_path / "m.onnx", save_as_external_data=True, all_tensors_to_one_file=False,
                    size_threshold=0)
    data = (tmp_path / "m.onnx").read_bytes()
    on_disk = sorted(p.name for p in tmp_path.iterdir() if p.name != "m.onnx")
    assert sorted(external_files(data)) == on_disk == ["t", "w"]  # the graph's w and the If branch's t
    # onnx keeps a Constant node's value inline; a model may still store it outside: found too.
    model = onnx.load(tmp_path / "m.onnx", load_external_data=False)
    value = model.graph.node[0].attribute[0].t
    value.data_location = TensorProto.EXTERNAL
    entry = value.external_data.add()
    entry.key, entry.value = "location", "const.bin"
    assert sorted(external_files(model.SerializeToString())) == ["const.bin", "t", "w"]


def test_one_file_for_all_is_listed_once(tmp_path):
    onnx.save_model(_model_with_tensors_everywhere(), tmp_path / "m.onnx", save_as_external_data=True,
                    location="m.onnx.data", size_threshold=0)
    assert external_files((tmp_path / "m.onnx").read_bytes()) == ["m.onnx.data"]


def test_a_model_without_external_data_names_none():
    assert external_files(_model_with_tensors_everywhere().SerializeToString()) == []


@pytest.mark.parametrize("data, message", [
    (b"\x0a\xff\xff\xff\xff\x0f", "runs past its message"),  # a length far beyond the bytes
    (b"\x0b", "wire type 3"),  # a group: not in ONNX's schema
    (b"\x08" + b"\xff" * 11, "varint"),
])
def test_malformed_bytes_are_a_model_file_error(data, message):
    with pytest.raises(ModelFileError, match=f"expected an ONNX model ONNX Runtime can load, got m.onnx: .*{message}"):
        external_files(data, "m.onnx")


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (lengths here stay below 2**14: two varint bytes at most)."""
    n = len(payload)
    length = bytes([n]) if n < 0x80 else bytes([(n & 0x7F) | 0x80, n >> 7])
    return bytes([number << 3 | 2]) + length + payload


def test_graphs_nested_too_deep_are_refused():
    graph = b""
    for _ in range(MAX_DEPTH // 3 + 2):  # graph.node(1) -> node.attribute(5) -> attribute.g(6) -> graph ...
        graph = _field(1, _field(5, _field(6, graph)))
    with pytest.raises(ModelFileError, match=f"nested more than {MAX_DEPTH} deep"):
        external_files(_field(7, graph))  # model.graph
