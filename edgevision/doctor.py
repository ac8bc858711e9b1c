"""``edgevision doctor``: what this device is, what it can run, and what to fix, one line per check.

Each ``Check`` is OK, WARN or FAIL with what was found and, unless OK, the fix. Every probe
reads under ``root`` (a device's filesystem root; tests pass a fake one) through the same
probes target selection uses (``edgevision.targets.detect``) and the bench's device readers
(``edgevision.bench.device``); the Python runtimes are this interpreter's. What a device needs
follows from the target profiles it matches: a Jetson needs ONNX Runtime with TensorRT or CUDA,
a Coral needs libedgetpu, a Pi needs LiteRT and picamera2.

Example:
    >>> from pathlib import Path
    >>> checks = run_checks(Path("/nonexistent"), openvino_devices=(), ort_providers=("CPUExecutionProvider",))
    >>> [c.name for c in checks][:3]
    ['python', 'device', 'runtime litert']
    >>> next(c for c in checks if c.name == "memory").status
    <Status.WARN: 'WARN'>
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import platform
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class Status(str, Enum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One line of the report: a name, OK/WARN/FAIL, what was found, and the fix (None when OK)."""

    name: str
    status: Status
    found: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "found": self.found, "fix": self.fix}


@dataclass
class Context:
    """What the checks share: the root, the target profiles this device matches, and the runtime probes."""

    root: Path
    openvino: Callable[[], Sequence[str]]
    ort_providers: Callable[[], Sequence[str]]
    detected: list[Any]  # Target profiles whose [detect] criteria hold here (not the any-host "cpu")
    reasons: dict[str, str]  # target id -> why it is (not) detected

    def detected_ids(self) -> set[str]:
        return {t.id for t in self.detected}


def _ort_providers() -> tuple[str, ...]:
    try:
        import onnxruntime

        return tuple(onnxruntime.get_available_providers())
    except (ImportError, RuntimeError, OSError):
        return ()


def _version(distributions: Sequence[str]) -> str | None:
    for dist in distributions:
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def check_python(ctx: Context) -> list[Check]:
    from . import __version__

    return [Check("python", Status.OK, f"Python {platform.python_version()} ({sys.executable}), "
                                       f"edgevision {__version__}, {platform.machine()}")]


def check_device(ctx: Context) -> list[Check]:
    from .targets.detect import device_tree_model, l4t_release

    parts = [f"{t.name} ({t.id}: {ctx.reasons[t.id]})" for t in ctx.detected]
    model, l4t = device_tree_model(ctx.root), l4t_release(ctx.root)
    extra = ", ".join(x for x in (f"device tree {model!r}" if model else "", f"L4T {l4t}" if l4t else "") if x)
    if not parts:
        return [Check("device", Status.OK, "no edge device recognised: a generic host (target cpu)"
                      + (f"; {extra}" if extra else ""))]
    return [Check("device", Status.OK, "; ".join(parts))]


def check_runtimes(ctx: Context) -> list[Check]:
    from .targets.catalogue import BACKENDS, installed_module

    needed = {t.runtime.backend for t in ctx.detected}
    out = []
    for backend, spec in BACKENDS.items():
        module = installed_module(backend)
        users = sorted(t.id for t in ctx.detected if t.runtime.backend == backend)
        if module:
            out.append(Check(f"runtime {backend}", Status.OK, f"{spec.label}: {_version(spec.distributions) or module}"
                                                                  f" ({module})"))
        else:
            status = Status.FAIL if backend in needed else Status.WARN
            why = f"needed by {', '.join(users)}" if users else "needed only for its targets"
            out.append(Check(f"runtime {backend}", status, f"{spec.label} not installed ({why})",
                             f"pip install 'edgevision[{spec.extra}]'"))
    return out


def check_edgetpu(ctx: Context) -> list[Check]:
    from .targets import list_targets
    from .targets.catalogue import Delegate
    from .targets.detect import edgetpu_library_name, find_edgetpu_library, usb_ids

    tpus = [t for t in list_targets() if t.runtime.delegate is Delegate.EDGETPU]
    present = [t for t in tpus if t.id in ctx.detected_ids()]
    library = find_edgetpu_library(ctx.root)
    apt = ("add Coral's apt repository, then sudo apt-get install libedgetpu1-std (see README: Coral Edge TPU host)")
    half = [t for t in tpus if t.id not in ctx.detected_ids() and "(is the driver loaded?)" in ctx.reasons[t.id]]
    if half:
        t = half[0]
        return [Check("edge tpu", Status.FAIL, f"{t.name}: {ctx.reasons[t.id]}",
                      "install the apex/gasket driver (sudo apt-get install gasket-dkms from Coral's repository), "
                      "then reboot")]
    if present and not library:
        return [Check("edge tpu", Status.FAIL, f"{', '.join(t.name for t in present)} present, but the Edge TPU "
                      f"runtime {edgetpu_library_name()} is not installed", apt)]
    if present:
        note = " (USB id 1a6e:089a: the runtime loads its firmware on first use)" if "1a6e:089a" in usb_ids(ctx.root) \
            else ""
        return [Check("edge tpu", Status.OK, f"{', '.join(t.name for t in present)} with {library}{note}")]
    if library:
        return [Check("edge tpu", Status.WARN, f"{library} installed, but no Coral Edge TPU found (USB or PCIe)",
                      "plug the Coral USB Accelerator into a USB 3 port (or seat the M.2/PCIe card), then re-run")]
    return [Check("edge tpu", Status.OK, "no Coral Edge TPU here, and no libedgetpu: nothing to do")]


