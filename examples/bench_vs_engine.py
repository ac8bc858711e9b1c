"""``edgevision bench``'s median inference latency against the engine's own tool, in the same run.

Two artifacts of the same seeded MobileNetV2 (built once, cached; see ``_bench_models.py``):
an int8 ``.tflite`` (uint8 in/out) against ``litert-benchmark``, and an int8 OpenVINO IR
(``ov.convert_model`` + ``nncf.quantize``) against ``benchmark_app -hint latency -api sync``.
For one model, ``edgevision bench MODEL --compare --compare-rounds N`` does the same
alternation itself; this script runs both models, more rounds, and the controls below.

Each round runs one bench in this process, the very code ``edgevision bench`` runs
(``edgevision.bench.run_bench``; its infer-only phase: back to back on a seeded random
input tensor, the tools' own method), and the tool once in a subprocess, with the same
model file, thread count, run and warm-up counts (``edgevision.bench.run_engine``). The
order swaps every round, so load that comes and goes on a shared machine hits both sides
alike. Per model it prints the median of each side's per-round medians, the median and
spread of the per-round ratios (the headline), the ratio of the pooled medians, and the commands.

``--aa`` runs the tool against itself in place of edgevision: the spread of its ratios is
this machine's noise floor for the comparison.

``--in-process`` takes the subprocess out: the tool's own timed call, set up with the
tool's own functions imported from it (``litert-benchmark``: ``CompiledModel.run_by_name``
on buffers its ``fill_random_input`` filled; ``benchmark_app``: its ``Benchmark.sync_inference``
loop, which reports ``request.latency``), alternates with edgevision bench's infer-only
step in blocks of ``--block`` calls, in one process. Both then see the same moments of the
machine's load, which a shared machine otherwise adds to the comparison.

Usage:
    python examples/bench_vs_engine.py                      # both models, 8 rounds x 300 runs
    python examples/bench_vs_engine.py --only ir --rounds 12 --runs 500 --json
    python examples/bench_vs_engine.py --threads 1

The requirement is 0.95 <= ratio <= 1.05, ratio = the median of the per-round ratios
(edgevision / tool within one round: paired, so the machine's drift between rounds cancels);
the ratio of the pooled medians is printed beside it.
The exit code is 0 whatever the ratio (a benchmark, not a test); 2 for a model or tool it cannot run.
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
from edgevision.bench import BenchConfig, run_bench, run_engine
from edgevision.bench.frames import infer_step, timed
from edgevision.bench.system import host_info, load_average

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bench_models import default_cache_dir, ensure_ir, ensure_model

BOUNDS = (0.95, 1.05)
MODELS = {"tflite": "tflite", "ir": "openvino-ir"}
TOOL_NAMES = {"tflite": "litert-benchmark", "openvino-ir": "benchmark_app"}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def compare_model(path: Path, fmt: str, args: argparse.Namespace) -> dict[str, Any]:
    """Alternating rounds of (edgevision bench, engine tool) on one model."""
    config = BenchConfig(warmup=args.warmup, runs=args.runs, sample_device=False)
    rounds = []
    for r in range(args.rounds):
        order = ("ours", "tool") if r % 2 == 0 else ("tool", "ours")
        got: dict[str, Any] = {}
        for side in order:
            if side == "ours" and args.aa:  # A/A control: the tool again stands in for edgevision
                again = run_engine(path, fmt, threads=args.threads, runs=args.runs, warmup=args.warmup,
                                   input_dtype="uint8" if fmt == "tflite" else "float32")
                got.update(ours=again["median_ms"], ours_pipeline_infer=float("nan"),
                           runtime={"backend": again["tool"], "version": "(A/A control)", "device": "CPU"})
            elif side == "ours":
                run = run_bench(lambda: edgevision.load(path, threads=args.threads, task="classification"), config,
                                label=path.name)
                got["ours"] = run.infer_only.summary.median
                got["ours_pipeline_infer"] = run.stages["infer"].median
                got["runtime"] = dict(run.runtime)
            else:
                got["tool"] = run_engine(path, fmt, threads=args.threads, runs=args.runs, warmup=args.warmup,
                                         input_dtype="uint8" if fmt == "tflite" else "float32")
        rounds.append({"order": list(order), "ours_median_ms": got["ours"], "tool_median_ms": got["tool"]["median_ms"],
                       "ours_pipeline_infer_median_ms": got["ours_pipeline_infer"],
                       "ratio": got["ours"] / got["tool"]["median_ms"]})
        if not args.json:
            print(f"  round {r + 1}/{args.rounds} ({' then '.join(order)}): edgevision {got['ours']:.3f} ms, "
                  f"{got['tool']['tool']} {got['tool']['median_ms']:.3f} ms, ratio {rounds[-1]['ratio']:.3f}",
                  file=sys.stderr)
    ours = np.array([x["ours_median_ms"] for x in rounds])
    tool = np.array([x["tool_median_ms"] for x in rounds])
    ratios = np.array([x["ratio"] for x in rounds])
    ratio = float(np.median(ratios))  # paired: each round's sides saw the same moments of the machine
    cli = (f"edgevision bench {path} --task classification --threads {args.threads} --runs {args.runs} "
           f"--warmup {args.warmup} --compare")
    return {
        "model": str(path), "format": fmt, "runtime": got["runtime"], "tool": got["tool"]["tool"],
        "tool_command": " ".join(got["tool"]["command"]), "tool_load_config": got["tool"].get("load_config"),
        "edgevision_command": cli, "threads": args.threads, "runs_per_round": args.runs, "warmup": args.warmup,
        "rounds": rounds, "ours_median_of_round_medians_ms": float(np.median(ours)),
        "tool_median_of_round_medians_ms": float(np.median(tool)), "ratio": ratio,
        "ratio_pooled": float(np.median(ours) / np.median(tool)),
        "ratio_iqr": [float(np.percentile(ratios, 25)), float(np.percentile(ratios, 75))],
        "pass": bool(BOUNDS[0] <= ratio <= BOUNDS[1]),
    }


def litert_tool_call(path: Path, threads: int) -> Any:
    """litert-benchmark's timed call, set up by the tool's own functions: block(k) -> k durations (s)."""
    from ai_edge_litert.tools import benchmark_litert_model as tool

    compiled_model, accel, environment, env_options, options, cpu_options = tool._import_litert()
    flags = argparse.Namespace(runtime_path="", compiler_plugin_path="", dispatch_library_path="", use_npu=False,
                               use_gpu=False, no_cpu=False, require_full_delegation=False, num_threads=threads)
    env = tool.create_environment(flags, environment, env_options)
    model = compiled_model.from_file(str(path), environment=env, options=tool.create_model_options(
        flags, options, cpu_options, tool.build_hardware_accelerators(flags, accel)))
    sig = next(iter(model.get_signature_list()), "serving_default")
    inputs, outputs = model.get_input_tensor_details(sig), model.get_output_tensor_details(sig)
    in_bufs = {n: model.create_input_buffer_by_name(sig, n) for n in inputs}
    out_bufs = {n: model.create_output_buffer_by_name(sig, n) for n in outputs}
    for name, buf in in_bufs.items():
        tool.fill_random_input(buf, inputs[name])
    run, clock = model.run_by_name, time.perf_counter

    def block(k: int) -> list[float]:
        times = []
        for _ in range(k):  # exactly the tool's timed loop body
            t0 = clock()
            run(sig, in_bufs, out_bufs)
            times.append(clock() - t0)
        return times
    return block


def openvino_tool_call(path: Path, threads: int) -> Any:
    """benchmark_app's sync loop (``Benchmark.sync_inference``, timing by ``request.latency``): block(k) -> k durations."""
    import openvino as ov
    from openvino.tools.benchmark.benchmark import Benchmark

    bench = Benchmark("CPU", number_iterations=1, api_type="sync", inference_only=True)
    compiled = bench.core.compile_model(bench.core.read_model(str(path)), "CPU", {
        "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    port = compiled.inputs[0]
    data = np.random.default_rng(0).uniform(0, 255, tuple(port.shape)).astype(port.get_element_type().to_dtype())
    request.set_input_tensor(ov.Tensor(data))

    class OneFrame:  # the data queue benchmark_app passes; inference-only mode asks it only for the batch size
        def get_next_batch_size(self) -> int:
            return 1

    def block(k: int) -> list[float]:
        bench.niter, bench.duration_seconds = k, 0
        t0 = time.perf_counter()
        times, _, _ = bench.sync_inference(request, OneFrame())
        block.walls.append((time.perf_counter() - t0) / k)  # what the Python caller waits per call
        return [t / 1e3 for t in times]  # request.latency, measured inside OpenVINO, in ms

    block.walls = []  # type: ignore[attr-defined]
    return block


def compare_in_process(path: Path, fmt: str, args: argparse.Namespace) -> dict[str, Any]:
    """Alternating blocks of edgevision bench's infer-only step and the tool's own timed call, in this process."""
    model = edgevision.load(path, threads=args.threads, task="classification")
    step = infer_step(model, seed=1)

    def ours(k: int) -> list[float]:
        return timed(step, runs=k, duration=None, phase="ours", progress=None).totals

    tool = (litert_tool_call if fmt == "tflite" else openvino_tool_call)(path, args.threads)
    sides = {"ours": ours, "tool": tool}
    for f in sides.values():
        f(args.warmup)
    pooled: dict[str, list[float]] = {"ours": [], "tool": []}
    ratios = []
    for r in range(args.rounds):
        med = {}
        for side in (("ours", "tool") if r % 2 == 0 else ("tool", "ours")):
            times = sides[side](args.block)
            pooled[side] += times
            med[side] = float(np.median(times))
        ratios.append(med["ours"] / med["tool"])
    ours_ms, tool_ms = (1e3 * float(np.median(pooled[k])) for k in ("ours", "tool"))
    walls = getattr(tool, "walls", [])[-args.rounds:]  # benchmark_app: wall-clock per call, beside request.latency
    ours_means = [float(np.mean(pooled["ours"][i * args.block:(i + 1) * args.block])) for i in range(args.rounds)]
    rr = np.asarray(ratios)
    return {"model": str(path), "format": fmt, "runtime": model.backend.info(), "threads": args.threads,
            "tool": TOOL_NAMES[fmt], "block": args.block, "rounds": args.rounds, "warmup": args.warmup,
            "samples_per_side": len(pooled["ours"]), "ours_median_ms": ours_ms, "tool_median_ms": tool_ms,
            "ratio": float(np.median(rr)), "ratio_pooled": ours_ms / tool_ms,
            "ratio_iqr": [float(np.percentile(rr, 25)), float(np.percentile(rr, 75))],
            "pass": bool(BOUNDS[0] <= float(np.median(rr)) <= BOUNDS[1]),
            "tool_wall_per_call_ms": 1e3 * float(np.median(walls)) if walls else None,
            "ours_block_mean_ms": 1e3 * float(np.median(ours_means))}


def report_in_process(m: dict[str, Any]) -> list[str]:
    lo, hi = m["ratio_iqr"]
    rt = m["runtime"]
    lines = ["", f"{Path(m['model']).name} ({m['format']}, int8) · {rt['backend']} {rt['version'].split('-')[0]} on "
                f"{rt['device']} · in one process, interleaved",
            f"  edgevision bench infer-only median {m['ours_median_ms']:.3f} ms · {m['tool']}'s own timed call median "
            f"{m['tool_median_ms']:.3f} ms [threads={m['threads']}; {m['warmup']} warm-up, then {m['rounds']} rounds x "
            f"{m['block']} calls per side = {m['samples_per_side']} per side]",
            f"  ratio edgevision / {m['tool']} (median of the per-round ratios): {m['ratio']:.3f}; pooled "
            f"{m['ratio_pooled']:.3f}; per round "
            f"interquartile {lo:.3f} .. {hi:.3f}; within {BOUNDS[0]}..{BOUNDS[1]}: {'PASS' if m['pass'] else 'FAIL'}"]
    if m.get("tool_wall_per_call_ms"):  # benchmark_app reports request.latency: OpenVINO's time, not the caller's
        lines.append(f"  what each times: benchmark_app reports request.latency (inside OpenVINO); the wall-clock time "
                     f"its Python caller waits is {m['tool_wall_per_call_ms']:.3f} ms per call (median of block means) "
                     f"vs edgevision's {m['ours_block_mean_ms']:.3f} ms: wall-clock ratio "
                     f"{m['ours_block_mean_ms'] / m['tool_wall_per_call_ms']:.3f}")
    return lines


def report(res: dict[str, Any]) -> str:
    host = res["host"]
    lines = [f"{'A/A CONTROL (the tool against itself) · ' if res['aa_control'] else ''}"
             f"edgevision bench vs the engine's own tool · {host['cpu']}, {host['cores_usable']} cores usable · "
             f"1-min load average {res['load_average'][0]} -> {res['load_average'][1]}",
             "  versions: " + ", ".join(f"{k} {v}" for k, v in host["versions"].items())]
    for m in res["models"]:
        if res.get("in_process"):
            lines += report_in_process(m)
            continue
        counts = (f"[threads={m['threads']}; {m['warmup']} warm-up + {m['runs_per_round']} runs per side per round; "
                  f"{len(m['rounds'])} alternating rounds]")
        rt = m["runtime"]
        lo, hi = m["ratio_iqr"]
        lines += [
            "",
            f"{Path(m['model']).name} ({m['format']}, int8) · {rt['backend']} {rt['version']} on {rt['device']}",
            f"  edgevision bench infer-only median {m['ours_median_of_round_medians_ms']:.3f} ms · {m['tool']} median "
            f"{m['tool_median_of_round_medians_ms']:.3f} ms (medians of the per-round medians) {counts}",
            f"  ratio edgevision / {m['tool']} (median of the per-round ratios): {m['ratio']:.3f}; pooled "
            f"{m['ratio_pooled']:.3f}; per round "
            f"interquartile {lo:.3f} .. {hi:.3f}; within {BOUNDS[0]}..{BOUNDS[1]}: {'PASS' if m['pass'] else 'FAIL'}",
            f"  edgevision: {m['edgevision_command']}",
            f"  {m['tool']}: {m['tool_command']}" + (f"  (config.json: {json.dumps(m['tool_load_config'])})"
                                                   if m.get("tool_load_config") else ""),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=tuple(MODELS), help="compare one model only")
    p.add_argument("--rounds", type=positive_int, default=8, help="alternating rounds (default 8)")
    p.add_argument("--runs", type=positive_int, default=300, help="timed runs per side per round (default 300)")
    p.add_argument("--warmup", type=positive_int, default=20, help="warm-up runs per side per round (default 20)")
    p.add_argument("--threads", type=positive_int, default=default_threads(),
                   help="threads for both sides (default: cores available, %(default)s here)")
    p.add_argument("--out", type=Path, default=None, help=f"model cache (default {default_cache_dir()})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--in-process", action="store_true",
                   help="interleave with the tool's own timed call in this process instead of running the tool")
    p.add_argument("--block", type=positive_int, default=25, help="calls per side per round with --in-process")
    p.add_argument("--aa", action="store_true",
                   help="A/A control: the tool against itself, to see this machine's noise for the comparison")
    args = p.parse_args(argv)
    paths = {}
    if args.only in (None, "tflite"):
        paths["tflite"] = ensure_model(args.out, alpha=1.0, io="uint8", verbose=not args.json)[0]
    if args.only in (None, "ir"):
        paths["openvino-ir"] = ensure_ir(args.out, alpha=1.0, verbose=not args.json)[0]
    load_start = load_average()
    try:
        compare = compare_in_process if args.in_process else compare_model
        models = [compare(path, fmt, args) for fmt, path in paths.items()]
    except edgevision.EdgeVisionError as e:
        print(f"bench_vs_engine: {e}", file=sys.stderr)
        return 2
    res = {"host": host_info(), "load_average": [load_start, load_average()], "models": models, "aa_control": args.aa,
           "in_process": args.in_process}
    print(json.dumps(res) if args.json else report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
