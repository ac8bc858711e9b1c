"""Throughput of ``edgevision run`` on a video file against the model's own speed, measured in the same run.

The requirement: frames per second of the whole run (video decoding, preprocessing,
inference, decoding, output) >= 0.95 x (1 / median inference latency), both taken
from one run. The script:

1. builds the reference detector bundle: ``examples/models/shapes_detector.keras`` (with
   ``shapes_detector.json``) converted with ``tf.lite.TFLiteConverter.from_keras_model``
   (fp32, or ``--int8`` with a representative dataset of synthetic shapes), in a child
   process so TensorFlow never loads here; when the trained file is not there yet, the
   same architecture untrained (``train_reference_models.build_detector``: the same
   inference cost, meaningless boxes) and it says so. Cached by content in ``--cache``;
2. writes a video with OpenCV from ``synthetic://`` frames (``--size``, ``--frames``);
3. runs ``python -m edgevision run BUNDLE --source VIDEO --json --threads N`` and reads
   the per-frame records and the summary it prints;
4. reports fps (steady state: the first frame, with its warm-up, left out), the median
   of each stage, and two ratios: fps x median ``infer`` (the requirement's figure) and
   fps x median model time (preprocess + infer + decode, what ``Model.predict`` costs);
5. after each run, the same figures for a bare ``Model.predict`` loop over the video's
   frames decoded beforehand (no capture, no output): the ceiling this machine allows,
   since 1 / mean falls below 1 / median whenever other processes preempt the loop.

``--rounds`` alternates runs and bare loops; the median round is reported, every round listed.

Usage:
    python examples/bench_run_throughput.py                        # 600 frames 640x480, 1 thread
    python examples/bench_run_throughput.py --size 320x240 --threads 2 --int8 --json

Exit code 0 whatever the figure (a benchmark, not a test); 2 when something cannot run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
TARGET_RATIO = 0.95
RECIPE = 1  # bump when the conversion below changes, so cached bundles are not reused


def _convert(keras_path: str, out: str, int8: bool) -> None:
    """Child process: Keras (or the untrained architecture) -> .tflite."""
    import contextlib
    import io

    import numpy as np
    import tensorflow as tf

    sys.path.insert(0, str(HERE))
    if keras_path:
        import keras

        model = keras.models.load_model(keras_path, compile=False)
    else:
        from train_reference_models import build_detector

        model = build_detector()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        from edgevision.synthetic import shapes_dataset

        side = int(model.inputs[0].shape[1])
        images = shapes_dataset("detection", 64, side, seed=11).images.astype(np.float32)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([im[None]] for im in images)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8  # raw pixels: scale 1, zero point 0 (Rescaling is inside)
    with contextlib.redirect_stdout(io.StringIO()):
        Path(out).write_bytes(converter.convert())


def reference_bundle(cache: Path, *, int8: bool = False) -> tuple[Path, str]:
    """(bundle directory, description) of the reference detector, converted once per content and cached."""
    from edgevision.bundle import Artifact, Manifest, write_bundle
    from edgevision.decode import decoder_config
    from edgevision.preprocess import InputFormat

    keras_file, info_file = MODELS / "shapes_detector.keras", MODELS / "shapes_detector.json"
    trained = keras_file.is_file() and info_file.is_file()
    if trained:
        info = json.loads(info_file.read_text())
        source = hashlib.sha256(keras_file.read_bytes()).hexdigest()[:12]
        what = f"trained {keras_file.relative_to(HERE.parent)}"
    else:
        sys.path.insert(0, str(HERE))
        from train_reference_models import REFERENCES, model_info  # no TensorFlow at import

        info = model_info(REFERENCES["detector"])
        source = "untrained"
        what = ("UNTRAINED shapes_detector architecture (examples/models/shapes_detector.keras is not there yet): "
                "the same inference cost, meaningless boxes")
    precision = "int8" if int8 else "fp32"
    bundle = cache / f"shapes_detector_{source}_{precision}_r{RECIPE}"
    if not (bundle / "manifest.json").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            tflite = Path(tmp) / "model.tflite"
            code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from bench_run_throughput import _convert; "
                    f"_convert({str(keras_file) if trained else ''!r}, {str(tflite)!r}, {int8})")
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"bench_run_throughput: error: conversion failed:\n{done.stderr[-2000:]}")
            fmt = {**info["input"], "size": tuple(info["input"]["size"])}
            if int8:  # uint8 raw-pixel input: the runtime copies pixels straight in
                fmt.update(mean=None, std=None)
            decoder = dict(info["decoder"])
            manifest = Manifest(task=info["task"], labels=list(info["labels"]),
                                decoder=decoder_config(decoder.pop("type"), decoder), input=InputFormat(**fmt),
                                artifacts={"cpu": Artifact(file="model.tflite", format="tflite", precision=precision)},
                                name="shapes_detector")
            write_bundle(bundle, manifest, files={"model.tflite": tflite}, overwrite=True)
    return bundle, f"{what}, {precision} .tflite (TFLiteConverter.from_keras_model)"


def write_video(path: Path, *, frames: int, size: tuple[int, int], seed: int = 7) -> Path:
    """``frames`` synthetic frames of ``size`` as a video OpenCV wrote (mp4v in .mp4, else MJPG in .avi)."""
    import cv2

    from edgevision.sources.synthetic import SyntheticCapture, parse_synthetic

    capture = SyntheticCapture(parse_synthetic(f"synthetic://{size[0]}x{size[1]}@30?seed={seed}&pace=0"))
    for suffix, codec in ((".mp4", "mp4v"), (".avi", "MJPG")):
        out = path.with_suffix(suffix)
        writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*codec), 30.0, size)
        if writer.isOpened():
            for t in range(frames):
                writer.write(cv2.cvtColor(capture.image(t), cv2.COLOR_RGB2BGR))
            writer.release()
            return out
    raise SystemExit("bench_run_throughput: error: OpenCV here can write neither mp4v nor MJPG video")


def run_command(bundle: Path, video: Path, threads: int, json_lines: bool = True) -> list[str]:
    return [sys.executable, "-m", "edgevision", "run", str(bundle), "--source", str(video), "--threads",
            str(threads), "--json", *(() if json_lines else ("--quiet",))]


def measure(command: list[str]) -> dict[str, Any]:
    """Run ``edgevision run`` once; figures from its own records and summary."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_run_throughput: error: the run failed:\n{done.stderr[-2000:]}")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    summary, records = lines[-1]["summary"], lines[1:-1]  # the first frame (warm-up) is left out
    header = next((line for line in done.stderr.splitlines() if line.startswith("model:")), "")
    if records:
        stage = {k: statistics.median(r["latency_ms"][k] for r in records)
                 for k in ("capture", "preprocess", "infer", "decode", "total")}
        model_ms = statistics.median(sum(r["latency_ms"][k] for k in ("preprocess", "infer", "decode"))
                                     for r in records)
    else:  # --quiet: the run's own medians (0.23 % bins)
        stage = dict(summary["median_ms"])
        model_ms = stage["preprocess"] + stage["infer"] + stage["decode"]
    fps = summary["fps"]
    return {"frames": summary["frames"], "fps": fps, "median_ms": stage, "model_ms": model_ms,
            "ratio_infer": fps * stage["infer"] / 1000, "ratio_model": fps * model_ms / 1000,
            "first_frame_ms": summary["first_frame_ms"], "header": header}


