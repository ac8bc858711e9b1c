"""Ground truth of instance segmentation and pose beside an image (named in the task registry's ``read_truth``).

- instance segmentation: ``NAME.json`` with ``{"boxes": [...], "labels": [...]}`` and
  ``NAME.instances.png``, an 8- or 16-bit map of instance numbers (0 background, i + 1 for
  the i-th box of the JSON);
- pose: ``NAME.json`` with ``{"boxes": [...], "labels": [...], "keypoints": [[[x, y, v], ...], ...]}``,
  one list of K (x, y, visibility) per box, COCO's convention (v 0: not labelled, 1: hidden,
  2: visible; v > 0 counts).

Example:
    >>> t = Truth(Path("a.png"), Path("a.json"), {"boxes": [[0, 0, 4, 4]], "labels": ["p"],
    ...           "keypoints": [[[1, 1, 2], [3, 3, 0]]]}, {"p": 0}, None)
    >>> kp, classes, areas = pose_truth(t)
    >>> kp.shape, classes.tolist(), areas.tolist()
    ((1, 2, 3), [0], [16.0])
"""
from __future__ import annotations

from pathlib import Path  # noqa: F401 - the docstring example names it

import numpy as np

from ..errors import UserInputError
from ..masks import InstanceMasks
from .calibration import Truth, detection_truth

INSTANCES_SUFFIX = ".instances.png"


def instance_truth(t: Truth) -> tuple[InstanceMasks, np.ndarray] | None:
    """(masks, class ids) from the JSON's boxes and labels and the instance map beside the image, or None."""
    boxes = detection_truth(t)
    path = t.image.with_name(t.image.stem + INSTANCES_SUFFIX)
    if boxes is None or not path.is_file():
        return None
    import cv2

    ids = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if ids is None or ids.ndim != 2:
        raise UserInputError(f"expected a single-channel instance map in {path.name}, got none OpenCV reads")
    _, classes = boxes
    found = int(ids.max())
    if found > len(classes):
        raise UserInputError(f"expected instance numbers up to {len(classes)} (the boxes in {t.sidecar.name}) "
                             f"in {path.name}, got {found}")
    return InstanceMasks.from_full(np.stack([ids == i + 1 for i in range(len(classes))]).reshape(
        len(classes), *ids.shape)), classes


def pose_truth(t: Truth) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(keypoints (m, K, 3), class ids, box areas) from the JSON beside the image, or None without keypoints."""
    if "keypoints" not in t.data:
        return None
    boxes = detection_truth(t)
    assert boxes is not None  # detection_truth reads the boxes the keypoints belong to
    xyxy, classes = boxes
    try:
        kp = np.asarray(t.data["keypoints"], np.float64)
    except ValueError:
        kp = np.zeros(0)
    if kp.ndim != 3 or kp.shape[0] != len(xyxy) or kp.shape[2] != 3:
        raise UserInputError(f"expected keypoints [[[x, y, v], ...], ...] for each of the {len(xyxy)} boxes in "
                             f"{t.sidecar.name}, got an array of shape {kp.shape}")
    wh = np.clip(xyxy[:, 2:] - xyxy[:, :2], 0, None).astype(np.float64)
    return kp, classes, wh[:, 0] * wh[:, 1]
