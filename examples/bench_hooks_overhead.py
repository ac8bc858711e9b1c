"""What the benchmarking hooks cost: ``Model.predict`` end to end with an ``on_frame`` callback vs without.

"On" is the model with a ``Recorder`` registered (what ``edgevision bench`` uses: every
frame's ``FrameTimings`` built and handed to the callback, which keeps it); "off" is the
same model object with no callback, where ``predict`` still reads the clock between its
stages (always on, that is what ``model.timings`` is) but builds and emits nothing.

Both run in one process on the same seeded 640x480 RGB frame, alternating: each round
times ``--block`` calls with hooks on and ``--block`` calls with hooks off, the order
swapping every round (``--block 1``, the default, alternates every call), so load that
comes and goes on a shared machine hits both alike. The model is the cached int8
MobileNetV2 ``.tflite`` of ``_bench_models.py`` (``--model PATH`` for your own).
``--aa`` runs "off" against "off": this machine's noise floor for the ratio.

Usage:
    python examples/bench_hooks_overhead.py
    python examples/bench_hooks_overhead.py --rounds 3000 --json
    python examples/bench_hooks_overhead.py --aa

The requirement is ratio (on / off, of the medians) <= 1.01. The exit code is 0 whatever
the ratio (a benchmark, not a test); 2 for bad arguments or a model it cannot run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

import edgevision
from edgevision.backends.base import default_threads
from edgevision.bench.system import host_info, load_average
from edgevision.hooks import Hooks, Recorder
from edgevision.sources.shapes import shapes_scene

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_models import ensure_model

TARGET_RATIO = 1.01
FRAME_SIZE = (640, 480)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def emit_cost_us(batch: int = 20_000, repeat: int = 5) -> float:
    """Microseconds per frame of what hooks on adds to predict: build the FrameTimings, emit it to a Recorder.

    Timed alone, best of ``repeat`` tight loops (as ``timeit`` does): a noise-free figure for the
    difference the alternating measurement tries to see through the machine's noise.
    """
    from edgevision.hooks import FrameTimings

    clock, best = time.perf_counter, float("inf")
    for _ in range(repeat):
        hooks = Hooks()
        hooks.add(Recorder())
        t0 = clock()
        for _ in range(batch):
            if hooks:
                hooks.emit(FrameTimings(0.0, 0.001, 0.002, 0.0005, 0.0035), None)
        best = min(best, (clock() - t0) / batch)
    return best * 1e6


def bench(args: argparse.Namespace) -> dict[str, Any]:
    path = args.model or ensure_model(None, alpha=1.0, io="uint8", verbose=not args.json)[0]
    model = edgevision.load(path, threads=args.threads, task="classification")
    frame = shapes_scene(np.random.default_rng(args.seed), FRAME_SIZE).image
    recorder = Recorder()
    hooks = {"on": Hooks(), "off": Hooks()}
    if not args.aa:
        hooks["on"].add(recorder)
    predict, clock = model.predict, time.perf_counter
    lat: dict[str, list[float]] = {"on": [], "off": []}
    for side in ("on", "off"):  # warm-up, not recorded
        model.hooks = hooks[side]
        for _ in range(args.warmup):
            predict(frame)
    round_ratios = []
    load_start = load_average()
    for r in range(args.rounds):
        block = {}
        for side in (("on", "off") if r % 2 == 0 else ("off", "on")):
            model.hooks, times = hooks[side], []
            for _ in range(args.block):
                t0 = clock()
                predict(frame)
                times.append(clock() - t0)
            lat[side].extend(times)
            block[side] = float(np.median(times))
        round_ratios.append(block["on"] / block["off"])
        if len(recorder) > 100_000:  # keep memory flat on very long runs; appending stays the cost measured
            recorder.clear()
    model.hooks = Hooks()
    on, off = np.asarray(lat["on"]) * 1e3, np.asarray(lat["off"]) * 1e3
    ratio = float(np.median(on) / np.median(off))
    # Paired: the k-th "on" call against the k-th "off" call of the same round, next to each other in
    # time, so load that shifts both cancels; the median difference over the median "off" latency.
    paired = float(1 + np.median(on - off) / np.median(off))
    rr = np.asarray(round_ratios)
    info = model.info()
    return {
        "model": str(path), "backend": info["backend"], "input": info["input"]["shape"],
        "frame": f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]} RGB, edgevision.sources.shapes.shapes_scene(default_rng({args.seed}))",
        "threads": info["backend"]["threads"], "host": host_info(), "load_average": [load_start, load_average()],
        "warmup_per_side": args.warmup, "rounds": args.rounds, "block": args.block, "samples_per_side": int(on.size),
        "aa_control": bool(args.aa),
        "on": {"median_ms": float(np.median(on)), "mean_ms": float(on.mean()), "p90_ms": float(np.percentile(on, 90))},
        "off": {"median_ms": float(np.median(off)), "mean_ms": float(off.mean()),
                "p90_ms": float(np.percentile(off, 90))},
        "ratio_of_medians": ratio, "ratio_of_means": float(on.mean() / off.mean()),
        "ratio_median_of_round_ratios": float(np.median(rr)), "ratio_paired": paired,
        "ratio_of_p10": float(np.percentile(on, 10) / np.percentile(off, 10)),
        "emit_cost_us": emit_cost_us(),
        "target_ratio": TARGET_RATIO, "pass": bool(ratio <= TARGET_RATIO),
    }


def report(res: dict[str, Any]) -> str:
    b, n = res["backend"], res["samples_per_side"]
    counts = (f"[threads={res['threads']}; {b['backend']} {b['version']}; {res['warmup_per_side']} warm-up + {n} timed "
              f"calls per side = {res['rounds']} rounds x {res['block']}]")
    on_name = "off (A/A control)" if res["aa_control"] else "hooks on"
    return "\n".join([
        f"Model.predict end to end, {on_name} vs hooks off · {Path(res['model']).name} · {b['backend']} {b['version']} "
        f"on {b['device']}",
        f"  input {res['input']} · frame {res['frame']} · {res['host']['cpu']}, {res['host']['cores_usable']} cores usable"
        f" · 1-min load average {res['load_average'][0]} -> {res['load_average'][1]}",
        f"  {on_name:<18} median {res['on']['median_ms']:.4f} ms, mean {res['on']['mean_ms']:.4f} ms, "
        f"p90 {res['on']['p90_ms']:.4f} ms {counts}",
        f"  {'hooks off':<18} median {res['off']['median_ms']:.4f} ms, mean {res['off']['mean_ms']:.4f} ms, "
        f"p90 {res['off']['p90_ms']:.4f} ms {counts}",
        f"  ratio on/off of the medians: {res['ratio_of_medians']:.4f} (of the means {res['ratio_of_means']:.4f}; "
        f"of the p10s {res['ratio_of_p10']:.4f}; median of the per-round ratios "
        f"{res['ratio_median_of_round_ratios']:.4f}; paired, 1 + median(on - off) / median(off): "
        f"{res['ratio_paired']:.4f})",
        f"  hooks on adds {res['emit_cost_us']:.2f} us per frame timed alone (FrameTimings + emit to a Recorder, best of 5) "
        f"= {res['emit_cost_us'] / 10 / res['off']['median_ms']:.4f} % of the median predict",
        f"  target <= {res['target_ratio']} (ratio of the medians): {'PASS' if res['pass'] else 'FAIL'}",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help="a .tflite / .xml / .onnx classifier instead of the built MobileNetV2")
    p.add_argument("--threads", type=positive_int, default=default_threads(),
                   help="inference threads (default: cores available, %(default)s here)")
    p.add_argument("--warmup", type=positive_int, default=30, help="untimed calls per side first (default 30)")
    p.add_argument("--rounds", type=positive_int, default=2000, help="alternating rounds (default 2000)")
    p.add_argument("--block", type=positive_int, default=1, help="calls per side per round (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the frame (default 0)")
    p.add_argument("--aa", action="store_true", help="A/A control: hooks off on both sides")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.model is not None and not args.model.is_file():
        p.error(f"expected a model file for --model, got missing path {str(args.model)!r}")
    try:
        res = bench(args)
    except edgevision.EdgeVisionError as e:
        print(f"bench_hooks_overhead: {e}", file=sys.stderr)
        return 2
    print(json.dumps(res) if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
