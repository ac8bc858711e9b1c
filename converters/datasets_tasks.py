"""Seeded data sets for instance segmentation and pose: shapes with their own masks, and stick figures.

- ``instance_dataset``: the shapes scenes of ``datasets.shapes_dataset`` (separated shapes,
  1-4 a scene), each shape an instance with its exact mask;
- ``pose_dataset``: stick figures, 1-3 a scene (or one, large, for a single-pose model), drawn
  from COCO's 17 person keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees,
  ankles) with random lean, arm and leg angles, on a textured, noisy background;
- ``write_task_dataset``: any task's data set as files the converter reads (the layout is in
  ``calibration`` and ``truth``): ``NNNNN.png`` + ``NNNNN.json``, plus ``NNNNN.instances.png``
  for instances and ``"keypoints"`` in the JSON for poses.

Example:
    >>> d = pose_dataset(2, (96, 96), seed=0)
    >>> d.images.shape, d.keypoints[0].shape[1:]
    ((2, 96, 96, 3), (17, 3))
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets import SHAPE_LABELS, _png, _size_tuple, _smooth_noise, _write_atomic, shapes_dataset, write_shapes_dataset

PERSON = ("person",)
# (from, to, thickness as a fraction of the figure's height): the limbs drawn, in COCO keypoint indices
_LIMBS = ((5, 7, 0.045), (7, 9, 0.04), (6, 8, 0.045), (8, 10, 0.04), (11, 13, 0.055), (13, 15, 0.05),
          (12, 14, 0.055), (14, 16, 0.05), (5, 6, 0.05), (11, 12, 0.06))


@dataclass
class PoseDataset:
    """Images with per-image boxes (k, 4), keypoints (k, 17, 3: x, y, visibility 2/0) and class ids (all 0)."""

    images: np.ndarray
    boxes: list = field(default_factory=list)
    keypoints: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def instance_masks_of(data: object, i: int) -> np.ndarray:
    """(k, h, w) masks of the shapes of image ``i`` of a ``shapes_dataset``: each shape's pixels inside its box."""
    boxes, classes, classmap = data.boxes[i], data.classes[i], data.masks[i]  # type: ignore[attr-defined]
    out = np.zeros((len(boxes), *classmap.shape), bool)
    for j, ((x0, y0, x1, y1), c) in enumerate(zip(boxes.astype(int), classes)):
        out[j, y0:y1, x0:x1] = classmap[y0:y1, x0:x1] == c + 1  # shapes are apart: a box holds one shape
    return out


def instance_dataset(n: int, size: int | tuple[int, int], seed: int) -> object:
    """``n`` scenes of 1-4 separated shapes (a ``ShapesDataset``; masks per shape via ``instance_masks_of``)."""
    return shapes_dataset("segmentation", n, size, seed, n_shapes=(1, 4))


def figure_keypoints(rng: np.random.Generator, hip: np.ndarray, height: float) -> np.ndarray:
    """(17, 2) COCO keypoints of one stick figure of ``height`` px with its hips' centre at ``hip``."""
    lean, tilt = rng.uniform(-0.25, 0.25), rng.uniform(-0.2, 0.2)
    up, right = np.array([np.sin(lean), -np.cos(lean)]), np.array([np.cos(lean), np.sin(lean)])
    head_up = np.array([np.sin(lean + tilt), -np.cos(lean + tilt)])
    head_right = np.array([np.cos(lean + tilt), np.sin(lean + tilt)])

    def limb(angle: float) -> np.ndarray:  # a direction, angle from "down" towards the figure's left (image right)
        down = -up
        return down * np.cos(angle) + right * np.sin(angle)

    h = height
    shoulders = hip + up * 0.30 * h
    nose = shoulders + up * 0.15 * h
    kp = np.zeros((17, 2))
    kp[0] = nose
    kp[1], kp[2] = nose + head_up * 0.025 * h + head_right * 0.025 * h, nose + head_up * 0.025 * h - head_right * 0.025 * h
    kp[3], kp[4] = nose + head_right * 0.055 * h, nose - head_right * 0.055 * h
    kp[5], kp[6] = shoulders + right * 0.11 * h, shoulders - right * 0.11 * h
    for side, sign in ((0, 1.0), (1, -1.0)):  # left (image right), then right
        upper, lower = rng.uniform(-0.3, 1.7), rng.uniform(-0.6, 1.2)
        kp[7 + side] = kp[5 + side] + limb(sign * upper) * 0.15 * h
        kp[9 + side] = kp[7 + side] + limb(sign * (upper + lower)) * 0.14 * h
        kp[11 + side] = hip + right * sign * 0.07 * h
        thigh, shin = rng.uniform(-0.15, 0.5), rng.uniform(-0.5, 0.2)
        kp[13 + side] = kp[11 + side] + limb(sign * thigh) * 0.23 * h
        kp[15 + side] = kp[13 + side] + limb(sign * (thigh + shin)) * 0.23 * h
    return kp


