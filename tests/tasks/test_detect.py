"""Tests for edgevision/tasks/detect.py: YOLO and SSD decoding, boxes worked out by hand."""
import numpy as np
import pytest

from edgevision.errors import ModelError
from edgevision.tasks import assign_ssd_outputs, detect_ssd, detect_yolo
from edgevision.transform import make_transform

LABELS = ("person", "car", "dog")
# 640x480 -> 320x320 letterbox: source = (input - (0, 40)) / 0.5.
LETTERBOX = make_transform((640, 480), (320, 320), "letterbox")

# Rows (cx, cy, w, h, person, car, dog) in model-input pixels; N = 10 > 4 + nc = 7.
ROWS = np.zeros((10, 7), np.float32)
ROWS[0] = [100, 100, 40, 40, 0.9, 0.1, 0.0]  # person: input (80,80,120,120) -> source (160,80,240,160)
ROWS[1] = [102, 100, 40, 40, 0.8, 0.0, 0.0]  # person, IoU 0.905 with row 0: suppressed
ROWS[2] = [102, 100, 40, 40, 0.0, 0.7, 0.0]  # car, same box: kept unless class-agnostic
ROWS[3] = [250, 200, 60, 40, 0.1, 0.2, 0.6]  # dog: input (220,180,280,220) -> source (440,280,560,360)
ROWS[4] = [50, 50, 10, 10, 0.2, 0.1, 0.1]  # best score 0.2 < 0.25: dropped
ROWS[5] = [300, 60, 20, 20, 0.0, 0.0, 0.3]  # dog: input (290,50,310,70) -> source (580,20,620,60)

EXPECTED_XYXY = {
    0: [160, 80, 240, 160],
    2: [164, 80, 244, 160],
    3: [440, 280, 560, 360],
    5: [580, 20, 620, 60],
}


def _expected(rows):
    return np.array([EXPECTED_XYXY[r] for r in rows], np.float32)


def test_yolo_attributes_first():
    d = detect_yolo(ROWS.T[None], transform=LETTERBOX, labels=LABELS)  # [1, 7, 10]
    np.testing.assert_allclose(d.xyxy, _expected([0, 2, 3, 5]), atol=1e-4)
    np.testing.assert_allclose(d.confidence, [0.9, 0.7, 0.6, 0.3], rtol=1e-6)
    assert d.class_id.tolist() == [0, 1, 2, 2]
    assert d.names == ["person", "car", "dog", "dog"]


def test_yolo_both_orders_give_identical_results():
    first = detect_yolo(ROWS.T[None], transform=LETTERBOX)  # orientation from the smaller dim
    last = detect_yolo(ROWS[None], transform=LETTERBOX)  # [1, 10, 7]
    with_labels = detect_yolo(ROWS[None], transform=LETTERBOX, labels=LABELS)
    for d in (last, with_labels):
        np.testing.assert_array_equal(d.xyxy, first.xyxy)
        np.testing.assert_array_equal(d.confidence, first.confidence)
        np.testing.assert_array_equal(d.class_id, first.class_id)
    assert len(first) == 4


def test_yolo_class_agnostic_suppresses_across_classes():
    d = detect_yolo(ROWS[None], transform=LETTERBOX, class_agnostic=True)
    np.testing.assert_allclose(d.xyxy, _expected([0, 3, 5]), atol=1e-4)
    assert d.class_id.tolist() == [0, 2, 2]


def test_yolo_threshold_and_max_detections():
    assert detect_yolo(ROWS[None], transform=LETTERBOX, score_threshold=0.65).class_id.tolist() == [0, 1]
    d = detect_yolo(ROWS[None], transform=LETTERBOX, max_detections=2)
    np.testing.assert_allclose(d.xyxy, _expected([0, 2]), atol=1e-4)
    # With the threshold at 0.2 row 4 (input (45,45,55,55) -> source (90,10,110,30)) comes in last.
    d = detect_yolo(ROWS[None], transform=LETTERBOX, score_threshold=0.2)
    assert d.confidence.astype(float).round(2).tolist() == [0.9, 0.7, 0.6, 0.3, 0.2]
    np.testing.assert_allclose(d.xyxy[-1], [90, 10, 110, 30], atol=1e-4)
    assert len(detect_yolo(ROWS[None], transform=LETTERBOX, score_threshold=0.95)) == 0


def test_yolo_iou_threshold():
    # At IoU 0.95 row 1 (0.905 with row 0) survives.
    d = detect_yolo(ROWS[None], transform=LETTERBOX, iou_threshold=0.95)
    assert d.confidence.astype(float).round(2).tolist() == [0.9, 0.8, 0.7, 0.6, 0.3]


