"""Throughput of ``edgevision run`` on a video file against the model's own speed, measured in the same run.

The requirement: frames per second of the whole run (video decoding, preprocessing,
inference, decoding, output) >= 0.95 x (1 / median inference latency), both taken
from one run. The script:

1. builds two reference detectors as bundles, each converted with
   ``tf.lite.TFLiteConverter.from_keras_model`` (fp32, or ``--int8`` with a representative
   dataset of synthetic shapes) in a child process, so TensorFlow never loads here; cached
   by content in ``--cache``:

   - ``shapes``: the project's reference detector, ``examples/models/shapes_detector.keras``
     (128x128, six small conv blocks; untrained architecture if the file is not there, and
     it says so). Its inference takes about 0.3 ms here: less than decoding one 640x480
     video frame, so no pipeline can keep up with it on 2 cores;
   - ``mobilenetv2``: a standard MobileNetV2 (alpha 1.0, ``weights=None``) at 256x256 with
     the same stride-16 YOLO head, the backbone class of SSDLite-MobileNetV2 that people
     ship to a Pi or a Coral; trained here once on shapes scenes (a few minutes; held-out
     mAP@0.5 printed beside it);
2. writes a video with OpenCV from ``synthetic://`` frames (``--size``, ``--frames``);
3. runs ``python -m edgevision run BUNDLE --source VIDEO --json --threads N`` with
   ``--overlap`` (the engine in a thread of its own, inferring the next frames while this
   one is decoded and written; ``run``'s default when the engine leaves a core free) and
   with ``--no-overlap`` (the stages one after another), and reads the per-frame records
   and the summary it prints;
4. reports per configuration fps (steady state: the first frame, with its warm-up, left
   out), the median of each stage, and two ratios: fps x median ``infer`` (the
   requirement's figure) and fps x median model time (preprocess + infer + decode);
5. after each round, the same figures for a bare ``Model.predict`` loop over the video's
   frames decoded beforehand (no capture, no output, nothing overlapped).

``--rounds`` alternates the configurations; the median round is reported, every round listed.
``--track`` adds, beside each configuration, the same run with ``--track --count-line --zone``
(ByteTrack and a counting line and zone on every frame): the ratio must hold with tracking on.

Usage:
    python examples/bench_run_throughput.py                        # both detectors, both modes, 1 thread
    python examples/bench_run_throughput.py --detector mobilenetv2 --mode overlap --json
    python examples/bench_run_throughput.py --size 320x240 --threads 2 --int8
    python examples/bench_run_throughput.py --detector mobilenetv2 --mode overlap --track

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
from typing import Any

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
        from edgevision.converters.datasets import shapes_dataset

        side = int(model.inputs[0].shape[1])
        images = shapes_dataset("detection", 64, side, seed=11).images.astype(np.float32)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([im[None]] for im in images)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8  # raw pixels: scale 1, zero point 0 (Rescaling is inside)
    with contextlib.redirect_stdout(io.StringIO()):
        Path(out).write_bytes(converter.convert())


# The second detector: a standard MobileNetV2 (alpha 1.0, weights=None: nothing downloaded) at 256x256,
# its stride-16 features into the reference detector's head and box decoding: the backbone class of
# SSDLite-MobileNetV2, the detector people ship to a Pi or a Coral. Trained here on shapes scenes.
MOBILENET = {"size": 256, "alpha": 1.0, "train_images": 800, "epochs": 6, "batch_size": 32, "seed": 2031,
             "test_images": 100}


def build_mobilenet_detector(batch_size: int | None = 1) -> Any:
    """MobileNetV2 (block_13_expand_relu, stride 16: a 16x16 grid) -> 1x1 head -> the [1, 256, 7] YOLO layout."""
    import keras

    sys.path.insert(0, str(HERE))
    from train_reference_models import yolo_head

    size = MOBILENET["size"]
    inp = keras.Input((size, size, 3), batch_size=batch_size, name="images")
    x = keras.layers.Rescaling(1 / 127.5, -1.0, name="pixels_to_signed")(inp)  # MobileNetV2's [-1, 1]
    base = keras.applications.MobileNetV2(input_tensor=x, alpha=MOBILENET["alpha"], include_top=False, weights=None)
    out = yolo_head(base.get_layer("block_13_expand_relu").output)
    return keras.Model(inp, out, name="mobilenetv2_detector")


def _train_mobilenet(out: str) -> None:
    """Child process: train ``build_mobilenet_detector`` on shapes scenes with the reference detector's
    targets and loss; save it as ``out`` (.keras) and print its held-out mAP@0.5 (fp32, TensorFlow)."""
    import keras
    import numpy as np

    sys.path.insert(0, str(HERE))
    from train_reference_models import NC, detector_loss, detector_targets

    from edgevision.converters.datasets import shapes_dataset
    from edgevision.converters.metrics import map50

    cfg = MOBILENET
    keras.utils.set_random_seed(cfg["seed"])
    data = shapes_dataset("detection", cfg["train_images"], cfg["size"], cfg["seed"])
    net = build_mobilenet_detector(batch_size=None)
    for layer in net.layers:  # Keras' MobileNetV2 BN momentum is 0.999: after ~150 steps the moving
        if isinstance(layer, keras.layers.BatchNormalization):  # statistics would still be the initial ones
            layer.momentum = 0.9
    head = net.get_layer("head")
    bias = head.bias.numpy()
    bias[4:] = -4.0  # class scores start near 0.02: most cells own nothing
    head.bias.assign(bias)
    steps = cfg["epochs"] * int(np.ceil(len(data) / cfg["batch_size"]))
    net.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps)), loss=detector_loss)
    net.fit(data.images.astype(np.float32), detector_targets(data, cfg["size"]), batch_size=cfg["batch_size"],
            epochs=cfg["epochs"], shuffle=True, verbose=0)
    model = build_mobilenet_detector(batch_size=1)
    model.set_weights(net.get_weights())
    model.save(out)
    # Held-out mAP through the runtime's own decoder, so the figure means what the runs decode.
    from edgevision.backends.base import TensorSpec
    from edgevision.decode import make_decoder
    from edgevision.transform import make_transform

    test = shapes_dataset("detection", cfg["test_images"], cfg["size"], cfg["seed"] + 100)
    decode = make_decoder({"type": "yolo", "score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100,
                           "box_format": "normalized"}, [TensorSpec("output", (1, 256, 4 + NC), np.dtype(np.float32), None)],
                          ("circle", "square", "triangle"))
    t = make_transform((cfg["size"], cfg["size"]), (cfg["size"], cfg["size"]), "stretch")
    raw = model.predict(test.images.astype(np.float32), batch_size=1, verbose=0)
    results = [decode([r[None]], t) for r in raw]
    print(json.dumps({"map50": map50(results, list(zip(test.boxes, test.classes)), NC)}))


def _child(code: str, what: str) -> str:
    """Run ``code`` in a child Python (TensorFlow never loads here); its stdout, or exit 2 with its stderr."""
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); {code}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_run_throughput: error: {what} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def mobilenet_keras(cache: Path) -> tuple[Path, float]:
    """(the trained MobileNetV2 detector, its held-out mAP@0.5): trained once (a few minutes) and cached."""
    stem = "mobilenetv2_detector_" + hashlib.sha256(json.dumps(MOBILENET, sort_keys=True).encode()).hexdigest()[:10]
    keras_file, figures = cache / f"{stem}.keras", cache / f"{stem}.json"
    if not (keras_file.is_file() and figures.is_file()):
        cache.mkdir(parents=True, exist_ok=True)
        print(f"training the MobileNetV2 detector once ({MOBILENET['train_images']} images x {MOBILENET['epochs']} "
              f"epochs; cached in {cache})...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            part = Path(tmp) / f"{stem}.keras"
            out = _child(f"from bench_run_throughput import _train_mobilenet; _train_mobilenet({str(part)!r})",
                         "training the MobileNetV2 detector")
            figures_tmp = Path(tmp) / "figures.json"
            figures_tmp.write_text(out.strip().splitlines()[-1])
            os.replace(part, keras_file)
            os.replace(figures_tmp, figures)
    return keras_file, json.loads(figures.read_text())["map50"]


def reference_bundle(cache: Path, *, detector: str = "shapes", int8: bool = False) -> tuple[Path, str]:
    """(bundle directory, description) of a reference detector, converted once per content and cached.

    ``detector``: ``shapes`` (the project's reference detector, examples/models/shapes_detector.keras)
    or ``mobilenetv2`` (``build_mobilenet_detector``, trained here once).
    """
    from edgevision.bundle import Artifact, Manifest, write_bundle
    from edgevision.decode import decoder_config
    from edgevision.preprocess import InputFormat

    sys.path.insert(0, str(HERE))
    from train_reference_models import REFERENCES, model_info  # no TensorFlow at import

    if detector == "mobilenetv2":
        keras_file, held_out = mobilenet_keras(cache)
        info = model_info(REFERENCES["detector"])
        info["input"]["size"] = [MOBILENET["size"], MOBILENET["size"]]
        trained, name = True, "mobilenetv2_detector"
        source = hashlib.sha256(keras_file.read_bytes()).hexdigest()[:12]
        what = (f"MobileNetV2 (alpha {MOBILENET['alpha']}) detector, {MOBILENET['size']}x{MOBILENET['size']}, "
                f"stride-16 YOLO head, trained on shapes (held-out mAP@0.5 {held_out:.3f})")
    else:
        keras_file, info_file = MODELS / "shapes_detector.keras", MODELS / "shapes_detector.json"
        trained, name = keras_file.is_file() and info_file.is_file(), "shapes_detector"
        if trained:
            info = json.loads(info_file.read_text())
            source = hashlib.sha256(keras_file.read_bytes()).hexdigest()[:12]
            what = f"trained {keras_file.relative_to(HERE.parent)} (128x128)"
        else:
            info = model_info(REFERENCES["detector"])
            source = "untrained"
            what = ("UNTRAINED shapes_detector architecture (examples/models/shapes_detector.keras is not there "
                    "yet): the same inference cost, meaningless boxes")
    precision = "int8" if int8 else "fp32"
    bundle = cache / f"{name}_{source}_{precision}_r{RECIPE}"
    if not (bundle / "manifest.json").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            tflite = Path(tmp) / "model.tflite"
            _child(f"from bench_run_throughput import _convert; "
                   f"_convert({str(keras_file) if trained else ''!r}, {str(tflite)!r}, {int8})", "conversion")
            fmt = {**info["input"], "size": tuple(info["input"]["size"])}
            if int8:  # uint8 raw-pixel input: the runtime copies pixels straight in
                fmt.update(mean=None, std=None)
            decoder = dict(info["decoder"])
            manifest = Manifest(task=info["task"], labels=list(info["labels"]),
                                decoder=decoder_config(decoder.pop("type"), decoder), input=InputFormat(**fmt),
                                artifacts={"cpu": Artifact(file="model.tflite", format="tflite", precision=precision)},
                                name=name)
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


TRACKING = ("--track", "--count-line", "0,240,640,240", "--zone", "320,0,640,0,640,480,320,480")


def run_command(bundle: Path, video: Path, threads: int, json_lines: bool = True, overlap: bool = True,
                track: bool = False) -> list[str]:
    return [sys.executable, "-m", "edgevision", "run", str(bundle), "--source", str(video), "--threads",
            str(threads), "--json", *(() if json_lines else ("--quiet",)), "--overlap" if overlap else "--no-overlap",
            *(TRACKING if track else ())]


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


def report(c: dict[str, Any]) -> list[str]:
    """The lines for one (detector, mode) configuration."""
    m = c["median_ms"]
    lines = [f"{c['detector']} · {'--overlap' if c['overlap'] else '--no-overlap'}"
             f"{' · --track --count-line --zone' if c.get('track') else ''}: {c['model']}",
             f"  runtime: {c['header'][len('model: '):]}",
             f"  command: {c['command']}",
             f"  frames: {c['frames']} (the first, {c['first_frame_ms']:.1f} ms with warm-up, left out)",
             f"  median ms: capture {m['capture']:.3f} · preprocess {m['preprocess']:.3f} · infer {m['infer']:.3f} · "
             f"decode {m['decode']:.3f} · model (pre+infer+decode) {c['model_ms']:.3f}",
             f"  throughput: {c['fps']:.1f} fps · 1/median infer {1000 / m['infer']:.1f} fps · "
             f"1/median model {1000 / c['model_ms']:.1f} fps"]
    for key, label in (("ratio_infer", "fps x median infer"), ("ratio_model", "fps x median model time")):
        verdict = "meets" if c[key] >= TARGET_RATIO else "below"
        lines.append(f"  ratio ({label}): {c[key]:.3f} ({verdict} {TARGET_RATIO}); rounds: "
                     f"{', '.join(f'{r[key]:.3f}' for r in c['rounds'])}; bare Model.predict loop on the same "
                     f"frames: {', '.join(f'{b[key]:.3f}' for b in c['bare_loop'])}")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=600, help="video length (default 600)")
    p.add_argument("--size", default="640x480", help="video frame size WxH (default 640x480)")
    p.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")
    p.add_argument("--detector", choices=("shapes", "mobilenetv2", "both"), default="both",
                   help="the 128x128 shapes reference detector, the 256x256 MobileNetV2 one, or both (default)")
    p.add_argument("--mode", choices=("overlap", "sequential", "both"), default="both",
                   help="edgevision run with --overlap, with --no-overlap, or both (default)")
    p.add_argument("--int8", action="store_true", help="full-integer int8 artifacts instead of fp32")
    p.add_argument("--quiet-run", action="store_true", help="run with --json --quiet: the summary only")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds; each runs every configuration and a bare loop per detector (default 3)")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "edgevision-bench")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--track", action="store_true",
                   help="also run each configuration with --track --count-line --zone (tracking and counting on)")
    args = p.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    detectors = ("shapes", "mobilenetv2") if args.detector == "both" else (args.detector,)
    modes = (True, False) if args.mode == "both" else (args.mode == "overlap",)
    bundles = {d: reference_bundle(args.cache, detector=d, int8=args.int8) for d in detectors}
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "clip", frames=args.frames, size=(w, h))
        configs = [{"detector": d, "overlap": o, "model": bundles[d][1], "track": t,
                    "argv": run_command(bundles[d][0], video, args.threads, json_lines=not args.quiet_run, overlap=o,
                                        track=t)}
                   for d in detectors for o in modes for t in ((False, True) if args.track else (False,))]
        runs: dict[int, list] = {i: [] for i in range(len(configs))}
        bare: dict[str, list] = {d: [] for d in detectors}
        for _ in range(args.rounds):  # alternated, so drift in the machine's load hits every configuration alike
            for i, c in enumerate(configs):
                runs[i].append(measure(c["argv"]))
            for d in detectors:
                bare[d].append(ceiling(bundles[d][0], video, args.threads))
    import cv2
    import numpy

    out = []
    for i, c in enumerate(configs):
        figures = sorted(runs[i], key=lambda r: r["ratio_infer"])[len(runs[i]) // 2]  # the median round
        figures.update(detector=c["detector"], overlap=c["overlap"], model=c["model"], track=c["track"],
                       command=" ".join(["python" if a == sys.executable else a for a in c["argv"]]),
                       rounds=[{k: round(r[k], 4) for k in ("fps", "ratio_infer", "ratio_model")} for r in runs[i]],
                       bare_loop=[{k: round(b[k], 4) for k in ("fps", "ratio_infer", "ratio_model")}
                                  for b in bare[c["detector"]]])
        out.append(figures)
    result = {"configurations": out, "target": TARGET_RATIO, "load_average": os.getloadavg()[0],
              "video": f"{args.frames} frames {w}x{h} ({video.suffix[1:]}, OpenCV {cv2.__version__})",
              "threads": args.threads, "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
              "governor": cpu_governor(), "numpy": numpy.__version__, "python": platform.python_version()}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"video: {result['video']} · {result['threads']} inference thread(s) · {result['cores']} cores · "
          f"governor {result['governor']} · python {result['python']}")
    for c in out:
        print()
        print("\n".join(report(c)))
    print(f"\nload average: {result['load_average']:.2f} on {result['cores']} cores "
          f"(above the core count, other processes competed: expect lower figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
