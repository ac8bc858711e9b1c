"""Compact instance masks: COCO RLE checked against pycocotools, crops, IoU and outlines."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.masks import InstanceMasks, rle_counts, rle_decode, rle_string, rle_string_counts


def test_rle_of_a_crop_is_pycocotools_rle_of_the_whole_image():
    mask_api = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(0)
    for trial in range(300):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        crop = rng.random((int(rng.integers(1, h - y0 + 1)), int(rng.integers(1, w - x0 + 1)))) < rng.random()
        if trial % 7 == 0:
            crop[:] = True  # runs that go on from the bottom of one column to the top of the next
        full = np.zeros((h, w), bool)
        full[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
        ours = InstanceMasks((w, h), np.array([[x0, y0]]), [crop]).rle(0)
        theirs = mask_api.encode(np.asfortranarray(full.astype(np.uint8)))
        assert ours == {"size": [h, w], "counts": theirs["counts"].decode()}
        assert (rle_decode(ours) == full).all()


def test_counts_and_strings_round_trip():
    counts = rle_counts(np.ones((3, 2), bool), (1, 1), (4, 5))
    assert sum(counts) <= 20 and rle_string_counts(rle_string(counts)) == counts
    assert rle_counts(np.zeros((0, 0), bool), (0, 0), (3, 3)) == [9]


def test_from_full_crops_and_full_restores():
    full = np.zeros((2, 10, 12), bool)
    full[0, 2:5, 3:9] = True
    masks = InstanceMasks.from_full(full)
    assert masks.origins.tolist() == [[3, 2], [0, 0]] and masks.bitmaps[0].shape == (3, 6)
    assert (masks.full(0) == full[0]).all() and masks.areas().tolist() == [18, 0]
    assert len(masks[np.array([True, False])]) == 1


def test_iou_of_overlapping_crops_and_polygons():
    a = InstanceMasks((20, 20), np.array([[0, 0], [10, 10]]), [np.ones((10, 10), bool), np.ones((5, 5), bool)])
    b = InstanceMasks((20, 20), np.array([[5, 0]]), [np.ones((10, 10), bool)])
    assert a.iou(b).round(4).tolist() == [[round(50 / 150, 4)], [0.0]]
    polygon = a.polygons(0)[0]
    assert min(polygon[0::2]) == 0.5 and max(polygon[0::2]) == 9.5  # pixel centres of the outline


def test_a_bitmap_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="inside the 4x4 image"):
        InstanceMasks((4, 4), np.array([[3, 0]]), [np.ones((2, 2), bool)])
