"""Decode YOLO-seg outputs (Ultralytics' layout) into ``InstanceSegmentation``: one mask per detection, source pixels.

Ultralytics' segmentation export writes two outputs: detections ``[1, 4+nc+nm, N]``
(cx, cy, w, h, nc class scores, nm mask coefficients; ``[1, N, 4+nc+nm]`` is read
too) and prototypes ``[1, nm, H/4, W/4]`` (NCHW, as ONNX/OpenVINO give them) or
``[1, H/4, W/4, nm]`` (NHWC, as a TFLite export does); nm is 32 in every Ultralytics
model. Each kept detection's mask logits are ``coefficients @ prototypes``, sampled
bilinearly (half-pixel centres, as ``F.interpolate(align_corners=False)`` and
``cv2.resize`` sample) at the centre of every source pixel inside its box, through
the letterbox, and thresholded at ``mask_threshold`` (0: sigmoid 0.5). Only the
prototype cells under the box are combined, so a mask costs its box, not the frame.

Example:
    >>> from edgevision.transform import make_transform
    >>> t = make_transform((8, 8), (8, 8), "stretch")
    >>> det = np.array([[[4.0], [4.0], [4.0], [4.0], [0.9], [1.0]]])   # [1, 4+1+1, 1]
    >>> protos = np.full((1, 1, 2, 2), -1.0); protos[0, 0, 0, 0] = 1.0   # [1, 1, 2, 2]: top-left cell on
    >>> r = segment_instances(det, protos, transform=t, labels=("cat",))
    >>> r.xyxy.tolist(), r.masks.full(0).sum(), r.masks.origins.tolist()
    ([[2.0, 2.0, 6.0, 6.0]], np.int64(3), [[2, 2]])
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..backends.base import TensorSpec
from ..errors import ModelError
from ..instances import InstanceSegmentation
from ..masks import InstanceMasks
from ..transform import Transform
from .common import Quantization, dequantize
from .detect import _cxcywh_to_xyxy, _yolo_rows, centres_normalized, check_scores, parse_box_format
from .nms import batched_nms, nms

PROTO_LAYOUTS = ("NCHW", "NHWC")
ULTRALYTICS_MASKS = 32  # nm of every Ultralytics segmentation head


def _sample_weights(centres: np.ndarray, size: int) -> tuple[int, np.ndarray]:
    """(first cell, (n, cells) bilinear weights) sampling a ``size``-cell axis at ``centres`` (cell units, edges at k)."""
    pos = np.clip(centres - 0.5, 0.0, size - 1)  # half-pixel centres; the border cell repeats, as in cv2/torch
    i0 = np.floor(pos).astype(np.intp)
    i1 = np.minimum(i0 + 1, size - 1)
    frac = (pos - i0).astype(np.float32)
    first = int(i0.min())
    weights = np.zeros((len(pos), int(i1.max()) - first + 1), np.float32)
    rows = np.arange(len(pos))
    np.add.at(weights, (rows, i0 - first), 1.0 - frac)
    np.add.at(weights, (rows, i1 - first), frac)
    return first, weights


def instance_mask(coefficients: np.ndarray, protos: np.ndarray, box: np.ndarray, transform: Transform,
                  threshold: float = 0.0) -> tuple[tuple[int, int], np.ndarray]:
    """(origin (x0, y0), bool bitmap) of one instance: its logits sampled at the source pixels inside ``box``.

    ``protos`` is (nm, mh, mw) over the model input; ``box`` (x1, y1, x2, y2) in source pixels.
    A pixel belongs to the crop when its centre lies inside the box.

    Example:
        >>> from edgevision.transform import make_transform
        >>> t = make_transform((4, 4), (4, 4), "stretch")
        >>> origin, bitmap = instance_mask(np.ones(1), np.ones((1, 1, 1)), np.array([1.0, 1.0, 3.0, 4.0]), t)
        >>> origin, bitmap.shape, bool(bitmap.all())
        ((1, 1), (3, 2), True)
    """
    w, h = transform.source_size
    x0 = int(np.clip(np.ceil(box[0] - 0.5), 0, w))
    x1 = int(np.clip(np.ceil(box[2] - 0.5), x0, w))
    y0 = int(np.clip(np.ceil(box[1] - 0.5), 0, h))
    y1 = int(np.clip(np.ceil(box[3] - 0.5), y0, h))
    if x1 == x0 or y1 == y0:
        return (x0, y0), np.zeros((y1 - y0, x1 - x0), bool)
    nm, mh, mw = protos.shape
    sx, sy = transform.scale
    ox, oy = transform.offset
    iw, ih = transform.input_size
    # Source pixel centres -> model-input pixels -> prototype cells.
    cx = ((np.arange(x0, x1) + 0.5) * sx + ox) * (mw / iw)
    cy = ((np.arange(y0, y1) + 0.5) * sy + oy) * (mh / ih)
    c_first, wx = _sample_weights(cx, mw)
    r_first, wy = _sample_weights(cy, mh)
    patch = protos[:, r_first:r_first + wy.shape[1], c_first:c_first + wx.shape[1]]
    logits = (coefficients.astype(np.float32) @ patch.reshape(nm, -1)).reshape(wy.shape[1], wx.shape[1])
    return (x0, y0), (wy @ logits @ wx.T) > threshold


def segment_instances(
    output: np.ndarray,
    protos: np.ndarray,
    *,
    transform: Transform,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int = 100,
    labels: Sequence[str] = (),
    quant: Quantization = None,
    proto_quant: Quantization = None,
    box_format: str | None = None,
    class_agnostic: bool = False,
    proto_layout: str = "NCHW",
    mask_threshold: float = 0.0,
) -> InstanceSegmentation:
    """Decode a YOLO-seg detection output and its prototypes (see the module docstring).

    Boxes are in model-input pixels, or fractions of the input, as ``box_format`` says
    (``"pixels"``, ``"normalized"``; None: decided from the box centres), as ``detect_yolo`` reads them; NMS
    is class-aware unless ``class_agnostic``. ``quant`` and ``proto_quant`` are the two
    outputs' own (scale, zero point): an int8 model quantises each on its own scale.
    """
    if proto_layout not in PROTO_LAYOUTS:
        raise ModelError(f"expected a prototype layout among {', '.join(PROTO_LAYOUTS)}, got {proto_layout!r}")
    p = np.asarray(protos)
    if p.ndim != 4 or p.shape[0] != 1:
        raise ModelError(f"expected prototypes [1, nm, H, W] or [1, H, W, nm], got {tuple(p.shape)}")
    p = dequantize(p[0], proto_quant)
    p = p if proto_layout == "NCHW" else p.transpose(2, 0, 1)
    nm = p.shape[0]
    raw = np.asarray(output)
    rows = _yolo_rows(raw, len(labels) + nm if labels else 0)
    nc = rows.shape[1] - 4 - nm
    if nc < 1:
        raise ModelError(f"expected detections [1, 4+nc+{nm}, N] for {nm} prototypes, got {tuple(raw.shape)}")
    rows = dequantize(rows, quant)
    class_scores = rows[:, 4:4 + nc]
    class_id = np.argmax(class_scores, axis=1)
    score = np.take_along_axis(class_scores, class_id[:, None], axis=1)[:, 0]
    check_scores(score, "class scores")  # not a YOLO-seg output after all: say so, decode nothing
    keep = score >= score_threshold
    if not keep.any():
        return InstanceSegmentation.empty(labels, transform.source_size)
    fmt = parse_box_format(box_format)
    normalized = centres_normalized(rows[:, :2]) if fmt is None else fmt == "normalized"
    boxes = rows[keep, :4]
    if normalized:
        iw, ih = transform.input_size
        boxes = boxes * np.array([iw, ih, iw, ih], np.float32)
    xyxy = _cxcywh_to_xyxy(boxes)
    score, class_id, coefficients = score[keep], class_id[keep], rows[keep, 4 + nc:]
    if class_agnostic:
        kept = nms(xyxy, score, iou_threshold, max_output=max_detections)
    else:
        kept = batched_nms(xyxy, score, class_id, iou_threshold, max_output=max_detections)
    source_boxes = transform.to_source(xyxy[kept])
    origins, bitmaps = [], []
    for box, coeff in zip(source_boxes, coefficients[kept]):
        origin, bitmap = instance_mask(coeff, p, box, transform, mask_threshold)
        origins.append(origin)
        bitmaps.append(bitmap)
    masks = InstanceMasks(transform.source_size, np.array(origins, np.int64).reshape(-1, 2), bitmaps)
    return InstanceSegmentation(source_boxes, score[kept], class_id[kept], labels, masks=masks)


def split_outputs(outputs: Sequence[TensorSpec]) -> tuple[int, int]:
    """(index of the detections, index of the prototypes) among a YOLO-seg model's two outputs, in any order."""
    ranks = [len(o.shape) for o in outputs]
    if len(outputs) != 2 or sorted(ranks) != [3, 4]:
        raise ModelError(f"expected YOLO-seg outputs [1, 4+nc+nm, N] and prototypes [1, nm, H, W], "
                         f"got {[list(o.shape) for o in outputs]}")
    det = ranks.index(3)
    return det, 1 - det


