"""LiteRT (TFLite) backend: ai_edge_litert, else tflite_runtime, else tf.lite; Edge TPU through its delegate.

The file's flatbuffer is verified in pure Python first: LiteRT can abort the
process on a malformed one, and a user's bad file must be an error, not a crash.

Example:
    >>> b = LiteRTBackend("model.tflite", threads=4)        # doctest: +SKIP
    >>> b.input_buffer()[...] = 0; outputs = b.infer()       # doctest: +SKIP
"""
from __future__ import annotations

import importlib
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailableError, ModelError, ModelFileError, UserInputError
from ..formats.tflite import read_tflite
from ..integrity import ModelBytes, as_model_bytes
from ..limits import check_tensor
from ..targets.catalogue import BACKENDS, EDGETPU_CUSTOM_OP, EDGETPU_LIBRARIES, BackendName
from .base import Backend, TensorSpec, default_threads

# libedgetpu's "device" option (usb, usb:N, pci, pci:N), or "edgetpu"/"auto" for whichever is there.
_EDGETPU_DEVICE = re.compile(r"(usb|pci)(:\d+)?|edgetpu|auto", re.IGNORECASE)


def interpreter_module() -> Any:
    """The first importable module with a TFLite ``Interpreter`` (the catalogue's LiteRT modules, best first)."""
    modules = BACKENDS[BackendName.LITERT].modules
    for name in modules:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise BackendUnavailableError(
        "expected a LiteRT runtime (pip install 'edgevision[litert]' for ai-edge-litert), got none of "
        + ", ".join(m.split(".")[0] for m in modules)
    )


def check_device(device: str | None) -> bool:
    """Whether ``device`` asks for the Edge TPU; UserInputError for a device LiteRT has not got.

    >>> check_device(None), check_device("CPU"), check_device("usb:0")
    (False, False, True)
    """
    if device is None or device.upper() == "CPU":
        return False
    if _EDGETPU_DEVICE.fullmatch(device):
        return True
    raise UserInputError(f"expected a LiteRT device: CPU, or an Edge TPU (usb, usb:N, pci, pci:N, edgetpu), "
                         f"got {device!r}")


def load_edgetpu_delegate(module: Any, device: str | None = None) -> Any:
    """The Edge TPU delegate; ``device`` is e.g. ``usb``, ``usb:0`` or ``pci:0``."""
    library = EDGETPU_LIBRARIES.get(platform.system(), EDGETPU_LIBRARIES["Linux"])
    options = {"device": device} if device and device.lower() not in ("edgetpu", "auto") else {}
    loader = getattr(module, "load_delegate", None) or module.experimental.load_delegate  # tf.lite keeps it there
    try:
        # LiteRT's Delegate sets its library attribute only once the library has loaded, and its
        # __del__ reads it: a library that does not load leaves "Exception ignored in Delegate.__del__"
        # on stderr. Load it first the way Delegate does, so a missing library never reaches Delegate.
        library_loads(library)
        return loader(library, options)
    except (ValueError, OSError) as e:
        raise BackendUnavailableError(
            f"expected the Edge TPU runtime library {library} and a connected Edge TPU "
            f"(install libedgetpu1-std from the Coral apt repository), got: {e}"
        ) from None


def library_loads(library: str) -> None:
    """Load a delegate's shared library as LiteRT's ``Delegate`` does (``ctypes.pydll``); OSError when it cannot."""
    import ctypes

    ctypes.pydll.LoadLibrary(library)


