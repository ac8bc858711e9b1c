"""converters/metrics.py on small hand-computed cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

from edgevision.converters.metrics import (
    accuracy,
    average_precision,
    average_precisions,
    box_iou,
    class_iou,
    map50,
    mean_iou,
    reference_ground_truth,
    top1_agreement,
)
from edgevision.results import Classification, Detections

A = [0.0, 0.0, 10.0, 10.0]
B = [20.0, 20.0, 30.0, 30.0]
NONE = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))  # an image with no predictions


def pred(*rows):
    """Predictions of one image from (box, confidence, class) rows."""
    if not rows:
        return NONE
    boxes, conf, cls = zip(*rows)
    return np.array(boxes), np.array(conf), np.array(cls)


def truth(*rows):
    """Ground truth of one image from (box, class) rows."""
    if not rows:
        return np.zeros((0, 4)), np.zeros(0, np.int64)
    boxes, cls = zip(*rows)
    return np.array(boxes), np.array(cls)


# -- classification ------------------------------------------------------------------------------
def test_accuracy_and_agreement():
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    assert top1_agreement(np.array([3, 1, 4]), np.array([3, 1, 4])) == 1.0
    assert top1_agreement([0, 0], [1, 1]) == 0.0


def test_agreement_takes_classification_results_by_their_top1():
    a = [Classification([2, 0], [0.7, 0.2]), Classification([1, 2], [0.5, 0.4])]
    assert top1_agreement(a, [2, 2]) == 0.5


def test_accuracy_rejects_length_mismatch_and_empty():
    with pytest.raises(ValueError, match="as many predictions"):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="at least one"):
        accuracy([], [])


# -- boxes and AP --------------------------------------------------------------------------------
def test_box_iou_values():
    iou = box_iou(np.array([A]), np.array([A, [5, 0, 15, 10], B, [3, 3, 3, 8]]))
    np.testing.assert_allclose(iou, [[1.0, 50 / 150, 0.0, 0.0]])  # last box has no area


def test_average_precision_hand_computed():
    # ranked TP, FP, TP with 2 GT: recall .5 at precision 1, recall 1 at precision 2/3
    assert average_precision([0.9, 0.8, 0.7], [True, False, True], 2) == pytest.approx(0.5 + 0.5 * 2 / 3)
    # ranked by confidence, not by the given order: FP (0.9) first, then TP -> precision 1/2
    assert average_precision([0.5, 0.9], [True, False], 1) == pytest.approx(0.5)
    # one of three GT never found
    assert average_precision([0.9, 0.8], [True, True], 3) == pytest.approx(2 / 3)
    assert average_precision([], [], 2) == 0.0
    assert math.isnan(average_precision([], [], 0))


def test_average_precision_envelope_uses_best_later_precision():
    # TP FP FP TP TP, 3 GT: precision at the 2nd TP is 2/4 but rises to 3/5 at the 3rd -> envelope 3/5
    ap = average_precision([5, 4, 3, 2, 1], [True, False, False, True, True], 3)
    assert ap == pytest.approx(1 / 3 * 1 + 1 / 3 * 0.6 + 1 / 3 * 0.6)


def test_map_perfect_is_one():
    gt = [truth((A, 0), (B, 1)), truth((B, 2))]
    preds = [pred((A, 0.9, 0), (B, 0.8, 1)), pred((B, 0.3, 2))]
    assert map50(preds, gt, num_classes=3) == 1.0
    assert average_precisions(preds, gt, 3) == {0: 1.0, 1: 1.0, 2: 1.0}


def test_map_one_miss():
    gt = [truth((A, 0)), truth((B, 0))]
    preds = [pred((A, 0.9, 0)), NONE]
    assert map50(preds, gt, num_classes=1) == pytest.approx(0.5)


def test_duplicate_detection_is_a_false_positive():
    gt = [truth((A, 0)), truth((B, 0))]
    # ranked: A (TP), A again (FP: A is taken), B (TP) -> 0.5 * 1 + 0.5 * 2/3
    preds = [pred((A, 0.9, 0), ([0, 0, 10, 9], 0.8, 0)), pred((B, 0.7, 0))]
    assert map50(preds, gt, num_classes=1) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_class_mismatch_finds_nothing_and_extra_classes_do_not_count():
    gt = [truth((A, 0), (B, 1))]
    preds = [pred((A, 0.9, 2), (B, 0.9, 1))]  # A found with the wrong class; class 2 has no GT
    assert average_precisions(preds, gt, 3) == {0: 0.0, 1: 1.0}
    assert map50(preds, gt, num_classes=3) == pytest.approx(0.5)


def test_boxes_match_only_within_their_own_image():
    gt = [truth((A, 0)), truth()]
    preds = [NONE, pred((A, 0.9, 0))]
    assert map50(preds, gt, num_classes=1) == 0.0


def test_iou_threshold_is_inclusive_and_adjustable():
    gt = [truth((A, 0))]
    half = pred(([0, 0, 10, 20], 0.9, 0))  # IoU exactly 0.5
    assert map50([half], gt, num_classes=1) == 1.0
    assert map50([half], gt, num_classes=1, iou=0.75) == 0.0


def test_match_goes_to_best_unmatched_box():
    # Two GT boxes overlap; the second prediction's best IoU is the taken box, but it still
    # clears 0.5 with the other one, so it is a TP (COCO's rule), and AP is 1.
    g1, g2 = [0, 0, 10, 10], [2, 0, 12, 10]
    gt = [truth((g1, 0), (g2, 0))]
    preds = [pred((g1, 0.9, 0), ([1, 0, 11, 10], 0.8, 0))]
    assert box_iou(np.array([[1, 0, 11, 10]]), np.array([g1, g2]))[0].tolist() == pytest.approx([9 / 11, 9 / 11])
    assert map50(preds, gt, num_classes=1) == 1.0


def test_empty_cases():
    assert map50([], [], num_classes=3) == 1.0  # no images
    assert map50([NONE, NONE], [truth(), truth()], num_classes=3) == 1.0  # nothing to find, nothing found
    assert map50([pred((A, 0.9, 0))], [truth()], num_classes=3) == 0.0  # nothing to find, something claimed
    assert map50([NONE], [truth((A, 1))], num_classes=3) == 0.0  # something to find, nothing found


def test_detections_as_predictions_and_reference_as_ground_truth():
    labels = ("circle", "square", "triangle")
    reference = [Detections(np.array([A, B]), np.array([0.9, 0.4]), np.array([0, 2]), labels)]
    same = [Detections(np.array([B, A]), np.array([0.5, 0.8]), np.array([2, 0]), labels)]
    assert map50(same, reference, num_classes=3) == 1.0
    # Only reference detections above a threshold are the truth: B (0.4) drops out at 0.5,
    # so the artifact's B is a prediction of a class with no truth and counts nowhere.
    gt = [reference_ground_truth(d, 0.5) for d in reference]
    assert gt[0][1].tolist() == [0]
    assert average_precisions(same, gt, 3) == {0: 1.0}


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="same images"):
        map50([NONE], [], num_classes=1)
    with pytest.raises(ValueError, match=r"class ids in \[0, 2\)"):
        map50([pred((A, 0.9, 2))], [truth((A, 0))], num_classes=2)
    with pytest.raises(ValueError, match="one length"):
        map50([(np.array([A]), np.array([0.9, 0.8]), np.array([0]))], [truth()], num_classes=1)


# -- segmentation ----------------------------------------------------------------------------------
def test_mean_iou_perfect_and_hand_computed():
    t = np.array([[0, 1], [0, 1]])
    assert mean_iou([t], [t], num_classes=2) == 1.0
    p = np.array([[0, 1], [1, 1]])
    # class 0: 1 / 2; class 1: 2 / 3
    assert class_iou([p], [t], 2) == {0: 0.5, 1: pytest.approx(2 / 3)}
    assert mean_iou([p], [t], 2) == pytest.approx((0.5 + 2 / 3) / 2)


def test_mean_iou_accumulates_over_the_set_not_per_image():
    true = [np.array([[1, 0, 0, 0]]), np.array([[1, 1, 1, 0]])]
    pred_maps = [np.array([[1, 0, 0, 0]]), np.array([[0, 0, 0, 0]])]
    # class 1: intersection 1, union 4 (a per-image mean would give (1 + 0) / 2)
    # class 0: intersection 3 + 1, union 4 + 7 - 4 = 7
    assert class_iou(pred_maps, true, 2) == {0: pytest.approx(4 / 7), 1: 0.25}


def test_mean_iou_ignores_classes_absent_from_both_but_counts_false_classes():
    t = np.array([[0, 0, 1, 1]])
    assert mean_iou([t], [t], num_classes=4) == 1.0  # classes 2 and 3 appear nowhere
    p = np.array([[0, 0, 1, 3]])  # class 3 predicted, never true: IoU 0 and in the mean
    assert class_iou([p], [t], 4) == {0: 1.0, 1: 0.5, 3: 0.0}


def test_mean_iou_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        mean_iou([np.zeros((2, 2))], [np.zeros((2, 3))], 2)
    with pytest.raises(ValueError, match="at least one"):
        mean_iou([], [], 2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        mean_iou([np.full((2, 2), 2)], [np.zeros((2, 2))], 2)
    with pytest.raises(ValueError, match="one predicted map"):
        mean_iou([np.zeros((2, 2))], [], 2)
