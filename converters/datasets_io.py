"""Calibration and validation data in the formats users have: an image directory, a YOLO dataset, COCO JSON, or a
Python iterable.

- a **directory** of images, ground truth beside each (``NAME.json``, ``NAME.mask.png``; see ``calibration``);
- a **YOLO dataset**: its ``data.yaml`` (``path``, ``train``, ``val``, ``names``), images under the split's
  directory (or listed in a ``.txt``), labels where Ultralytics looks for them (``/images/`` -> ``/labels/``,
  ``.txt``: ``class cx cy w h`` as fractions of the image); calibration reads ``train``, validation ``val``
  (and a ``data.yaml`` given only as ``--calibration`` also gives the held-out images: its ``val``);
- **COCO JSON** (``instances_*.json``): ``images[].file_name`` found beside the JSON, in ``images/`` beside it
  or in the directory above; ``annotations[].bbox`` as x, y, w, h pixels; categories matched to the model's
  labels by name (in id order when the model has none);
- a **Python iterable** (the API): RGB uint8 images, or ``(image, truth)`` pairs — truth as the task reads
  it: a class id or name; ``(boxes xyxy, class ids or names)``; a class map.

Detection ground truth from a YOLO or COCO dataset is ``(xyxy pixels, class ids)`` in the model's label
order; a class the model does not have is an error naming both lists.

Example:
    >>> data = open_dataset("coco/annotations/instances_val.json", "detection", ["person", "car"])  # doctest: +SKIP
    >>> len(data), data.truth[0]                                                                 # doctest: +SKIP
    (500, (array([[12., 40., 88., 200.]], dtype=float32), array([0])))
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserInputError
from ..sources import IMAGE_SUFFIXES


@dataclass
class Dataset:
    """Images (files or arrays) with per-image ground truth (None where there is none) and where they came from."""

    origin: str
    images: list[Any] = field(default_factory=list)  # Paths, or RGB uint8 arrays
    truth: list[Any] | None = None  # per image; None: read from sidecars beside image files
    held: Dataset | None = None  # the validation split the dataset itself names (YOLO's val)

    def __len__(self) -> int:
        return len(self.images)


def is_dataset_file(spec: Any) -> bool:
    """Whether ``spec`` names a YOLO ``data.yaml`` or a COCO ``.json``.

    >>> is_dataset_file("data.yaml"), is_dataset_file("images/"), is_dataset_file(12)
    (True, False, False)
    """
    return isinstance(spec, (str, Path)) and Path(spec).suffix.lower() in (".yaml", ".yml", ".json")


def is_iterable_data(spec: Any) -> bool:
    """Whether ``spec`` is a Python iterable of images (not a path, a number or a string).

    >>> is_iterable_data([np.zeros((4, 4, 3), np.uint8)]), is_iterable_data("images/")
    (True, False)
    """
    return not isinstance(spec, (str, Path, int, bytes, np.ndarray)) and isinstance(spec, Iterable)


def open_dataset(spec: Any, task: str, labels: Sequence[str], *, split: str = "train") -> Dataset:
    """The images and ground truth of a YOLO dataset, a COCO JSON or a Python iterable (see the module docstring)."""
    if is_iterable_data(spec):
        return _iterable(spec, task, labels)
    path = Path(spec)
    if not path.is_file():
        raise UserInputError(f"expected a YOLO data.yaml or a COCO .json file, got missing path {str(path)!r}")
    if path.suffix.lower() == ".json":
        return _coco(path, task, labels)
    return _yolo(path, task, labels, split)


def _label_map(names: Sequence[str], labels: Sequence[str], where: str) -> list[int]:
    """Dataset class index -> model class id (by name; identity when the model has no labels)."""
    if not labels:
        return list(range(len(names)))
    index = {str(n): i for i, n in enumerate(labels)}
    missing = [n for n in names if str(n) not in index]
    if missing:
        raise UserInputError(f"expected the classes of {where} among the model's labels ({', '.join(labels)}), "
                             f"got {missing[0]!r}")
    return [index[str(n)] for n in names]


def _yolo(path: Path, task: str, labels: Sequence[str], split: str) -> Dataset:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise UserInputError(f"expected a YOLO data.yaml, got {path.name} that YAML cannot parse: {e}") from None
    if not isinstance(data, dict) or "names" not in data:
        raise UserInputError(f"expected a YOLO data.yaml with 'names' and '{split}', got keys "
                             f"{sorted(data) if isinstance(data, dict) else type(data).__name__} in {path.name}")
    names = data["names"]
    names = [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)
    root = Path(data.get("path") or path.parent)
    root = root if root.is_absolute() else (path.parent / root)
    which = split if split in data else "val"
    if which not in data:
        raise UserInputError(f"expected a '{split}' (or 'val') split in {path.name}, got keys {sorted(data)}")
    images = _yolo_images(root, data[which], path.name)
    ids = _label_map(names, labels, path.name)
    truth = [_yolo_labels(p, ids) for p in images] if task == "detection" else [None] * len(images)
    out = Dataset(f"YOLO dataset {path.name} ({which}: {len(images)} images)", list(images), truth)
    if split == "train" and which == "train" and "val" in data:
        out.held = _yolo(path, task, labels, "val")
    return out


def _yolo_images(root: Path, entries: Any, where: str) -> list[Path]:
    found: list[Path] = []
    for entry in entries if isinstance(entries, list) else [entries]:
        p = Path(entry) if Path(entry).is_absolute() else root / entry
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.suffix == ".txt" and p.is_file():
            found += [(root / line.strip()) if not Path(line.strip()).is_absolute() else Path(line.strip())
                      for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            raise UserInputError(f"expected the image directory or list {entry!r} of {where}, got missing path {str(p)!r}")
    if not found:
        raise UserInputError(f"expected images in {entries!r} of {where}, got none")
    return found


def _yolo_labels(image: Path, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Ultralytics' label file of an image (``/images/`` -> ``/labels/``, ``.txt``) as (xyxy pixels, class ids)."""
    import cv2

    parts = list(image.parts)
    at = max((i for i, p in enumerate(parts) if p == "images"), default=None)
    if at is not None:
        parts[at] = "labels"
    label = Path(*parts).with_suffix(".txt")
    rows = np.zeros((0, 5), np.float64)
    if label.is_file():
        text = label.read_text(encoding="utf-8").split()
        try:
            rows = np.asarray(text, np.float64).reshape(-1, 5)
        except ValueError:
            raise UserInputError(f"expected 'class cx cy w h' rows in {label.name}, got {len(text)} values") from None
    header = cv2.imread(str(image), cv2.IMREAD_UNCHANGED)
    if header is None:
        raise UserInputError(f"expected an image OpenCV can read, got {image.name}")
    h, w = header.shape[:2]
    cx, cy, bw, bh = rows[:, 1] * w, rows[:, 2] * h, rows[:, 3] * w, rows[:, 4] * h
    xyxy = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).astype(np.float32)
    cls = rows[:, 0].astype(np.int64)
    if cls.size and (cls.min() < 0 or cls.max() >= len(ids)):
        raise UserInputError(f"expected class indices below {len(ids)} in {label.name}, got {int(cls.max())}")
    return xyxy, np.asarray([ids[c] for c in cls], np.int64)


