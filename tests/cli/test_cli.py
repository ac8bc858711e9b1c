"""The ``edgevision`` command as a user runs it: ``python -m edgevision run|inspect|targets``.

Happy paths check what reaches stdout (JSON lines, one line per frame, parseable
inspect/targets output). Bad inputs must end in exactly one ``error`` line on
stderr, an empty stdout and a non-zero exit, never a signal or a traceback; those
run as real subprocesses (native runtimes write to file descriptor 2 and can kill
the process, which neither capsys nor an in-process call would see), all at once
in a thread pool. ``inspect`` and ``targets`` run in-process through ``cli.main``.
"""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from edgevision.bundle import MANIFEST, Artifact, Manifest, write_bundle
from edgevision.cli import main
from edgevision.decode import decoder_config
from edgevision.formats.tflite import read_tflite

cv2 = pytest.importorskip("cv2")

# A user's environment: no TF_CPP_MIN_LOG_LEVEL (conftest sets it for the test process).
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
N_VIDEO_FRAMES = 10


def cli(*args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgevision", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def cli_all(commands: dict[str, list]) -> dict[str, subprocess.CompletedProcess]:
    """Run every command line at once; subprocesses mostly wait on imports, so threads overlap them well."""
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {name: pool.submit(cli, *args) for name, args in commands.items()}
        return {name: f.result() for name, f in futures.items()}


def random_file(path: Path, size: int = 4096, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> bool:
    """Write RGB frames with the mp4v codec; True when OpenCV reads back every frame."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    if not writer.isOpened():
        return False
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n == len(frames)


def vector_tflite(path: Path) -> Path:
    """A model whose input is 10 floats, not an image."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inp = keras.Input((10,), batch_size=1, name="x")
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, keras.layers.Dense(3)(inp))).convert())
    return path


def forged_scale_tflite(path: Path) -> Path:
    """An int8 classifier whose input scale is -0.5: LiteRT alone segfaults on it."""
    import _models

    src = _models.int8_tflite(_models.classifier(), path.with_name("int8.tflite"), input_type="uint8", samples=4)
    data = src.read_bytes()
    old = struct.pack("<f", read_tflite(data).inputs[0].quantization.scale[0])
    path.write_bytes(data.replace(old, struct.pack("<f", -0.5)))
    return path


def make_bundle(dest: Path, model: Path, change: Callable[[dict], None] | None = None) -> Path:
    manifest = Manifest(task="classification", decoder=decoder_config("classification"), labels=list("abcde"),
                        artifacts={"cpu": Artifact(file="model.tflite", format="tflite", precision="fp32")})
    write_bundle(dest, manifest, files={"model.tflite": model})
    if change:
        data = json.loads((dest / MANIFEST).read_text())
        change(data)
        (dest / MANIFEST).write_text(json.dumps(data))
    return dest


@pytest.fixture(scope="module")
def files(zoo, scene, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    f: dict[str, Path] = {k: Path(zoo["classifier"][k]) for k in ("tflite", "openvino", "onnx")}
    f["yolo"] = Path(zoo["yolo"]["tflite"])
    f["images"] = root / "images"
    f["images"].mkdir()
    variants = [scene.image, scene.image[:, ::-1], cv2.resize(scene.image, (320, 240))]
    for i, img in enumerate(variants):
        assert cv2.imwrite(str(f["images"] / f"img{i}.png"), cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR))
    f["image"] = f["images"] / "img0.png"
    small = cv2.resize(scene.image, (160, 120))
    frames = [np.clip(small.astype(int) + 12 * i - 60, 0, 255).astype(np.uint8) for i in range(N_VIDEO_FRAMES)]
    for suffix in (".mp4", ".avi"):
        f["video"] = root / f"clip{suffix}"
        if write_video(f["video"], frames):
            break
    else:
        pytest.skip("OpenCV here can neither write nor read back an mp4v video")
    f["bundle"] = make_bundle(root / "bundle", f["tflite"])
    f["bundle_unknown_key"] = make_bundle(root / "bundle_key", f["tflite"], lambda d: d.update(foo=1))
    f["bundle_bad_sha"] = make_bundle(root / "bundle_sha", f["tflite"],
                                      lambda d: d["artifacts"]["cpu"].update(sha256="0" * 64))
    f["random_tflite"] = random_file(root / "bad" / "random.tflite", seed=1)
    f["random_onnx"] = random_file(root / "bad" / "random.onnx", seed=2)
    f["random_xml"] = random_file(root / "bad" / "random.xml", seed=3)
    random_file(root / "bad" / "random.bin", seed=4)
    f["bad_image"] = random_file(root / "bad" / "x.jpg", seed=5)
    f["bad_video"] = random_file(root / "bad" / "x.mp4", seed=6)
    f["vector"] = vector_tflite(root / "vector.tflite")
    f["forged"] = forged_scale_tflite(root / "forged.tflite")
    return f


