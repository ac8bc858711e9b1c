"""YOLO output layouts beyond the anchor-free head: objectness (v5, v7) and end-to-end (NMS in the model).

- ``detect_yolo_objectness``: ``[1, N, 5+nc]`` rows (cx, cy, w, h, objectness, class scores...), as
  the YOLOv5 and YOLOv7 exporters write them; a candidate scores objectness x class score.
- ``detect_yolo_end2end``: ``[1, K, 6]`` rows (x1, y1, x2, y2, score, class), already NMS-ed and
  zero-padded, as Ultralytics writes with ``nms=True`` and YOLOv10 / YOLO26 always do.

Boxes are in input pixels, or fractions of the input (TFLite exports), as ``box_format`` says
(None: decided from the outputs, see ``edgevision.tasks.detect.centres_normalized``).

Example:
    >>> from edgevision.transform import make_transform
    >>> t = make_transform((64, 64), (64, 64), "stretch")
    >>> out = np.array([[[8.0, 8.0, 24.0, 24.0, 0.9, 1.0], [0, 0, 0, 0, 0, 0]]])   # [1, K, 6]
    >>> d = detect_yolo_end2end(out, transform=t, labels=("a", "b"))
    >>> d.xyxy.tolist(), d.names
    ([[8.0, 8.0, 24.0, 24.0]], ['b'])
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import ModelError
from ..results import Detections
from ..transform import Transform
from .common import Quantization, dequantize
from .detect import centres_normalized, check_scores, parse_box_format, select_boxes


def objectness_rows(output: np.ndarray, n_labels: int) -> np.ndarray:
    """The (N, 5+nc) rows of a ``[1, N, 5+nc]`` (or ``[1, 5+nc, N]``) objectness output.

    >>> objectness_rows(np.zeros((1, 25200, 85)), 80).shape
    (25200, 85)
    """
    shape = tuple(output.shape)
    if output.ndim != 3 or shape[0] != 1:
        raise ModelError(f"expected a YOLO objectness output [1, N, 5+nc], got {shape}")
    a, b = shape[1], shape[2]
    if n_labels and 5 + n_labels in (a, b) and a != b:
        rows = output[0] if b == 5 + n_labels else output[0].T
    else:
        rows = output[0].T if 6 <= a < b else output[0]  # [1, N, 5+nc] as v5/v7 write it, unless clearly transposed
    if rows.shape[1] < 6:
        raise ModelError(f"expected a YOLO objectness output with at least 6 values per box (5+nc), got {shape}")
    return rows


def detect_yolo_objectness(output: np.ndarray, *, transform: Transform, score_threshold: float = 0.25,
                           iou_threshold: float = 0.45, max_detections: int = 100, labels: Sequence[str] = (),
                           quant: Quantization = None, box_format: str | None = None,
                           class_agnostic: bool = False) -> Detections:
    """Decode a YOLOv5/v7 output: score = objectness x best class score, then NMS as ``detect_yolo`` does.

    Example:
        >>> from edgevision.transform import make_transform
        >>> t = make_transform((64, 64), (64, 64), "stretch")
        >>> out = np.array([[[32.0, 32.0, 16.0, 16.0, 0.9, 0.2, 0.8]]])    # [1, N, 5+nc]
        >>> d = detect_yolo_objectness(out, transform=t)
        >>> d.xyxy.tolist(), d.class_id.tolist(), round(float(d.confidence[0]), 2)
        ([[24.0, 24.0, 40.0, 40.0]], [1], 0.72)
    """
    rows = dequantize(objectness_rows(np.asarray(output), len(labels)), quant)
    objectness, class_scores = rows[:, 4], rows[:, 5:]
    check_scores(objectness, "objectness scores")
    class_id = np.argmax(class_scores, axis=1)
    best = np.take_along_axis(class_scores, class_id[:, None], axis=1)[:, 0]
    check_scores(best, "class scores")
    fmt = parse_box_format(box_format)
    normalized = centres_normalized(rows[:, :2]) if fmt is None else fmt == "normalized"
    return select_boxes(rows[:, :4], objectness * best, class_id, transform=transform,
                        labels=labels, score_threshold=score_threshold, iou_threshold=iou_threshold,
                        max_detections=max_detections, normalized=normalized, class_agnostic=class_agnostic,
                        centre=True)


def end2end_rows(output: np.ndarray) -> np.ndarray:
    """The (K, 6) rows of a ``[1, K, 6]`` end-to-end output; ModelError for any other shape."""
    shape = tuple(output.shape)
    if output.ndim != 3 or shape[0] != 1 or shape[2] != 6:
        raise ModelError(f"expected an end-to-end output [1, K, 6] (x1, y1, x2, y2, score, class), got {shape}")
    return output[0]


def detect_yolo_end2end(output: np.ndarray, *, transform: Transform, score_threshold: float = 0.25,
                        max_detections: int = 300, labels: Sequence[str] = (), quant: Quantization = None,
                        box_format: str | None = None) -> Detections:
    """Decode rows (x1, y1, x2, y2, score, class) that the model already NMS-ed: threshold, best first, no NMS.

    ``box_format`` None: fractions when no corner of a row that scores above 0 exceeds 2.
    """
    rows = dequantize(end2end_rows(np.asarray(output)), quant)
    score, classes = rows[:, 4], rows[:, 5]
    check_scores(score, "scores")
    if classes.size and (not np.all(np.isfinite(classes)) or np.any(np.abs(classes - np.rint(classes)) > 1e-3)):
        raise ModelError(f"expected whole class ids in column 5 of an end-to-end output [1, K, 6], got "
                         f"{float(classes[np.argmax(np.abs(classes - np.rint(classes)))]):.3f}")
    fmt = parse_box_format(box_format)
    normalized = fmt == "normalized" if fmt is not None else centres_normalized(rows[score > 0, :4])
    return select_boxes(rows[:, :4], score, np.rint(classes).astype(np.int64), transform=transform, labels=labels,
                        score_threshold=score_threshold, iou_threshold=None, max_detections=max_detections,
                        normalized=normalized)


# ---------------------------------------------------------------- binding (the decoder registry's ``bind``)
def _once(config: dict) -> dict:
    """Per-model state: the box format, given (``box_format``) or decided on the first frame and then fixed."""
    return {"box_format": parse_box_format(config.pop("box_format", None))}


def _bound(decode: Callable, output: Any, labels: tuple, state: dict, options: dict, rows: Callable,
           centres: Callable) -> Callable:
    from ..layouts import likely_layouts
    from .detect import ScoreRangeError

    shape = tuple(output.shape)
    quant = output.quant

    def run(outs: Sequence[np.ndarray], t: Transform) -> Detections:
        if state["box_format"] is None:  # decided once, on the first frame: never per frame
            r = dequantize(rows(np.asarray(outs[0])), quant)
            state["box_format"] = "normalized" if centres_normalized(centres(r)) else "pixels"
        try:
            return decode(outs[0], transform=t, labels=labels, quant=quant, box_format=state["box_format"], **options)
        except ScoreRangeError as e:
            raise ScoreRangeError(f"{e} from outputs {list(shape)}: they look like {likely_layouts(shape, len(labels))}") \
                from None

    return run


def bind_yolo(config: dict, outputs: list, labels: tuple) -> Callable:
    """Bind ``detect_yolo`` to a model's single rank-3 output."""
    from .detect import _yolo_rows, detect_yolo

    if len(outputs) != 1 or len(outputs[0].shape) != 3:
        raise ModelError(f"expected one YOLO output [1, 4+nc, N] or [1, N, 4+nc], got {[list(o.shape) for o in outputs]}")
    options = {k: v for k, v in config.items() if k != "type"}
    state = _once(options)
    return _bound(detect_yolo, outputs[0], labels, state, options, lambda o: _yolo_rows(o, len(labels)),
                  lambda r: r[:, :2])