def check_openvino(ctx: Context) -> list[Check]:
    from .bench.system import cpu_name

    if importlib.util.find_spec("openvino") is None:
        return []  # the runtimes check already says how to install it
    devices = list(ctx.openvino())
    cpu = cpu_name(ctx.root)
    accel = sorted(p.name for p in (ctx.root / "dev/accel").glob("accel*")) if (ctx.root / "dev/accel").is_dir() else []
    found = f"OpenVINO devices: {', '.join(devices) or 'none'}"
    if any(d == "NPU" or d.startswith("NPU.") for d in devices):
        return [Check("openvino", Status.OK, f"{found}; NPU driver present ({', '.join(accel) or 'in use'})")]
    if accel:
        return [Check("openvino", Status.WARN, f"{found}; /dev/accel/{accel[0]} exists but OpenVINO has no NPU",
                      "update OpenVINO (pip install -U openvino) to a release that knows this NPU, and add your user "
                      "to the render group (sudo usermod -aG render $USER)")]
    if "Ultra" in cpu or "Lunar Lake" in cpu or "Arrow Lake" in cpu:
        return [Check("openvino", Status.FAIL, f"{found}; {cpu} has an NPU but no driver (/dev/accel/accel0 missing)",
                      "install the Intel NPU driver (github.com/intel/linux-npu-driver releases), then reboot")]
    return [Check("openvino", Status.OK, f"{found}; no NPU on this CPU ({cpu})")]


def check_onnxruntime(ctx: Context) -> list[Check]:
    if importlib.util.find_spec("onnxruntime") is None:
        return []
    providers = list(ctx.ort_providers())
    found = f"ONNX Runtime providers: {', '.join(providers) or 'none'}"
    wanting = [t for t in ctx.detected if t.runtime.providers]
    for t in wanting:
        accelerated = [p for p in t.runtime.providers if p != "CPUExecutionProvider"]
        if accelerated and not set(accelerated) & set(providers):
            return [Check("onnxruntime", Status.FAIL, f"{found}; {t.name} needs {' or '.join(accelerated)}",
                          "pip uninstall onnxruntime, then install NVIDIA's onnxruntime-gpu wheel for your JetPack "
                          "release (README: Jetson)")]
        if "TensorrtExecutionProvider" in accelerated and "TensorrtExecutionProvider" not in providers:
            return [Check("onnxruntime", Status.WARN, f"{found}; {t.name} runs on CUDA without TensorRT",
                          "install an onnxruntime-gpu built with TensorRT (NVIDIA's Jetson wheel) for fp16/int8 engines")]
    return [Check("onnxruntime", Status.OK, found)]


def check_cpu(ctx: Context) -> list[Check]:
    from .bench.device import read_cpu_limits

    governors = [str(g) for g in read_cpu_limits(ctx.root).get("governors") or ()]  # type: ignore[attr-defined]
    if not governors:
        return [Check("cpu governor", Status.OK, "not exposed (a VM or a fixed clock): nothing to set")]
    if governors != ["performance"]:
        return [Check("cpu governor", Status.WARN, f"governor {', '.join(governors)}: clocks ramp up under load, "
                      "so the first frames and short benches run slower",
                      "echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor")]
    return [Check("cpu governor", Status.OK, "performance")]


