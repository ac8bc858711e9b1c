"""edgevision: run vision models on edge devices, convert them for each device, and measure them.

Importing edgevision pulls in numpy and nothing heavier; runtimes are imported
when a model needs them.

Example:
    >>> import edgevision
    >>> model = edgevision.load("bundle/")          # doctest: +SKIP
    >>> result = model.predict(rgb_image)            # doctest: +SKIP
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import (BackendUnavailableError, ConversionError, EdgeVisionError, ImageError, ManifestError,
                     ModelError, ModelFileError, SourceError, TargetError, UserInputError)
from .model import Model, load
from .results import Classification, Detections, Result, Segmentation

__all__ = [
    "load", "Model", "Classification", "Detections", "Segmentation", "Result",
    "EdgeVisionError", "UserInputError", "ModelFileError", "ManifestError", "ImageError", "SourceError",
    "TargetError", "ModelError", "BackendUnavailableError", "ConversionError", "__version__",
]
