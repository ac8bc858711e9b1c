"""Mask mAP and OKS mAP on hand-made cases, OKS against COCO's formula written out."""
from __future__ import annotations

import numpy as np

from edgevision.converters.metrics_tasks import keypoint_sigmas, mask_map50, oks, oks_map50, poses_as_truth
from edgevision.instances import InstanceSegmentation
from edgevision.masks import InstanceMasks
from edgevision.poses import Poses


def instances(origins, sizes, scores, classes=None, image=(40, 40)):
    bitmaps = [np.ones(s, bool) for s in sizes]
    boxes = [[x, y, x + s[1], y + s[0]] for (x, y), s in zip(origins, sizes)]
    return InstanceSegmentation(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores),
                                np.zeros(len(sizes), int) if classes is None else np.array(classes),
                                masks=InstanceMasks(image, np.array(origins).reshape(-1, 2), bitmaps))


def test_mask_map_counts_a_shifted_mask_by_its_iou():
    truth = instances([(0, 0)], [(10, 10)], [1.0])
    near = instances([(2, 0)], [(10, 10)], [0.9])  # IoU 80/120 = 0.67: a hit
    far = instances([(6, 0)], [(10, 10)], [0.9])  # IoU 40/160 = 0.25: a miss
    assert mask_map50([near], [(truth.masks, truth.class_id)], 1) == 1.0
    assert mask_map50([far], [(truth.masks, truth.class_id)], 1) == 0.0


def test_two_empty_masks_are_compared_by_their_boxes():
    empty = InstanceSegmentation(np.array([[0, 0, 10, 10]], np.float32), np.array([0.9]), np.array([0]),
                                 masks=InstanceMasks((40, 40), np.array([[0, 0]]), [np.zeros((10, 10), bool)]))
    assert mask_map50([empty], [(empty.masks, empty.class_id)], 1) == 1.0


def test_oks_is_cocos_formula():
    rng = np.random.default_rng(0)
    truth = np.concatenate([rng.uniform(0, 100, (2, 17, 2)), rng.integers(0, 3, (2, 17, 1))], axis=2)
    pred = truth + np.concatenate([rng.normal(0, 3, (2, 17, 2)), np.zeros((2, 17, 1))], axis=2)
    areas = np.array([900.0, 2500.0])
    sigmas = keypoint_sigmas(17)
    got = oks(pred, truth, areas, sigmas)
    for i in range(2):
        for j in range(2):
            d2 = ((pred[i, :, :2] - truth[j, :, :2]) ** 2).sum(1)
            e = d2 / (2 * sigmas) ** 2 / (areas[j] + np.spacing(1)) / 2
            seen = truth[j, :, 2] > 0
            assert got[i, j] == np.exp(-e)[seen].sum() / seen.sum()


def test_oks_map_and_the_source_as_truth():
    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, :, 0], kp[0, :, 1], kp[0, :, 2] = np.linspace(10, 50, 17), np.linspace(5, 80, 17), 0.9
    source = Poses(np.array([[10, 5, 50, 80]]), np.array([0.8]), np.array([0]), keypoints=kp)
    moved = Poses(source.xyxy, source.confidence, source.class_id, keypoints=kp + [1.0, 1.0, 0.0])
    assert oks_map50([moved], [poses_as_truth(source)], 1) == 1.0
    assert oks_map50([Poses.empty()], [poses_as_truth(source)], 1) == 0.0
