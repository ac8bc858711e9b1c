"""edgevision: run vision models on edge devices, convert them for each device, and measure them.

``import edgevision`` loads the error types and nothing else: the public names below
(``load``, ``Model``, the result types) import their modules, and numpy, on first
use, and the runtimes are imported when a model needs them. A script that only
checks a version, or a CLI command that fails on its arguments, pays nothing more.

Example:
    >>> import edgevision
    >>> model = edgevision.load("bundle/")          # doctest: +SKIP
    >>> result = model.predict(rgb_image)            # doctest: +SKIP
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from .errors import (
    BackendUnavailableError,
    ConversionError,
    EdgeVisionError,
    ImageError,
    ManifestError,
    ModelError,
    ModelFileError,
    SourceError,
    TargetError,
    UserInputError,
)

if TYPE_CHECKING:  # what the lazy names below resolve to, for type checkers and IDEs
    from .instances import InstanceSegmentation
    from .loading import load
    from .model import Model
    from .poses import Poses
    from .results import Classification, Detections, Result, Segmentation

# public name -> the module that defines it, imported on first access (PEP 562)
_LAZY = {"load": ".loading", "Model": ".model", "Classification": ".results", "Detections": ".results",
         "Segmentation": ".results", "Result": ".results", "InstanceSegmentation": ".instances",
         "Poses": ".poses"}

__all__ = [
    "BackendUnavailableError",
    "Classification",
    "ConversionError",
    "Detections",
    "EdgeVisionError",
    "ImageError",
    "InstanceSegmentation",
    "ManifestError",
    "Model",
    "ModelError",
    "ModelFileError",
    "Poses",
    "Result",
    "Segmentation",
    "SourceError",
    "TargetError",
    "UserInputError",
    "__version__",
    "load",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'edgevision' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next access is a plain attribute look-up
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
