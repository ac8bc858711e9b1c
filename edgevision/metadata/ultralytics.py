"""Ultralytics' export metadata: ``names``, ``imgsz``, ``stride``, ``task``, ``args`` (and ``end2end``).

Ultralytics' ``Exporter`` writes one dict into every export: as ONNX ``metadata_props`` (each
value ``str()`` of the Python object), as ``metadata.yaml`` beside an OpenVINO IR (with
``model_info`` in the IR's ``rt_info``: see ``model_api``), and as ``metadata.json`` in a zip
appended to a ``.tflite``. YOLOv5's exporter writes ``stride`` and ``names`` into ONNX the same way.

What it implies (Ultralytics' own ``predict``): letterbox resize, pad 114, RGB / 255; a
classifier resizes and centre-crops; boxes in input pixels, except from TFLite exports, whose boxes
are fractions of the input; ``conf`` 0.25, ``iou`` 0.7, ``max_det`` 300; ``nms=True`` and
``end2end`` models put NMS in the model (``[1, K, 6]`` outputs).

Example:
    >>> settings_from({"task": "detect", "imgsz": [480, 640], "names": {0: "cat"}}, "onnx")["size"]
    (640, 480)
"""
from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from . import ModelMetadata
from .carriers import appended_zip, onnx_metadata_props

# Ultralytics task -> (our task, the decoder of its head). Heads whose decoder is registered by another
# task module (instance segmentation, pose, oriented boxes) are named by layout only.
TASKS: dict[str, tuple[str | None, str | None]] = {
    "detect": ("detection", "yolo"),
    "classify": ("classification", "classification"),
    "segment": (None, "yolo-seg"),
    "pose": (None, "yolo-pose"),
    "obb": (None, "yolo-obb"),
}
PAD_VALUE = 114
CONF, IOU, MAX_DET = 0.25, 0.7, 300
_LITERAL_KEYS = ("names", "imgsz", "args", "kpt_shape")


def is_ultralytics(meta: Mapping[str, Any]) -> bool:
    """Whether a metadata dict is Ultralytics' (or YOLOv5's: ``stride`` and ``names`` only).

    >>> is_ultralytics({"author": "Ultralytics"}), is_ultralytics({"stride": "32", "names": "{0: 'a'}"})
    (True, True)
    """
    return str(meta.get("author", "")).startswith("Ultralytics") or {"stride", "names"} <= set(meta)


