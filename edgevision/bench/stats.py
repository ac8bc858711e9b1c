"""Latency statistics: the summary every report shows, and how FPS is computed from it.

Percentiles interpolate linearly between order statistics (numpy's default, and
what ``litert-benchmark`` computes), so our median and a tool's median of the
same samples agree. ``std`` is the sample standard deviation (n - 1).

Example:
    >>> s = summarize([0.010, 0.012, 0.011, 0.030])
    >>> (s.n, round(s.median, 3), round(s.max, 3))
    (4, 11.5, 30.0)
    >>> fps_figures([0.01] * 50, wall_seconds=0.55)["from_mean_total"]
    100.0
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

STAT_KEYS = ("mean", "std", "min", "median", "p90", "p95", "p99", "max")


@dataclass(frozen=True, slots=True)
class Summary:
    """Milliseconds: mean, std, min, median, p90, p95, p99, max over ``n`` samples."""

    n: int
    mean: float
    std: float
    min: float
    median: float
    p90: float
    p95: float
    p99: float
    max: float

    def to_dict(self, digits: int = 4) -> dict[str, Any]:
        """Plain data, rounded (the raw samples travel separately)."""
        return {k: (v if k == "n" else round(v, digits)) for k, v in asdict(self).items()}

    def rounded(self, digits: int = 4) -> Summary:
        """The same summary with every figure rounded as ``to_dict`` rounds it (what a report holds).

        >>> summarize([0.001, 0.002, 0.002]).rounded().mean
        1.6667
        """
        return Summary(**self.to_dict(digits))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """The summary of a ``to_dict`` (other keys beside it, e.g. an infer-only section's, are ignored).

        >>> Summary.from_dict({"n": 2, "mean": 1.5, "std": 0.7, "min": 1.0, "median": 1.5, "p90": 1.9,
        ...                    "p95": 1.95, "p99": 1.99, "max": 2.0, "warmup": 10}).median
        1.5
        """
        return cls(n=int(data["n"]), **{k: float(data[k]) for k in STAT_KEYS})


def summarize(seconds: Sequence[float]) -> Summary:
    """Summary in milliseconds of per-frame durations given in seconds.

    >>> summarize([0.001, 0.002, 0.003]).mean
    2.0
    """
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        raise ValueError("expected at least one sample to summarise, got none")
    p90, p95, p99 = np.percentile(ms, (90, 95, 99))
    return Summary(
        n=int(ms.size), mean=float(ms.mean()), std=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
        min=float(ms.min()), median=float(np.median(ms)), p90=float(p90), p95=float(p95), p99=float(p99),
        max=float(ms.max()),
    )


def fps_figures(total_seconds: Sequence[float], *, wall_seconds: float) -> dict[str, Any]:
    """Frames per second two ways, with how each is computed.

    ``from_mean_total`` is 1 / mean(end-to-end latency per frame): the rate one
    frame after another would reach with nothing else running. ``frames_per_wall_second``
    is timed frames / wall time of the timed loop, which also counts the loop's own
    bookkeeping between frames.

    >>> fps_figures([0.02, 0.02], wall_seconds=0.05)["frames_per_wall_second"]
    40.0
    """
    total = np.asarray(total_seconds, dtype=np.float64)
    mean = float(total.mean()) if total.size else 0.0
    return {
        "from_mean_total": round(1.0 / mean, 3) if mean > 0 else None,
        "frames_per_wall_second": round(total.size / wall_seconds, 3) if wall_seconds > 0 else None,
        "how": "from_mean_total = 1 / mean(total latency per frame); "
               "frames_per_wall_second = timed frames / wall time of the timed loop",
    }


def round_significant(value: float | None, digits: int = 6) -> float | None:
    """``value`` to ``digits`` significant digits: a ratio of small figures keeps its precision where a fixed
    number of decimals would not (0.011542 to 4 decimals is 0.0115, 0.4 % off).

    >>> round_significant(0.0115420652), round_significant(135.789 * 0.085 / 1000), round_significant(None)
    (0.0115421, 0.0115421, None)
    """
    return None if value is None else float(f"{value:.{digits}g}")
