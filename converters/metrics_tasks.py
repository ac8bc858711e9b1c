"""Metrics of the tasks beyond boxes: mask mAP@0.5 for instance segmentation, OKS mAP@0.5 for pose.

Both follow the box mAP of ``metrics`` (per class, all-point interpolated AP, predictions
ranked by confidence over the whole set, each matched greedily to the unmatched truth
of its class and image with the highest similarity if that is >= 0.5), with the box IoU
replaced by:

- **mask IoU** of the instance masks (``InstanceMasks.iou``); two instances whose masks are
  both empty (a box with no pixel above the mask threshold) are compared by their boxes;
- **OKS**, COCO's object keypoint similarity: the mean over the truth's visible keypoints
  of exp(-d^2 / (2 s^2 k^2)), d the distance to the predicted keypoint, s^2 the object's
  area (its box's), k = 2 sigma with COCO's per-keypoint sigmas for 17 keypoints (1/K
  each otherwise, as Ultralytics does).

Example:
    >>> kp = np.array([[[10.0, 10.0, 1.0], [20.0, 20.0, 1.0]]])
    >>> oks(kp, kp + [1.0, 0.0, 0.0], np.array([100.0]), np.full(2, 0.5)).round(3).tolist()
    [[0.995]]
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..masks import InstanceMasks
from ..poses import COCO_SIGMAS, VISIBLE
from .metrics import average_precision, box_iou


def keypoint_sigmas(k: int) -> np.ndarray:
    """COCO's sigmas for 17 keypoints, 1/K each otherwise.

    Example:
        >>> round(float(keypoint_sigmas(17)[0]), 3), keypoint_sigmas(4).tolist()
        (0.026, [0.25, 0.25, 0.25, 0.25])
    """
    return COCO_SIGMAS if k == len(COCO_SIGMAS) else np.full(k, 1.0 / k)


def oks(predicted: np.ndarray, truth: np.ndarray, areas: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """(n, m) OKS of n predicted poses (n, K, >=2) against m true ones (m, K, 3: x, y, visibility > 0 if seen)."""
    out = np.zeros((len(predicted), len(truth)))
    if not len(predicted) or not len(truth):
        return out
    p = np.asarray(predicted, np.float64)
    t = np.asarray(truth, np.float64)
    var = (2 * np.asarray(sigmas, np.float64)) ** 2
    d2 = ((p[:, None, :, :2] - t[None, :, :, :2]) ** 2).sum(-1)  # (n, m, K)
    e = d2 / var / (np.asarray(areas, np.float64)[None, :, None] + np.spacing(1)) / 2
    seen = t[:, :, 2] > 0  # (m, K)
    counts = seen.sum(axis=1)
    sums = (np.exp(-e) * seen[None]).sum(axis=2)
    return np.divide(sums, counts[None, :], out=out, where=counts[None, :] > 0)


def _match(similarity: np.ndarray, confidence: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching in one image and class on a precomputed (n, m) similarity: (confidences, TP flags), best first."""
    order = np.argsort(-confidence, kind="stable")
    flags = np.zeros(len(order), bool)
    if similarity.shape[1]:
        taken = np.zeros(similarity.shape[1], bool)
        for i, row in enumerate(similarity[order]):
            candidates = np.where(taken, -1.0, row)
            j = int(np.argmax(candidates))
            if candidates[j] >= threshold:
                taken[j] = flags[i] = True
    return confidence[order], flags


def _map(per_image: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], num_classes: int,
         threshold: float) -> float:
    """mAP over classes with truth, from per image (similarity (n, m), confidence (n,), pred classes, true classes)."""
    aps = []
    for c in range(num_classes):
        n_truth = sum(int((tc == c).sum()) for _, _, _, tc in per_image)
        if not n_truth:
            continue
        confs, hits = [], []
        for sim, conf, pc, tc in per_image:
            p, t = pc == c, tc == c
            got = _match(sim[np.ix_(p, t)], conf[p], threshold)
            confs.append(got[0])
            hits.append(got[1])
        aps.append(average_precision(np.concatenate(confs), np.concatenate(hits), n_truth))
    if not aps:  # nothing to find: perfect only if nothing was claimed either
        return 1.0 if all(len(conf) == 0 for _, conf, _, _ in per_image) else 0.0
    return float(np.mean(aps))


