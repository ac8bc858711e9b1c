"""Decode pose outputs into ``Poses``: YOLO-pose (Ultralytics' layout) and single-person MoveNet.

- **YOLO-pose**: one output ``[1, 4+nc+K*D, N]`` (or ``[1, N, 4+nc+K*D]``): cx, cy, w,
  h, nc class scores, then K keypoints of D values, x, y (model-input pixels, or
  fractions of the input like the boxes: ``box_format``) and, when D is 3, a visibility score already
  through a sigmoid. ``kpt_shape`` is Ultralytics' metadata key ([17, 3] for COCO
  persons). NMS as for ``detect_yolo``.
- **MoveNet** (single pose): ``[1, 1, K, 3]`` of (y, x, score), y and x fractions of
  the (padded) input; one pose, its confidence the mean keypoint score, its box the
  extent of the keypoints scoring at least ``keypoint_threshold``.

Keypoints come back in source pixels through the resize (letterbox included),
clipped to the image.

Example:
    >>> from edgevision.transform import make_transform
    >>> t = make_transform((200, 100), (100, 100), "letterbox")   # 200x100 -> 100x50 at y 25..75
    >>> out = np.array([[[[0.5, 0.5, 0.9], [0.25, 0.75, 0.8]]]])   # [1, 1, 2, 3] (y, x, score)
    >>> p = pose_movenet(out, transform=t)
    >>> p.keypoints[0].astype(float).round(2).tolist(), p.xyxy.tolist()
    ([[100.0, 50.0, 0.9], [150.0, 0.0, 0.8]], [[100.0, 0.0, 150.0, 50.0]])
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..backends.base import TensorSpec
from ..errors import ModelError
from ..poses import Poses
from ..transform import Transform
from .common import Quantization, dequantize
from .detect import _cxcywh_to_xyxy, _yolo_rows, centres_normalized, check_scores, parse_box_format
from .nms import batched_nms, nms

DEFAULT_KPT_SHAPE = (17, 3)


def points_to_source(points: np.ndarray, transform: Transform) -> np.ndarray:
    """(..., 2) x, y in model-input pixels -> source pixels, clipped to the image.

    Example:
        >>> from edgevision.transform import make_transform
        >>> points_to_source(np.array([[10.0, 10.0]]), make_transform((40, 20), (20, 20), "letterbox")).tolist()
        [[20.0, 10.0]]
    """
    pts = np.asarray(points, np.float32)
    flat = pts.reshape(-1, 2)
    mapped = transform.to_source(np.concatenate([flat, flat], axis=1))[:, :2]
    return mapped.reshape(pts.shape)


def _kpt_shape(value: Any) -> tuple[int, int]:
    try:
        k, d = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ModelError(f"expected kpt_shape [K, 2 or 3], got {value!r}") from None
    if k < 1 or d not in (2, 3):
        raise ModelError(f"expected kpt_shape [K, 2 or 3], got {[k, d]}")
    return k, d


def detect_poses(
    output: np.ndarray,
    *,
    transform: Transform,
    kpt_shape: Sequence[int] = DEFAULT_KPT_SHAPE,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int = 100,
    labels: Sequence[str] = (),
    quant: Quantization = None,
    box_format: str | None = None,
    class_agnostic: bool = False,
) -> Poses:
    """Decode a YOLO-pose output (see the module docstring) into source-pixel boxes and keypoints.

    Example:
        >>> from edgevision.transform import make_transform
        >>> t = make_transform((100, 100), (100, 100), "stretch")
        >>> row = [50, 50, 20, 40, 0.9, 45, 35, 0.95]          # box, one class, one keypoint (x, y, score)
        >>> p = detect_poses(np.array([row], np.float32)[None], transform=t, kpt_shape=(1, 3), labels=("person",))
        >>> p.xyxy.tolist(), p.keypoints.astype(float).round(2).tolist()
        ([[40.0, 30.0, 60.0, 70.0]], [[[45.0, 35.0, 0.95]]])
    """
    k, d = _kpt_shape(kpt_shape)
    raw = np.asarray(output)
    rows = _yolo_rows(raw, len(labels) + k * d if labels else 0)
    nc = rows.shape[1] - 4 - k * d
    if nc < 1:
        raise ModelError(f"expected a YOLO-pose output [1, 4+nc+{k}*{d}, N] (kpt_shape [{k}, {d}]), "
                         f"got {tuple(raw.shape)}")
    rows = dequantize(rows, quant)
    class_scores = rows[:, 4:4 + nc]
    class_id = np.argmax(class_scores, axis=1)
    score = np.take_along_axis(class_scores, class_id[:, None], axis=1)[:, 0]
    check_scores(score, "class scores")  # not a YOLO-pose output after all (e.g. a detector's): say so
    keep = score >= score_threshold
    if not keep.any():
        return Poses.empty(labels, k)
    fmt = parse_box_format(box_format)
    normalized = centres_normalized(rows[:, :2]) if fmt is None else fmt == "normalized"
    boxes = rows[keep, :4]
    kp = rows[keep, 4 + nc:].reshape(-1, k, d)
    if normalized:
        iw, ih = transform.input_size
        boxes = boxes * np.array([iw, ih, iw, ih], np.float32)
        kp = kp.copy()
        kp[..., :2] *= np.array([iw, ih], np.float32)
    xyxy = _cxcywh_to_xyxy(boxes)
    score, class_id = score[keep], class_id[keep]
    if class_agnostic:
        kept = nms(xyxy, score, iou_threshold, max_output=max_detections)
    else:
        kept = batched_nms(xyxy, score, class_id, iou_threshold, max_output=max_detections)
    kp = kp[kept]
    keypoints = np.empty((len(kept), k, 3), np.float32)
    keypoints[..., :2] = points_to_source(kp[..., :2], transform)
    keypoints[..., 2] = kp[..., 2] if d == 3 else 1.0
    return Poses(transform.to_source(xyxy[kept]), score[kept], class_id[kept], labels, keypoints=keypoints)


def pose_movenet(
    output: np.ndarray,
    *,
    transform: Transform,
    score_threshold: float = 0.2,
    keypoint_threshold: float = 0.2,
    labels: Sequence[str] = (),
    quant: Quantization = None,
) -> Poses:
    """Decode a single-pose MoveNet output ``[1, 1, K, 3]`` (y, x, score; fractions of the input).

    The pose is kept when its mean keypoint score is at least ``score_threshold``.
    """
    arr = np.asarray(output)
    if arr.ndim != 4 or arr.shape[0] != 1 or arr.shape[1] != 1 or arr.shape[3] != 3:
        raise ModelError(f"expected a MoveNet output [1, 1, K, 3] (y, x, score), got {tuple(arr.shape)}")
    kp = dequantize(arr, quant)[0, 0]
    k = kp.shape[0]
    confidence = float(kp[:, 2].mean())
    if confidence < score_threshold:
        return Poses.empty(labels, k)
    iw, ih = transform.input_size
    keypoints = np.empty((1, k, 3), np.float32)
    keypoints[0, :, :2] = points_to_source(kp[:, 1::-1] * np.array([iw, ih], np.float32), transform)
    keypoints[0, :, 2] = kp[:, 2]
    seen = keypoints[0, kp[:, 2] >= keypoint_threshold, :2]
    seen = seen if len(seen) else keypoints[0, :, :2]
    box = np.concatenate([seen.min(axis=0), seen.max(axis=0)])[None]
    return Poses(box, np.array([confidence]), np.array([0]), labels, keypoints=keypoints)


def _options(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "type"}


def bind_yolo_pose(config: Mapping[str, Any], outputs: list[TensorSpec], labels: tuple) -> Any:
    """The decoder for a YOLO-pose model's output (the decoder registry's ``bind``); checks the width at load."""
    options = _options(config)
    k, d = _kpt_shape(options.get("kpt_shape", DEFAULT_KPT_SHAPE))
    shapes = [list(o.shape) for o in outputs]
    if len(outputs) != 1 or len(outputs[0].shape) != 3:
        raise ModelError(f"expected one YOLO-pose output [1, 4+nc+{k}*{d}, N], got {shapes}")
    a, b = outputs[0].shape[1], outputs[0].shape[2]
    want = 4 + len(labels) + k * d
    if (labels and want not in (a, b)) or (not labels and min(a, b) < 5 + k * d):
        raise ModelError(f"expected a YOLO-pose output with {'4+' + str(len(labels)) if labels else '4+nc'}+{k}*{d} "
                         f"values per row (kpt_shape [{k}, {d}]), got {shapes[0]}")
    options["kpt_shape"] = [k, d]
    quant = outputs[0].quant
    return lambda outs, t: detect_poses(outs[0], transform=t, labels=labels, quant=quant, **options)


def bind_movenet(config: Mapping[str, Any], outputs: list[TensorSpec], labels: tuple) -> Any:
    """The decoder for a single-pose MoveNet output (the decoder registry's ``bind``)."""
    if len(outputs) != 1 or not fits_movenet([tuple(outputs[0].shape)]):
        raise ModelError(f"expected one MoveNet output [1, 1, K, 3] (y, x, score), got {[list(o.shape) for o in outputs]}")
    quant, options = outputs[0].quant, _options(config)
    return lambda outs, t: pose_movenet(outs[0], transform=t, labels=labels, quant=quant, **options)


def fits_movenet(shapes: Sequence[tuple[int, ...]]) -> bool:
    """A bare model looks like MoveNet: one ``[1, 1, K, 3]`` output."""
    s = shapes[0] if len(shapes) == 1 else ()
    return len(s) == 4 and s[0] == 1 and s[1] == 1 and s[2] > 1 and s[3] == 3  # [1,1,1,3]: a classifier
