"""How a bench runs: warm-up, runs or duration, where frames come from, what else it measures.

Example:
    >>> config = BenchConfig(warmup=5, runs=50, overlap=True)
    >>> BenchConfig.from_dict(config.to_dict()) == config
    True
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Any

from ..errors import UserInputError
from ..limits import check_frame_size


class InputKind(str, Enum):
    """Where the bench's frames come from."""

    RANDOM = "random"
    FRAMES = "frames"


@dataclass(frozen=True)
class BenchConfig:
    """How long and on what to bench. ``runs`` and ``duration`` given together: stop when both are met.

    >>> BenchConfig(runs=0)
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected a positive number of runs, got 0
    """

    warmup: int = 10
    runs: int | None = 100
    duration: float | None = None  # seconds: a minimum duration of the timed loop
    source: str | None = None  # image, directory of images or video; None: random frames
    frame_size: tuple[int, int] = (640, 480)  # (w, h) of random frames, a VGA camera's
    seed: int = 0
    sample_device: bool = True
    device_interval: float = 0.5
    sysfs_root: Path = Path("/")
    vcgencmd: str | None = "auto"
    compare_rounds: int = 0  # > 0: alternate the engine's own tool with the infer-only phase this many times
    overlap: bool = False  # also run the frames through an overlapped stream (edgevision run --overlap)
    profile: bool = False  # also time every layer with the runtime's profiler (bench.profile)

    def __post_init__(self) -> None:
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise UserInputError(f"expected a non-negative number of warm-up runs, got {self.warmup!r}")
        if self.runs is not None and (isinstance(self.runs, bool) or not isinstance(self.runs, int) or self.runs <= 0):
            raise UserInputError(f"expected a positive number of runs, got {self.runs!r}")
        if self.duration is not None and not self.duration > 0:
            raise UserInputError(f"expected a positive duration in seconds, got {self.duration!r}")
        if self.runs is None and self.duration is None:
            raise UserInputError("expected a number of runs or a duration, got neither")
        check_frame_size(self.frame_size, "frame size (w, h)")
        if isinstance(self.compare_rounds, bool) or not isinstance(self.compare_rounds, int) or self.compare_rounds < 0:
            raise UserInputError(f"expected a non-negative number of compare rounds, got {self.compare_rounds!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sysfs_root"], d["frame_size"] = str(self.sysfs_root), list(self.frame_size)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchConfig:
        """The config a report's ``config`` section describes (keys this version does not know are ignored)."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "frame_size" in kwargs:
            kwargs["frame_size"] = tuple(kwargs["frame_size"])
        if "sysfs_root" in kwargs:
            kwargs["sysfs_root"] = Path(kwargs["sysfs_root"])
        return cls(**kwargs)


DEFAULT_CONFIG = BenchConfig()  # frozen: one shared default for every bench call
