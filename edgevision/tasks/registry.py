"""The task registry: per vision task, everything that differs by task, in one entry.

A ``TaskSpec`` names the task's result type (whose ``to_dict()`` is its JSON form and
``describe()`` its one human line), how to draw it, how a converter measures an
artifact's fidelity on it and reads its ground truth, and whether int8 builds keep the
model's head in float. Decoders (one per output layout) are registered beside it, in
``edgevision.decode``, each naming its task. A new task is one ``register_task`` call.

Workstation-only parts (fidelity, ground truth) are named as ``"module:attribute"``
strings and imported on first use, so the runtime never imports the converter stage.

Example:
    >>> task_spec("detection").result.__name__
    'Detections'
    >>> list(TASKS)
    ['classification', 'detection', 'segmentation', 'instance-segmentation', 'pose']
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..errors import UserInputError
from ..instances import InstanceSegmentation
from ..poses import Poses
from ..refs import Ref
from ..results import Classification, Detections, Segmentation


class Task(str, Enum):
    """A vision task this SDK decodes (the manifest's ``task``)."""

    CLASSIFICATION = "classification"
    DETECTION = "detection"
    SEGMENTATION = "segmentation"
    INSTANCE_SEGMENTATION = "instance-segmentation"
    POSE = "pose"


@dataclass(frozen=True)
class TaskSpec:
    """Everything that differs by task (see the module docstring)."""

    name: str  # the manifest's "task"
    result: type  # the Result type its decoders return
    draw: Ref  # draw(annotator, image, result, scale): the result on a frame (edgevision.annotate)
    fidelity: Ref  # a converters.fidelity.FidelityMetric: agreement with the source, score against ground truth
    read_truth: Ref  # read_truth(converters.calibration.Truth): the ground truth beside an image, or None
    float_head: bool = False  # int8 OpenVINO/ONNX builds keep the model's head (its last ops) in float
    # (fidelity figure, its least value) an int8 artifact must reach, else layers go float where the format allows
    int8_gate: tuple[str, float] | None = None


# name -> spec, in registration order (a ``Task`` member looks up as its name). Read it; add with register_task.
TASKS: dict[str, TaskSpec] = {}
_BY_RESULT: dict[type, TaskSpec] = {}


def register_task(spec: TaskSpec, *, replace: bool = False) -> TaskSpec:
    """Add a task: one of ``Task``, or a task of your own under a new name."""
    if spec.name in TASKS and not replace:
        raise UserInputError(f"expected a new task name, got {spec.name!r} (already registered)")
    TASKS[spec.name] = spec
    _BY_RESULT[spec.result] = spec
    return spec


def unregister_task(name: str) -> None:
    """Remove a task added with ``register_task`` (tests, plug-ins)."""
    spec = TASKS.pop(name)
    _BY_RESULT.pop(spec.result, None)


def task_names() -> tuple[str, ...]:
    """Every registered task name, in registration order.

    >>> task_names()
    ('classification', 'detection', 'segmentation', 'instance-segmentation', 'pose')
    """
    return tuple(TASKS)


def task_spec(name: str | Task) -> TaskSpec:
    """The spec of a task by name; UserInputError naming the registered ones."""
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise UserInputError(f"expected a task among {', '.join(TASKS)}, got {name!r}") from None


def spec_of_result(result: Any) -> TaskSpec:
    """The spec of the task a result belongs to (by its type: one dict look-up, cheap per frame).

    >>> import numpy as np
    >>> spec_of_result(Classification(np.array([0]), np.array([0.5]))).name
    'classification'
    """
    try:
        return _BY_RESULT[type(result)]
    except KeyError:
        raise UserInputError(f"expected a result of a registered task ({', '.join(t.__name__ for t in _BY_RESULT)}), "
                             f"got {type(result).__name__}") from None


for _spec in (
    TaskSpec("classification", Classification, draw="edgevision.annotate:draw_classification",
             fidelity="edgevision.converters.fidelity:CLASSIFICATION",
             read_truth="edgevision.converters.calibration:classification_truth",
             int8_gate=("top1_agreement", 0.98)),
    # A detector's head concatenates boxes and scores: int8 OpenVINO/ONNX builds keep it float
    # (a 0.015-0.15 mAP drop otherwise); a classifier's head is most of its weights and quantises well.
    TaskSpec("detection", Detections, draw="edgevision.annotate:draw_detections",
             fidelity="edgevision.converters.fidelity:DETECTION",
             read_truth="edgevision.converters.calibration:detection_truth", float_head=True,
             int8_gate=("boxes_kept", 0.98)),  # the share of the source's boxes kept (same class, IoU >= 0.9)
    TaskSpec("segmentation", Segmentation, draw="edgevision.annotate:draw_segmentation",
             fidelity="edgevision.converters.fidelity:SEGMENTATION",
             read_truth="edgevision.converters.calibration:segmentation_truth",
             int8_gate=("miou_vs_source", 0.95)),
    # Instances and poses are detections with more per box; their heads are kept float like a detector's.
    TaskSpec("instance-segmentation", InstanceSegmentation, draw="edgevision.overlays:draw_instances",
             fidelity="edgevision.converters.fidelity_tasks:INSTANCE_SEGMENTATION",
             read_truth="edgevision.converters.truth:instance_truth", float_head=True),
    TaskSpec("pose", Poses, draw="edgevision.overlays:draw_poses", fidelity="edgevision.converters.fidelity_tasks:POSE",
             read_truth="edgevision.converters.truth:pose_truth", float_head=True),
):
    register_task(_spec)
