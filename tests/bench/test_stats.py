"""edgevision/bench/stats.py: the latency summary and FPS, checked against numpy on small arrays."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.bench.stats import STAT_KEYS, fps_figures, summarize


def test_summary_matches_numpy_in_milliseconds():
    rng = np.random.default_rng(0)
    seconds = rng.gamma(4.0, 0.001, 501)
    s = summarize(seconds)
    ms = seconds * 1e3
    assert s.n == 501
    assert s.mean == pytest.approx(ms.mean())
    assert s.std == pytest.approx(ms.std(ddof=1))  # the sample std, as statistics.stdev and litert-benchmark
    assert s.median == pytest.approx(np.median(ms))
    for key, q in (("p90", 90), ("p95", 95), ("p99", 99)):
        assert getattr(s, key) == pytest.approx(np.percentile(ms, q))
    assert (s.min, s.max) == (pytest.approx(ms.min()), pytest.approx(ms.max()))
    assert s.min <= s.median <= s.p90 <= s.p95 <= s.p99 <= s.max
    assert list(s.to_dict()) == ["n", *STAT_KEYS]


def test_one_sample_and_no_sample():
    s = summarize([0.002])
    assert (s.n, s.std, s.median, s.p99) == (1, 0.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="expected at least one sample"):
        summarize([])


def test_fps_two_ways_and_how():
    fps = fps_figures([0.01, 0.03], wall_seconds=0.05)
    assert fps["from_mean_total"] == 50.0  # 1 / 20 ms
    assert fps["frames_per_wall_second"] == 40.0  # 2 frames / 50 ms
    assert "1 / mean" in fps["how"] and "wall time" in fps["how"]
    assert fps_figures([], wall_seconds=0.0)["from_mean_total"] is None
