"""Fidelity metrics of instance segmentation and pose (named in the task registry).

- instance segmentation: mask mAP@0.5 taking the source model's instances as ground truth
  (and mask mAP@0.5 against the images' own instance masks, where they have them);
- pose: OKS mAP@0.5 taking the source model's poses as ground truth (keypoints it scores
  >= 0.5 count as seen), and against the images' own keypoints.

Example:
    >>> INSTANCE_SEGMENTATION.metric, POSE.truth_metric
    ('mask_map50_vs_source', 'oks_map50')
"""
from __future__ import annotations

from .fidelity import FidelityMetric
from .metrics_tasks import instances_as_truth, mask_map50, oks_map50, poses_as_truth

INSTANCE_SEGMENTATION = FidelityMetric(
    "mask_map50_vs_source", lambda got, ref, n: mask_map50(got, [instances_as_truth(r) for r in ref], n),
    "mask_map50", lambda got, truth, n: mask_map50(got, list(truth), n))
POSE = FidelityMetric(
    "oks_map50_vs_source", lambda got, ref, n: oks_map50(got, [poses_as_truth(r) for r in ref], n),
    "oks_map50", lambda got, truth, n: oks_map50(got, list(truth), n))
