"""TFLite Support metadata: the ``TFLITE_METADATA`` flatbuffer (schema ``metadata_schema.fbs``, identifier
``M001``) and the label files packed, as a zip, after the model.

What is read: the input's ``NormalizationOptions`` (``(pixel - mean) / std``, the float model's
values, which quantised models share), the first output ``AssociatedFile`` of type
``TENSOR_AXIS_LABELS`` (a classifier's) or ``TENSOR_VALUE_LABELS`` (a detector's class ids), and a
``ScoreThresholdingOptions`` threshold. Field slots follow ``metadata_schema.fbs`` (a union
takes two slots, its type then its value); the flatbuffer is read with the same bounds-checked
reader as the model itself.

Example:
    >>> meta = ModelMetadata(); read_tflite(Path("mobilenet_v1_1.0_224.tflite"), meta)   # doctest: +SKIP
    >>> meta.settings["mean"], len(meta.settings["labels"])                           # doctest: +SKIP
    ((127.5,), 1001)
"""
from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from ..formats._flatbuf import I8, U8, FlatBuffer, Table
from . import ModelMetadata
from .carriers import appended_zip

F32 = struct.Struct("<f")
METADATA_NAME = "TFLITE_METADATA"
IDENTIFIER = b"M001"
NORMALIZATION, SCORE_THRESHOLDING = 1, 3  # ProcessUnitOptions union members
AXIS_LABELS, VALUE_LABELS = 2, 3  # AssociatedFileType


def metadata_buffer(path: str | Path) -> bytes | None:
    """The bytes of the model's ``TFLITE_METADATA`` buffer, or None when it has none.

    >>> metadata_buffer("model_without_metadata.tflite") is None      # doctest: +SKIP
    True
    """
    from ..formats.tflite import metadata_entry, read_tflite

    read_tflite(path)  # the model verified first: a bad file is a ModelFileError, never a crash here
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:  # weights never read
        return metadata_entry(data, METADATA_NAME)


def _files(table: Table, slot: int) -> list[tuple[str, int]]:
    return [(f.string(0, "AssociatedFile.name") or "", f.scalar(2, I8, 0)) for f in table.tables(slot, "associated_files")]


def _units(tensor: Table) -> list[tuple[int, Table | None]]:
    return [(u.scalar(0, U8, 0), u.table(1, "ProcessUnit.options"))
            for u in tensor.tables(4, "TensorMetadata.process_units")]


def parse(blob: bytes, files: dict[str, bytes], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings, raw fields) from a ModelMetadata flatbuffer and the packed files.

    >>> parse(b"", {}, "model.tflite")
    Traceback (most recent call last):
    ...
    edgevision.errors.ModelFileError: expected TFLite Support metadata (identifier M001) in model.tflite, got b''
    """
    if len(blob) < 8 or blob[4:8] != IDENTIFIER:
        raise ModelFileError(f"expected TFLite Support metadata (identifier M001) in {where}, got {blob[4:8]!r}")
    root = FlatBuffer(blob).root("ModelMetadata")
    raw: dict[str, Any] = {"name": root.string(0, "ModelMetadata.name"), "version": root.string(2, "version"),
                           "author": root.string(4, "author")}
    settings: dict[str, Any] = {}
    subgraphs = root.tables(3, "ModelMetadata.subgraph_metadata")
    if not subgraphs:
        return settings, raw
    sub = subgraphs[0]
    for tensor in sub.tables(2, "SubGraphMetadata.input_tensor_metadata")[:1]:
        for kind, options in _units(tensor):
            if kind == NORMALIZATION and options is not None:
                mean, std = options.scalars(0, "f", "mean"), options.scalars(1, "f", "std")
                if mean and std:
                    settings["mean"], settings["std"] = tuple(mean), tuple(std)
    labels_file = None
    for tensor in sub.tables(3, "SubGraphMetadata.output_tensor_metadata"):
        for name, kind in _files(tensor, 6):
            if kind in (AXIS_LABELS, VALUE_LABELS) and labels_file is None:
                labels_file = name
        for kind, options in _units(tensor):
            if kind == SCORE_THRESHOLDING and options is not None:
                settings["score_threshold"] = round(float(options.scalar(0, F32, 0)), 6)
    if labels_file is not None:
        if labels_file not in files:
            raise ModelFileError(f"expected the label file {labels_file!r} its metadata names packed into {where}, "
                                 f"got {sorted(files) or 'no packed files'}")
        text = files[labels_file].decode("utf-8", "replace")
        settings["labels"] = [line.strip() for line in text.splitlines() if line.strip()]
        raw["labels_file"] = labels_file
    return settings, raw


def read_tflite(path: Path, meta: ModelMetadata) -> None:
    """TFLite Support metadata of a ``.tflite``, if it has some."""
    blob = metadata_buffer(path)
    if blob is None:
        return
    settings, raw = parse(blob, appended_zip(path), path.name)
    meta.exporter = meta.exporter or "TFLite Support metadata"
    meta.raw.setdefault("tflite_support", raw)
    meta.add(settings, f"TFLite Support metadata of {path.name}")
