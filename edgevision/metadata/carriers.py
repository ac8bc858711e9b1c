"""Where exporters put metadata, read without their libraries: ONNX ``metadata_props``, an OpenVINO IR's
``rt_info``, a zip appended to a ``.tflite``.

Each reader is a few dozen lines of the file format itself (protobuf wire format, XML, zip), so
metadata is read on a device that has only the runtime, and before the runtime opens the file.

Example:
    >>> onnx_metadata_props("yolov8n.onnx")["task"]            # doctest: +SKIP
    'detect'
    >>> openvino_rt_info("yolov8n.xml")["model_info"]["pad_value"]  # doctest: +SKIP
    '114'
"""
from __future__ import annotations

import mmap
import zipfile
import zlib
from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from ..formats.protowire import length_fields
from ..limits import check_zip

_METADATA_PROPS = 14  # ModelProto.metadata_props (onnx.proto): repeated StringStringEntryProto {key = 1; value = 2}


def onnx_metadata_props(path: str | Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file as a dict (empty when it has none, or is no protobuf).

    Only the top-level message is walked; the graph is skipped over by its length, not parsed.

    >>> onnx_metadata_props("model.onnx")                      # doctest: +SKIP
    {'author': 'Ultralytics', 'task': 'detect', 'imgsz': '[640, 640]', ...}
    """
    path = Path(path)
    with open(path, "rb") as f:
        try:
            data: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file
            return {}
        with data:
            try:
                props = {}
                for number, start, end in length_fields(data, 0, len(data)):
                    if number != _METADATA_PROPS:
                        continue
                    entry = {n: bytes(data[s:e]).decode("utf-8", "replace") for n, s, e in length_fields(data, start, end)}
                    props[entry.get(1, "")] = entry.get(2, "")
                return props
            except (ValueError, IndexError):
                return {}  # not ONNX at all: the runtime that opens it says so, in its own words


def openvino_rt_info(path: str | Path) -> dict[str, Any]:
    """An IR's ``<rt_info>`` as nested dicts of strings (``{"model_info": {"labels": "cat dog"}}``); {} when none.

    >>> openvino_rt_info("model.xml").get("model_info", {}).get("model_type")   # doctest: +SKIP
    'YOLO'
    """
    import xml.etree.ElementTree as ET

    path = Path(path)
    depth, found = 0, None
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if depth == 1 and elem.tag == "rt_info":
                found = elem
                break
            if depth == 1:
                elem.clear()  # layers and edges: not needed, not kept
    except ET.ParseError:
        return {}  # not an IR at all: the runtime that opens it says so, in its own words
    try:
        return _rt(found) if found is not None else {}
    except RecursionError:  # <rt_info> nested thousands deep
        raise ModelFileError(f"expected an <rt_info> nested a few levels deep in {path.name}, got deeper") from None


def _rt(elem: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in elem:
        name = child.get("name", child.tag) if child.tag == "info" else child.tag
        out[name] = _rt(child) if len(child) else child.get("value", "")
    return out


def appended_zip(path: str | Path) -> dict[str, bytes]:
    """The files of a zip appended to a ``.tflite`` flatbuffer ({} when there is none).

    TFLite Support packs label files this way; Ultralytics adds ``metadata.json`` the same way.

    >>> sorted(appended_zip("yolov8n_float32.tflite"))         # doctest: +SKIP
    ['metadata.json']
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            check_zip(infos, path.name, what="zip appended to the model", error=ModelFileError)  # no zip bomb
            return {i.filename: zf.read(i) for i in infos}
    except zipfile.BadZipFile:
        return {}
    except (OSError, zipfile.LargeZipFile, ValueError, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
        raise ModelFileError(f"expected a readable zip appended to {path.name}, got: {e}") from None
