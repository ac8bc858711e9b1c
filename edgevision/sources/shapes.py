"""Seeded "shapes" scenes: circles, squares and triangles on a lit background, with exact ground truth.

The ``synthetic://`` source draws its frames with ``shapes_scene``; the workstation's
data-set generator (``edgevision.converters.datasets``) builds its textured task data
sets on it. Numpy only.

Example:
    >>> scene = shapes_scene(np.random.default_rng(0), (640, 480), n_shapes=3)
    >>> scene.image.shape, scene.mask.shape, len(scene.boxes)
    ((480, 640, 3), (480, 640), 3)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHAPE_LABELS = ("circle", "square", "triangle")  # class ids 0, 1, 2; mask uses id + 1 (0 = background)


@dataclass
class Scene:
    image: np.ndarray  # HxWx3 uint8 RGB
    boxes: np.ndarray  # (n, 4) float32 xyxy, source pixels
    classes: np.ndarray  # (n,) int64 in SHAPE_LABELS
    mask: np.ndarray  # HxW uint8: 0 background, class id + 1 inside a shape (later shapes on top)


def _shape_mask(kind: int, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    if kind == 0:
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    if kind == 1:
        return (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
    # Upward triangle with apex (cx, cy - r) and base y = cy + r, half-width r at the base.
    t = (yy - (cy - r)) / (2 * r)
    return (t >= 0) & (t <= 1) & (np.abs(xx - cx) <= t * r)


def shapes_scene(rng: np.random.Generator, size: tuple[int, int], *, n_shapes: int = 3,
                 min_radius: float = 0.06, max_radius: float = 0.16, overlap: bool = False) -> Scene:
    """One scene of ``size`` (w, h) with ``n_shapes`` shapes; radii as fractions of the shorter side."""
    w, h = size
    base = rng.integers(30, 90, size=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    ramp = (xx / w * rng.uniform(-40, 40) + yy / h * rng.uniform(-40, 40))[..., None]
    image = np.clip(base + ramp + rng.normal(0, 6, (h, w, 3)), 0, 255)
    mask = np.zeros((h, w), np.uint8)
    boxes: list[list[float]] = []
    classes: list[int] = []
    short = min(w, h)
    for _ in range(50 * n_shapes):
        if len(boxes) == n_shapes:
            break
        kind = int(rng.integers(0, len(SHAPE_LABELS)))
        r = float(rng.uniform(min_radius, max_radius) * short)
        cx, cy = float(rng.uniform(r + 1, w - r - 1)), float(rng.uniform(r + 1, h - r - 1))
        box = np.array([cx - r, cy - r, cx + r, cy + r], np.float32)
        if not overlap and boxes:
            b = np.asarray(boxes)
            ix = np.minimum(b[:, 2], box[2]) - np.maximum(b[:, 0], box[0])
            iy = np.minimum(b[:, 3], box[3]) - np.maximum(b[:, 1], box[1])
            if ((ix > -4) & (iy > -4)).any():
                continue
        inside = _shape_mask(kind, xx, yy, cx, cy, r)
        colour = rng.integers(140, 256, size=3) * rng.permutation([1.0, 0.6, 0.3])
        image[inside] = colour + rng.normal(0, 4, (int(inside.sum()), 3))
        mask[inside] = kind + 1
        ys, xs = np.nonzero(inside)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        classes.append(kind)
    return Scene(np.clip(image, 0, 255).astype(np.uint8), np.asarray(boxes, np.float32).reshape(-1, 4),
                 np.asarray(classes, np.int64), mask)
