"""The terminal report: per run a header, the stage table, FPS, memory and device state; then the matrix.

Every table carries the thread count, runtime version, warm-up and sample counts
on its own header line, so a pasted fragment still says how it was measured.

Example:
    >>> fmt_size(3945824)
    '3.8 MB'
    >>> fmt_fidelity({"metric": "top1_agreement", "top1_agreement": 0.98, "drop": 0.02})
    'top1_agreement 0.98 (drop 0.02)'
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .report import BenchReport, BenchRun, MeasuredRun, as_report, as_run
from .stats import STAT_KEYS

STAGE_ORDER = ("capture", "preprocess", "infer", "decode", "total")


def fmt_size(n: int | None) -> str:
    if not n:
        return "-"
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def fmt_fidelity(fid: Mapping[str, Any] | None) -> str:
    """The manifest's fidelity entry in a few words: its metric and value, and the drop when given."""
    if not fid:
        return "-"
    metric = fid.get("metric")
    if metric not in fid:
        metric = next((k for k, v in fid.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                       and k not in ("images", "drop")), None)
    if metric is None:
        return "-"
    text = f"{metric} {fid[metric]:.4g}"
    return text + (f" (drop {fid['drop']:.4g})" if isinstance(fid.get("drop"), (int, float)) else "")


def short_version(version: object) -> str:
    """'2026.4.1' of OpenVINO's '2026.4.1-22982-e213a147257-releases/2026/4' (JSON keeps the full string)."""
    return str(version).split("-")[0]


def runtime_line(rt: Mapping[str, Any]) -> str:
    """e.g. 'litert 2.3.0 (ai_edge_litert) on CPU, 2 threads'."""
    threads = rt.get("threads")
    return (f"{rt.get('backend')} {short_version(rt.get('version'))} ({rt.get('runtime')}) on {rt.get('device')}, "
            f"{threads if threads is not None else 'default'} threads")


def counts_tag(run: BenchRun | MeasuredRun) -> str:
    """e.g. '[threads=2; litert 2.3.0; 10 warm-up + 100 timed]': how a figure was measured, beside it."""
    c, rt = run.measured().counts if isinstance(run, BenchRun) else run.counts, run.runtime
    return (f"[threads={rt.get('threads')}; {rt.get('backend')} {short_version(rt.get('version'))}; "
            f"{c.warmup} warm-up + {c.runs} timed]")


def _device_line(state: Mapping[str, Any]) -> str:
    if not state.get("samples"):
        return "device: not sampled"
    parts = []
    temps = state.get("temperature_c")
    if isinstance(temps, dict):
        name, span = max(temps.items(), key=lambda kv: kv[1]["max"])
        parts.append(f"{name} {span['min']:.1f}-{span['max']:.1f} °C")
    else:
        parts.append("temperature not exposed")
    freqs = state.get("cpu_freq_mhz")
    if isinstance(freqs, dict):
        lo, hi = min(v["min"] for v in freqs.values()), max(v["max"] for v in freqs.values())
        parts.append(f"CPU clock {lo:.0f}-{hi:.0f} MHz (max {state.get('cpu_max_mhz')})")
    else:
        parts.append("CPU clock not exposed")
    parts.append(f"governor {state.get('governor')}")
    thr = state.get("throttling")
    parts.append(f"throttling {', '.join(thr['during_run']) or 'none'} ({thr['source']})" if isinstance(thr, dict)
                 else "throttling not exposed")
    for key, unit, label in (("power_mw", "mW", "power"), ("devfreq_mhz", "MHz", "clocks")):
        if isinstance(state.get(key), dict):
            parts.append(f"{label} " + ", ".join(f"{k} {v['mean']:.0f} {unit}" for k, v in state[key].items()))
    return f"device ({state['samples']} samples every {state.get('interval_s')} s): " + " · ".join(parts)


