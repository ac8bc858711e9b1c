"""``edgevision bench --profile``: per-layer times, where each layer ran, and how their sum compares with the whole.

One profiler per runtime (``PROFILERS``, keyed by backend name), each opening the benched
artifact a second time with the same device and threads, running it ``runs`` times on a
seeded random input, and returning a ``Profile``: every layer's time per inference, the top
ones, time per place of execution, and the sum of the layer times beside the whole inference
measured in the same runs (``ratio``: how much of the inference the layers account for).
OpenVINO and ONNX Runtime layers are means per inference, beside the mean inference, so the
sum is each run's sum averaged (medians per layer would not add up to a median run).

- OpenVINO: the runtime's performance counters (``PERF_COUNT``): each executed node's
  ``real_time`` and ``exec_type`` (the kernel, e.g. ``jit_avx512_I8``, ``ref_any``);
- ONNX Runtime: its profiler's JSON (``enable_profiling``): each node's kernel time and the
  execution provider it ran on; the whole is its ``model_run`` event;
- LiteRT: the Python API has no op profiler (``benchmark_model --enable_op_profiling`` is a C++
  tool the wheel does not ship), so ``edgevision.bench.profile_litert`` cuts the graph after
  each op and times the cut graphs in interleaved rounds: an op's time is how much the median
  grows when it is added, and where it ran is whether LiteRT hands it to XNNPACK. The sum of
  these differences is, by construction, the median of the whole graph, so its ``ratio`` checks
  only that the whole graph re-measured matches (see ``how``).

Example:
    >>> p = Profile(method="m", runs=2, layers=(Layer("conv1", "Convolution", "jit_avx2_I8", 1.5),
    ...             Layer("fc", "FullyConnected", "ref_any", 0.5)), measured_ms=2.1, how="h")
    >>> p.sum_ms, p.ratio, p.by_where()
    (2.0, 0.952, {'jit_avx2_I8': 1.5, 'ref_any': 0.5})
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EdgeVisionError, UserInputError

DEFAULT_RUNS = 50
TOP = 10


@dataclass(frozen=True)
class Layer:
    """One layer (node, op): its name, type, where it ran, and its median time per inference in ms."""

    name: str
    type: str
    where: str
    ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "where": self.where, "ms": round(self.ms, 4)}


@dataclass(frozen=True)
class Profile:
    """Every layer's time, and the whole inference measured in the same rounds (``measured_ms``)."""

    method: str
    runs: int
    layers: tuple[Layer, ...]
    measured_ms: float
    how: str
    run_ratio: float | None = None  # the median of each run's (sum of its layer times / its inference time), if known

    @property
    def sum_ms(self) -> float:
        return round(sum(layer.ms for layer in self.layers), 4)

    @property
    def ratio(self) -> float:
        """Sum of the layer times / the measured inference (1.0: the layers account for all of it).

        The median of the per-run ratios when the profiler times layers and the whole in the same
        run (robust to the runs a busy machine slowed), else the ratio of the two figures.
        """
        if self.run_ratio is not None:
            return round(self.run_ratio, 3)
        return round(self.sum_ms / self.measured_ms, 3) if self.measured_ms > 0 else float("nan")

    def top(self, n: int = TOP) -> list[Layer]:
        return sorted(self.layers, key=lambda layer: -layer.ms)[:n]

    def by_where(self) -> dict[str, float]:
        """ms per place of execution (exec type, delegate, provider), largest first."""
        out: dict[str, float] = {}
        for layer in self.layers:
            out[layer.where] = out.get(layer.where, 0.0) + layer.ms
        return {k: round(v, 4) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}

    def to_dict(self, top: int = TOP) -> dict[str, Any]:
        """The ``profile`` section of a bench run: the top layers, not all of them (``layers`` counts them)."""
        return {"method": self.method, "runs": self.runs, "layers": len(self.layers), "sum_ms": self.sum_ms,
                "measured_ms": round(self.measured_ms, 4), "ratio": self.ratio, "by_where": self.by_where(),
                "top": [layer.to_dict() for layer in self.top(top)], "how": self.how}


