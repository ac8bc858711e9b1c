"""``Poses``: detections that each carry keypoints (x, y, score) in source pixels, and the COCO skeleton.

It is a ``Detections`` (boxes, scores, class ids, track ids once tracked), so NMS,
metrics, tracking and counting treat it as one. ``keypoints`` is (n, K, 3): x and y
in source pixels, and the keypoint's score (visibility) in 0..1 (1 where the model
gives no score).

Example:
    >>> kp = np.zeros((1, 17, 3), np.float32); kp[0, :, 2] = 0.9
    >>> p = Poses(np.array([[0, 0, 10, 20]]), np.array([0.8]), np.array([0]), ("person",), keypoints=kp)
    >>> p.to_dict()["poses"][0]["keypoints"][0], p.describe()
    ([0.0, 0.0, 0.9], '1 pose: person 0.80 [0, 0, 10, 20] 17/17 keypoints')
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .results import Detections

COCO_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle")
# Limbs as (keypoint, keypoint) pairs, 0-based: COCO's person skeleton (as Ultralytics and MoveNet draw it).
COCO_SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
                 (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
# COCO's per-keypoint OKS sigmas (cocoeval), for the 17 person keypoints.
COCO_SIGMAS = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87,
                        0.89, 0.89], np.float64) / 10.0
VISIBLE = 0.5  # a keypoint whose score is at least this counts as seen (drawn, counted in describe)


@dataclass
class Poses(Detections):
    """Boxes with K keypoints each: ``keypoints[i]`` is (K, 3) x, y, score of ``xyxy[i]``'s instance."""

    keypoints: np.ndarray | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        kp = np.zeros((len(self.xyxy), 0, 3)) if self.keypoints is None else self.keypoints
        self.keypoints = np.asarray(kp, np.float32)
        if self.keypoints.ndim != 3 or self.keypoints.shape[0] != len(self.xyxy) or self.keypoints.shape[2] != 3:
            raise ValueError(f"expected keypoints of shape ({len(self.xyxy)}, K, 3), got {self.keypoints.shape}")

    @classmethod
    def empty(cls, labels: Sequence[str] = (), num_keypoints: int = 17) -> Poses:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), labels,
                   keypoints=np.zeros((0, num_keypoints, 3), np.float32))

    def __getitem__(self, index: Any) -> Poses:
        if isinstance(index, (int, np.integer)):
            index = [index]
        assert self.keypoints is not None
        return Poses(self.xyxy[index], self.confidence[index], self.class_id[index], self.labels,
                     None if self.tracker_id is None else self.tracker_id[index], keypoints=self.keypoints[index])

    @property
    def skeleton(self) -> tuple[tuple[int, int], ...]:
        """The limbs to draw: COCO's for 17 keypoints, none otherwise."""
        assert self.keypoints is not None
        return COCO_SKELETON if self.keypoints.shape[1] == len(COCO_KEYPOINTS) else ()

    def describe(self, noun: str = "pose") -> str:
        """``'1 pose: person 0.80 [0, 0, 10, 20] 15/17 keypoints'``."""
        assert self.keypoints is not None
        text = super().describe(noun)
        if not len(self):
            return text
        head, _, rest = text.partition(": ")
        seen = (self.keypoints[:, :, 2] >= VISIBLE).sum(axis=1)
        k = self.keypoints.shape[1]
        return head + ": " + "; ".join(f"{p} {int(s)}/{k} keypoints" for p, s in zip(rest.split("; "), seen))

    def to_dict(self) -> dict[str, Any]:
        """``{"task": "pose", "keypoint_names": [...], "poses": [{..., "keypoints": [[x, y, score], ...]}]}``."""
        assert self.keypoints is not None
        rows = self.items()
        for row, kp in zip(rows, self.keypoints):
            row["keypoints"] = [[round(float(x), 2), round(float(y), 2), round(float(s), 4)] for x, y, s in kp]
        names = list(COCO_KEYPOINTS) if self.keypoints.shape[1] == len(COCO_KEYPOINTS) else []
        return {"task": "pose", "keypoint_names": names, "poses": rows}