def render_run(run: BenchRun | Mapping[str, Any]) -> list[str]:
    """The lines for one run (or its error).

    >>> render_run({"label": "tpu", "status": "failed", "error": {"type": "E", "message": "no TPU"}})
    ['tpu · ? · FAILED: E: no TPU']
    """
    from ..cli.console import table

    run = as_run(run)
    m = run.model
    if not run.ok:
        e = run.error
        what = " ".join(str(v) for v in (m.format, m.precision) if v) or "?"
        return [f"{run.label} · {what} · FAILED: {e.type if e else '?'}: {e.message if e else '?'}"]
    fig = run.measured()
    rt, inp, c, start = fig.runtime, fig.input, fig.counts, fig.startup
    name = Path(str(m.file)).name
    lines = [
        ("" if run.label == name else f"{run.label} · ")
        + f"{name} ({m.format}, {m.precision}, {fmt_size(m.size_bytes)}) · {runtime_line(rt)}",
        f"  input {inp.to_dict()['shape']} {inp.dtype} · {inp.description}",
        f"  init {start.init_ms:.1f} ms (load + compile) · first inference {start.first_predict_ms:.2f} ms "
        f"(infer {start.first_infer_ms:.2f} ms) · {c.warmup} warm-up + {c.runs} timed runs in "
        f"{c.timed_wall_s:.2f} s",
    ]
    rows = [[stage, *(f"{getattr(run.stages[stage], k):.3f}" for k in STAT_KEYS), ""]
            for stage in STAGE_ORDER if stage in run.stages]
    if fig.infer_only:
        s = fig.infer_only.summary
        rows.append(["infer only*", *(f"{getattr(s, k):.3f}" for k in STAT_KEYS),
                     f"n={s.n} after {fig.infer_only.warmup} warm-up"])
    lines += table(["stage", *STAT_KEYS, f"ms, n={c.runs} {counts_tag(run)}"], rows,
                   align="l" + "r" * len(STAT_KEYS), indent=2).split("\n")
    if fig.infer_only:
        lines.append("  * infer alone, back to back on a seeded random input tensor (how litert-benchmark and "
                     "benchmark_app time it); the rows above are the pipeline, frame by frame")
    fps, mem = fig.fps, fig.memory
    lines.append(f"  FPS {fps.from_mean_total:.1f} (1 / mean pipeline total) · "
                 f"{fps.frames_per_wall_second:.1f} ({c.runs} frames / {c.timed_wall_s:.3f} s wall) "
                 f"{counts_tag(run)}")
    if fps.overlapped:
        o = fps.overlapped
        lines.append(f"  FPS overlapped {o.fps:.1f} (edgevision run --overlap: the engine in its own thread; "
                     f"{o.frames} frames, median infer {o.infer_median_ms:.3f} ms, fps x median infer "
                     f"{o.fps_x_median_infer:.3f})")
    grew = (mem.rss_after_load_mb or 0) - (mem.rss_before_load_mb or 0)
    lines.append(f"  memory: peak RSS {mem.peak_rss_mb} MB (ru_maxrss, whole process) · RSS {mem.rss_end_mb} MB "
                 f"at end · load added {grew:.1f} MB")
    lines.append("  " + _device_line(run.device_state))
    la = run.load_average_1min
    if la:
        lines.append(f"  load average (1 min) {la[0]} -> {la[-1]}")
    if run.compare:
        lines += compare_lines(run.compare)
    if run.profile:
        from .profile import profile_lines

        lines += profile_lines(run.profile)
    lines += [f"  warning: {w}" for w in run.warnings]
    lines += [f"  note: {n}" for n in run.device_state.get("notes", [])]
    return lines


