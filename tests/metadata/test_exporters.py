"""Bring your own model: real exporters' layouts and metadata run with no flag but the source, and convert.

For each layout a small model is built in the session with the outputs and the metadata the exporter
writes (``tests/_exporters.py``). ``edgevision run MODEL --source IMAGES --json`` with no other flag
must match a reference decode written here, from the exporter's own conventions (Ultralytics'
letterbox, scale_boxes, conf 0.25, iou 0.7), on the model's raw outputs from its own runtime; then
``convert`` to every target that takes its format must succeed with its fidelity in the manifest.
"""
from __future__ import annotations

import json
from pathlib import Path

import _exporters as ex
import _tf_exporters as tfx
import numpy as np
import pytest
from _reference_nms import greedy_nms

from edgevision.cli import main

cv2 = pytest.importorskip("cv2")
pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ the reference, written from the exporters' code
def letterbox(image: np.ndarray, size: int = ex.SIZE, pad: int = 114) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Ultralytics' LetterBox(auto=False, center=True): (image, gain, (left, top))."""
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    nw, nh = round(w * r), round(h * r)
    dw, dh = (size - nw) / 2, (size - nh) / 2
    out = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, bottom, left, right = round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1)
    out = cv2.copyMakeBorder(out, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(pad, pad, pad))
    return out, r, (left, top)


def reference(kind: str, outputs: np.ndarray, gain: float, pad: tuple[int, int], shape: tuple[int, int],
              conf: float = 0.25, iou: float = 0.7) -> list[tuple[str, list[float]]]:
    """(name, xyxy in image pixels) as Ultralytics' predict gives them: postprocess, then scale_boxes."""
    if kind == "end2end":
        rows = outputs[0]
        keep = [i for i in range(len(rows)) if rows[i, 4] > conf]
        boxes, names = rows[keep, :4], [ex.LABELS[int(c)] for c in rows[keep, 5]]
    else:
        rows = outputs[0] if kind == "v5" else outputs[0].T
        xywh = rows[:, :4] * (ex.SIZE if kind == "normalized" else 1)
        cls = rows[:, 5:] * rows[:, 4:5] if kind == "v5" else rows[:, 4:]
        score, cid = cls.max(1), cls.argmax(1)
        boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
        keep = list(np.flatnonzero(score > conf))
        offset = boxes[keep] + cid[keep, None] * 7680.0  # Ultralytics' class-offset NMS (max_wh)
        kept = [keep[k] for k in greedy_nms(offset, score[keep], iou)]
        boxes, names = boxes[kept], [ex.LABELS[int(c)] for c in cid[kept]]
    boxes = (boxes - np.array([*pad, *pad])) / gain
    h, w = shape
    boxes = np.clip(boxes, 0, [w, h, w, h])
    return list(zip(names, boxes.tolist()))


