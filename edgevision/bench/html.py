"""The HTML report: one self-contained file with the tables and the plots (inline SVG, inline CSS, no script).

Nothing is fetched: no CDN, no font, no image file, so it opens offline and can
be mailed or attached to a ticket as is.

Example:
    >>> from edgevision.bench.export import write_atomic
    >>> write_atomic("bench.html", render_html(report))   # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from . import svg
from .report import BenchReport, BenchRun, MeasuredRun, as_report, as_run
from .stats import STAT_KEYS
from .text import STAGE_ORDER, counts_tag, fmt_fidelity, fmt_size, runtime_line

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1400px;
 padding:0 16px;color:#222}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 4px}
table{border-collapse:collapse;margin:6px 0 10px} th,td{padding:3px 9px;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6} td.l,th.l{text-align:left}
.meta{color:#555} .warn{background:#fff4e5;border-left:4px solid #f0a030;padding:6px 10px;margin:6px 0}
.err{color:#b00020} .grid{display:flex;flex-wrap:wrap;gap:12px}
figure.chart-box{margin:0;border:1px solid #e3e3e3;border-radius:4px;padding:4px;background:#fff}
svg.chart{display:block} svg.chart text{font-size:11px;fill:#333} svg.chart text.t{font-size:13px;font-weight:600}
code{background:#f3f3f3;padding:1px 4px;border-radius:3px}
"""


TITLES = {"infer_only": "infer only (back to back, first phase)"}


def _error(run: BenchRun) -> str:
    """A failed row's error in one line: ``Type: message``."""
    e = run.error
    return f"{e.type}: {e.message}" if e else "unknown error"


def _figure(chart: str, name: str) -> str:
    return f'<figure class="chart-box" data-chart="{escape(name)}">{chart}</figure>'


