"""The device option of each backend: what it runs on, or a clear error for a device it has not got."""
from __future__ import annotations

import pytest

from edgevision.backends import open_backend
from edgevision.backends.litert import check_device
from edgevision.backends.onnxruntime import wanted_providers
from edgevision.errors import UserInputError


@pytest.mark.parametrize("device, tpu", [(None, False), ("CPU", False), ("cpu", False), ("usb", True),
                                         ("usb:1", True), ("pci:0", True), ("edgetpu", True)])
def test_litert_devices(device, tpu):
    assert check_device(device) is tpu


def test_litert_refuses_a_device_it_has_not_got(zoo):
    with pytest.raises(UserInputError, match=r"expected a LiteRT device: CPU, or an Edge TPU .*, got 'GPU'"):
        open_backend(zoo["classifier"]["tflite"], device="GPU")  # was silently ignored


def test_litert_cpu_device_runs_and_reports_it(zoo):
    backend = open_backend(zoo["classifier"]["tflite"], device="CPU", threads=1)
    assert backend.info()["device"] == "CPU" and backend.info()["threads"] == 1


def test_litert_cpu_device_wins_over_a_profiles_edge_tpu_delegate(zoo, tmp_path):
    """An uncompiled int8 .tflite (what a Coral bundle ships when no compiler was at hand) runs on the CPU when
    asked; a compiled one cannot, and says what to run instead."""
    import shutil

    from tensorflow.lite.tools import flatbuffer_utils

    backend = open_backend(zoo["classifier"]["tflite"], delegate="edgetpu", device="CPU")
    assert backend.info()["device"] == "CPU"
    compiled = tmp_path / "m_edgetpu.tflite"
    shutil.copyfile(zoo["classifier"]["tflite"], compiled)
    model = flatbuffer_utils.read_model(str(compiled))
    code = model.operatorCodes[0]  # an op the Edge TPU compiler would have replaced: its custom op now
    code.builtinCode = code.deprecatedBuiltinCode = 32  # CUSTOM
    code.customCode = "edgetpu-custom-op"
    flatbuffer_utils.write_model(model, str(compiled))
    with pytest.raises(UserInputError, match=r"expected an Edge TPU for .*m_edgetpu.tflite.*, got device CPU: run "
                                             r"the int8 .tflite it was compiled from"):
        open_backend(compiled, device="CPU")


def test_onnxruntime_devices_choose_providers(zoo):
    assert wanted_providers(None, None) == ["CPUExecutionProvider"]
    assert wanted_providers(["CUDAExecutionProvider", "CPUExecutionProvider"], "CPU") == ["CPUExecutionProvider"]
    assert wanted_providers(None, "gpu")[:2] == ["TensorrtExecutionProvider", "CUDAExecutionProvider"]
    with pytest.raises(UserInputError, match="expected an ONNX Runtime device CPU or GPU, got 'NPU'"):
        open_backend(zoo["classifier"]["onnx"], device="NPU")
    # GPU asked for on a host without one: ONNX Runtime runs on the CPU, and says so.
    backend = open_backend(zoo["classifier"]["onnx"], device="GPU", threads=1)
    assert backend.info()["providers"] == ["CPUExecutionProvider"] and backend.info()["device"] == "CPU"


def test_openvino_reports_the_device_it_compiled_for(zoo):
    backend = open_backend(zoo["classifier"]["openvino"], device="CPU", threads=1)
    assert backend.info()["device"] == "CPU" and backend.info()["requested_device"] == "CPU"