# ---------------------------------------------------------------- run: happy paths


@pytest.fixture(scope="module")
def runs(files) -> dict[str, subprocess.CompletedProcess]:
    tfl, images, video = files["tflite"], files["images"], files["video"]
    return cli_all({
        "dir-json": ["run", tfl, "--source", images, "--json"],
        "dir-text": ["run", tfl, "--source", images],
        "video-json": ["run", tfl, "--source", video, "--json"],
        "video-max-frames": ["run", tfl, "--source", video, "--json", "--max-frames", "4"],
        "video-overlap": ["run", tfl, "--source", video, "--json", "--overlap", "--threads", "1"],
        "video-no-overlap": ["run", tfl, "--source", video, "--json", "--no-overlap", "--threads", "1"],
        "bundle": ["run", files["bundle"], "--source", images, "--json"],
        "openvino": ["run", files["openvino"], "--source", files["image"], "--json"],
        "onnx": ["run", files["onnx"], "--source", files["image"], "--json", "--threads", "1"],
    })


def json_lines(proc: subprocess.CompletedProcess) -> list[dict]:
    """The per-frame records of a ``--json`` run; checks the run's last line is its summary."""
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert set(lines[-1]) == {"summary"} and lines[-1]["summary"]["frames"] == len(lines) - 1
    return lines[:-1]


@pytest.mark.slow
def test_run_directory_json_gives_one_record_per_image(runs, files):
    records = json_lines(runs["dir-json"])
    assert len(records) == 3
    for i, r in enumerate(records):
        assert set(r) >= {"frame", "source", "size", "latency_ms", "task", "classes"}
        assert r["frame"] == i and Path(r["source"]).name == f"img{i}.png"
        assert set(r["latency_ms"]) == {"capture", "preprocess", "infer", "decode", "total"}
        assert all(isinstance(v, (int, float)) and v >= 0 for v in r["latency_ms"].values())
        assert r["task"] == "classification" and len(r["classes"]) == 5
    assert [r["size"] for r in records] == [[640, 480], [640, 480], [320, 240]]


@pytest.mark.slow
def test_run_directory_text_gives_one_readable_line_per_image(runs):
    proc = runs["dir-text"]
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert line.startswith(f"frame {i} ") and f"img{i}.png" in line and line.endswith(" ms)")
    assert "model:" in proc.stderr and "3 frames" in proc.stderr


@pytest.mark.slow
def test_run_video_yields_every_frame_in_order(runs, files):
    records = json_lines(runs["video-json"])
    assert [r["frame"] for r in records] == list(range(N_VIDEO_FRAMES))
    assert {r["source"] for r in records} == {str(files["video"])}
    assert {tuple(r["size"]) for r in records} == {(160, 120)}


@pytest.mark.slow
def test_run_overlapped_and_sequential_give_the_same_records(runs):
    overlapped, sequential = json_lines(runs["video-overlap"]), json_lines(runs["video-no-overlap"])
    assert "· overlapped ·" in runs["video-overlap"].stderr and "· sequential ·" in runs["video-no-overlap"].stderr
    same = [{k: v for k, v in r.items() if k not in ("latency_ms", "timestamp")} for r in overlapped]
    assert same == [{k: v for k, v in r.items() if k not in ("latency_ms", "timestamp")} for r in sequential]
    assert [r["frame"] for r in overlapped] == list(range(N_VIDEO_FRAMES))