def _segment_distance(xx: np.ndarray, yy: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
    return np.hypot(xx - (a[0] + t * d[0]), yy - (a[1] + t * d[1]))


def draw_figure(image: np.ndarray, kp: np.ndarray, height: float, colour: np.ndarray) -> None:
    """Draw a stick figure into ``image`` (float HxWx3) in place: limbs, torso and head."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    body = np.zeros((h, w), bool)
    for a, b, thick in _LIMBS:
        body |= _segment_distance(xx, yy, kp[a], kp[b]) <= thick * height
    hips, shoulders = (kp[11] + kp[12]) / 2, (kp[5] + kp[6]) / 2
    body |= _segment_distance(xx, yy, hips, shoulders) <= 0.08 * height
    body |= np.hypot(xx - kp[0][0], yy - kp[0][1]) <= 0.075 * height
    image[body] = colour


def pose_dataset(n: int, size: int | tuple[int, int], seed: int, *, people: tuple[int, int] = (1, 3),
                 height: tuple[float, float] = (0.4, 0.7)) -> PoseDataset:
    """``n`` scenes of ``people`` (min, max) stick figures, ``height`` a fraction of the image height, kept apart."""
    w, h = _size_tuple(size)
    rng = np.random.default_rng(seed)
    out = PoseDataset(np.zeros((n, h, w, 3), np.uint8))
    for i in range(n):
        base = rng.integers(30, 100, size=3).astype(np.float32)
        image = base + _smooth_noise(rng, h, w, int(rng.integers(3, 8)), 3) * rng.uniform(6, 18)
        boxes: list[np.ndarray] = []
        points: list[np.ndarray] = []
        for _ in range(40 * people[1]):
            if len(boxes) == int(rng.integers(people[0], people[1] + 1)) or len(boxes) == people[1]:
                break
            fh = rng.uniform(*height) * h
            hip = np.array([rng.uniform(0.15 * fh, w - 0.15 * fh), rng.uniform(0.48 * fh, h - 0.48 * fh)])
            kp = figure_keypoints(rng, hip, fh)
            pad = 0.08 * fh
            box = np.array([kp[:, 0].min() - pad, kp[:, 1].min() - pad, kp[:, 0].max() + pad, kp[:, 1].max() + pad])
            if boxes:
                b = np.asarray(boxes)
                if ((np.minimum(b[:, 2], box[2]) > np.maximum(b[:, 0], box[0]))
                        & (np.minimum(b[:, 3], box[3]) > np.maximum(b[:, 1], box[1]))).any():
                    continue
            draw_figure(image, kp, fh, rng.integers(150, 256, size=3) * rng.permutation([1.0, 0.7, 0.4]))
            inside = (kp[:, 0] >= 0) & (kp[:, 0] < w) & (kp[:, 1] >= 0) & (kp[:, 1] < h)
            boxes.append(np.clip(box, 0, [w, h, w, h]))
            points.append(np.concatenate([kp, np.where(inside, 2.0, 0.0)[:, None]], axis=1))
        image = image * np.float32(rng.uniform(0.8, 1.15)) + rng.standard_normal(image.shape).astype(np.float32) * 3
        out.images[i] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        out.boxes.append(np.asarray(boxes, np.float32).reshape(-1, 4))
        out.keypoints.append(np.asarray(points, np.float32).reshape(-1, 17, 3))
    return out


def write_task_dataset(directory: str | Path, task: str, n: int, size: int | tuple[int, int], seed: int, *,
                       single: bool = False) -> list[Path]:
    """Write any task's data set as images with their ground truth beside them; returns the image paths.

    ``single``: one large figure a scene (a single-pose model's data).

    Example:
        >>> import tempfile
        >>> paths = write_task_dataset(tempfile.mkdtemp(), "pose", 1, 64, seed=0)
        >>> sorted(json.loads(paths[0].with_suffix(".json").read_text()))
        ['boxes', 'keypoints', 'labels']
    """
    if task not in ("instance-segmentation", "pose"):
        return write_shapes_dataset(directory, task, n, size, seed)
    import cv2

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    if task == "pose":
        data = pose_dataset(n, size, seed, people=(1, 1), height=(0.55, 0.85)) if single else pose_dataset(n, size, seed)
        for i in range(n):
            path = directory / f"{i:05d}.png"
            _write_atomic(path, _png(cv2, cv2.cvtColor(data.images[i], cv2.COLOR_RGB2BGR)))
            truth = {"boxes": [[round(float(v), 2) for v in b] for b in data.boxes[i]],
                     "labels": ["person"] * len(data.boxes[i]),
                     "keypoints": [[[round(float(v), 2) for v in p] for p in kp] for kp in data.keypoints[i]]}
            _write_atomic(path.with_suffix(".json"), json.dumps(truth).encode("utf-8"))
            paths.append(path)
        return paths
    shapes = instance_dataset(n, size, seed)
    for i in range(n):
        path = directory / f"{i:05d}.png"
        _write_atomic(path, _png(cv2, cv2.cvtColor(shapes.images[i], cv2.COLOR_RGB2BGR)))  # type: ignore[attr-defined]
        masks = instance_masks_of(shapes, i)
        ids = np.zeros(masks.shape[1:], np.uint8)
        for j, m in enumerate(masks):
            ids[m] = j + 1
        _write_atomic(path.with_name(f"{i:05d}.instances.png"), _png(cv2, ids))
        truth = {"boxes": [[int(v) for v in b] for b in shapes.boxes[i]],  # type: ignore[attr-defined]
                 "labels": [SHAPE_LABELS[int(c)] for c in shapes.classes[i]]}  # type: ignore[attr-defined]
        _write_atomic(path.with_suffix(".json"), json.dumps(truth).encode("utf-8"))
        paths.append(path)
    return paths