def box_iou(a: list[float], b: list[float]) -> float:
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def matches(ours: list[dict], ref: list[tuple[str, list[float]]]) -> None:
    assert len(ours) == len(ref) > 0 or len(ours) == len(ref)
    for name, box in ref:
        best = max((d for d in ours if d["label"] == name), key=lambda d: box_iou(d["xyxy"], box), default=None)
        assert best is not None and box_iou(best["xyxy"], box) >= 0.99, (name, box, ours)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Shapes scenes of two sizes (letterbox pads differ), as files a user would point --source at."""
    from edgevision.sources.shapes import shapes_scene

    root = tmp_path_factory.mktemp("byom_images")
    rng = np.random.default_rng(21)
    for i in range(12):
        size = (640, 480) if i % 2 else (360, 480)
        cv2.imwrite(str(root / f"{i:03d}.png"), shapes_scene(rng, size, n_shapes=4).image[..., ::-1])
    return root


def run_json(model: Path, source: Path, capsys, *flags: str) -> list[dict]:
    assert main(["run", str(model), "--source", str(source), "--json", *flags]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [line for line in lines if "summary" not in line]


def frames(source: Path) -> list[np.ndarray]:
    return [cv2.imread(str(p))[..., ::-1].copy() for p in sorted(source.glob("*.png"))]


def convert_all(model: Path, targets: list[str], out: Path, images: Path, **kw):
    from edgevision.converters.convert import convert

    result = convert(model, targets, out=out, calibration=str(images), log=lambda m: None, **kw)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["artifacts"]) == sorted(t.split(":")[0] for t in targets)
    for art in manifest["artifacts"].values():
        assert art["fidelity"]["metric"] in art["fidelity"] and art["fidelity"]["images"] > 0
    return result, manifest


# ------------------------------------------------------------------ detection layouts
ONNX_DETECTORS = {"v8": ex.yolov8_onnx, "end2end": ex.end2end_onnx, "v5": ex.yolov5_onnx}


@pytest.mark.parametrize("kind", list(ONNX_DETECTORS))
def test_an_onnx_detector_runs_with_no_flag_and_converts(kind, images, tmp_path, capsys):
    import onnxruntime as ort

    path = ONNX_DETECTORS[kind](tmp_path / f"{kind}.onnx")
    lines = run_json(path, images, capsys)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    found = 0
    for line, image in zip(lines, frames(images)):
        boxed, gain, pad = letterbox(image)
        x = (boxed.astype(np.float32) / 255).transpose(2, 0, 1)[None]
        ref = reference(kind, session.run(None, {"images": x})[0], gain, pad, image.shape[:2])
        matches(line["detections"], ref)
        found += len(ref)
    assert found >= 5  # the scenes give the comparison something to compare
    _, manifest = convert_all(path, ["jetson-orin", "intel-cpu:fp32", "intel-npu"], tmp_path / "bundle", images)
    assert manifest["labels"] == list(ex.LABELS) and manifest["input"]["pad_value"] == 114
    assert manifest["input"]["resize"] == "letterbox"
    assert manifest["decoder"]["type"] == {"v8": "yolo", "end2end": "yolo-end2end", "v5": "yolo-objectness"}[kind]
    assert "labels" in manifest["source"]["metadata"]
    for art in manifest["artifacts"].values():
        assert art["fidelity"]["map50_vs_source"] >= 0.95
    bundled = run_json(tmp_path / "bundle", images, capsys, "--target", "intel-cpu")  # the bundle: no flag either
    for ours, line in zip(bundled, lines):
        matches(ours["detections"], [(d["label"], d["xyxy"]) for d in line["detections"]])


def test_ultralytics_openvino_export_runs_with_no_flag(images, tmp_path, capsys):
    onnx_path = ex.yolov8_onnx(tmp_path / "yolov8n.onnx", props={})  # the IR's metadata must do it alone
    xml = ex.ultralytics_openvino(onnx_path, tmp_path / "yolov8n_openvino_model")
    lines = run_json(xml, images, capsys)
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for line, image in zip(lines, frames(images)):
        boxed, gain, pad = letterbox(image)
        out = session.run(None, {"images": (boxed.astype(np.float32) / 255).transpose(2, 0, 1)[None]})[0]
        matches(line["detections"], reference("v8", out, gain, pad, image.shape[:2]))


def test_ultralytics_float_tflite_gives_normalised_boxes_decided_once(images, tmp_path, capsys):
    from ai_edge_litert.interpreter import Interpreter

    path = tfx.ultralytics_tflite(tmp_path / "yolov8n_float32.tflite")
    lines = run_json(path, images, capsys)
    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    for line, image in zip(lines, frames(images)):
        boxed, gain, pad = letterbox(image)
        interp.set_tensor(interp.get_input_details()[0]["index"], (boxed.astype(np.float32) / 255)[None])
        interp.invoke()
        out = interp.get_tensor(interp.get_output_details()[0]["index"])
        matches(line["detections"], reference("normalized", out, gain, pad, image.shape[:2]))
    _, manifest = convert_all(path, ["intel-cpu:fp32", "intel-gpu"], tmp_path / "bundle", images)
    assert manifest["decoder"]["box_format"] == "normalized"


def test_tf_od_api_frozen_graph_with_a_uint8_image_tensor_converts(images, tmp_path, capsys):
    """The issue's command: a multi-page TensorFlow traceback before (the reference always fed float32)."""
    graph = tfx.tf_od_frozen_graph(tmp_path / "frozen_inference_graph.pb")
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(ex.LABELS) + "\n")
    _, manifest = convert_all(graph, ["intel-cpu:fp32", "intel-npu"], tmp_path / "bundle", images,
                              input_shape=(1, ex.SIZE, ex.SIZE, 3), overrides={"labels": str(labels)})
    assert manifest["decoder"]["type"] == "ssd" and manifest["decoder"]["label_offset"] == -1
    assert manifest["input"]["mean"] == [0.0] * 3 and manifest["input"]["std"] == [1.0] * 3  # raw pixels
    lines = run_json(tmp_path / "bundle", images, capsys, "--target", "intel-cpu")
    import tensorflow as tf

    g = tf.compat.v1.GraphDef()
    g.ParseFromString(graph.read_bytes())
    fn = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(g, name=""), [])
    names = ["detection_boxes", "detection_classes", "detection_scores", "num_detections"]
    run = fn.prune(fn.graph.get_tensor_by_name("image_tensor:0"), [fn.graph.get_tensor_by_name(f"{n}:0") for n in names])
    for line, image in zip(lines, frames(images)):
        h, w = image.shape[:2]
        resized = cv2.resize(image, (ex.SIZE, ex.SIZE), interpolation=cv2.INTER_LINEAR)
        boxes, classes, scores, count = (np.asarray(o) for o in run(tf.constant(resized[None])))
        xyxy = np.clip(boxes[0][:, [1, 0, 3, 2]] * [w, h, w, h], 0, [w, h, w, h])
        ref = [(ex.LABELS[int(classes[0, i]) - 1], xyxy[i].tolist()) for i in range(int(count[0])) if scores[0, i] >= 0.5]
        matches(line["detections"], ref)


