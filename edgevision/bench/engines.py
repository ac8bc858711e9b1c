"""Run the engine's own benchmark tool on the same model with the same threads, and compare medians.

- ``.tflite``: ``litert-benchmark`` (the Python tool ai-edge-litert ships; flags ``--model``,
  ``--num_threads``, ``--num_runs``, ``--warmup_runs``). It times ``CompiledModel.run_by_name`` on
  buffers it fills with random data and prints ``Inference (median):    1.98 ms``.
- OpenVINO IR: ``benchmark_app -m model.xml -d CPU -hint latency -api sync``. Its UI refuses
  ``-nthreads`` beside a hint, so the thread count (and the inference precision our backend
  compiles with) goes in through ``-load_config``, exactly the properties our backend sets;
  ``-ip`` keeps the model's own input type (benchmark_app would otherwise switch an image input to
  u8 and add a conversion to the graph). It does one warm-up inference of its own and prints
  ``Median:        1.94 ms`` under ``Latency:``.

Example:
    >>> parse_litert_benchmark("Inference (avg):       2.36 ms (100 runs)\\nInference (median):    1.98 ms")
    {'median_ms': 1.98, 'mean_ms': 2.36, 'runs': 100}
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, UserInputError
from ..targets.catalogue import BACKENDS, FORMATS

TIMEOUT_S = 900


def tools() -> dict[str, str]:
    """{artifact format: its engine's own benchmark tool}, from the catalogue.

    >>> tools()
    {'tflite': 'litert-benchmark', 'openvino-ir': 'benchmark_app'}
    """
    return {str(fmt): spec.engine_tool for fmt, spec in FORMATS.items() if spec.engine_tool}


def tool_for(fmt: str) -> str:
    """The engine tool for an artifact format; UserInputError when the engine ships none we drive.

    >>> tool_for("openvino-ir")
    'benchmark_app'
    """
    found = tools()
    if fmt not in found:
        raise UserInputError(f"expected a .tflite or OpenVINO IR model for --compare "
                             f"({', '.join(found.values())}), got format {fmt!r}")
    return found[fmt]


def tool_package(name: str) -> str:
    """The pip distribution that ships an engine tool (its format's runtime's first).

    >>> tool_package("benchmark_app")
    'openvino'
    """
    for spec in FORMATS.values():
        if spec.engine_tool == name and BACKENDS[spec.backend].distributions:
            return BACKENDS[spec.backend].distributions[0]
    return name


def find_tool(name: str) -> str:
    """The tool's path: beside this Python first (a venv's bin, not always on PATH), then PATH.

    >>> find_tool("benchmark_app")  # doctest: +SKIP
    '/work/main/.venv/bin/benchmark_app'
    """
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        raise BackendUnavailableError(f"expected {name} (pip install {tool_package(name)}) beside "
                                      f"{sys.executable} or on PATH, got none")
    return found


def _number(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else None


def parse_litert_benchmark(text: str) -> dict[str, Any]:
    """Median, mean (ms) and run count from litert-benchmark's results block."""
    median = _number(r"^Inference \(median\):\s+([\d.]+) ms", text)
    if median is None:
        raise ValueError("expected 'Inference (median): X ms' in litert-benchmark's output, got none")
    runs = re.search(r"^Inference \(avg\):\s+[\d.]+ ms \((\d+) runs\)", text, re.MULTILINE)
    return {"median_ms": median, "mean_ms": _number(r"^Inference \(avg\):\s+([\d.]+) ms", text),
            "runs": int(runs.group(1)) if runs else None}


UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1e3}


def _latency_ms(name: str, text: str) -> float | None:
    # benchmark_app switches units with the size of the figure: "1.94 ms", but "30.29 us" for a tiny model.
    match = re.search(rf"{name}:\s+([\d.]+)\s*(ns|us|µs|ms|s)\b", text)
    return round(float(match.group(1)) * UNIT_MS[match.group(2)], 6) if match else None


def parse_benchmark_app(text: str) -> dict[str, Any]:
    """Median, mean (ms) and iteration count from benchmark_app's statistics report.

    >>> parse_benchmark_app("[ INFO ] Count:  50 iterations\\n[ INFO ]    Median:        1.94 ms\\n")["median_ms"]
    1.94
    >>> parse_benchmark_app("[ INFO ]    Median:        30.29 us")["median_ms"]
    0.03029
    """
    median = _latency_ms("Median", text)
    if median is None:
        raise ValueError("expected 'Median: X ms' in benchmark_app's output, got none")
    count = _number(r"Count:\s+(\d+) iterations", text)
    return {"median_ms": median, "mean_ms": _latency_ms("Average", text),
            "runs": int(count) if count is not None else None}


def engine_command(path: str | Path, fmt: str, *, threads: int, runs: int, warmup: int, tool: str,
                   config_file: Path | None = None, device: str = "CPU", input_type: str = "f32") -> list[str]:
    """The tool's command line for this model, threads and counts.

    >>> engine_command("m.tflite", "tflite", threads=2, runs=100, warmup=10, tool="litert-benchmark")
    ['litert-benchmark', '--model', 'm.tflite', '--num_threads', '2', '--num_runs', '100', '--warmup_runs', '10']
    """
    if fmt == "tflite":
        return [tool, "--model", str(path), "--num_threads", str(threads), "--num_runs", str(runs),
                "--warmup_runs", str(warmup)]
    cmd = [tool, "-m", str(path), "-d", device, "-hint", "latency", "-api", "sync", "-niter", str(runs),
           "-ip", input_type]
    return cmd + (["-load_config", str(config_file)] if config_file else [])


