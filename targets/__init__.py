"""Device target profiles: one TOML file per device, loaded and validated on load.

A profile is plain data (``targets/<id>.toml``, or the user's own file). Every table and key
(``?`` = optional); an unknown key is an error that names the valid ones::

    id = "rpi5"                       # lowercase letters, digits, dashes
    name = "Raspberry Pi 5"
    notes? = "BCM2712, Cortex-A76 x4 @ 2.4 GHz; LiteRT with XNNPACK"
    preference? = 7                   # >= 0; lower first when a bundle has artifacts for several targets
                                      # this machine could run (unset: after every profile that sets it)

    [artifact]
    format = "tflite"                 # tflite | edgetpu-tflite | openvino-ir | onnx
    precision = "int8"                # the default; one of `precisions`
    precisions = ["fp32", "fp16", "int8"]     # fp32 | fp16 | dynamic | int8; edgetpu-tflite: ["int8"] only;
                                      # dynamic (int8 weights, float activations): tflite only

    [runtime]
    backend = "litert"                # litert | openvino | onnxruntime (must read `format`)
    device = "CPU"                    # OpenVINO device (CPU/GPU/NPU); libedgetpu device (usb/pci); GPU for ORT
    threads = 4                       # CPU threads to pass; 0 = one per core of the host
    providers? = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
                                      # ORT providers in order; required exactly for onnxruntime
    delegate? = "edgetpu"             # litert only; required exactly for edgetpu-tflite

    [shape]
    static = true                     # the artifact has fixed input shapes
    batch = 1
    max_rank = 6                      # max rank once leading 1s are dropped (Edge TPU: 3); 0 = no limit

    [compiler]                        # optional; unset keys = the tool's default
    edgetpu_compiler_args? = ["--min_runtime_version", "14"]
    compress_to_fp16? = true          # OpenVINO IR weights stored as fp16
    nncf_target_device? = "NPU"       # ANY | CPU | GPU | NPU | CPU_SPR

    [detect]                          # optional; every criterion given must hold (none: never detected)
    any_host? = true                  # matches any machine (the "cpu" target)
    model? = ["Raspberry Pi 5"]       # substrings of the device-tree model
    l4t_release? = ["R32"]            # first word of /etc/nv_tegra_release
    usb_ids? = ["1a6e:089a"]          # USB vendor:product present
    pci_ids? = ["1ac1:089a"]          # PCI vendor:device present
    dev_nodes? = ["/dev/apex_0"]      # device nodes present
    cpu_vendor? = ["GenuineIntel"]    # /proc/cpuinfo vendor_id
    openvino_device? = ["NPU"]        # in openvino.Core().available_devices

Example:
    >>> from edgevision.targets import load_target
    >>> t = load_target("rpi5")
    >>> (t.artifact.format.value, t.runtime.backend.value, t.runtime.threads)
    ('tflite', 'litert', 4)
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from edgevision.errors import TargetError
from edgevision.integrity import read_file
from edgevision.limits import MAX_PROFILE_BYTES
from edgevision.targets.catalogue import ArtifactFormat, BackendName, Delegate, Precision, TargetKind
from edgevision.targets.profile import Artifact, Compiler, Detect, Runtime, Shape, Target
from edgevision.targets.schema import parse_profile, read_toml

__all__ = [
    "TARGET_IDS",
    "Artifact",
    "ArtifactFormat",
    "BackendName",
    "Compiler",
    "Delegate",
    "Detect",
    "Precision",
    "Runtime",
    "Shape",
    "Target",
    "TargetKind",
    "detect_device",
    "list_targets",
    "load_target",
]

# The shipped profiles are the .toml files of this package: adding a file adds a target.
TARGET_IDS: tuple[str, ...] = tuple(sorted(
    entry.name[: -len(".toml")] for entry in resources.files(__name__).iterdir() if entry.name.endswith(".toml")))


def load_target(id_or_path: str | os.PathLike[str]) -> Target:
    """Load a shipped profile by id, or the user's own profile from a ``.toml`` path.

    >>> load_target("coral-usb").artifact.precisions
    (<Precision.INT8: 'int8'>,)
    >>> load_target("rpi6")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    edgevision.errors.TargetError: expected a target id among coral-devboard, ..., rpi5 or a path to a .toml profile, got 'rpi6'
    """
    if isinstance(id_or_path, str) and id_or_path in TARGET_IDS:
        return _load_shipped(id_or_path)
    if not isinstance(id_or_path, (str, os.PathLike)):
        raise TargetError(f"expected a target id or a path to a .toml profile, "
                          f"got {id_or_path!r} ({type(id_or_path).__name__})")
    path = Path(id_or_path)
    if isinstance(id_or_path, os.PathLike) or path.suffix == ".toml" or len(path.parts) > 1:
        if not path.exists():
            raise TargetError(f"expected a target profile file, got {str(path)!r} (no such file)")
        raw = read_file(path.parent, path.name, limit=MAX_PROFILE_BYTES, what="target profile", error=TargetError,
                        follow=True)  # a regular file within the limit: a FIFO is refused, not waited on
        return parse_profile(read_toml(raw, str(path)), str(path), path)
    raise TargetError(f"expected a target id among {', '.join(TARGET_IDS)} or a path to a .toml profile, "
                      f"got {id_or_path!r}")


def list_targets() -> list[Target]:
    """Every shipped profile, sorted by id.

    >>> [t.id for t in list_targets()][:3]
    ['coral-devboard', 'coral-pcie', 'coral-usb']
    """
    return [_load_shipped(target_id) for target_id in TARGET_IDS]


def detect_device(root: Path = Path("/"), *, openvino_devices: Iterable[str] | None = None) -> list[str]:
    """Ids of the shipped targets whose ``[detect]`` criteria this machine meets, sorted.

    Probes lazily and never raises; ``root`` (a fake filesystem root) and ``openvino_devices``
    (instead of asking OpenVINO) let tests stand in for a device.

    >>> detect_device()  # doctest: +SKIP
    ['cpu', 'rpi5']
    """
    from edgevision.targets.detect import detect_device as _detect_device

    return _detect_device(root, openvino_devices=openvino_devices)


@functools.cache
def _load_shipped(target_id: str) -> Target:
    ref = resources.files(__name__).joinpath(f"{target_id}.toml")
    source = f"{target_id}.toml"
    target = parse_profile(read_toml(ref.read_bytes(), source), source, Path(str(ref)))
    if target.id != target_id:
        raise TargetError(f"expected id = {target_id!r} in {source}, got {target.id!r}")
    return target
