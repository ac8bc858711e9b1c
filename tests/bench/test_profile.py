"""Per-layer profiles: each runtime's profiler on real models, and the profile in the JSON, text and HTML reports.

No timing assertions: the figures' sizes depend on the machine; what is checked is their shape,
their bookkeeping and where the layers ran.
"""
from __future__ import annotations

import json
import math

import pytest

import edgevision
from edgevision.bench import BenchConfig, make_report, render_html, render_text, run_bench
from edgevision.bench.profile import Layer, Profile, profile_model
from edgevision.bench.report import BenchRun
from edgevision.errors import UserInputError
from edgevision.formats.tflite import read_tflite


def check(profile: Profile, runs: int) -> None:
    assert profile.runs == runs and profile.layers and profile.measured_ms > 0
    assert math.isclose(profile.sum_ms, sum(layer.ms for layer in profile.layers), abs_tol=1e-3)
    top = profile.top(3)
    assert [layer.ms for layer in top] == sorted((layer.ms for layer in top), reverse=True)
    assert math.isclose(sum(profile.by_where().values()), profile.sum_ms, abs_tol=1e-3)
    d = profile.to_dict(top=3)
    assert len(d["top"]) == min(3, len(profile.layers)) and d["layers"] == len(profile.layers)
    assert d["ratio"] == profile.ratio and json.dumps(d)


def test_onnx_runtime_profiler_gives_each_node_and_its_provider(classifier):
    model = edgevision.load(classifier["onnx"], task="classification", threads=1)
    profile = profile_model(model, runs=5)
    check(profile, 5)
    assert {layer.where for layer in profile.layers} == {"CPUExecutionProvider"}
    assert any(layer.type in ("Conv", "FusedConv") for layer in profile.layers)


def test_openvino_performance_counters_give_each_node_and_its_exec_type(classifier):
    model = edgevision.load(classifier["openvino"], task="classification", threads=1)
    profile = profile_model(model, runs=5)
    check(profile, 5)
    assert all(layer.where and layer.where != "undef" for layer in profile.layers)
    assert any(layer.type == "Convolution" for layer in profile.layers)


def test_litert_cut_graphs_time_every_op_and_say_which_xnnpack_took(int8_classifier):
    model = edgevision.load(int8_classifier, task="classification", threads=1)
    profile = profile_model(model, runs=3)
    check(profile, 3)
    graph = read_tflite(int8_classifier)
    ops = graph.subgraphs[0].operators
    assert len(profile.layers) == len(ops)
    assert [layer.type for layer in profile.layers] == [graph.op_name(op) for op in ops]
    assert {layer.where for layer in profile.layers} <= {"XNNPACK", "LiteRT kernel (CPU)"}
    assert any(layer.where == "XNNPACK" and layer.type == "CONV_2D" for layer in profile.layers)
    assert "telescopes" in profile.how


def test_a_runtime_without_a_profiler_is_one_typed_line():
    class Fake:
        backend = type("B", (), {"name": "tensorrt", "info": lambda self: {}})()

    with pytest.raises(UserInputError, match="expected a runtime with a layer profiler"):
        profile_model(Fake())


def test_bench_profile_in_json_text_and_html(classifier):
    config = BenchConfig(warmup=1, runs=3, sample_device=False, profile=True)
    run = run_bench(lambda: edgevision.load(classifier["openvino"], task="classification", threads=1), config,
                    label="ir")
    section = run.profile
    assert section is not None and section["layers"] > 0 and section["top"] and "ratio" in section
    again = BenchRun.from_dict(json.loads(json.dumps(run.to_dict())))
    assert again.profile == section
    report = make_report([run], config)
    text = render_text(report)
    assert "profile (openvino performance counters" in text and section["top"][0]["name"][:20] in text
    page = render_html(report)
    assert 'data-profile="top"' in page and "Layer profile" in page


def test_profile_ratio_and_top():
    p = Profile("m", 1, (Layer("a", "Conv", "x", 3.0), Layer("b", "Add", "y", 1.0)), measured_ms=4.0, how="")
    assert p.ratio == 1.0 and [layer.name for layer in p.top(1)] == ["a"]
