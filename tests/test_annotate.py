"""Annotation: boxes and tags in class colours, blended class masks, top-k text, reused buffers."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.annotate import PALETTE, Annotator, annotate, colour
from edgevision.results import Classification, Detections, Segmentation

pytest.importorskip("cv2")
GREY = 60


def grey(h: int = 240, w: int = 320) -> np.ndarray:
    return np.full((h, w, 3), GREY, np.uint8)


def test_palette_is_distinct_and_stable():
    assert len({tuple(c) for c in PALETTE[:64]}) == 64
    assert colour(3) == tuple(int(v) for v in PALETTE[3]) and colour(3 + 256) == colour(3)


def test_boxes_in_class_colours_with_label_tags():
    d = Detections(np.array([[40, 60, 200, 180], [220, 20, 300, 100]]), np.array([0.91, 0.42]),
                   np.array([0, 2]), ("circle", "square", "triangle"))
    out = annotate(grey(), d)
    assert out.shape == (240, 320, 3) and out.dtype == np.uint8
    assert (out[120, 40] == colour(0)).all() and (out[180, 120] == colour(0)).all()  # left and bottom edges
    assert (out[60, 300] == colour(2)).all()  # right edge of the second box
    tag = out[44:58, 42:90]  # the tag above the first box: filled in the class colour, with text on it
    assert (tag == colour(0)).all(axis=2).mean() > 0.4 and not (tag == colour(0)).all()
    assert (out[150:170, 100:140] == GREY).all()  # inside a box: untouched


def test_boxes_at_the_edge_are_clipped_and_tagged_inside():
    d = Detections(np.array([[-20, -5, 400, 300]]), np.array([0.5]), np.array([1]))
    out = annotate(grey(), d)
    assert (out[0, 100] == colour(1)).all() and (out[239, 100] == colour(1)).all()


def test_segmentation_blends_class_colours_and_leaves_background():
    class_map = np.zeros((240, 320), np.int64)
    class_map[:, 160:] = 2
    out = annotate(grey(), Segmentation(class_map, ("bg", "a", "b")), alpha=0.5)
    expected = (np.array(colour(2)) * 0.5 + GREY * 0.5)
    assert np.abs(out[200, 300].astype(int) - expected).max() <= 1  # blended, not painted over
    assert (out[200, 20] == GREY).all()  # class 0 is background: left as it was
    assert (out[5:20, 5:60] != GREY).any()  # a legend line: "b 50.0%"


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int32, np.int64, np.uint64])
def test_segmentation_of_every_class_map_dtype_a_model_emits(dtype):
    # segment() returns uint8 maps; a class map straight from a model may be any integer type (numpy 2
    # raises OverflowError on uint8 % 256). Ids past the palette wrap around it.
    class_map = np.zeros((240, 320), dtype)
    class_map[:, 160:] = 2
    class_map[230:, :10] = 1
    if np.iinfo(dtype).max > 300:
        class_map[230:, 300:] = 258
    out = annotate(grey(), Segmentation(class_map, ("bg", "a", "b")), alpha=1.0)
    assert (out[200, 300] == colour(2)).all() and (out[235, 5] == colour(1)).all() and (out[200, 20] == GREY).all()
    if np.iinfo(dtype).max > 300:
        assert (out[235, 310] == colour(2)).all()  # 258 wraps to 2


def test_segmentation_map_at_model_resolution_is_scaled_up():
    small = np.zeros((60, 80), np.int64)
    small[30:, :] = 1
    out = annotate(grey(), Segmentation(small))
    assert (out[230, 300] != GREY).any() and (out[100, 300] == GREY).all()


def test_classification_top_k_lines():
    c = Classification(np.array([4, 1, 0]), np.array([0.7, 0.2, 0.1]), tuple("abcde"))
    out = annotate(grey(), c)
    rows = np.nonzero((out != GREY).any(axis=(1, 2)))[0]
    assert rows.min() < 10 and rows.max() < 80  # three tags at the top left
    assert (out == colour(4)).all(axis=2).any() and (out == colour(1)).all(axis=2).any()


def test_annotator_reuses_its_buffer_and_draws_bgr():
    annotator = Annotator()
    frame = grey()
    frame[..., 0] = 200  # red in RGB
    d = Detections(np.array([[10, 10, 50, 50]]), np.array([0.9]), np.array([0]))
    a = annotator.draw(frame, d)
    b = annotator.draw(frame, None)
    assert a is b  # one buffer, frame after frame
    assert b[100, 100].tolist() == [GREY, GREY, 200]  # BGR for OpenCV writers
    assert frame[100, 100].tolist() == [200, GREY, GREY]  # the frame itself is never drawn on
    with pytest.raises(ValueError, match="expected order 'BGR' or 'RGB'"):
        Annotator(order="YUV")
