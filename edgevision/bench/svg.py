"""Small inline SVG charts for the HTML report: histogram, timeline, grouped bars, multi-line.

Plain strings, no library and no script: the report is one file that renders
anywhere, offline. Every chart is an ``<svg class="chart">`` with a ``<title>``.

Example:
    >>> svg = histogram([1.0, 1.2, 1.1, 3.0], title="infer", color="#d62728")
    >>> svg.startswith('<svg class="chart"') and svg.count("<rect") > 2
    True
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

import numpy as np

W, H = 440, 250
LEFT, RIGHT, TOP, BOTTOM = 56, 14, 30, 42
MAX_POINTS = 3000  # a timeline with more frames is drawn from every k-th frame
STAGE_COLORS = {"capture": "#8c6d31", "preprocess": "#1f77b4", "infer": "#d62728", "decode": "#2ca02c",
                "total": "#9467bd", "infer_only": "#ff7f0e"}
SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi].

    >>> nice_ticks(0, 10)
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    """
    if not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = float(next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw))
    start = math.ceil(lo / step - 1e-9) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step + 1e-9) + 1)]


def _label(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


class _Axes:
    """Maps data to pixels and draws the frame, grid, ticks and labels."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + 1

    def x(self, v: float) -> float:
        return LEFT + (v - self.x0) / (self.x1 - self.x0) * (W - LEFT - RIGHT)

    def y(self, v: float) -> float:
        return H - BOTTOM - (v - self.y0) / (self.y1 - self.y0) * (H - TOP - BOTTOM)

    def frame(self, title: str, xlabel: str, ylabel: str, xticks: bool = True) -> list[str]:
        out = [f'<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
               f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
               f'<rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>',
               f'<text x="{W / 2}" y="18" text-anchor="middle" class="t">{escape(title)}</text>']
        for v in nice_ticks(self.y0, self.y1):
            y = self.y(v)
            out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                       f'<text x="{LEFT - 5}" y="{y + 4:.1f}" text-anchor="end">{_label(v)}</text>')
        if xticks:
            for v in nice_ticks(self.x0, self.x1):
                x = self.x(v)
                out.append(f'<line x1="{x:.1f}" y1="{H - BOTTOM}" x2="{x:.1f}" y2="{H - BOTTOM + 4}" stroke="#555"/>'
                           f'<text x="{x:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{_label(v)}</text>')
        out.append(f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#555"/>'
                   f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#555"/>'
                   f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 6}" text-anchor="middle">{escape(xlabel)}</text>'
                   f'<text x="14" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 14 {(TOP + H - BOTTOM) / 2})">{escape(ylabel)}</text>')
        return out


def histogram(values: Sequence[float], *, title: str, color: str, unit: str = "ms") -> str:
    """Histogram of latencies; a long tail (beyond q75 + 3 x IQR, and at least p90) goes into the last bin, said so."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    q25, q75, p90 = (float(x) for x in np.percentile(v, (25, 75, 90)))
    fence = max(q75 + 3 * (q75 - q25), p90)  # Tukey's far-out fence: what lies beyond would squash the rest
    clipped = int((v > fence).sum()) if hi > fence > lo else 0
    if clipped:
        hi = fence
    if hi <= lo:
        pad = max(abs(lo) * 0.01, 1e-3)
        lo, hi = lo - pad, hi + pad
    bins = int(min(40, max(5, math.sqrt(v.size))))
    counts, edges = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    ax = _Axes(lo, hi, 0, float(counts.max()) * 1.1 or 1)
    out = ax.frame(title, f"latency ({unit})", "frames")
    for c, a, b in zip(counts, edges[:-1], edges[1:]):
        if c:
            x0, x1, y = ax.x(a), ax.x(b), ax.y(c)
            out.append(f'<rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
                       f'height="{H - BOTTOM - y:.1f}" fill="{color}"/>')
    med = float(np.median(v))
    if lo <= med <= hi:
        out.append(f'<line x1="{ax.x(med):.1f}" y1="{TOP}" x2="{ax.x(med):.1f}" y2="{H - BOTTOM}" stroke="#222" '
                   f'stroke-dasharray="4 3"/><text x="{ax.x(med) + 3:.1f}" y="{TOP + 10}">median {med:.3g}</text>')
    if clipped:
        out.append(f'<text x="{W - RIGHT}" y="{TOP + 24}" text-anchor="end">'
                   f'{clipped} above {hi:.3g} in the last bin</text>')
    return "".join(out) + "</svg>"


def timeline(t: Sequence[float], values: Sequence[float], *, title: str, color: str, unit: str = "ms") -> str:
    """Latency of each frame against the time it started (seconds into the timed loop)."""
    tv, vv = np.asarray(t, dtype=np.float64), np.asarray(values, dtype=np.float64)
    step = max(1, math.ceil(vv.size / MAX_POINTS))
    tv, vv_drawn = tv[::step], vv[::step]
    ax = _Axes(float(tv.min()), float(tv.max()), 0, float(vv.max()) * 1.05 or 1)
    out = ax.frame(title + (f" (every {step}th frame)" if step > 1 else ""), "time into the timed loop (s)",
                   f"latency ({unit})")
    pts = " ".join(f"{ax.x(a):.1f},{ax.y(b):.1f}" for a, b in zip(tv, vv_drawn))
    out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.2"/>')
    med = float(np.median(vv))
    out.append(f'<line x1="{LEFT}" y1="{ax.y(med):.1f}" x2="{W - RIGHT}" y2="{ax.y(med):.1f}" stroke="#222" '
               f'stroke-dasharray="4 3"/>')
    return "".join(out) + "</svg>"


def bars(categories: Sequence[str], series: Mapping[str, Sequence[float | None]], *, title: str,
         unit: str = "ms") -> str:
    """Grouped bars: one group per category (target), one bar per series (e.g. p50, p95); None: no bar."""
    values = [v for vals in series.values() for v in vals if v is not None]
    ax = _Axes(0, max(len(categories), 1), 0, (max(values) * 1.25) if values else 1)
    out = ax.frame(title, "", unit, xticks=False)
    group = (W - LEFT - RIGHT) / max(len(categories), 1)
    width = group * 0.8 / max(len(series), 1)
    for i, cat in enumerate(categories):
        gx = LEFT + i * group + group * 0.1
        for j, (name, vals) in enumerate(series.items()):
            v = vals[i]
            if v is None:
                continue
            y = ax.y(v)
            out.append(f'<rect x="{gx + j * width:.1f}" y="{y:.1f}" width="{max(width - 2, 1):.1f}" '
                       f'height="{H - BOTTOM - y:.1f}" fill="{SERIES_COLORS[j % len(SERIES_COLORS)]}">'
                       f'<title>{escape(cat)} {escape(name)}: {v:.3f} {escape(unit)}</title></rect>')
        if all(vals[i] is None for vals in series.values()):
            out.append(f'<text x="{gx + group * 0.4:.1f}" y="{H - BOTTOM - 6}" text-anchor="middle">failed</text>')
        out.append(f'<text x="{gx + group * 0.4:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{escape(cat)}</text>')
    out += _legend(list(series))
    return "".join(out) + "</svg>"


def lines(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str, ylabel: str) -> str:
    """Several (t, value) series on one set of axes, e.g. temperatures or clocks during the run."""
    ts = [float(x) for t, _ in series.values() for x in t]
    vs = [float(x) for _, v in series.values() for x in v]
    lo, hi = min(vs), max(vs)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.05, 1.0)
    ax = _Axes(min(ts), max(ts), lo - pad, hi + pad)
    out = ax.frame(title, "time since load started (s)", ylabel)
    for j, (t, v) in enumerate(series.values()):
        pts = " ".join(f"{ax.x(a):.1f},{ax.y(b):.1f}" for a, b in zip(t, v))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{SERIES_COLORS[j % len(SERIES_COLORS)]}" '
                   f'stroke-width="1.5"/>')
    out += _legend(list(series))
    return "".join(out) + "</svg>"


def _legend(names: list[str]) -> list[str]:
    out, x = [], LEFT + 6
    for j, name in enumerate(names[:6]):
        color = SERIES_COLORS[j % len(SERIES_COLORS)]
        out.append(f'<rect x="{x}" y="{TOP + 2}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14}" y="{TOP + 11}">{escape(name)}</text>')
        x += 20 + 7 * len(name)
    return out
