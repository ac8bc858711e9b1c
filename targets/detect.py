"""Recognise the device this code runs on, and whether a target can run here.

Every probe is cheap, reads only under ``root`` (a fake filesystem root in tests), runs only
when called (never at import), and returns "not found" instead of raising. OpenVINO is imported
only when a profile asks for an OpenVINO device and OpenVINO is installed.

Example:
    >>> from pathlib import Path
    >>> root = Path(tmp)  # doctest: +SKIP
    >>> (root / "proc/device-tree").mkdir(parents=True)  # doctest: +SKIP
    >>> (root / "proc/device-tree/model").write_text("Raspberry Pi 5 Model B Rev 1.0\\x00")  # doctest: +SKIP
    >>> detect_device(root, openvino_devices=())  # doctest: +SKIP
    ['cpu', 'rpi5']
"""
from __future__ import annotations

import ctypes.util
import functools
import importlib.util
import platform
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from edgevision.targets.catalogue import BACKENDS, EDGETPU_LIBRARIES, BackendName, Delegate, installed_module
from edgevision.targets.profile import Detect, Target

MODEL_FILES = ("proc/device-tree/model", "sys/firmware/devicetree/base/model")
L4T_RELEASE_FILE = "etc/nv_tegra_release"
_LIBRARY_DIRS = ("usr/lib", "usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu", "usr/lib/arm-linux-gnueabihf",
                 "usr/local/lib", "opt/homebrew/lib")


def _read(path: Path, limit: int = 8192) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def device_tree_model(root: Path = Path("/")) -> str | None:
    """The board's device-tree model string, e.g. ``'Raspberry Pi 5 Model B Rev 1.0'``, or None."""
    for name in MODEL_FILES:
        text = _read(root / name)
        if text is not None:
            return text.strip("\x00\n ")
    return None


def l4t_release(root: Path = Path("/")) -> str | None:
    """The L4T (Jetson Linux) release, e.g. ``'R32'`` from ``# R32 (release), REVISION: 7.1, ...``."""
    match = re.match(r"#\s*(R\d+)\b", _read(root / L4T_RELEASE_FILE) or "")
    return match.group(1) if match else None


def _bus_ids(root: Path, bus: str, vendor_file: str, device_file: str) -> set[str]:
    ids: set[str] = set()
    try:
        devices = list((root / "sys/bus" / bus / "devices").iterdir())
    except OSError:
        return ids
    for dev in devices:
        vendor, device = _read(dev / vendor_file, 16), _read(dev / device_file, 16)
        if vendor and device:
            ids.add(f"{vendor.strip().lower().removeprefix('0x')}:{device.strip().lower().removeprefix('0x')}")
    return ids


def usb_ids(root: Path = Path("/")) -> set[str]:
    """``vendor:product`` of every USB device in sysfs, e.g. ``{'18d1:9302'}``."""
    return _bus_ids(root, "usb", "idVendor", "idProduct")


def pci_ids(root: Path = Path("/")) -> set[str]:
    """``vendor:device`` of every PCI device in sysfs, e.g. ``{'1ac1:089a'}``."""
    return _bus_ids(root, "pci", "vendor", "device")


def cpu_vendor(root: Path = Path("/")) -> str | None:
    """The ``vendor_id`` of /proc/cpuinfo (``'GenuineIntel'``, ``'AuthenticAMD'``), or None."""
    match = re.search(r"^vendor_id\s*:\s*(\S+)", _read(root / "proc/cpuinfo") or "", re.MULTILINE)
    return match.group(1) if match else None


@functools.lru_cache(maxsize=1)
def openvino_devices() -> tuple[str, ...]:
    """OpenVINO's available devices (``('CPU', 'GPU', 'NPU')``); empty if OpenVINO is missing or fails."""
    if importlib.util.find_spec("openvino") is None:
        return ()
    try:
        import openvino

        return tuple(openvino.Core().available_devices)
    except (ImportError, RuntimeError, OSError):
        return ()


def edgetpu_library_name(system: str | None = None) -> str:
    """The Edge TPU delegate's file name on this OS, for LiteRT's ``load_delegate``."""
    return EDGETPU_LIBRARIES.get(system or platform.system(), EDGETPU_LIBRARIES["Linux"])


def find_edgetpu_library(root: Path = Path("/")) -> str | None:
    """The Edge TPU delegate library if installed (its name or path), else None."""
    if root == Path("/"):
        found = ctypes.util.find_library("edgetpu")
        if found:
            return found
    name = edgetpu_library_name()
    return next((str(root / d / name) for d in _LIBRARY_DIRS if (root / d / name).exists()), None)