def compare_lines(cmp: Mapping[str, Any]) -> list[str]:
    """The lines of a run's ``compare`` section: the engine tool's median beside ours, or why there is none."""
    if "error" in cmp or "note" in cmp:
        return [f"  compare: {cmp.get('error') or cmp['note']}"]
    e, k = cmp["engine"], cmp["rounds"]
    lines = [f"  compare: edgevision infer-only median {cmp['ours_infer_median_ms']:.3f} ms vs {e['tool']} median "
             f"{e['median_ms']:.3f} ms -> ratio {cmp['ratio']:.3f} (edgevision / {e['tool']}, median of the "
             f"per-round ratios; pooled {cmp['ratio_pooled']:.3f}) "
             f"[same model, threads={e['threads']}, {e['runs']} runs + {e['warmup']} warm-up per run; {k} tool "
             f"run{'s' if k > 1 else ''} alternated with {k + 1} edgevision phases]",
             "    per round (tool vs the edgevision phases before and after it): "
             + ", ".join(f"{r:.3f}" for r in cmp["round_ratios"]),
             f"    {e['tool']} times: {e['what_it_times']}; edgevision times the wall-clock of backend.infer()",
             f"    command: {' '.join(e['command'])}"]
    if e.get("load_config"):
        lines.append(f"    config.json: {e['load_config']}")
    return lines


def render_matrix(report: BenchReport | Mapping[str, Any]) -> list[str]:
    """One row per target: format, precision, size, fidelity, infer/total p50 and p95, FPS, runtime or error.

    >>> render_matrix({"runs": [], "skipped": []})[0].split()[:3]
    ['target', 'format', 'precision']
    """
    from ..cli.console import table

    report = as_report(report)
    overlapped = any(r.fps and r.fps.overlapped for r in report.runs)
    head = ["target", "format", "precision", "size", "fidelity", "infer-only", "infer p50", "infer p95", "total p50",
            "total p95", "FPS", *(["FPS ovl"] if overlapped else []), "runtime"]
    rows = []
    for run in report.runs:
        m = run.model
        row = [run.label, str(m.format or "-"), str(m.precision or "-"), fmt_size(m.size_bytes),
               fmt_fidelity(m.fidelity)[:35]]
        if run.ok:
            fig = run.measured()
            inf, tot, ovl = fig.stages["infer"], fig.stages["total"], fig.fps.overlapped
            row += [f"{fig.infer_only.summary.median:.2f}", f"{inf.median:.2f}", f"{inf.p95:.2f}",
                    f"{tot.median:.2f}", f"{tot.p95:.2f}", f"{fig.fps.from_mean_total:.1f}",
                    *([f"{ovl.fps:.1f}" if ovl else "-"] if overlapped else []), runtime_line(run.runtime)]
        else:  # the error in the last column: the figures' columns keep their width
            e = run.error
            row += [""] * (len(head) - len(row) - 1) + [f"error: {e.type if e else '?'}: {e.message if e else '?'}"]
        rows.append(row)
    lines = table(head, rows, align="lllrl" + "r" * (len(head) - 6) + "l").split("\n")
    lines += [f"skipped {s.target} ({s.format}): {s.reason}" for s in report.skipped]
    ok = [r for r in report.runs if r.ok and r.counts]
    if ok:
        c = ok[0].measured().counts
        count = c.runs if c.requested_duration_s is None else "timed"
        lines.append(f"[latency in ms; {c.warmup} warm-up + {count} runs per target and phase; "
                     f"infer-only = median back to back on a random tensor; infer, total ="
                     f" the pipeline; FPS = 1 / mean total"
                     + ("; FPS ovl = through an overlapped stream, as run --overlap" if overlapped else "")
                     + "; threads per row in the runtime column]")
    return lines


def render_text(report: BenchReport | Mapping[str, Any]) -> str:
    """The whole terminal report.

    >>> print(render_text(bench_matrix("bundle/")))  # doctest: +SKIP
    """
    report = as_report(report)
    host = report.host
    lines = []
    if host is not None:
        versions = ", ".join(f"{k} {v}" for k, v in host.versions.items())
        lines += [f"edgevision bench · {host.cpu} ({host.machine}, {host.cores_usable} cores usable) · "
                  f"{host.system}", f"versions: {versions}", ""]
    for run in report.runs:
        lines += render_run(run) + [""]
    if len(report.runs) > 1 or report.skipped:
        lines += render_matrix(report)
    return "\n".join(lines).rstrip() + "\n"
