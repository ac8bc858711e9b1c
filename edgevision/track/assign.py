"""The assignment step of tracking: a minimum-cost matching under a cost limit, with ``lap`` (LAPJV).

``lap`` is a small compiled package (2.4 MB, imported in about 50 ms) with wheels for
x86-64 and aarch64, so it fits a Raspberry Pi; it is imported on the first frame
tracked, never with ``edgevision``. Costs above the limit are capped at it, so
leaving a pair unmatched is never worse than matching it, and any such pair the
solver still returns is dropped: the matching ByteTrack's ``cost_limit`` gives.

Example:
    >>> cost = np.array([[0.1, 0.9], [0.95, 0.2], [0.5, 0.5]])
    >>> matches, rows, cols = linear_assignment(cost, 0.8)
    >>> matches.tolist(), rows.tolist(), cols.tolist()
    ([[0, 0], [1, 1]], [2], [])
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BackendUnavailableError

_lap: Any = None


def _solver() -> Any:
    global _lap
    if _lap is None:
        try:
            import lap
        except ModuleNotFoundError:
            raise BackendUnavailableError('expected the lap package for tracking (pip install "edgevision[track]"), '
                                          "got none installed") from None
        _lap = lap
    return _lap


def linear_assignment(cost: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(matches (k, 2) of (row, col), unmatched rows, unmatched cols) of the cheapest matching with costs <= ``limit``."""
    n, m = cost.shape
    if n == 0 or m == 0:
        return np.zeros((0, 2), np.intp), np.arange(n), np.arange(m)
    capped = np.minimum(cost, limit + 1e-6)
    _, x, _ = _solver().lapjv(capped, extend_cost=True)
    rows = np.flatnonzero(x >= 0)
    cols = x[rows].astype(np.intp)
    ok = cost[rows, cols] <= limit
    rows, cols = rows[ok], cols[ok]
    matched_rows = np.zeros(n, bool)
    matched_rows[rows] = True
    matched_cols = np.zeros(m, bool)
    matched_cols[cols] = True
    return np.stack([rows, cols], axis=1), np.flatnonzero(~matched_rows), np.flatnonzero(~matched_cols)
