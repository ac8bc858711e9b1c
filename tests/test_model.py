"""edgevision.load(...).predict(image) on every backend against the same model run in TensorFlow.

The reference preprocesses with tf.image.resize, runs the Keras model, and
decodes with TensorFlow's own NMS and a hand-written mapping to source pixels,
so it shares nothing with the runtime beyond the model weights.
"""
from __future__ import annotations

import numpy as np
import pytest
from _models import NC, SIZE

import edgevision

BACKENDS = [("litert", "tflite"), ("openvino", "openvino"), ("onnxruntime", "onnx"),
            ("openvino", "onnx"), ("openvino", "tflite")]
IDS = ["litert", "openvino-ir", "onnxruntime", "openvino-onnx", "openvino-tflite"]
pytestmark = pytest.mark.slow


def reference_input(image: np.ndarray, mode: str, pad_value: int = 0):
    """TF preprocessing: returns the [1, SIZE, SIZE, 3] float input and (scale, pad_x, pad_y, crop_x, crop_y)."""
    import tensorflow as tf

    h, w = image.shape[:2]
    img = tf.convert_to_tensor(image, tf.float32)
    if mode == "stretch":
        x = tf.image.resize(img, (SIZE, SIZE))
        return x[None] / 255.0, (SIZE / w, SIZE / h, 0, 0, 0, 0)
    if mode == "letterbox":
        s = min(SIZE / w, SIZE / h)
        rw, rh = round(w * s), round(h * s)
        px, py = (SIZE - rw) // 2, (SIZE - rh) // 2
        x = tf.image.resize(img, (rh, rw))
        x = tf.pad(x, [[py, SIZE - rh - py], [px, SIZE - rw - px], [0, 0]], constant_values=float(pad_value))
        return x[None] / 255.0, (rw / w, rh / h, px, py, 0, 0)
    side = min(w, h)  # centre-crop to a square input
    x0, y0 = (w - side) // 2, (h - side) // 2
    x = tf.image.resize(img[y0:y0 + side, x0:x0 + side], (SIZE, SIZE))
    return x[None] / 255.0, (SIZE / side, SIZE / side, 0, 0, x0, y0)


def to_source(xyxy, geom, image):
    sx, sy, px, py, cx, cy = geom
    out = (np.asarray(xyxy, np.float64) - [px, py, px, py]) / [sx, sy, sx, sy] + [cx, cy, cx, cy]
    h, w = image.shape[:2]
    return np.clip(out, 0, [w, h, w, h])


def threshold_between(scores, keep: int = 12) -> float:
    """A threshold keeping about ``keep`` scores and at least 1e-3 away from every score."""
    s = np.sort(np.asarray(scores).ravel())[::-1]
    for i in range(keep, len(s) - 1):
        if s[i - 1] - s[i] > 2e-3:
            return float((s[i - 1] + s[i]) / 2)
    raise AssertionError("no score gap found: pick another test image")


def assert_same_detections(det, ref_xyxy, ref_cls, ref_scores):
    """One-to-one: every reference detection has its own detection of the same class, box within 1 px.

    Matched by position, not by rank: scores a hair apart (or exactly tied, as in the constant
    letterbox padding) may swap order between engines without changing the detections.
    """
    assert len(det) == len(ref_xyxy), f"{len(det)} detections, reference has {len(ref_xyxy)}"
    free = np.ones(len(det), bool)
    for box, cls, score in zip(ref_xyxy, ref_cls, ref_scores):
        dist = np.abs(det.xyxy - box).max(1)
        dist[~free] = np.inf
        j = int(dist.argmin())
        assert dist[j] <= 1.0, f"no detection within 1 px of reference {box.round(1)} (nearest {dist[j]:.2f} px)"
        assert det.class_id[j] == cls and abs(det.confidence[j] - score) < 2e-3
        free[j] = False


