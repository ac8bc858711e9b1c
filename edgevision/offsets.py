"""Constants an artifact's outputs leave for the runtime to add after dequantising (see ``converters/offsets.py``).

An int8 detector whose cell positions were lifted out of its box output carries them in its ``.tflite``
as the metadata entry ``edgevision.output_offsets``: JSON ``{"version": 1, "outputs": [{"index": i,
"name": ..., "shape": [...], "values": [...]}]}``. The model reads it at load (from the bytes the
runtime runs, so the sha256 that vouches for the file vouches for these) and hands its decoder
float outputs with the constants added: decoders never know.

Example:
    >>> blob = encode_offsets([(0, "boxes", np.array([[[1.0, 2.0]]], np.float32))])
    >>> from edgevision.backends.base import TensorSpec
    >>> spec = TensorSpec("boxes", (1, 1, 2), np.dtype("uint8"), (0.5, 0))
    >>> offsets = decode_offsets(blob, [spec], "model.tflite")
    >>> add_offsets([np.array([[[2, 4]]], np.uint8)], [spec], offsets)[0].tolist()
    [[[2.0, 4.0]]]
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import ModelFileError

METADATA_NAME = "edgevision.output_offsets"
MAX_BYTES = 64 << 20  # a 1280x1280 YOLO head's 4 x 33600 positions take about 2 MB


def encode_offsets(entries: Sequence[tuple[int, str, np.ndarray]]) -> bytes:
    """The metadata entry for (output index, output name, constant of the output's shape) triples."""
    outputs = [{"index": int(i), "name": name, "shape": list(a.shape),
                "values": [float(f"{v:.7g}") for v in np.asarray(a, np.float32).ravel().tolist()]}
               for i, name, a in entries]
    return json.dumps({"version": 1, "outputs": outputs}, separators=(",", ":")).encode()


def decode_offsets(blob: bytes, outputs: Sequence[Any], where: str) -> dict[int, np.ndarray]:
    """{output index: float32 constant} from a metadata entry; ModelFileError saying what is wrong with it."""
    def bad(what: str) -> ModelFileError:
        return ModelFileError(f"expected {METADATA_NAME} in {where} to be {what}")

    if len(blob) > MAX_BYTES:
        raise bad(f"at most {MAX_BYTES >> 20} MiB, got {len(blob)} bytes")
    try:
        doc = json.loads(bytes(blob).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad("UTF-8 JSON") from None
    if not isinstance(doc, dict) or doc.get("version") != 1 or not isinstance(doc.get("outputs"), list):
        raise bad('{"version": 1, "outputs": [...]}')
    out: dict[int, np.ndarray] = {}
    for entry in doc["outputs"]:
        if not isinstance(entry, dict):
            raise bad("a list of objects {index, name, shape, values}")
        index, name, shape, values = (entry.get(k) for k in ("index", "name", "shape", "values"))
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(outputs) or index in out:
            raise bad(f"one entry per output index 0..{len(outputs) - 1}, got {index!r}")
        spec = outputs[index]
        if name != spec.name or not isinstance(shape, list) or tuple(shape) != tuple(spec.shape):
            raise bad(f"output {index} named {spec.name!r} of shape {list(spec.shape)}, got {name!r} {shape!r}")
        if not isinstance(values, list) or len(values) != int(np.prod(spec.shape)) or \
                not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise bad(f"{int(np.prod(spec.shape))} numbers for output {spec.name!r}")
        array = np.asarray(values, np.float32).reshape(spec.shape)
        if not np.all(np.isfinite(array)):
            raise bad(f"finite numbers for output {spec.name!r}")
        out[index] = array
    return out


def add_offsets(outs: Sequence[np.ndarray], specs: Sequence[Any], offsets: dict[int, np.ndarray]) -> list[np.ndarray]:
    """``outs`` with each output that has an offset dequantised (its own scale) and the offset added, in float32.

    >>> from edgevision.backends.base import TensorSpec
    >>> spec = TensorSpec("boxes", (1, 2), np.dtype("uint8"), (0.5, 10))
    >>> add_offsets([np.array([[10, 12]], np.uint8)], [spec], {0: np.array([[4.0, 8.0]], np.float32)})[0].tolist()
    [[4.0, 9.0]]
    """
    from .tasks.common import dequantize

    arrays = list(outs)
    for i, offset in offsets.items():
        arrays[i] = dequantize(np.asarray(arrays[i]), specs[i].quant).astype(np.float32, copy=False) + offset
    return arrays


def float_specs(specs: Sequence[Any], offsets: dict[int, np.ndarray]) -> list[Any]:
    """The output specs a decoder sees: float32, unquantised, where an offset is added first.

    >>> from edgevision.backends.base import TensorSpec
    >>> float_specs([TensorSpec("boxes", (1, 2), np.dtype("uint8"), (0.5, 10))], {0: np.zeros((1, 2))})[0].quant is None
    True
    """
    import dataclasses

    return [dataclasses.replace(s, dtype=np.dtype(np.float32), quant=None) if i in offsets else s
            for i, s in enumerate(specs)]


def with_offsets(decode: Callable, specs: Sequence[Any], offsets: dict[int, np.ndarray]) -> Callable:
    """``decode`` fed the outputs with their offsets added (``decode`` itself when there are none).

    >>> decode = lambda outs, t: outs
    >>> with_offsets(decode, [], {}) is decode
    True
    """
    if not offsets:
        return decode
    specs = list(specs)

    def run(outs: Sequence[np.ndarray], transform: Any) -> Any:
        return decode(add_offsets(outs, specs, offsets), transform)

    return run
