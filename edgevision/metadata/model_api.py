"""OpenVINO Model API ``model_info``: in an IR's ``rt_info``, or ONNX ``metadata_props`` keyed ``"model_info <name>"``.

The OpenVINO Model API (and what writes for it: OpenVINO Training Extensions, Geti, and
Ultralytics' OpenVINO export) keeps preprocessing and labels as ``model_info`` entries whose
values are strings, lists space-separated: ``labels``, ``mean_values`` and ``scale_values``
(the model sees ``(pixel - mean) / scale``), ``reverse_input_channels`` (the Model API reads
BGR frames: YES means the model wants RGB), ``resize_type``, ``pad_value``,
``confidence_threshold``, ``iou_threshold``, ``model_type``.

Example:
    >>> settings_from({"mean_values": "123.675 116.28 103.53", "scale_values": "58.395 57.12 57.375",
    ...                "reverse_input_channels": "YES", "model_type": "Classification"})["std"]
    (58.395, 57.12, 57.375)
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ModelFileError
from . import ModelMetadata
from .carriers import onnx_metadata_props, openvino_rt_info

RESIZE_TYPES = {"standard": "stretch", "fit_to_window_letterbox": "letterbox", "fit_to_window": "letterbox",
                "crop": "centre-crop"}
MODEL_TYPES = {"classification": ("classification", "classification"), "segmentation": ("segmentation", None),
               "ssd": ("detection", "ssd"), "yolo": ("detection", "yolo"), "yolov8": ("detection", "yolo"),
               "yolov5": ("detection", None), "yolox": ("detection", None)}


def _floats(text: str, key: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in str(text).replace(",", " ").split())
    except ValueError:
        raise ModelFileError(f"expected numbers in model_info {key}, got {str(text)[:80]!r}") from None
    return values * 3 if len(values) == 1 else values


def settings_from(info: Mapping[str, str]) -> dict[str, Any]:
    """``edgevision.load`` settings from ``model_info`` strings.

    >>> settings_from({"resize_type": "fit_to_window_letterbox", "pad_value": "114"})["resize"]
    'letterbox'
    """
    settings: dict[str, Any] = {}
    if info.get("labels"):
        settings["labels"] = str(info["labels"]).split()
    if "mean_values" in info or "scale_values" in info:
        settings["mean"] = _floats(info.get("mean_values", "0"), "mean_values")
        settings["std"] = _floats(info.get("scale_values", "1"), "scale_values")
    if "reverse_input_channels" in info:
        settings["color"] = "RGB" if str(info["reverse_input_channels"]).upper() in ("YES", "TRUE", "1") else "BGR"
    if info.get("resize_type") in RESIZE_TYPES:
        settings["resize"] = RESIZE_TYPES[str(info["resize_type"])]
    if "pad_value" in info:
        settings["pad_value"] = int(float(info["pad_value"]))
    if "confidence_threshold" in info:
        settings["score_threshold"] = float(info["confidence_threshold"])
    if "iou_threshold" in info:
        settings["iou_threshold"] = float(info["iou_threshold"])
    task, decoder = MODEL_TYPES.get(str(info.get("model_type", "")).lower(), (None, None))
    settings.update(task=task, decoder=decoder)
    return settings


def _add(meta: ModelMetadata, info: Mapping[str, str], origin: str) -> None:
    if not info:
        return
    meta.exporter = meta.exporter or "OpenVINO Model API model_info"
    meta.raw.setdefault("model_info", dict(info))
    for key, value in settings_from(info).items():
        meta.add({key: value}, origin)


def read_openvino(path: Path, meta: ModelMetadata) -> None:
    """``rt_info/model_info`` of an IR."""
    info = openvino_rt_info(path).get("model_info")
    if isinstance(info, Mapping):
        _add(meta, {k: v for k, v in info.items() if isinstance(v, str)}, f"rt_info model_info of {path.name}")


def read_onnx(path: Path, meta: ModelMetadata) -> None:
    """``metadata_props`` keyed ``"model_info <name>"`` (the Model API's ONNX convention)."""
    props = onnx_metadata_props(path)
    info = {k.split(" ", 1)[1]: v for k, v in props.items() if k.startswith("model_info ")}
    _add(meta, info, f"model_info metadata_props of {path.name}")
