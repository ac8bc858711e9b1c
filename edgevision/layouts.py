"""Output layouts recognised by name, before any decoder is guessed: one step that says what a model's outputs are.

A layout is recognised from the model's metadata (Ultralytics' ``task``, ``nms``) or from shapes no
other layout has (``[1, K, 6]`` end-to-end rows, ``[1, 1, 17, 3]`` MoveNet keypoints, a
``[1, 32, H, W]`` prototype tensor beside the boxes). When a decoder of that name is registered
it decodes the model; when none is (instance segmentation, pose and oriented boxes are tasks of
their own), the model is refused by name, with what would settle it, rather than decoded as
something else. A task module that registers ``yolo-seg``, ``yolo-pose``, ``yolo-obb`` or
``movenet`` takes over from here with no edit. ``likely_layouts`` names the layout behind
scores outside [0, 1], for the decoders' error.

Example:
    >>> recognise([(1, 1, 17, 3)])
    ('movenet', 'outputs [1, 1, 17, 3]')
    >>> recognise([(1, 300, 6)])[0], recognise([(1, 84, 8400)]) is None
    ('yolo-end2end', True)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import ModelError

Shapes = Sequence[tuple[int, ...]]


@dataclass(frozen=True)
class Layout:
    """A recognised layout: the task it belongs to, and its outputs in words."""

    task: str  # the task (ours, or the Ultralytics task of a head whose task is not registered here)
    contract: str
    settle: str  # what a user passes to decode it when it is registered, or to say it is something else


LAYOUTS: dict[str, Layout] = {
    "yolo": Layout("detection", "[1,4+nc,N] or [1,N,4+nc]: anchor-free YOLO (Ultralytics v8, v11), NMS here",
                   "--decoder yolo"),
    "yolo-objectness": Layout("detection", "[1,N,5+nc]: YOLO with objectness (v5, v7), NMS here",
                              "--decoder yolo-objectness (and --labels)"),
    "yolo-end2end": Layout("detection", "[1,K,6]: x1,y1,x2,y2,score,class with NMS in the model "
                                        "(Ultralytics nms=True, YOLOv10, YOLO26)", "--decoder yolo-end2end"),
    "yolo-seg": Layout("instance segmentation (Ultralytics task 'segment')",
                       "[1,4+nc+32,N] boxes, class scores and mask coefficients + [1,32,H,W] prototypes",
                       "--decoder yolo-seg"),
    "yolo-pose": Layout("pose (Ultralytics task 'pose')", "[1,4+1+3K,N]: box, person score, K keypoints (x, y, v)",
                        "--decoder yolo-pose"),
    "yolo-obb": Layout("oriented boxes (Ultralytics task 'obb')", "[1,4+nc+1,N]: box, class scores, angle",
                       "--decoder yolo-obb"),
    "movenet": Layout("pose (MoveNet single-person)", "[1,1,17,3]: 17 keypoints (y, x, score)", "--decoder movenet"),
}


def recognise(shapes: Shapes, *, n_labels: int = 0, hint: str | None = None) -> tuple[str, str] | None:
    """(layout name, why) when the outputs (or the metadata's ``hint``, a layout name) say which layout this is.

    >>> recognise([(1, 84, 8400)], hint="yolo-pose")
    ('yolo-pose', "the model's metadata")
    >>> recognise([(1, 25200, 85)], n_labels=80)
    ('yolo-objectness', 'outputs [1, 25200, 85] = [1, N, 5+80 labels]')
    """
    shapes = [tuple(int(d) for d in s) for s in shapes]
    shown = ", ".join(str(list(s)) for s in shapes)
    if hint in LAYOUTS:
        return hint, "the model's metadata"
    if shapes == [(1, 1, 17, 3)]:
        return "movenet", f"outputs {shown}"
    if len(shapes) == 2 and sorted(len(s) for s in shapes) == [3, 4]:
        proto = next(s for s in shapes if len(s) == 4)
        if 32 in proto[1:2] + proto[3:4]:
            return "yolo-seg", f"outputs {shown} (a [1,32,H,W] prototype tensor)"
    if len(shapes) != 1 or len(shapes[0]) != 3 or shapes[0][0] != 1:
        return None
    _, a, b = shapes[0]
    if b == 6 and a != 6 and n_labels != 2:
        return "yolo-end2end", f"outputs {shown} = [1, K, 6]"
    if n_labels and b == 5 + n_labels and a > b:
        return "yolo-objectness", f"outputs {shown} = [1, N, 5+{n_labels} labels]"
    if n_labels and a == 5 + n_labels and b > a:
        return "yolo-obb", f"outputs {shown} = [1, 4+{n_labels} labels+1 angle, N]"
    if n_labels == 1 and a == 56 and b > a:
        return "yolo-pose", f"outputs {shown} = [1, 4+1+17x3, N] with one label"
    return None


def refusal(name: str, why: str, shapes: Shapes) -> ModelError:
    """The error for a recognised layout that no registered decoder reads.

    >>> print(refusal("movenet", "outputs [1, 1, 17, 3]", [(1, 1, 17, 3)]))
    expected outputs a registered decoder reads, got [[1, 1, 17, 3]]: by outputs [1, 1, 17, 3] this is the movenet \
layout ([1,1,17,3]: 17 keypoints (y, x, score)) of the pose (MoveNet single-person) task, and no decoder named 'movenet' \
is registered; if the outputs are something else, say which with --task/--decoder
    """
    layout = LAYOUTS[name]
    return ModelError(f"expected outputs a registered decoder reads, got {[list(s) for s in shapes]}: by {why} this "
                      f"is the {name} layout ({layout.contract}) of the {layout.task} task, and no decoder named "
                      f"{name!r} is registered; if the outputs are something else, say which with --task/--decoder")


def choose_decoder(task: str | None, shapes: Shapes, *, n_labels: int = 0, hint: str | None = None) -> str | None:
    """The decoder a recognised layout names, None when the outputs name no layout (guess by ``fits`` then).

    With no ``task`` given, a recognised layout whose decoder is not registered is refused by name;
    a task given by the user is taken at its word.

    >>> choose_decoder(None, [(1, 300, 6)])
    'yolo-end2end'
    """
    from .decode import DECODERS

    if hint in DECODERS and hint not in LAYOUTS:  # the metadata names a plain decoder (classification, ssd, ...)
        return hint if task is None or DECODERS[hint].task == task else None
    found = recognise(shapes, n_labels=n_labels, hint=hint)
    if found is None:
        return None
    name, why = found
    if name in DECODERS:
        return name if task is None or DECODERS[name].task == task else None
    if task is None:
        raise refusal(name, why, shapes)
    return None


def likely_layouts(shape: tuple[int, ...], n_labels: int = 0) -> str:
    """What a rank-3 output whose scores left [0, 1] more likely is, in words, for the decoders' error.

    >>> likely_layouts((1, 56, 8400))
    'a yolo-pose head (4 box + 1 person score + 17x3 keypoints; pass --task pose once that task is registered)'
    """
    dims = tuple(int(d) for d in shape)
    if len(dims) != 3:
        return f"not a rank-3 YOLO output {list(dims)}"
    attrs = min(dims[1:])
    if dims[2] == 6:
        return "an end-to-end [1,K,6] output with NMS in the model (pass --decoder yolo-end2end)"
    if attrs == 56:
        return ("a yolo-pose head (4 box + 1 person score + 17x3 keypoints; pass --task pose once that task is "
                "registered)")
    if n_labels and attrs == 5 + n_labels:
        return ("a yolo-obb head (its last channel is the box angle) or a v5/v7 objectness output (pass --decoder "
                "yolo-objectness)")
    if n_labels and attrs == 4 + n_labels + 32:
        return "a yolo-seg head (32 mask coefficients per box)"
    return ("another layout: an end-to-end [1,K,6] (--decoder yolo-end2end), a v5/v7 [1,N,5+nc] (--decoder "
            "yolo-objectness with --labels), or a pose, segmentation or OBB head (--labels tells them apart)")


TF_OD_API_OUTPUTS = ("detection_boxes", "detection_classes", "detection_scores", "num_detections")


def named_defaults(names: Sequence[str]) -> dict[str, object]:
    """Decoder settings that output names imply: the TF Object Detection API's four post-processed outputs are the
    ``ssd`` layout with 1-based class ids (``label_offset`` -1 against a labels list without a background entry).

    >>> named_defaults(["detection_boxes:0", "detection_classes:0", "detection_scores:0", "num_detections:0"])
    {'decoder': 'ssd', 'label_offset': -1}
    >>> named_defaults(["output0"])
    {}
    """
    bare = {str(n).split(":")[0].split("/")[-1] for n in names}
    return {"decoder": "ssd", "label_offset": -1} if set(TF_OD_API_OUTPUTS) <= bare else {}
