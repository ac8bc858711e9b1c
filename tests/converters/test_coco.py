"""converters/coco.py: mAP50-95 by pycocotools, cross-checked against this project's own mAP@0.5, and the share of
the source's boxes an artifact keeps."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.converters.coco import boxes_kept, coco_map
from edgevision.converters.metrics import map50


def _scene(rng, n_images=40, nc=3):
    truth, preds = [], []
    for _ in range(n_images):
        k = int(rng.integers(1, 5))
        xy = rng.uniform(0, 200, (k, 2))
        wh = rng.uniform(10, 60, (k, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        cls = rng.integers(0, nc, k)
        truth.append((boxes, cls))
        jitter = rng.normal(0, 2.0, boxes.shape).astype(np.float32)
        keep = rng.random(k) > 0.15  # some missed
        extra = rng.uniform(0, 250, (1, 2)).astype(np.float32)
        p_boxes = np.concatenate([boxes[keep] + jitter[keep], np.concatenate([extra, extra + 20], 1)])
        p_cls = np.concatenate([cls[keep], rng.integers(0, nc, 1)])
        p_conf = rng.uniform(0.3, 1.0, len(p_boxes))
        preds.append((p_boxes, p_conf, p_cls))
    return preds, truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cocos_map50_cross_checks_ours(seed):
    preds, truth = _scene(np.random.default_rng(seed))
    coco = coco_map(preds, truth, 3)
    ours = map50(preds, truth, 3)
    assert abs(coco["map50"] - ours) <= 0.02, (coco, ours)  # 101-point vs all-point interpolation
    assert 0 < coco["map50_95"] < coco["map50"] <= 1


def test_perfect_and_empty_cases():
    truth = [(np.array([[0, 0, 10, 10], [20, 20, 40, 50]], np.float32), np.array([0, 2]))]
    perfect = [(truth[0][0], np.array([0.9, 0.8]), truth[0][1])]
    assert coco_map(perfect, truth, 3) == {"map50_95": 1.0, "map50": 1.0}
    nothing = [(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))]
    assert coco_map(nothing, truth, 3) == {"map50_95": 0.0, "map50": 0.0}
    no_truth = [(np.zeros((0, 4)), np.zeros(0, np.int64))]
    assert coco_map(nothing, no_truth, 3)["map50_95"] == 1.0 and coco_map(perfect, no_truth, 3)["map50"] == 0.0


def test_boxes_kept_needs_the_same_class_and_iou_09_one_to_one():
    ref = [(np.array([[0, 0, 100, 100], [200, 200, 300, 300], [0, 0, 100, 100]], np.float32), np.array([0, 1, 2]))]
    got = [(np.array([[0, 0, 100, 104],     # IoU 0.96, class 0: kept
                      [200, 200, 300, 320],  # IoU 0.83: lost
                      [0, 0, 100, 100]], np.float32),  # right box, class 1: not the class-2 box
            np.array([0.9, 0.9, 0.9]), np.array([0, 1, 1]))]
    assert boxes_kept(got, ref) == pytest.approx(1 / 3)
    twice = [(np.array([[0, 0, 100, 100], [0, 0, 100, 101]], np.float32), np.array([0.9, 0.8]), np.array([0, 0]))]
    assert boxes_kept(twice, [(np.array([[0, 0, 100, 100]], np.float32), np.array([0]))]) == 1.0
    with pytest.raises(ValueError, match="one prediction per reference image"):
        boxes_kept(got, ref * 2)
