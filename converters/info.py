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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bundle import INPUT_KEYS
from ..decode import decoder_config, decoder_spec, guess_decoder
from ..errors import UserInputError
from ..model import read_labels
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


def resolve_model_info(model: Path, outputs: Sequence[Any], *, info_file: Path | None = None,
                       overrides: Mapping[str, Any] | None = None, input_size: tuple[int, int]) -> ModelInfo:
    """Merge the info file (named, or beside the model), the flags, and what the outputs imply."""
    info_file = info_file or sibling_info(model)
    data = read_model_info(info_file) if info_file else {}
    over = {k: v for k, v in (overrides or {}).items() if v is not None}
    task = over.pop("task", None) or data.get("task")
    labels_given = over.pop("labels", None)
    labels = read_labels(labels_given) if labels_given is not None else [str(x) for x in data.get("labels", [])]
    decoder = dict(data.get("decoder", {}))
    dtype = over.pop("decoder", None) or decoder.pop("type", None)
    if dtype is not None and task is not None and decoder_spec(dtype).task != task:
        raise UserInputError(f"expected a {task} decoder, got {dtype!r}")
    dtype = dtype or guess_decoder(task, outputs)
    decoder.update({k: over.pop(k) for k in list(over) if k in decoder_spec(dtype).defaults})
    fmt = dict(data.get("input", {}))
    fmt.update({k: over.pop(k) for k in list(over) if k in INPUT_KEYS})
    if "scale" in over:  # pixel * scale  <=>  (pixel - 0) / (1 / scale)
        scale = over.pop("scale")
        scale = list(scale) if isinstance(scale, (list, tuple)) else [scale]
        fmt.setdefault("mean", [0.0] * len(scale))
        fmt["std"] = [1.0 / s for s in scale]
    if over:
        raise UserInputError(f"unknown model option {sorted(over)[0]!r} for the {dtype} decoder")
    # Write the float model's normalisation out: a quantised artifact must get the same values,
    # and the runtime's default for a float input (pixels / 255) is only a default.
    fmt.setdefault("mean", [0.0, 0.0, 0.0])
    fmt.setdefault("std", [255.0, 255.0, 255.0])
    fmt["size"] = tuple(fmt.get("size") or input_size)
    if tuple(fmt["size"]) != tuple(input_size):
        raise UserInputError(f"expected the input size {input_size[0]}x{input_size[1]} the model takes, "
                             f"got {fmt['size'][0]}x{fmt['size'][1]} in the model info")
    origin = f"{info_file.name} + flags" if info_file and overrides else (info_file.name if info_file else "flags/model")
    return ModelInfo(task=decoder_spec(dtype).task, labels=labels, decoder=decoder_config(dtype, decoder),
                     input=InputFormat(**_tuples(fmt)),
                     origin=origin)
