"""Which artifact of a bundle to run here, and the runtime options its target profile asks for.

``target="auto"`` prefers an artifact for a device recognised on this machine, in the
order of the profiles' ``preference`` (accelerators first); then one this host's CPU can
run: a profile for any host first, then CPU targets, GPU builds and NPU builds (the
catalogue's ``cpu_fallback_rank``), each by preference. The reason for the choice travels
with the model, so a fallback is never silent.

Example:
    >>> target_options("cpu")["backend"]
    'litert'
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .backends.base import default_threads
from .errors import EdgeVisionError, ManifestError
from .targets.catalogue import FORMATS, KINDS, installed_module


def _profile(target_id: str) -> Any:
    """The shipped profile of ``target_id``, or None when no profile has that id."""
    from edgevision.targets import load_target

    try:
        return load_target(target_id)
    except EdgeVisionError:
        return None


def preference_key(target_id: str) -> tuple[int, str]:
    """Sort key for ``target="auto"`` on a recognised device: the profile's ``preference`` (unknown ids last).

    >>> sorted(["cpu", "rpi5", "coral-usb"], key=preference_key)
    ['coral-usb', 'rpi5', 'cpu']
    """
    profile = _profile(target_id)
    rank = profile.preference if profile is not None and profile.preference is not None else 1 << 30
    return rank, target_id


def cpu_fallback_key(target_id: str) -> tuple[int, int, int, str]:
    """Sort key for running on this host's CPU: any-host profiles, then by kind (CPU, GPU, NPU), then preference.

    >>> sorted(["intel-npu", "jetson-orin", "rpi5", "cpu"], key=cpu_fallback_key)
    ['cpu', 'rpi5', 'jetson-orin', 'intel-npu']
    """
    profile = _profile(target_id)
    if profile is None:
        return 2, 0, 1 << 30, target_id
    kind_rank = KINDS[profile.kind].cpu_fallback_rank
    return (0 if profile.detect.any_host else 1, 1 << 30 if kind_rank is None else kind_rank,
            *preference_key(target_id))


def choose_artifact(manifest: Any, target: str | None, *, detected: Iterable[str] | None = None,
                    installed: Callable[[Any], str | None] = installed_module) -> tuple[str, str]:
    """(target id, reason) of the artifact to run.

    ``detected`` (the device ids this machine is) and ``installed`` (which runtime module
    is importable) stand in for the real machine in tests; by default they are probed.
    """
    available = sorted(manifest.artifacts, key=preference_key)
    if target not in ("auto", None):
        if target not in manifest.artifacts:
            raise ManifestError(f"expected an artifact for target {target!r} in the bundle, got only: {', '.join(available)}")
        return target, f"requested target {target}"
    if detected is None:
        from edgevision.targets import detect_device

        detected = detect_device()
    here = set(detected)

    def runnable(target_id: str) -> bool:
        return installed(FORMATS[manifest.artifacts[target_id].format].backend) is not None

    for target_id in available:
        if target_id in here and runnable(target_id):
            return target_id, f"auto: this machine is {target_id}"
    for target_id in sorted(available, key=cpu_fallback_key):
        fmt = manifest.artifacts[target_id].format
        if FORMATS[fmt].cpu and runnable(target_id):
            note = "no device of the bundle's targets recognised" if not here & set(available) else "device runtime missing"
            return target_id, f"auto: {note}; running the {target_id} artifact ({fmt}) on this host's CPU"
    raise ManifestError(
        f"expected an artifact this machine can run, got {', '.join(available)} "
        f"(install the runtime: pip install 'edgevision[litert]', '[openvino]' or '[onnx]')"
    )


def target_options(target_id: str, fmt: str | None = None) -> dict[str, Any]:
    """Backend options from a target profile: backend, device, threads, providers, delegate.

    A profile's thread count is capped at this host's cores (a Pi profile's 4 threads must
    not oversubscribe a 2-core host); 0 in a profile means one per core, left to the backend.
    A bundle artifact made for a profile of the user's own (no shipped profile has its id)
    runs on its format's runtime (``fmt``) with that runtime's defaults.
    """
    from edgevision.targets import load_target

    profile = _profile(target_id)
    if profile is None and fmt is not None:
        return {"backend": str(FORMATS[fmt].backend)}
    runtime = (profile or load_target(target_id)).to_dict()["runtime"]
    options: dict[str, Any] = {key: runtime[key] for key in ("backend", "device", "threads", "providers", "delegate")
                               if runtime.get(key) is not None}
    if options.get("threads"):
        options["threads"] = min(int(options["threads"]), default_threads())
    else:
        options.pop("threads", None)
    return options