class LiteRTBackend(Backend):
    name = "litert"
    suffixes = (".tflite",)
    fresh_outputs = True  # get_tensor copies every output
    reads_bytes = True  # Interpreter(model_content=...): the checked bytes, not the file again
    runtime_errors = (RuntimeError, ValueError)

    def __init__(
        self,
        path: str | Path | ModelBytes,
        *,
        threads: int | None = None,
        device: str | None = None,
        delegate: str | None = None,
        input_size: tuple[int, int] | None = None,
    ) -> None:
        if delegate not in (None, "edgetpu"):
            raise UserInputError(f"expected LiteRT delegate 'edgetpu' or none, got {delegate!r}")
        tpu_device = check_device(device)
        model = as_model_bytes(path)
        self.path = model.path
        self.graph = read_tflite(model.data, name=model.name)  # raises ModelFileError before LiteRT sees the bytes
        for i, tensor in enumerate(self.graph.inputs + self.graph.outputs):
            check_tensor(tensor.name, tensor.shape_signature or tensor.shape, image_input=i == 0, where=model.name)
        op_names = {op.name for op in self.graph.operator_codes}
        compiled = EDGETPU_CUSTOM_OP in op_names
        on_cpu = device is not None and device.upper() == "CPU"  # asked for: wins over a profile's delegate
        if compiled and on_cpu:
            raise UserInputError(f"expected an Edge TPU for {model.name}, which is compiled for it "
                                 f"({EDGETPU_CUSTOM_OP}), got device CPU: run the int8 .tflite it was compiled "
                                 "from (a bundle ships it beside it) on the CPU")
        wants_tpu = compiled or (not on_cpu and (delegate == "edgetpu" or tpu_device))
        module = interpreter_module()
        self._module_name = module.__name__.split(".")[0]
        self.threads = int(threads) if threads else default_threads()
        delegates = [load_edgetpu_delegate(module, device)] if wants_tpu else []
        self.device = "edgetpu" if wants_tpu else "CPU"
        self.model_bytes = model  # the checked bytes the interpreter runs: kept alive as long as it is
        try:
            self._interp = module.Interpreter(
                model_content=model.data, num_threads=self.threads, experimental_delegates=delegates or None
            )
            self._resize_dynamic(input_size)
            self._interp.allocate_tensors()
            inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
            self.inputs = [self._spec(d) for d in inputs]
            self.outputs = [self._spec(d) for d in outputs]
        except (ValueError, RuntimeError) as e:  # UnicodeDecodeError (a tensor name) is a ValueError
            raise ModelFileError(f"expected a TFLite model LiteRT can run, got {self.path.name}: "
                                 f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}") from None
        if len(self.inputs) != 1:
            raise ModelError(f"expected a model with one image input, got {len(self.inputs)} inputs")
        self._in_index = inputs[0]["index"]
        self._out_indices = [d["index"] for d in outputs]
        self._buffer = np.zeros(self.inputs[0].shape, self.inputs[0].dtype)
        self._set, self._invoke, self._get = self._interp.set_tensor, self._interp.invoke, self._interp.get_tensor

    def _resize_dynamic(self, input_size: tuple[int, int] | None) -> None:
        """Fix a dynamic batch to 1 and dynamic height/width to ``input_size`` (w, h)."""
        detail = self._interp.get_input_details()[0]
        signature = list(detail.get("shape_signature", detail["shape"]))
        if all(d > 0 for d in signature):
            return
        shape = [1 if d < 0 else int(d) for d in signature]
        if len(shape) == 4 and (signature[1] < 0 or signature[2] < 0):
            if not input_size:
                raise ModelFileError(f"expected a static input shape, got the dynamic input {signature}: pass the size to run "
                                     f"it at, --size WxH (size=(w, h) in Python)")
            shape[1], shape[2] = input_size[1], input_size[0]
        self._interp.resize_tensor_input(detail["index"], shape, strict=False)

    @staticmethod
    def _spec(detail: dict) -> TensorSpec:
        scale, zero_point = detail.get("quantization", (0.0, 0))
        quant = (float(scale), int(zero_point)) if scale else None
        return TensorSpec(detail["name"], tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]), quant)

    def input_buffer(self) -> np.ndarray:
        return self._buffer

    def infer(self) -> list[np.ndarray]:
        self._set(self._in_index, self._buffer)
        self._invoke()
        return [self._get(i) for i in self._out_indices]

    def _run_ready(self, array: np.ndarray) -> list[np.ndarray]:
        self._set(self._in_index, array)  # set_tensor copies: no stop in the input buffer on the way
        self._invoke()
        return [self._get(i) for i in self._out_indices]

    def output_offsets(self) -> dict[int, np.ndarray]:
        from ..formats.tflite import metadata_entry
        from ..offsets import METADATA_NAME, decode_offsets

        if METADATA_NAME not in self.graph.metadata:  # read_tflite listed the entries already: most have none
            return {}
        blob = metadata_entry(self.model_bytes.data, METADATA_NAME)
        return {} if blob is None else decode_offsets(blob, self.outputs, self.path.name)

    def info(self) -> dict[str, Any]:
        module = importlib.import_module(self._module_name)
        return {
            "backend": self.name,
            "runtime": self._module_name,
            "version": getattr(module, "__version__", "unknown"),
            "device": self.device,
            "threads": self.threads,
            "delegates": ["edgetpu"] if self.device == "edgetpu" else [],
        }