@pytest.mark.parametrize("backend,fmt", BACKENDS, ids=IDS)
def test_classifier_matches_tensorflow(zoo, scene, backend, fmt):
    keras = zoo["classifier"]["keras"]
    x, _ = reference_input(scene.image, "centre-crop")
    ref = np.asarray(keras(x))[0]
    model = edgevision.load(zoo["classifier"][fmt], backend=backend, task="classification",
                            resize="centre-crop", labels=list("abcde"), top_k=3)
    result = model.predict(scene.image)
    order = np.argsort(-ref)[:3]
    assert np.diff(np.sort(ref)[::-1][:4]).min() < -1e-3  # the top classes are separable
    np.testing.assert_array_equal(result.class_id, order)
    np.testing.assert_allclose(result.confidence, ref[order], atol=2e-3)
    assert result.names == [list("abcde")[i] for i in order]


@pytest.mark.parametrize("backend,fmt", BACKENDS, ids=IDS)
def test_yolo_detector_matches_tensorflow(zoo, scene, backend, fmt):
    import tensorflow as tf

    x, geom = reference_input(scene.image, "letterbox", pad_value=114)
    raw = np.asarray(zoo["yolo"]["keras"](x))[0].T  # [N, 4+NC]
    scores, cls = raw[:, 4:].max(1), raw[:, 4:].argmax(1)
    thr = threshold_between(scores, keep=15)
    xyxy = np.concatenate([raw[:, :2] - raw[:, 2:4] / 2, raw[:, :2] + raw[:, 2:4] / 2], 1)
    keep = []
    for c in range(NC):  # class-aware NMS with TensorFlow's own implementation
        idx = np.nonzero((cls == c) & (scores >= thr))[0]
        if len(idx):
            yxyx = xyxy[idx][:, [1, 0, 3, 2]]
            sel = tf.image.non_max_suppression(yxyx, scores[idx], 100, iou_threshold=0.45).numpy()
            keep.extend(idx[sel])
    keep = np.array(keep, int)
    model = edgevision.load(zoo["yolo"][fmt], backend=backend, decoder="yolo", resize="letterbox",
                            pad_value=114, score_threshold=thr, iou_threshold=0.45, labels=["a", "b", "c"])
    det = model.predict(scene.image)
    assert len(det) >= 3
    assert_same_detections(det, to_source(xyxy[keep], geom, scene.image), cls[keep], scores[keep])


@pytest.mark.parametrize("backend,fmt", BACKENDS, ids=IDS)
def test_ssd_detector_matches_tensorflow(zoo, scene, backend, fmt):
    x, geom = reference_input(scene.image, "stretch")
    boxes, classes, scores, _count = (np.asarray(o)[0] for o in zoo["ssd"]["keras"](x))
    thr = threshold_between(scores, keep=8)
    keep = scores >= thr
    xyxy = boxes[keep][:, [1, 0, 3, 2]] * SIZE
    model = edgevision.load(zoo["ssd"][fmt], backend=backend, decoder="ssd", resize="stretch",
                            score_threshold=thr)
    det = model.predict(scene.image)
    assert len(det) >= 3
    assert_same_detections(det, to_source(xyxy, geom, scene.image), classes[keep].astype(int), scores[keep])


@pytest.mark.parametrize("backend,fmt", BACKENDS, ids=IDS)
def test_segmenter_matches_tensorflow(zoo, scene, backend, fmt):
    x, (sx, sy, px, py, _, _) = reference_input(scene.image, "letterbox")
    logits = np.asarray(zoo["segmenter"]["keras"](x))[0]
    grid = logits.argmax(-1)
    gh, gw = grid.shape
    h, w = scene.image.shape[:2]
    cols = np.clip(np.floor(((np.arange(w) + 0.5) * sx + px) * gw / SIZE), 0, gw - 1).astype(int)
    rows = np.clip(np.floor(((np.arange(h) + 0.5) * sy + py) * gh / SIZE), 0, gh - 1).astype(int)
    expected = grid[rows][:, cols]
    model = edgevision.load(zoo["segmenter"][fmt], backend=backend, task="segmentation", resize="letterbox")
    seg = model.predict(scene.image)
    assert seg.class_map.shape == (h, w)
    assert len(np.unique(expected)) >= 2  # the reference is not trivially one class
    assert (seg.class_map == expected).mean() >= 0.99
    assert sum(seg.areas.values()) == h * w


