"""The typed shape of a target profile: closed choices as enums, one frozen dataclass per TOML table.

Example:
    >>> from edgevision.targets import load_target
    >>> t = load_target("coral-usb")
    >>> t.runtime.delegate, t.shape.max_rank
    (<Delegate.EDGETPU: 'edgetpu'>, 3)
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from edgevision.targets.catalogue import ArtifactFormat, BackendName, Delegate, Precision, TargetKind, kind_of


@dataclass(frozen=True)
class Artifact:
    """``[artifact]``: what the converter produces for this target."""

    format: ArtifactFormat
    precision: Precision
    precisions: tuple[Precision, ...]


@dataclass(frozen=True)
class Runtime:
    """``[runtime]``: how the device runs the artifact."""

    backend: BackendName
    device: str
    threads: int
    providers: tuple[str, ...] = ()
    delegate: Delegate | None = None

    def resolved_threads(self) -> int:
        """Threads to pass to the runtime: ``threads``, or one per core of this host when it is 0.

        >>> Runtime(BackendName.LITERT, "CPU", 4).resolved_threads()
        4
        """
        return self.threads or os.cpu_count() or 1


@dataclass(frozen=True)
class Shape:
    """``[shape]``: constraints the artifact's tensors must meet."""

    static: bool
    batch: int
    max_rank: int


@dataclass(frozen=True)
class Compiler:
    """``[compiler]``: settings for the tool that builds the artifact (unset = the tool's default)."""

    edgetpu_compiler_args: tuple[str, ...] = ()
    compress_to_fp16: bool | None = None
    nncf_target_device: str | None = None


@dataclass(frozen=True)
class Detect:
    """``[detect]``: how to recognise the device; every criterion given must hold."""

    any_host: bool = False
    model: tuple[str, ...] = ()
    l4t_release: tuple[str, ...] = ()
    usb_ids: tuple[str, ...] = ()
    pci_ids: tuple[str, ...] = ()
    dev_nodes: tuple[str, ...] = ()
    cpu_vendor: tuple[str, ...] = ()
    openvino_device: tuple[str, ...] = ()


TABLES: dict[str, type] = {"artifact": Artifact, "runtime": Runtime, "shape": Shape, "compiler": Compiler,
                           "detect": Detect}


@dataclass(frozen=True)
class Target:
    """One device profile, as validated data. ``path`` is the file it was read from."""

    id: str
    name: str
    notes: str
    artifact: Artifact
    runtime: Runtime
    shape: Shape
    compiler: Compiler = Compiler()
    detect: Detect = Detect()
    path: Path | None = None
    preference: int | None = None  # lower first when several artifacts of a bundle could run here

    @property
    def kind(self) -> TargetKind:
        """What does the work: the Edge TPU, an NPU, a GPU or the CPU (from the runtime section).

        >>> from edgevision.targets import load_target
        >>> load_target("coral-usb").kind.value, load_target("jetson-orin").kind.value
        ('edgetpu', 'gpu')
        """
        return kind_of(self.runtime.backend, self.runtime.device, self.runtime.delegate)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: Path | None = None, source: str = "<dict>") -> Target:
        """Validate TOML-shaped data (what ``to_dict`` returns) into a Target.

        >>> from edgevision.targets import load_target
        >>> t = load_target("cpu")
        >>> Target.from_dict(t.to_dict(), path=t.path) == t
        True
        """
        from edgevision.targets.schema import parse_profile

        return parse_profile(data, source, path)

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the TOML's shape (enums as strings, lists, no ``path``), to print or diff.

        >>> from edgevision.targets import load_target
        >>> load_target("rpi5").to_dict()["runtime"]
        {'backend': 'litert', 'device': 'CPU', 'threads': 4}
        """
        out: dict[str, Any] = {"id": self.id, "name": self.name, "notes": self.notes}
        if self.preference is not None:
            out["preference"] = self.preference
        return out | {table: _table_dict(getattr(self, table)) for table in TABLES}

    def can_run_here(self, *, root: Path = Path("/"),
                     openvino_devices: Iterable[str] | None = None) -> tuple[bool, str]:
        """Whether this machine has the runtime and the hardware, with a one-line reason.

        ``root`` and ``openvino_devices`` stand in for the real machine in tests.

        >>> from edgevision.targets import load_target
        >>> load_target("cpu").can_run_here()  # doctest: +SKIP
        (True, "LiteRT available (ai_edge_litert); runs on this host's CPU")
        """
        from edgevision.targets.detect import check_target

        return check_target(self, root=root, openvino_devices=openvino_devices)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _table_dict(obj: Any) -> dict[str, Any]:
    # Leave out optional keys still at their default, so the dict reads like the TOML.
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if f.default is dataclasses.MISSING or getattr(obj, f.name) != f.default}
