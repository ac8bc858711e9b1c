"""What a model file says about itself: names, input size, preprocessing, task, box format, NMS settings.

Real exporters write these into the file or beside it, so a user never has to guess them:

- Ultralytics: ONNX ``metadata_props``, ``metadata.yaml`` beside an OpenVINO IR (and the IR's
  ``rt_info``), and a ``metadata.json`` inside a zip appended to a ``.tflite``
  (``edgevision.metadata.ultralytics``);
- OpenVINO Model API ``model_info`` (labels, mean/scale values, resize type, thresholds), in an IR's
  ``rt_info`` or as ONNX ``metadata_props`` keyed ``"model_info <name>"`` (``edgevision.metadata.model_api``);
- TFLite Support metadata: label files packed into the ``.tflite``, normalisation options, score
  thresholds (``edgevision.metadata.tflite_support``).

``read_metadata(path)`` returns a ``ModelMetadata``: ``settings`` are ``edgevision.load`` keywords
(``labels``, ``size``, ``resize``, ``pad_value``, ``mean``, ``std``, ``color``, ``task``,
``decoder``, ``box_format``, ``score_threshold``, ``iou_threshold``, ``max_detections``), and
``origins`` says for each where it came from. They are defaults: what a user passes wins. Reading
needs no runtime, no TensorFlow and no onnx package (the ONNX reader walks the protobuf itself).

Example:
    >>> meta = read_metadata("yolov8n.onnx")                     # doctest: +SKIP
    >>> meta.settings["resize"], meta.settings["pad_value"]      # doctest: +SKIP
    ('letterbox', 114)
    >>> meta.origins["labels"]                                   # doctest: +SKIP
    'Ultralytics metadata_props of yolov8n.onnx (names)'
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTINGS = ("task", "decoder", "labels", "size", "resize", "pad_value", "mean", "std", "color", "box_format",
            "score_threshold", "iou_threshold", "max_detections", "label_offset", "kpt_shape")


@dataclass
class ModelMetadata:
    """Settings a model file carries (``edgevision.load`` keywords), with where each came from.

    ``exporter`` names who wrote it ("Ultralytics 8.3.40", "TFLite Support", ...); ``raw`` keeps
    the exporter's own fields for ``inspect``.

    >>> m = ModelMetadata()
    >>> m.add({"labels": ["cat"], "size": None}, "a file")
    >>> m.settings, m.origins
    ({'labels': ['cat']}, {'labels': 'a file'})
    """

    settings: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    exporter: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, settings: Mapping[str, Any], origin: str) -> None:
        """Add settings from one carrier; a setting already given by an earlier carrier is kept."""
        for key, value in settings.items():
            if value is None or key in self.settings:
                continue
            if key not in SETTINGS:
                raise ValueError(f"expected a metadata setting among {', '.join(SETTINGS)}, got {key!r}")
            self.settings[key] = value
            self.origins[key] = origin

    def __bool__(self) -> bool:
        return bool(self.settings)

    def to_dict(self) -> dict[str, Any]:
        """``{"exporter", "settings", "origins"}`` as plain data (``inspect --json``)."""
        return {"exporter": self.exporter, "settings": {k: _plain(v) for k, v in self.settings.items()},
                "origins": dict(self.origins)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def read_metadata(path: str | Path) -> ModelMetadata:
    """The metadata a model file (or the files an exporter wrote beside it) carries; empty when none.

    A carrier that is present but malformed is a ``ModelFileError`` naming it.

    >>> read_metadata("model.keras").settings
    {}
    """
    from . import model_api, tflite_support, ultralytics

    path = Path(path)
    readers: dict[str, list[Callable[[Path, ModelMetadata], None]]] = {
        ".onnx": [ultralytics.read_onnx, model_api.read_onnx],
        ".xml": [ultralytics.read_openvino, model_api.read_openvino],
        ".tflite": [ultralytics.read_tflite, tflite_support.read_tflite],
    }
    meta = ModelMetadata()
    if not path.is_file():
        return meta
    for reader in readers.get(path.suffix.lower(), []):
        reader(path, meta)
    return meta


def describe(meta: ModelMetadata) -> list[str]:
    """One line per setting, ``name: value  (from where)``, for ``edgevision inspect``.

    >>> m = ModelMetadata(); m.add({"pad_value": 114}, "metadata.yaml")
    >>> describe(m)
    ['pad_value: 114  (from metadata.yaml)']
    """
    lines = []
    for key in SETTINGS:
        if key in meta.settings:
            value = meta.settings[key]
            if key == "labels":
                shown = f"{len(value)} names ({', '.join(value[:4])}{', …' if len(value) > 4 else ''})"
            else:
                shown = str(_plain(value))
            lines.append(f"{key}: {shown}  (from {meta.origins[key]})")
    return lines


__all__ = ["SETTINGS", "ModelMetadata", "describe", "read_metadata"]
