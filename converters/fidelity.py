"""Fidelity: how much of the source model's behaviour an artifact keeps, measured through the runtime.

The source model runs behind the runtime's Backend interface (``ReferenceBackend``)
with the very preprocessing and decoder the artifact gets, so the only
difference between the two result sets is the artifact itself.

- classification: top-1 agreement with the source (and accuracy, with ground truth)
- detection: mAP@0.5 taking the source's detections as ground truth (and mAP@0.5 against ground truth)
- segmentation: mIoU against the source's class maps (and against ground truth)

``drop`` is what ``--max-drop`` checks: with ground truth, the source's metric
minus the artifact's; without, 1 minus the agreement with the source.

Example:
    >>> ref = reference_results(reference_model, samples)        # doctest: +SKIP
    >>> measure(artifact_model, samples, ref)["drop"]           # doctest: +SKIP
    0.0
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..refs import resolve
from ..tasks.registry import task_spec
from .calibration import Sample
from .metrics import accuracy, map50, mean_iou, top1_agreement


@dataclass(frozen=True)
class FidelityMetric:
    """How one task's artifact is compared with its source (named in the task registry's ``fidelity``)."""

    metric: str  # agreement with the source's own results, the source taken as ground truth
    agreement: Callable[[Sequence[Any], Sequence[Any], int], float]  # (got, reference results, classes)
    truth_metric: str  # the score against ground truth, where the images carry it
    truth_score: Callable[[Sequence[Any], Sequence[Any], int], float]  # (got, truth, classes)
    # more figures, (got, reference results, truth or None, classes) -> {name: value}
    extra: Callable[[Sequence[Any], Sequence[Any], Sequence[Any] | None, int], dict] | None = None


def _top1(results: Sequence[Any]) -> np.ndarray:
    return np.asarray([int(r.class_id[0]) if len(r.class_id) else -1 for r in results])


def _detections(results: Sequence[Any]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(r.xyxy, r.confidence, r.class_id) for r in results]


CLASSIFICATION = FidelityMetric(
    "top1_agreement", lambda got, ref, n: float(top1_agreement(_top1(got), _top1(ref))),
    "accuracy", lambda got, truth, n: float(accuracy(_top1(got), np.asarray(truth))))
def detection_extra(got: Sequence[Any], ref: Sequence[Any], truth: Sequence[Any] | None, n: int) -> dict[str, Any]:
    """The share of the source's boxes kept (same class, IoU >= 0.9) and, with ground truth, mAP50-95 by
    pycocotools for the artifact and the source, with COCO's mAP50 beside this project's own as a cross-check."""
    from .coco import KEPT_IOU, boxes_kept, coco_map

    out: dict[str, Any] = {"boxes_kept": round(boxes_kept(got, [(r.xyxy, r.class_id) for r in ref]), 4),
                           "boxes_kept_iou": KEPT_IOU}
    if truth is not None:
        mine, source = coco_map(got, truth, n), coco_map(ref, truth, n)
        out.update(map50_95=round(mine["map50_95"], 4), source_map50_95=round(source["map50_95"], 4),
                   coco_map50=round(mine["map50"], 4))
    return out


DETECTION = FidelityMetric(
    "map50_vs_source", lambda got, ref, n: float(map50(_detections(got), [(r.xyxy, r.class_id) for r in ref], n)),
    "map50", lambda got, truth, n: float(map50(_detections(got), list(truth), n)), extra=detection_extra)
SEGMENTATION = FidelityMetric(
    "miou_vs_source", lambda got, ref, n: float(mean_iou([r.class_map for r in got], [r.class_map for r in ref], n)),
    "miou", lambda got, truth, n: float(mean_iou([r.class_map for r in got], list(truth), n)))


def metric_of(task: str) -> FidelityMetric:
    """The fidelity metric the task registry names for ``task``."""
    found: FidelityMetric = resolve(task_spec(task).fidelity)
    return found


def run_model(model: Any, samples: Sequence[Sample]) -> list[Any]:
    """The model's result on every sample."""
    return [model.predict(s.image) for s in samples]


def measure(model: Any, samples: Sequence[Sample], reference: Sequence[Any], *,
            num_classes: int, reference_truth_score: float | None = None) -> dict[str, Any]:
    """Fidelity of ``model`` against the source's ``reference`` results on ``samples``."""
    fid = metric_of(model.task)
    got = run_model(model, samples)
    out: dict[str, Any] = {"images": len(samples), "metric": fid.metric}
    out[fid.metric] = round(fid.agreement(got, reference, num_classes), 4)
    out["drop"] = round(1.0 - out[fid.metric], 4)
    truth = [s.truth for s in samples]
    if all(t is not None for t in truth) and truth:
        name = fid.truth_metric
        score = fid.truth_score(got, truth, num_classes)
        source = reference_truth_score if reference_truth_score is not None else score
        out.update({name: round(score, 4), f"source_{name}": round(source, 4), "drop": round(source - score, 4),
                    "drop_metric": name})
    else:
        out["drop_metric"] = f"1 - {fid.metric}"
    if fid.extra is not None:
        out.update(fid.extra(got, reference, truth if truth and all(t is not None for t in truth) else None,
                             num_classes))
    return out


def reference_truth_score(task: str, reference: Sequence[Any], samples: Sequence[Sample],
                          num_classes: int) -> float | None:
    """The source model's own metric against ground truth, when every sample has ground truth."""
    truth = [s.truth for s in samples]
    if not truth or any(t is None for t in truth):
        return None
    return metric_of(task).truth_score(reference, truth, num_classes)
