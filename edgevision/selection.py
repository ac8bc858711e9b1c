"""Which artifact of a bundle to run here, and the runtime options its target profile asks for.

``target="auto"`` prefers an artifact for a device recognised on this machine
(accelerators first), then one this host's CPU can run. The reason for the
choice travels with the model, so a fallback is never silent.

Example:
    >>> target_options("cpu", "model.tflite")["backend"]      # doctest: +SKIP
    'litert'
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from .backends.base import default_threads
from .errors import ManifestError

# Preference when several artifacts could run: dedicated accelerators, then CPUs.
PREFERENCE = ("coral-usb", "coral-pcie", "coral-devboard", "intel-npu", "jetson-orin", "jetson-nano",
              "intel-gpu", "rpi5", "rpi4", "intel-cpu", "cpu")
# When no recognised device has an artifact: artifacts made for CPUs first, then the others.
CPU_FALLBACK = ("cpu", "rpi5", "rpi4", "intel-cpu", "jetson-orin", "jetson-nano", "intel-gpu", "intel-npu")

# Runtime module per backend, to tell whether this host could run a format at all.
RUNTIME_MODULES = {"litert": ("ai_edge_litert", "tflite_runtime", "tensorflow"), "openvino": ("openvino",),
                   "onnxruntime": ("onnxruntime",)}
FORMAT_BACKEND = {"tflite": "litert", "edgetpu-tflite": "litert", "openvino-ir": "openvino", "onnx": "onnxruntime"}
CPU_FORMATS = ("tflite", "openvino-ir", "onnx")  # formats any CPU can run (not edgetpu-tflite)


def _runtime_installed(backend: str) -> bool:
    return any(importlib.util.find_spec(m) is not None for m in RUNTIME_MODULES.get(backend, ()))


def _rank(target_id: str, order: tuple = PREFERENCE) -> int:
    return order.index(target_id) if target_id in order else len(order)


def choose_artifact(manifest: Any, target: str) -> tuple[str, str]:
    """(target id, reason) of the artifact to run."""
    available = sorted(manifest.artifacts, key=_rank)
    if target not in ("auto", None):
        if target not in manifest.artifacts:
            raise ManifestError(f"expected an artifact for target {target!r} in the bundle, got only: {', '.join(available)}")
        return target, f"requested target {target}"
    from edgevision.targets import detect_device

    detected = set(detect_device())
    for target_id in available:
        if target_id in detected and _runtime_installed(FORMAT_BACKEND[manifest.artifacts[target_id].format]):
            return target_id, f"auto: this machine is {target_id}"
    for target_id in sorted(available, key=lambda t: _rank(t, CPU_FALLBACK)):
        fmt = manifest.artifacts[target_id].format
        if fmt in CPU_FORMATS and _runtime_installed(FORMAT_BACKEND[fmt]):
            note = "no device of the bundle's targets recognised" if not detected & set(available) else "device runtime missing"
            return target_id, f"auto: {note}; running the {target_id} artifact ({fmt}) on this host's CPU"
    raise ManifestError(
        f"expected an artifact this machine can run, got {', '.join(available)} "
        f"(install the runtime: pip install 'edgevision[litert]', '[openvino]' or '[onnx]')"
    )


def target_options(target_id: str, path: "str | Path") -> dict[str, Any]:
    """Backend options from a target profile: backend, device, threads, providers, delegate."""
    from edgevision.targets import load_target

    profile = load_target(target_id).to_dict()
    runtime = dict(profile.get("runtime", {}))
    options: dict[str, Any] = {"backend": runtime.get("backend")}
    for key in ("device", "threads", "providers", "delegate", "cache_dir"):
        if runtime.get(key) is not None:
            options[key] = runtime[key]
    if options.get("threads"):  # a Pi profile's 4 threads must not oversubscribe a 2-core host
        options["threads"] = min(int(options["threads"]), default_threads())
    else:  # 0 in a profile: one thread per core of the host
        options.pop("threads", None)
    return options