def test_tf_od_api_saved_model_with_a_uint8_input_converts_to_every_format(images, tmp_path):
    saved = tfx.tf_od_saved_model(tmp_path / "saved_model")
    _, manifest = convert_all(saved, ["rpi5:fp32", "jetson-orin", "intel-cpu"], tmp_path / "bundle", images)
    assert manifest["decoder"]["label_offset"] == -1
    for art in manifest["artifacts"].values():
        assert art["fidelity"]["map50_vs_source"] >= 0.95


def test_a_quantised_tflite_source_converts(images, tmp_path):
    """An int8 .tflite as the source: TypeError in backends/base.py before (float32 into a uint8 input)."""
    import tensorflow as tf

    def probs(x):
        return tf.nn.softmax(8.0 * tf.reduce_mean(x, axis=[1, 2]))

    concrete = tf.function(probs, input_signature=[tf.TensorSpec((1, 32, 32, 3), tf.float32)]).get_concrete_function()
    rng = np.random.default_rng(2)
    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], probs)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([rng.random((1, 32, 32, 3), dtype=np.float32)] for _ in range(16))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    for io in ("uint8", "int8"):
        conv.inference_input_type = conv.inference_output_type = getattr(tf, io)
        path = tmp_path / f"colour_{io}.tflite"
        path.write_bytes(conv.convert())
        _, manifest = convert_all(path, ["intel-cpu:fp32", "intel-gpu"], tmp_path / f"bundle_{io}", images,
                                  overrides={"task": "classification"})
        for art in manifest["artifacts"].values():
            assert art["fidelity"]["top1_agreement"] >= 0.95, art["fidelity"]