def mask_map50(predictions: Sequence[Any], truth: Sequence[tuple[InstanceMasks, np.ndarray]], num_classes: int, *,
               threshold: float = 0.5) -> float:
    """Mask mAP@``threshold``: ``predictions`` are ``InstanceSegmentation``; ``truth`` per image (masks, class ids).

    Example:
        >>> from edgevision.instances import InstanceSegmentation
        >>> m = InstanceMasks((8, 8), np.array([[0, 0]]), [np.ones((4, 4), bool)])
        >>> pred = InstanceSegmentation(np.array([[0, 0, 4, 4]]), np.array([0.9]), np.array([0]), masks=m)
        >>> mask_map50([pred], [(m, np.array([0]))], num_classes=1)
        1.0
    """
    if len(predictions) != len(truth):
        raise ValueError(f"expected predictions and truth for the same images, got {len(predictions)} and {len(truth)}")
    per_image = [(_mask_similarity(p, masks), np.asarray(p.confidence, np.float64), np.asarray(p.class_id),
                  np.asarray(classes, np.int64)) for p, (masks, classes) in zip(predictions, truth)]
    return _map(per_image, num_classes, threshold)


def _mask_similarity(predicted: Any, masks: InstanceMasks) -> np.ndarray:
    """Mask IoU; for two empty masks, the IoU of the boxes they were cropped to (0/0 says nothing)."""
    iou = predicted.masks.iou(masks)
    empty = (predicted.masks.areas() == 0)[:, None] & (masks.areas() == 0)[None, :]
    if empty.any():
        boxes = np.array([[x, y, x + b.shape[1], y + b.shape[0]] for (x, y), b in zip(masks.origins, masks.bitmaps)],
                         np.float64).reshape(-1, 4)
        iou = np.where(empty, box_iou(predicted.xyxy, boxes), iou)
    return iou


def oks_map50(predictions: Sequence[Any], truth: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
              num_classes: int, *, threshold: float = 0.5) -> float:
    """OKS mAP@``threshold``: ``predictions`` are ``Poses``; ``truth`` per image (keypoints (m, K, 3), class ids, areas).

    Example:
        >>> from edgevision.poses import Poses
        >>> kp = np.array([[[10.0, 10.0, 1.0], [30.0, 30.0, 1.0]]])
        >>> pred = Poses(np.array([[10, 10, 30, 30]]), np.array([0.9]), np.array([0]), keypoints=kp)
        >>> oks_map50([pred], [(kp, np.array([0]), np.array([400.0]))], num_classes=1)
        1.0
    """
    if len(predictions) != len(truth):
        raise ValueError(f"expected predictions and truth for the same images, got {len(predictions)} and {len(truth)}")
    per_image = []
    for p, (keypoints, classes, areas) in zip(predictions, truth):
        sigmas = keypoint_sigmas(np.shape(keypoints)[1] if len(keypoints) else p.keypoints.shape[1])
        per_image.append((oks(p.keypoints, keypoints, areas, sigmas), np.asarray(p.confidence, np.float64),
                          np.asarray(p.class_id), np.asarray(classes, np.int64)))
    return _map(per_image, num_classes, threshold)


def instances_as_truth(result: Any) -> tuple[InstanceMasks, np.ndarray]:
    """A source model's ``InstanceSegmentation`` as ground truth (masks, class ids): what fidelity compares with."""
    return result.masks, result.class_id


def poses_as_truth(result: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A source model's ``Poses`` as ground truth (keypoints seen where scored >= 0.5, class ids, box areas)."""
    kp = np.array(result.keypoints, np.float64)
    kp[:, :, 2] = kp[:, :, 2] >= VISIBLE
    wh = result.xyxy[:, 2:] - result.xyxy[:, :2]
    return kp, result.class_id, (wh[:, 0] * wh[:, 1]).astype(np.float64)
