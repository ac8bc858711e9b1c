"""Non-maximum suppression: pairwise IoU, greedy NMS and its class-aware form.

Boxes are (x1, y1, x2, y2). A box is suppressed when its IoU with a kept,
higher-scoring box is greater than ``iou_threshold`` (torchvision's rule).

Example:
    >>> import numpy as np
    >>> boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30]], np.float32)
    >>> nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5).tolist()
    [0, 2]
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError


def _boxes(xyxy: np.ndarray) -> np.ndarray:
    arr = np.asarray(xyxy)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    if arr.size == 0:
        return arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ModelError(f"expected boxes of shape (N, 4), got {tuple(arr.shape)}")
    return arr


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` (N, 4) with every box in ``b`` (M, 4): (N, M).

    Boxes of zero area have IoU 0 with everything.

    Example:
        >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [5, 5, 6, 6]])).astype(float).round(3).tolist()
        [[0.333, 0.0]]
    """
    a, b = _boxes(a), _boxes(b)
    return _iou(a, b)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``box_iou`` on checked (N, 4) and (M, 4) float arrays; per-frame code calls it directly."""
    zero = a.dtype.type(0)
    area_a = np.maximum(a[:, 2] - a[:, 0], zero) * np.maximum(a[:, 3] - a[:, 1], zero)
    area_b = np.maximum(b[:, 2] - b[:, 0], zero) * np.maximum(b[:, 3] - b[:, 1], zero)
    wh = np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2])
    np.maximum(wh, zero, out=wh)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


# Up to this many candidates, NMS computes every pairwise IoU at once (256 x 256 floats: 256 KB)
# and the greedy pass only reads rows; above it, one row per kept box, as memory allows.
_MATRIX_MAX = 256


def nms(
    xyxy: np.ndarray, scores: np.ndarray, iou_threshold: float, *, max_output: int | None = None
) -> np.ndarray:
    """Indices of the boxes greedy NMS keeps, highest score first.

    ``max_output`` stops once that many are kept (the first k kept do not depend on the rest).

    Example:
        >>> boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [0, 0, 10, 5]], np.float32)
        >>> nms(boxes, np.array([0.5, 0.9, 0.6]), 0.6).tolist()
        [1, 2]
    """
    boxes = _boxes(xyxy)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if len(scores) != len(boxes):
        raise ModelError(f"expected one score per box ({len(boxes)}), got {len(scores)}")
    limit = len(boxes) if max_output is None else max(0, int(max_output))
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    if 0 < len(order) <= _MATRIX_MAX and limit > 0:
        ranked = boxes[order]
        overlaps = _iou(ranked, ranked) > iou_threshold
        suppressed = np.zeros(len(order), dtype=bool)
        for i in range(len(order)):
            if suppressed[i]:
                continue
            keep.append(i)
            if len(keep) == limit:
                break
            suppressed |= overlaps[i]
        return order[np.asarray(keep, dtype=np.intp)].astype(np.intp, copy=False)
    while order.size and len(keep) < limit:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        order = rest[_iou(boxes[best : best + 1], boxes[rest])[0] <= iou_threshold]
    return np.asarray(keep, dtype=np.intp)


def batched_nms(
    xyxy: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    *,
    max_output: int | None = None,
) -> np.ndarray:
    """Class-aware NMS: boxes only suppress boxes of their own class. Indices, highest score first.

    Each class is shifted by ``class_id * (coordinate span + 1)`` so boxes of different
    classes can never overlap, and one greedy pass does every class at once.

    Example:
        >>> boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
        >>> batched_nms(boxes, np.array([0.9, 0.8]), np.array([0, 1]), 0.5).tolist()
        [0, 1]
    """
    boxes = _boxes(xyxy)
    class_ids = np.asarray(class_ids).reshape(-1)
    if len(class_ids) != len(boxes):
        raise ModelError(f"expected one class id per box ({len(boxes)}), got {len(class_ids)}")
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.intp)
    # The span (not just the max) keeps classes apart even for negative coordinates;
    # float64 keeps the shifted boxes exact for large class ids.
    span = float(boxes.max()) - float(boxes.min()) + 1.0
    shifted = boxes.astype(np.float64) + (class_ids.astype(np.float64) * span)[:, None]
    return nms(shifted, scores, iou_threshold, max_output=max_output)
