"""Tests for edgevision/tasks/nms.py: overlaps worked out by hand."""
import importlib

import numpy as np
import pytest

from edgevision.tasks import batched_nms, box_iou, nms

# IoUs: A-B 90/110 = 0.818, A-C 50/150 = 0.333, B-C 60/140 = 0.429, D overlaps nothing.
A, B, C, D = [0, 0, 10, 10], [1, 0, 11, 10], [5, 0, 15, 10], [20, 20, 30, 30]
BOXES = np.array([A, B, C, D], np.float32)
SCORES = np.array([0.9, 0.8, 0.7, 0.95], np.float32)


def test_box_iou_by_hand():
    iou = box_iou(BOXES[:1], np.array([A, B, C, D, [5, 5, 15, 15], [1, 1, 1, 1]], np.float32))
    np.testing.assert_allclose(iou, [[1.0, 90 / 110, 1 / 3, 0.0, 25 / 175, 0.0]], rtol=1e-6)
    assert box_iou(BOXES, BOXES[:2]).shape == (4, 2)
    assert box_iou(np.zeros((0, 4)), BOXES).shape == (0, 4)


def test_nms_suppresses_heavy_overlap_only():
    # Order D, A, B, C: B goes (0.818 with A), C stays (0.333 with A; B was dropped).
    assert nms(BOXES, SCORES, 0.5).tolist() == [3, 0, 2]


def test_nms_threshold_moves_the_cut():
    assert nms(BOXES, SCORES, 0.3).tolist() == [3, 0]  # C goes too (0.333 > 0.3)
    assert nms(BOXES, SCORES, 0.9).tolist() == [3, 0, 1, 2]  # C vs B: 0.429 <= 0.9


def test_iou_equal_to_threshold_is_kept():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 5]], np.float32)  # IoU exactly 0.5
    assert nms(boxes, np.array([0.9, 0.8]), 0.5).tolist() == [0, 1]
    assert nms(boxes, np.array([0.9, 0.8]), 0.49).tolist() == [0]


def test_nms_max_output_and_empty():
    assert nms(BOXES, SCORES, 0.5, max_output=2).tolist() == [3, 0]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_batched_nms_keeps_other_classes():
    # B overlaps A by 0.818 but is another class, so it stays.
    assert batched_nms(BOXES, SCORES, np.array([0, 1, 0, 0]), 0.5).tolist() == [3, 0, 1, 2]
    assert batched_nms(BOXES, SCORES, np.array([0, 0, 0, 0]), 0.5).tolist() == [3, 0, 2]
    assert batched_nms(BOXES, SCORES, np.array([2, 2, 2, 7]), 0.3, max_output=1).tolist() == [3]


def test_batched_nms_with_negative_coordinates():
    # A max-coordinate offset would be 0 here and merge the classes; the span offset keeps them apart.
    boxes = np.array([[-100, -100, -1, -1], [-100, -100, -1, -1]], np.float32)
    assert batched_nms(boxes, np.array([0.9, 0.8]), np.array([0, 1]), 0.5).tolist() == [0, 1]
    assert batched_nms(boxes, np.array([0.9, 0.8]), np.array([1, 1]), 0.5).tolist() == [0]


@pytest.mark.parametrize("seed", range(4))
def test_all_pairs_at_once_keeps_what_one_row_per_kept_box_keeps(seed, monkeypatch):
    """Up to _MATRIX_MAX candidates NMS takes every IoU at once; above, a row per kept box: the same boxes."""
    nms_module = importlib.import_module("edgevision.tasks.nms")
    rng = np.random.default_rng(seed)
    cases = []
    for trial in range(300):
        n = int(rng.integers(1, 80))
        xy, wh = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 40, (n, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        if trial % 7 == 0:
            boxes[: n // 2] = boxes[0]  # exact duplicates: IoU 1
        scores = rng.choice([0.5, 0.6, 0.7], n) if trial % 3 == 0 else rng.uniform(0, 1, n)  # ties too
        cases.append((boxes, scores, float(rng.uniform(0.1, 0.9)), None if trial % 2 else int(rng.integers(1, 10))))
    at_once = [nms(b, s, t, max_output=k).tolist() for b, s, t, k in cases]
    monkeypatch.setattr(nms_module, "_MATRIX_MAX", 0)
    row_by_row = [nms(b, s, t, max_output=k).tolist() for b, s, t, k in cases]
    assert at_once == row_by_row
    assert sum(map(len, at_once)) > len(cases)  # not all trivial: most cases keep several boxes
