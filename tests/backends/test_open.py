"""edgevision/backends/__init__.py: a backend found through the catalogue, and every option it is given checked."""
from __future__ import annotations

import pytest

from edgevision.backends import backend_for, backend_options, get_backend, open_backend
from edgevision.backends.litert import LiteRTBackend
from edgevision.backends.onnxruntime import ONNXRuntimeBackend
from edgevision.backends.openvino import OpenVINOBackend
from edgevision.errors import ModelFileError, UserInputError


def test_the_catalogue_names_each_backend_class():
    assert (get_backend("litert"), get_backend("openvino"), get_backend("onnxruntime")) == (
        LiteRTBackend, OpenVINOBackend, ONNXRuntimeBackend)
    with pytest.raises(UserInputError, match="expected a backend among litert, openvino, onnxruntime, got 'trt'"):
        get_backend("trt")
    assert backend_for("m.xml") == "openvino"


def test_each_backend_declares_its_options():
    assert backend_options(LiteRTBackend) == ("threads", "device", "delegate", "input_size")
    assert backend_options(OpenVINOBackend) == ("threads", "device", "cache_dir", "input_size", "precision_hint")


def test_an_option_the_backend_does_not_take_is_an_error_naming_the_valid_ones(zoo):
    with pytest.raises(UserInputError, match="unknown option 'cache_dir' for the litert backend; valid options: "
                                             "threads, device, delegate, input_size"):
        open_backend(zoo["classifier"]["tflite"], cache_dir="/tmp")
    with pytest.raises(UserInputError, match="unknown option 'delegate' for the onnxruntime backend"):
        open_backend(zoo["classifier"]["onnx"], delegate="edgetpu")


def test_the_file_must_be_one_the_backend_reads(zoo, tmp_path):
    with pytest.raises(UserInputError, match=r"expected a file that onnxruntime reads \(\.onnx\), got 'model.tflite'"):
        open_backend(tmp_path / "model.tflite", backend="onnxruntime")
    with pytest.raises(ModelFileError, match="got missing path"):
        open_backend(tmp_path / "missing.onnx")
