"""What was benched: the model file, format, precision and size, the runtime, the input tensor.

A bundle's manifest says format and precision; for a bare file they are read
from the file (suffix, and the graph's quantisation).

Example:
    >>> format_of(Path("model.xml"))
    'openvino-ir'
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import EdgeVisionError


def describe_model(model: Any, meta: dict | None = None) -> tuple[dict, dict, dict]:
    """(model section, runtime section, input section) of a run, from ``Model.info()`` and the artifact entry."""
    info = model.info()
    art = dict(info["artifact"])
    path = Path(art["file"])
    size = path.stat().st_size if path.is_file() else None
    if size is not None and path.suffix.lower() == ".xml" and path.with_suffix(".bin").is_file():
        size += path.with_suffix(".bin").stat().st_size  # an IR is its .xml and its .bin
    section = {"file": str(path), "target": art.get("target"), "format": art.get("format") or format_of(path),
               "precision": art.get("precision") or guess_precision(path), "size_bytes": size,
               "task": info["task"], "selected": art.get("selected")}
    section.update(meta or {})
    inp = {k: info["input"].get(k) for k in ("shape", "dtype", "quantization", "layout")}
    return section, dict(info["backend"]), inp


def format_of(path: Path) -> str:
    """The artifact format a file's suffix means (the suffix itself when unknown)."""
    from ..targets.catalogue import format_of as catalogue_format

    try:
        return str(catalogue_format(path))
    except EdgeVisionError:
        return path.suffix


def guess_precision(path: Path) -> str:
    """int8 / fp16 / fp32 of a bare model file, from its graph (a bundle's manifest says it instead)."""
    from ..formats.graphs import digest

    try:
        d = digest(path)
    except (EdgeVisionError, ImportError):
        return "unknown"
    if d.get("fully_quantized") or d.get("quantized_ops"):
        return "int8" if d.get("fully_quantized", True) else "mixed int8/float"
    if d.get("int_ops") and d.get("float_ops"):
        return "mixed int8/float"
    if (d.get("boundary_ops") or {}).get("DEQUANTIZE") and not d.get("int_ops"):
        return "fp16"  # a .tflite with fp16 weights dequantizes them at load
    consts = d.get("constants_by_dtype") or {}
    return "fp16" if consts.get("f16") else "fp32"
