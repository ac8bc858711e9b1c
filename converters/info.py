"""Model information for a conversion: task, labels, decoder, input format — from flags, a file, or the model.

A model-info file is JSON shaped like the bundle manifest's own sections::

    {"task": "detection", "labels": ["circle", "square"],
     "decoder": {"type": "yolo", "box_format": "normalized", "score_threshold": 0.3},
     "input": {"size": [128, 128], "resize": "stretch", "mean": [0, 0, 0], "std": [1, 1, 1]}}

``model.keras`` picks up ``model.json`` beside it when no file is named. Flags
override the file; what neither gives is inferred from the model's outputs.
The input's normalisation is always written out explicitly in the bundle, so
every artifact (float or quantised) is fed the same values.

Example:
    >>> info = read_model_info("shapes_detector.json")       # doctest: +SKIP
    >>> info["decoder"]["type"]                               # doctest: +SKIP
    'yolo'
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bundle import INPUT_KEYS
from ..decode import decoder_config, decoder_spec, guess_decoder
from ..errors import UserInputError
from ..loading import read_labels
from ..metadata import ModelMetadata
from ..preprocess import InputFormat

INFO_KEYS = ("task", "labels", "decoder", "input")


@dataclass
class ModelInfo:
    """What the bundle's manifest says about the model, resolved."""

    task: str
    labels: list
    decoder: dict
    input: InputFormat
    origin: str  # where it came from, said to the user
    metadata: dict = field(default_factory=dict)  # setting -> where the model file's metadata said it (the bundle keeps it)