def bare_loop(bundle: str, video: str, threads: int) -> None:
    """Child process: ``Model.predict`` on the video's frames, decoded beforehand, nothing else: the ceiling.

    The same figures as the run (fps from the first result to the last, medians), printed as JSON.
    On a busy machine even this loop's fps falls below 1 / median: preemptions lengthen the mean.
    """
    import time

    import edgevision
    from edgevision.sources import open_source

    model = edgevision.load(bundle, threads=threads)
    frames = [f.image for f in open_source(video)]
    clock, done, infer, total = time.perf_counter, [], [], []
    for image in frames:
        model.predict(image)
        done.append(clock())
        infer.append(model.timings.infer)
        total.append(sum(model.timings))
    fps = (len(done) - 1) / (done[-1] - done[0])
    print(json.dumps({"fps": fps, "infer_ms": 1000 * statistics.median(infer[1:]),
                      "model_ms": 1000 * statistics.median(total[1:])}))


def ceiling(bundle: Path, video: Path, threads: int) -> dict[str, float]:
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from bench_run_throughput import bare_loop; "
            f"bare_loop({str(bundle)!r}, {str(video)!r}, {threads})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_run_throughput: error: the bare loop failed:\n{done.stderr[-2000:]}")
    f = json.loads(done.stdout.splitlines()[-1])
    return {"fps": f["fps"], "ratio_infer": f["fps"] * f["infer_ms"] / 1000,
            "ratio_model": f["fps"] * f["model_ms"] / 1000}


