"""edgevision/bench/engines.py: the engine tools' command lines, their output parsed, and one real run of each.

The sample outputs are the tools' own (ai-edge-litert 2.3 ``litert-benchmark``, OpenVINO 2026.4
``benchmark_app``), trimmed to the lines around the figures.
"""
from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from edgevision.bench import run_bench
from edgevision.bench.engines import (
    engine_command,
    find_tool,
    parse_benchmark_app,
    parse_litert_benchmark,
    run_engine,
    tool_for,
)
from edgevision.errors import BackendUnavailableError, UserInputError

LITERT_OUTPUT = """\
2026-11-22 11:50:20 INFO benchmark_litert_model: Running 100 benchmark iterations...

========================================
 BENCHMARK RESULTS
========================================
Model initialization:  14.51 ms
Warmup (first):        1.57 ms
Warmup (avg):          1.94 ms (10 runs)
Inference (avg):       2.36 ms (100 runs)
Inference (min):       1.85 ms
Inference (max):       4.39 ms
Inference (median):    1.98 ms
Inference (std):       0.66 ms
Inference (p5):        1.88 ms
Inference (p95):       3.80 ms
Throughput:            60.92 MB/s
Fully accelerated:     False
========================================
"""

BENCHMARK_APP_OUTPUT = """\
[Step 10/11] Measuring performance (Start inference synchronously, limits: 50 iterations)
[ INFO ] Benchmarking in inference only mode (inputs filling are not included in measurement loop).
[ INFO ] First inference took 6.25 ms
[Step 11/11] Dumping statistics report
[ INFO ] Execution Devices:['CPU']
[ INFO ] Count:            50 iterations
[ INFO ] Duration:         108.76 ms
[ INFO ] Latency:
[ INFO ]    Median:        1.94 ms
[ INFO ]    Average:       2.14 ms
[ INFO ]    Min:           0.92 ms
[ INFO ]    Max:           5.22 ms
[ INFO ] Throughput:   459.74 FPS
"""


def test_parse_the_tools_outputs():
    assert parse_litert_benchmark(LITERT_OUTPUT) == {"median_ms": 1.98, "mean_ms": 2.36, "runs": 100}
    assert parse_benchmark_app(BENCHMARK_APP_OUTPUT) == {"median_ms": 1.94, "mean_ms": 2.14, "runs": 50}
    with pytest.raises(ValueError, match="expected 'Inference \\(median\\): X ms'"):
        parse_litert_benchmark("Model not found")
    with pytest.raises(ValueError, match="expected 'Median: X ms'"):
        parse_benchmark_app("[ ERROR ] boom")


def test_command_lines_carry_threads_and_counts(tmp_path):
    assert engine_command("m.tflite", "tflite", threads=3, runs=50, warmup=5, tool="litert-benchmark") == [
        "litert-benchmark", "--model", "m.tflite", "--num_threads", "3", "--num_runs", "50", "--warmup_runs", "5"]
    cmd = engine_command("m.xml", "openvino-ir", threads=3, runs=50, warmup=5, tool="benchmark_app",
                         config_file=tmp_path / "c.json")
    assert cmd[:8] == ["benchmark_app", "-m", "m.xml", "-d", "CPU", "-hint", "latency", "-api"]
    assert "-nthreads" not in cmd and cmd[-2:] == ["-load_config", str(tmp_path / "c.json")]
    assert cmd[cmd.index("-niter") + 1] == "50" and cmd[cmd.index("-ip") + 1] == "f32"
    with pytest.raises(UserInputError, match="expected a .tflite or OpenVINO IR model for --compare"):
        tool_for("onnx")
    with pytest.raises(BackendUnavailableError, match="expected no-such-tool"):
        find_tool("no-such-tool")


@pytest.mark.parametrize("kind, fmt, tool", [("tflite", "tflite", "litert-benchmark"),
                                             ("openvino", "openvino-ir", "benchmark_app")])
def test_the_real_tool_runs_with_our_threads(classifier, kind, fmt, tool):
    res = run_engine(classifier[kind], fmt, threads=1, runs=5, warmup=1)
    assert res["tool"] == tool and res["median_ms"] > 0 and res["runs"] == 5 and res["threads"] == 1
    assert res["command"][0] == tool and str(classifier[kind]) in res["command"]
    if fmt == "openvino-ir":
        assert res["load_config"]["CPU"]["INFERENCE_NUM_THREADS"] == "1"


def test_compare_alternates_the_tool_with_our_infer_only_phase(classifier, tiny):
    import edgevision

    config = replace(tiny, compare_rounds=2)
    run = run_bench(lambda: edgevision.load(classifier["tflite"], threads=1, task="classification"), config,
                    label="m").to_dict()
    cmp = run["compare"]
    assert cmp["rounds"] == 2 and len(cmp["engine"]["medians_ms"]) == 2 and len(cmp["round_ratios"]) == 2
    assert cmp["engine"]["threads"] == 1 == run["runtime"]["threads"] and cmp["engine"]["runs"] == 5
    assert len(cmp["ours_phase_medians_ms"]) == 3  # ours, tool, ours, tool, ours
    assert run["infer_only"]["n"] == 15 and run["infer_only"]["phases"] == 3  # every infer-only call, pooled
    assert cmp["ours_infer_median_ms"] == pytest.approx(run["infer_only"]["median"], abs=1e-3)
    # The sides are rounded in the report (ours to 0.1 us, the tool prints 0.01 ms): compare loosely.
    assert cmp["ratio_pooled"] == pytest.approx(cmp["ours_infer_median_ms"] / cmp["engine"]["median_ms"], rel=0.02)
    # The headline pairs each tool run with our phases before and after it.
    phases, tools = cmp["ours_phase_medians_ms"], cmp["engine"]["medians_ms"]
    paired = [(phases[i] + phases[i + 1]) / 2 / t for i, t in enumerate(tools)]
    assert cmp["round_ratios"] == pytest.approx(paired, rel=0.01)  # the same rounding as above
    assert cmp["ratio"] == pytest.approx(statistics.median(cmp["round_ratios"]), rel=1e-3)
    assert "extra_samples" not in cmp


def test_compare_on_a_format_without_a_tool_is_a_note(classifier, tiny):
    import edgevision

    config = replace(tiny, compare_rounds=1)
    run = run_bench(lambda: edgevision.load(classifier["onnx"], threads=1, task="classification"), config,
                    label="o").to_dict()
    assert run["compare"] == {"note": "no engine tool for onnx (litert-benchmark: .tflite, benchmark_app: OpenVINO IR)"}
    assert run["infer_only"]["phases"] == 1


def test_the_real_tool_finds_a_model_given_by_a_relative_path(classifier, monkeypatch):
    # The tool runs in a temporary directory: README's `edgevision bench model.xml --compare` passes a relative path.
    monkeypatch.chdir(classifier["openvino"].parent)
    res = run_engine(classifier["openvino"].name, "openvino-ir", threads=1, runs=3, warmup=1)
    assert res["median_ms"] > 0 and str(classifier["openvino"]) in res["command"]