def test_yolo_normalised_boxes_use_input_width_and_height():
    # Stretch 800x400 -> 400x200 (scale 0.5 on both axes).
    t = make_transform((800, 400), (400, 200), "stretch")
    rows = np.zeros((8, 6), np.float32)
    rows[0] = [0.5, 0.5, 0.1, 0.2, 0.1, 0.9]  # input (200,100,40,40) -> xyxy (180,80,220,120)
    for box_format in (None, "normalized"):
        d = detect_yolo(rows[None], transform=t, box_format=box_format)
        np.testing.assert_allclose(d.xyxy, [[360, 160, 440, 240]], atol=1e-3)
        assert d.class_id.tolist() == [1]
    # Told the same numbers are pixels: a 0.1 x 0.2 pixel box at (0.5, 0.5) -> source * 2.
    d = detect_yolo(rows[None], transform=t, box_format="pixels")
    np.testing.assert_allclose(d.xyxy, [[0.9, 0.8, 1.1, 1.2]], atol=1e-5)


# 256x128 -> 128x128 stretch (source x = 2 * input x); normalised boxes, scale 1/128 makes q exact.
STRETCH = make_transform((256, 128), (128, 128), "stretch")
PIXEL_ROWS = np.zeros((8, 6), np.int32)  # (cx, cy, w, h) in input pixels, scores in 1/128
PIXEL_ROWS[0] = [64, 64, 32, 48, 112, 8]  # class 0, 0.875: input (48,40,80,88) -> source (96,40,160,88)
PIXEL_ROWS[1] = [32, 32, 16, 16, 8, 64]  # class 1, 0.5: input (24,24,40,40) -> source (48,24,80,40)


@pytest.mark.parametrize("dtype, zero_point", [(np.int8, -128), (np.uint8, 10)])
def test_yolo_quantised(dtype, zero_point):
    q = (PIXEL_ROWS + zero_point).astype(dtype)
    d = detect_yolo(q.T[None], transform=STRETCH, quant=(1 / 128, zero_point))
    np.testing.assert_array_equal(d.xyxy, [[96, 40, 160, 88], [48, 24, 80, 40]])
    np.testing.assert_array_equal(d.confidence, [0.875, 0.5])
    assert d.class_id.tolist() == [0, 1]


@pytest.mark.parametrize(
    "shape, labels, message",
    [
        ((7, 10), (), r"expected a YOLO output of shape \[1, 4\+nc, N\] or \[1, N, 4\+nc\], got \(7, 10\)"),
        ((2, 7, 10), (), r"got \(2, 7, 10\)"),
        ((1, 7, 7), (), r"whose 4\+nc and N dims differ .* got \(1, 7, 7\)"),
        ((1, 6, 10), LABELS, r"one dim of 4\+3 \(the labels\), got \(1, 6, 10\)"),
        ((1, 4, 10), (), r"at least 5 values per box \(4\+nc\), got \(1, 4, 10\)"),
        ((1, 10, 4), (), r"at least 5 values per box \(4\+nc\), got \(1, 10, 4\)"),
    ],
)
def test_yolo_ill_shaped_outputs(shape, labels, message):
    with pytest.raises(ModelError, match=message):
        detect_yolo(np.zeros(shape, np.float32), transform=LETTERBOX, labels=labels)


# SSD: normalised (ymin, xmin, ymax, xmax) of the 320x320 input, under the same letterbox.
SSD_BOXES = np.array(
    [[
        [0.25, 0.25, 0.75, 0.5],  # input (80,80,160,240) -> source (160,80,320,400)
        [0.125, 0.5, 0.25, 1.0],  # input (160,40,320,80) -> source (320,0,640,80)
        [0.0, 0.0, 0.125, 0.125],  # input (0,0,40,40), in the top padding -> source (0,0,80,0)
        [0.0, 0.0, 0.0, 0.0],  # padding past count
    ]],
    np.float32,
)
SSD_CLASSES = np.array([[1.0, 17.0, 3.0, 0.0]], np.float32)
SSD_SCORES = np.array([[0.9, 0.7, 0.4, 0.0]], np.float32)
SSD_COUNT = np.array([3.0], np.float32)


def test_ssd_boxes_to_source_pixels():
    d = detect_ssd(SSD_BOXES, SSD_CLASSES, SSD_SCORES, SSD_COUNT, transform=LETTERBOX)
    np.testing.assert_allclose(d.xyxy, [[160, 80, 320, 400], [320, 0, 640, 80]], atol=1e-4)
    np.testing.assert_allclose(d.confidence, [0.9, 0.7])
    assert d.class_id.tolist() == [1, 17]


