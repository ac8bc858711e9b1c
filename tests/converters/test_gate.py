"""converters/gate.py: an int8 artifact that misses its task's gate is rebuilt with the head's final ops, then its
worst layers, in float where the format allows; the Edge TPU keeps its full-integer artifact and says so."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from edgevision.converters.gate import apply_gate, worst_layers
from edgevision.errors import ConversionError

REPORT = {"layers": {"head": ["out/transpose", "head/conv"],
                     "worst": [{"layer": "a:0", "nodes": ["conv_a"]}, {"layer": "b:0", "nodes": []},
                               {"layer": "c", "sqnr_db": 1.0}, {"layer": "d"}, {"layer": "e"}]}}


def _output(report=REPORT):
    return SimpleNamespace(report=report, format="tflite")


def test_worst_layers_take_the_nodes_a_converter_names():
    assert worst_layers(REPORT, 3) == ["conv_a", "c"]  # "b:0" has no weighted reader: nothing to exclude


@pytest.mark.parametrize("kept, expect_rounds", [({3: 0.99}, 2), ({}, 4)])
def test_a_miss_is_rebuilt_head_first_then_worst_layers(kept, expect_rounds):
    asked, said = [], []

    def rebuild(layers):
        asked.append(layers)
        return _output(), {"boxes_kept": kept.get(len(layers), 0.96 + 0.001 * len(asked))}

    _out, fid, gate = apply_gate("detection", "tflite", "int8", _output(), {"boxes_kept": 0.95}, rebuild, said.append)
    assert asked[0] == ("out/transpose", "head/conv")
    assert len(asked) == expect_rounds
    if kept:
        assert gate["passed"] and gate["mixed"] == 0.99 and fid["boxes_kept"] == 0.99
        assert gate["float_layers"] == ["out/transpose", "head/conv", "conv_a"]
    else:  # none passes: the best build is kept and said
        assert not gate["passed"] and fid["boxes_kept"] == pytest.approx(0.964)
    assert gate["int8"] == 0.95 and gate["bar"] == 0.98 and said


def test_the_edge_tpu_keeps_its_full_integer_artifact():
    rebuild = pytest.fail  # never called
    _out, fid, gate = apply_gate("detection", "edgetpu-tflite", "int8", _output(), {"boxes_kept": 0.9}, rebuild,
                                lambda m: None)
    assert gate["kept"] == "full int8: edgetpu-tflite takes no float layer" and fid == {"boxes_kept": 0.9}


def test_a_full_integer_miss_says_what_else_to_try_when_there_is_something():
    said: list[str] = []
    _out, _fid, gate = apply_gate("detection", "edgetpu-tflite", "int8", _output(), {"boxes_kept": 0.9}, pytest.fail,
                                  said.append, hint="its ONNX export converts with the head cut")
    assert gate["try"] == "its ONNX export converts with the head cut"
    assert said == ["int8 gate: boxes_kept 0.9000 < 0.98: edgetpu-tflite is full-integer, no layer can stay float; "
                    "its ONNX export converts with the head cut"]


def test_passing_fp32_and_turned_off_builds_are_left_alone():
    assert apply_gate("detection", "tflite", "int8", _output(), {"boxes_kept": 0.99}, pytest.fail, print)[2] is None
    assert apply_gate("detection", "tflite", "fp32", _output(), {"boxes_kept": 0.5}, pytest.fail, print)[2] is None
    gate = apply_gate("detection", "tflite", "int8", _output(), {"boxes_kept": 0.5}, pytest.fail, print,
                      enabled=False)[2]
    assert gate["kept"] == "full int8 (mixed precision turned off)"


def test_float_layers_are_refused_for_the_edge_tpu(tmp_path):
    from edgevision.converters.mixed import tflite_int8

    job = SimpleNamespace(options=SimpleNamespace(float_layers=("head/conv",)))
    with pytest.raises(ConversionError, match="expected no float layers for edgetpu-tflite"):
        tflite_int8(job, tmp_path / "x.tflite", "edgetpu-tflite")
