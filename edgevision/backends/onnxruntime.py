"""ONNX Runtime backend; execution providers from the target, the ones actually in use reported.

On a Jetson the profile asks for TensorRT, then CUDA, then CPU; ONNX Runtime
silently skips providers it lacks, so ``info()`` reports ``session.get_providers()``.

Example:
    >>> b = ONNXRuntimeBackend("model.onnx", threads=2)    # doctest: +SKIP
    >>> b.info()["providers"]                             # doctest: +SKIP
    ['CPUExecutionProvider']
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, ModelError, ModelFileError, UserInputError
from ..integrity import ModelBytes, as_model_bytes
from ..limits import check_tensor
from .base import Backend, TensorSpec, default_threads

CPU_PROVIDERS = ("CPUExecutionProvider",)
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")

_ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}


def _ort() -> Any:
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise BackendUnavailableError(
            "expected ONNX Runtime (pip install 'edgevision[onnx]', or NVIDIA's onnxruntime-gpu wheel on a "
            "Jetson), got no module named 'onnxruntime'"
        ) from None
    return onnxruntime


def wanted_providers(providers: Sequence[str] | None, device: str | None) -> list[str]:
    """The execution providers to ask for, in order: ``device`` CPU forces the CPU; GPU asks for TensorRT, CUDA.

    >>> wanted_providers(None, None), wanted_providers(GPU_PROVIDERS, "cpu")
    (['CPUExecutionProvider'], ['CPUExecutionProvider'])
    >>> wanted_providers(None, "GPU")[0]
    'TensorrtExecutionProvider'
    """
    chosen = (device or "").upper()
    if chosen not in ("", "CPU", "GPU"):
        raise UserInputError(f"expected an ONNX Runtime device CPU or GPU, got {device!r}")
    if chosen == "CPU":
        return list(CPU_PROVIDERS)
    return list(providers or (GPU_PROVIDERS if chosen == "GPU" else CPU_PROVIDERS))


def external_data_in_memory(options: Any, model: ModelBytes) -> None:
    """Give a session the checked bytes of every external data file the model names, so it opens none of them."""
    if model.external:
        names = list(model.external)
        buffers = [model.external[n] for n in names]
        options.add_external_initializers_from_files_in_memory(names, buffers, [len(b) for b in buffers])


def runtime_errors() -> tuple[type[BaseException], ...]:
    """What ONNX Runtime raises for a model it cannot load or run: its own exception types (none derive from
    RuntimeError), and the RuntimeError/ValueError of its Python layer."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    own = tuple(v for v in vars(state).values() if isinstance(v, type) and issubclass(v, Exception))
    return (*own, RuntimeError, ValueError)


class ONNXRuntimeBackend(Backend):
    name = "onnxruntime"
    suffixes = (".onnx",)
    fresh_outputs = True  # run allocates every output
    reads_bytes = True  # InferenceSession(bytes), external data in memory: the checked bytes, not the files again

    def __init__(
        self,
        path: str | Path | ModelBytes,
        *,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        device: str | None = None,
        input_size: tuple[int, int] | None = None,
    ) -> None:
        wanted = wanted_providers(providers, device)
        ort = _ort()
        model = self.model_bytes = as_model_bytes(path)
        self.path = model.path
        self.runtime_errors = runtime_errors()
        available = ort.get_available_providers()
        chosen = [p for p in wanted if p in available] or ["CPUExecutionProvider"]
        self.threads = int(threads) if threads else default_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 4  # fatal only: a failure is raised, and said once, as a ModelFileError
        external_data_in_memory(options, model)
        try:
            self._session = ort.InferenceSession(model.data, sess_options=options, providers=chosen)
            self.inputs = [self._spec(a, input_size) for a in self._session.get_inputs()]
            self.outputs = [self._spec(a, None) for a in self._session.get_outputs()]
        except self.runtime_errors as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ModelFileError(f"expected an ONNX model ONNX Runtime can load, got {self.path.name}: {first}") from None
        if len(self.inputs) != 1:
            raise ModelError(f"expected a model with one image input, got {len(self.inputs)} inputs")
        for i, spec in enumerate([*self.inputs, *self.outputs]):
            check_tensor(spec.name, spec.shape, image_input=i == 0, where=self.path.name)
        self.providers = self._session.get_providers()
        self.device = "GPU" if any(p in self.providers for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider")) else "CPU"
        self._buffer = np.zeros([max(d, 1) for d in self.inputs[0].shape], self.inputs[0].dtype)
        self._feed = {self.inputs[0].name: self._buffer}
        self._version = ort.__version__
        self._run = self._session.run

    @staticmethod
    def _spec(arg: Any, input_size: tuple[int, int] | None) -> TensorSpec:
        dims = [d if isinstance(d, int) and d > 0 else -1 for d in arg.shape]
        if input_size and len(dims) == 4 and any(d < 0 for d in dims[1:]):
            w, h = input_size
            dims = [1, h, w, dims[3]] if dims[3] in (1, 3) else [1, dims[1], h, w]
        elif dims and dims[0] < 0:
            dims[0] = 1
        dtype = _ONNX_DTYPES.get(arg.type)
        if dtype is None:
            raise ModelFileError(f"expected numeric tensors, got {arg.name} of type {arg.type}")
        return TensorSpec(arg.name, tuple(dims), np.dtype(dtype), None)

    def input_buffer(self) -> np.ndarray:
        return self._buffer

    def infer(self) -> list[np.ndarray]:
        return self._run(None, self._feed)

    def _run_ready(self, array: np.ndarray) -> list[np.ndarray]:
        return self._run(None, dict.fromkeys(self._feed, array))  # the one input, fed as it is

    def info(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "runtime": "onnxruntime",
            "version": self._version,
            "device": self.device,
            "threads": self.threads,
            "providers": list(self.providers),
        }