def random_input(spec: Any, seed: int = 0) -> np.ndarray:
    """A seeded random tensor of an input's shape and dtype (the full range of an integer type)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(spec.dtype)
    shape = [max(int(d), 1) for d in spec.shape]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, shape, dtype=dtype)
    return rng.uniform(0, 1, shape).astype(dtype)


def _openvino(model: Any, runs: int) -> Profile:
    import openvino as ov

    backend = model.backend
    core = ov.Core()
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "PERF_COUNT": True}
    if backend.requested_device == "CPU":
        config["INFERENCE_NUM_THREADS"] = backend.threads
        config["INFERENCE_PRECISION_HINT"] = "f32"
    from ..backends.openvino import read_model

    # The checked bytes the backend runs, never the file again (edgevision.integrity).
    compiled = core.compile_model(read_model(core, backend.model_bytes, backend), backend.requested_device, config)
    request = compiled.create_infer_request()
    request.set_input_tensor(ov.Tensor(random_input(backend.inputs[0])))
    times: dict[tuple[str, str, str], list[float]] = {}
    wall, ratios = [], []
    for i in range(runs + 3):
        t0 = time.perf_counter()
        request.infer()
        elapsed = time.perf_counter() - t0
        if i < 3:  # warm-up
            continue
        wall.append(1e3 * elapsed)
        total = 0.0
        for p in request.get_profiling_info():
            if str(p.status).endswith("EXECUTED") and not str(p.status).endswith("NOT_RUN"):
                ms = p.real_time.total_seconds() * 1e3
                times.setdefault((p.node_name, p.node_type, p.exec_type), []).append(ms)
                total += ms
        ratios.append(total / wall[-1])
    layers = tuple(Layer(n, t, e, sum(v) / runs) for (n, t, e), v in times.items())
    return Profile("openvino performance counters (PERF_COUNT)", runs, layers, statistics.fmean(wall),
                   "each executed node's real_time from get_profiling_info(), its mean per inference over the runs; "
                   "measured: the mean wall time of InferRequest.infer() in the same runs; ratio: the median over "
                   "the runs of (the run's node times summed / its wall time)", statistics.median(ratios))


def _onnxruntime(model: Any, runs: int) -> Profile:
    import json
    import tempfile
    from pathlib import Path

    import onnxruntime as ort

    backend = model.backend
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = backend.threads, 1
    options.log_severity_level = 3
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        from ..backends.onnxruntime import external_data_in_memory

        external_data_in_memory(options, backend.model_bytes)  # the checked bytes, never the files again
        session = ort.InferenceSession(backend.model_bytes.data, sess_options=options,
                                       providers=list(backend.providers))
        feed = {backend.inputs[0].name: random_input(backend.inputs[0])}
        for _ in range(runs + 3):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    runs_seen = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"][3:]
    start = runs_seen[0]["ts"] if runs_seen else 0
    times: dict[tuple[str, str, str], list[float]] = {}
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time") and e.get("ts", 0) >= start:
            args = e.get("args", {})
            key = (e["name"].removesuffix("_kernel_time"), args.get("op_name", "?"), args.get("provider", "?"))
            times.setdefault(key, []).append(e["dur"] / 1e3)
    n = max(1, len(runs_seen))
    layers = tuple(Layer(name, t, p, sum(v) / n) for (name, t, p), v in times.items())
    measured = statistics.fmean(e["dur"] / 1e3 for e in runs_seen) if runs_seen else 0.0
    return Profile("onnxruntime profiler (enable_profiling)", len(runs_seen), layers, measured,
                   "each node's kernel_time events, their mean per inference over the runs; measured: the mean of "
                   "the model_run events of the same runs")


def _litert(model: Any, runs: int) -> Profile:
    from .profile_litert import profile_litert

    return profile_litert(model.backend, runs)


# backend name -> profiler(model, runs) -> Profile
PROFILERS: dict[str, Callable[[Any, int], Profile]] = {
    "openvino": _openvino,
    "onnxruntime": _onnxruntime,
    "litert": _litert,
}


def profile_model(model: Any, *, runs: int = DEFAULT_RUNS) -> Profile:
    """Profile a loaded ``Model``'s artifact with its runtime's profiler (see the module docstring).

    >>> profile_model(edgevision.load("mobilenet_v2_int8.xml"), runs=50).top(3)   # doctest: +SKIP
    [Layer(name='...', type='Convolution', where='jit_avx512_I8', ms=0.41), ...]
    """
    name = model.backend.name
    if name not in PROFILERS:
        raise UserInputError(f"expected a runtime with a layer profiler ({', '.join(PROFILERS)}), got {name!r}")
    if model.backend.info().get("device") == "edgetpu":
        raise UserInputError("expected a CPU LiteRT model for --profile, got one on the Edge TPU (its one custom op "
                             "is the whole graph)")
    return PROFILERS[name](model, runs)


def profile_section(model: Any, *, runs: int = DEFAULT_RUNS, top: int = TOP) -> dict[str, Any]:
    """A bench run's ``profile`` section: the profile's dict, or ``{"error": ...}`` when it failed."""
    try:
        return profile_model(model, runs=runs).to_dict(top)
    except EdgeVisionError as e:
        return {"error": str(e)}
    except (RuntimeError, ValueError, OSError) as e:  # a runtime's own failure while profiling
        return {"error": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"}


def profile_lines(section: Mapping[str, Any]) -> list[str]:
    """The text report's lines for a ``profile`` section."""
    from ..cli.console import table

    if "error" in section:
        return [f"  profile: {section['error']}"]
    lines = [f"  profile ({section['method']}, {section['runs']} runs): {section['layers']} layers, sum "
             f"{section['sum_ms']:.3f} ms vs measured inference {section['measured_ms']:.3f} ms -> ratio "
             f"{section['ratio']:.3f}",
             "    by where it ran: " + ", ".join(f"{k} {v:.3f} ms" for k, v in section["by_where"].items())]
    rows = [[str(i + 1), layer["name"][:48], layer["type"], layer["where"], f"{layer['ms']:.3f}",
             f"{100 * layer['ms'] / section['measured_ms']:.1f}" if section["measured_ms"] else "-"]
            for i, layer in enumerate(section["top"])]
    lines += table(["#", "layer", "type", "where", "ms", "%"], rows, align="rllllr", indent=4).split("\n")
    lines.append(f"    [{section['how']}]")
    return lines


def profile_html(section: Mapping[str, Any]) -> str:
    """The HTML report's part for a ``profile`` section."""
    from html import escape

    if "error" in section:
        return f'<p class="err">profile: {escape(section["error"])}</p>'
    rows = "".join(f'<tr><td>{i + 1}</td><td class="l">{escape(layer["name"])}</td><td class="l">{escape(layer["type"])}'
                   f'</td><td class="l">{escape(layer["where"])}</td><td>{layer["ms"]:.3f}</td></tr>'
                   for i, layer in enumerate(section["top"]))
    where = ", ".join(f"{escape(k)} {v:.3f} ms" for k, v in section["by_where"].items())
    return (f'<h3>Layer profile</h3><p class="meta">{escape(section["method"])}, {section["runs"]} runs: '
            f'{section["layers"]} layers, sum <b>{section["sum_ms"]:.3f} ms</b> vs measured inference '
            f'<b>{section["measured_ms"]:.3f} ms</b> → ratio <b>{section["ratio"]:.3f}</b><br>by where it ran: '
            f'{where}<br>{escape(section["how"])}</p><table data-profile="top"><tr><th>#</th><th class="l">layer</th>'
            f'<th class="l">type</th><th class="l">where</th><th>ms</th></tr>{rows}</table>')
