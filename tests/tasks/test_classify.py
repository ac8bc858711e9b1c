"""Tests for edgevision/tasks/classify.py and common.py."""
import numpy as np
import pytest

from edgevision.errors import ModelError
from edgevision.tasks import classify, dequantize, softmax


def test_probabilities_are_kept_and_sorted_best_first():
    c = classify(np.array([[0.1, 0.6, 0.05, 0.25]], np.float32), top_k=2, labels=("a", "b", "c", "d"))
    assert c.class_id.tolist() == [1, 3]
    np.testing.assert_allclose(c.confidence, [0.6, 0.25])
    assert c.names == ["b", "d"]


def test_logits_are_softmaxed_automatically():
    # softmax(ln 4, ln 1, ln 3) = 4/8, 1/8, 3/8; ln 4 > 1 so these cannot be probabilities.
    c = classify(np.log(np.array([4.0, 1.0, 3.0])))
    assert c.class_id.tolist() == [0, 2, 1]
    np.testing.assert_allclose(c.confidence, [0.5, 0.375, 0.125], rtol=1e-6)


def test_negative_scores_are_logits():
    c = classify(np.array([-1.0, 0.5]))
    # e^-1 / (e^-1 + e^0.5) = 1 / (1 + e^1.5) = 0.182426
    np.testing.assert_allclose(c.confidence, [0.817574, 0.182426], atol=1e-6)


def test_multi_label_sigmoid_scores_are_left_as_is():
    c = classify(np.array([0.9, 0.8, 0.1]))  # sums to 1.8
    np.testing.assert_allclose(c.confidence, [0.9, 0.8, 0.1], rtol=1e-6)


def test_logits_flag_forces_either_way():
    np.testing.assert_allclose(classify(np.array([0.3, 0.3]), logits=True).confidence, [0.5, 0.5])
    c = classify(np.array([-1.0, 2.0]), logits=False)  # -1 is below the default threshold 0
    assert c.class_id.tolist() == [1]
    np.testing.assert_array_equal(c.confidence, [2.0])
    c = classify(np.array([-1.0, 2.0]), logits=False, score_threshold=-np.inf)
    assert c.class_id.tolist() == [1, 0]
    np.testing.assert_array_equal(c.confidence, [2.0, -1.0])


def test_score_threshold_and_top_k():
    scores = np.array([0.05, 0.5, 0.125, 0.25])
    assert classify(scores, score_threshold=0.125).class_id.tolist() == [1, 3, 2]  # inclusive
    assert classify(scores, score_threshold=0.126).class_id.tolist() == [1, 3]
    assert classify(scores, top_k=1).class_id.tolist() == [1]
    assert classify(scores, top_k=10).class_id.tolist() == [1, 3, 2, 0]
    assert len(classify(scores, top_k=0)) == 0
    assert len(classify(scores, score_threshold=0.9)) == 0


def test_ties_keep_lower_class_id_first():
    assert classify(np.full(6, 1 / 6), top_k=3).class_id.tolist() == [0, 1, 2]


def test_uint8_quantised_softmax():
    # (q - 0) / 256: 0, 0.25, 0.75
    c = classify(np.array([[0, 64, 192]], np.uint8), quant=(1 / 256, 0))
    assert c.class_id.tolist() == [2, 1, 0]
    np.testing.assert_array_equal(c.confidence, [0.75, 0.25, 0.0])


def test_int8_quantised_softmax():
    # (q + 128) / 256: 0, 0.25, 0.75
    c = classify(np.array([[-128, -64, 64]], np.int8), quant=(1 / 256, -128), top_k=2)
    assert c.class_id.tolist() == [2, 1]
    np.testing.assert_array_equal(c.confidence, [0.75, 0.25])


def test_int8_quantised_logits():
    # (q - 10) * 0.5 = 0, 2, 1 -> softmax 0.090031, 0.665241, 0.244728
    c = classify(np.array([[10, 14, 12]], np.int8), quant=(0.5, 10))
    assert c.class_id.tolist() == [1, 2, 0]
    np.testing.assert_allclose(c.confidence, [0.665241, 0.244728, 0.090031], atol=1e-6)


def test_extra_unit_dims_are_accepted():
    assert classify(np.array([0.2, 0.8]).reshape(1, 1, 1, 2)).class_id.tolist() == [1, 0]


def test_spatial_output_is_rejected():
    with pytest.raises(ModelError, match=r"expected a classification output of shape \(1, C\), got \(1, 7, 7, 10\)"):
        classify(np.zeros((1, 7, 7, 10)))
    with pytest.raises(ModelError, match=r"got \(1, 0\)"):
        classify(np.zeros((1, 0)))


def test_dequantize():
    np.testing.assert_array_equal(dequantize(np.array([0, 128, 255], np.uint8), (0.5, 128)), [-64, 0, 63.5])
    assert dequantize(np.array([1, 2], np.int8), (0.0, 0)).tolist() == [1.0, 2.0]  # TFLite's "not quantised"
    out = dequantize(np.array([1, 2], np.int32))
    assert out.dtype == np.float32 and out.tolist() == [1.0, 2.0]
    with pytest.raises(ModelError, match="expected per-tensor quantisation"):
        dequantize(np.array([1]), (0.1,))


def test_softmax_is_stable():
    np.testing.assert_allclose(softmax(np.array([[1000.0, 1000.0], [-1000.0, 0.0]])), [[0.5, 0.5], [0.0, 1.0]])
