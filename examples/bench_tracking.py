"""What tracking costs per frame, and how well the reference detector's boxes track on generated video.

1. **Cost** (the target: tracking adds <= 0.3 ms a frame at 50 objects): ``Tracking`` (ByteTrack,
   and with ``--count`` a counting line and zone too) on 50 objects moving at random with
   jittered boxes and detector-like scores, ``--frames`` frames after 100 of warm-up; median and
   p95 per frame, the Python-side clock around the call, one thread (numpy's BLAS is not used).
2. **Accuracy** (``--mot``): the reference detector (``examples/models/shapes_detector.keras``,
   as an fp32 ``.tflite`` made here) on generated sequences (``edgevision.converters.sequences``:
   shapes crossing the frame and each other, a pillar that hides them), tracked by
   ``model.stream(..., track=True)``; MOTA, IDF1 and identity switches from py-motmetrics against
   the sequences' known identities (matches at IoU >= 0.5).

Usage:
    python examples/bench_tracking.py                  # cost at 50 objects
    python examples/bench_tracking.py --count --mot    # + counting, + the detector on generated video

Figures are printed with the load average, numpy and lap versions: on a shared machine, read the
median, and run again when the load is above the core count.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
TARGET_MS = 0.3


def cost(objects: int, frames: int, count: bool, seed: int = 0) -> dict[str, float]:
    """Per-frame seconds of the tracking stage on ``objects`` random walkers (see the module docstring)."""
    from edgevision.results import Detections
    from edgevision.track import Tracking

    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 1800, (objects, 2))
    vel = rng.normal(0, 3, (objects, 2))
    size = rng.uniform(30, 90, (objects, 2))
    labels = ("a", "b", "c")
    classes = rng.integers(0, 3, objects)
    tracking = Tracking(lines=[[(0, 540), (1920, 540)]] if count else [],
                        zones=[[(960, 0), (1920, 0), (1920, 1080), (960, 1080)]] if count else [])
    times = []
    for f in range(frames + 100):
        pos += vel
        vel[(pos < 0) | (pos > 1800)] *= -1  # stay in a 1920x1080 frame
        boxes = np.concatenate([pos, pos + size], 1) + rng.normal(0, 1.0, (objects, 4))
        scores = np.clip(rng.normal(0.8, 0.12, objects), 0.05, 0.99)  # a few low-score boxes every frame
        result = Detections(boxes, scores, classes, labels)
        start = time.perf_counter()
        out = tracking(result)
        if f >= 100:
            times.append(time.perf_counter() - start)
    t = np.array(times) * 1000
    return {"median_ms": float(np.median(t)), "p95_ms": float(np.percentile(t, 95)), "mean_ms": float(t.mean()),
            "tracked_last_frame": len(out), "tracks_kept": len(tracking.tracker)}


def reference_tflite(out: Path) -> Path:
    """The reference detector as an fp32 .tflite (TensorFlow, a workstation's)."""
    import contextlib
    import io

    import keras
    import tensorflow as tf

    model = keras.models.load_model(HERE / "models" / "shapes_detector.keras", compile=False)
    with contextlib.redirect_stdout(io.StringIO()):
        out.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return out


def frames_source(frames: list, name: str) -> object:
    """A ``Source`` of in-memory frames, in order (what a video file of them would give, without the codec)."""
    from edgevision.sources.base import Frame, Source

    class Frames(Source):
        def __init__(self) -> None:
            super().__init__(name)
            self._left = iter(enumerate(frames))

        def _next_frame(self) -> Frame | None:
            i, image = next(self._left, (None, None))
            return None if image is None else Frame(image, int(i), time.monotonic(), name)

    return Frames()


def mot(seeds: int, frames: int, radius: tuple[float, float] = (0.08, 0.14), class_aware: bool = True) -> dict:
    """MOTA, IDF1 and identity switches of the reference detector + ByteTrack on generated sequences."""
    import json

    import motmetrics as mm

    import edgevision
    from edgevision.converters.metrics import box_iou
    from edgevision.converters.sequences import moving_shapes_sequence
    from edgevision.track import ByteTrack

    info = json.loads((HERE / "models" / "shapes_detector.json").read_text())
    decoder = {k: v for k, v in info["decoder"].items() if k != "type"}
    accumulators, names = [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = reference_tflite(Path(tmp) / "shapes_detector.tflite")
        model = edgevision.load(path, task="detection", labels=info["labels"], decoder="yolo", threads=1,
                                **decoder, **info["input"])
        for seed in range(seeds):
            # Shapes of the sizes the detector was trained on (7-16 % of the shorter side): 8-14 % here.
            seq = moving_shapes_sequence(frames, (320, 240), n_objects=6, seed=seed, radius=radius)
            acc = mm.MOTAccumulator(auto_id=True)
            tracker = ByteTrack(class_aware=class_aware)
            with model.stream(frames_source(seq.frames, f"sequence {seed}"), overlap=False, track=tracker) as stream:
                for result, ids, truth in zip(stream, seq.ids, seq.boxes):
                    iou = box_iou(truth, result.xyxy)
                    acc.update(ids.tolist(), result.tracker_id.tolist(), np.where(iou >= 0.5, 1 - iou, np.nan))
            accumulators.append(acc)
            names.append(str(seed))
    summary = mm.metrics.create().compute_many(
        accumulators, metrics=["mota", "idf1", "num_switches", "num_misses", "num_false_positives", "num_objects"],
        names=names, generate_overall=True)
    return summary.round(4).to_dict("index")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--objects", type=int, default=50)
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--count", action="store_true", help="also time the stage with a counting line and zone")
    p.add_argument("--mot", action="store_true", help="the reference detector on generated sequences (MOTA, IDF1)")
    p.add_argument("--sequences", type=int, default=3)
    args = p.parse_args(argv)
    import lap

    print(f"python {platform.python_version()} · numpy {np.__version__} · lap {lap.__version__} · "
          f"{os.cpu_count()} cores · load average {os.getloadavg()[0]:.2f}")
    for counting in (False, True) if args.count else (False,):
        c = cost(args.objects, args.frames, counting)
        what = "ByteTrack + a line and a zone" if counting else "ByteTrack"
        verdict = "meets" if c["median_ms"] <= TARGET_MS else "above"
        print(f"{what}, {args.objects} objects, {args.frames} frames: median {c['median_ms']:.3f} ms "
              f"({verdict} {TARGET_MS} ms) · p95 {c['p95_ms']:.3f} ms · mean {c['mean_ms']:.3f} ms · "
              f"{c['tracked_last_frame']} tracked, {c['tracks_kept']} tracks kept")
    for class_aware in (True, False) if args.mot else ():
        rows = mot(args.sequences, 300, class_aware=class_aware)
        print(f"reference detector + ByteTrack ({'class-aware' if class_aware else 'class-agnostic'}) on "
              f"{args.sequences} generated sequences of 300 frames (320x240):")
        for name, r in rows.items():
            print(f"  {name:>8}: MOTA {r['mota']:.3f} · IDF1 {r['idf1']:.3f} · ID switches {int(r['num_switches'])} · "
                  f"misses {int(r['num_misses'])} · false positives {int(r['num_false_positives'])} of "
                  f"{int(r['num_objects'])} objects")
    print(f"load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
