"""Inference runtimes behind one interface, imported only when a model needs them.

Example:
    >>> from edgevision.backends import backend_for
    >>> backend_for("model.onnx")
    'onnxruntime'
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Optional

from ..errors import ModelFileError, UserInputError
from .base import Backend, TensorSpec, default_threads

# name -> "module:Class"; the module (and its runtime) is imported on first use.
BACKENDS: dict[str, str] = {
    "litert": "edgevision.backends.litert:LiteRTBackend",
    "openvino": "edgevision.backends.openvino:OpenVINOBackend",
    "onnxruntime": "edgevision.backends.onnxruntime:ONNXRuntimeBackend",
}

# Which runtime runs a file by default, and which others can read it.
DEFAULT_BACKEND: dict[str, str] = {".tflite": "litert", ".xml": "openvino", ".onnx": "onnxruntime"}
READS: dict[str, tuple[str, ...]] = {
    "litert": (".tflite",),
    "openvino": (".xml", ".onnx", ".tflite"),
    "onnxruntime": (".onnx",),
}


def backend_for(path: "str | Path") -> str:
    """The default backend for a model file, from its suffix."""
    suffix = Path(path).suffix.lower()
    try:
        return DEFAULT_BACKEND[suffix]
    except KeyError:
        raise ModelFileError(
            f"expected a model file ending in {', '.join(DEFAULT_BACKEND)} or a bundle directory, got {str(path)!r}"
        ) from None


def get_backend(name: str) -> type[Backend]:
    """The Backend class registered under ``name``."""
    try:
        target = BACKENDS[name]
    except KeyError:
        raise UserInputError(f"expected a backend among {', '.join(BACKENDS)}, got {name!r}") from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def open_backend(path: "str | Path", *, backend: Optional[str] = None, **options: Any) -> Backend:
    """Open ``path`` with ``backend`` (default: by suffix). Options: threads, device, and backend-specific ones."""
    path = Path(path)
    name = backend or backend_for(path)
    if path.suffix.lower() not in READS.get(name, ()):
        raise UserInputError(
            f"expected a file that {name} reads ({', '.join(READS.get(name, ()))}), got {path.name!r}"
        )
    if not path.is_file():
        raise ModelFileError(f"expected a model file, got missing path {str(path)!r}")
    return get_backend(name)(path, **options)


__all__ = ["Backend", "TensorSpec", "BACKENDS", "backend_for", "get_backend", "open_backend", "default_threads"]
