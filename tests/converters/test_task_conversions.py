"""The new heads through the whole converter stage: every target profile, fidelity in the manifest.

The YOLO-seg, YOLO-pose and MoveNet test models (tests/_models_tasks.py, built in the session)
are converted for every shipped target (LiteRT fp32 and int8, the Edge TPU's full-integer int8,
OpenVINO IR fp16 and NNCF int8, ONNX fp16) into one bundle each; every artifact is loaded
through the runtime on held-out images and compared with the Keras source: mask mAP@0.5 for
instances, OKS mAP@0.5 for poses. The int8 TFLite gives the prototypes an output (and a scale)
of their own.
"""
from __future__ import annotations

import json

import pytest

from edgevision.bundle import read_manifest
from edgevision.converters.convert import convert
from edgevision.converters.datasets import write_shapes_dataset
from edgevision.formats.tflite import read_tflite
from edgevision.targets import TARGET_IDS

pytestmark = pytest.mark.slow
METRIC = {"yolo-seg": "mask_map50_vs_source", "yolo-pose": "oks_map50_vs_source", "movenet": "oks_map50_vs_source"}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("task_images")
    # Scenes without instance or keypoint ground truth (the test models know no shapes): fidelity against the source.
    write_shapes_dataset(root / "calibration", "segmentation", 48, (128, 96), seed=41)
    write_shapes_dataset(root / "validation", "segmentation", 16, (160, 120), seed=42)
    return root


@pytest.fixture(scope="module", params=["yolo-seg", "yolo-pose", "movenet"])
def converted(request, task_zoo, images, tmp_path_factory):
    import _models_tasks

    kind = request.param
    keras_path = task_zoo[kind]["keras"]
    labels = list(_models_tasks.LABELS) if kind == "yolo-seg" else ["person"]
    decoder = {"type": kind} if kind != "movenet" else {"type": "movenet", "score_threshold": 0.0}
    info = {"task": _models_tasks.TASK[kind], "labels": labels, "decoder": decoder,
            "input": {"resize": "letterbox", "mean": [0, 0, 0], "std": [255, 255, 255], "pad_value": 114}}
    keras_path.with_suffix(".json").write_text(json.dumps(info))
    out = tmp_path_factory.mktemp(kind) / "bundle"
    result = convert(keras_path, list(TARGET_IDS), out=out, calibration=images / "calibration",
                     validation=images / "validation", log=lambda m: None)
    return kind, result, read_manifest(out)


def test_every_target_has_an_artifact_with_its_fidelity(converted):
    kind, result, manifest = converted
    assert set(manifest.artifacts) == set(TARGET_IDS) and manifest.task in ("instance-segmentation", "pose")
    for report in result.artifacts:
        fid = manifest.artifacts[report.target].fidelity
        assert fid["metric"] == METRIC[kind] and fid["images"] == 16 and fid["drop_metric"] == f"1 - {METRIC[kind]}"
        print(f"{kind} {report.target:15} {report.format:15} {report.precision:6} {fid[METRIC[kind]]:.4f}")
        floor = {"fp32": 0.99, "fp16": 0.9}.get(report.precision, 0.8)  # int8: 0.94 (masks), 0.84 (poses) here
        assert fid[METRIC[kind]] >= floor, (report.target, fid)


def test_int8_tflite_quantises_the_prototypes_on_their_own_scale(converted):
    kind, result, manifest = converted
    if kind != "yolo-seg":
        pytest.skip("prototypes are YOLO-seg's")
    for target in ("rpi5", "coral-usb"):
        graph = read_tflite(result.path / manifest.artifacts[target].file)
        det = next(t for t in graph.outputs if len(t.shape) == 3)
        protos = next(t for t in graph.outputs if len(t.shape) == 4)
        assert det.dtype == protos.dtype == "uint8"
        assert det.quantization.scale[0] != protos.quantization.scale[0], target
    assert manifest.artifacts["coral-usb"].report["summary"]["all_mapped"], manifest.artifacts["coral-usb"].report