def _literal(value: Any, key: str, where: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise ModelFileError(f"expected a Python literal for Ultralytics metadata {key!r} in {where}, "
                             f"got {value[:80]!r}") from None


def _labels(names: Any) -> list[str] | None:
    if isinstance(names, Mapping):
        return [str(names[k]) for k in sorted(names, key=lambda k: int(k))]
    if isinstance(names, (list, tuple)):
        return [str(n) for n in names]
    return None


def _size(imgsz: Any) -> tuple[int, int] | None:
    if isinstance(imgsz, int):
        return imgsz, imgsz
    if isinstance(imgsz, (list, tuple)) and len(imgsz) == 2:
        h, w = (int(v) for v in imgsz)  # Ultralytics' imgsz is (height, width)
        return w, h
    return None


def settings_from(meta: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    """``edgevision.load`` settings from an Ultralytics metadata dict; ``fmt`` is the carrier ("onnx", "openvino",
    "tflite": TFLite exports give boxes as fractions of the input).

    >>> s = settings_from({"task": "detect", "args": {"nms": True}, "names": {0: "a"}}, "tflite")
    >>> s["decoder"], s["box_format"], s["pad_value"]
    ('yolo-end2end', 'normalized', 114)
    """
    given = meta.get("args")
    args: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    task, decoder = TASKS.get(str(meta.get("task", "")), (None, None))
    end2end = bool(meta.get("end2end")) or bool(args.get("nms"))
    if end2end and decoder == "yolo":
        decoder = "yolo-end2end"
    classify = decoder == "classification"
    settings: dict[str, Any] = {
        "task": task, "decoder": decoder, "labels": _labels(meta.get("names")), "size": _size(meta.get("imgsz")),
        "resize": "centre-crop" if classify else "letterbox", "pad_value": None if classify else PAD_VALUE,
        "mean": (0.0, 0.0, 0.0), "std": (255.0, 255.0, 255.0), "color": "RGB",
    }
    if not classify:
        settings.update(box_format="normalized" if fmt == "tflite" else "pixels",
                        score_threshold=float(args.get("conf") or CONF), iou_threshold=float(args.get("iou") or IOU),
                        max_detections=int(args.get("max_det") or MAX_DET))
    kpt_shape = meta.get("kpt_shape")
    if decoder == "yolo-pose" and isinstance(kpt_shape, (list, tuple)) and len(kpt_shape) == 2:
        settings["kpt_shape"] = [int(v) for v in kpt_shape]  # the pose head's keypoints: [K, 2 or 3]
    return settings


def _exporter(meta: Mapping[str, Any]) -> str:
    if str(meta.get("author", "")).startswith("Ultralytics"):
        return f"Ultralytics {meta.get('version', '')}".strip()
    return "YOLOv5 export"


def _add(meta: ModelMetadata, raw: Mapping[str, Any], fmt: str, origin: str) -> None:
    meta.exporter = meta.exporter or _exporter(raw)
    meta.raw.setdefault("ultralytics", {k: v for k, v in raw.items() if k not in ("description", "license", "docs")})
    for key, value in settings_from(raw, fmt).items():
        meta.add({key: value}, f"{origin} ({_why(key)})")


def _why(key: str) -> str:
    """Which field of the metadata (or which Ultralytics convention) a setting comes from."""
    return {"labels": "names", "size": "imgsz", "task": "task", "decoder": "task, args.nms / end2end",
            "box_format": "export format", "kpt_shape": "kpt_shape"}.get(key, "Ultralytics' predict defaults")


def read_onnx(path: Path, meta: ModelMetadata) -> None:
    """Ultralytics/YOLOv5 ``metadata_props`` of an ONNX file, if it has them."""
    props = onnx_metadata_props(path)
    if not is_ultralytics(props):
        return
    raw = {k: _literal(v, k, path.name) if k in _LITERAL_KEYS else v for k, v in props.items()}
    for key in ("stride", "batch", "channels"):
        if key in raw and str(raw[key]).isdigit():
            raw[key] = int(raw[key])
    if "end2end" in raw:
        raw["end2end"] = str(raw["end2end"]) == "True"
    _add(meta, raw, "onnx", f"{'Ultralytics' if 'author' in raw else 'YOLOv5'} metadata_props of {path.name}")


def read_openvino(path: Path, meta: ModelMetadata) -> None:
    """``metadata.yaml`` beside an IR, as Ultralytics writes it into ``*_openvino_model/``."""
    yaml_file = path.parent / "metadata.yaml"
    if not yaml_file.is_file():
        return
    import yaml

    from ..integrity import read_file
    from ..limits import MAX_MANIFEST_BYTES

    data = read_file(yaml_file.parent, yaml_file.name, limit=MAX_MANIFEST_BYTES, what="metadata file")
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ModelFileError(f"expected YAML in {yaml_file}, got a parse error: {' '.join(str(e).split())[:200]}") from None
    except RecursionError:  # collections nested thousands deep
        raise ModelFileError(f"expected YAML nested a few levels deep in {yaml_file}, got deeper") from None
    if isinstance(raw, Mapping) and is_ultralytics(raw):
        _add(meta, raw, "openvino", f"Ultralytics {yaml_file.name} beside {path.name}")


def read_tflite(path: Path, meta: ModelMetadata) -> None:
    """``metadata.json`` in the zip Ultralytics appends to a ``.tflite``."""
    data = appended_zip(path).get("metadata.json")
    if data is None:
        return
    from ..limits import load_json

    raw = load_json(data, f"the metadata.json appended to {path.name}", ModelFileError)  # size, depth, digits bounded
    if isinstance(raw, Mapping) and is_ultralytics(raw):
        _add(meta, raw, "tflite", f"Ultralytics metadata.json appended to {path.name}")
