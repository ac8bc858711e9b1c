"""Bench one model: load (timed), first inference (timed), then two timed phases, each after its warm-up.

1. **infer only**: the input tensor holds seeded random data (a noise image run through the
   model's preprocessing, so it has the input's dtype and value range) and ``infer`` runs
   back to back: what ``litert-benchmark`` and ``benchmark_app`` time, and what ``--compare``
   compares with them.
2. **pipeline**: ``Model.predict`` on every frame, real frames from a source or seeded
   random frames (uniform noise at the frame size). Stage times come from the model's own
   hooks (``Recorder`` on ``on_frame``); the runner adds the end-to-end time per frame
   (capture start to result) and, with a source, the capture time.

The two infer figures can differ: between frames a runtime's worker threads go idle,
and waking them (on a busy machine: getting the cores back) costs time that back-to-back
calls do not pay. The pipeline figure is what an application sees; the infer-only figure
is the one comparable with the engines' tools. Each phase runs ``runs`` times (or for
``duration``), in this order, after its own warm-up.

Example:
    >>> run = bench("model.tflite", config=BenchConfig(warmup=5, runs=50), task="classification")  # doctest: +SKIP
    >>> run.stages["infer"].median, run.runtime["threads"]                                    # doctest: +SKIP
    (3.91, 2)
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import default_threads
from ..errors import EdgeVisionError
from ..hooks import Recorder
from .config import DEFAULT_CONFIG, BenchConfig, InputKind
from .describe import describe_model
from .frames import Progress, RandomFrames, SourceFrames, infer_step, overlapped_fps, pipeline_step, timed
from .report import BenchRun, RunStatus
from .sampler import DeviceSampler
from .sections import Counts, Fps, InferOnly, InputInfo, Memory, ModelInfo, OverlappedFps, Samples, Startup
from .stats import fps_figures, summarize
from .system import load_average, memory_now

__all__ = ["BenchConfig", "InputKind", "bench", "run_bench"]  # BenchConfig, InputKind: defined in config.py


def _warm_up(step: Any, n: int, phase: str, progress: Progress | None) -> None:
    if n > 0:  # timed() runs at least one call
        timed(step, runs=n, duration=None, phase=phase, progress=progress)


def _compare(model: Any, infer: Any, first: list, config: BenchConfig, progress: Progress | None) -> dict:
    """The run's ``compare`` section: the engine tool alternated with infer-only phases (see engines.compare_rounds)."""
    from .describe import format_of
    from .engines import compare_rounds, tools

    path = Path(model.artifact["file"])
    fmt = model.artifact.get("format") or format_of(path)
    engine_tools = tools()
    if fmt not in engine_tools:  # e.g. ONNX: no engine tool to compare with
        return {"note": f"no engine tool for {fmt} (litert-benchmark: .tflite, benchmark_app: OpenVINO IR)"}

    def ours() -> list:
        _warm_up(infer, config.warmup, "infer warm-up", progress)
        return timed(infer, runs=len(first), duration=None, phase="infer only", progress=progress).totals

    def tool_progress(i: int) -> None:
        if progress is not None:
            progress(f"{engine_tools[fmt]} {i + 1}/{config.compare_rounds}", i, config.compare_rounds, 0.0, None)

    try:
        return compare_rounds(path, fmt, threads=int(model.backend.threads or 1), runs=len(first),
                              warmup=config.warmup, input_dtype=np.dtype(model.backend.inputs[0].dtype).name,
                              first=first, ours=ours, rounds=config.compare_rounds, progress=tool_progress)
    except EdgeVisionError as e:
        return {"error": str(e), "exit_code": e.exit_code}


