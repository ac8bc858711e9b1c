"""Tests for edgevision.targets: shipped profiles, validation messages, device recognition on fake roots."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import edgevision.targets as targets
from edgevision.errors import TargetError
from edgevision.targets import (
    TARGET_IDS,
    ArtifactFormat,
    BackendName,
    Delegate,
    Precision,
    Target,
    detect_device,
    list_targets,
    load_target,
)
from edgevision.targets.detect import find_edgetpu_library

SHIPPED_DIR = Path(targets.__file__).parent

MY_PROFILE = """\
id = "my-board"
name = "My board"
notes = "Cortex-A55 x4"

[artifact]
format = "tflite"
precision = "int8"
precisions = ["fp32", "int8"]

[runtime]
backend = "litert"
device = "CPU"
threads = 4

[shape]
static = true
batch = 1
max_rank = 6
"""


def write_profile(tmp_path: Path, text: str = MY_PROFILE, name: str = "my.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def put(root: Path, relative: str, content: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


# --- shipped profiles -------------------------------------------------------------------------------------

def test_target_ids_match_the_shipped_files() -> None:
    assert sorted(p.stem for p in SHIPPED_DIR.glob("*.toml")) == list(TARGET_IDS)


@pytest.mark.parametrize("target_id", TARGET_IDS)
def test_every_shipped_profile_loads_and_round_trips(target_id: str) -> None:
    target = load_target(target_id)
    assert target.id == target_id
    assert target.path is not None and target.path.name == f"{target_id}.toml"
    assert target.artifact.precision in target.artifact.precisions
    assert target.shape.batch == 1
    data = target.to_dict()
    assert "path" not in data
    assert Target.from_dict(data, path=target.path) == target
    # Plain data only: strings, numbers, booleans, lists and dicts.
    assert repr(data).count("<") == 0


def test_list_targets_is_sorted_and_complete() -> None:
    assert [t.id for t in list_targets()] == sorted(TARGET_IDS)


def test_shipped_facts() -> None:
    coral = load_target("coral-usb")
    assert coral.artifact.format is ArtifactFormat.EDGETPU_TFLITE
    assert coral.artifact.precisions == (Precision.INT8,)
    assert coral.runtime.delegate is Delegate.EDGETPU
    assert coral.shape.max_rank == 3
    assert set(coral.detect.usb_ids) == {"1a6e:089a", "18d1:9302"}
    assert load_target("coral-pcie").detect.pci_ids == ("1ac1:089a",)
    nano = load_target("jetson-nano")
    assert nano.runtime.backend is BackendName.ONNXRUNTIME
    assert Precision.INT8 not in nano.artifact.precisions  # Maxwell: no int8
    assert Precision.INT8 in load_target("jetson-orin").artifact.precisions
    assert load_target("intel-npu").runtime.device == "NPU"
    assert load_target("intel-npu").compiler.nncf_target_device == "NPU"
    assert load_target("rpi5").runtime.threads == 4
    assert load_target("cpu").runtime.resolved_threads() >= 1


# --- loading and validation -------------------------------------------------------------------------------

def test_unknown_id_lists_the_valid_ids() -> None:
    with pytest.raises(TargetError) as err:
        load_target("rpi6")
    message = str(err.value)
    assert message.startswith("expected a target id among coral-devboard, coral-pcie, coral-usb, cpu,")
    assert message.endswith("or a path to a .toml profile, got 'rpi6'")


def test_missing_user_file() -> None:
    with pytest.raises(TargetError, match="no such file"):
        load_target("nowhere/my.toml")


def test_user_toml_path_loads(tmp_path: Path) -> None:
    path = write_profile(tmp_path)
    for given in (path, str(path)):
        target = load_target(given)
        assert target.id == "my-board"
        assert target.path == path
        assert target.artifact.precisions == (Precision.FP32, Precision.INT8)
        assert target.detect == targets.Detect()  # no [detect]: never auto-detected


def test_unknown_key_is_named_with_the_valid_keys(tmp_path: Path) -> None:
    path = write_profile(tmp_path, MY_PROFILE.replace("threads = 4", "threads = 4\nfoo = 1"))
    with pytest.raises(TargetError) as err:
        load_target(path)
    assert str(err.value) == (f"unknown key 'foo' in [runtime] of {path}; "
                              "valid keys: backend, device, threads, providers, delegate")


def test_unknown_top_level_table_is_named(tmp_path: Path) -> None:
    path = write_profile(tmp_path, MY_PROFILE + "\n[extras]\nx = 1\n")
    with pytest.raises(TargetError, match=r"unknown key 'extras' at the top level of .*; valid keys: id, name"):
        load_target(path)


def test_missing_key(tmp_path: Path) -> None:
    path = write_profile(tmp_path, MY_PROFILE.replace('backend = "litert"\n', ""))
    with pytest.raises(TargetError, match=r"missing key 'backend' in \[runtime\] of .*; required keys: backend, "
                                          r"device, threads"):
        load_target(path)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("threads = 4", 'threads = "four"', r"expected an integer for 'threads' in \[runtime\] of .*, got 'four' \(str\)"),
    ("threads = 4", "threads = true", r"expected an integer for 'threads' in \[runtime\] of .*, got True \(bool\)"),
    ("static = true", 'static = "yes"', r"expected a boolean for 'static' in \[shape\]"),
    ('precisions = ["fp32", "int8"]', 'precisions = "int8"', r"expected a list of strings for 'precisions'"),
])
def test_wrong_type(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write_profile(tmp_path, MY_PROFILE.replace(old, new))
    with pytest.raises(TargetError, match=expected):
        load_target(path)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('format = "tflite"', 'format = "tfl"',
     r"expected 'format' to be one of tflite, edgetpu-tflite, openvino-ir, onnx in \[artifact\] of .*, got 'tfl'"),
    ('backend = "litert"', 'backend = "tensorrt"', r"expected 'backend' to be one of litert, openvino, onnxruntime"),
    ('precision = "int8"', 'precision = "int4"', r"expected 'precision' to be one of fp32, fp16, dynamic, int8 .*got 'int4'"),
])
def test_bad_enum_value(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write_profile(tmp_path, MY_PROFILE.replace(old, new))
    with pytest.raises(TargetError, match=expected):
        load_target(path)


def test_default_precision_not_allowed(tmp_path: Path) -> None:
    path = write_profile(tmp_path, MY_PROFILE.replace('precision = "int8"', 'precision = "fp16"'))
    with pytest.raises(TargetError) as err:
        load_target(path)
    assert str(err.value) == (f"expected 'precision' among the allowed precisions (fp32, int8) "
                              f"in [artifact] of {path}, got 'fp16'")


@pytest.mark.parametrize(("old", "new", "expected"), [
    ('format = "tflite"', 'format = "onnx"', r"expected a 'format' that backend litert reads"),
    ('device = "CPU"', 'device = "CPU"\nproviders = ["CPUExecutionProvider"]',
     r"'providers' \(non-empty\) exactly when backend is onnxruntime"),
    ('device = "CPU"', 'device = "CPU"\ndelegate = "edgetpu"', r"delegate = 'edgetpu' exactly when format"),
    ("threads = 4", "threads = -1", r"'threads' >= 0"),
    ("batch = 1", "batch = 0", r"'batch' >= 1"),
])
def test_inconsistent_profile(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write_profile(tmp_path, MY_PROFILE.replace(old, new))
    with pytest.raises(TargetError, match=expected):
        load_target(path)


def test_bad_detect_and_compiler_values(tmp_path: Path) -> None:
    path = write_profile(tmp_path, MY_PROFILE + '\n[detect]\nusb_ids = ["1A6E-089A"]\n')
    with pytest.raises(TargetError, match=r"'usb_ids' entries as lowercase hex .* got '1A6E-089A'"):
        load_target(path)
    path = write_profile(tmp_path, MY_PROFILE + '\n[compiler]\nnncf_target_device = "VPU"\n')
    with pytest.raises(TargetError, match=r"'nncf_target_device' among ANY, CPU, GPU, NPU, CPU_SPR"):
        load_target(path)


def test_invalid_toml(tmp_path: Path) -> None:
    path = write_profile(tmp_path, "id = \n")
    with pytest.raises(TargetError, match=r"expected a valid UTF-8 TOML profile in .*my.toml, got"):
        load_target(path)


def test_not_a_path_or_id() -> None:
    with pytest.raises(TargetError, match=r"got 3 \(int\)"):
        load_target(3)  # type: ignore[arg-type]


# --- device recognition on a fake root --------------------------------------------------------------------

def test_nothing_but_cpu_on_an_empty_root(tmp_path: Path) -> None:
    assert detect_device(tmp_path, openvino_devices=()) == ["cpu"]


def test_detects_a_pi5_from_the_device_tree(tmp_path: Path) -> None:
    put(tmp_path, "proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
    assert detect_device(tmp_path, openvino_devices=()) == ["cpu", "rpi5"]
    ok, why = load_target("rpi5").can_run_here(root=tmp_path, openvino_devices=())
    assert ok and "Raspberry Pi 5 detected" in why and "Raspberry Pi 5 Model B Rev 1.0" in why


def test_detects_a_pi4_from_the_firmware_device_tree(tmp_path: Path) -> None:
    put(tmp_path, "sys/firmware/devicetree/base/model", "Raspberry Pi 4 Model B Rev 1.4\x00")
    assert detect_device(tmp_path, openvino_devices=()) == ["cpu", "rpi4"]


def test_detects_jetsons_from_the_l4t_release_and_model(tmp_path: Path) -> None:
    put(tmp_path, "etc/nv_tegra_release",
        "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: Sat Feb 19 2022\n")
    put(tmp_path, "proc/device-tree/model", "NVIDIA Jetson Nano Developer Kit\x00")
    assert detect_device(tmp_path, openvino_devices=()) == ["cpu", "jetson-nano"]

    put(tmp_path, "etc/nv_tegra_release", "# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic\n")
    put(tmp_path, "proc/device-tree/model", "NVIDIA Jetson Orin Nano Developer Kit\x00")
    assert detect_device(tmp_path, openvino_devices=()) == ["cpu", "jetson-orin"]


def test_a_xavier_on_r35_is_not_an_orin(tmp_path: Path) -> None:
    put(tmp_path, "etc/nv_tegra_release", "# R35 (release), REVISION: 4.1\n")
    put(tmp_path, "proc/device-tree/model", "NVIDIA Jetson Xavier NX Developer Kit\x00")
    assert detect_device(tmp_path, openvino_devices=()) == ["cpu"]
    ok, why = load_target("jetson-orin").can_run_here(root=tmp_path, openvino_devices=())
    if importlib.util.find_spec("onnxruntime") is not None:
        assert not ok and "expected one containing 'Orin'" in why


@pytest.mark.parametrize("usb_id", [("1a6e", "089a"), ("18d1", "9302")])
def test_detects_a_coral_usb_by_its_ids(tmp_path: Path, usb_id: tuple[str, str]) -> None:
    put(tmp_path, "sys/bus/usb/devices/2-1/idVendor", usb_id[0] + "\n")
    put(tmp_path, "sys/bus/usb/devices/2-1/idProduct", usb_id[1] + "\n")
    put(tmp_path, "sys/bus/usb/devices/1-1/idVendor", "1d6b\n")  # a root hub, not ours
    put(tmp_path, "sys/bus/usb/devices/1-1/idProduct", "0002\n")
    assert detect_device(tmp_path, openvino_devices=()) == ["coral-usb", "cpu"]


def test_detects_a_coral_pcie_only_with_its_driver(tmp_path: Path) -> None:
    put(tmp_path, "sys/bus/pci/devices/0000:01:00.0/vendor", "0x1ac1\n")
    put(tmp_path, "sys/bus/pci/devices/0000:01:00.0/device", "0x089a\n")
    assert detect_device(tmp_path, openvino_devices=()) == ["cpu"]
    put(tmp_path, "dev/apex_0", "")
    assert detect_device(tmp_path, openvino_devices=()) == ["coral-pcie", "cpu"]


def test_detects_intel_devices_from_openvino(tmp_path: Path) -> None:
    put(tmp_path, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n")
    found = detect_device(tmp_path, openvino_devices=["CPU", "GPU.0", "GPU.1", "NPU"])
    assert found == ["cpu", "intel-cpu", "intel-gpu", "intel-npu"]


# --- can_run_here -----------------------------------------------------------------------------------------

def test_cpu_can_run_here() -> None:
    ok, why = load_target("cpu").can_run_here()
    assert ok, why
    assert why.startswith("LiteRT available (ai_edge_litert)")


def test_a_pi_profile_runs_on_any_cpu(tmp_path: Path) -> None:
    ok, why = load_target("rpi5").can_run_here(root=tmp_path, openvino_devices=())
    assert ok
    assert "not a Raspberry Pi 5" in why and why.endswith("runs on this host's CPU")


def test_coral_usb_cannot_run_without_the_delegate_library(tmp_path: Path) -> None:
    ok, why = load_target("coral-usb").can_run_here(root=tmp_path, openvino_devices=())
    assert not ok
    assert "libedgetpu.so.1 not found" in why


@pytest.mark.skipif(find_edgetpu_library() is not None, reason="this machine has libedgetpu installed")
def test_coral_usb_cannot_run_here() -> None:
    ok, why = load_target("coral-usb").can_run_here()
    assert not ok and "libedgetpu.so.1" in why


def test_coral_usb_runs_with_library_and_device(tmp_path: Path) -> None:
    put(tmp_path, "usr/lib/libedgetpu.so.1", "")
    ok, why = load_target("coral-usb").can_run_here(root=tmp_path, openvino_devices=())
    assert not ok and "no USB device 1a6e:089a or 18d1:9302" in why
    put(tmp_path, "sys/bus/usb/devices/2-1/idVendor", "18d1\n")
    put(tmp_path, "sys/bus/usb/devices/2-1/idProduct", "9302\n")
    ok, why = load_target("coral-usb").can_run_here(root=tmp_path, openvino_devices=())
    assert ok and "Coral USB Accelerator detected" in why


def test_intel_npu_needs_the_npu_in_openvino(tmp_path: Path) -> None:
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("openvino is not installed")
    ok, why = load_target("intel-npu").can_run_here(root=tmp_path, openvino_devices=["CPU"])
    assert not ok and "OpenVINO devices CPU, expected NPU" in why
    ok, why = load_target("intel-npu").can_run_here(root=tmp_path, openvino_devices=["CPU", "NPU"])
    assert ok, why


def test_import_does_not_probe_or_import_runtimes() -> None:
    code = "import edgevision.targets, sys; print(sorted({'openvino', 'onnxruntime', 'ai_edge_litert'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