def _table(head: list[str], rows: list[list[Any]], left: int = 1) -> str:
    """An HTML table; a cell may be (html, colspan) to span the columns after it (an error, a skip reason)."""
    th = "".join(f'<th class="{"l" if i < left else ""}">{escape(h)}</th>' for i, h in enumerate(head))
    body = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            html, span = c if isinstance(c, tuple) else (c, 1)
            cells.append(f'<td class="{"l" if i < left or span > 1 else ""}" colspan="{span}">{html}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{th}</tr>{''.join(body)}</table>"


def _matrix(report: BenchReport | Mapping[str, Any]) -> str:
    report = as_report(report)
    overlapped = any(r.fps and r.fps.overlapped for r in report.runs)
    rows = []
    for run in report.runs:
        m = run.model
        cells: list[Any] = [escape(run.label), escape(str(m.format or "-")), escape(str(m.precision or "-")),
                 fmt_size(m.size_bytes), escape(fmt_fidelity(m.fidelity))]
        if run.ok:
            fig = run.measured()
            inf, tot, ovl = fig.stages["infer"], fig.stages["total"], fig.fps.overlapped
            cells += [f"{fig.infer_only.summary.median:.3f}", f"{inf.median:.3f}", f"{inf.p95:.3f}",
                      f"{tot.median:.3f}", f"{tot.p95:.3f}", f"{fig.fps.from_mean_total:.1f}",
                      *([f"{ovl.fps:.1f}" if ovl else ""] if overlapped else []),
                      escape(runtime_line(run.runtime))]
        else:
            cells.append((f'<span class="err">error: {escape(_error(run))}</span>', 7 + overlapped))
        rows.append(cells)
    for s in report.skipped:
        rows.append([escape(s.target), escape(str(s.format)), "", "", "",
                     (f'<span class="meta">skipped: {escape(s.reason)}</span>', 7 + overlapped)])
    head = ["target", "format", "precision", "size", "fidelity", "infer-only p50 ms", "infer p50 ms", "infer p95 ms",
            "total p50 ms",
            "total p95 ms", "FPS", *(["FPS overlapped"] if overlapped else []), "runtime"]
    table = _table(head, rows, left=5)
    runs = report.runs  # failed rows keep their place (drawn as "failed")
    labels = [r.label for r in runs]
    charts = []
    for stage in ("infer", "total"):
        series = {f"{stage} p50": [r.stages[stage].median if r.ok else None for r in runs],
                  f"{stage} p95": [r.stages[stage].p95 if r.ok else None for r in runs]}
        if stage == "infer":
            series["infer-only p50"] = [r.measured().infer_only.summary.median if r.ok else None for r in runs]
        charts.append(_figure(svg.bars(labels, series, title=f"{stage} latency per target (ms)"), f"bars-{stage}"))
    return table + '<div class="grid">' + "".join(charts) + "</div>"


def _stage_table(run: MeasuredRun) -> str:
    rows = [[stage] + [f"{getattr(run.stages[stage], k):.3f}" for k in STAT_KEYS] + [str(run.stages[stage].n)]
            for stage in STAGE_ORDER if stage in run.stages]
    if run.infer_only:
        only = run.infer_only.summary
        rows.append(["infer only*"] + [f"{getattr(only, k):.3f}" for k in STAT_KEYS] + [str(only.n)])
    return _table(["stage (ms)", *STAT_KEYS, "n"], rows) + (
        '<p class="meta">* infer alone, back to back on a seeded random input tensor (how litert-benchmark and '
        "benchmark_app time it); the other rows are the pipeline, frame by frame.</p>")


def _device(run: BenchRun) -> str:
    state = run.device_state
    rows = []
    for key, label in (("temperature_c", "temperature °C"), ("cpu_freq_mhz", "CPU clock MHz"),
                       ("power_mw", "power mW"), ("devfreq_mhz", "devfreq clock MHz")):
        value = state.get(key, "not sampled")
        if isinstance(value, dict):
            for name, span in value.items():
                rows.append([escape(f"{label}: {name}"), f"{span['min']}", f"{span['mean']}", f"{span['max']}"])
        else:
            rows.append([escape(label), escape(str(value)), "", ""])
    thr = state.get("throttling", "not sampled")
    thr_text = (f"during run: {', '.join(thr['during_run']) or 'none'}; since boot at end: "
                f"{', '.join(thr['since_boot_at_end']) or 'none'} ({thr['source']}, {thr['start']} -> {thr['end']})"
                if isinstance(thr, dict) else str(thr))
    rows += [["CPU governor", escape(str(state.get("governor", "not sampled"))), "", ""],
             ["Raspberry Pi throttling", escape(thr_text), "", ""]]
    html = _table(["device state", "min", "mean", "max"], rows)
    raw = state.get("raw") or []
    charts = []
    for key, title in (("temperature_c", "temperature (°C)"), ("cpu_freq_mhz", "CPU clock (MHz)"),
                       ("power_mw", "power (mW)")):
        series: dict[str, tuple[list, list]] = {}
        for s in raw:
            for name, v in (s.get(key) or {}).items():
                series.setdefault(name, ([], []))
                series[name][0].append(s["t"])
                series[name][1].append(v)
        if series and len(raw) > 1:
            charts.append(_figure(svg.lines(series, title=title, ylabel=title), f"device-{key}-{run.label}"))
    return html + ('<div class="grid">' + "".join(charts) + "</div>" if charts else "")


def _compare(cmp: Mapping[str, Any]) -> str:
    if "error" in cmp or "note" in cmp:
        return (f'<p class="{"err" if "error" in cmp else "meta"}">compare: '
                f'{escape(cmp.get("error") or cmp["note"])}</p>')
    e = cmp["engine"]
    return (f'<p>compare: edgevision infer-only median <b>{cmp["ours_infer_median_ms"]:.3f} ms</b> vs '
            f'{escape(e["tool"])} median <b>{e["median_ms"]:.3f} ms</b> → '
            f'ratio <b>{cmp["ratio"]:.3f}</b> (median of the per-round ratios; pooled {cmp["ratio_pooled"]:.3f})'
            f' [threads={e["threads"]}, {e["runs"]} runs; {cmp["rounds"]} alternating rounds, per round: '
            f'{escape(", ".join(f"{r:.3f}" for r in cmp["round_ratios"]))}]<br>'
            f'{escape(e["tool"])} times: {escape(e["what_it_times"])}<br>'
            f'<code>{escape(" ".join(e["command"]))}</code>'
            + (f'<br>config.json: <code>{escape(str(e["load_config"]))}</code>' if e.get("load_config")
               else "") + "</p>")


def _run(run: BenchRun | Mapping[str, Any], index: int) -> str:
    run = as_run(run)
    label = escape(run.label)
    if not run.ok:
        return (f'<section class="run" id="run-{index}"><h2>{label}</h2>'
                f'<p class="err">failed: {escape(_error(run))}</p></section>')
    fig = run.measured()
    m, inp, c, start, fps = run.model, fig.input, fig.counts, fig.startup, fig.fps
    parts = [
        f'<section class="run" id="run-{index}"><h2>{label}</h2>',
        f'<p><code>{escape(Path(str(m.file)).name)}</code> · {escape(str(m.format))}, {escape(str(m.precision))},'
        f' {fmt_size(m.size_bytes)} · {escape(runtime_line(run.runtime))}</p>',
        f'<p class="meta">input {escape(str(inp.to_dict()["shape"]))} {escape(str(inp.dtype))} · '
        f'<b>{escape(inp.kind.value)} input</b>: {escape(inp.description)}<br>init {start.init_ms:.1f} ms '
        f'(load + compile) · first inference {start.first_predict_ms:.2f} ms (infer {start.first_infer_ms:.2f} ms)'
        f' · {c.warmup} warm-up + {c.runs} timed runs in {c.timed_wall_s:.2f} s · {escape(counts_tag(run))}'
        f'<br>FPS {fps.from_mean_total:.1f} (1 / mean total) · {fps.frames_per_wall_second:.1f} '
        f'(frames / wall time)'
        + (f' · <b>{fps.overlapped.fps:.1f} overlapped</b> (edgevision run --overlap)' if fps.overlapped else "")
        + f' · peak RSS {fig.memory.peak_rss_mb} MB (whole process)</p>',
        _stage_table(fig),
    ]
    if run.compare:
        parts.append(_compare(run.compare))
    if run.profile:
        from .profile import profile_html

        parts.append(profile_html(run.profile))
    parts += [f'<div class="warn">warning: {escape(w)}</div>' for w in run.warnings]
    samples = run.samples.to_dict() if run.samples else {}
    stages = [s for s in STAGE_ORDER if samples.get(s)]
    if samples.get("infer_only"):
        stages.append("infer_only")
    if stages:
        parts.append("<h3>Latency histograms</h3><div class=\"grid\">" + "".join(
            _figure(svg.histogram(samples[s], title=f"{TITLES.get(s, s)} latency", color=svg.STAGE_COLORS[s]),
                    f"hist-{s}-{index}")
            for s in stages) + "</div>")
        parts.append("<h3>Latency over time</h3><div class=\"grid\">" + "".join(
            _figure(svg.timeline(samples["infer_only_t_s" if s == "infer_only" else "t_s"], samples[s],
                                 title=f"{TITLES.get(s, s)} latency per call", color=svg.STAGE_COLORS[s]),
                    f"time-{s}-{index}") for s in stages) + "</div>")
    parts += ["<h3>Device state</h3>", _device(run), "</section>"]
    return "".join(parts)


def render_html(report: BenchReport | Mapping[str, Any]) -> str:
    """The report as one HTML document (a ``BenchReport``, or its dict form as ``--json`` writes it)."""
    report = as_report(report)
    host = report.host
    versions = ", ".join(f"{k} {v}" for k, v in host.versions.items()) if host else ""
    title = "edgevision bench" + (f" · {Path(report.bundle).name}" if report.bundle else "")
    head = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>')
    parts = [head, f"<h1>{escape(title)}</h1>",
             f'<p class="meta">{escape(report.created or "")} · '
             + (f'{escape(host.cpu)} ({escape(host.machine)}, {host.cores_usable} cores usable) · '
                f'{escape(host.system)}' if host else "")
             + f'<br>{escape(versions)}'
             + (f'<br>command: <code>{escape(" ".join(report.command))}</code>' if report.command else "")
             + "</p>"]
    parts += [f'<div class="warn">warning: {escape(w)}</div>' for w in report.warnings]
    parts += ["<h2>Targets</h2>", _matrix(report)]
    parts += [_run(run, i) for i, run in enumerate(report.runs)]
    parts.append("</body></html>\n")
    return "".join(parts)