def read_model_info(path: str | Path) -> dict[str, Any]:
    """A model-info JSON file, validated (unknown keys named with the valid ones)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"expected a model-info JSON file, got missing path {str(path)!r}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserInputError(f"expected JSON in model-info file {path.name}, got a parse error: {e}") from None
    if not isinstance(data, dict):
        raise UserInputError(f"expected a JSON object in {path.name}, got {type(data).__name__}")
    unknown = sorted(set(data) - set(INFO_KEYS))
    if unknown:
        raise UserInputError(f"unknown key {unknown[0]!r} in {path.name}; valid keys: {', '.join(INFO_KEYS)}")
    bad = sorted(set(data.get("input", {})) - set(INPUT_KEYS))
    if bad:
        raise UserInputError(f"unknown input key {bad[0]!r} in {path.name}; valid keys: {', '.join(INPUT_KEYS)}")
    return data


def _tuples(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON lists as tuples (InputFormat is frozen and hashable)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


def sibling_info(model: Path) -> Path | None:
    """``model.json`` beside ``model.keras`` (or inside a SavedModel directory), if there is one."""
    candidates = [model / "model_info.json"] if model.is_dir() else [model.with_suffix(".json")]
    return next((c for c in candidates if c.is_file()), None)


def default_normalisation(dtype: str, quant: tuple[float, int] | None) -> tuple[list[float], list[float]]:
    """(mean, std) in pixel units when nothing says: a float input takes pixels / 255; an integer input takes
    the pixels themselves (TF OD API ``image_tensor``), or through its quantisation (a quantised ``.tflite``: the
    raw pixels, ``pixel - 128`` for int8, as its own convention has it).

    >>> default_normalisation("float32", None), default_normalisation("uint8", None)
    (([0.0, 0.0, 0.0], [255.0, 255.0, 255.0]), ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]))
    >>> default_normalisation("int8", (1 / 255, -128))
    ([0.0, 0.0, 0.0], [255.0, 255.0, 255.0])
    """
    if dtype not in ("uint8", "int8"):
        return [0.0] * 3, [255.0] * 3
    if quant is None:
        return [0.0] * 3, [1.0] * 3
    scale, zero_point = quant
    mean = float(zero_point) + (128.0 if dtype == "int8" else 0.0)  # q = pixel (uint8) or pixel - 128 (int8)
    return [round(mean, 6)] * 3, [round(1.0 / scale, 6)] * 3


def resolve_model_info(model: Path, outputs: Sequence[Any], *, info_file: Path | None = None,
                       overrides: Mapping[str, Any] | None = None, input_size: tuple[int, int],
                       metadata: ModelMetadata | None = None, input_dtype: str = "float32",
                       input_quant: tuple[float, int] | None = None) -> ModelInfo:
    """Merge the flags, the info file (named, or beside the model), the model file's own metadata, and what the
    outputs imply, in that order of precedence; ``origins`` says which setting the metadata gave."""
    from ..layouts import choose_decoder
    from ..loading import metadata_defaults

    info_file = info_file or sibling_info(model)
    data = read_model_info(info_file) if info_file else {}
    over = {k: v for k, v in (overrides or {}).items() if v is not None}
    given = {**data.get("input", {}), **over}
    if "task" in data:
        given.setdefault("task", data["task"])
    if "labels" in data:
        given.setdefault("labels", data["labels"])
    if data.get("decoder", {}).get("type"):
        given.setdefault("decoder", data["decoder"]["type"])
    given.update({k: v for k, v in data.get("decoder", {}).items() if k != "type" and k not in over})
    from ..layouts import named_defaults

    named = named_defaults([o.name for o in outputs])  # TF OD API outputs: ssd, 1-based class ids
    meta_settings = metadata_defaults({**named, **(metadata.settings if metadata else {})}, given)
    hint = meta_settings.pop("decoder", None)
    origins = {k: metadata.origins.get(k, "the TF OD API's output names") if metadata else
               "the TF OD API's output names" for k in meta_settings}
    if hint is not None:
        origins["decoder"] = metadata.origins["decoder"] if metadata and "decoder" in metadata.origins else \
            "the TF OD API's output names"
    merged = {**meta_settings, **over}
    task = over.get("task") or data.get("task") or meta_settings.get("task")
    labels_given = merged.pop("labels", None) if "labels" in over or "labels" in meta_settings else None
    labels = read_labels(labels_given) if labels_given is not None else [str(x) for x in data.get("labels", [])]
    decoder = dict(data.get("decoder", {}))
    dtype = over.get("decoder") or decoder.pop("type", None)
    decoder.pop("type", None)
    if dtype is not None and task is not None and decoder_spec(dtype).task != task:
        raise UserInputError(f"expected a {task} decoder, got {dtype!r}")
    shapes = [tuple(o.shape) for o in outputs]
    dtype = dtype or choose_decoder(task, shapes, n_labels=len(labels), hint=hint) or guess_decoder(task, outputs)
    spec = decoder_spec(dtype)
    decoder.update({k: v for k, v in merged.items() if k in spec.defaults})  # metadata's, then flags' (over data's)
    fmt = dict(data.get("input", {}))
    fmt.update({k: v for k, v in meta_settings.items() if k in INPUT_KEYS and k not in fmt})
    fmt.update({k: v for k, v in over.items() if k in INPUT_KEYS})
    if "scale" in over:  # pixel * scale  <=>  (pixel - 0) / (1 / scale)
        scale = over["scale"]
        scale = list(scale) if isinstance(scale, (list, tuple)) else [scale]
        fmt["mean"] = [0.0] * len(scale)
        fmt["std"] = [1.0 / s for s in scale]
    unknown = sorted(k for k in over if k not in (*INPUT_KEYS, "task", "labels", "decoder", "scale", *spec.defaults))
    if unknown:
        raise UserInputError(f"unknown model option {unknown[0]!r} for the {dtype} decoder")
    # Write the float model's normalisation out: a quantised artifact must get the same values,
    # and the runtime's default (pixels / 255 for a float input) is only a default.
    mean, std = default_normalisation(input_dtype, input_quant)
    fmt.setdefault("mean", mean)
    fmt.setdefault("std", std)
    fmt["size"] = tuple(fmt.get("size") or input_size)
    if tuple(fmt["size"]) != tuple(input_size):
        if "size" in origins and "size" not in over and "size" not in data.get("input", {}):
            fmt["size"] = tuple(input_size)  # the file's own shape wins over its metadata's imgsz
            origins.pop("size")
        else:
            raise UserInputError(f"expected the input size {input_size[0]}x{input_size[1]} the model takes, "
                                 f"got {fmt['size'][0]}x{fmt['size'][1]} in the model info")
    parts = [info_file.name] if info_file else []
    parts += ["flags"] if over else []
    parts += [(metadata.exporter if metadata else "output names") + " metadata"] if origins else []
    return ModelInfo(task=spec.task, labels=labels, decoder=decoder_config(dtype, decoder),
                     input=InputFormat(**_tuples(fmt)), origin=" + ".join(parts) or "model outputs",
                     metadata=origins)
