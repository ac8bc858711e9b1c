"""edgevision/tasks/registry.py and the decoder registry: a toy task added through the registries alone.

The toy task is "brightness": a model whose one output [1, 1] is the image's mean
brightness in [0, 1]. Registering its task spec (result type, drawing, fidelity, ground
truth) and its decoder is all it takes for ``load``, ``predict``, the annotator, the JSON
lines, a bundle manifest and the converter's fidelity metric to handle it; nothing else
in the package is edited.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import edgevision
from edgevision.decode import (
    DecoderSpec,
    decoder_names,
    decoder_spec,
    guess_decoder,
    register_decoder,
    unregister_decoder,
)
from edgevision.errors import ModelError, UserInputError
from edgevision.tasks.registry import (
    TASKS,
    Task,
    TaskSpec,
    register_task,
    spec_of_result,
    task_names,
    task_spec,
    unregister_task,
)


@dataclass
class Brightness:
    """The toy task's result: one number."""

    value: float

    def describe(self) -> str:
        return f"brightness {self.value:.2f}"

    def to_dict(self) -> dict[str, Any]:
        return {"task": "brightness", "brightness": round(self.value, 4)}


DRAWN: list = []


def draw_brightness(annotator, out, result, scale):
    DRAWN.append(result.value)
    annotator.text_block(out, [(0, result.describe())], scale)


def _bind(config, outputs, labels):
    if len(outputs) != 1 or [d for d in outputs[0].shape if d != 1]:
        raise ModelError(f"expected one output [1, 1], got {[list(o.shape) for o in outputs]}")
    gain = config["gain"]
    return lambda outs, transform: Brightness(gain * float(np.asarray(outs[0]).reshape(-1)[0]))


def _mean_error(got, reference, n):
    return 1.0 - float(np.mean([abs(a.value - b.value) for a, b in zip(got, reference)]))


def brightness_model(path):
    """ONNX: NHWC float [1, 32, 32, 3] in [0, 1] -> its mean, [1, 1]."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=0),
         helper.make_node("Unsqueeze", ["mean", "axis"], ["brightness"])], "brightness",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 32, 32, 3])],
        [helper.make_tensor_value_info("brightness", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor("axis", TensorProto.INT64, [1], [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def brightness_task():
    from edgevision.converters.fidelity import FidelityMetric

    fidelity = FidelityMetric("brightness_agreement", _mean_error, "brightness_error", _mean_error)
    register_task(TaskSpec("brightness", Brightness, draw=draw_brightness, fidelity=fidelity,
                           read_truth=lambda truth: truth.data.get("brightness")))
    register_decoder(DecoderSpec("brightness", "brightness", {"gain": 1.0}, "[1,1]", _bind,
                                 fits=lambda shapes: len(shapes) == 1 and list(shapes[0]) == [1, 1]))
    try:
        yield
    finally:
        unregister_decoder("brightness")
        unregister_task("brightness")


def test_the_builtin_tasks_and_their_decoders():
    assert task_names() == ("classification", "detection", "segmentation", "instance-segmentation", "pose") == tuple(
        t.value for t in Task)
    assert TASKS[Task.DETECTION] is task_spec("detection") and task_spec("detection").float_head
    assert decoder_names("detection") == ("ssd", "yolo", "yolo-objectness", "yolo-end2end")
    assert decoder_spec("yolo").task == "detection"
    assert decoder_names("instance-segmentation") == ("yolo-seg",) and decoder_names("pose") == ("yolo-pose", "movenet")
    with pytest.raises(UserInputError, match="expected a task among classification, detection, segmentation, "
                                             "instance-segmentation, pose, got 'depth'"):
        task_spec("depth")
    with pytest.raises(UserInputError, match="expected a new task name, got 'detection'"):
        register_task(task_spec("detection"))


def test_a_toy_task_runs_end_to_end_through_the_registries_alone(brightness_task, tmp_path):
    from edgevision.annotate import annotate
    from edgevision.backends import open_backend
    from edgevision.bundle import Artifact, Manifest, read_manifest, write_bundle
    from edgevision.decode import decoder_config
    from edgevision.sinks import describe

    path = brightness_model(tmp_path / "brightness.onnx")
    outputs = open_backend(path).outputs
    assert guess_decoder("brightness", outputs) == "brightness"  # the task narrows the choice to its decoders
    assert guess_decoder(None, outputs) == "classification"  # registration order: [1, 1] fits [1, C] first
    model = edgevision.load(path, task="brightness", gain=2.0)  # the decoder's own option, validated
    image = np.full((48, 64, 3), 102, np.uint8)  # 102 / 255 = 0.4
    result = model.predict(image)
    assert isinstance(result, Brightness) and result.value == pytest.approx(0.8, abs=1e-5)
    assert spec_of_result(result).name == "brightness" and describe(result) == "brightness 0.80"
    assert annotate(image, result).shape == image.shape and DRAWN[-1] == result.value
    # A bundle: the manifest validates the task and the decoder's options through the registries.
    manifest = Manifest(task="brightness", decoder=decoder_config("brightness", {"gain": 2.0}),
                        artifacts={"jetson-orin": Artifact(file="brightness.onnx", format="onnx", precision="fp32")})
    bundle = write_bundle(tmp_path / "bundle", manifest, {"brightness.onnx": path})
    assert read_manifest(bundle).decoder == {"type": "brightness", "gain": 2.0}
    loaded = edgevision.load(bundle, target="jetson-orin")
    assert loaded.predict(image).to_dict() == {"task": "brightness", "brightness": 0.8}
    json.dumps(loaded.predict(image).to_dict())
    with pytest.raises(UserInputError, match="unknown option 'top_k' for the brightness decoder; valid options: gain"):
        decoder_config("brightness", {"top_k": 3})


def test_the_toy_task_has_its_fidelity_metric(brightness_task, tmp_path):
    from edgevision.converters import fidelity
    from edgevision.converters.calibration import Sample

    model = edgevision.load(brightness_model(tmp_path / "b.onnx"), task="brightness")
    samples = [Sample(str(i), np.full((32, 32, 3), v, np.uint8)) for i, v in enumerate((0, 128, 255))]
    reference = fidelity.run_model(model, samples)
    out = fidelity.measure(model, samples, reference, num_classes=1)
    assert out["metric"] == "brightness_agreement" and out["brightness_agreement"] == 1.0 and out["drop"] == 0.0


def test_unregistered_results_and_decoders_are_named():
    with pytest.raises(UserInputError, match="expected a result of a registered task"):
        spec_of_result(Brightness(0.5))
    with pytest.raises(UserInputError, match="expected a decoder among ssd, yolo, yolo-objectness, yolo-end2end, "
                                             "yolo-seg, yolo-pose, movenet, "
                                             "classification, segmentation"):
        decoder_spec("brightness")
