"""Decoder configuration (plain data, validated) and the glue from backend outputs to the task functions.

A decoder is chosen by ``type`` through a registry, its options are checked
against the ones it accepts (unknown keys named with the valid ones), and it is
bound to the model's outputs once, at load time, so a task that does not fit
the model fails at load rather than on the first frame.

Example:
    >>> decoder_config("yolo", {"iou_threshold": 0.5})["score_threshold"]
    0.25
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from .backends.base import TensorSpec
from .errors import ModelError, UserInputError
from .results import Result
from .tasks import classify, detect_ssd, detect_yolo, segment
from .tasks.common import dequantize
from .tasks.detect import assign_ssd_outputs
from .transform import Transform

# type -> {option: default}. The option names are the task functions' keyword names.
DECODER_OPTIONS: dict[str, dict[str, Any]] = {
    "classification": {"top_k": 5, "score_threshold": 0.0, "logits": None},
    "yolo": {"score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100, "normalized": None,
             "class_agnostic": False},
    "ssd": {"score_threshold": 0.5, "label_offset": 0, "max_detections": 100, "outputs": None},
    "segmentation": {"layout": None},
}
TASK_OF = {"classification": "classification", "yolo": "detection", "ssd": "detection",
           "segmentation": "segmentation"}
TASKS = ("classification", "detection", "segmentation")

Decoder = Callable[[Sequence[np.ndarray], Transform], Result]


def decoder_config(decoder_type: str, options: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """The full, validated option dict for one decoder type (defaults filled in)."""
    if decoder_type not in DECODER_OPTIONS:
        raise UserInputError(f"expected a decoder among {', '.join(DECODER_OPTIONS)}, got {decoder_type!r}")
    valid = DECODER_OPTIONS[decoder_type]
    options = dict(options or {})
    options.pop("type", None)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UserInputError(
            f"unknown option {unknown[0]!r} for the {decoder_type} decoder; valid options: {', '.join(valid)}"
        )
    return {"type": decoder_type, **valid, **options}


def guess_decoder(task: Optional[str], outputs: Sequence[TensorSpec]) -> str:
    """The decoder type for a bare model file, from its task (if given) and output shapes."""
    shapes = [tuple(o.shape) for o in outputs]
    if task == "classification" or task == "segmentation":
        return task
    if len(outputs) >= 3 and any(len(s) == 3 and s[-1] == 4 for s in shapes):
        return "ssd"
    if task in (None, "detection") and len(shapes) == 1 and len(shapes[0]) == 3:
        return "yolo"
    if task is None and len(shapes) == 1:
        rank = len(shapes[0])
        if rank == 2 or (rank == 4 and shapes[0][1] == shapes[0][2] == 1):
            return "classification"
        if rank in (3, 4):
            return "segmentation"
    raise ModelError(
        f"expected outputs that fit {'the ' + task + ' task' if task else 'a known task'} "
        f"(classification [1,C]; yolo [1,4+nc,N]; ssd boxes/classes/scores/count; segmentation [1,H,W,C]), "
        f"got {[list(s) for s in shapes]}"
    )


def make_decoder(config: Mapping[str, Any], outputs: Sequence[TensorSpec], labels: Sequence[str]) -> Decoder:
    """Bind a decoder config to a model's output specs; ModelError when they do not fit."""
    return _BINDERS[config["type"]](dict(config), list(outputs), tuple(labels))


def _options(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "type"}


def _bind_classification(config: dict, outputs: list[TensorSpec], labels: tuple) -> Decoder:
    known = [d for d in outputs[0].shape if d > 0] if outputs else []
    # classify() takes one axis of C > 1 scores: fail here, at load, not on the first frame.
    if len(outputs) != 1 or int(np.prod(known)) < 2 or sum(d != 1 for d in known) > 1:
        raise ModelError(f"expected one classification output [1, C], got {[list(o.shape) for o in outputs]}")
    quant, options = outputs[0].quant, _options(config)
    return lambda outs, t: classify(outs[0], labels=labels, quant=quant, **options)


def _bind_yolo(config: dict, outputs: list[TensorSpec], labels: tuple) -> Decoder:
    if len(outputs) != 1 or len(outputs[0].shape) != 3:
        raise ModelError(f"expected one YOLO output [1, 4+nc, N] or [1, N, 4+nc], got {[list(o.shape) for o in outputs]}")
    quant, options = outputs[0].quant, _options(config)
    return lambda outs, t: detect_yolo(outs[0], transform=t, labels=labels, quant=quant, **options)


def _bind_ssd(config: dict, outputs: list[TensorSpec], labels: tuple) -> Decoder:
    options = _options(config)
    order = options.pop("outputs")
    if len(outputs) not in (3, 4):
        raise ModelError(f"expected SSD outputs boxes, classes, scores (and count), got {[list(o.shape) for o in outputs]}")
    names = [o.name for o in outputs]
    quants = [o.quant for o in outputs]
    cache: dict[str, tuple] = {}
    if order:  # explicit {"boxes": i, "classes": j, "scores": k, "count": l}
        cache["order"] = tuple(order.get(k) for k in ("boxes", "classes", "scores", "count"))

    def decode(outs: Sequence[np.ndarray], t: Transform) -> Result:
        arrays = [dequantize(a, q) for a, q in zip(outs, quants)]
        if "order" not in cache:  # decided on the first frame's values, then fixed
            cache["order"] = assign_ssd_outputs(arrays, names)
        b, c, s, n = cache["order"]
        return detect_ssd(arrays[b], arrays[c], arrays[s], None if n is None else arrays[n],
                          transform=t, labels=labels, **options)

    return decode


def _bind_segmentation(config: dict, outputs: list[TensorSpec], labels: tuple) -> Decoder:
    if len(outputs) != 1 or len(outputs[0].shape) not in (3, 4):
        raise ModelError(f"expected one segmentation output [1,H,W,C] or [1,H,W], got {[list(o.shape) for o in outputs]}")
    quant, options = outputs[0].quant, _options(config)
    return lambda outs, t: segment(outs[0], transform=t, labels=labels, quant=quant, **options)


_BINDERS: dict[str, Callable[[dict, list, tuple], Decoder]] = {
    "classification": _bind_classification,
    "yolo": _bind_yolo,
    "ssd": _bind_ssd,
    "segmentation": _bind_segmentation,
}
