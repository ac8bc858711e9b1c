"""How much ``Model.predict`` adds to a hand-written minimal LiteRT loop, on one int8 ``.tflite``.

Both paths run the same file, with the same thread count, on the same seeded
640x480 RGB frame, alternating in one process:

- ``Model.predict(frame)``: preprocess (resize into the input buffer), set/invoke/get, top-5 decode;
- the minimal loop: ``cv2.resize`` -> (int8 input: ``- 128``) -> ``set_tensor`` -> ``invoke`` -> ``get_tensor``.

The model is a seeded (untrained) Keras MobileNetV2, 224x224, 1000 classes,
full-integer int8 through the TFLite converter; it is built on first use (in a
child process, so TensorFlow never loads into the timed process) and cached by
its parameters. Nothing is downloaded. ``--model PATH`` benches your own file.

Each round times a block of ``--block`` calls of one path, then of the other (the
order swaps every round, so drift and order effects cancel); ``--block 1``
alternates every call, which leaves each path's Python/numpy work on colder
caches. ``--aa`` puts a second minimal loop (own interpreter) in place of
``Model.predict``: its ratio is this machine's noise floor for the comparison.

Usage:
    python examples/bench_predict_overhead.py                 # uint8 in/out, all cores
    python examples/bench_predict_overhead.py --io int8 --json
    python examples/bench_predict_overhead.py --block 1 --rounds 3000
    python examples/bench_predict_overhead.py --model my_int8.tflite --threads 4

The requirement is ratio (predict / minimal, medians) <= 1.05. The exit code is 0
whatever the ratio (a benchmark, not a test); 2 for bad arguments or a model it cannot run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np

import edgevision
from edgevision.backends.base import default_threads
from edgevision.sources.shapes import shapes_scene

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_models import IO_TYPES, default_cache_dir, ensure_model

TARGET_RATIO = 1.05
FRAME_SIZE = (640, 480)  # (w, h)
GOVERNOR_FILE = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")


class BenchError(Exception):
    """A model this benchmark cannot run: one line on stderr and exit code 2."""


def cpu_governor() -> str:
    try:
        return GOVERNOR_FILE.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (x86 "model name"; a Raspberry Pi's "Model"), else the platform's."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().splitlines() if ":" in line)
    except OSError:
        fields = {}
    fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
    for key in ("model name", "model", "hardware"):
        if fields.get(key) and not fields[key].isdigit():
            return fields[key]
    return platform.processor() or platform.machine()


def load_average() -> float | None:
    """The 1-minute load average: other processes competing for the cores skew every figure."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def litert_version() -> str:
    try:
        import ai_edge_litert

        return getattr(ai_edge_litert, "__version__", "unknown")
    except ModuleNotFoundError:
        return "not installed"


