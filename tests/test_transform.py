"""Tests for edgevision/transform.py: exact numbers worked out by hand."""
import numpy as np
import pytest

from edgevision.errors import UserInputError
from edgevision.transform import ResizeMode, make_transform


def test_letterbox_640x480_to_320x320_geometry():
    t = make_transform((640, 480), (320, 320), ResizeMode.LETTERBOX)
    # scale min(320/640, 320/480) = 0.5 -> 320x240, centred: 40 rows of padding above and below.
    assert t.resized == (320, 240)
    assert t.pad == (0, 40)
    assert t.crop == (0, 0, 640, 480)
    assert t.scale == (0.5, 0.5)
    assert t.offset == (0.0, 40.0)


def test_letterbox_box_round_trip():
    t = make_transform((640, 480), (320, 320), "letterbox")
    source = np.array([[100, 50, 300, 250], [0, 0, 640, 480]], np.float32)
    model = t.to_input(source)
    np.testing.assert_array_equal(model, [[50, 65, 150, 165], [0, 40, 320, 280]])
    np.testing.assert_array_equal(t.to_source(model), source)


def test_letterbox_portrait_pads_columns():
    t = make_transform((480, 640), (320, 320), "letterbox")
    assert (t.resized, t.pad) == ((240, 320), (40, 0))
    np.testing.assert_array_equal(t.to_source([[40, 0, 280, 320]]), [[0, 0, 480, 640]])


def test_to_source_clips_pad_region_unless_told_not_to():
    t = make_transform((640, 480), (320, 320), "letterbox")
    pad_box = [[0, 0, 320, 40]]  # the top padding band
    np.testing.assert_array_equal(t.to_source(pad_box), [[0, 0, 640, 0]])
    np.testing.assert_array_equal(t.to_source(pad_box, clip=False), [[0, -80, 640, 0]])


def test_centre_crop_640x480_to_320x320():
    t = make_transform((640, 480), (320, 320), "centre-crop")
    # The largest centred square of the source: 480x480 starting at x = 80.
    assert t.crop == (80, 0, 560, 480)
    assert (t.resized, t.pad) == ((320, 320), (0, 0))
    np.testing.assert_allclose(t.scale, (2 / 3, 2 / 3))
    np.testing.assert_allclose(t.to_source([[0, 0, 320, 320]]), [[80, 0, 560, 480]], atol=1e-4)
    source = np.array([[160, 120, 400, 360]], np.float32)
    model = t.to_input(source)
    np.testing.assert_allclose(model, [[160 / 3, 80, 640 / 3, 240]], atol=1e-4)
    np.testing.assert_allclose(t.to_source(model), source, atol=1e-4)


def test_stretch_scales_each_axis():
    t = make_transform((640, 480), (320, 320), "stretch")
    np.testing.assert_allclose(t.to_input([[64, 48, 640, 480]]), [[32, 32, 320, 320]], atol=1e-4)


def test_source_sample_indices_under_letterbox():
    # 8x4 source -> 4x4 input: resized 4x2 with one padding row above and below.
    t = make_transform((8, 4), (4, 4), "letterbox")
    assert (t.resized, t.pad) == ((4, 2), (0, 1))
    rows, cols = t.source_sample_indices((4, 4))
    assert rows.tolist() == [1, 1, 2, 2]  # padding rows 0 and 3 are never sampled
    assert cols.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    rows, cols = t.source_sample_indices((2, 2))  # a stride-2 output grid
    assert rows.tolist() == [0, 0, 1, 1]
    assert cols.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_source_sample_indices_under_centre_crop_clips_outside_columns():
    t = make_transform((8, 4), (4, 4), "center_crop")
    assert t.crop == (2, 0, 6, 4)
    rows, cols = t.source_sample_indices((4, 4))
    assert rows.tolist() == [0, 1, 2, 3]
    assert cols.tolist() == [0, 0, 0, 1, 2, 3, 3, 3]


def test_resize_mode_parse():
    assert ResizeMode.parse("CENTER_CROP") is ResizeMode.CENTER_CROP
    assert ResizeMode.parse(ResizeMode.STRETCH) is ResizeMode.STRETCH
    with pytest.raises(UserInputError, match="expected a resize mode among stretch, letterbox, centre-crop, got 'zoom'"):
        ResizeMode.parse("zoom")