# ------------------------------------------------------------------ classification and segmentation
def test_an_nchw_classifier_with_mean_and_std_in_its_metadata(images, tmp_path, capsys):
    path = ex.model_api_classifier_onnx(tmp_path / "otx_classifier.onnx")
    lines = run_json(path, images, capsys)
    for line, image in zip(lines, frames(images)):
        x = cv2.resize(image, (32, 32), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        x = ((x - ex.MODEL_API_MEAN) / ex.MODEL_API_SCALE).transpose(2, 0, 1)[None].astype(np.float32)
        import onnxruntime as ort

        probs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"images": x})[0][0]
        top = line["classes"][0]
        assert top["label"] == ex.LABELS[int(np.argmax(probs))] and top["score"] == pytest.approx(probs.max(), abs=1e-4)
    _, manifest = convert_all(path, ["jetson-orin", "intel-cpu:fp32"], tmp_path / "bundle", images)
    assert manifest["input"]["mean"] == list(ex.MODEL_API_MEAN) and manifest["labels"] == list(ex.LABELS)


def test_a_tflite_support_classifier_takes_its_labels_and_normalisation(images, tmp_path, capsys):
    path = tfx.tflite_support_classifier(tmp_path / "classifier_metadata.tflite")
    lines = run_json(path, images, capsys)
    assert {line["classes"][0]["label"] for line in lines} <= set(ex.LABELS)
    import edgevision

    model = edgevision.load(path)
    assert model.input_format.mean == (127.5,) and model.labels == ex.LABELS
    _, manifest = convert_all(path, ["intel-cpu:fp32"], tmp_path / "bundle", images)
    assert manifest["labels"] == list(ex.LABELS)


def test_a_one_channel_segmenter_without_labels(images, tmp_path, capsys):
    """Crashed after the build before ("expected predicted class ids in [0, 1)")."""
    import edgevision

    path = ex.segmenter_1ch_onnx(tmp_path / "mask.onnx")
    lines = run_json(path, images, capsys)
    assert all(line["task"] == "segmentation" for line in lines)
    model = edgevision.load(path)
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for image in frames(images):
        x = (cv2.resize(image, (ex.SIZE, ex.SIZE), interpolation=cv2.INTER_LINEAR) / 255).astype(np.float32)
        mask = session.run(None, {"images": x.transpose(2, 0, 1)[None]})[0][0, 0] >= 0.5
        h, w = image.shape[:2]
        rows = ((np.arange(h) + 0.5) * ex.SIZE / h).astype(int)  # the mask cell under each pixel's centre
        cols = ((np.arange(w) + 0.5) * ex.SIZE / w).astype(int)
        ref = mask[np.ix_(rows, cols)]
        assert (model.predict(image).class_map == ref).mean() >= 0.99
    _, manifest = convert_all(path, ["jetson-orin", "intel-cpu"], tmp_path / "bundle", images)
    for art in manifest["artifacts"].values():
        assert art["fidelity"]["miou_vs_source"] >= 0.95


# ------------------------------------------------------------------ heads once refused by name, now registered
def test_a_single_person_pose_tflite_runs_with_no_flag(tmp_path, capsys, images):
    path = tfx.movenet_tflite(tmp_path / "movenet_singlepose.tflite")
    assert main(["run", str(path), "--source", str(images), "--json", "--score-threshold", "0"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()[:-1]]
    assert records and all(r["task"] == "pose" and len(r["poses"]) == 1 for r in records)


def test_an_ultralytics_pose_head_loads_as_pose_from_its_metadata(tmp_path):
    import edgevision

    model = edgevision.load(ex.pose_onnx(tmp_path / "yolov8n-pose.onnx"))
    assert model.task == "pose" and model.decoder["type"] == "yolo-pose" and model.decoder["kpt_shape"] == [17, 3]
    assert model.labels == ("person",) and model.decoder["box_format"] == "pixels"
    image = np.zeros((96, 128, 3), np.uint8)
    image[20:60, 30:80] = 255
    result = model.predict(image)
    assert len(result) and result.keypoints.shape[1:] == (17, 3)
    assert (result.keypoints[..., 0] <= 128).all() and (result.keypoints[..., 1] <= 96).all()