def proto_layout(det_shape: Sequence[int], proto_shape: Sequence[int], n_labels: int, given: str | None) -> str:
    """NCHW or NHWC for the prototypes: as given, else the axis (1 or 3) holding nm channels.

    nm is the detection width minus 4 and the classes when labels say how many, else
    Ultralytics' 32; prototypes as wide as they are deep need ``proto_layout`` said.

    Example:
        >>> proto_layout((1, 38, 8400), (1, 32, 160, 160), 2, None), proto_layout((1, 116, 8400), (1, 160, 160, 32), 0, None)
        ('NCHW', 'NHWC')
    """
    if given is not None:
        if given not in PROTO_LAYOUTS:
            raise ModelError(f"expected proto_layout among {', '.join(PROTO_LAYOUTS)}, got {given!r}")
        return given
    a, b = int(det_shape[1]), int(det_shape[2])
    width = (a if a < b else b) if not n_labels else next((d for d in (a, b) if d > 4 + n_labels), a)
    candidates = [width - 4 - n_labels] if n_labels else [ULTRALYTICS_MASKS]
    nchw, nhwc = int(proto_shape[1]) in candidates, int(proto_shape[3]) in candidates
    if nchw != nhwc:
        return "NCHW" if nchw else "NHWC"
    raise ModelError(f"expected prototypes whose mask channels ({', '.join(map(str, candidates))}) tell the layout, "
                     f"got {list(proto_shape)}: pass proto_layout NCHW or NHWC")


