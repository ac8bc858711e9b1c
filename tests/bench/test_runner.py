"""edgevision/bench/runner.py and frames.py: one model benched with tiny counts (no timing assertions)."""
from __future__ import annotations

import json

import pytest

import edgevision
from edgevision.bench import BenchConfig, bench, run_bench
from edgevision.bench.frames import RandomFrames, timed
from edgevision.errors import SourceError, UserInputError


def test_random_input_run_has_every_figure_beside_its_context(classifier, tiny):
    run = bench(classifier["tflite"], config=tiny, threads=1, task="classification").to_dict()
    assert run["status"] == "ok" and run["label"] == classifier["tflite"].name
    assert set(run["stages"]) == {"preprocess", "infer", "decode", "total"}  # no capture without a source
    for s in run["stages"].values():
        assert s["n"] == 5 and s["min"] <= s["median"] <= s["p90"] <= s["p95"] <= s["p99"] <= s["max"]
    assert run["infer_only"]["n"] == 5 and run["infer_only"]["warmup"] == 1
    assert run["stages"]["total"]["median"] >= run["stages"]["infer"]["min"]
    assert run["counts"]["warmup"] == 1 and run["counts"]["runs"] == 5
    assert run["runtime"]["backend"] == "litert" and run["runtime"]["threads"] == 1 and run["runtime"]["version"]
    assert run["model"]["format"] == "tflite" and run["model"]["precision"] == "fp32"
    assert run["model"]["size_bytes"] == classifier["tflite"].stat().st_size
    assert run["input"]["kind"] == "random" and "seeded" in run["input"]["description"]
    assert run["input"]["shape"] == [1, 64, 64, 3] and run["input"]["dtype"] == "float32"
    assert run["init_ms"] > 0 and run["first_inference_ms"] > 0
    assert run["fps"]["from_mean_total"] > 0 and "1 / mean" in run["fps"]["how"]
    # Both > 0; not compared: the kernel's RSS counters are per-CPU approximations, peak and now can cross by a page.
    assert run["memory"]["peak_rss_mb"] > 0 and run["memory"]["rss_before_load_mb"] > 0
    assert run["device_state"]["samples"] >= 2
    assert len(run["samples_ms"]["total"]) == len(run["samples_ms"]["t_s"]) == 5
    json.dumps(run)  # plain data throughout


def test_source_frames_add_capture_and_loop_the_source(classifier, images):
    config = BenchConfig(warmup=2, runs=7, source=str(images), sample_device=False)
    run = bench(classifier["openvino"], config=config, threads=1, task="classification").to_dict()
    assert list(run["stages"]) == ["capture", "preprocess", "infer", "decode", "total"]
    assert run["input"]["kind"] == "frames" and str(images) in run["input"]["description"]
    assert run["input"]["source_reopened"] >= 2  # 3 images, 1 first + 2 warm-up + 7 timed frames
    assert run["runtime"]["backend"] == "openvino"
    assert run["stages"]["total"]["median"] >= run["stages"]["capture"]["min"]


@pytest.mark.parametrize("fmt,source", [("tflite", False), ("openvino", True)])
def test_overlap_times_the_same_frames_through_an_overlapped_stream(classifier, images, fmt, source):
    from edgevision.bench.export import csv_rows
    from edgevision.bench.html import _matrix as html_matrix
    from edgevision.bench.html import _run as html_run
    from edgevision.bench.text import render_matrix, render_run

    config = BenchConfig(warmup=1, runs=9, source=str(images) if source else None, sample_device=False, overlap=True)
    model = edgevision.load(classifier[fmt], threads=1, task="classification")
    run = run_bench(lambda: model, config, label="m").to_dict()
    o = run["fps"]["overlapped"]
    assert o["frames"] == 9 and o["fps"] > 0 and o["infer_median_ms"] > 0 and "overlap=True" in o["how"]
    assert o["fps_x_median_infer"] == pytest.approx(o["fps"] * o["infer_median_ms"] / 1000, rel=1e-3)
    assert model.leased_by is None  # the stream was closed: the model is the caller's again
    assert any(line.startswith("  FPS overlapped ") for line in render_run(run))
    assert {r["fps_overlapped"] for r in csv_rows({"runs": [run]})} == {o["fps"]}
    assert f"{o['fps']:.1f} overlapped</b>" in html_run(run, 0)
    failed = {"label": "coral-usb", "status": "failed", "error": {"type": "E", "message": "no TPU"}}
    matrix = render_matrix({"runs": [run, failed], "skipped": []})
    assert "FPS ovl" in matrix[0] and f"{o['fps']:.1f}" in matrix[1] and "error: E: no TPU" in matrix[2]
    assert "FPS overlapped</th>" in html_matrix({"runs": [run, failed], "skipped": []})
    plain = run_bench(lambda: model, BenchConfig(warmup=1, runs=3, sample_device=False), label="m").to_dict()
    assert "overlapped" not in plain["fps"]


def test_duration_is_a_minimum(classifier):
    model = edgevision.load(classifier["tflite"], threads=1, task="classification")
    run = run_bench(lambda: model, BenchConfig(warmup=0, runs=None, duration=0.15, sample_device=False),
                    label="d").to_dict()
    assert run["counts"]["timed_wall_s"] >= 0.15 and run["counts"]["requested_duration_s"] == 0.15
    assert run["counts"]["runs"] == run["stages"]["total"]["n"] >= 1
    assert not model.hooks  # the bench's recorder is gone afterwards


@pytest.mark.parametrize("kwargs, message", [
    ({"runs": 0}, "expected a positive number of runs, got 0"),
    ({"runs": -3}, "expected a positive number of runs, got -3"),
    ({"warmup": -1}, "expected a non-negative number of warm-up runs, got -1"),
    ({"duration": 0.0}, "expected a positive duration in seconds, got 0.0"),
    ({"runs": None}, "expected a number of runs or a duration, got neither"),
    ({"frame_size": (0, 480)}, "expected a positive frame size"),
])
def test_bad_config_is_one_typed_line(kwargs, message):
    with pytest.raises(UserInputError, match=message.replace("(", r"\(")):
        BenchConfig(**kwargs)


def test_missing_source_fails_before_loading(tmp_path):
    loaded = []
    with pytest.raises(SourceError, match="expected an image, a directory of images or a video file"):
        run_bench(lambda: loaded.append(1), BenchConfig(source=str(tmp_path / "nope.png")), label="x")
    assert loaded == []


def test_timed_loop_counts_and_reports_progress():
    calls = []
    loop = timed(lambda i: __import__("time").perf_counter(), runs=3, duration=None, phase="p",
                 progress=lambda *a: calls.append(a))
    assert len(loop.totals) == len(loop.starts) == 3 and loop.starts == sorted(loop.starts)
    assert calls[-1][:3] == ("p", 3, 3)
    assert len(RandomFrames((32, 24), 0).frames[0].shape) == 3
