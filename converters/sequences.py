"""Generated video sequences with known identities, for measuring tracking: moving shapes that cross and hide.

``moving_shapes_sequence`` moves a few circles, squares and triangles in straight lines at
constant speeds across a fixed, textured background: each object crosses the frame and
leaves it, and a new one (a new identity) comes in from an edge, so paths cross and shapes
pass over each other; an optional pillar in the middle hides what passes behind it (an
occlusion of a few frames). Every frame's ground truth says which object is where (id,
box, class) and how much of it is visible (pixels in view, neither behind another shape or
the pillar nor outside the frame); an object less than ``min_visible`` visible is left out
of that frame's ground truth, as MOT benchmarks do.

``jittered_detections`` turns the ground truth into what a good detector would give:
boxes moved and resized by a few percent, scores mostly high, some low (partly hidden
objects), a few missed and a few false boxes. Numpy only; the frames are drawn only when
asked (``render=True``).

Example:
    >>> seq = moving_shapes_sequence(20, (160, 120), n_objects=3, seed=1, render=False)
    >>> len(seq), sorted(set(np.concatenate(seq.ids).tolist()))  # two left the frame, two came in
    (20, [1, 2, 3, 4, 5])
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..sources.shapes import SHAPE_LABELS, _shape_mask
from .datasets import _smooth_noise


@dataclass
class TrackSequence:
    """Frames (when rendered) and per-frame ground truth: ids, boxes (xyxy, source pixels), classes, visibility."""

    size: tuple[int, int]  # (w, h)
    ids: list[np.ndarray] = field(default_factory=list)  # per frame (k,) int64, 1-based
    boxes: list[np.ndarray] = field(default_factory=list)  # per frame (k, 4) float64
    classes: list[np.ndarray] = field(default_factory=list)  # per frame (k,) int64 in SHAPE_LABELS
    visible: list[np.ndarray] = field(default_factory=list)  # per frame (k,) fraction of the shape in view
    frames: list[np.ndarray] = field(default_factory=list)  # per frame HxWx3 uint8 RGB (render=True)
    occluder: tuple[int, int] | None = None  # x range of the pillar, when there is one

    def __len__(self) -> int:
        return len(self.ids)


def moving_shapes_sequence(n_frames: int, size: tuple[int, int] = (320, 240), *, n_objects: int = 6, seed: int = 0,
                           occluder: bool = True, speed: tuple[float, float] = (2.0, 5.0),
                           radius: tuple[float, float] = (0.05, 0.09), min_visible: float = 0.4,
                           render: bool = True) -> TrackSequence:
    """``n_frames`` of ``n_objects`` shapes moving and bouncing in a ``size`` (w, h) frame (see the module docstring).

    Radii are fractions of the shorter side, speeds pixels per frame.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    short = min(w, h)
    next_id = 1
    slots: list[dict] = []

    def spawn(inside: bool) -> dict:
        nonlocal next_id
        r = float(rng.uniform(*radius) * short)
        v = float(rng.uniform(*speed))
        if inside:  # the first objects: anywhere, any direction
            p = np.array([rng.uniform(r + 1, w - r - 1), rng.uniform(r + 1, h - r - 1)])
            a = rng.uniform(0, 2 * np.pi)
        else:  # later ones: just outside an edge, heading into the frame
            edge = int(rng.integers(0, 4))
            along = rng.uniform(0.15, 0.85)
            p = np.array([[-r, along * h], [w + r, along * h], [along * w, -r], [along * w, h + r]][edge])
            a = [0.0, np.pi, np.pi / 2, -np.pi / 2][edge] + rng.uniform(-0.6, 0.6)
        slot = {"id": next_id, "kind": int(rng.integers(0, len(SHAPE_LABELS))), "r": r, "pos": p,
                "vel": np.array([np.cos(a), np.sin(a)]) * v,
                "colour": rng.integers(140, 256, size=3) * rng.permutation([1.0, 0.6, 0.3])}
        next_id += 1
        return slot

    slots = [spawn(True) for _ in range(n_objects)]
    pillar = (int(w * 0.44), int(w * 0.56)) if occluder else None
    seq = TrackSequence((w, h), occluder=pillar)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    background = None
    paint = np.random.default_rng([seed, 1])  # drawing has its own random numbers: the truth is the same either way
    if render:
        base = paint.integers(40, 90, size=3).astype(np.float32)
        background = base + _smooth_noise(paint, h, w, 6, 3) * 12 + (xx / w * 30)[..., None]
        if pillar:
            background[:, pillar[0]:pillar[1]] = np.array([100, 100, 110], np.float32)
    for _ in range(n_frames):
        owner = np.zeros((h, w), np.int32)  # which slot a pixel shows (0: background), later ones on top
        areas = []
        for i, slot in enumerate(slots):
            (cx, cy), r = slot["pos"], slot["r"]
            m = _shape_mask(slot["kind"], xx, yy, float(cx), float(cy), r)
            owner[m] = i + 1
            areas.append(np.pi * r * r if slot["kind"] == 0 else (4 * r * r if slot["kind"] == 1 else 2 * r * r))
        if pillar:
            owner[:, pillar[0]:pillar[1]] = 0
        ids, boxes, classes, seen = [], [], [], []
        for i, slot in enumerate(slots):
            fraction = int(np.count_nonzero(owner == i + 1)) / areas[i]  # of the whole shape, the part outside the frame included
            if fraction >= min_visible:
                (cx, cy), r = slot["pos"], slot["r"]
                box = np.clip([cx - r, cy - r, cx + r, cy + r], 0, [w, h, w, h])
                ids.append(slot["id"])
                boxes.append(box)
                classes.append(slot["kind"])
                seen.append(min(1.0, fraction))
        seq.ids.append(np.array(ids, np.int64))
        seq.boxes.append(np.array(boxes, np.float64).reshape(-1, 4))
        seq.classes.append(np.array(classes, np.int64))
        seq.visible.append(np.array(seen, np.float64))
        if render and background is not None:
            image = background.copy()
            for i, slot in enumerate(slots):
                image[owner == i + 1] = slot["colour"]
            image += paint.standard_normal(image.shape, dtype=np.float32) * 3.0
            seq.frames.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
        for i, slot in enumerate(slots):
            slot["pos"] = slot["pos"] + slot["vel"]
            (cx, cy), r = slot["pos"], slot["r"]
            if cx < -r - 1 or cx > w + r + 1 or cy < -r - 1 or cy > h + r + 1:  # gone: a new object comes in
                slots[i] = spawn(False)
    return seq