def check_thermal(ctx: Context) -> list[Check]:
    from .bench.device import decode_throttled, find_vcgencmd, read_temperatures, read_throttled

    out = []
    temps = read_temperatures(ctx.root)
    if temps:
        name, hottest = max(temps.items(), key=lambda kv: kv[1])
        status = Status.FAIL if hottest >= 85 else Status.WARN if hottest >= 75 else Status.OK
        out.append(Check("temperature", status, f"{name} {hottest:.1f} °C",
                         None if status is Status.OK else "add a heatsink or fan; Pi 5: the Active Cooler"))
    else:
        out.append(Check("temperature", Status.OK, "no thermal zones exposed (a VM?)"))
    is_pi = any(t.id.startswith("rpi") for t in ctx.detected)
    word, source = read_throttled(ctx.root, find_vcgencmd() if ctx.root == Path("/") else None)
    if word is None:
        if is_pi:
            out.append(Check("throttling", Status.WARN, "the Pi's throttling flags are not readable",
                             "sudo apt-get install raspi-utils (vcgencmd)"))
        return out
    flags = decode_throttled(word)
    if flags["now"]:
        out.append(Check("throttling", Status.FAIL, f"now: {', '.join(flags['now'])} ({source}, {word:#x})",
                         "use the official power supply (Pi 5: 5 V 5 A; Pi 4: 5 V 3 A) and cooling"))
    elif flags["since_boot"]:
        out.append(Check("throttling", Status.WARN, f"since boot: {', '.join(flags['since_boot'])} ({source})",
                         "check the power supply and cooling; it happened under load before"))
    else:
        out.append(Check("throttling", Status.OK, f"none since boot ({source})"))
    return out


def check_cameras(ctx: Context) -> list[Check]:
    out = []
    names = []
    for node in sorted((ctx.root / "sys/class/video4linux").glob("video*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0)):
        try:
            names.append(f"/dev/{node.name} ({(node / 'name').read_text().strip()})")
        except OSError:
            names.append(f"/dev/{node.name}")
    if not names:
        names = [f"/dev/{p.name}" for p in sorted((ctx.root / "dev").glob("video*"))]
    if names:
        out.append(Check("cameras", Status.OK, f"V4L2: {', '.join(names[:6])}" + (" …" if len(names) > 6 else "")))
    else:
        out.append(Check("cameras", Status.WARN, "no V4L2 video device",
                         "connect a camera (a USB camera appears as /dev/video0); or use a file or rtsp:// source"))
    if importlib.util.find_spec("cv2") is None:
        out.append(Check("opencv", Status.WARN, "OpenCV not installed: no USB cameras, videos or streams",
                         "pip install 'edgevision[camera]'"))
    if any(t.id.startswith("rpi") for t in ctx.detected):
        if importlib.util.find_spec("picamera2") is None:
            out.append(Check("picamera2", Status.WARN, "picamera2 not importable: no csi:// camera",
                             "sudo apt install python3-picamera2, and make the venv with --system-site-packages"))
        else:
            out.append(Check("picamera2", Status.OK, "picamera2 importable (csi://N)"))
    return out


def check_memory(ctx: Context) -> list[Check]:
    text = ""
    with contextlib.suppress(OSError):
        text = (ctx.root / "proc/meminfo").read_text()
    fields = {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", text, re.MULTILINE)}
    if "MemAvailable" not in fields:
        return [Check("memory", Status.WARN, "free memory not readable (/proc/meminfo)", "run on Linux to check it")]
    free, total = fields["MemAvailable"] / 1024, fields.get("MemTotal", 0) / 1024
    found = f"{free:.0f} MB available of {total:.0f} MB"
    if free < 128:
        return [Check("memory", Status.FAIL, found, "stop other programs, or add swap; a model needs its size "
                                                    "several times over while it loads")]
    if free < 512:
        return [Check("memory", Status.WARN, found, "close other programs before benchmarking")]
    return [Check("memory", Status.OK, found)]


# The checks, in the order they print: each takes the Context and returns its lines.
CHECKS: tuple[Callable[[Context], list[Check]], ...] = (
    check_python, check_device, check_runtimes, check_edgetpu, check_openvino, check_onnxruntime, check_cpu,
    check_thermal, check_cameras, check_memory)


def run_checks(root: str | Path = "/", *, openvino_devices: Sequence[str] | None = None,
               ort_providers: Sequence[str] | None = None) -> list[Check]:
    """Every check on the device at ``root``; ``openvino_devices`` / ``ort_providers`` stand in for the runtimes'."""
    from .targets import list_targets
    from .targets.detect import check_detect
    from .targets.detect import openvino_devices as real_openvino

    root = Path(root)
    ov = (lambda: tuple(openvino_devices)) if openvino_devices is not None else real_openvino
    ort = (lambda: tuple(ort_providers)) if ort_providers is not None else _ort_providers
    detected, reasons = [], {}
    for t in list_targets():
        if t.detect.any_host:
            continue
        ok, why = check_detect(t.detect, root=root, openvino=ov)
        reasons[t.id] = why
        if ok and (t.runtime.device.upper() != "CPU" or t.detect.model):  # a board or an accelerator
            detected.append(t)
    ctx = Context(root=root, openvino=ov, ort_providers=ort, detected=detected, reasons=reasons)
    return [line for check in CHECKS for line in check(ctx)]