OV_INPUT_TYPES = {"float32": "f32", "float16": "f16", "uint8": "u8", "int8": "i8", "int32": "i32"}


def run_engine(path: str | Path, fmt: str, *, threads: int, runs: int, warmup: int,
               input_dtype: str = "float32", precision_hint: str = "f32", timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """Run the engine tool once; {"tool", "command", "median_ms", "mean_ms", "runs", "warmup", "threads", ...}.

    Raises BackendUnavailableError when the tool is missing or fails (its last output line in the message).

    >>> run_engine("model.tflite", "tflite", threads=2, runs=100, warmup=10)["median_ms"]  # doctest: +SKIP
    1.98
    """
    tool = find_tool(tool_for(fmt))
    path = Path(path).resolve()  # the tool runs in a temporary directory: a relative path would point nowhere
    # The same properties OpenVINOBackend compiles with (it pins f32 where the artifact has no precision).
    ov_config = {"CPU": {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": str(threads),
                         "INFERENCE_PRECISION_HINT": precision_hint}}
    with tempfile.TemporaryDirectory(prefix="edgevision-compare-") as tmp:
        config_file = None
        if fmt == "openvino-ir":
            config_file = Path(tmp) / "config.json"
            config_file.write_text(json.dumps(ov_config))
        cmd = engine_command(path, fmt, threads=threads, runs=runs, warmup=warmup, tool=tool,
                             config_file=config_file, input_type=OV_INPUT_TYPES.get(input_dtype, "f32"))
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise BackendUnavailableError(f"expected {Path(tool).name} to finish within {timeout:.0f} s, "
                                          f"got a timeout") from None
    output = done.stdout + "\n" + done.stderr
    try:
        figures = (parse_litert_benchmark if fmt == "tflite" else parse_benchmark_app)(output)
    except ValueError as e:
        last = next((ln.strip() for ln in reversed(output.splitlines()) if ln.strip()), "no output")
        raise BackendUnavailableError(f"{e} (exit code {done.returncode}; last line: {last[:200]})") from None
    shown = [Path(tool).name, *("config.json" if a == str(config_file) else a for a in cmd[1:])]
    return {"tool": Path(tool).name, "path": tool, "command": shown,
            "load_config": ov_config if config_file else None, **figures,
            "warmup": warmup if fmt == "tflite" else 1, "threads": threads,
            "what_it_times": ("wall-clock time of CompiledModel.run_by_name on random input buffers, from Python"
                              if fmt == "tflite" else "request.latency: the time OpenVINO measures inside "
                              "InferRequest.infer (sync, random input), without the Python call around it")}


def compare_rounds(path: str | Path, fmt: str, *, threads: int, runs: int, warmup: int, input_dtype: str,
                   first: Sequence[float], ours: Callable[[], Sequence[float]], rounds: int = 1,
                   progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """The engine tool alternated with our infer-only phase: ours (``first``, already timed), tool, ours, tool, ours...

    Each tool run is bracketed by two of ours, so load that rises or falls during the
    comparison hits both sides alike. ``ours()`` times one more infer-only phase (seconds per
    call). ``round_ratios`` compare each tool run with the mean of the medians of the two phases
    around it; ``ratio`` is their median (1.0: identical; above: we are slower). Pairing each tool
    run with the phases around it cancels the speed a shared or throttling machine drifts through
    between rounds, which a pooled figure keeps: ``ratio_pooled`` is the median of all our calls
    over the median of the tool's medians, shown beside it.

    >>> cmp = compare_rounds("m.tflite", "tflite", threads=2, runs=100, warmup=10, input_dtype="uint8",
    ...                      first=times, ours=lambda: more_times(), rounds=3)  # doctest: +SKIP
    >>> cmp["ratio"]                                                              # doctest: +SKIP
    1.008
    """
    ours_medians = [1e3 * float(np.median(first))]
    engines: list[dict] = []
    extra: list[float] = []
    for i in range(rounds):
        if progress is not None:
            progress(i)
        engines.append(run_engine(path, fmt, threads=threads, runs=runs, warmup=warmup, input_dtype=input_dtype))
        again = list(ours())
        extra.extend(again)
        ours_medians.append(1e3 * float(np.median(again)))
    tool_medians = [e["median_ms"] for e in engines]
    ratios = [(ours_medians[i] + ours_medians[i + 1]) / 2 / t for i, t in enumerate(tool_medians) if t]
    ours_ms, tool_ms = 1e3 * float(np.median([*first, *extra])), float(np.median(tool_medians))
    return {"engine": {**engines[-1], "median_ms": round(tool_ms, 4), "medians_ms": tool_medians},
            "rounds": rounds, "ours_infer_median_ms": round(ours_ms, 4), "ours_phase_medians_ms":
            [round(m, 4) for m in ours_medians], "round_ratios": [round(r, 4) for r in ratios],
            "ratio": round(float(np.median(ratios)), 4) if ratios else None,
            "ratio_pooled": round(ours_ms / tool_ms, 4) if tool_ms else None, "extra_samples": extra,
            "how": "ours, then the tool and ours again, alternating; ratio = median over the tool runs of (mean of "
                   "the medians of our phases before and after it) / (its median); ratio_pooled = median of all "
                   "our infer-only calls / median of the tool's medians"}