def jittered_detections(seq: TrackSequence, *, seed: int = 0, jitter: float = 0.03, miss: float = 0.03,
                        false_rate: float = 0.05) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per frame (xyxy, scores, class ids): the ground truth as a good detector would see it.

    Each box's corners move by ``jitter`` of its size (normal noise); scores are 0.6-0.95,
    or 0.2-0.5 for an object less than half visible; ``miss`` of the boxes are dropped; a
    frame gets a false box (score 0.2-0.55) with probability ``false_rate``.

    Example:
        >>> seq = moving_shapes_sequence(5, (160, 120), n_objects=2, seed=0, render=False)
        >>> boxes, scores, classes = jittered_detections(seq)[0]
        >>> boxes.shape[1], bool((scores <= 0.95).all())
        (4, True)
    """
    rng = np.random.default_rng(seed)
    w, h = seq.size
    out = []
    for boxes, classes, visible in zip(seq.boxes, seq.classes, seq.visible):
        wh = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)
        noisy = boxes + rng.normal(0, jitter, boxes.shape) * wh
        scores = np.where(visible >= 0.5, rng.uniform(0.6, 0.95, len(boxes)), rng.uniform(0.2, 0.5, len(boxes)))
        keep = rng.random(len(boxes)) >= miss
        noisy, scores, cls = noisy[keep], scores[keep], classes[keep]
        if rng.random() < false_rate:
            x, y = rng.uniform(0, w - 30), rng.uniform(0, h - 30)
            noisy = np.concatenate([noisy, [[x, y, x + rng.uniform(10, 30), y + rng.uniform(10, 30)]]])
            scores = np.concatenate([scores, [rng.uniform(0.2, 0.55)]])
            cls = np.concatenate([cls, [int(rng.integers(0, len(SHAPE_LABELS)))]])
        out.append((noisy, scores, cls))
    return out
