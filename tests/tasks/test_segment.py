"""Tests for edgevision/tasks/segment.py: class maps mapped back to source pixels."""
import numpy as np
import pytest

from edgevision.errors import ModelError
from edgevision.tasks import segment
from edgevision.tasks.segment import guess_layout
from edgevision.transform import make_transform

IDENTITY = make_transform((4, 4), (4, 4), "stretch")
CLASS_MAP = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 0], [2, 2, 2, 0]])


def _one_hot_nhwc(class_map, n_classes):
    return np.eye(n_classes, dtype=np.float32)[class_map][None]  # [1, H, W, C]


def test_nhwc_and_nchw_give_the_same_map():
    nhwc = _one_hot_nhwc(CLASS_MAP, 3)
    nchw = nhwc.transpose(0, 3, 1, 2)
    a = segment(nhwc, transform=IDENTITY, labels=("bg", "cat", "dog"))
    b = segment(nchw, transform=IDENTITY)
    assert a.class_map.tolist() == CLASS_MAP.tolist()
    assert b.class_map.tolist() == CLASS_MAP.tolist()
    assert a.class_map.dtype == np.uint8
    assert a.areas == {0: 6, 1: 4, 2: 6}
    assert a.to_dict()["classes"][1]["label"] == "cat"


def test_guess_layout_common_shapes():
    assert guess_layout((1, 224, 224, 21), (224, 224)) == "NHWC"
    assert guess_layout((1, 21, 224, 224), (224, 224)) == "NCHW"
    assert guess_layout((1, 56, 56, 3), (224, 224)) == "NHWC"
    assert guess_layout((1, 3, 56, 56), (224, 224)) == "NCHW"
    assert guess_layout((1, 8, 8, 150), (256, 256)) == "NHWC"  # more classes than cells per side
    assert guess_layout((1, 150, 8, 8), (256, 256)) == "NCHW"
    assert guess_layout((1, 60, 80, 21), (640, 480)) == "NHWC"  # 4:3 input, H=60, W=80
    assert guess_layout((1, 21, 60, 80), (640, 480)) == "NCHW"
    assert guess_layout((1, 47, 63, 21), (500, 375)) == "NHWC"  # ceil-rounded stride-8 grid


def test_explicit_layout_overrides_the_guess():
    # [1, 2, 2, 2] on a square input reads both ways; the guess is NHWC.
    scores = np.zeros((1, 2, 2, 2), np.float32)
    scores[0, 1, 0, 0] = 1.0
    scores[0, 0, 1, 1] = 1.0
    t = make_transform((2, 2), (2, 2), "stretch")
    # NHWC: pixel (y, x) takes argmax scores[0, y, x, :]; only (0, 1) -> [0, 1] is class 1.
    assert segment(scores, transform=t).class_map.tolist() == [[0, 1], [0, 0]]
    assert segment(scores, transform=t, layout="nhwc").class_map.tolist() == [[0, 1], [0, 0]]
    # NCHW: pixel (y, x) takes argmax scores[0, :, y, x]; only (0, 0) -> [0, 1] is class 1.
    assert segment(scores, transform=t, layout="NCHW").class_map.tolist() == [[1, 0], [0, 0]]
    with pytest.raises(ModelError, match="expected a layout among NHWC, NCHW, got 'NWHC'"):
        segment(scores, transform=t, layout="NWHC")


def test_quantised_scores_take_the_raw_argmax():
    q = (_one_hot_nhwc(CLASS_MAP, 3) * 200 - 100).astype(np.int8)  # -100 / 100
    assert segment(q, transform=IDENTITY, quant=(0.05, -100)).class_map.tolist() == CLASS_MAP.tolist()


def test_class_map_inputs():
    as_int = CLASS_MAP[None].astype(np.int32)
    for output in (as_int, as_int.astype(np.float32), as_int[..., None], as_int[:, None]):
        s = segment(output, transform=IDENTITY)
        assert s.class_map.tolist() == CLASS_MAP.tolist()
        assert s.class_map.dtype == np.uint8


@pytest.mark.parametrize("dtype, scale, zero_point", [(np.uint8, 0.5, 0), (np.int8, 1.0, -128)])
def test_quantised_class_map(dtype, scale, zero_point):
    q = (CLASS_MAP / scale + zero_point).astype(dtype)[None]
    assert segment(q, transform=IDENTITY, quant=(scale, zero_point)).class_map.tolist() == CLASS_MAP.tolist()


def test_single_channel_probability_rounds_to_two_classes():
    probs = np.array([[0.1, 0.9], [0.7, 0.3]], np.float32)[None, :, :, None]
    s = segment(probs, transform=make_transform((2, 2), (2, 2), "stretch"))
    assert s.class_map.tolist() == [[0, 1], [1, 0]]


def test_letterbox_block_lands_on_expected_source_pixels():
    # 640x480 -> 320x320 letterbox (input y = source y / 2 + 40), output grid 80x80 (4 input px a cell).
    t = make_transform((640, 480), (320, 320), "letterbox")
    grid = np.zeros((80, 80), np.int64)
    grid[:10] = 5  # top padding, input y in [0, 40)
    grid[70:] = 5  # bottom padding, input y in [280, 320)
    grid[30:50, 20:40] = 3  # input x in [80, 160), y in [120, 200) -> source x, y in [160, 320)
    s = segment(_one_hot_nhwc(grid, 6), transform=t)
    assert s.class_map.shape == (480, 640)
    expected = np.zeros((480, 640), np.uint8)
    expected[160:320, 160:320] = 3
    np.testing.assert_array_equal(s.class_map, expected)
    assert s.areas == {0: 480 * 640 - 160 * 160, 3: 160 * 160}  # the padding class maps nowhere


def test_small_letterbox_by_hand():
    # 8x4 -> 4x4 letterbox: input rows 0 and 3 are padding; source rows sample input rows 1,1,2,2.
    t = make_transform((8, 4), (4, 4), "letterbox")
    grid = np.array([[2, 2, 2, 2], [1, 1, 0, 0], [0, 0, 0, 0], [2, 2, 2, 2]])
    s = segment(grid[None], transform=t)
    assert s.class_map.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0]] * 2 + [[0] * 8] * 2


def test_many_classes_use_int32():
    scores = np.zeros((1, 2, 2, 300), np.float32)
    scores[0, 0, 0, 299] = 1.0
    s = segment(scores, transform=make_transform((2, 2), (2, 2), "stretch"))
    assert s.class_map.dtype == np.int32
    assert s.class_map.tolist() == [[299, 0], [0, 0]]


@pytest.mark.parametrize("shape", [(4, 4), (1, 4, 4, 3, 1), (2, 4, 4, 3), (1, 0, 4, 3)])
def test_ill_shaped_outputs(shape):
    shown = repr(shape).replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ModelError, match=r"expected a segmentation output .* got " + shown):
        segment(np.zeros(shape, np.float32), transform=IDENTITY)


def test_negative_class_ids_are_rejected():
    with pytest.raises(ModelError, match="expected non-negative class ids in the class map, got -1"):
        segment(np.full((1, 2, 2), -1, np.int32), transform=IDENTITY)
