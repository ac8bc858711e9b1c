"""The external data files an ONNX model names, read from its protobuf bytes in pure Python.

A tensor of an ONNX model may keep its values in another file (``data_location =
EXTERNAL``, ``external_data = [{"location": "weights.bin", ...}]``). ONNX Runtime
opens those files by path, relative to the model, when the session is created:
edgevision lists them here first, checks each stays inside the model's directory
(``edgevision.integrity``), reads and checks them, and hands their bytes to the
runtime, so no file it did not check is opened. Only ``struct`` is used: a device
with ONNX Runtime alone (no ``onnx`` package) reads them too.

Every message that can hold a tensor is walked: a graph's initializers, sparse
initializers and node attributes (``Constant`` values, the bodies of ``If``/``Loop``/
``Scan``), functions and training graphs. Malformed bytes are a ModelFileError.

Example:
    >>> external_files(open("big.onnx", "rb").read())     # doctest: +SKIP
    ['big.onnx.data']
"""
from __future__ import annotations

from edgevision.errors import ModelFileError

from .protowire import length_fields

MAX_DEPTH = 64  # graphs nested in attributes (If inside Loop inside ...): deeper is a forged file

# message -> {field number: child message} for every field that may lead to a TensorProto.
_MODEL, _GRAPH, _NODE, _ATTR, _TENSOR, _SPARSE, _FUNCTION, _TRAINING, _ENTRY = range(9)
_CHILDREN: dict[int, dict[int, int]] = {
    _MODEL: {7: _GRAPH, 20: _TRAINING, 25: _FUNCTION},
    _TRAINING: {1: _GRAPH, 3: _GRAPH},
    _GRAPH: {1: _NODE, 5: _TENSOR, 15: _SPARSE},
    _FUNCTION: {7: _NODE},
    _NODE: {5: _ATTR},
    _ATTR: {5: _TENSOR, 6: _GRAPH, 10: _TENSOR, 11: _GRAPH, 22: _SPARSE, 23: _SPARSE},
    _SPARSE: {1: _TENSOR, 2: _TENSOR},
    _TENSOR: {13: _ENTRY},
}


def _walk(data: bytes | memoryview, kind: int, start: int, end: int, depth: int, out: list[str]) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"messages nested more than {MAX_DEPTH} deep")
    children = _CHILDREN.get(kind, {})
    for field, a, b in length_fields(data, start, end):
        child = children.get(field)
        if child == _ENTRY:  # StringStringEntryProto: key = 1, value = 2
            entry = {f: bytes(data[x:y]) for f, x, y in length_fields(data, a, b)}
            if entry.get(1) == b"location":
                try:
                    out.append(entry.get(2, b"").decode("utf-8"))
                except UnicodeDecodeError:
                    raise ValueError("an external data location that is not UTF-8") from None
        elif child is not None:
            _walk(data, child, a, b, depth + 1, out)


def external_files(data: bytes | memoryview, name: str = "the model") -> list[str]:
    """The external data locations (as written in the model) of every tensor in ONNX ``data``, in order, once each.

    >>> external_files(b"")
    []
    """
    found: list[str] = []
    try:
        _walk(data, _MODEL, 0, len(data), 0, found)
    except ValueError as e:
        raise ModelFileError(f"expected an ONNX model ONNX Runtime can load, got {name}: not an ONNX protobuf ({e})") from None
    return list(dict.fromkeys(found))