def minimal_loop(path: Path, threads: int) -> tuple[Callable[[np.ndarray], np.ndarray], dict]:
    """The hand-written baseline: resize, set_tensor, invoke, get_tensor. Nothing else."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    _, h, w, _ = (int(d) for d in inp["shape"])
    size, in_index, out_index = (w, h), inp["index"], out["index"]
    set_tensor, invoke, get_tensor = interp.set_tensor, interp.invoke, interp.get_tensor

    if inp["dtype"] == np.uint8:
        def run(frame: np.ndarray) -> np.ndarray:
            x = cv2.resize(frame, size)
            set_tensor(in_index, x[None])
            invoke()
            return get_tensor(out_index)
    elif inp["dtype"] == np.int8:
        def run(frame: np.ndarray) -> np.ndarray:
            x = cv2.resize(frame, size)
            x -= 128  # in place, wrapping: uint8 p - 128 read as int8 is exactly p - 128
            set_tensor(in_index, x.view(np.int8)[None])
            invoke()
            return get_tensor(out_index)
    else:
        raise BenchError(f"expected an int8 model with uint8 or int8 input, got input dtype {np.dtype(inp['dtype'])}")
    scale, zero_point = inp["quantization"]
    spec = {"shape": [int(d) for d in inp["shape"]], "dtype": np.dtype(inp["dtype"]).name,
            "quantization": [float(scale), int(zero_point)],
            "output": {"shape": [int(d) for d in out["shape"]], "dtype": np.dtype(out["dtype"]).name}}
    return run, spec


def summary(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"median_ms": float(np.median(ms)), "p10_ms": float(np.percentile(ms, 10)),
            "p90_ms": float(np.percentile(ms, 90)),
            "min_ms": float(ms.min()), "n": int(ms.size)}


def bench(args: argparse.Namespace) -> dict:
    if args.model is not None:
        path, built = args.model, False
    else:
        path, built = ensure_model(args.out, alpha=args.alpha, io=args.io, seed=args.seed, samples=20,
                                   verbose=not args.json)
    threads = args.threads
    frame = shapes_scene(np.random.default_rng(args.seed), FRAME_SIZE).image  # 480x640x3 uint8 RGB

    try:
        model = edgevision.load(path, threads=threads, task="classification")
    except edgevision.EdgeVisionError as e:
        raise BenchError(str(e)) from None
    minimal, spec = minimal_loop(path, threads)

    # Same input tensor, same output: both paths feed raw pixels (int8: pixel - 128).
    model.predict(frame)
    same_output = bool(np.array_equal(model.backend.infer()[0], minimal(frame)))

    def timed_predict(n: int, lat: list, stages: list) -> None:
        clock, predict = time.perf_counter, model.predict
        for _ in range(n):
            t0 = clock()
            predict(frame)
            lat.append(clock() - t0)
            stages.append(model.timings)

    if args.aa:  # A/A control: a second minimal loop, with its own interpreter, stands in for predict
        control, _ = minimal_loop(path, threads)

        def timed_predict(n: int, lat: list, stages: list) -> None:
            clock = time.perf_counter
            for _ in range(n):
                t0 = clock()
                control(frame)
                lat.append(clock() - t0)

    def timed_minimal(n: int, lat: list, _stages: list) -> None:
        clock = time.perf_counter
        for _ in range(n):
            t0 = clock()
            minimal(frame)
            lat.append(clock() - t0)

    paths = {"predict": timed_predict, "minimal": timed_minimal}
    for name in ("predict", "minimal"):  # warm-up, not recorded
        paths[name](args.warmup, [], [])

    load_start = load_average()
    lat: dict[str, list] = {"predict": [], "minimal": []}
    stages: list = []
    round_ratios = []
    t_start = time.perf_counter()
    for r in range(args.rounds):
        order = ("predict", "minimal") if r % 2 == 0 else ("minimal", "predict")  # cancel order/drift effects
        block: dict[str, list] = {}
        for name in order:  # no gc.collect() here: it would flush the caches before every block
            block[name] = []
            paths[name](args.block, block[name], stages)
            lat[name].extend(block[name])
        round_ratios.append(float(np.median(block["predict"]) / np.median(block["minimal"])))
    wall = time.perf_counter() - t_start

    pred, mini = summary(lat["predict"]), summary(lat["minimal"])
    ratio = pred["median_ms"] / mini["median_ms"]
    st = np.asarray(stages).reshape(-1, 3) * 1e3
    rr = np.asarray(round_ratios)
    return {
        "model": {"file": str(path), "built_now": built, "input": {k: spec[k] for k in ("shape", "dtype", "quantization")},
                  "output": spec["output"], "arch": None if args.model else f"MobileNetV2 alpha={args.alpha}"},
        "frame": {"size": list(FRAME_SIZE), "source": f"edgevision.sources.shapes.shapes_scene(default_rng({args.seed}))"},
        "threads": threads,
        "cores_available": default_threads(),
        "versions": {"ai_edge_litert": litert_version(), "edgevision": edgevision.__version__,
                     "numpy": np.__version__, "opencv": cv2.__version__, "python": platform.python_version()},
        "backend": model.backend.info(),
        "cpu": cpu_name(),
        "governor": cpu_governor(),
        "load_average_1min": [load_start, load_average()],
        "warmup_per_path": args.warmup,
        "rounds": args.rounds,
        "block": args.block,
        "samples_per_path": pred["n"],
        "alternation": ("one call per path each round" if args.block == 1 else
                        f"blocks of {args.block} calls per path each round") + "; order swapped every round",
        "aa_control": bool(args.aa),
        "outputs_identical": same_output,
        "predict": pred,
        "minimal": mini,
        "predict_stages_median_ms": {k: float(np.median(st[:, i])) if st.size else None
                                     for i, k in enumerate(("preprocess", "infer", "decode"))},
        "ratio_of_medians": ratio,
        "ratio_median_of_round_ratios": float(np.median(rr)),
        "round_ratio_iqr": [float(np.percentile(rr, 25)), float(np.percentile(rr, 75))],
        "target_ratio": TARGET_RATIO,
        "pass": bool(ratio <= TARGET_RATIO),
        "timed_wall_s": wall,
    }


def report(res: dict) -> str:
    m, i, o = res["model"], res["model"]["input"], res["model"]["output"]
    n, w, r, b, t = (res[k] for k in ("samples_per_path", "warmup_per_path", "rounds", "block", "threads"))
    st, v, load = res["predict_stages_median_ms"], res["versions"], res["load_average_1min"]
    a_name = "A/A control" if res["aa_control"] else "Model.predict"
    counts = f"[threads={t}; {w} warm-up + {n} timed calls per path = {r} rounds x {b}]"

    def row(name: str, s: dict) -> str:
        return f"  {name:16}" + "".join(f"{s[k]:>9.3f}ms" for k in ("median_ms", "p10_ms", "p90_ms", "min_ms"))

    lines = [
        f"{a_name} vs minimal LiteRT loop (cv2.resize, set_tensor, invoke, get_tensor), same .tflite, same threads",
        f"  model     {Path(m['file']).name} ({'built now' if m['built_now'] else 'cached'})"
        + (f"  [{m['arch']}, int8]" if m["arch"] else ""),
        f"  input     {i['shape']} {i['dtype']} (scale {i['quantization'][0]:g}, zero point {i['quantization'][1]}); "
        f"output {o['shape']} {o['dtype']}",
        f"  frame     {res['frame']['size'][0]}x{res['frame']['size'][1]} RGB uint8, {res['frame']['source']}",
        f"  threads   {t} for both paths ({res['cores_available']} cores available; the edgevision backend "
        f"reports {res['backend']['threads']})",
        f"  runtime   ai_edge_litert {v['ai_edge_litert']}, edgevision {v['edgevision']}, numpy {v['numpy']}, "
        f"opencv {v['opencv']}, python {v['python']}",
        f"  cpu       {res['cpu']}; governor {res['governor']}; 1-min load average {load[0]} -> {load[1]}",
        f"  samples   {w} warm-up calls per path, then {r} rounds: {res['alternation']}; {n} timed calls per path",
        f"  outputs   {'identical' if res['outputs_identical'] else 'DIFFERENT'} for the same frame through both paths",
        "",
        f"  {'per call':16}{'median':>11}{'p10':>11}{'p90':>11}{'min':>11}   {counts}",
        row(a_name, res["predict"]),
        row("minimal loop", res["minimal"]),
    ]
    if st["infer"] is not None:
        lines.append(f"  predict stages, median of {n}: preprocess {st['preprocess']:.3f} ms, infer {st['infer']:.3f} ms, "
                     f"decode {st['decode']:.3f} ms")
    iqr = res["round_ratio_iqr"]
    lines += [
        "",
        f"  ratio {a_name}/minimal, of the medians:   {res['ratio_of_medians']:.4f}   {counts}",
        f"  ratio, median of the {r} per-round ratios: {res['ratio_median_of_round_ratios']:.4f}   "
        f"(interquartile {iqr[0]:.4f} .. {iqr[1]:.4f})",
        f"  target ≤ {res['target_ratio']} (ratio of the medians): {'PASS' if res['pass'] else 'FAIL'}",
    ]
    return "\n".join(lines)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, help="bench this int8 .tflite instead of building MobileNetV2")
    p.add_argument("--out", type=Path, default=None, help=f"where built models are cached (default {default_cache_dir()})")
    p.add_argument("--alpha", type=float, default=1.0, help="MobileNetV2 width multiplier (default 1.0)")
    p.add_argument("--io", choices=IO_TYPES, default="uint8", help="input/output type of the built model")
    p.add_argument("--threads", type=positive_int, default=default_threads(),
                   help="LiteRT threads for both paths (default: cores available, %(default)s here)")
    p.add_argument("--warmup", type=positive_int, default=20, help="untimed calls per path first (default 20)")
    p.add_argument("--rounds", type=positive_int, default=100, help="alternating rounds (default 100)")
    p.add_argument("--block", type=positive_int, default=50,
                   help="calls per path per round, 1 = alternate every call (default 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the frame and of the built model (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--aa", action="store_true",
                   help="A/A control: a second minimal loop in place of Model.predict, to see this machine's noise")
    args = p.parse_args(argv)
    if args.model is not None and not args.model.is_file():
        p.error(f"expected an int8 .tflite file for --model, got missing path {str(args.model)!r}")
    if not 0 < args.alpha <= 2:
        p.error(f"expected --alpha in (0, 2], got {args.alpha}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        res = bench(args)
    except BenchError as e:
        print(f"bench_predict_overhead: {e}", file=sys.stderr)
        return 2
    print(json.dumps(res) if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
