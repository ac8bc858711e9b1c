"""Decode detector outputs into ``Detections`` in source-image pixels.

Two families: raw YOLO (ultralytics v8 style, NMS done here) and SSD-style
post-processed outputs (TFLite_Detection_PostProcess, TF Object Detection API).

Example:
    >>> import numpy as np
    >>> from edgevision.transform import make_transform
    >>> t = make_transform((640, 480), (320, 320), "letterbox")
    >>> out = np.array([[[160.0], [160.0], [100.0], [100.0], [0.9]]])  # [1, 4+nc, N]
    >>> detect_yolo(out, transform=t, labels=("cat",)).xyxy.tolist()
    [[220.0, 140.0, 420.0, 340.0]]
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from ..results import Detections
from ..transform import Transform
from .common import Quantization, dequantize
from .nms import batched_nms, nms

# Ultralytics' TFLite exports give boxes as fractions of the input; pixel box centres exceed this.
_NORMALIZED_MAX = 2.0


def _yolo_rows(output: np.ndarray, n_labels: int) -> np.ndarray:
    """The (N, 4 + nc) candidate rows of a [1, 4+nc, N] or [1, N, 4+nc] output."""
    shape = tuple(output.shape)
    if output.ndim != 3 or shape[0] != 1:
        raise ModelError(f"expected a YOLO output of shape [1, 4+nc, N] or [1, N, 4+nc], got {shape}")
    a, b = shape[1], shape[2]
    if n_labels:
        width = 4 + n_labels
        if a == b or width not in (a, b):
            raise ModelError(
                f"expected a YOLO output with one dim of 4+{n_labels} (the labels), got {shape}"
            )
        attrs_first = a == width
    else:
        if a == b:
            raise ModelError(
                f"expected a YOLO output whose 4+nc and N dims differ (pass labels to decide), got {shape}"
            )
        attrs_first = a < b
    rows = output[0].T if attrs_first else output[0]
    if rows.shape[1] < 5:
        raise ModelError(f"expected a YOLO output with at least 5 values per box (4+nc), got {shape}")
    return rows


def _cxcywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)


BOX_FORMATS = ("pixels", "normalized")
_SCORE_TOLERANCE = 1e-3  # float rounding of a sigmoid; quantised scores stay inside [0, 1]


class ScoreRangeError(ModelError):
    """Decoded scores outside [0, 1]: the outputs are not the layout the decoder reads (see ``edgevision.layouts``)."""


def check_scores(score: np.ndarray, what: str) -> None:
    """ScoreRangeError unless every score lies in [0, 1] (within float rounding).

    >>> check_scores(np.array([0.2, 2.0]), "class scores")
    Traceback (most recent call last):
    ...
    edgevision.tasks.detect.ScoreRangeError: expected class scores in [0, 1], got values from 0.20 to 2.00
    """
    if score.size:
        lo, hi = float(score.min()), float(score.max())
        if lo < -_SCORE_TOLERANCE or hi > 1 + _SCORE_TOLERANCE:
            raise ScoreRangeError(f"expected {what} in [0, 1], got values from {lo:.2f} to {hi:.2f}")


def parse_box_format(box_format: str | None) -> str | None:
    """"pixels", "normalized", or None (decide from the outputs); UserInputError naming the choices."""
    if box_format in (None, "auto"):
        return None
    name = str(box_format).lower().replace("normalised", "normalized")
    if name not in BOX_FORMATS:
        from ..errors import UserInputError

        raise UserInputError(f"expected a box format among {', '.join(BOX_FORMATS)} (or auto), got {box_format!r}")
    return name


def centres_normalized(centres: np.ndarray) -> bool:
    """Whether box centres are fractions of the input: a raw head has a candidate at every grid cell, so pixel
    centres reach far past 2 on any frame, fractions never do.

    >>> centres_normalized(np.array([[0.1, 0.9], [0.5, 0.5]])), centres_normalized(np.array([[4.0, 60.0]]))
    (True, False)
    """
    return centres.size == 0 or float(np.abs(centres).max()) <= _NORMALIZED_MAX


def select_boxes(boxes: np.ndarray, score: np.ndarray, class_id: np.ndarray, *, transform: Transform,
                 labels: Sequence[str], score_threshold: float, iou_threshold: float | None, max_detections: int,
                 normalized: bool, class_agnostic: bool = False, centre: bool = False) -> Detections:
    """Candidates (xyxy, or cx cy w h when ``centre``, in input pixels or fractions) above ``score_threshold``,
    NMS-ed (unless ``iou_threshold`` is None: NMS done in the model), the best ``max_detections``, in source pixels.

    >>> from edgevision.transform import make_transform
    >>> t = make_transform((10, 10), (10, 10), "stretch")
    >>> d = select_boxes(np.array([[0.0, 0, 5, 5]]), np.array([0.9]), np.array([0]), transform=t, labels=(),
    ...                  score_threshold=0.5, iou_threshold=None, max_detections=10, normalized=False)
    >>> d.xyxy.tolist()
    [[0.0, 0.0, 5.0, 5.0]]
    """
    keep = score >= score_threshold
    if not keep.any():
        return Detections.empty(labels)
    xyxy = boxes[keep].astype(np.float32, copy=False)
    if normalized:
        w, h = transform.input_size
        xyxy = xyxy * np.array([w, h, w, h], np.float32)
    if centre:  # after the scaling: whole-pixel centres and sizes stay exact
        xyxy = _cxcywh_to_xyxy(xyxy)
    score, class_id = score[keep], class_id[keep]
    if iou_threshold is None:
        kept = np.argsort(-score, kind="stable")[: max(0, int(max_detections))]
    elif class_agnostic:
        kept = nms(xyxy, score, iou_threshold, max_output=max_detections)
    else:
        kept = batched_nms(xyxy, score, class_id, iou_threshold, max_output=max_detections)
    return Detections(transform.to_source(xyxy[kept]), score[kept], class_id[kept], labels)


def detect_yolo(
    output: np.ndarray,
    *,
    transform: Transform,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int = 100,
    labels: Sequence[str] = (),
    quant: Quantization = None,
    box_format: str | None = None,
    class_agnostic: bool = False,
) -> Detections:
    """Decode a raw anchor-free YOLO output (Ultralytics v8, v11): rows (cx, cy, w, h, class scores...).

    The output is [1, 4+nc, N] or [1, N, 4+nc]; with ``labels`` the dim equal to
    4+len(labels) holds the attributes, otherwise the smaller dim does. Boxes are in
    model-input pixels (``box_format="pixels"``) or fractions of the input
    (``"normalized"``, as Ultralytics' TFLite exports give them); None decides from the box
    centres (``centres_normalized``). A candidate's score is its best class score, which must
    lie in [0, 1] (``ScoreRangeError`` otherwise: not this layout); those of at least
    ``score_threshold`` go through class-aware NMS (plain NMS when ``class_agnostic``), and
    the best ``max_detections`` are mapped to source pixels.

    Example:
        >>> from edgevision.transform import make_transform
        >>> t = make_transform((100, 100), (100, 100), "stretch")
        >>> out = np.array([[[0.5, 0.5, 0.2, 0.2, 0.1, 0.8]]])  # [1, N, 4+nc], normalised
        >>> d = detect_yolo(out, transform=t, labels=("cat", "dog"))
        >>> d.xyxy.tolist(), d.names
        ([[40.0, 40.0, 60.0, 60.0]], ['dog'])
    """
    raw = np.asarray(output)
    rows = _yolo_rows(raw, len(labels))
    rows = dequantize(rows, quant)
    class_scores = rows[:, 4:]
    class_id = np.argmax(class_scores, axis=1)
    score = np.take_along_axis(class_scores, class_id[:, None], axis=1)[:, 0]
    check_scores(score, "class scores")
    fmt = parse_box_format(box_format)
    normalized = centres_normalized(rows[:, :2]) if fmt is None else fmt == "normalized"
    return select_boxes(rows[:, :4], score, class_id, transform=transform, labels=labels,
                        score_threshold=score_threshold, iou_threshold=iou_threshold, max_detections=max_detections,
                        normalized=normalized, class_agnostic=class_agnostic, centre=True)


def _ssd_array(value: np.ndarray, what: str, expected: str, width: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    bad_rank = arr.ndim not in (width, width + 1) or (arr.ndim == width + 1 and arr.shape[0] != 1)
    if bad_rank or (width == 2 and arr.shape[-1] != 4):
        raise ModelError(f"expected SSD {what} of shape {expected}, got {tuple(arr.shape)}")
    return arr.reshape(-1, 4) if width == 2 else arr.reshape(-1)


def detect_ssd(
    boxes: np.ndarray,
    classes: np.ndarray,
    scores: np.ndarray,
    count: np.ndarray | None = None,
    *,
    transform: Transform,
    score_threshold: float = 0.5,
    label_offset: int = 0,
    labels: Sequence[str] = (),
    max_detections: int = 100,
) -> Detections:
    """Decode post-processed SSD outputs (already NMS-ed) into source-pixel detections.

    ``boxes`` [1, N, 4] are normalised (ymin, xmin, ymax, xmax) of the model input;
    ``classes`` [1, N] float class indices, shifted by ``label_offset`` (-1 for the TF OD
    API's 1-based ids); ``scores`` [1, N]; ``count`` [1] valid rows (None: all N).

    Example:
        >>> from edgevision.transform import make_transform
        >>> t = make_transform((200, 100), (100, 100), "stretch")
        >>> d = detect_ssd(np.array([[[0.1, 0.2, 0.5, 0.6]]]), np.array([[3.0]]), np.array([[0.9]]),
        ...                np.array([1.0]), transform=t, label_offset=-1)
        >>> d.xyxy.round(1).tolist(), d.class_id.tolist()
        ([[40.0, 10.0, 120.0, 50.0]], [2])
    """
    yx = _ssd_array(boxes, "boxes", "[1, N, 4]", 2)
    cls = _ssd_array(classes, "classes", "[1, N]", 1)
    conf = _ssd_array(scores, "scores", "[1, N]", 1)
    if not len(yx) == len(cls) == len(conf):
        raise ModelError(
            f"expected SSD boxes, classes and scores for the same N, got {len(yx)}, {len(cls)} and {len(conf)}"
        )
    n = len(conf)
    if count is not None:
        count_arr = np.asarray(count)
        if count_arr.size != 1:
            raise ModelError(f"expected an SSD count of shape [1], got {tuple(count_arr.shape)}")
        n = min(n, max(0, round(float(count_arr.reshape(-1)[0]))))
    valid = np.flatnonzero(conf[:n] >= score_threshold)
    best = valid[np.argsort(-conf[valid], kind="stable")][: max(0, int(max_detections))]
    iw, ih = transform.input_size
    xyxy = yx[best][:, [1, 0, 3, 2]] * np.array([iw, ih, iw, ih], np.float32)
    class_id = np.rint(cls[best]).astype(np.int64) + int(label_offset)
    return Detections(transform.to_source(xyxy), conf[best], class_id, labels)


def _is_integral(arr: np.ndarray) -> bool:
    values = np.asarray(arr, dtype=np.float64)
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def assign_ssd_outputs(
    arrays: Sequence[np.ndarray], names: Sequence[str] | None = None
) -> tuple[int, int, int, int | None]:
    """Indices of (boxes, classes, scores, count) among an SSD model's outputs, in any order.

    Boxes are the rank-3 tensor ending in 4; count the tensor of one element (None
    when there are only three outputs); classes and scores are told apart by their names
    ("class"/"score", as in the TF OD API's detection_classes/detection_scores), else by
    value (class ids are whole numbers, scores are not), else by TFLite_Detection_PostProcess
    order (classes before scores).

    Example:
        >>> outs = [np.array([[0.9, 0.4]]), np.zeros((1, 2, 4)), np.array([2.0]), np.array([[1.0, 7.0]])]
        >>> assign_ssd_outputs(outs)
        (1, 3, 0, 2)
    """
    arrs = [np.asarray(a) for a in arrays]
    shapes = [tuple(a.shape) for a in arrs]
    lowered = [str(n).lower() for n in names] if names is not None else None
    if lowered is not None and len(lowered) != len(arrs):
        raise ModelError(f"expected one name per SSD output ({len(arrs)}), got {len(lowered)}")

    def fail(why: str) -> ModelError:
        return ModelError(
            f"expected SSD outputs boxes [1,N,4], classes [1,N], scores [1,N] and count [1] ({why}), got {shapes}"
        )

    if len(arrs) not in (3, 4):
        raise fail(f"3 or 4 outputs, not {len(arrs)}")
    box_candidates = [i for i, a in enumerate(arrs) if a.ndim == 3 and a.shape[-1] == 4]
    if len(box_candidates) != 1:
        raise fail("exactly one rank-3 output ending in 4")
    boxes = box_candidates[0]
    rest = [i for i in range(len(arrs)) if i != boxes]
    count: int | None = None
    if len(arrs) == 4:
        ones = [i for i in rest if arrs[i].size == 1]
        if len(ones) > 1:  # N == 1: classes and scores have one element too; count is rank <= 1
            ones = [i for i in ones if arrs[i].ndim <= 1] or ones
        if len(ones) > 1 and lowered is not None:
            ones = [i for i in ones if "num" in lowered[i] or "count" in lowered[i]] or ones
        if len(ones) != 1:
            raise fail("exactly one output with a single element, the count")
        count = ones[0]
        rest = [i for i in rest if i != count]
    first, second = rest
    if arrs[first].size != arrs[second].size or arrs[first].size != arrs[boxes].size // 4:
        raise fail("classes and scores with one value per box")
    if lowered is not None:
        by_name = [i for i in rest if "class" in lowered[i]], [i for i in rest if "score" in lowered[i]]
        if len(by_name[0]) == 1 and len(by_name[1]) == 1 and by_name[0] != by_name[1]:
            return boxes, by_name[0][0], by_name[1][0], count
    integral = [_is_integral(arrs[i]) for i in rest]
    if integral == [True, False]:
        return boxes, first, second, count
    if integral == [False, True]:
        return boxes, second, first, count
    if integral == [True, True]:
        return boxes, first, second, count
    raise fail("class ids that are whole numbers")