def test_model_reports_what_runs(zoo):
    model = edgevision.load(zoo["classifier"]["tflite"], threads=2)
    info = model.info()
    assert info["backend"]["backend"] == "litert" and info["backend"]["threads"] == 2
    assert info["backend"]["runtime"] == "ai_edge_litert"
    assert info["input"]["shape"] == [1, SIZE, SIZE, 3] and info["input"]["layout"] == "NHWC"
    assert info["task"] == "classification"  # guessed from the [1, 5] output
    ort_model = edgevision.load(zoo["classifier"]["onnx"])
    assert ort_model.info()["backend"]["providers"] == ["CPUExecutionProvider"]


@pytest.mark.parametrize("backend,fmt", BACKENDS, ids=IDS)
def test_a_raw_tensor_runs_fed_as_it_is_or_cast_into_the_input(zoo, backend, fmt):
    """backend.run: a tensor of the input's dtype and shape goes straight in (LiteRT set_tensor, ORT feed);
    any other is cast into the input buffer first. The same outputs either way, and as infer() gives."""
    model = edgevision.load(zoo["classifier"][fmt], backend=backend, task="classification")
    be = model.backend
    buffer = be.input_buffer()
    x = np.random.default_rng(4).uniform(0, 1, buffer.shape).astype(buffer.dtype)
    ready = [np.array(o) for o in be.run(x)]
    cast = [np.array(o) for o in be.run(x.astype(np.float64))]
    np.copyto(buffer, x)
    inline = [np.array(o) for o in be.infer()]
    for a, b, c in zip(ready, cast, inline):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    other = [np.array(o) for o in be.run(np.zeros_like(x))]
    assert not np.array_equal(other[0], ready[0])  # the tensor given is the one that ran


@pytest.mark.parametrize("backend,fmt", [("litert", "tflite"), ("openvino", "openvino")], ids=["litert", "openvino"])
def test_step_is_predict_without_the_hooks(zoo, scene, backend, fmt):
    model = edgevision.load(zoo["yolo"][fmt], backend=backend, decoder="yolo", score_threshold=0.0,
                            max_detections=20)
    expected = model.predict(scene.image)
    assert len(expected) > 0
    seen = []
    model.on_frame(lambda t, r: seen.append(t))
    result, times = model.step(scene.image)
    assert seen == []  # a step emits nothing: its caller decides what a frame's timings are
    assert times is model.timings and min(times) >= 0 and times.infer > 0
    np.testing.assert_array_equal(result.xyxy, expected.xyxy)
    np.testing.assert_array_equal(result.class_id, expected.class_id)
    np.testing.assert_array_equal(result.confidence, expected.confidence)


@pytest.mark.parametrize("backend,fmt", [("litert", "tflite"), ("openvino", "openvino")], ids=["litert", "openvino"])
def test_the_pieces_of_a_step_on_a_tensor_of_ones_own_give_its_result(zoo, scene, backend, fmt):
    """new_input, preprocess, a lease's run and decode: what an overlapped stream does, from public API only."""
    model = edgevision.load(zoo["yolo"][fmt], backend=backend, decoder="yolo", resize="letterbox",
                            score_threshold=0.0, max_detections=20)
    expected = model.predict(scene.image)
    assert len(expected) > 0
    tensor = model.new_input()
    assert tensor.shape == tuple(model.info()["input"]["shape"]) and not tensor.any()
    transform = model.preprocess(scene.image, tensor)
    assert transform.pad != (0, 0)  # letterboxed: the transform is what maps boxes back
    with model.lease(owner="this test") as engine:
        result = model.decode(engine.run(tensor), transform)
    np.testing.assert_array_equal(result.xyxy, expected.xyxy)
    np.testing.assert_array_equal(result.class_id, expected.class_id)
