"""Seeded "shapes" data sets for the workstation: circles, squares and triangles on a textured background.

Numpy only (OpenCV only to write PNGs). It gives images with exact ground truth
(boxes, classes, a class mask) for tests, demos, calibration and the reference
models, so nothing is downloaded. Scenes are drawn by the runtime's
``edgevision.sources.shapes.shapes_scene`` (the ``synthetic://`` source's pattern).

``shapes_dataset(task, n, size, seed)`` draws a whole task dataset, deterministically from the seed, with a textured, lit and
noisy background (so int8 calibration on it is meaningful), and
``write_shapes_dataset`` writes it as files for the converter's calibration and
validation readers:

- ``NNNNN.png``: the image, 8-bit RGB (stored by OpenCV in BGR byte order, as
  every PNG reader expects);
- classification: ``NNNNN.json`` = ``{"class": "circle"}``;
- detection: ``NNNNN.json`` = ``{"boxes": [[x0, y0, x1, y1], ...], "labels": ["circle", ...]}``,
  boxes in source pixels, x1/y1 exclusive (the tight extent of the shape's pixels);
- segmentation: ``NNNNN.mask.png``, 8-bit single channel, 0 = background and
  class id + 1 inside a shape (class ids index ``SHAPE_LABELS``).

A reader that globs ``*.png`` must skip ``*.mask.png``.

Example:
    >>> data = shapes_dataset("detection", 4, (128, 96), seed=0)
    >>> data.images.shape, data.masks.shape, len(data.boxes)
    ((4, 96, 128, 3), (4, 96, 128), 4)
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..sources.shapes import SHAPE_LABELS, Scene, shapes_scene

__all__ = [
    "SHAPE_LABELS",
    "TASK_SCENES",
    "Scene",
    "ShapesDataset",
    "shapes_dataset",
    "shapes_scene",
    "textured_scene",
    "write_shapes_dataset",
]

# -- task datasets -------------------------------------------------------------------------------
DATASET_TASKS = ("classification", "detection", "segmentation")
# Per task: how many shapes a scene holds (inclusive range) and their radii, as fractions of the
# shorter side. One large shape for classification; several smaller, separated ones otherwise.
TASK_SCENES: dict[str, dict] = {
    "classification": {"n_shapes": (1, 1), "min_radius": 0.18, "max_radius": 0.38},
    "detection": {"n_shapes": (1, 4), "min_radius": 0.07, "max_radius": 0.16},
    "segmentation": {"n_shapes": (1, 3), "min_radius": 0.10, "max_radius": 0.22},
}


@dataclass
class ShapesDataset:
    """A task dataset: images with every kind of ground truth (the task says which one to use)."""

    task: str
    images: np.ndarray  # (n, h, w, 3) uint8 RGB
    boxes: list = field(default_factory=list)  # per image (k, 4) float32 xyxy, source pixels
    classes: list = field(default_factory=list)  # per image (k,) int64 class ids (SHAPE_LABELS)
    masks: np.ndarray | None = None  # (n, h, w) uint8: 0 background, class id + 1

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labels(self) -> np.ndarray:
        """(n,) int64 class id of each image's first shape: the label of a classification image."""
        return np.array([int(c[0]) if len(c) else -1 for c in self.classes], np.int64)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int, channels: int) -> np.ndarray:
    """Unit-variance noise on a (cells+1)^2 lattice, bilinearly interpolated to h x w: blotchy texture."""
    coarse = rng.standard_normal((cells + 1, cells + 1, channels), dtype=np.float32)

    def weights(n: int) -> np.ndarray:  # (n, cells + 1) linear-interpolation matrix
        pos = (np.arange(n, dtype=np.float32) + 0.5) / n * cells
        i0 = np.minimum(pos.astype(np.int64), cells - 1)
        frac = pos - i0
        m = np.zeros((n, cells + 1), np.float32)
        m[np.arange(n), i0] = 1 - frac
        m[np.arange(n), i0 + 1] = frac
        return m

    rows = np.tensordot(weights(h), coarse, axes=(1, 0))  # (h, cells+1, c): two small matmuls
    return np.einsum("wj,hjc->hwc", weights(w), rows, optimize=True)


def _box_blur3(image: np.ndarray) -> np.ndarray:
    """3x3 box blur (edges replicated): soft edges, as a real lens gives."""
    p = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = image.shape[:2]
    return sum(p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) * np.float32(1 / 9)


