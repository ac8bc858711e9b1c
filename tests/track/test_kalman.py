"""The batched Kalman filter against ByteTrack's own 8x8 matrix form, written out here."""
from __future__ import annotations

import numpy as np

from edgevision.track import kalman

P, V = 1 / 20, 1 / 160
F = np.eye(8)
F[:4, 4:] = np.eye(4)
H = np.eye(4, 8)


def _init(z):
    h = z[3]
    return np.r_[z, np.zeros(4)], np.diag(np.square([2 * P * h, 2 * P * h, 1e-2, 2 * P * h,
                                                     10 * V * h, 10 * V * h, 1e-5, 10 * V * h]))


def _predict(m, c):
    h = m[3]
    return F @ m, F @ c @ F.T + np.diag(np.square([P * h, P * h, 1e-2, P * h, V * h, V * h, 1e-5, V * h]))


def _update(m, c, z):
    h = m[3]
    s = H @ c @ H.T + np.diag(np.square([P * h, P * h, 1e-1, P * h]))
    k = c @ H.T @ np.linalg.inv(s)
    return m + k @ (z - H @ m), c - k @ s @ k.T


def test_the_blocks_give_the_numbers_of_the_full_matrix_form():
    rng = np.random.default_rng(0)
    starts = np.array([[50.0, 40.0, 0.5, 20.0], [300.0, 200.0, 1.2, 80.0]])
    full = [_init(z) for z in starts]
    mean, cov = kalman.initiate(starts)
    for step in range(30):
        full = [_predict(m, c) for m, c in full]
        mean, cov = kalman.predict(mean, cov)
        if step % 7 == 6:  # a few frames without a measurement, as for a lost track
            continue
        z = starts + [[step, 0.5 * step, 0, 0.1 * step]] + rng.normal(0, 1, starts.shape) * [1, 1, 0.01, 0.5]
        full = [_update(m, c, zi) for (m, c), zi in zip(full, z)]
        mean, cov = kalman.update(mean, cov, z)
    for i, (m, c) in enumerate(full):
        np.testing.assert_allclose(mean[i], m, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(cov[i, 0], np.diag(c)[:4], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(cov[i, 1], np.diag(c, 4), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(cov[i, 2], np.diag(c)[4:], rtol=1e-9, atol=1e-12)
        off = c.copy()  # everything outside the four 2x2 blocks stays zero
        for j in range(4):
            off[j, j] = off[j + 4, j + 4] = off[j, j + 4] = off[j + 4, j] = 0
        assert np.abs(off).max() < 1e-12


def test_box_conversions_round_trip():
    boxes = np.array([[10.0, 20.0, 50.0, 100.0], [0.0, 0.0, 1.0, 3.0]])
    np.testing.assert_allclose(kalman.xyah_to_xyxy(kalman.xyxy_to_xyah(boxes)), boxes)
