"""Task decoders: small pure functions from raw output arrays to Results.

Example:
    >>> import numpy as np
    >>> from edgevision.tasks import classify
    >>> classify(np.array([0.1, 0.9])).class_id.tolist()
    [1, 0]
"""
from .classify import classify
from .common import dequantize, softmax
from .detect import assign_ssd_outputs, detect_ssd, detect_yolo
from .nms import batched_nms, box_iou, nms
from .segment import segment

__all__ = [
    "assign_ssd_outputs",
    "batched_nms",
    "box_iou",
    "classify",
    "dequantize",
    "detect_ssd",
    "detect_yolo",
    "nms",
    "segment",
    "softmax",
]