def run_bench(loader: Callable[[], Any], config: BenchConfig, *, label: str, meta: dict | None = None,
              progress: Progress | None = None) -> BenchRun:
    """Load with ``loader()`` and bench the model it returns (``meta``: the manifest's facts of its artifact).

    >>> run = run_bench(lambda: edgevision.load("m.tflite"), BenchConfig(runs=20), label="m")  # doctest: +SKIP
    >>> run.fps.from_mean_total, run.to_dict()["fps"]["from_mean_total"]                       # doctest: +SKIP
    (254.1, 254.1)
    """
    feed: Any = SourceFrames(config.source) if config.source else RandomFrames(config.frame_size, config.seed)
    sampler = DeviceSampler(root=config.sysfs_root, interval=config.device_interval, vcgencmd=config.vcgencmd)
    mem_before = memory_now()
    load_avg = [load_average()]
    if config.sample_device:
        sampler.start()
    try:
        t0 = time.perf_counter()
        model = loader()
        init_s = time.perf_counter() - t0
        mem_loaded = memory_now()
        t0 = time.perf_counter()
        model.predict(feed.first())
        first_s, first_infer_s = time.perf_counter() - t0, model.timings.infer
        # Phase 1, infer only: the engine tools' method (back to back, random input tensor).
        infer = infer_step(model, config.seed + 1)
        _warm_up(infer, config.warmup, "infer warm-up", progress)
        infer_only = timed(infer, runs=config.runs, duration=config.duration, phase="infer only", progress=progress)
        # Phase 2, the pipeline: predict on every frame, stages from the model's hooks.
        step = pipeline_step(model, feed)
        _warm_up(step, config.warmup, "warm-up", progress)
        recorder = Recorder()
        model.on_frame(recorder)
        try:
            pipeline = timed(step, runs=config.runs, duration=config.duration, phase="pipeline", progress=progress)
        finally:
            model.hooks.remove(recorder)
        # Optionally, the same number of frames through an overlapped stream: the fps `run --overlap` reaches.
        overlapped = None
        if config.overlap:
            if progress is not None:
                progress("overlapped stream", 0, None, 0.0, None)
            overlapped = overlapped_fps(model, feed, max(2, len(pipeline.totals)))
        # Optionally, the engine's own tool, alternated with more infer-only phases.
        compare = _compare(model, infer, infer_only.totals, config, progress) if config.compare_rounds else None
        profile = None
        if config.profile:
            from .profile import profile_section

            if progress is not None:
                progress("layer profile", 0, None, 0.0, None)
            profile = profile_section(model, runs=config.runs or 50)
    finally:
        if config.sample_device:
            sampler.stop()
    load_avg.append(load_average())
    mem_end = memory_now()
    only = infer_only.totals + (compare or {}).pop("extra_samples", [])  # every infer-only call, all phases
    stages = {"capture": recorder.seconds("capture")} if config.source else {}
    stages.update({s: recorder.seconds(s) for s in ("preprocess", "infer", "decode")})
    stages["total"] = pipeline.totals
    model_section, runtime, inp = describe_model(model, meta)
    state: dict[str, Any] = (sampler.summary() if config.sample_device
                             else {"samples": 0, "warnings": [], "notes": []})
    warnings: list[str] = [str(w) for w in state.get("warnings") or []]
    cores, before = default_threads(), load_avg[0]
    # Taken before this run, the load average is other processes' (later it counts our own threads too).
    if before is not None and before >= max(1.0, cores / 2):
        warnings.append(f"other processes were busy (1-minute load average {before} before the run, {cores} usable "
                        f"cores): they compete for the CPU, so expect noisy, slower figures")
    fps = fps_figures(pipeline.totals, wall_seconds=pipeline.wall)
    return BenchRun(
        label=label, status=RunStatus.OK, model=ModelInfo.from_dict(model_section), runtime=runtime,
        input=InputInfo.from_dict({**inp, "kind": (InputKind.FRAMES if config.source else InputKind.RANDOM).value,
                                   "description": feed.description,
                                   "source_reopened": getattr(feed, "reopened", 0)}),
        counts=Counts(warmup=config.warmup, runs=len(pipeline.totals), requested_runs=config.runs,
                      requested_duration_s=config.duration, timed_wall_s=round(pipeline.wall, 4)),
        startup=Startup(init_ms=round(1e3 * init_s, 3), first_predict_ms=round(1e3 * first_s, 3),
                        first_infer_ms=round(1e3 * first_infer_s, 3)),
        stages={k: summarize(v).rounded() for k, v in stages.items()},
        infer_only=InferOnly(summary=summarize(only).rounded(), warmup=config.warmup,
                             phases=1 + (compare["rounds"] if compare and "engine" in compare else 0),
                             timed_wall_s=round(infer_only.wall, 4),
                             how="backend.infer() back to back on a seeded random input tensor "
                                 "(the engine tools' method)"),
        fps=Fps(from_mean_total=fps["from_mean_total"], frames_per_wall_second=fps["frames_per_wall_second"],
                how=fps["how"], overlapped=OverlappedFps.from_dict(overlapped) if overlapped else None),
        memory=Memory(peak_rss_mb=mem_end["peak_rss_mb"], rss_before_load_mb=mem_before["rss_mb"],
                      rss_after_load_mb=mem_loaded["rss_mb"], rss_end_mb=mem_end["rss_mb"],
                      how="rss: /proc/self/status VmRSS; peak_rss: getrusage ru_maxrss, the whole process so far"),
        load_average_1min=tuple(load_avg), device_state=state, warnings=tuple(warnings),
        samples=Samples(t_s=tuple(round(t, 6) for t in pipeline.starts),
                        stages={k: tuple(round(1e3 * v, 4) for v in vals) for k, vals in stages.items()},
                        infer_only_t_s=tuple(round(t, 6) for t in infer_only.starts),
                        infer_only=tuple(round(1e3 * v, 4) for v in infer_only.totals)),
        compare=compare, profile=profile,
    )


def bench(model: str | Path, *, config: BenchConfig = DEFAULT_CONFIG, target: str = "auto",
          threads: int | None = None, backend: str | None = None, device: str | None = None,
          progress: Progress | None = None, **model_info: Any) -> BenchRun:
    """Bench a model file or one artifact of a bundle (``target``) with ``edgevision.load``'s options.

    >>> run = bench("model.tflite", config=BenchConfig(runs=50), threads=2, task="classification")  # doctest: +SKIP
    >>> run.stages["infer"].p95                                                                    # doctest: +SKIP
    4.2
    """
    from ..loading import load

    return run_bench(lambda: load(model, target=target, threads=threads, backend=backend, device=device,
                                  **model_info),
                     config, label=Path(model).name if target in ("auto", None) else target, progress=progress)
