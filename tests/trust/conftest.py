"""The trust corpus' kit: real models and bundles built once per session, the seeds every forgery starts from."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import _forge
import _onnx_models
import pytest


@dataclass
class Kit:
    root: Path
    colour_onnx: Path  # 3 classes: red, green, blue (mean colour, softmax), NHWC [1,64,64,3]
    det_onnx: Path  # YOLO layout [1,7,64], 3 classes
    colour_xml: Path  # the colour classifier as OpenVINO IR
    cls_tflite: Path  # the session's TFLite classifier, 5 classes
    b_onnx: Path  # bundles: jetson-orin (ONNX), intel-cpu (IR), cpu (TFLite, labels a..e)
    b_ir: Path
    b_tfl: Path
    b_ext: Path  # ONNX with external data (jetson-orin)
    red: Path  # a red 64x48 PNG, a green JPEG, a directory of three images
    green: Path
    images: Path
    clip: Path  # 60 frames MJPG .avi, reddish


@pytest.fixture(scope="session")
def kit(zoo, tmp_path_factory) -> Kit:
    root = tmp_path_factory.mktemp("trust_kit")
    m = root / "models"
    colour = _onnx_models.colour_classifier(m / "colour.onnx")
    det = _onnx_models.bright_spot_detector(m / "det.onnx")
    xml = _forge.ir_from_onnx(colour, m / "colour.xml")
    tfl = m / "cls.tflite"
    shutil.copyfile(zoo["classifier"]["tflite"], tfl)
    b = root / "bundles"
    b_onnx = _forge.bundle(b / "onnx", {"colour.onnx": colour}, {"jetson-orin": ("colour.onnx", "onnx")})
    b_ir = _forge.bundle(b / "ir", {"colour.xml": xml, "colour.bin": xml.with_suffix(".bin")},
                         {"intel-cpu": ("colour.xml", "openvino-ir")})
    b_tfl = _forge.bundle(b / "tfl", {"cls.tflite": tfl}, {"cpu": ("cls.tflite", "tflite")}, labels=list("abcde"))
    ext = _forge.onnx_external(root / "ext" / "colour_ext.onnx", "colour_ext.onnx.data")
    b_ext = _forge.bundle(b / "ext", {"colour_ext.onnx": ext, "colour_ext.onnx.data": ext.with_suffix(".onnx.data")},
                          {"jetson-orin": ("colour_ext.onnx", "onnx")})
    img = root / "images"
    red = _forge.write_image(img / "red.png", _forge.solid(0))
    green = _forge.write_image(img / "green.jpg", _forge.solid(1))
    _forge.write_image(img / "blue.png", _forge.solid(2))
    clip = _forge.write_video(root / "clip.avi")
    return Kit(root, colour, det, xml, tfl, b_onnx, b_ir, b_tfl, b_ext, red, green, img, clip)
