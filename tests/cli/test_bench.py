"""``edgevision bench`` as a user runs it: real subprocesses, all at once in a thread pool.

Happy paths check stdout (the table, or JSON), the files written and the exit code;
bad input must end in exactly one ``error`` line on stderr and a non-zero exit, never a
traceback. A bundle whose one target fails still prints the table with every row (the
failing one showing its error), writes its reports, and ends with one error line.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from edgevision.bundle import Artifact, Manifest, write_bundle
from edgevision.decode import decoder_config

cv2 = pytest.importorskip("cv2")

ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # a user's environment
FAST = ["--warmup", "1", "--runs", "3", "--threads", "1"]


def cli(*args: object, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgevision", "bench", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def cli_all(commands: dict[str, list]) -> dict[str, subprocess.CompletedProcess]:
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {name: pool.submit(cli, *args) for name, args in commands.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.fixture(scope="module")
def files(zoo, scene, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-bench")
    f = {k: Path(zoo["classifier"][k]) for k in ("tflite", "openvino", "onnx")}
    f["images"] = root / "images"
    f["images"].mkdir()
    for i in range(2):
        assert cv2.imwrite(str(f["images"] / f"img{i}.png"), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR))
    xml = f["openvino"]
    manifest = Manifest(task="classification", decoder=decoder_config("classification"), labels=list("abcde"),
                        artifacts={"cpu": Artifact(file="fp32.tflite", format="tflite", precision="fp32"),
                                   "intel-cpu": Artifact(file="model.xml", format="openvino-ir", precision="fp32"),
                                   "rpi4": Artifact(file="broken.tflite", format="tflite", precision="fp32")})
    f["bundle"] = write_bundle(root / "bundle", manifest, {"fp32.tflite": f["tflite"], "model.xml": xml,
                                                           "model.bin": xml.with_suffix(".bin"),
                                                           "broken.tflite": f["tflite"]})
    (f["bundle"] / "broken.tflite").write_bytes(b"not the file the manifest hashed")
    f["out"] = root / "out"
    f["out"].mkdir()
    (root / "a-file").write_text("x")
    f["file"] = root / "a-file"
    return f


HAPPY = {
    "json": lambda f: [f["tflite"], "--task", "classification", *FAST, "--json"],
    "files": lambda f: [f["openvino"], "--task", "classification", *FAST, "--csv", f["out"] / "ir.csv",
                        "--report", f["out"] / "ir.html"],
    "source": lambda f: [f["tflite"], "--task", "classification", *FAST, "--source", f["images"]],
    "duration": lambda f: [f["tflite"], "--task", "classification", "--warmup", "0", "--duration", "0.2",
                           "--threads", "1", "--json"],
    "compare": lambda f: [f["tflite"], "--task", "classification", *FAST, "--compare"],
    "targets": lambda f: [f["bundle"], *FAST, "--target", "cpu", "--target", "intel-cpu", "--json"],
    "progress": lambda f: [f["tflite"], "--task", "classification", *FAST, "--progress"],
    "matrix-broken": lambda f: [f["bundle"], *FAST, "--report", f["out"] / "matrix.html", "--csv",
                                f["out"] / "matrix.csv"],
}


@pytest.fixture(scope="module")
def procs(files) -> dict[str, subprocess.CompletedProcess]:
    """Every command of this module, happy and bad, in one pool: they mostly wait on imports."""
    commands = {name: make(files) for name, make in HAPPY.items()}
    commands.update({name: make(files) for name, (make, _) in ERRORS.items()})
    return cli_all(commands)


@pytest.fixture(scope="module")
def runs(procs) -> dict[str, subprocess.CompletedProcess]:
    return {name: procs[name] for name in HAPPY}


@pytest.fixture(scope="module")
def error_runs(procs) -> dict[str, subprocess.CompletedProcess]:
    return {name: procs[name] for name in ERRORS}


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.mark.slow
def test_json_report_on_stdout_and_quiet_stderr(runs, files):
    proc = ok(runs["json"])
    report = json.loads(proc.stdout)
    (run,) = report["runs"]
    assert run["status"] == "ok" and run["counts"] == {**run["counts"], "warmup": 1, "runs": 3}
    assert run["runtime"]["threads"] == 1 and run["input"]["kind"] == "random"
    assert report["command"][:2] == ["edgevision", "bench"]
    # No progress with --json and no LiteRT banner: at most warnings (e.g. a busy machine's load average).
    assert all(ln.startswith("edgevision bench: warning: ") for ln in proc.stderr.splitlines()), proc.stderr


@pytest.mark.slow
def test_table_csv_and_html_written(runs, files):
    proc = ok(runs["files"])
    assert "infer only*" in proc.stdout and "openvino" in proc.stdout and "[threads=1; openvino" in proc.stdout
    rows = list(csv.DictReader((files["out"] / "ir.csv").open()))
    assert [r["stage"] for r in rows] == ["preprocess", "infer", "decode", "total", "infer_only"]
    html = (files["out"] / "ir.html").read_text()
    assert html.startswith("<!doctype html>") and '<svg class="chart"' in html
    assert sorted(p.name for p in files["out"].iterdir() if p.name.startswith(".")) == []  # no temp files left


@pytest.mark.slow
def test_source_duration_and_progress(runs):
    assert re.search(r"^  capture\s+\d", ok(runs["source"]).stdout, re.M)
    assert "real frames from" in runs["source"].stdout
    report = json.loads(ok(runs["duration"]).stdout)
    assert report["runs"][0]["counts"]["timed_wall_s"] >= 0.2
    progress = ok(runs["progress"]).stderr
    assert "pipeline: 100% (3/3 runs" in progress and "infer only: 100%" in progress


@pytest.mark.slow
def test_compare_prints_the_tool_median_and_the_ratio(runs):
    out = ok(runs["compare"]).stdout
    assert re.search(r"compare: edgevision infer-only median [\d.]+ ms vs litert-benchmark median [\d.]+ ms -> "
                     r"ratio [\d.]+", out)
    assert "command: litert-benchmark --model" in out and "--num_threads 1" in out


@pytest.mark.slow
def test_bundle_targets_chosen(runs):
    report = json.loads(ok(runs["targets"]).stdout)
    assert [(r["label"], r["status"]) for r in report["runs"]] == [("cpu", "ok"), ("intel-cpu", "ok")]


@pytest.mark.slow
def test_a_failing_target_keeps_its_row_and_the_others_run(runs, files):
    proc = runs["matrix-broken"]
    assert proc.returncode == 2, proc.stderr  # the failing target's error: a ManifestError
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("edgevision bench: error: rpi4: ManifestError: expected sha256")
    table = proc.stdout[proc.stdout.index("target "):]
    assert re.search(r"^cpu\s+tflite\s+fp32", table, re.M) and re.search(r"^intel-cpu\s+openvino-ir", table, re.M)
    assert re.search(r"^rpi4 .*error: ManifestError", table, re.M)
    assert (files["out"] / "matrix.html").is_file() and (files["out"] / "matrix.csv").is_file()


def _bench(model_key: str, *extra: object):
    return lambda f: [f[model_key], "--task", "classification", *extra]


ERRORS = {
    "runs 0": (_bench("tflite", "--runs", "0"), "expected a positive integer, got '0'"),
    "runs negative": (_bench("tflite", "--runs", "-5"), "expected a positive integer, got '-5'"),
    "warmup negative": (_bench("tflite", "--warmup", "-1"), "expected a non-negative integer, got '-1'"),
    "duration 0": (_bench("tflite", "--duration", "0"), "expected a positive number of seconds, got '0'"),
    "duration negative": (_bench("tflite", "--duration", "-2.5"), "expected a positive number of seconds"),
    "runs and duration": (_bench("tflite", "--runs", "5", "--duration", "1"), "not allowed with argument"),
    "threads 0": (_bench("tflite", "--threads", "0"), "expected a positive integer, got '0'"),
    "report in a missing directory": (lambda f: [f["tflite"], "--report", f["out"] / "nope" / "r.html"],
                                      "expected a writable path for --report"),
    "report under a file": (lambda f: [f["tflite"], "--report", f["file"] / "r.html"], "is not a directory"),
    "csv is a directory": (lambda f: [f["tflite"], "--csv", f["out"]], "expected a writable path for --csv"),
    "missing model": (lambda f: [f["out"] / "missing.tflite"], "expected a model file or bundle directory"),
    "compare on onnx": (_bench("onnx", "--compare"), "expected a .tflite or OpenVINO IR model for --compare"),
    "two targets for a file": (_bench("tflite", "--target", "cpu", "--target", "rpi5"), "expected one --target"),
    "unknown bundle target": (lambda f: [f["bundle"], "--target", "rpi9"], "expected targets among cpu, intel-cpu"),
    "missing source": (_bench("tflite", "--source", "/nonexistent/frames"), "expected an image, a directory"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_one_error_line(error_runs, case):
    proc = error_runs[case]
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert "error" in lines[0] and ERRORS[case][1] in lines[0], lines[0]
    assert proc.stdout == ""

