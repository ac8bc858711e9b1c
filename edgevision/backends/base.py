"""The one small interface every inference runtime sits behind.

A backend opens one artifact, describes its tensors, owns a reusable input
buffer that preprocessing writes into, and runs inference on it. Timing stays
with the caller, as in pycoral's adapters.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: name, shape (-1 for a dynamic dim), dtype, per-tensor quantisation."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quant: tuple[float, int] | None = None  # (scale, zero_point) or None for float tensors

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": np.dtype(self.dtype).name}
        if self.quant is not None:
            d["quantization"] = {"scale": self.quant[0], "zero_point": self.quant[1]}
        return d


def default_threads() -> int:
    """All cores this process may use (respects CPU affinity, e.g. taskset / cgroups)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class Backend(ABC):
    """Load an artifact, expose its tensors, run it.

    ``input_buffer()`` is written in place by preprocessing; ``infer()`` runs the
    model on it and returns the outputs (valid until the next ``infer()``).
    """

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    # True when every infer() returns new arrays; False when the next infer() may overwrite them
    # (an overlapped stream then copies them before the next frame runs).
    fresh_outputs: ClassVar[bool] = False
    # True when the constructor takes ``edgevision.integrity.ModelBytes`` (the checked bytes) for ``path``;
    # a backend that opens paths only gets a private copy written from those bytes.
    reads_bytes: ClassVar[bool] = False
    # What the runtime raises when a model fails to run: turned into one ModelFileError naming the file.
    runtime_errors: tuple[type[BaseException], ...] = (RuntimeError,)

    path: Path
    model_bytes: Any  # edgevision.integrity.ModelBytes: the checked bytes it runs (a profiler reads these, not path)
    device: str
    threads: int | None
    inputs: Sequence[TensorSpec]
    outputs: Sequence[TensorSpec]

    @abstractmethod
    def input_buffer(self) -> np.ndarray:
        """The array preprocessing writes the (single) input into."""

    @abstractmethod
    def infer(self) -> list[np.ndarray]:
        """Run the model on the input buffer."""

    def run(self, array: np.ndarray) -> list[np.ndarray]:
        """Run ``array`` as the input: for raw tensors, tests and the overlapped stream's own tensors.

        An array of the input's dtype and shape goes to ``_run_ready``; any other is cast into
        the input buffer (``same_kind``) first.
        """
        buffer = self.input_buffer()
        if isinstance(array, np.ndarray) and array.dtype == buffer.dtype and array.shape == buffer.shape:
            return self._run_ready(array)
        np.copyto(buffer, array, casting="same_kind")
        return self.infer()

    def _run_ready(self, array: np.ndarray) -> list[np.ndarray]:
        """Run an array of the input's dtype and shape; engines that can take it without the copy override this."""
        np.copyto(self.input_buffer(), array)
        return self.infer()

    @abstractmethod
    def info(self) -> dict[str, Any]:
        """What actually runs: backend, runtime version, device, threads, providers/delegates."""

    def output_offsets(self) -> dict[int, np.ndarray]:
        """{output index: constant} the artifact leaves for the runtime to add after dequantising (see
        ``edgevision.offsets``); none for most artifacts."""
        return {}
