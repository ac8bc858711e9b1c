"""Inference runtimes behind one interface, found through the catalogue, imported only when a model needs them.

Example:
    >>> from edgevision.backends import backend_for
    >>> backend_for("model.onnx")
    'onnxruntime'
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ..errors import ModelFileError, UserInputError
from ..integrity import ModelBytes, private_copy, read_model_file
from ..limits import check_threads
from ..refs import resolve
from ..targets.catalogue import BACKENDS, backend_of, parse_backend
from .base import Backend, TensorSpec, default_threads


def backend_for(path: str | Path) -> str:
    """The default backend for a model file, from its suffix."""
    return str(backend_of(path))


def get_backend(name: str) -> type[Backend]:
    """The Backend class registered under ``name`` in the catalogue (its module imported now)."""
    backend: type[Backend] = resolve(BACKENDS[parse_backend(name)].implementation)
    return backend


def backend_options(cls: type[Backend]) -> tuple[str, ...]:
    """The keyword options a Backend class takes (its constructor's keyword-only parameters).

    >>> from edgevision.backends.onnxruntime import ONNXRuntimeBackend
    >>> backend_options(ONNXRuntimeBackend)
    ('threads', 'providers', 'device', 'input_size')
    """
    return tuple(p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY)


def open_backend(path: str | Path | ModelBytes, *, backend: str | None = None, **options: Any) -> Backend:
    """Open ``path`` with ``backend`` (default: by suffix). Options: threads, device, and backend-specific ones.

    An option the backend does not take is an error that names the ones it does, never dropped.
    ``path`` may be checked bytes (``edgevision.integrity.ModelBytes``, from a bundle); a path is
    read once here, with the side files its format names, and the runtime gets those bytes
    (or, for a backend that opens paths only, a private copy of them).
    """
    model = path if isinstance(path, ModelBytes) else None
    path = Path(path)
    name = parse_backend(backend) if backend else backend_of(path)
    spec = BACKENDS[name]
    if path.suffix.lower() not in spec.suffixes:
        raise UserInputError(f"expected a file that {name} reads ({', '.join(spec.suffixes)}), got {path.name!r}")
    if model is None and not path.exists():
        raise ModelFileError(f"expected a model file, got missing path {str(path)!r}")
    cls = get_backend(name)
    valid = backend_options(cls)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UserInputError(f"unknown option {unknown[0]!r} for the {name} backend; "
                             f"valid options: {', '.join(valid)}")
    if "threads" in options:
        options["threads"] = check_threads(options["threads"])
    model = model or read_model_file(path)
    if cls.reads_bytes:
        return cls(model, **options)  # type: ignore[call-arg]  # every Backend takes (path, **options)
    copy = private_copy(model, owner=model)  # the backend opens the copy; it lives as long as the backend
    opened: Backend = cls(copy, **options)  # type: ignore[call-arg]
    opened.model_bytes = model
    return opened


__all__ = [
    "Backend",
    "TensorSpec",
    "backend_for",
    "backend_options",
    "default_threads",
    "get_backend",
    "open_backend",
]
