"""COCO-style detection figures: mAP50-95 by pycocotools (the reference implementation), and the share of a
source's boxes an artifact keeps.

``coco_map`` hands detections and ground truth to ``pycocotools.cocoeval.COCOeval`` (bbox, IoU
0.50:0.95, 101-point interpolation, up to 100 detections per image) and returns its mAP50-95 and
mAP50; the latter cross-checks this project's own all-point ``metrics.map50`` (the two
interpolations differ by a few thousandths on the same detections, never by more than 0.02 in
the tests).

``boxes_kept``: of the reference's boxes (the fp32 source's detections), the share an artifact
reproduces — a box of the same class with IoU >= 0.9, matched one to one, best IoU first. It is
what the int8 gate reads: a box whose class score was rounded away or whose corners moved by
more than a few pixels is lost.

Example:
    >>> ref = [(np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([0, 1]))]
    >>> got = [(np.array([[0, 0, 10, 10.5]]), np.array([0.9]), np.array([0]))]
    >>> boxes_kept(got, ref)
    0.5
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from .metrics import _prediction, box_iou

KEPT_IOU = 0.9


def _truth(t: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(t, "xyxy"):
        return np.asarray(t.xyxy, np.float64).reshape(-1, 4), np.asarray(t.class_id, np.int64).reshape(-1)
    boxes, classes = t
    return np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(classes, np.int64).reshape(-1)


def boxes_kept(predictions: Sequence[Any], reference: Sequence[Any], *, iou: float = KEPT_IOU) -> float:
    """Share of ``reference`` boxes matched by a prediction of the same class with IoU >= ``iou`` (1.0 when the
    reference has no box and nothing was predicted, else 0.0 with no reference box).

    Example:
        >>> boxes_kept([(np.zeros((0, 4)), np.zeros(0), np.zeros(0))], [(np.zeros((0, 4)), np.zeros(0))])
        1.0
    """
    if len(predictions) != len(reference):
        raise ValueError(f"expected one prediction per reference image, got {len(predictions)} for {len(reference)}")
    kept = total = predicted = 0
    for pred, ref in zip(predictions, reference):
        p_xyxy, _, p_cls = _prediction(pred)
        r_xyxy, r_cls = _truth(ref)
        total += len(r_xyxy)
        predicted += len(p_xyxy)
        if not len(r_xyxy) or not len(p_xyxy):
            continue
        ious = box_iou(r_xyxy, p_xyxy)
        ious[r_cls[:, None] != np.asarray(p_cls)[None, :]] = 0.0
        pairs = np.argwhere(ious >= iou)
        order = np.argsort(-ious[pairs[:, 0], pairs[:, 1]], kind="stable")
        used_r: set[int] = set()
        used_p: set[int] = set()
        for r, p in pairs[order]:
            if r not in used_r and p not in used_p:
                used_r.add(int(r))
                used_p.add(int(p))
        kept += len(used_r)
    if total == 0:
        return 1.0 if predicted == 0 else 0.0
    return kept / total


def coco_map(predictions: Sequence[Any], truth: Sequence[Any], num_classes: int) -> dict[str, float]:
    """{"map50_95", "map50"} of ``predictions`` against ``truth`` by pycocotools' COCOeval (bbox).

    ``predictions``: per image ``Detections`` or (xyxy, confidence, class ids); ``truth``: per image
    (xyxy, class ids) or ``Detections``. Boxes in pixels, x1/y1 exclusive. With no ground-truth box at
    all, both are 1.0 when nothing was predicted and 0.0 otherwise.

    Example:
        >>> gt = [(np.array([[0, 0, 10, 10]]), np.array([0]))]
        >>> coco_map([(np.array([[0, 0, 10, 10]]), np.array([0.9]), np.array([0]))], gt, 1)
        {'map50_95': 1.0, 'map50': 1.0}
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(predictions) != len(truth):
        raise ValueError(f"expected one prediction per image, got {len(predictions)} for {len(truth)}")
    images: list[dict] = []
    annotations: list[dict] = []
    detections: list[dict] = []
    for i, (pred, gt) in enumerate(zip(predictions, truth), start=1):
        images.append({"id": i})
        for box, cls in zip(*_truth(gt)):
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(cls) + 1,
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
        xyxy, conf, cls_ids = _prediction(pred)
        for box, score, cls in zip(np.asarray(xyxy, np.float64).reshape(-1, 4), conf, cls_ids):
            x0, y0, x1, y1 = (float(v) for v in box)
            detections.append({"image_id": i, "category_id": int(cls) + 1, "bbox": [x0, y0, x1 - x0, y1 - y0],
                               "score": float(score)})
    if not annotations:
        empty = 1.0 if not detections else 0.0
        return {"map50_95": empty, "map50": empty}
    if not detections:
        return {"map50_95": 0.0, "map50": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt_coco = COCO()
        gt_coco.dataset = {"images": images, "annotations": annotations,
                           "categories": [{"id": c + 1} for c in range(max(num_classes, 1))]}
        gt_coco.createIndex()
        evaluation = COCOeval(gt_coco, gt_coco.loadRes(detections), "bbox")
        evaluation.params.catIds = sorted({a["category_id"] for a in annotations})  # classes with ground truth
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    return {"map50_95": round(max(float(stats[0]), 0.0), 6), "map50": round(max(float(stats[1]), 0.0), 6)}
