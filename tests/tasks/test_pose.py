"""YOLO-pose and MoveNet decoding against a reference decode written here, through every runtime.

The reference maps keypoints back through the letterbox with Ultralytics' own arithmetic
(``scale_coords``: subtract the padding, divide by the gain, clip to the image); every keypoint
of every pose must land within 1 px of it (they agree to float rounding).
"""
from __future__ import annotations

import numpy as np
import pytest

import edgevision
from edgevision.errors import ModelError
from edgevision.poses import COCO_SKELETON, Poses
from edgevision.sources.shapes import shapes_scene
from edgevision.tasks.pose import detect_poses, pose_movenet
from edgevision.transform import make_transform

SOURCES = [(320, 240), (150, 260), (64, 64)]


def letterbox(sw, sh, iw, ih):
    gain = min(iw / sw, ih / sh)
    rw, rh = min(iw, max(1, round(sw * gain))), min(ih, max(1, round(sh * gain)))
    return (rw / sw, rh / sh), ((iw - rw) // 2, (ih - rh) // 2)


def to_source(xy, source, input_size):
    (gx, gy), (px, py) = letterbox(*source, *input_size)
    out = (np.asarray(xy, np.float64) - [px, py]) / [gx, gy]
    return np.clip(out, 0, source)


@pytest.mark.parametrize("fmt", ["tflite", "onnx", "openvino"])
def test_yolo_pose_keypoints_within_a_pixel_of_the_reference(task_zoo, fmt):
    model = edgevision.load(task_zoo["yolo-pose"][fmt], task="pose", labels=["person"], resize="letterbox",
                            scale=1 / 255)
    assert model.decoder["type"] == "yolo-pose" and model.decoder["kpt_shape"] == [17, 3]
    rng = np.random.default_rng(4)
    compared = 0
    for size in SOURCES:
        image = shapes_scene(rng, size, n_shapes=3, min_radius=0.12, max_radius=0.25).image
        result = model.predict(image)
        tensor = model.new_input()
        model.preprocess(image, tensor)
        rows = model.infer_raw(tensor)[0][0].T.copy()  # [1, 56, N] -> (N, 56)
        iw, ih = model.input_size
        rows[:, :4] *= [iw, ih, iw, ih]  # a TFLite export's fractions of the input, boxes and keypoints alike
        rows[:, 5::3] *= iw
        rows[:, 6::3] *= ih
        for box, kp in zip(result.xyxy, result.keypoints):
            # the raw row this pose came from: the one whose box maps to it
            raw_boxes = np.concatenate([rows[:, :2] - rows[:, 2:4] / 2, rows[:, :2] + rows[:, 2:4] / 2], 1)
            mapped = np.concatenate([to_source(raw_boxes[:, :2], size, model.input_size),
                                     to_source(raw_boxes[:, 2:], size, model.input_size)], 1)
            row = rows[int(np.argmin(np.abs(mapped - box).max(1)))]
            ref = row[5:].reshape(17, 3)
            assert np.abs(kp[:, :2] - to_source(ref[:, :2], size, model.input_size)).max() <= 1.0
            np.testing.assert_allclose(kp[:, 2], ref[:, 2], atol=1e-6)
            compared += 1
    assert compared >= 5


@pytest.mark.parametrize("fmt", ["tflite", "onnx", "openvino"])
def test_movenet_keypoints_within_a_pixel_of_the_reference(task_zoo, fmt):
    model = edgevision.load(task_zoo["movenet"][fmt], task="pose", decoder="movenet", labels=["person"],
                            resize="letterbox", scale=1 / 255, score_threshold=0.0)
    for size in SOURCES:
        image = shapes_scene(np.random.default_rng(1), size, n_shapes=2).image
        result = model.predict(image)
        tensor = model.new_input()
        model.preprocess(image, tensor)
        yxs = model.infer_raw(tensor)[0][0, 0]  # (17, 3): y, x, score
        iw, ih = model.input_size
        ref = to_source(yxs[:, [1, 0]] * [iw, ih], size, model.input_size)
        assert len(result) == 1 and np.abs(result.keypoints[0, :, :2] - ref).max() <= 1.0
        assert result.confidence[0] == pytest.approx(yxs[:, 2].mean(), abs=1e-6)


def test_a_bare_movenet_model_is_recognised_and_a_pose_task_picks_yolo_pose(task_zoo):
    assert edgevision.load(task_zoo["movenet"]["tflite"]).decoder["type"] == "movenet"
    assert edgevision.load(task_zoo["yolo-pose"]["onnx"], task="pose").decoder["type"] == "yolo-pose"
    assert edgevision.load(task_zoo["yolo-pose"]["onnx"]).task == "detection"  # a pose output is a detector's shape
    with pytest.raises(ModelError, match=r"kpt_shape \[5, 3\]"):
        edgevision.load(task_zoo["yolo-pose"]["onnx"], task="pose", labels=["person"], kpt_shape=[5, 3])


def test_normalised_keypoints_and_two_value_keypoints():
    t = make_transform((200, 100), (100, 100), "letterbox")  # y 25..75 holds the image
    row = [0.5, 0.5, 0.2, 0.2, 0.9, 0.25, 0.5, 0.75, 0.5]  # fractions of the input, 2 keypoints of (x, y)
    p = detect_poses(np.array([row], np.float32)[None], transform=t, kpt_shape=(2, 2), labels=("person",))
    assert p.keypoints.tolist() == [[[50.0, 50.0, 1.0], [150.0, 50.0, 1.0]]]
    empty = pose_movenet(np.zeros((1, 1, 17, 3)), transform=t)
    assert len(empty) == 0 and empty.keypoints.shape == (0, 17, 3)


def test_pose_results_describe_draw_and_serialise():
    from edgevision.annotate import annotate

    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, :, 0], kp[0, :, 1], kp[0, :, 2] = np.linspace(10, 90, 17), np.linspace(10, 50, 17), 0.9
    poses = Poses(np.array([[10, 10, 90, 50]]), np.array([0.8]), np.array([0]), ("person",), keypoints=kp)
    out = annotate(np.zeros((60, 100, 3), np.uint8), poses)
    assert out[10:50, 10:90].any() and poses.skeleton == COCO_SKELETON
    data = poses.to_dict()
    assert data["keypoint_names"][0] == "nose" and len(data["poses"][0]["keypoints"]) == 17
    assert poses[np.array([True])].keypoints.shape == (1, 17, 3)
