"""Protocol-buffer wire format, read in pure Python: varints and the length-delimited fields of a message.

Enough to walk an ONNX model's messages (its external data, its ``metadata_props``) with no ``onnx``
or ``protobuf`` package, on a device that has ONNX Runtime alone. Malformed bytes raise ValueError; the
callers turn it into a ModelFileError naming the file.

Example:
    >>> length_fields(b"\\x0a\\x02hi\\x10\\x05", 0, 6)    # field 1 "hi" (length-delimited), field 2 = 5 (a varint)
    [(1, 2, 4)]
"""
from __future__ import annotations

from typing import Any


def varint(data: Any, pos: int, end: int) -> tuple[int, int]:
    """(value, position after it) of the varint at ``data[pos]``, which must end before ``end``.

    >>> varint(b"\\xac\\x02", 0, 2)
    (300, 2)
    """
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise ValueError("a varint runs past its message")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def length_fields(data: Any, start: int, end: int) -> list[tuple[int, int, int]]:
    """(field number, start, end) of every length-delimited field of the message in data[start:end]; the
    message's other fields are skipped, and one that runs past ``end`` is a ValueError.

    >>> length_fields(b"\\x12\\x01x\\x1a\\x00", 0, 5)      # field 2 "x", field 3 empty
    [(2, 2, 3), (3, 5, 5)]
    """
    found, pos = [], start
    while pos < end:
        key, pos = varint(data, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = varint(data, pos, end)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = varint(data, pos, end)
            if pos + length > end:
                raise ValueError(f"field {field} runs past its message")
            found.append((field, pos, pos + length))
            pos += length
        else:  # groups (3, 4) are deprecated and in neither ONNX's nor OpenVINO's schema
            raise ValueError(f"wire type {wire} of field {field}")
        if pos > end:
            raise ValueError(f"field {field} runs past its message")
    return found
