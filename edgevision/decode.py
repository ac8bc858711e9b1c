"""The decoder registry: one entry per output layout, with the contract it accepts and how it binds.

A decoder is chosen by ``type`` (the manifest's ``decoder.type``); its options are
checked against the ones it accepts (unknown keys named with the valid ones); and it
is bound to the model's outputs once, at load time, so a layout that does not fit the
model fails at load rather than on the first frame. For a bare model file with no
``decoder`` given, the registered decoders are tried in registration order and the
first whose ``fits`` accepts the output shapes is taken (a task given narrows the
choice to its own decoders). A new layout is one ``register_decoder`` call.

Example:
    >>> decoder_config("yolo", {"iou_threshold": 0.5})["score_threshold"]
    0.25
    >>> decoder_spec("ssd").task
    'detection'
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backends.base import TensorSpec
from .errors import ModelError, UserInputError
from .results import Result
from .tasks import classify, detect_ssd, segment
from .tasks.common import dequantize
from .tasks.detect import assign_ssd_outputs
from .tasks.instance import bind_yolo_seg, fits_yolo_seg, num_classes_yolo_seg
from .tasks.pose import bind_movenet, bind_yolo_pose, fits_movenet
from .tasks.registry import task_spec
from .tasks.yolo import bind_end2end, bind_objectness, bind_yolo
from .transform import Transform
from .validate import check_options

Decoder = Callable[[Sequence[np.ndarray], Transform], Result]
Shapes = Sequence[tuple[int, ...]]


@dataclass(frozen=True)
class DecoderSpec:
    """One output layout: its task, options (with defaults), written contract, and how it binds to outputs."""

    name: str  # the manifest's decoder "type"
    task: str  # a registered task name
    defaults: Mapping[str, Any]  # option -> default; the option names are the task function's keywords
    contract: str  # the outputs (and metadata) it accepts, in words: said in errors and in docs
    bind: Callable[[dict, list[TensorSpec], tuple[str, ...]], Decoder]  # (config, output specs, labels) -> decoder
    fits: Callable[[Shapes], bool]  # whether a bare model's output shapes look like this layout
    num_classes: Callable[[Shapes], int | None] = lambda shapes: None  # classes its outputs imply, if any


DECODERS: dict[str, DecoderSpec] = {}  # name -> spec, in registration order (the order bare models are guessed in)


def register_decoder(spec: DecoderSpec, *, replace: bool = False) -> DecoderSpec:
    """Add an output layout; its task must be registered first (``edgevision.tasks.registry``)."""
    task_spec(spec.task)
    if spec.name in DECODERS and not replace:
        raise UserInputError(f"expected a new decoder name, got {spec.name!r} (already registered)")
    DECODERS[spec.name] = spec
    return spec


def unregister_decoder(name: str) -> None:
    """Remove a decoder added with ``register_decoder`` (tests, plug-ins)."""
    del DECODERS[name]


def decoder_spec(name: str) -> DecoderSpec:
    """The spec of one decoder; UserInputError naming the registered ones."""
    try:
        return DECODERS[name]
    except (KeyError, TypeError):
        raise UserInputError(f"expected a decoder among {', '.join(DECODERS)}, got {name!r}") from None


def decoder_names(task: str | None = None) -> tuple[str, ...]:
    """The registered decoders (of one task, when given).

    >>> decoder_names("detection"), decoder_names("pose")
    (('ssd', 'yolo', 'yolo-objectness', 'yolo-end2end'), ('yolo-pose', 'movenet'))
    """
    return tuple(n for n, s in DECODERS.items() if task is None or s.task == task)


def decoder_option_names() -> tuple[str, ...]:
    """Every option any registered decoder takes, sorted (what a manifest's decoder section may hold)."""
    return tuple(sorted({k for s in DECODERS.values() for k in s.defaults}))


def decoder_config(decoder_type: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full, validated option dict for one decoder type (defaults filled in)."""
    valid = decoder_spec(decoder_type).defaults
    options = dict(options or {})
    options.pop("type", None)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UserInputError(
            f"unknown option {unknown[0]!r} for the {decoder_type} decoder; valid options: {', '.join(valid)}"
        )
    return check_options({"type": decoder_type, **valid, **options}, f"the {decoder_type} decoder")


def guess_decoder(task: str | None, outputs: Sequence[TensorSpec]) -> str:
    """The decoder type for a bare model file, from its task (if given) and output shapes."""
    shapes = [tuple(o.shape) for o in outputs]
    candidates = decoder_names(task_spec(task).name if task is not None else None)
    if task is not None and len(candidates) == 1:  # the task's only layout: binding says if it does not fit
        return candidates[0]
    for name in candidates:
        if DECODERS[name].fits(shapes):
            return name
    contracts = "; ".join(f"{n} {DECODERS[n].contract}" for n in candidates)
    raise ModelError(
        f"expected outputs that fit {'the ' + task + ' task' if task else 'a known task'} "
        f"({contracts}), got {[list(s) for s in shapes]}"
    )


def num_classes(config: Mapping[str, Any], outputs: Sequence[TensorSpec]) -> int | None:
    """The number of classes a model's outputs imply for its decoder, or None when they do not say."""
    return decoder_spec(config["type"]).num_classes([tuple(o.shape) for o in outputs])


def make_decoder(config: Mapping[str, Any], outputs: Sequence[TensorSpec], labels: Sequence[str]) -> Decoder:
    """Bind a decoder config to a model's output specs; ModelError when they do not fit."""
    return decoder_spec(config["type"]).bind(dict(config), list(outputs), tuple(labels))


def _options(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "type"}


def _bind_classification(config: dict, outputs: list[TensorSpec], labels: tuple) -> Decoder:
    known = [d for d in outputs[0].shape if d > 0] if outputs else []
    # classify() takes one axis of C > 1 scores: fail here, at load, not on the first frame.
    if len(outputs) != 1 or int(np.prod(known)) < 2 or sum(d != 1 for d in known) > 1:
        raise ModelError(f"expected one classification output [1, C], got {[list(o.shape) for o in outputs]}")
    quant, options = outputs[0].quant, _options(config)
    return lambda outs, t: classify(outs[0], labels=labels, quant=quant, **options)


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


def _segmentation_classes(shapes: Shapes) -> int | None:
    """C of [1,H,W,C] / [1,C,H,W] scores; a single channel is a mask of classes 0 and 1; a class map does not say."""
    if len(shapes[0]) != 4:
        return None
    channels = min(shapes[0][1], shapes[0][3])
    return 2 if channels == 1 else channels


def _split_pair(shapes: Shapes) -> bool:
    """A split YOLO head: two [1, *, N] outputs sharing N, one of them with 4 channels (the boxes)."""
    if len(shapes) != 2 or any(len(s) != 3 or s[0] != 1 for s in shapes):
        return False
    a, b = shapes
    return any(4 in (s[1], s[2]) for s in shapes) and bool({a[1], a[2]} & {b[1], b[2]} - {4})


def _yolo_classes(shapes: Shapes) -> int | None:
    """nc of [1,4+nc,N]; of a split head's pair, the channels of the output that is not the boxes' 4."""
    if len(shapes) == 2 and all(len(s) == 3 for s in shapes):
        other = [s for s in shapes if 4 not in s[1:]] or [shapes[1]]
        return min(other[0][1], other[0][2])
    return min(shapes[0][1], shapes[0][2]) - 4


def _one(shapes: Shapes, *ranks: int) -> bool:
    return len(shapes) == 1 and len(shapes[0]) in ranks


# Registration order is the order a bare model's outputs are tried in: the most specific layouts first.
for _spec in (
    DecoderSpec("ssd", "detection", {"score_threshold": 0.5, "label_offset": 0, "max_detections": 100, "outputs": None},
                "boxes/classes/scores/count", _bind_ssd,
                fits=lambda shapes: len(shapes) >= 3 and any(len(s) == 3 and s[-1] == 4 for s in shapes)),
    DecoderSpec("yolo", "detection", {"score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100,
                                      "box_format": None, "class_agnostic": False},
                "[1,4+nc,N] or [1,N,4+nc] (anchor-free: Ultralytics v8, v11), or the pair [1,4,N] + [1,nc,N] "
                "(the head split for int8)", bind_yolo,
                fits=lambda shapes: _one(shapes, 3) or _split_pair(shapes), num_classes=_yolo_classes),
    # Recognised by edgevision.layouts (labels, metadata, the [1,K,6] shape) rather than guessed by ``fits``.
    DecoderSpec("yolo-objectness", "detection", {"score_threshold": 0.25, "iou_threshold": 0.45,
                                                 "max_detections": 100, "box_format": None, "class_agnostic": False},
                "[1,N,5+nc] (objectness: YOLOv5, v7)", bind_objectness, fits=lambda shapes: False,
                num_classes=lambda shapes: min(shapes[0][1], shapes[0][2]) - 5),
    DecoderSpec("yolo-end2end", "detection", {"score_threshold": 0.25, "max_detections": 300, "box_format": None},
                "[1,K,6] (x1,y1,x2,y2,score,class; NMS in the model)", bind_end2end, fits=lambda shapes: False),
    # Ultralytics' segment and pose heads (task: segment / pose in its metadata; edgevision.layouts names
    # them). A pose output is shaped like a detector's: a bare model is read as pose when its metadata,
    # the task or the decoder says so.
    DecoderSpec("yolo-seg", "instance-segmentation",
                {"score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100, "box_format": None,
                 "class_agnostic": False, "proto_layout": None, "mask_threshold": 0.0},
                "[1,4+nc+nm,N] + prototypes [1,nm,H/4,W/4]", bind_yolo_seg, fits=fits_yolo_seg,
                num_classes=num_classes_yolo_seg),
    DecoderSpec("yolo-pose", "pose",
                {"score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100, "box_format": None,
                 "class_agnostic": False, "kpt_shape": [17, 3]},
                "[1,4+nc+K*3,N] (kpt_shape [K,3])", bind_yolo_pose, fits=lambda shapes: _one(shapes, 3)),
    DecoderSpec("movenet", "pose", {"score_threshold": 0.2, "keypoint_threshold": 0.2}, "[1,1,K,3] (y, x, score)",
                bind_movenet, fits=fits_movenet, num_classes=lambda shapes: 1),
    DecoderSpec("classification", "classification", {"top_k": 5, "score_threshold": 0.0, "logits": None},
                "[1,C]", _bind_classification,
                fits=lambda shapes: _one(shapes, 2) or (_one(shapes, 4) and shapes[0][1] == shapes[0][2] == 1),
                num_classes=lambda shapes: max(shapes[0])),
    DecoderSpec("segmentation", "segmentation", {"layout": None}, "[1,H,W,C]", _bind_segmentation,
                fits=lambda shapes: _one(shapes, 3, 4), num_classes=_segmentation_classes),
):
    register_decoder(_spec)
