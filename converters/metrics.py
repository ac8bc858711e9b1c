"""Task metrics in plain numpy: accuracy and top-1 agreement, mAP@0.5, mean IoU.

Used two ways: against true labels (the reference models' held-out figures), and
to measure a converted artifact's fidelity against its source model, where the
source model's outputs stand in for the ground truth: its top-1 ids, its
detections (those the decoder kept, i.e. above its score threshold), its class maps.

Conventions:

- detection AP is per class, all-point interpolated (VOC 2010+ / COCO's
  area under the monotone precision envelope, no 11- or 101-point sampling);
  predictions are ranked by confidence over the whole set and each is matched,
  in that order, to the still-unmatched ground-truth box of its class and image
  with the highest IoU, if that IoU is >= the threshold (COCO's rule): a second
  detection of an already matched box is a false positive. mAP is the mean
  over the classes that have ground truth; predictions of other classes count
  nowhere. With no ground truth at all, mAP is 1.0 if nothing was predicted
  either, else 0.0.
- segmentation IoU is accumulated over the whole set per class (sum of
  intersections / sum of unions, not a mean of per-image IoUs); class 0 is
  background and is a class like any other; classes absent from both the
  predictions and the truth are left out of the mean.

Example:
    >>> gt = [(np.array([[0, 0, 10, 10]]), np.array([0]))]
    >>> pred = [(np.array([[0, 0, 10, 11]]), np.array([0.9]), np.array([0]))]
    >>> map50(pred, gt, num_classes=1)
    1.0
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Boxes = np.ndarray  # (n, 4) xyxy


def _top1(values: Any) -> np.ndarray:
    """Class ids from ints, an id array, or a sequence of results with ``class_id`` (best first)."""
    if isinstance(values, np.ndarray):
        return values.astype(np.int64).reshape(-1)
    return np.array([int(np.asarray(v.class_id).reshape(-1)[0]) if hasattr(v, "class_id") else int(v)
                     for v in values], np.int64)


def accuracy(pred_ids: Any, true_ids: Any) -> float:
    """Fraction of predicted class ids equal to the true ones (results with ``class_id`` count their top-1).

    Example:
        >>> accuracy([0, 1, 2, 2], [0, 1, 1, 2])
        0.75
    """
    pred, true = _top1(pred_ids), _top1(true_ids)
    if pred.shape != true.shape:
        raise ValueError(f"expected as many predictions as labels, got {len(pred)} and {len(true)}")
    if len(true) == 0:
        raise ValueError("expected at least one label, got none")
    return float(np.mean(pred == true))


def top1_agreement(a_ids: Any, b_ids: Any) -> float:
    """Fraction of inputs where two models' top-1 classes agree (e.g. an artifact and its source).

    Example:
        >>> top1_agreement(np.array([3, 1, 4]), np.array([3, 1, 5]))
        0.6666666666666666
    """
    return accuracy(a_ids, b_ids)


def box_iou(a: Boxes, b: Boxes) -> np.ndarray:
    """(n, m) IoU of xyxy boxes ``a`` (n, 4) and ``b`` (m, 4); 0 where a union is empty.

    Example:
        >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [5, 5, 6, 6]])).round(3).tolist()
        [[0.333, 0.0]]
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def average_precision(confidence: np.ndarray, is_tp: np.ndarray, num_ground_truth: int) -> float:
    """All-point interpolated AP of ranked detections of one class.

    ``is_tp`` says which detections matched a ground-truth box; detections are ranked
    by ``confidence`` (stable, so ties keep their given order). 0.0 when there is
    ground truth but no true positive; NaN when ``num_ground_truth`` is 0 (undefined).

    Example:
        >>> average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 2)
        0.8333333333333333
    """
    confidence = np.asarray(confidence, np.float64).reshape(-1)
    is_tp = np.asarray(is_tp, bool).reshape(-1)
    if confidence.shape != is_tp.shape:
        raise ValueError(f"expected one match flag per detection, got {len(is_tp)} for {len(confidence)}")
    if num_ground_truth <= 0:
        return float("nan")
    order = np.argsort(-confidence, kind="stable")
    tp = np.cumsum(is_tp[order])
    fp = np.cumsum(~is_tp[order])
    recall = np.concatenate([[0.0], tp / num_ground_truth])
    precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1)])
    # The envelope: precision at recall r is the best precision at any recall >= r.
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * envelope[1:]))


