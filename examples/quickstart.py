"""Quickstart: convert the embedded reference detector for every target, run the bundle; then the other tasks.

Nothing is downloaded: the model is ``examples/models/shapes_detector.keras`` (trained by
``examples/train_reference_models.py`` on generated shapes), and the images come from
``edgevision.converters.datasets``. Run it from the repository root after ``pip install -e ".[all]"``::

    python examples/quickstart.py                          # writes out/quickstart/
    python examples/quickstart.py --model shapes_segmenter # or shapes_classifier

Steps:

1. images: calibration and held-out scenes with ground truth (PNG + sidecar), like a camera's;
2. ``edgevision convert`` the model for every target profile into one bundle: int8 TFLite for
   the Pis, the Edge TPU's full-integer int8 (and its op-mapping report), OpenVINO IR for the
   Intel devices (NNCF int8 for the NPU), ONNX for the Jetsons; fidelity of each artifact
   measured against the Keras source;
3. run the bundle for each target: on the device it was made for when this machine is one,
   else on this machine's CPU through the same runtime (said in the table);
4. the same from the command line: ``edgevision run BUNDLE --source IMAGES --json``;
5. the tasks beyond boxes: the reference instance-segmentation (YOLO-seg), pose (YOLO-pose) and
   single-pose (MoveNet) models converted for one target of each artifact format, their fidelity
   against the images' own masks and keypoints, and a frame of each run (``--no-tasks`` skips it);
6. tracking and counting: ``edgevision run --track --count-line --zone`` on a generated video
   of shapes crossing the frame.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

import edgevision
from edgevision.bundle import read_manifest
from edgevision.converters.datasets import write_shapes_dataset
from edgevision.errors import EdgeVisionError

MODELS = Path(__file__).resolve().parent / "models"
TASK_OF_MODEL = {"shapes_detector": "detection", "shapes_classifier": "classification",
                 "shapes_segmenter": "segmentation"}
# The tasks beyond boxes: (model, task, single figure a scene); one target per artifact format.
TASK_MODELS = (("shapes_instances", "instance-segmentation", False), ("figures_pose", "pose", False),
               ("figure_movenet", "pose", True))
FORMAT_TARGETS = ("cpu", "rpi5", "coral-usb", "intel-npu", "jetson-orin")


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def convert_for_every_target(model: Path, out: Path, images: Path, validation: Path) -> Path:
    """``edgevision convert`` with every shipped target profile; returns the bundle path."""
    from edgevision.cli import main as cli_main
    from edgevision.targets import TARGET_IDS

    argv = ["convert", str(model), *[a for t in TARGET_IDS for a in ("--target", t)],
            "--calibration", str(images), "--validation", str(validation), "-o", str(out), "--overwrite"]
    print("$ edgevision " + " ".join(argv), flush=True)
    code = cli_main(argv)
    if code != 0:
        raise SystemExit(code)
    return out


def run_target(bundle: Path, target: str, images: list, truth_metric) -> dict:
    """Load the bundle for one target (on this CPU when the device is absent) and run the images."""
    from edgevision.targets import load_target

    profile = load_target(target)
    ok, why = profile.can_run_here()
    kwargs = {}
    if not ok and profile.runtime.delegate is not None:  # an accelerator delegate cannot stand in for itself
        return {"target": target, "error": why}
    if not ok and profile.runtime.backend.value == "openvino":
        kwargs["device"] = "CPU"  # the same IR, on this host's CPU instead of the NPU/GPU
    try:
        model = edgevision.load(bundle, target=target, **kwargs)
    except EdgeVisionError as e:
        return {"target": target, "error": str(e)}
    results, infer_ms = [], []
    model.predict(images[0][1])  # warm-up
    for _, image in images:
        results.append(model.predict(image))
        infer_ms.append(1000 * model.timings.infer)
    info = model.info()
    return {"target": target, "here": ok, "file": Path(info["artifact"]["file"]).name,
            "backend": info["backend"], "score": truth_metric(results), "infer_ms": statistics.median(infer_ms)}


def other_tasks(out: Path) -> None:
    """Step 5: each new reference model converted for one target per format, fidelity against ground truth."""
    from edgevision.cli import main as cli_main
    from edgevision.converters.datasets_tasks import write_task_dataset

    for name, task, single in TASK_MODELS:
        size = json.loads((MODELS / f"{name}.json").read_text())["input"]["size"]
        frame = (2 * size[0], round(1.5 * size[1]))  # 4:3 camera frames: letterboxed with grey bands
        root = out / name
        write_task_dataset(root / "images", task, 60, frame, seed=303, single=single)
        write_task_dataset(root / "validation", task, 20, frame, seed=404, single=single)
        argv = ["convert", str(MODELS / f"{name}.keras"), *[a for t in FORMAT_TARGETS for a in ("--target", t)],
                "--calibration", str(root / "images"), "--validation", str(root / "validation"),
                "-o", str(root / "bundle"), "--overwrite"]
        print("$ edgevision " + " ".join(argv), flush=True)
        code = cli_main(argv)
        if code != 0:
            raise SystemExit(code)
        manifest = read_manifest(root / "bundle")
        for target, art in manifest.artifacts.items():
            fid = art.fidelity
            metric = fid.get("drop_metric", "")
            print(f"  {name} {target:<12} {art.format:<15} {art.precision:<5} {metric} {fid.get(metric, 0.0):.3f} "
                  f"(source {fid.get('source_' + metric, 0.0):.3f}) · {fid[fid['metric']]:.3f} {fid['metric']}")
        model = edgevision.load(root / "bundle", target="cpu")
        from edgevision.sources import read_image

        print(f"  one frame: {model.predict(read_image(root / 'validation' / '00000.png')).describe()[:160]}")


def tracking(out: Path, detector_bundle: Path) -> int:
    """Step 6: ``edgevision run --track --count-line --zone`` on a generated video of shapes crossing the frame."""
    import cv2

    from edgevision.cli import main as cli_main
    from edgevision.converters.sequences import moving_shapes_sequence

    seq = moving_shapes_sequence(150, (320, 240), n_objects=5, seed=11, radius=(0.08, 0.14))  # the detector's sizes
    video = out / "crossing.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 240))
    for frame in seq.frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    argv = ["run", str(detector_bundle), "--target", "cpu", "--source", str(video), "--track",
            "--count-line", "15,120,135,120", "--zone", "195,50,300,50,300,190,195,190", "--json", "--quiet",
            "--output", str(out / "tracked.mp4")]
    print("$ edgevision " + " ".join(argv), flush=True)
    return cli_main(argv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/quickstart"), help="output directory")
    parser.add_argument("--model", default="shapes_detector", choices=sorted(TASK_OF_MODEL))
    parser.add_argument("--images", type=int, default=120, help="calibration images (plus 40 held out)")
    parser.add_argument("--no-tasks", action="store_true", help="skip steps 5 and 6 (the other tasks, tracking)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    task = TASK_OF_MODEL[args.model]
    model = MODELS / f"{args.model}.keras"
    size = json.loads(model.with_suffix(".json").read_text())["input"]["size"]

    steps = 4 if args.no_tasks else 6
    step(f"1/{steps} writing {args.images} calibration and 40 held-out {task} images with ground truth")
    frame = (max(320, 2 * size[0]), max(240, 2 * size[1]))  # camera-like frames, larger than the model input
    calib = write_shapes_dataset(args.out / "images", task, args.images, frame, seed=101)
    held = write_shapes_dataset(args.out / "validation", task, 40, frame, seed=202)
    print(f"{args.out / 'images'}: {len(calib)} images; {args.out / 'validation'}: {len(held)} images "
          f"({frame[0]}x{frame[1]})")

    step(f"2/{steps} converting {model.name} for every target")
    bundle = convert_for_every_target(model, args.out / "bundle", args.out / "images", args.out / "validation")

    step(f"3/{steps} running the bundle for each target on the held-out images")
    from edgevision.converters import fidelity
    from edgevision.converters.calibration import load_samples

    manifest = read_manifest(bundle)
    samples = load_samples(held, task, manifest.labels)
    images = [(s.path, s.image) for s in samples]
    n_classes = len(manifest.labels)
    fid = fidelity.metric_of(task)
    metric = fid.truth_metric
    score = lambda results: fid.truth_score(results, [s.truth for s in samples], n_classes)  # noqa: E731
    rows = [run_target(bundle, t, images, score) for t in manifest.artifacts]
    print(f"{'target':<15} {'artifact':<34} {'runtime':<26} {'device':<6} {metric:>8} {'infer ms':>9}")
    for r in rows:
        if "error" in r:
            print(f"{r['target']:<15} not run here: {r['error']}")
            continue
        be = r["backend"]
        where = be["device"] + ("" if r["here"] else "*")
        print(f"{r['target']:<15} {r['file']:<34} {be['backend'] + ' ' + str(be['version']).split('-')[0]:<26} "
              f"{where:<6} {r['score']:>8.3f} {r['infer_ms']:>9.3f}")
    print(f"(* the device is not here: the artifact ran on this host's CPU; median of {len(images)} frames)")

    step(f"4/{steps} the same from the command line (target auto)")
    argv_cli = ["run", str(bundle), "--source", str(args.out / "validation"), "--max-frames", "3"]
    print("$ edgevision " + " ".join(argv_cli), flush=True)
    from edgevision.cli import main as cli_main

    code = cli_main(argv_cli)
    sys.stdout.flush()
    if code != 0:
        print(f"error: edgevision run exited with {code}", file=sys.stderr)
        return code
    if not args.no_tasks:
        step(f"5/{steps} instance segmentation and pose: one target per format, fidelity against ground truth")
        other_tasks(args.out)
        if args.model == "shapes_detector":
            step(f"6/{steps} tracking and counting on a generated video (ByteTrack, a line and a zone)")
            code = tracking(args.out, bundle)
            sys.stdout.flush()
            if code != 0:
                print(f"error: edgevision run --track exited with {code}", file=sys.stderr)
                return code
    print(f"\ndone in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
