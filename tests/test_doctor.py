"""edgevision doctor on this machine and on fake device roots: a Pi, a Jetson, a Coral, an Intel NPU laptop."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edgevision.doctor import Status, run_checks

MEMINFO = "MemTotal:        8062424 kB\nMemFree:          512000 kB\nMemAvailable:    6234120 kB\n"


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def by_name(checks) -> dict:
    return {c.name: c for c in checks}


def test_this_machine_every_line_has_a_status_and_fails_carry_a_fix():
    checks = run_checks()
    assert [c.name for c in checks][:2] == ["python", "device"]
    assert all(isinstance(c.status, Status) and c.found for c in checks)
    assert all(c.fix for c in checks if c.status is not Status.OK)
    assert {"runtime litert", "runtime openvino", "runtime onnxruntime", "edge tpu", "cpu governor", "temperature",
            "cameras", "memory"} <= {c.name for c in checks}


@pytest.fixture
def pi5(tmp_path) -> Path:
    files = {"proc/device-tree/model": "Raspberry Pi 5 Model B Rev 1.0\x00",
             "sys/devices/platform/soc/soc:firmware/get_throttled": "50005",
             "sys/class/thermal/thermal_zone0/type": "cpu-thermal", "sys/class/thermal/thermal_zone0/temp": "81250",
             "sys/class/video4linux/video0/name": "unicam", "proc/meminfo": MEMINFO}
    files.update({f"sys/devices/system/cpu/cpu{i}/cpufreq/scaling_governor": "ondemand" for i in range(4)})
    return tree(tmp_path, files)


def test_a_raspberry_pi_5(pi5):
    c = by_name(run_checks(pi5, openvino_devices=(), ort_providers=("CPUExecutionProvider",)))
    assert c["device"].found.startswith("Raspberry Pi 5 (rpi5: device-tree model 'Raspberry Pi 5 Model B Rev 1.0')")
    assert c["runtime litert"].status is Status.OK  # LiteRT is what a Pi needs, and it is here
    assert c["throttling"].status is Status.FAIL and "under-voltage" in c["throttling"].found
    assert "power supply" in c["throttling"].fix
    assert c["temperature"].status is Status.WARN and "81.2 °C" in c["temperature"].found
    assert c["cpu governor"].status is Status.WARN and "performance" in c["cpu governor"].fix
    assert c["cameras"].status is Status.OK and "/dev/video0 (unicam)" in c["cameras"].found
    assert c["picamera2"].status is Status.WARN and "python3-picamera2" in c["picamera2"].fix
    assert c["memory"].status is Status.OK and c["memory"].found == "6088 MB available of 7873 MB"
    assert c["edge tpu"].status is Status.OK


def test_a_jetson_orin_without_the_gpu_build_of_onnx_runtime(tmp_path):
    root = tree(tmp_path, {"etc/nv_tegra_release": "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic\n",
                           "proc/device-tree/model": "NVIDIA Jetson Orin Nano Developer Kit\x00",
                           "proc/meminfo": MEMINFO})
    c = by_name(run_checks(root, openvino_devices=(), ort_providers=("CPUExecutionProvider",)))
    assert "NVIDIA Jetson Orin (jetson-orin: device-tree model" in c["device"].found and "L4T R36" in c["device"].found
    assert c["onnxruntime"].status is Status.FAIL and "onnxruntime-gpu" in c["onnxruntime"].fix
    cuda_only = by_name(run_checks(root, openvino_devices=(), ort_providers=("CUDAExecutionProvider",
                                                                             "CPUExecutionProvider")))
    assert cuda_only["onnxruntime"].status is Status.WARN and "TensorRT" in cuda_only["onnxruntime"].found
    full = by_name(run_checks(root, openvino_devices=(), ort_providers=("TensorrtExecutionProvider",
                                                                        "CUDAExecutionProvider", "CPUExecutionProvider")))
    assert full["onnxruntime"].status is Status.OK


def test_a_coral_usb_accelerator_with_and_without_libedgetpu(tmp_path):
    root = tree(tmp_path, {"sys/bus/usb/devices/2-1/idVendor": "18d1\n", "sys/bus/usb/devices/2-1/idProduct": "9302\n",
                           "proc/meminfo": MEMINFO})
    c = by_name(run_checks(root, openvino_devices=(), ort_providers=()))
    assert "Coral USB Accelerator (coral-usb: USB device 18d1:9302)" in c["device"].found
    assert c["edge tpu"].status is Status.FAIL and "libedgetpu1-std" in c["edge tpu"].fix
    tree(root, {"usr/lib/x86_64-linux-gnu/libedgetpu.so.1": ""})
    c = by_name(run_checks(root, openvino_devices=(), ort_providers=()))
    assert c["edge tpu"].status is Status.OK and "libedgetpu.so.1" in c["edge tpu"].found


def test_a_coral_pcie_card_without_its_driver(tmp_path):
    root = tree(tmp_path, {"sys/bus/pci/devices/0000:01:00.0/vendor": "0x1ac1\n",
                           "sys/bus/pci/devices/0000:01:00.0/device": "0x089a\n", "proc/meminfo": MEMINFO})
    c = by_name(run_checks(root, openvino_devices=(), ort_providers=()))
    assert c["edge tpu"].status is Status.FAIL and "/dev/apex_0" in c["edge tpu"].found
    assert "gasket-dkms" in c["edge tpu"].fix


def test_an_intel_core_ultra_with_and_without_the_npu_driver(tmp_path):
    root = tree(tmp_path, {"proc/cpuinfo": "vendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) Ultra 7 155H\n",
                           "proc/meminfo": MEMINFO})
    c = by_name(run_checks(root, openvino_devices=("CPU", "GPU"), ort_providers=()))
    assert c["openvino"].status is Status.FAIL and "linux-npu-driver" in c["openvino"].fix
    tree(root, {"dev/accel/accel0": ""})
    c = by_name(run_checks(root, openvino_devices=("CPU", "GPU", "NPU"), ort_providers=()))
    assert c["openvino"].status is Status.OK and "accel0" in c["openvino"].found
    assert "Intel NPU (Core Ultra) (intel-npu: OpenVINO device NPU)" in c["device"].found


def test_cli_text_json_and_exit_code(pi5):
    run = [sys.executable, "-m", "edgevision", "doctor", "--root", str(pi5)]
    text = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert text.returncode == 1, text.stderr  # a FAIL line: the Pi is under-voltage
    lines = text.stdout.splitlines()
    assert any(ln.startswith("FAIL  throttling") for ln in lines)
    fail = next(i for i, ln in enumerate(lines) if ln.startswith("FAIL"))
    assert lines[fail + 1].lstrip().startswith("fix: ")
    assert lines[-1].endswith("FAIL") and " WARN, " in lines[-1]
    data = json.loads(subprocess.run(run + ["--json"], capture_output=True, text=True, timeout=120).stdout)
    assert data["counts"]["fail"] >= 1 and {c["status"] for c in data["checks"]} <= {"OK", "WARN", "FAIL"}
    bad = subprocess.run(run[:-1] + [str(pi5 / "missing")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "expected --root" in bad.stderr
