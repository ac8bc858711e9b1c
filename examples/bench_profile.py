"""Per-layer profiles of the int8 MobileNetV2 on LiteRT and OpenVINO: the top layers, and the sum vs the inference.

Builds (once, cached; TensorFlow in a child process) the int8 MobileNetV2 ``.tflite`` and int8
OpenVINO IR of ``examples/_bench_models.py``, runs ``edgevision bench MODEL --profile --json``
on each with the same threads, and prints the top layers, where they ran, and the sum of the
layer times beside the measured inference (target: within 10 %), with the load average.

Example:
    $ python examples/bench_profile.py --threads 2 --runs 100
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench_models


def profile(model: Path, threads: int, runs: int) -> dict:
    cmd = [sys.executable, "-m", "edgevision", "bench", str(model), "--task", "classification", "--threads",
           str(threads), "--runs", str(runs), "--profile", "--no-device-state", "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["runs"][0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=100)
    a = p.parse_args()
    tflite, _ = _bench_models.ensure_model(None, alpha=1.0, io="uint8")
    ir, _ = _bench_models.ensure_ir(None)
    ok = True
    for name, model in (("LiteRT", tflite), ("OpenVINO", ir)):
        load = os.getloadavg()[0]
        run = profile(model, a.threads, a.runs)
        prof = run["profile"]
        within = abs(prof["ratio"] - 1) <= 0.10
        ok &= within
        print(f"{name}: {model.name} · {a.threads} threads · {prof['runs']} profiled runs · load average {load:.2f}")
        print(f"  {prof['method']}: {prof['layers']} layers, sum {prof['sum_ms']:.3f} ms vs measured "
              f"{prof['measured_ms']:.3f} ms -> ratio {prof['ratio']:.3f} ({'within' if within else 'outside'} 10 %)"
              f" · bench infer-only median {run['infer_only']['median']:.3f} ms")
        print("  by where: " + ", ".join(f"{k} {v:.3f} ms" for k, v in prof["by_where"].items()))
        for i, layer in enumerate(prof["top"][:5], 1):
            print(f"  {i}. {layer['ms']:.3f} ms  {layer['type']:<18} {layer['where']:<22} {layer['name'][:60]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
