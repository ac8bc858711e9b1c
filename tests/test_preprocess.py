"""Preprocessing: lookup tables, fast paths, layouts and quantised inputs, checked against arithmetic done here."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgevision.errors import ImageError, ModelError
from edgevision.preprocess import InputFormat, Preprocessor, check_image, image_layout, resize_bilinear


def _image(h=32, w=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def run(fmt, shape, dtype, quant=None, image=None):
    pre = Preprocessor(fmt, shape=shape, dtype=dtype, quant=quant)
    buf = np.zeros(shape, dtype)
    t = pre(image if image is not None else _image(), buf)
    return pre, buf, t


def test_uint8_input_takes_raw_pixels_by_copy():
    img = _image()
    pre, buf, _ = run(InputFormat(), (1, 32, 32, 3), np.uint8, (1 / 255, 0), img)
    assert pre._mode == "copy"
    np.testing.assert_array_equal(buf[0], img)


def test_int8_input_is_pixel_minus_128_by_xor():
    img = _image()
    pre, buf, _ = run(InputFormat(), (1, 32, 32, 3), np.int8, (1 / 255, -128), img)
    assert pre._mode == "xor"
    np.testing.assert_array_equal(buf[0].astype(int), img.astype(int) - 128)


def test_mean_std_on_a_quantised_input_uses_the_models_scale():
    img = _image()
    # model wants (p - 127.5) / 127.5 in [-1, 1], quantised with scale 2/255, zero point 0 (int8)
    pre, buf, _ = run(InputFormat(mean=(127.5,), std=(127.5,)), (1, 32, 32, 3), np.int8, (2 / 255, 0), img)
    expected = np.clip(np.rint(((img - 127.5) / 127.5) / (2 / 255)), -128, 127)
    np.testing.assert_array_equal(buf[0], expected)
    # a uint8 input quantised with 1/255 and normalised to [0, 1] is also a plain copy
    pre, buf, _ = run(InputFormat(mean=(0, 0, 0), std=(255, 255, 255)), (1, 32, 32, 3), np.uint8, (1 / 255, 0), img)
    assert pre._mode == "copy"


def test_float_input_per_channel_mean_std_and_bgr():
    img = _image()
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    _, buf, _ = run(InputFormat(mean=mean, std=std, color="BGR"), (1, 32, 32, 3), np.float32, None, img)
    expected = (img[..., ::-1].astype(np.float64) - mean) / std
    np.testing.assert_allclose(buf[0], expected, rtol=1e-6)


def test_float_default_is_unit_range():
    img = _image()
    _, buf, _ = run(InputFormat(), (1, 32, 32, 3), np.float32, None, img)
    np.testing.assert_allclose(buf[0], img / 255.0, rtol=1e-6)


def test_float_input_of_raw_pixels_is_a_cast_with_the_tables_values():
    img = _image()
    pre, buf, _ = run(InputFormat(mean=(0, 0, 0), std=(1, 1, 1)), (1, 32, 32, 3), np.float32, None, img)
    assert pre._mode == "cast"
    np.testing.assert_array_equal(buf[0], img.astype(np.float32))
    np.testing.assert_array_equal(buf[0], pre._lut[0][img])  # what the table would have written


@pytest.mark.parametrize("shape", [(1, 32, 32, 3), (1, 3, 32, 32)])
def test_per_channel_table_gives_the_same_values_through_opencv_and_numpy(shape):
    img = _image()
    fmt = InputFormat(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))
    pre, buf, _ = run(fmt, shape, np.float32, None, img)
    assert pre._mode == "lut" and pre._cv2_lut is not None  # used for NHWC; NCHW goes through np.take
    hwc = buf[0] if shape[-1] == 3 else buf[0].transpose(1, 2, 0)
    expected = np.stack([pre._lut[c][img[..., c]] for c in range(3)], axis=-1)  # np.take, channel by channel
    np.testing.assert_array_equal(hwc, expected)


def test_nchw_layout_is_detected_and_written_transposed():
    img = _image()
    pre, buf, _ = run(InputFormat(), (1, 3, 32, 32), np.float32, None, img)
    assert pre.layout == "NCHW"
    np.testing.assert_allclose(buf[0], img.transpose(2, 0, 1) / 255.0, rtol=1e-6)


def test_letterbox_pads_with_the_quantised_pad_value():
    img = np.full((16, 32, 3), 200, np.uint8)  # 2:1 into 32x32 -> 32x16 band, 8 rows of padding above and below
    _, buf, t = run(InputFormat(resize="letterbox", pad_value=114), (1, 32, 32, 3), np.int8, (1 / 255, -128), img)
    assert t.pad == (0, 8) and t.resized == (32, 16)
    assert (buf[0, :8] == 114 - 128).all() and (buf[0, 24:] == 114 - 128).all()
    assert (buf[0, 8:24] == 200 - 128).all()


def test_centre_crop_uses_the_middle_of_the_frame():
    img = np.zeros((32, 64, 3), np.uint8)
    img[:, 16:48] = 255  # the centre square is white, the sides black
    _, buf, t = run(InputFormat(resize="centre-crop"), (1, 32, 32, 3), np.uint8, (1 / 255, 0), img)
    assert t.crop == (16, 0, 48, 32)
    assert (buf == 255).all()


def test_grey_model_gets_luma():
    img = _image()
    _, buf, _ = run(InputFormat(), (1, 32, 32, 1), np.uint8, (1 / 255, 0), img)
    expected = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(buf[0, ..., 0], expected)


@pytest.mark.parametrize("size", [(40, 24), (13, 29), (128, 96)])
def test_numpy_resize_matches_opencv_within_one_level(size):
    img = _image(48, 64, seed=2)
    ours = resize_bilinear(img, size).astype(int)
    ref = cv2.resize(img, size, interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(ours - ref).max() <= 1


def test_non_image_inputs_and_images_are_rejected():
    with pytest.raises(ModelError, match="expected an image input"):
        image_layout((1, 10))
    with pytest.raises(ModelError, match="static input height"):
        Preprocessor(InputFormat(), shape=(1, -1, -1, 3), dtype=np.float32)
    with pytest.raises(ImageError, match="uint8"):
        check_image(np.zeros((4, 4, 3), np.float64))
    with pytest.raises(ImageError, match="HxWx3"):
        check_image(np.zeros((4, 4, 2), np.uint8))
    assert check_image(np.zeros((4, 4), np.uint8)).shape == (4, 4, 3)


@pytest.mark.slow
def test_int8_tflite_runs_quantised_input_directly(zoo, scene, tmp_path):
    """A full-integer model with uint8 input: the buffer LiteRT gets is the resized frame itself."""
    import _models

    import edgevision

    path = _models.int8_tflite(zoo["segmenter"]["keras"], tmp_path / "seg_int8.tflite", input_type="uint8")
    model = edgevision.load(path, task="segmentation", resize="stretch")
    assert model.preprocessor._mode == "copy"
    seg = model.predict(scene.image)
    expected_input = cv2.resize(scene.image, (_models.SIZE, _models.SIZE), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(model.backend.input_buffer()[0], expected_input)
    # and int8 keeps the fp32 model's masks on a trained segmenter
    fp32 = edgevision.load(zoo["segmenter"]["tflite"], task="segmentation", resize="stretch").predict(scene.image)
    assert (seg.class_map == fp32.class_map).mean() >= 0.95
