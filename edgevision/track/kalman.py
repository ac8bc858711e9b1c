"""The constant-velocity Kalman filter ByteTrack uses, over every track at once (numpy, batched).

State per track: (cx, cy, a, h, vx, vy, va, vh): box centre, aspect ratio w/h, height, and
their velocities. Noise scales with the box height (std weights 1/20 for position, 1/160
for velocity, as in ByteTrack's ``KalmanFilter``).

ByteTrack's motion, process noise, measurement noise and initial covariance are all
diagonal per coordinate, so each coordinate and its velocity evolve on their own: the
8x8 covariance is four independent 2x2 blocks, and the 4x4 innovation covariance is
diagonal. Kept as those blocks (``cov`` is (n, 3, 4): position variance, covariance
with the velocity, velocity variance, per coordinate), predict and update are a few
element-wise operations, with the very numbers of the 8x8 matrix form.

Example:
    >>> mean, cov = initiate(np.array([[50.0, 40.0, 0.5, 20.0]]))
    >>> mean, cov = predict(mean, cov)
    >>> mean, cov = update(mean, cov, np.array([[52.0, 40.0, 0.5, 20.0]]))
    >>> bool(50.0 < mean[0, 0] < 52.0), cov.shape
    (True, (1, 3, 4))
"""
from __future__ import annotations

import numpy as np

POSITION, VELOCITY = 1.0 / 20, 1.0 / 160  # ByteTrack's std weights, relative to the box height
# Standard deviations per coordinate (cx, cy, a, h) as height * weight + constant (the aspect's does not scale).
_SCALED, _FIXED = np.array([1.0, 1.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0, 0.0])


def _variance(h: np.ndarray, weight: float, fixed: float) -> np.ndarray:
    std = h[:, None] * (weight * _SCALED) + fixed * _FIXED
    return std * std


def xyxy_to_xyah(xyxy: np.ndarray) -> np.ndarray:
    """(n, 4) corners -> (n, 4) centre x, centre y, aspect w/h, height.

    Example:
        >>> xyxy_to_xyah(np.array([[0.0, 0.0, 10.0, 20.0]])).tolist()
        [[5.0, 10.0, 0.5, 20.0]]
    """
    b = np.asarray(xyxy, np.float64)
    out = np.empty((len(b), 4))
    out[:, :2] = (b[:, :2] + b[:, 2:]) / 2
    out[:, 3] = np.maximum(b[:, 3] - b[:, 1], 1e-6)
    out[:, 2] = (b[:, 2] - b[:, 0]) / out[:, 3]
    return out


def xyah_to_xyxy(xyah: np.ndarray) -> np.ndarray:
    """(n, >=4) centre x, centre y, aspect, height (the first four of a state) -> (n, 4) corners.

    Example:
        >>> xyah_to_xyxy(np.array([[5.0, 10.0, 0.5, 20.0]])).tolist()
        [[0.0, 0.0, 10.0, 20.0]]
    """
    s = np.asarray(xyah, np.float64)
    half = np.empty((len(s), 2))
    half[:, 1] = s[:, 3] / 2
    half[:, 0] = s[:, 2] * half[:, 1]
    return np.concatenate([s[:, :2] - half, s[:, :2] + half], axis=1)


def initiate(measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(means (n, 8), covariance blocks (n, 3, 4)) of new tracks from their first boxes (n, 4) in xyah."""
    z = np.asarray(measurements, np.float64)
    mean = np.zeros((len(z), 8))
    mean[:, :4] = z
    cov = np.zeros((len(z), 3, 4))
    cov[:, 0] = _variance(z[:, 3], 2 * POSITION, 1e-2)
    cov[:, 2] = _variance(z[:, 3], 10 * VELOCITY, 1e-5)
    return mean, cov


def predict(mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One frame ahead for every track: x += v; P = F P F^T + Q, block by block."""
    h = mean[:, 3]
    a, b, c = cov[:, 0], cov[:, 1], cov[:, 2]
    out = np.empty_like(cov)
    out[:, 0] = a + 2 * b + c + _variance(h, POSITION, 1e-2)
    out[:, 1] = b + c
    out[:, 2] = c + _variance(h, VELOCITY, 1e-5)
    mean = mean.copy()
    mean[:, :4] += mean[:, 4:]
    return mean, out


def update(mean: np.ndarray, cov: np.ndarray, measurements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct every track with its matched box (n, 4) in xyah (the measurement is the first four states)."""
    z = np.asarray(measurements, np.float64)
    a, b, c = cov[:, 0], cov[:, 1], cov[:, 2]
    s = a + _variance(mean[:, 3], POSITION, 1e-1)  # the innovation covariance, diagonal
    k_pos, k_vel = a / s, b / s  # the Kalman gain, per coordinate
    innovation = z - mean[:, :4]
    mean = mean.copy()
    mean[:, :4] += k_pos * innovation
    mean[:, 4:] += k_vel * innovation
    out = np.empty_like(cov)
    out[:, 0] = a - k_pos * a  # P - K S K^T
    out[:, 1] = b - k_pos * b
    out[:, 2] = c - k_vel * b
    return mean, out