def test_ssd_label_offset():
    args = (SSD_BOXES, SSD_CLASSES, SSD_SCORES, SSD_COUNT)
    assert detect_ssd(*args, transform=LETTERBOX, label_offset=-1).class_id.tolist() == [0, 16]
    d = detect_ssd(*args, transform=LETTERBOX, label_offset=1, labels=("bg", "a", "b"))
    assert d.class_id.tolist() == [2, 18]
    assert d.names == ["b", "18"]


def test_ssd_threshold_count_and_max_detections():
    args = (SSD_BOXES, SSD_CLASSES, SSD_SCORES)
    d = detect_ssd(*args, SSD_COUNT, transform=LETTERBOX, score_threshold=0.3)
    np.testing.assert_allclose(d.xyxy[2], [0, 0, 80, 0], atol=1e-4)
    assert len(d) == 3
    assert len(detect_ssd(*args, np.array([2.0]), transform=LETTERBOX, score_threshold=0.3)) == 2
    assert len(detect_ssd(*args, None, transform=LETTERBOX, score_threshold=0.0)) == 4
    assert detect_ssd(*args, SSD_COUNT, transform=LETTERBOX, max_detections=1).class_id.tolist() == [1]


def test_ssd_sorts_by_score():
    d = detect_ssd(SSD_BOXES[:, :2], np.array([[4.0, 5.0]]), np.array([[0.6, 0.8]]), transform=LETTERBOX)
    assert d.class_id.tolist() == [5, 4]


def test_ssd_ill_shaped():
    with pytest.raises(ModelError, match=r"expected SSD boxes of shape \[1, N, 4\], got \(1, 4, 5\)"):
        detect_ssd(np.zeros((1, 4, 5)), SSD_CLASSES, SSD_SCORES, transform=LETTERBOX)
    with pytest.raises(ModelError, match="for the same N, got 4, 4 and 3"):
        detect_ssd(SSD_BOXES, SSD_CLASSES, SSD_SCORES[:, :3], transform=LETTERBOX)


TFLITE_ORDER = [SSD_BOXES, SSD_CLASSES, SSD_SCORES, SSD_COUNT]


def test_assign_tflite_order():
    assert assign_ssd_outputs(TFLITE_ORDER) == (0, 1, 2, 3)


def test_assign_shuffled_by_values():
    shuffled = [SSD_SCORES, SSD_COUNT, SSD_BOXES, SSD_CLASSES]
    assert assign_ssd_outputs(shuffled) == (2, 3, 0, 1)
    b, c, s, n = assign_ssd_outputs(shuffled)
    d = detect_ssd(shuffled[b], shuffled[c], shuffled[s], shuffled[n], transform=LETTERBOX)
    assert d.class_id.tolist() == [1, 17]


def test_assign_by_tf_od_api_names_when_values_cannot_tell():
    scores = np.array([[1.0, 1.0, 0.0, 0.0]], np.float32)  # whole numbers, like class ids
    arrays = [SSD_COUNT, scores, SSD_BOXES, SSD_CLASSES]
    names = ["num_detections", "detection_scores", "detection_boxes", "detection_classes"]
    assert assign_ssd_outputs(arrays, names) == (2, 3, 1, 0)
    # Without names both look like class ids: positional order, classes first.
    assert assign_ssd_outputs(arrays) == (2, 1, 3, 0)


def test_assign_without_count_and_with_one_detection():
    assert assign_ssd_outputs([SSD_SCORES, SSD_BOXES, SSD_CLASSES]) == (1, 2, 0, None)
    one = [np.array([[0.8]]), np.array([2.0]), np.zeros((1, 1, 4)), np.array([[3.0]])]
    assert assign_ssd_outputs(one) == (2, 3, 0, 1)


@pytest.mark.parametrize(
    "arrays, why",
    [
        ([SSD_BOXES, SSD_BOXES, SSD_SCORES, SSD_COUNT], "exactly one rank-3 output ending in 4"),
        ([SSD_BOXES, SSD_CLASSES], "3 or 4 outputs, not 2"),
        ([SSD_BOXES, SSD_SCORES, SSD_SCORES, SSD_COUNT], "class ids that are whole numbers"),
        ([SSD_BOXES, SSD_CLASSES[:, :2], SSD_SCORES[:, :2], SSD_COUNT], "one value per box"),
    ],
)
def test_assign_errors_name_the_shapes(arrays, why):
    with pytest.raises(ModelError, match=why + r"\), got \[\(1, 4, 4\)"):
        assign_ssd_outputs(arrays)
