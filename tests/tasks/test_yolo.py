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


def _head(seed=0, n=64, nc=3):
    """A [1, 4+nc, N] head in pixels of a 64x64 input with a few confident candidates."""
    rng = np.random.default_rng(seed)
    out = np.zeros((1, 4 + nc, n), np.float32)
    out[0, :2] = rng.uniform(8, 56, (2, n))
    out[0, 2:4] = rng.uniform(6, 20, (2, n))
    out[0, 4:] = rng.uniform(0, 0.2, (nc, n))
    out[0, 4 + rng.integers(0, nc, 6), rng.choice(n, 6, replace=False)] = rng.uniform(0.5, 0.95, 6)
    return out


def _quantise(x, scale, zero_point):
    return np.clip(np.round(x / scale) + zero_point, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("order", ["boxes-first", "scores-first"])
@pytest.mark.parametrize("transposed", [False, True])
def test_a_split_head_decodes_as_the_concatenated_one(order, transposed):
    """The pair an int8 split head gives (each output on its own scale, in either order, [1,C,N] or [1,N,C])
    decodes to what the float [1, 4+nc, N] output gives, within its quantisation."""
    labels = ("a", "b", "c")
    out = _head()
    config = decoder_config("yolo", {"box_format": "pixels"})
    reference = make_decoder(config, spec(out.shape), labels)([out], T64)
    boxes, scores = out[:, :4], out[:, 4:]
    qb, qs = (0.25, 0), (1 / 255, 0)
    arrays = [_quantise(boxes, *qb), _quantise(scores, *qs)]
    specs = [TensorSpec("PartitionedCall:0", boxes.shape, np.dtype(np.uint8), qb),
             TensorSpec("PartitionedCall:1", scores.shape, np.dtype(np.uint8), qs)]
    if transposed:
        arrays = [a.transpose(0, 2, 1) for a in arrays]
        specs = [TensorSpec(s.name, tuple(a.shape), s.dtype, s.quant) for s, a in zip(specs, arrays)]
    if order == "scores-first":
        arrays, specs = arrays[::-1], specs[::-1]
    got = make_decoder(config, specs, labels)(arrays, T64)
    assert got.class_id.tolist() == reference.class_id.tolist()
    np.testing.assert_allclose(got.xyxy, reference.xyxy, atol=0.25)
    np.testing.assert_allclose(got.confidence, reference.confidence, atol=1 / 255)


def test_a_split_pair_that_does_not_fit_is_refused_at_load():
    f = np.dtype(np.float32)
    with pytest.raises(ModelError, match=r"expected a split YOLO head \[1, 4, N\] \+ \[1, nc, N\]"):
        make_decoder(decoder_config("yolo"), [TensorSpec("a", (1, 4, 64), f), TensorSpec("b", (1, 3, 60), f)],
                     ("a", "b", "c"))
    with pytest.raises(ModelError, match="split YOLO head"):
        make_decoder(decoder_config("yolo"), [TensorSpec("a", (1, 5, 64), f), TensorSpec("b", (1, 3, 64), f)],
                     ("a", "b", "c"))


def test_a_bare_split_head_file_is_recognised_as_yolo():
    from edgevision.decode import guess_decoder, num_classes

    f = np.dtype(np.float32)
    outputs = [TensorSpec("s", (1, 80, 8400), f), TensorSpec("b", (1, 4, 8400), f)]
    assert guess_decoder("detection", outputs) == "yolo"
    assert num_classes({"type": "yolo"}, outputs) == 80


def test_one_int8_scale_over_boxes_and_scores_may_round_a_score_past_one():
    """An int8 head without the split: scores share the boxes' scale (0.5 here), so 1.0 rounds to 1.01. The decoder
    takes that (a quantisation step), where a float score of 1.01 is a layout error."""
    labels = ("a", "b", "c")
    out = _head()
    out[0, 4, 0] = 1.0
    q = (0.506, 0)
    got = make_decoder(decoder_config("yolo", {"box_format": "pixels"}), spec(out.shape, q), labels)(
        [_quantise(out, *q)], T64)
    assert 0 in got.class_id.tolist() and float(got.confidence.max()) == pytest.approx(1.012)
    with pytest.raises(ScoreRangeError):
        detect_yolo(out * np.array([1, 1, 1, 1, 1.01, 1, 1], np.float32)[None, :, None], transform=T64, labels=labels)
