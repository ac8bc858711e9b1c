"""How long ``edgevision convert`` takes for a 224x224 MobileNetV2-sized Keras model, four targets, fidelity on.

The model is Keras' MobileNetV2 (alpha 1.0, 1000 classes, 3.5 M parameters) with seeded random
weights: nothing is downloaded, so its fidelity figures say little, but every step costs what it
costs for a trained one (the converters and the fidelity runs do not care what the weights mean).

    python examples/bench_convert.py                 # rpi5, coral-usb, intel-npu, jetson-orin
    python examples/bench_convert.py --images 100 --json

Prints the wall time of the whole conversion (source load, calibration, each artifact, fidelity,
bundle write) and of each logged step, with the machine's core count and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TARGETS = ("rpi5", "coral-usb", "intel-npu", "jetson-orin")


def build(directory: Path, images: int) -> tuple[Path, Path]:
    import cv2
    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    from _bench_models import keras_model

    from edgevision.sources.shapes import shapes_scene

    model = directory / "mobilenetv2.keras"
    keras_model(alpha=1.0, seed=0).save(model)
    (directory / "images").mkdir()
    rng = np.random.default_rng(0)
    for i in range(images):
        cv2.imwrite(str(directory / "images" / f"{i:03d}.jpg"), shapes_scene(rng, (320, 240), n_shapes=3).image[..., ::-1])
    return model, directory / "images"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100, help="calibration images (every 5th held out for fidelity)")
    parser.add_argument("--target", action="append", help=f"default: {', '.join(TARGETS)}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from edgevision.cli.convert import native_output_held, table
    from edgevision.converters.convert import convert

    with tempfile.TemporaryDirectory(prefix="edgevision-bench-convert-") as tmp:
        tmp = Path(tmp)
        model, images = build(tmp, args.images)
        steps: list[tuple[float, str]] = []
        start = time.perf_counter()
        with native_output_held() as (_out, err):
            def log(message: str) -> None:
                steps.append((time.perf_counter() - start, message))
                print(f"[{steps[-1][0]:6.1f}s] {message}", file=err)

            bundle = convert(model, args.target or list(TARGETS), out=tmp / "bundle", calibration=images,
                             overrides={"task": "classification", "mean": (0, 0, 0), "std": (1, 1, 1)},
                             log=log)  # the model rescales raw pixels itself
            total = time.perf_counter() - start
        load = os.getloadavg()[0]
        print(table(bundle.rows))
        summary = {"seconds": round(total, 1), "targets": args.target or list(TARGETS), "images": args.images,
                   "cores": os.cpu_count(), "load_1min": round(load, 2), "goal_seconds": 120,
                   "steps": [{"at": round(t, 1), "step": m} for t, m in steps]}
        if args.json:
            print(json.dumps(summary))
        else:
            print(f"convert: {total:.1f} s for {len(summary['targets'])} targets with fidelity "
                  f"({args.images} images, {os.cpu_count()} cores, 1-min load {load:.1f}; goal <= 120 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
