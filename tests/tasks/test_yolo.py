"""edgevision/tasks/yolo.py: objectness (v5/v7) and end-to-end ([1,K,6]) decoding; the box format decided once per
model; scores outside [0, 1] an error naming the likely layout."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.backends.base import TensorSpec
from edgevision.decode import decoder_config, make_decoder
from edgevision.errors import ModelError
from edgevision.tasks.detect import ScoreRangeError, detect_yolo
from edgevision.tasks.yolo import detect_yolo_end2end, detect_yolo_objectness
from edgevision.transform import make_transform

T64 = make_transform((64, 64), (64, 64), "stretch")


def spec(shape, quant=None):
    return [TensorSpec("output0", shape, np.dtype(np.float32), quant)]


def test_objectness_multiplies_objectness_and_class_score():
    rows = np.zeros((1, 4, 7), np.float32)
    rows[0, 0] = [20, 20, 10, 10, 0.5, 0.9, 0.1]  # 0.45 class 0
    rows[0, 1] = [40, 40, 10, 10, 0.9, 0.2, 0.6]  # 0.54 class 1
    rows[0, 2] = [40, 40, 10, 10, 0.2, 0.1, 0.9]  # 0.18: under 0.25
    d = detect_yolo_objectness(rows, transform=T64, labels=("a", "b"))
    assert d.class_id.tolist() == [1, 0] and np.allclose(d.confidence, [0.54, 0.45])


def test_end2end_rows_are_taken_as_they_are_no_nms():
    rows = np.zeros((1, 5, 6), np.float32)
    rows[0, 0] = [10, 10, 30, 30, 0.9, 2]
    rows[0, 1] = [11, 11, 31, 31, 0.8, 2]  # overlaps the first: NMS was the model's job, both stay
    d = detect_yolo_end2end(rows, transform=T64)
    assert d.xyxy.tolist() == [[10, 10, 30, 30], [11, 11, 31, 31]] and d.class_id.tolist() == [2, 2]
    with pytest.raises(ModelError, match="expected whole class ids in column 5"):
        detect_yolo_end2end(np.array([[[1, 1, 5, 5, 0.9, 0.37]]], np.float32), transform=T64)


def test_end2end_normalised_boxes_decided_from_the_rows():
    rows = np.array([[[0.25, 0.25, 0.5, 0.5, 0.9, 0]]], np.float32)
    assert detect_yolo_end2end(rows, transform=T64).xyxy.tolist() == [[16, 16, 32, 32]]
    assert detect_yolo_end2end(rows, transform=T64, box_format="pixels").xyxy.tolist() == [[0.25, 0.25, 0.5, 0.5]]


def test_an_end_to_end_output_decoded_as_raw_yolo_is_an_error_naming_it():
    """[1,300,6] as a raw head: 'scores of 2.00' before (the class column read as a score)."""
    rows = np.zeros((1, 300, 6), np.float32)
    rows[0, :3] = [[10, 10, 30, 30, 0.9, 2], [40, 40, 60, 60, 0.8, 1], [5, 5, 9, 9, 0.7, 0]]
    decode = make_decoder(decoder_config("yolo"), spec((1, 300, 6)), ())
    with pytest.raises(ScoreRangeError, match=r"expected class scores in \[0, 1\], got values from 0.00 to 2.00 .*"
                                              r"\[1, 300, 6\].*end-to-end \[1,K,6\].*--decoder yolo-end2end"):
        decode([rows], T64)


def test_a_pose_head_decoded_as_detection_is_an_error_naming_it():
    rows = np.random.default_rng(0).random((1, 56, 64)).astype(np.float32) * 64  # keypoints in pixels
    decode = make_decoder(decoder_config("yolo"), spec((1, 56, 64)), ())
    with pytest.raises(ScoreRangeError, match="yolo-pose head"):
        decode([rows], T64)


def test_the_box_format_is_decided_once_not_per_frame():
    """A float TFLite head's boxes are fractions; a frame whose boxes all grew past 2 (w, h) was decoded as
    pixels before, the next as fractions."""
    centres = (np.arange(8) + 0.5) / 8
    first = np.zeros((1, 8, 6), np.float32)
    first[0, :, 0], first[0, :, 1], first[0, :, 2:4], first[0, 0, 4] = centres, centres, 0.2, 0.9
    later = first.copy()
    later[0, :, 2:4] = 2.5  # a huge box: w, h past 2, centres still fractions
    decode = make_decoder(decoder_config("yolo"), spec((1, 8, 6)), ("a", "b"))
    a = decode([first], T64)
    b = decode([later], T64)
    assert a.xyxy[0].tolist() == pytest.approx([0, 0, 10.4, 10.4], abs=1e-4)  # (0.0625 +- 0.1) * 64, clipped
    assert b.xyxy[0, 2] == pytest.approx(64.0)  # (0.0625 + 1.25) * 64, clipped: fractions still
    # Per frame, the old rule (any |value| > 2: pixels) read the second frame as pixels: a 2.5-pixel box.
    assert detect_yolo(later, transform=T64, box_format="pixels").xyxy[0, 2] < 4


def test_box_format_option_forces_it():
    rows = np.zeros((1, 8, 5), np.float32)
    rows[0, 0] = [32, 32, 16, 16, 0.9]
    decode = make_decoder(decoder_config("yolo", {"box_format": "pixels"}), spec((1, 8, 5)), ())
    assert decode([rows], T64).xyxy.tolist() == [[24, 24, 40, 40]]
    with pytest.raises(Exception, match="expected a box format among pixels, normalized"):
        make_decoder(decoder_config("yolo", {"box_format": "fractions"}), spec((1, 8, 5)), ())
