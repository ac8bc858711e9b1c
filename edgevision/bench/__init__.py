"""``edgevision bench``: latency per stage and per target, device state, engine-tool comparison, reports.

Imported only by the CLI and by users who bench (``import edgevision`` does not load it).

- ``config``: ``BenchConfig``, how long and on what to bench
- ``runner``: ``bench`` / ``run_bench`` time one model (init, first inference, warm-up, timed runs)
- ``report``, ``sections``: the results, typed (``BenchRun``, ``BenchReport``), ``to_dict`` / ``from_dict``
  giving and reading the JSON ``--json`` writes
- ``stats``: the latency summary (mean, std, min, median, p90, p95, p99, max) and FPS
- ``device``, ``sampler``: temperatures, clocks, governor, Pi throttling, Jetson power, sampled while it runs
- ``matrix``: every artifact of a bundle this machine can run, one row each
- ``engines``: ``litert-benchmark`` / ``benchmark_app`` on the same model, same threads
- ``text``, ``export``, ``html``, ``svg``: terminal table, JSON, CSV, self-contained HTML

Example:
    >>> from edgevision.bench import BenchConfig, bench, make_report, render_text
    >>> run = bench("model.tflite", config=BenchConfig(warmup=10, runs=200), task="classification")  # doctest: +SKIP
    >>> run.stages["infer"].median, run.fps.from_mean_total                                        # doctest: +SKIP
    (3.91, 231.2)
    >>> print(render_text(make_report([run], BenchConfig(warmup=10, runs=200))))                     # doctest: +SKIP
"""
from __future__ import annotations

from .config import BenchConfig, InputKind
from .engines import compare_rounds, run_engine
from .export import check_writable, to_csv, to_json, write_atomic
from .html import render_html
from .matrix import bench_matrix, make_report, plan_matrix
from .report import BenchReport, BenchRun, RunStatus
from .runner import bench, run_bench
from .sampler import DeviceSampler
from .sections import RunError
from .stats import Summary, fps_figures, summarize
from .text import render_text

__all__ = [
    "BenchConfig",
    "BenchReport",
    "BenchRun",
    "DeviceSampler",
    "InputKind",
    "RunError",
    "RunStatus",
    "Summary",
    "bench",
    "bench_matrix",
    "check_writable",
    "compare_rounds",
    "fps_figures",
    "make_report",
    "plan_matrix",
    "render_html",
    "render_text",
    "run_bench",
    "run_engine",
    "summarize",
    "to_csv",
    "to_json",
    "write_atomic",
]
