"""The greedy NMS the tests' reference decodes use, written out here rather than taken from edgevision
(the decodes it checks must not share its code)."""
from __future__ import annotations

import numpy as np


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices kept, best score first: each drops the later boxes that overlap it by more than ``iou``."""
    order, keep = list(np.argsort(-scores, kind="stable")), []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            x1, y1 = np.maximum(boxes[i, :2], boxes[j, :2])
            x2, y2 = np.minimum(boxes[i, 2:], boxes[j, 2:])
            inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
            union = np.prod(boxes[i, 2:] - boxes[i, :2]) + np.prod(boxes[j, 2:] - boxes[j, :2]) - inter
            if inter / union <= iou:
                rest.append(j)
        order = rest
    return keep