def cpu_governor() -> str:
    try:
        return Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
    except OSError:
        return "unknown"


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=600, help="video length (default 600)")
    p.add_argument("--size", default="640x480", help="video frame size WxH (default 640x480)")
    p.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    p.add_argument("--int8", action="store_true", help="full-integer int8 artifact instead of fp32")
    p.add_argument("--quiet-run", action="store_true", help="run with --json --quiet: the summary only")
    p.add_argument("--rounds", type=int, default=3, help="runs, each followed by a bare loop (default 3)")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "edgevision-bench")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    bundle, model = reference_bundle(args.cache, int8=args.int8)
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "clip", frames=args.frames, size=(w, h))
        command = run_command(bundle, video, args.threads, json_lines=not args.quiet_run)
        rounds, bare = [], []
        for _ in range(args.rounds):  # alternated, so drift in the machine's load hits both alike
            rounds.append(measure(command))
            bare.append(ceiling(bundle, video, args.threads))
    figures = sorted(rounds, key=lambda r: r["ratio_infer"])[len(rounds) // 2]  # the median round
    figures["rounds"] = [{k: round(r[k], 4) for k in ("fps", "ratio_infer", "ratio_model")} for r in rounds]
    figures["bare_loop"] = [{k: round(b[k], 4) for k in ("fps", "ratio_infer", "ratio_model")} for b in bare]
    figures["load_average"] = os.getloadavg()[0]
    import cv2
    import numpy

    figures.update(model=model, video=f"{args.frames} frames {w}x{h} ({video.suffix[1:]}, OpenCV {cv2.__version__})",
                   threads=args.threads, cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
                   governor=cpu_governor(), numpy=numpy.__version__, python=platform.python_version(),
                   command=" ".join(["python" if c == sys.executable else c for c in command]),
                   target=TARGET_RATIO)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    m = figures["median_ms"]
    print(f"reference detector: {model}")
    print(f"runtime: {figures['header'][len('model: '):]}")
    print(f"video: {figures['video']} · {figures['cores']} cores · governor {figures['governor']} · "
          f"python {figures['python']}")
    print(f"command: {figures['command']}")
    print(f"frames: {figures['frames']} (first frame, {figures['first_frame_ms']:.1f} ms with warm-up, left out)")
    print(f"median ms: capture {m['capture']:.3f} · preprocess {m['preprocess']:.3f} · infer {m['infer']:.3f} · "
          f"decode {m['decode']:.3f} · model (pre+infer+decode) {figures['model_ms']:.3f}")
    print(f"throughput: {figures['fps']:.1f} fps · 1/median infer {1000 / m['infer']:.1f} fps · "
          f"1/median model {1000 / figures['model_ms']:.1f} fps")
    for key, label in (("ratio_infer", "fps x median infer"), ("ratio_model", "fps x median model time")):
        verdict = "meets" if figures[key] >= TARGET_RATIO else "below"
        print(f"ratio ({label}): {figures[key]:.3f} ({verdict} {TARGET_RATIO}); rounds: "
              f"{', '.join(f'{r[key]:.3f}' for r in figures['rounds'])}; bare Model.predict loop on the same "
              f"frames: {', '.join(f'{b[key]:.3f}' for b in figures['bare_loop'])}")
    print(f"load average: {figures['load_average']:.2f} on {figures['cores']} cores "
          f"(above the core count, other processes competed: expect lower figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
