"""Drawing for the tasks beyond boxes: instance masks, keypoint skeletons, and counting lines and zones.

The task registry names ``draw_instances`` and ``draw_poses`` as the annotator's
drawing for instance segmentation and pose; ``draw_counting`` draws a stream's
lines and zones with their counts (``edgevision.track.counting``). All draw into
the ``Annotator``'s reused buffer, in its channel order.

Example:
    >>> from edgevision.annotate import Annotator
    >>> from edgevision.masks import InstanceMasks
    >>> from edgevision.instances import InstanceSegmentation
    >>> r = InstanceSegmentation(np.array([[10, 10, 30, 30]]), np.array([0.9]), np.array([1]), ("a", "b"),
    ...                          masks=InstanceMasks((64, 48), np.array([[10, 10]]), [np.ones((20, 20), bool)]))
    >>> out = Annotator(order="RGB").draw(np.zeros((48, 64, 3), np.uint8), r)
    >>> bool(out[20, 20].any()), bool(out[40, 50].any())          # inside the mask, far outside it
    (True, False)
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .instances import InstanceSegmentation
from .poses import VISIBLE, Poses


def draw_instances(annotator: Any, out: np.ndarray, result: InstanceSegmentation, scale: int) -> None:
    """Each mask blended in its class colour inside its box crop, then the boxes and tags as for detections."""
    from .annotate import draw_detections

    assert result.masks is not None
    alpha = annotator.alpha
    for (x0, y0), bitmap, class_id in zip(result.masks.origins, result.masks.bitmaps, result.class_id):
        h, w = bitmap.shape
        if not h or not w:
            continue
        region = out[y0:y0 + h, x0:x0 + w]  # a view: blended in place, only where the mask is
        colour = np.asarray(annotator.colour(class_id), np.float32)
        region[bitmap] = (region[bitmap] * (1.0 - alpha) + colour * alpha).astype(np.uint8)
    draw_detections(annotator, out, result, scale)


def draw_poses(annotator: Any, out: np.ndarray, result: Poses, scale: int) -> None:
    """The boxes and tags as for detections, then each skeleton: limbs between seen keypoints, and the keypoints."""
    from .annotate import draw_detections

    cv2 = annotator.cv2
    draw_detections(annotator, out, result, scale)
    assert result.keypoints is not None
    skeleton = result.skeleton
    for kp, class_id in zip(result.keypoints, result.class_id):
        colour = annotator.colour(class_id)
        seen = kp[:, 2] >= VISIBLE
        points = [(round(float(x)), round(float(y))) for x, y in kp[:, :2]]
        for a, b in skeleton:
            if seen[a] and seen[b]:
                cv2.line(out, points[a], points[b], colour, max(1, scale), cv2.LINE_AA)
        for point, ok in zip(points, seen):
            if ok:
                cv2.circle(out, point, 2 + scale, (255, 255, 255), cv2.FILLED, cv2.LINE_AA)
                cv2.circle(out, point, 1 + scale, colour, cv2.FILLED, cv2.LINE_AA)


def draw_counting(annotator: Any, out: np.ndarray, counters: Sequence[Any], scale: int) -> None:
    """Every counting line and zone with its running counts, in white, labelled at its first point."""
    cv2 = annotator.cv2
    white = (255, 255, 255)
    for counter in counters:
        points = np.round(np.asarray(counter.points, np.float64)).astype(np.int32)
        cv2.polylines(out, [points.reshape(-1, 1, 2)], bool(getattr(counter, "closed", False)), white,
                      2 * scale, cv2.LINE_AA)
        x, y = (int(v) for v in points.min(axis=0))
        annotator.label(out, counter.describe(), (max(0, x), max(0, y)), white, scale)