@pytest.mark.slow
def test_run_max_frames(runs):
    assert [r["frame"] for r in json_lines(runs["video-max-frames"])] == [0, 1, 2, 3]


@pytest.mark.slow
def test_run_bundle_directory(runs):
    records = json_lines(runs["bundle"])
    assert len(records) == 3
    assert all(c["label"] in "abcde" for r in records for c in r["classes"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["openvino", "onnx"])
def test_run_other_formats(runs, kind):
    (record,) = json_lines(runs[kind])
    assert record["task"] == "classification" and record["size"] == [640, 480]


# ---------------------------------------------------------------- inspect and targets (in-process)


@pytest.mark.slow
@pytest.mark.parametrize("kind, fmt", [("tflite", "tflite"), ("openvino", "openvino-ir"), ("onnx", "onnx")])
def test_inspect_model_file(files, capsys, kind, fmt):
    assert main(["inspect", str(files[kind])]) == 0
    text = capsys.readouterr().out
    assert f"format: {fmt}" in text and "inputs:" in text and "outputs:" in text
    assert main(["inspect", str(files[kind]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == fmt and report["model"] == str(files[kind])
    assert len(report["inputs"]) == 1 and len(report["outputs"]) == 1


@pytest.mark.slow
def test_inspect_bundle(files, capsys):
    assert main(["inspect", str(files["bundle"])]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"bundle {files['bundle']}: classification") and "cpu: model.tflite (tflite, fp32" in text
    assert main(["inspect", str(files["bundle"]), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["manifest"]["task"] == "classification"
    assert report["artifacts"]["cpu"]["format"] == "tflite"


def test_targets_table_and_json(capsys):
    assert main(["targets"]) == 0
    text = capsys.readouterr().out
    cpu_row = next(line for line in text.splitlines() if line.startswith("cpu "))
    assert " yes: " in cpu_row
    assert main(["targets", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in rows}
    assert {"cpu", "rpi5", "coral-usb", "intel-npu", "jetson-orin"} <= set(by_id)
    assert by_id["cpu"]["runs_here"] is True
    assert all(set(r) >= {"format", "precisions", "backend", "runs_here", "reason"} for r in rows)


def test_targets_one_profile(capsys):
    assert main(["targets", "rpi5"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["id"] == "rpi5" and profile["artifact"]["format"] == "tflite"
    assert isinstance(profile["runs_here"], bool) and profile["reason"]


# ---------------------------------------------------------------- bad input: one error line, no crash


def _run(model_key: str, source_key: str = "image", *extra: str) -> Callable[[dict], list]:
    return lambda f: ["run", f[model_key], "--source", f[source_key], *extra]


ERRORS: dict[str, Callable[[dict], list]] = {
    "missing model": lambda f: ["run", f["images"] / "missing.tflite", "--source", f["image"]],
    "random-bytes tflite": _run("random_tflite"),
    "forged quantisation scale": _run("forged"),
    "random-bytes onnx": _run("random_onnx"),
    "random-bytes xml": _run("random_xml"),
    "unknown manifest key": _run("bundle_unknown_key"),
    "wrong sha256": _run("bundle_bad_sha"),
    "undecodable image source": _run("tflite", "bad_image"),
    "undecodable video": _run("tflite", "bad_video"),
    "non-image model": _run("vector"),
    "task that does not fit": _run("yolo", "image", "--task", "classification"),
    "unknown target": _run("tflite", "image", "--target", "rpi9"),
    "bundle without the target": _run("bundle", "image", "--target", "rpi5"),
    "missing source": lambda f: ["run", f["tflite"], "--source", f["images"] / "missing.png"],
    "threads 0": _run("tflite", "image", "--threads", "0"),
    "inspect random-bytes tflite": lambda f: ["inspect", f["random_tflite"]],
    "inspect random-bytes onnx": lambda f: ["inspect", f["random_onnx"]],
    "inspect random-bytes xml": lambda f: ["inspect", f["random_xml"]],
    "inspect forged": lambda f: ["inspect", f["forged"]],
    "targets unknown": lambda f: ["targets", "rpi9"],
    "no subcommand": lambda f: [],
}


@pytest.fixture(scope="module")
def error_runs(files) -> dict[str, subprocess.CompletedProcess]:
    return cli_all({name: make(files) for name, make in ERRORS.items()})


@pytest.mark.slow
@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_one_error_line(error_runs, case):
    proc = error_runs[case]
    assert proc.returncode > 0, f"exit {proc.returncode} (negative: killed by signal {-proc.returncode})\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "error" in lines[0]
    assert proc.stdout == ""


@pytest.mark.slow
def test_error_lines_say_what_was_expected(error_runs):
    expected = {
        "random-bytes tflite": "expected a TFLite flatbuffer",
        "forged quantisation scale": "expected finite positive quantisation scales",
        "random-bytes xml": "expected an OpenVINO IR .xml",
        "unknown manifest key": "unknown key 'foo'",
        "wrong sha256": "expected sha256",
        "undecodable video": "expected a video OpenCV can decode",
        "non-image model": "expected an image input",
        "task that does not fit": "expected one classification output [1, C], got [[1, 7, 256]]",
        "unknown target": "expected a target id among",
        "threads 0": "expected a positive integer, got '0'",
    }
    for case, text in expected.items():
        assert text in error_runs[case].stderr, (case, error_runs[case].stderr)
    assert error_runs["threads 0"].returncode == 2


# ---------------------------------------------------------------- run: live sources, outputs, Ctrl-C, faults
# A tiny ONNX detector (no TensorFlow) keeps these quick; see tests/_onnx_models.py.
SYNTHETIC = "synthetic://160x120@30?seed=3&pace=0"


@pytest.fixture(scope="module")
def live_files(tmp_path_factory) -> dict[str, Path]:
    import _onnx_models

    from edgevision.sources.synthetic import SyntheticCapture, parse_synthetic

    root = tmp_path_factory.mktemp("cli-live")
    capture = SyntheticCapture(parse_synthetic(SYNTHETIC))
    f = {"model": _onnx_models.bright_spot_detector(root / "det.onnx"), "video": root / "clip.avi",
         "bad_video": random_file(root / "bad" / "x.mp4", seed=6), "out": root / "out"}
    assert write_video(f["video"], [capture.image(t) for t in range(N_VIDEO_FRAMES)])
    f["out"].mkdir()
    f["images"] = root / "images"
    f["images"].mkdir()
    for t in range(3):
        cv2.imwrite(str(f["images"] / f"shot{t}.png"), cv2.cvtColor(capture.image(10 * t), cv2.COLOR_RGB2BGR))
    (f["images"] / "notes.txt").write_text("not an image")
    return f


@pytest.fixture(scope="module")
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture(scope="module")
def live_runs(live_files) -> dict[str, subprocess.CompletedProcess]:
    m, out = live_files["model"], live_files["out"]
    return cli_all({
        "synthetic-json": ["run", m, "--source", SYNTHETIC, "--max-frames", "15", "--json"],
        "video-to-mp4": ["run", m, "--source", live_files["video"], "--quiet", "--output", out / "annotated.mp4"],
        "video-to-images": ["run", m, "--source", live_files["video"], "--quiet", "--max-frames", "3",
                            "--output", out / "frames"],
        "glob-json": ["run", m, "--source", live_files["images"] / "shot*", "--source-size", "80x60", "--json"],
    })


def test_run_synthetic_json_records_and_summary(live_runs):
    proc = live_runs["synthetic-json"]
    records = json_lines(proc)
    assert [r["frame"] for r in records] == list(range(15))
    for r in records:
        assert set(r) >= {"frame", "timestamp", "source", "size", "latency_ms", "dropped", "reconnects", "detections"}
        assert set(r["latency_ms"]) == {"capture", "preprocess", "infer", "decode", "total"}
        assert r["size"] == [160, 120] and r["dropped"] == 0 and r["reconnects"] == 0
    assert [r["timestamp"] for r in records] == sorted(r["timestamp"] for r in records)
    summary = json.loads(proc.stdout.splitlines()[-1])["summary"]
    assert summary["frames"] == 15 and summary["stopped"] == "end" and summary["fps"] > 0
    assert summary["median_ms"]["infer"] > 0 and summary["reconnects"] == 0
    assert "source: synthetic://160x120@30?seed=3 (in order)" in proc.stderr
    assert "15 frames in " in proc.stderr.splitlines()[-1]


def test_run_writes_an_annotated_video(live_runs, live_files):
    proc = live_runs["video-to-mp4"]
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    video = live_files["out"] / "annotated.mp4"
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    assert len(frames) == N_VIDEO_FRAMES and frames[0].shape == (120, 160, 3)
    assert not list(live_files["out"].glob(".annotated.partial*"))  # renamed once complete


def test_run_writes_annotated_images(live_runs, live_files):
    assert live_runs["video-to-images"].returncode == 0, live_runs["video-to-images"].stderr
    names = sorted(p.name for p in (live_files["out"] / "frames").iterdir())
    assert names == ["frame_000000.jpg", "frame_000001.jpg", "frame_000002.jpg"]


def test_run_glob_source_with_size(live_runs, live_files):
    records = json_lines(live_runs["glob-json"])
    assert [Path(r["source"]).name for r in records] == ["shot0.png", "shot1.png", "shot2.png"]
    assert {tuple(r["size"]) for r in records} == {(80, 60)}


def test_run_ctrl_c_stops_cleanly_with_a_summary_and_serves_the_live_view(live_files):
    proc = subprocess.Popen([sys.executable, "-m", "edgevision", "run", live_files["model"], "--source",
                             "synthetic://160x120@30?seed=1", "--json", "--serve", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        first = proc.stderr.readline()
        assert first.startswith("live view: http://127.0.0.1:"), first + proc.stderr.read()
        url = first.split()[-1]
        deadline = time.monotonic() + 60
        while True:
            stats = json.loads(urllib.request.urlopen(url + "stats", timeout=10).read())
            if stats["frames"] >= 5 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert stats["frames"] >= 5 and stats["fps"] > 0
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("stopped by Ctrl-C · ")
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["summary"]["stopped"] == "interrupted" and lines[-1]["summary"]["frames"] == len(lines) - 1
    assert lines[0]["source"] == "synthetic://160x120@30?seed=1"


LIVE_ERRORS: dict[str, Callable[[dict, int], list]] = {
    "unknown scheme": lambda f, port: ["run", f["model"], "--source", "ftp://cam/stream"],
    "camera /dev/video99": lambda f, port: ["run", f["model"], "--source", "/dev/video99"],
    "camera usb://9": lambda f, port: ["run", f["model"], "--source", "usb://9"],
    "gst without GStreamer": lambda f, port: ["run", f["model"], "--source", "gst://videotestsrc ! appsink"],
    "undecodable video": lambda f, port: ["run", f["model"], "--source", f["bad_video"]],
    "port in use": lambda f, port: ["run", f["model"], "--source", SYNTHETIC, "--serve", f"127.0.0.1:{port}"],
    "bad serve address": lambda f, port: ["run", f["model"], "--source", SYNTHETIC, "--serve", "host:port"],
    "show without a display": lambda f, port: ["run", f["model"], "--source", SYNTHETIC, "--show"],
    "output suffix": lambda f, port: ["run", f["model"], "--source", SYNTHETIC, "--output", f["out"] / "x.txt"],
    "synthetic option": lambda f, port: ["run", f["model"], "--source", "synthetic://64x64?fps=3"],
    "timeout 0": lambda f, port: ["run", f["model"], "--source", SYNTHETIC, "--timeout", "0"],
}


@pytest.fixture(scope="module")
def live_error_runs(live_files, busy_port) -> dict[str, subprocess.CompletedProcess]:
    return cli_all({name: make(live_files, busy_port) for name, make in LIVE_ERRORS.items()})


@pytest.mark.parametrize("case", list(LIVE_ERRORS))
def test_live_bad_input_is_one_error_line(live_error_runs, case):
    from edgevision.sinks import display_problem

    if case == "show without a display" and display_problem(cv2) is None:
        pytest.skip("this machine has a display and an OpenCV with a GUI: --show works here")
    proc = live_error_runs[case]
    assert proc.returncode > 0, f"exit {proc.returncode}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "error" in lines[0], proc.stderr
    assert proc.stdout == ""


def test_live_error_lines_say_what_was_expected(live_error_runs, busy_port):
    expected = {
        "unknown scheme": "got unknown scheme 'ftp://'",
        "camera /dev/video99": "expected a camera at /dev/video99, got no such device",
        "camera usb://9": "expected a camera at usb://9 (/dev/video9), got no such device",
        "gst without GStreamer": "expected an OpenCV built with GStreamer",
        "undecodable video": "expected a video OpenCV can decode, got 'x.mp4'",
        "port in use": f"expected a free port for --serve, got 127.0.0.1:{busy_port} already in use",
        "bad serve address": "expected --serve [HOST:]PORT",
        "show without a display": "for --show",
        "output suffix": "expected a directory, a video (.mp4",
        "synthetic option": "unknown synthetic:// option 'fps'; valid options: seed, shapes, pace",
        "timeout 0": "expected a positive number, got '0'",
    }
    from edgevision.sinks import display_problem

    if display_problem(cv2) is None:
        del expected["show without a display"]
    for case, text in expected.items():
        assert text in live_error_runs[case].stderr, (case, live_error_runs[case].stderr)


# ---------------------------------------------------------------- issue 11: overrides on a bundle, --size, --box-format
def _records(capsys) -> list[dict]:
    return [r for r in map(json.loads, capsys.readouterr().out.splitlines()) if "summary" not in r]


def test_run_bundle_takes_label_and_decoder_overrides(files, tmp_path, capsys):
    """``run BUNDLE --labels/--task/--decoder`` failed with "unknown option" before."""
    labels = tmp_path / "labels.txt"
    labels.write_text("v\nw\nx\ny\nz\n")
    assert main(["run", str(files["bundle"]), "--source", str(files["image"]), "--json", "--labels", str(labels),
                 "--top-k", "2"]) == 0
    (record,) = _records(capsys)
    assert len(record["classes"]) == 2 and {c["label"] for c in record["classes"]} <= set("vwxyz")
    assert main(["run", str(files["bundle"]), "--source", str(files["image"]), "--json", "--task", "classification",
                 "--decoder", "classification", "--score-threshold", "0.99"]) == 0
    (record,) = _records(capsys)
    assert record["classes"] == []
    assert main(["run", str(files["bundle"]), "--source", str(files["image"]), "--task", "detection"]) == 2
    assert "expected --decoder with --task detection for a classification bundle" in capsys.readouterr().err


def test_a_dynamic_shape_model_error_names_size(tmp_path, capsys):
    import _exporters as ex

    path = ex.paddle_classifier_onnx(tmp_path / "cls.onnx")
    assert main(["run", str(path), "--source", "synthetic://64x48@30", "--max-frames", "1"]) != 0
    assert "--size WxH" in capsys.readouterr().err
    assert main(["run", str(path), "--source", "synthetic://64x48@30", "--max-frames", "1", "--size", "192x48",
                 "--json"]) == 0
    assert _records(capsys)[0]["task"] == "classification"


def test_run_box_format_flag(tmp_path, capsys, files):
    import _tf_exporters as tfx

    path = tfx.ultralytics_tflite(tmp_path / "y_float32.tflite")
    assert main(["run", str(path), "--source", str(files["image"]), "--json"]) == 0
    normalised = _records(capsys)[0]["detections"]
    assert main(["run", str(path), "--source", str(files["image"]), "--json", "--box-format", "pixels"]) == 0
    as_pixels = _records(capsys)[0]["detections"]
    assert normalised and as_pixels and max(d["xyxy"][2] - d["xyxy"][0] for d in as_pixels) < 3  # fractions as pixels
