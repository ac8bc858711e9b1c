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


def test_the_compiled_model_cache_is_a_directory_only_this_user_can_write(zoo, tmp_path):
    """OpenVINO loads compiled blobs from it with no manifest to check them: a directory others may write is refused."""
    import os
    import stat

    fresh = tmp_path / "cache" / "openvino"
    backend = open_backend(zoo["classifier"]["openvino"], cache_dir=fresh)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700 and backend.outputs
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UserInputError, match=r"only you can write .* with mode 777 owned by uid \d+: chmod 700 it"):
        open_backend(zoo["classifier"]["openvino"], cache_dir=shared)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserInputError, match="expected a writable compiled-model cache directory"):
        open_backend(zoo["classifier"]["openvino"], cache_dir=tmp_path / "file")