def _prediction(p: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if hasattr(p, "xyxy"):  # edgevision.results.Detections, or anything shaped like it
        xyxy, conf, cls = p.xyxy, p.confidence, p.class_id
    else:
        xyxy, conf, cls = p
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    conf = np.asarray(conf, np.float64).reshape(-1)
    cls = np.asarray(cls, np.int64).reshape(-1)
    if not len(xyxy) == len(conf) == len(cls):
        raise ValueError(f"expected boxes, confidences and class ids of one length, got "
                         f"{len(xyxy)}, {len(conf)} and {len(cls)}")
    return xyxy, conf, cls


def _truth(g: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(g, "xyxy"):  # a reference model's Detections: its confidences are not needed
        xyxy, cls = g.xyxy, g.class_id
    else:
        xyxy, cls = g
    xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
    cls = np.asarray(cls, np.int64).reshape(-1)
    if len(xyxy) != len(cls):
        raise ValueError(f"expected one class id per ground-truth box, got {len(cls)} for {len(xyxy)}")
    return xyxy, cls


def reference_ground_truth(detections: Any, score_threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A reference model's detections as ground truth (xyxy, class_id): those scoring >= ``score_threshold``.

    The runtime's decoder already drops detections under its own threshold, so the
    default keeps them all; pass a threshold for raw, unthresholded detections.

    Example:
        >>> ref = (np.array([[0, 0, 4, 4], [1, 1, 2, 2]]), np.array([0.9, 0.1]), np.array([2, 0]))
        >>> reference_ground_truth(ref, 0.25)[1].tolist()
        [2]
    """
    xyxy, conf, cls = _prediction(detections)
    keep = conf >= score_threshold
    return xyxy[keep], cls[keep]


def average_precisions(predictions: Sequence[Any], ground_truth: Sequence[Any], num_classes: int, *,
                       iou: float = 0.5) -> dict[int, float]:
    """{class id: AP} for every class with ground truth (see the module docstring for the rules).

    ``predictions``: per image, a ``Detections`` or (xyxy, confidence, class_id);
    ``ground_truth``: per image, (xyxy, class_id) or a reference model's ``Detections``.

    Example:
        >>> gt = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 1]))]
        >>> pred = [(np.array([[0, 0, 10, 10]]), np.array([0.8]), np.array([0]))]
        >>> average_precisions(pred, gt, num_classes=2)
        {0: 1.0, 1: 0.0}
    """
    if len(predictions) != len(ground_truth):
        raise ValueError(f"expected predictions and ground truth for the same images, got "
                         f"{len(predictions)} and {len(ground_truth)}")
    preds = [_prediction(p) for p in predictions]
    truths = [_truth(g) for g in ground_truth]
    for _, _, cls in preds:
        _check_ids(cls, num_classes, "predicted")
    for _, cls in truths:
        _check_ids(cls, num_classes, "ground-truth")
    result: dict[int, float] = {}
    for c in range(num_classes):
        n_gt = sum(int(np.sum(cls == c)) for _, cls in truths)
        if n_gt == 0:
            continue
        confidences, hits = [], []
        for (p_xyxy, p_conf, p_cls), (g_xyxy, g_cls) in zip(preds, truths):
            p_sel, g_sel = p_cls == c, g_cls == c
            conf, flags = _match(p_xyxy[p_sel], p_conf[p_sel], g_xyxy[g_sel], iou)
            confidences.append(conf)
            hits.append(flags)
        result[c] = average_precision(np.concatenate(confidences), np.concatenate(hits), n_gt)
    return result


def _check_ids(ids: np.ndarray, num_classes: int, what: str) -> None:
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"expected {what} class ids in [0, {num_classes}), got {int(ids.min())}..{int(ids.max())}")


def _match(p_xyxy: np.ndarray, p_conf: np.ndarray, g_xyxy: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching in one image and class: (confidences, true-positive flags), best first."""
    order = np.argsort(-p_conf, kind="stable")
    flags = np.zeros(len(order), bool)
    if len(g_xyxy):
        overlaps = box_iou(p_xyxy[order], g_xyxy)
        taken = np.zeros(len(g_xyxy), bool)
        for i in range(len(order)):
            candidates = np.where(taken, -1.0, overlaps[i])
            j = int(np.argmax(candidates))
            if candidates[j] >= iou:
                taken[j] = flags[i] = True
    return p_conf[order], flags