def bind_objectness(config: dict, outputs: list, labels: tuple) -> Callable:
    """Bind ``detect_yolo_objectness`` to a model's single ``[1, N, 5+nc]`` output."""
    if len(outputs) != 1 or len(outputs[0].shape) != 3:
        raise ModelError(f"expected one YOLO objectness output [1, N, 5+nc], got {[list(o.shape) for o in outputs]}")
    options = {k: v for k, v in config.items() if k != "type"}
    state = _once(options)
    return _bound(detect_yolo_objectness, outputs[0], labels, state, options,
                  lambda o: objectness_rows(o, len(labels)), lambda r: r[:, :2])


def bind_end2end(config: dict, outputs: list, labels: tuple) -> Callable:
    """Bind ``detect_yolo_end2end`` to a model's single ``[1, K, 6]`` output."""
    if len(outputs) != 1 or len(outputs[0].shape) != 3 or outputs[0].shape[2] != 6:
        raise ModelError(f"expected one end-to-end output [1, K, 6], got {[list(o.shape) for o in outputs]}")
    options = {k: v for k, v in config.items() if k != "type"}
    state = _once(options)
    return _bound(detect_yolo_end2end, outputs[0], labels, state, options, end2end_rows,
                  lambda r: r[r[:, 4] > 0, :4])
