"""The workstation converter stage: a source model in, one artifact per target out, fidelity measured.

Heavy dependencies (TensorFlow, NNCF, ONNX, OpenVINO) are imported inside the
functions that need them; ``import edgevision`` never pulls this package in.

Example:
    >>> from edgevision.converters import get_converter, CONVERTERS
    >>> sorted(CONVERTERS)
    ['edgetpu-tflite', 'onnx', 'openvino-ir', 'tflite']
"""
from __future__ import annotations

import importlib

from ..errors import UserInputError
from .base import PRECISIONS, SOURCE_KINDS, Calibration, Converter, ConvertJob, ConvertOutput, SourceModel

# artifact format -> "module:class". One converter per format, chosen by this dict.
CONVERTERS: dict[str, str] = {
    "tflite": "edgevision.converters.tflite:TFLiteConverter",
    "edgetpu-tflite": "edgevision.converters.edgetpu:EdgeTPUConverter",
    "openvino-ir": "edgevision.converters.openvino:OpenVINOConverter",
    "onnx": "edgevision.converters.onnx:ONNXConverter",
}


def get_converter(fmt: str) -> Converter:
    """The converter for one bundle artifact format."""
    if fmt not in CONVERTERS:
        raise UserInputError(f"expected an artifact format among {', '.join(CONVERTERS)}, got {fmt!r}")
    module, name = CONVERTERS[fmt].split(":")
    return getattr(importlib.import_module(module), name)()


__all__ = ["CONVERTERS", "PRECISIONS", "SOURCE_KINDS", "Calibration", "Converter", "ConvertJob", "ConvertOutput",
           "SourceModel", "get_converter"]