def map50(predictions: Sequence[Any], ground_truth: Sequence[Any], num_classes: int, *,
          iou: float = 0.5) -> float:
    """Mean AP at IoU ``iou`` over the classes that have ground truth.

    Example:
        >>> gt = [(np.array([[0, 0, 10, 10]]), np.array([0])), (np.zeros((0, 4)), np.zeros(0))]
        >>> dup = (np.array([[0, 0, 10, 10], [0, 0, 10, 10]]), np.array([0.9, 0.8]), np.array([0, 0]))
        >>> map50([dup, (np.zeros((0, 4)), [], [])], gt, num_classes=1)
        1.0
    """
    per_class = average_precisions(predictions, ground_truth, num_classes, iou=iou)
    if not per_class:  # nothing to find: perfect only if nothing was claimed either
        found = sum(len(_prediction(p)[0]) for p in predictions)
        return 1.0 if found == 0 else 0.0
    return float(np.mean(list(per_class.values())))


def class_iou(pred_maps: Sequence[np.ndarray], true_maps: Sequence[np.ndarray], num_classes: int) -> dict[int, float]:
    """{class id: IoU} over the whole set, for every class present in the predictions or the truth.

    Maps are (H, W) integer class ids (0 = background), one prediction per true map, same shapes.

    Example:
        >>> class_iou([np.array([[0, 1], [1, 1]])], [np.array([[0, 1], [0, 1]])], 3)
        {0: 0.5, 1: 0.6666666666666666}
    """
    if len(pred_maps) != len(true_maps):
        raise ValueError(f"expected one predicted map per true map, got {len(pred_maps)} and {len(true_maps)}")
    if len(true_maps) == 0:
        raise ValueError("expected at least one class map, got none")
    # One confusion matrix over the whole set: intersections on its diagonal, unions from its sums.
    confusion = np.zeros((num_classes, num_classes), np.int64)
    for p, t in zip(pred_maps, true_maps):
        p, t = np.asarray(p).astype(np.int64), np.asarray(t).astype(np.int64)
        if p.shape != t.shape:
            raise ValueError(f"expected a predicted map of the true map's shape {t.shape}, got {p.shape}")
        _check_ids(p, num_classes, "predicted")
        _check_ids(t, num_classes, "true")
        confusion += np.bincount(t.ravel() * num_classes + p.ravel(),
                                 minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    inter = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - inter
    return {c: float(inter[c] / union[c]) for c in range(num_classes) if union[c] > 0}


def mean_iou(pred_maps: Sequence[np.ndarray], true_maps: Sequence[np.ndarray], num_classes: int) -> float:
    """Mean over classes of the set-wide IoU, background (class 0) included; absent classes left out.

    Example:
        >>> mean_iou([np.array([[0, 1], [1, 1]])], [np.array([[0, 1], [0, 1]])], 3)
        0.5833333333333333
    """
    return float(np.mean(list(class_iou(pred_maps, true_maps, num_classes).values())))