def textured_scene(rng: np.random.Generator, size: tuple[int, int], *, n_shapes: int = 3,
                   min_radius: float = 0.06, max_radius: float = 0.16) -> Scene:
    """A ``shapes_scene`` made camera-like: textured background, uneven light, blur and sensor noise.

    Ground truth is the scene's own (the mask stays exact; blur only softens the image).

    Example:
        >>> s = textured_scene(np.random.default_rng(1), (96, 64), n_shapes=2)
        >>> s.image.shape, s.image.dtype, int(s.mask.max()) <= 3
        ((64, 96, 3), dtype('uint8'), True)
    """
    scene = shapes_scene(rng, size, n_shapes=n_shapes, min_radius=min_radius, max_radius=max_radius)
    h, w = scene.mask.shape
    image = scene.image.astype(np.float32)
    background = scene.mask == 0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fx, fy = rng.uniform(-0.25, 0.25, 2)
    stripes = np.sin(np.float32(2 * np.pi) * (fx * xx + fy * yy) + rng.uniform(0, 2 * np.pi)) * rng.uniform(0, 8)
    texture = _smooth_noise(rng, h, w, int(rng.integers(3, 9)), 3) * rng.uniform(6, 18) + stripes[..., None]
    image[background] += texture[background]
    light = 1.0 + 0.08 * _smooth_noise(rng, h, w, 2, 1)  # soft illumination over everything
    image = image * (light * np.float32(rng.uniform(0.75, 1.2))) + np.float32(rng.uniform(-15, 15))
    if rng.random() < 0.5:
        image = _box_blur3(image)
    image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(rng.uniform(1.5, 6.0))
    scene.image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return scene


def _size_tuple(size: int | Sequence[int]) -> tuple[int, int]:
    if np.isscalar(size):
        return int(size), int(size)  # type: ignore[arg-type]
    w, h = (int(v) for v in size)  # type: ignore[union-attr]
    return w, h


def shapes_dataset(task: str, n: int, size: int | tuple[int, int], seed: int, *,
                   n_shapes: tuple[int, int] | None = None, min_radius: float | None = None,
                   max_radius: float | None = None) -> ShapesDataset:
    """``n`` textured scenes of ``size`` (w, h) for one task, the same for the same seed (and numpy).

    classification: one shape per image, its class in ``.labels``; detection: 1-4 separated
    shapes, ``.boxes``/``.classes``; segmentation: 1-3 shapes, ``.masks`` (0 background,
    class id + 1). Every field is filled whatever the task. ``n_shapes`` (min, max) and the
    radii (fractions of the shorter side) override the task's ``TASK_SCENES`` defaults.

    Example:
        >>> d = shapes_dataset("classification", 3, 64, seed=5)
        >>> d.images.shape, d.labels.tolist() == shapes_dataset("classification", 3, 64, seed=5).labels.tolist()
        ((3, 64, 64, 3), True)
    """
    if task not in TASK_SCENES:
        raise ValueError(f"expected a task among {', '.join(DATASET_TASKS)}, got {task!r}")
    spec = TASK_SCENES[task]
    lo, hi = n_shapes or spec["n_shapes"]
    radii = {"min_radius": spec["min_radius"] if min_radius is None else min_radius,
             "max_radius": spec["max_radius"] if max_radius is None else max_radius}
    w, h = _size_tuple(size)
    rng = np.random.default_rng(seed)
    images = np.zeros((n, h, w, 3), np.uint8)
    masks = np.zeros((n, h, w), np.uint8)
    boxes, classes = [], []
    for i in range(n):
        scene = textured_scene(rng, (w, h), n_shapes=int(rng.integers(lo, hi + 1)), **radii)
        images[i], masks[i] = scene.image, scene.mask
        boxes.append(scene.boxes)
        classes.append(scene.classes)
    return ShapesDataset(task, images, boxes, classes, masks)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_shapes_dataset(directory: str | Path, task: str, n: int, size: int | tuple[int, int],
                         seed: int) -> list[Path]:
    """Write ``shapes_dataset(task, n, size, seed)`` as PNGs plus ground-truth sidecars; returns the image paths.

    The file format is described in this module's docstring.

    Example:
        >>> import tempfile
        >>> paths = write_shapes_dataset(tempfile.mkdtemp(), "detection", 2, 64, seed=0)
        >>> [p.name for p in paths], sorted(json.loads(paths[0].with_suffix(".json").read_text()))
        (['00000.png', '00001.png'], ['boxes', 'labels'])
    """
    try:
        import cv2
    except ModuleNotFoundError as e:  # an optional dependency of the runtime (the camera extra)
        raise ModuleNotFoundError("write_shapes_dataset needs OpenCV: pip install opencv-python-headless") from e
    data = shapes_dataset(task, n, size, seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = directory / f"{i:05d}.png"
        # OpenCV encodes BGR byte order; the arrays are RGB.
        _write_atomic(path, _png(cv2, cv2.cvtColor(data.images[i], cv2.COLOR_RGB2BGR)))
        if task == "classification":
            truth: dict = {"class": SHAPE_LABELS[int(data.classes[i][0])]}
        elif task == "detection":
            truth = {"boxes": [[int(v) for v in box] for box in data.boxes[i]],
                     "labels": [SHAPE_LABELS[int(c)] for c in data.classes[i]]}
        else:
            truth = {}
            assert data.masks is not None  # shapes_dataset fills every field
            _write_atomic(directory / f"{i:05d}.mask.png", _png(cv2, data.masks[i]))
        if truth:
            _write_atomic(path.with_suffix(".json"), json.dumps(truth).encode("utf-8"))
        paths.append(path)
    return paths


def _png(cv2, array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", array)
    if not ok:
        raise OSError(f"OpenCV could not encode a PNG of shape {array.shape}")
    return buf.tobytes()