def check_detect(detect: Detect, *, root: Path = Path("/"),
                 openvino: Callable[[], Sequence[str]] = openvino_devices) -> tuple[bool, str]:
    """Whether every criterion of ``detect`` holds here, with what was found or what failed."""
    if detect.any_host:
        return True, "any host"
    found: list[str] = []
    if detect.model:
        model = device_tree_model(root)
        if model is None or not any(m in model for m in detect.model):
            got = f"device-tree model {model!r}" if model else "no device-tree model"
            return False, f"{got}, expected one containing {' or '.join(map(repr, detect.model))}"
        found.append(f"device-tree model {model!r}")
    if detect.l4t_release:
        release = l4t_release(root)
        if release not in detect.l4t_release:
            got = f"L4T {release}" if release else f"no /{L4T_RELEASE_FILE}"
            return False, f"{got}, expected L4T {' or '.join(detect.l4t_release)}"
        found.append(f"L4T {release}")
    for ids, probe, bus in ((detect.usb_ids, usb_ids, "USB"), (detect.pci_ids, pci_ids, "PCI")):
        if ids:
            present = probe(root) & set(ids)
            if not present:
                return False, f"no {bus} device {' or '.join(ids)}"
            found.append(f"{bus} device {', '.join(sorted(present))}")
    missing_nodes = [n for n in detect.dev_nodes if not (root / n.lstrip("/")).exists()]
    if missing_nodes:
        return False, f"no {', '.join(missing_nodes)} (is the driver loaded?)"
    found += list(detect.dev_nodes)
    if detect.cpu_vendor:
        vendor = cpu_vendor(root)
        if vendor not in detect.cpu_vendor:
            return False, f"CPU vendor {vendor or 'unknown'}, expected {' or '.join(detect.cpu_vendor)}"
        found.append(f"CPU vendor {vendor}")
    if detect.openvino_device:  # last: the only probe that may import a heavy module
        devices = openvino()
        hits = [d for d in devices if any(d == w or d.startswith(w + ".") for w in detect.openvino_device)]
        if not hits:
            got = f"OpenVINO devices {', '.join(devices)}" if devices else "no OpenVINO devices"
            return False, f"{got}, expected {' or '.join(detect.openvino_device)}"
        found.append(f"OpenVINO device {', '.join(hits)}")
    if not found:
        return False, "the profile has no [detect] criteria"
    return True, "; ".join(found)


def _provider(openvino_given: Iterable[str] | None) -> Callable[[], Sequence[str]]:
    if openvino_given is None:
        return openvino_devices
    given = tuple(openvino_given)
    return lambda: given


def detect_device(root: Path = Path("/"), *, openvino_devices: Iterable[str] | None = None) -> list[str]:
    """Ids of the shipped targets whose ``[detect]`` criteria this machine meets, sorted.

    >>> detect_device(Path("/nonexistent"), openvino_devices=())
    ['cpu']
    """
    from edgevision.targets import list_targets

    openvino = _provider(openvino_devices)
    return [t.id for t in list_targets() if check_detect(t.detect, root=root, openvino=openvino)[0]]


def check_target(target: Target, *, root: Path = Path("/"),
                 openvino_devices: Iterable[str] | None = None) -> tuple[bool, str]:
    """Whether ``target`` can run here: its runtime importable and its hardware present.

    Targets whose device is ``CPU`` (rpi*, cpu, intel-cpu) run on any host that has the runtime.
    """
    rt = target.runtime
    spec = BACKENDS[rt.backend]
    label = spec.label
    module = installed_module(rt.backend)
    if module is None:
        modules = ", ".join(dict.fromkeys(m.split(".")[0] for m in spec.modules))
        return False, (f"no {label} runtime: expected one of {modules} to be importable; "
                       f"pip install 'edgevision[{spec.extra}]'")
    runtime = f"{label} available ({module})"
    if rt.delegate is Delegate.EDGETPU:
        library = find_edgetpu_library(root)
        if library is None:
            return False, (f"Edge TPU delegate library {edgetpu_library_name()} not found; install the Edge TPU "
                           f"runtime (libedgetpu1-std from Coral's apt repository)")
        runtime += f" with {library}"
    if target.detect.any_host:
        return True, f"{runtime}; runs on this host's CPU"
    present, why = check_detect(target.detect, root=root, openvino=_provider(openvino_devices))
    if present and rt.backend is BackendName.ONNXRUNTIME:
        return _check_providers(target, runtime, why)
    if present:
        return True, f"{runtime}; {target.name} detected ({why})"
    if rt.device.upper() == "CPU":
        article = "an" if target.name[:1].upper() in "AEIOU" else "a"
        return True, f"{runtime}; not {article} {target.name} ({why}): runs on this host's CPU"
    return False, f"{runtime}, but {target.name} not detected: {why}"


def _check_providers(target: Target, runtime: str, why: str) -> tuple[bool, str]:
    accelerators = [p for p in target.runtime.providers if p != "CPUExecutionProvider"]
    try:
        import onnxruntime

        available = set(onnxruntime.get_available_providers())
    except (ImportError, RuntimeError, OSError) as e:
        return False, f"{runtime}, but it failed to load: {e}"
    if accelerators and not available.intersection(accelerators):
        return False, (f"{target.name} detected ({why}), but ONNX Runtime has none of {', '.join(accelerators)} "
                       f"(has {', '.join(sorted(available))}); install the onnxruntime-gpu build for JetPack")
    return True, f"{runtime}; {target.name} detected ({why})"
