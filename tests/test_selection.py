"""edgevision/selection.py: which artifact target="auto" runs, on stand-in machines (detected devices, installed runtimes)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from edgevision.errors import ManifestError, TargetError
from edgevision.selection import choose_artifact, cpu_fallback_key, preference_key, target_options
from edgevision.targets import TARGET_IDS

FORMAT_OF = {"coral-usb": "edgetpu-tflite", "coral-pcie": "edgetpu-tflite", "coral-devboard": "edgetpu-tflite",
             "intel-npu": "openvino-ir", "intel-gpu": "openvino-ir", "intel-cpu": "openvino-ir",
             "jetson-orin": "onnx", "jetson-nano": "onnx", "rpi5": "tflite", "rpi4": "tflite", "cpu": "tflite"}


def manifest(*targets: str):
    return SimpleNamespace(artifacts={t: SimpleNamespace(format=FORMAT_OF.get(t, "tflite")) for t in targets})


def everything(backend):
    return "module"


def only(*backends):
    return lambda backend: "module" if str(backend) in backends else None


def test_the_orders_are_the_ones_the_profiles_and_kinds_give():
    assert sorted(TARGET_IDS, key=preference_key) == [
        "coral-usb", "coral-pcie", "coral-devboard", "intel-npu", "jetson-orin", "jetson-nano", "intel-gpu",
        "rpi5", "rpi4", "intel-cpu", "cpu"]
    cpu_runnable = [t for t in TARGET_IDS if not t.startswith("coral")]
    assert sorted(cpu_runnable, key=cpu_fallback_key) == [
        "cpu", "rpi5", "rpi4", "intel-cpu", "jetson-orin", "jetson-nano", "intel-gpu", "intel-npu"]
    assert preference_key("my-board")[0] > preference_key("cpu")[0]  # a profile of the user's own: last


@pytest.mark.parametrize("detected, expected, why", [
    (["cpu", "coral-usb", "rpi5"], "coral-usb", "auto: this machine is coral-usb"),
    (["cpu", "rpi5"], "rpi5", "auto: this machine is rpi5"),
    (["cpu", "intel-cpu", "intel-npu"], "intel-npu", "auto: this machine is intel-npu"),
    (["cpu", "intel-cpu"], "intel-cpu", "auto: this machine is intel-cpu"),
    (["cpu"], "cpu", "auto: this machine is cpu"),
])
def test_a_recognised_device_gets_its_artifact(detected, expected, why):
    m = manifest("cpu", "rpi5", "coral-usb", "intel-npu", "intel-cpu")
    assert choose_artifact(m, "auto", detected=detected, installed=everything) == (expected, why)


def test_without_the_device_or_its_runtime_the_cpu_runs_the_best_cpu_artifact():
    m = manifest("coral-usb", "jetson-orin", "intel-npu", "rpi4")
    target, why = choose_artifact(m, "auto", detected=["cpu"], installed=everything)
    assert target == "rpi4" and why == ("auto: no device of the bundle's targets recognised; running the rpi4 "
                                        "artifact (tflite) on this host's CPU")
    # A Coral is here, but its runtime (LiteRT) is not: the ONNX build runs on the CPU instead.
    target, why = choose_artifact(m, "auto", detected=["cpu", "coral-usb"], installed=only("onnxruntime", "openvino"))
    assert target == "jetson-orin" and "device runtime missing" in why
    assert choose_artifact(manifest("intel-npu", "jetson-nano"), None, detected=[], installed=everything)[0] == \
        "jetson-nano"  # a GPU build before an NPU int8 build


def test_requested_targets_and_nothing_runnable_are_errors_that_say_so():
    m = manifest("coral-usb", "rpi5")
    assert choose_artifact(m, "rpi5", detected=[], installed=everything) == ("rpi5", "requested target rpi5")
    with pytest.raises(ManifestError, match="expected an artifact for target 'cpu' in the bundle, got only: "
                                            "coral-usb, rpi5"):
        choose_artifact(m, "cpu", detected=[], installed=everything)
    with pytest.raises(ManifestError, match="expected an artifact this machine can run, got coral-usb"):
        choose_artifact(manifest("coral-usb"), "auto", detected=["cpu"], installed=everything)


def test_target_options_cap_threads_and_fall_back_to_the_format_for_unknown_profiles():
    from edgevision.backends.base import default_threads

    rpi5 = target_options("rpi5")
    assert rpi5 == {"backend": "litert", "device": "CPU", "threads": min(4, default_threads())}
    assert "threads" not in target_options("coral-usb")  # 0 in the profile: the backend's one-per-core
    assert target_options("jetson-orin")["providers"][0] == "TensorrtExecutionProvider"
    assert target_options("my-board", "onnx") == {"backend": "onnxruntime"}
    with pytest.raises(TargetError, match="got 'my-board'"):
        target_options("my-board")
