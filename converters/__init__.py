"""The workstation converter stage: a source model in, one artifact per target out, fidelity measured.

Heavy dependencies (TensorFlow, NNCF, ONNX, OpenVINO) are imported inside the
functions that need them; ``import edgevision`` never pulls this package in.
Which converter builds which artifact format is the catalogue's ``FormatSpec.converter``.

Example:
    >>> from edgevision.converters import get_converter
    >>> type(get_converter("onnx")).__name__
    'ONNXConverter'
"""
from __future__ import annotations

from ..refs import resolve
from ..targets.catalogue import FORMATS, parse_format
from .base import SOURCE_KINDS, Calibration, Converter, ConvertJob, ConvertOptions, ConvertOutput, SourceModel


def get_converter(fmt: str) -> Converter:
    """The converter for one bundle artifact format (its module imported now; its heavy imports later)."""
    converter: Converter = resolve(FORMATS[parse_format(fmt)].converter)()
    return converter


__all__ = [
    "SOURCE_KINDS",
    "Calibration",
    "ConvertJob",
    "ConvertOptions",
    "ConvertOutput",
    "Converter",
    "SourceModel",
    "get_converter",
]
