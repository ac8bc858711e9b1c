"""edgevision/bench/report.py and sections.py: the typed results, their dict form, and reading a saved report back."""
from __future__ import annotations

import json

import pytest

import edgevision
from edgevision.bench import (
    BenchConfig,
    BenchReport,
    BenchRun,
    RunError,
    RunStatus,
    make_report,
    render_html,
    render_text,
    run_bench,
    to_csv,
    to_json,
)
from edgevision.bench.config import InputKind
from edgevision.bench.matrix import failed_row
from edgevision.bench.sections import ModelInfo
from edgevision.errors import BackendUnavailableError, UserInputError

RUN_KEYS = ["label", "status", "model", "runtime", "input", "counts", "init_ms", "first_inference_ms",
            "first_infer_ms", "stages", "infer_only", "fps", "memory", "load_average_1min", "device_state", "warnings",
            "samples_ms", "compare", "frames"]
META = {"target": "cpu", "format": "onnx", "precision": "fp32", "size_bytes": 1234, "fidelity": None}


@pytest.fixture(scope="module")
def config(images) -> BenchConfig:
    return BenchConfig(warmup=1, runs=4, source=str(images), device_interval=0.05, overlap=True, compare_rounds=1)


@pytest.fixture(scope="module")
def run(classifier, config) -> BenchRun:
    """An ONNX run with every optional section: capture (a source), overlapped fps, a compare note, the manifest."""
    model = edgevision.load(classifier["onnx"], threads=1, task="classification")
    return run_bench(lambda: model, config, label="cpu", meta=dict(META))


@pytest.fixture(scope="module")
def failed() -> BenchRun:
    return failed_row("coral-usb", BackendUnavailableError("expected libedgetpu.so.1,\n  got none"),
                      {**META, "target": "coral-usb", "format": "edgetpu-tflite"})


def test_a_run_reads_by_attribute_and_its_dict_is_the_json_form(run):
    d = run.to_dict()
    assert list(d) == RUN_KEYS
    assert run.ok and run.status is RunStatus.OK and run.error is None
    assert list(run.stages) == ["capture", "preprocess", "infer", "decode", "total"]
    assert run.stages["infer"].median == d["stages"]["infer"]["median"] and run.stages["total"].n == 4
    assert run.infer_only.summary.n == 4 and run.infer_only.phases == 1 and run.infer_only.warmup == 1
    assert run.startup.first_predict_ms == d["first_inference_ms"] and run.startup.first_infer_ms == d["first_infer_ms"]
    assert run.frames == run.counts.runs == d["frames"] == 4
    assert run.input.kind is InputKind.FRAMES and d["input"]["kind"] == "frames"
    assert run.input.shape == (1, 64, 64, 3) and d["input"]["shape"] == [1, 64, 64, 3]
    o = run.fps.overlapped
    assert o.frames == 4 and o.fps_x_median_infer == pytest.approx(o.fps * o.infer_median_ms / 1000, rel=1e-5)
    assert run.compare == {"note": "no engine tool for onnx (litert-benchmark: .tflite, benchmark_app: OpenVINO IR)"}
    assert run.runtime["backend"] == "onnxruntime" and run.device_state["samples"] >= 1
    assert len(run.samples.stages["total"]) == len(run.samples.t_s) == 4
    json.dumps(d)  # plain data throughout


def test_a_run_round_trips_through_its_dict_and_json(run):
    d = run.to_dict()
    assert BenchRun.from_dict(d) == run
    again = BenchRun.from_dict(json.loads(json.dumps(d)))
    assert again == run and json.dumps(again.to_dict()) == json.dumps(d)  # same keys, order and values


def test_the_model_section_keeps_the_keys_of_where_it_came_from(run, failed):
    # A bundle row: the loaded model's facts, then the manifest's fidelity (None: not measured).
    assert list(run.to_dict()["model"]) == [*ModelInfo.LOADED, "fidelity"] and run.model.from_manifest
    assert run.model.size_bytes == 1234 and run.model.target == "cpu" and run.model.fidelity is None
    bare = ModelInfo.from_dict({"file": "m.tflite", "target": None, "format": "tflite", "precision": "fp32",
                                "size_bytes": 10, "task": "classification", "selected": None})
    assert list(bare.to_dict()) == list(ModelInfo.LOADED) and not bare.from_manifest  # a bare file: no fidelity key
    assert list(failed.to_dict()["model"]) == list(ModelInfo.MANIFEST)  # a failed row: what the manifest said
    extra = ModelInfo.from_dict({**bare.to_dict(), "note": "x"})
    assert extra.extra == {"note": "x"} and list(extra.to_dict())[-1] == "note"


def test_a_failed_row_is_a_run_with_its_error_and_no_figures(failed):
    assert not failed.ok and failed.status == "failed" and failed.error == RunError(
        "BackendUnavailableError", "expected libedgetpu.so.1, got none", 3)
    assert failed.stages == {} and failed.fps is None and failed.frames == 0
    d = failed.to_dict()
    assert list(d) == ["label", "status", "model", "warnings", "error"] and d["error"]["exit_code"] == 3
    assert BenchRun.from_dict(d) == failed
    assert BenchRun("x", "failed", error=failed.error).status is RunStatus.FAILED  # the text form is taken too
    hand_made = BenchRun.from_dict({"label": "tpu", "status": "failed", "error": {"type": "E", "message": "no TPU"}})
    assert hand_made.error.exit_code == 1 and hand_made.model == ModelInfo()


def test_a_saved_report_reads_back_and_renders_the_same(run, failed, config):
    report = make_report([run, failed], config, skipped=[{"target": "rpi4", "format": "tflite", "reason": "r"}],
                         bundle="bundle/", command=["edgevision", "bench", "bundle/"])
    assert isinstance(report, BenchReport) and report.runs == (run, failed)
    assert report.warnings == tuple(f"cpu: {w}" for w in run.warnings) and report.skipped[0].reason == "r"
    assert list(report.to_dict()) == ["schema", "created", "command", "bundle", "host", "config", "runs", "skipped",
                                      "warnings"]
    saved = json.loads(to_json(report))
    back = BenchReport.from_dict(saved)
    assert back == report and back.config == config and back.host.cores_usable >= 1
    assert to_json(back) == to_json(report) and to_csv(back) == to_csv(report)
    assert render_html(saved) == render_html(report) and render_text(saved) == render_text(report)


@pytest.mark.parametrize("data, message", [
    ({"schema": "edgevision.bench/9", "runs": []}, "expected a bench report of schema edgevision.bench/1, got"),
    ({"runs": [{"label": "x", "status": "ok"}]}, "expected a bench run as `edgevision bench --json` writes it, "
                                                  "got one with no 'input' key"),
    ({"runs": [{"label": "x", "status": "maybe"}]}, "got one with ValueError: 'maybe' is not a valid RunStatus"),
])
def test_a_malformed_report_is_one_typed_line(data, message):
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        BenchReport.from_dict(data)


def test_a_measured_run_without_its_figures_cannot_be_written():
    with pytest.raises(UserInputError, match="expected every section of a measured run, got 'x' without input"):
        BenchRun("x", RunStatus.OK).to_dict()