def _coco(path: Path, task: str, labels: Sequence[str]) -> Dataset:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserInputError(f"expected COCO JSON, got {path.name} that does not parse: {e}") from None
    if not isinstance(data, dict) or "images" not in data:
        raise UserInputError(f"expected COCO JSON with 'images' (and 'annotations', 'categories'), got "
                             f"{sorted(data) if isinstance(data, dict) else type(data).__name__} in {path.name}")
    cats = sorted(data.get("categories", []), key=lambda c: c["id"])
    ids = dict(zip([c["id"] for c in cats], _label_map([c["name"] for c in cats], labels, path.name)))
    roots = [path.parent, path.parent / "images", path.parent.parent, path.parent.parent / "images"]
    boxes: dict[int, list] = {}
    for a in data.get("annotations", []):
        if not a.get("iscrowd", 0):
            boxes.setdefault(a["image_id"], []).append(a)
    images, truth = [], []
    for im in data["images"]:
        found = next((r / im["file_name"] for r in roots if (r / im["file_name"]).is_file()), None)
        if found is None:
            raise UserInputError(f"expected image {im['file_name']!r} of {path.name} beside it, in images/ or one "
                                 f"directory up, got none there")
        images.append(found)
        anns = boxes.get(im["id"], [])
        xywh = np.asarray([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        truth.append((xyxy, np.asarray([ids[a["category_id"]] for a in anns], np.int64)) if task == "detection"
                     else None)
    if not images:
        raise UserInputError(f"expected images in {path.name}, got none")
    return Dataset(f"COCO {path.name} ({len(images)} images)", images, truth)


def _iterable(items: Iterable[Any], task: str, labels: Sequence[str]) -> Dataset:
    index = {str(n): i for i, n in enumerate(labels)}

    def label_id(name: Any) -> int:
        if isinstance(name, (int, np.integer)):
            return int(name)
        if str(name) not in index:
            raise UserInputError(f"expected a label among {', '.join(labels)}, got {name!r}")
        return index[str(name)]

    images, truth = [], []
    for item in items:
        image, target = (item[0], item[1]) if isinstance(item, tuple) and len(item) == 2 else (item, None)
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise UserInputError(f"expected RGB uint8 images of shape (H, W, 3), got {image.dtype} {image.shape}")
        if target is not None and task == "detection":
            xyxy, cls = target
            target = (np.asarray(xyxy, np.float32).reshape(-1, 4), np.asarray([label_id(c) for c in cls], np.int64))
        elif target is not None and task == "classification":
            target = label_id(target)
        images.append(image)
        truth.append(target)
    if not images:
        raise UserInputError("expected at least one image in the calibration/validation iterable, got none")
    return Dataset(f"python iterable ({len(images)} images)", images, truth)
