"""int8 of a PyTorch-style ONNX detector on every int8 target: boxes kept, mAP50-95, and int8 vs fp32 latency.

The detector is ``examples/onnx_reference_models.py``'s: the trained reference detector exported as
Ultralytics writes a YOLOv8 ONNX (NCHW, ``[1, 4+nc, N]`` with boxes in input pixels 0..128 beside
scores 0..1, metadata_props). It converts to ``rpi5`` (LiteRT int8, through onnx2tf),
``coral-usb`` (full-integer Edge TPU int8, measured on its CPU twin here), ``intel-cpu`` (NNCF int8)
and ``jetson-orin`` (QDQ int8), calibrated on generated shapes images with ground truth, and prints
per target:

- ``kept``: the share of the fp32 ONNX source's boxes (run by ONNX Runtime) the artifact reproduces,
  same class and IoU >= 0.9 (target >= 0.98 on every int8 target), on held-out images;
- mAP50-95 against ground truth (pycocotools' COCOeval), the source's beside it;
- with ``--baseline``: the same for an int8 TFLite built without the head split (what one int8 scale over
  boxes and scores gives);
- int8 vs fp32 median inference latency on LiteRT and OpenVINO, same threads, interleaved rounds,
  with the load average.

    python examples/bench_onnx_int8.py                       # about 3 minutes on 2 cores
    python examples/bench_onnx_int8.py --calibration 300 --validation 300 --threads 2 --baseline --json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

INT8 = ("rpi5", "coral-usb", "intel-cpu", "jetson-orin")
LATENCY = {"LiteRT": ("rpi5", "cpu"), "OpenVINO": ("intel-cpu", "intel-cpu")}  # (int8 bundle, fp32 bundle) targets


def median_latency(models: dict[str, Any], runs: int, rounds: int = 5) -> dict[str, float]:
    """Median seconds per inference of each model, in interleaved rounds (drift between rounds cancels)."""
    import numpy as np

    times: dict[str, list[float]] = {k: [] for k in models}
    for m in models.values():  # warm-up
        m.backend.input_buffer()[...] = np.zeros_like(m.backend.input_buffer())
        for _ in range(10):
            m.backend.infer()
    for _ in range(rounds):
        for name, m in models.items():
            for _ in range(runs // rounds):
                t0 = time.perf_counter()
                m.backend.infer()
                times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def baseline_tflite(onnx_path: Path, calibration: Path, validation: Path, work: Path) -> dict[str, Any]:
    """int8 TFLite of the same ONNX with one output (no head split), measured as convert measures."""
    from edgevision.converters import fidelity
    from edgevision.converters.base import ConvertJob, ConvertOptions
    from edgevision.converters.calibration import calibration_from_images, find_images, load_samples
    from edgevision.converters.coco import boxes_kept, coco_map
    from edgevision.converters.source import open_source_model
    from edgevision.converters.tflite import TFLiteConverter
    from edgevision.model import load
    from edgevision.targets import load_target

    source = open_source_model(onnx_path, workdir=work)
    reference = load(onnx_path)
    calib = calibration_from_images(find_images(calibration), reference.input_format, source.input_shape)
    job = ConvertJob(source=source, target=load_target("rpi5"), precision="int8", calibration=calib, outdir=work,
                     stem="unsplit", options=ConvertOptions(head_split=None))
    out = TFLiteConverter().convert(job)
    model = load(out.file, labels=list(reference.labels), task="detection", decoder=reference.decoder["type"],
                 **{k: v for k, v in reference.input_format.to_dict().items() if v is not None and k != "layout"},
                 box_format="pixels")
    samples = load_samples(find_images(validation), "detection", list(reference.labels))
    got, ref = fidelity.run_model(model, samples), fidelity.run_model(reference, samples)
    truth = [s.truth for s in samples]
    return {"boxes_kept": round(boxes_kept(got, [(r.xyxy, r.class_id) for r in ref]), 4),
            "map50_95": round(coco_map(got, truth, len(reference.labels))["map50_95"], 4)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calibration", type=int, default=200, help="calibration images (generated, with ground truth)")
    p.add_argument("--validation", type=int, default=200, help="held-out images the figures are measured on")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=500, help="timed inferences per model")
    p.add_argument("--baseline", action="store_true", help="also an int8 TFLite without the head split")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    import onnx_reference_models

    from edgevision.cli.convert import native_output_held
    from edgevision.converters.convert import convert
    from edgevision.converters.datasets import write_shapes_dataset
    from edgevision.model import load

    result: dict[str, Any] = {"cores": os.cpu_count(), "threads": a.threads}
    with tempfile.TemporaryDirectory(prefix="edgevision-bench-onnx-") as tmp:
        root = Path(tmp)
        detector = onnx_reference_models.export_detector(root / "shapes_detector.onnx")
        write_shapes_dataset(root / "calibration", "detection", a.calibration, 256, seed=51)
        write_shapes_dataset(root / "validation", "detection", a.validation, 256, seed=52)
        start = time.perf_counter()
        with native_output_held() as (_out, err):
            log = lambda m: print(f"[{time.perf_counter() - start:6.1f}s] {m}", file=err)  # noqa: E731
            int8 = convert(detector, [*INT8[:3], "jetson-orin:int8"], out=root / "int8", log=log,
                           calibration=root / "calibration", validation=root / "validation")
            fp32 = convert(detector, ["cpu:fp32", "intel-cpu:fp32"], out=root / "fp32", log=log,
                           validation=root / "validation")
            if a.baseline:
                result["baseline_rpi5_unsplit"] = baseline_tflite(detector, root / "calibration",
                                                                  root / "validation", root / "baseline")
        result["convert_seconds"] = round(time.perf_counter() - start, 1)
        rows = {r["target"]: r for r in int8.rows}
        result["targets"] = {t: {k: rows[t]["fidelity"].get(k) for k in
                                 ("boxes_kept", "map50_95", "source_map50_95", "map50", "coco_map50")}
                             | {"int8_gate": rows[t].get("int8_gate", {}).get("float_layers", [])}
                             for t in INT8}
        latency = {}
        for runtime, (t8, t32) in LATENCY.items():
            models = {"int8": load(int8.path, target=t8, threads=a.threads),
                      "fp32": load(fp32.path, target=t32, threads=a.threads)}
            med = median_latency(models, a.runs)
            latency[runtime] = {"int8_ms": round(med["int8"] * 1e3, 3), "fp32_ms": round(med["fp32"] * 1e3, 3),
                                "int8/fp32": round(med["int8"] / med["fp32"], 3)}
        result["latency"] = latency
    result["load_1min"] = round(os.getloadavg()[0], 2)
    if a.json:
        print(json.dumps(result))
        return 0
    print(f"{'target':12} {'kept':>7} {'mAP50-95':>9} {'source':>7} {'mAP50':>7} {'COCO50':>7}  float layers")
    for t, f in result["targets"].items():
        print(f"{t:12} {f['boxes_kept']:7.4f} {f['map50_95']:9.4f} {f['source_map50_95']:7.4f} {f['map50']:7.4f} "
              f"{f['coco_map50']:7.4f}  {len(f['int8_gate']) or '-'}")
    if "baseline_rpi5_unsplit" in result:
        b = result["baseline_rpi5_unsplit"]
        print(f"{'rpi5 unsplit':12} {b['boxes_kept']:7.4f} {b['map50_95']:9.4f}   (int8 TFLite, one output, no split)")
    for runtime, m in result["latency"].items():
        print(f"{runtime}: int8 {m['int8_ms']:.3f} ms, fp32 {m['fp32_ms']:.3f} ms, int8/fp32 {m['int8/fp32']:.3f} "
              f"(median of {a.runs}, {a.threads} threads)")
    print(f"target: kept >= 0.98 on every int8 target; {a.validation} held-out images; {result['cores']} cores, "
          f"1-min load {result['load_1min']}; conversions {result['convert_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