def bind_yolo_seg(config: Mapping[str, Any], outputs: list[TensorSpec], labels: tuple) -> Any:
    """The decoder for a YOLO-seg model's outputs (the decoder registry's ``bind``)."""
    det, pro = split_outputs(outputs)
    options = {k: v for k, v in config.items() if k != "type"}
    options["proto_layout"] = proto_layout(outputs[det].shape, outputs[pro].shape, len(labels),
                                           options.get("proto_layout"))
    quant, proto_quant = outputs[det].quant, outputs[pro].quant
    return lambda outs, t: segment_instances(outs[det], outs[pro], transform=t, labels=labels, quant=quant,
                                             proto_quant=proto_quant, **options)


def fits_yolo_seg(shapes: Sequence[tuple[int, ...]]) -> bool:
    """A bare model looks like YOLO-seg: one rank-3 and one rank-4 output."""
    return len(shapes) == 2 and sorted(len(s) for s in shapes) == [3, 4]


def num_classes_yolo_seg(shapes: Sequence[tuple[int, ...]]) -> int | None:
    """Classes implied by YOLO-seg outputs: the detection width minus 4 and the prototype channels."""
    det = next(s for s in shapes if len(s) == 3)
    pro = next(s for s in shapes if len(s) == 4)
    nm = ULTRALYTICS_MASKS if ULTRALYTICS_MASKS in (pro[1], pro[3]) else min(pro[1], pro[3])
    n = min(det[1], det[2]) - 4 - nm
    return n if n > 0 else None
