"""Calibration and validation data: images preprocessed by the runtime's own code, a ``.npy``, or synthetic.

Images go through ``edgevision.preprocess.Preprocessor``, the code that
prepares camera frames on the device, so int8 ranges are calibrated on exactly
what the artifact will see. Ground truth for fidelity sits beside each image
(the format ``edgevision.converters.datasets.write_shapes_dataset`` writes):

- ``name.json``: ``{"class": "circle"}`` or ``{"boxes": [[x0, y0, x1, y1], ...], "labels": [...]}``
- ``name.mask.png``: a class map (0 = background, class id + 1), for segmentation

A directory whose images sit in sub-directories named after labels
(``dir/circle/*.png``) gives classification ground truth too.

Example:
    >>> images = find_images("calib/")                               # doctest: +SKIP
    >>> cal = calibration_from_images(images, fmt, (1, 224, 224, 3))  # doctest: +SKIP
    >>> len(cal), next(iter(cal)).shape                               # doctest: +SKIP
    (200, (1, 224, 224, 3))
"""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cli.console import progress
from ..errors import UserInputError
from ..preprocess import InputFormat, Preprocessor
from ..sources import IMAGE_SUFFIXES, read_image
from .base import Calibration

SYNTHETIC_WARNING = ("calibrating on {n} synthetic images, not your data: int8 ranges fitted to them can cost "
                     "accuracy on real frames; pass --calibration DIR with a few hundred real images")


@dataclass
class Sample:
    """One validation image with the ground truth found beside it (None when there is none)."""

    path: str
    image: np.ndarray
    truth: Any = None  # class id, (xyxy, class_ids), or a class map


def find_images(directory: str | Path) -> list[Path]:
    """Every image under ``directory`` (sub-directories too), sorted; a typed error when there are none."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserInputError(f"expected a directory of images, got missing path {str(directory)!r}")
    images = sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
                    and p.is_file() and not p.name.endswith((".mask.png", ".instances.png")))
    if not images:
        raise UserInputError(f"expected images ({', '.join(IMAGE_SUFFIXES)}) in {str(directory)!r}, got none")
    return images


def split_held_out(images: Sequence[Path], every: int = 5) -> tuple[list[Path], list[Path]]:
    """(calibration, held-out): every ``every``-th image is held out for fidelity, the rest calibrate."""
    held = [p for i, p in enumerate(images) if i % every == every - 1]
    return [p for i, p in enumerate(images) if i % every != every - 1], held


def calibration_from_images(images: Sequence[Any], fmt: InputFormat, shape: Sequence[int], *,
                            limit: int = 300, label: str = "calibrating", origin: str | None = None) -> Calibration:
    """Float32 input tensors of ``shape`` from image files (or RGB uint8 arrays), preprocessed as the runtime does."""
    pre = Preprocessor(fmt, shape=tuple(shape), dtype=np.dtype(np.float32))
    chosen = _spread(list(images), limit)
    out = np.empty((len(chosen), *shape[1:]), np.float32)
    with progress(len(chosen), label) as bar:  # stderr as it is now: the CLI's, not the one held from C++
        for i, path in enumerate(chosen):
            pre(read_image(path) if isinstance(path, (str, Path)) else path, out[i:i + 1])
            bar.update()
    return Calibration(out, origin=origin or f"images: {len(chosen)} from {Path(chosen[0]).parent}")


def calibration_from_npy(path: str | Path, shape: Sequence[int], *, limit: int = 300) -> Calibration:
    """Float32 input tensors from a ``.npy`` of shape (N, *input) or (N, 1, *input), already preprocessed."""
    path = Path(path)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserInputError(f"expected a .npy array of input tensors, got {path.name!r}: {e}") from None
    want = tuple(shape[1:])
    if array.ndim == len(shape) + 1 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != len(shape) or tuple(array.shape[1:]) != want or len(array) == 0:
        raise UserInputError(f"expected a .npy of shape (N, {', '.join(map(str, want))}), got {array.shape} in {path.name}")
    return Calibration(np.asarray(array[_spread_index(len(array), limit)], np.float32),
                       origin=f"npy: {len(array)} tensors from {path.name}")


def synthetic_images(count: int, size: tuple[int, int], seed: int = 0) -> list[np.ndarray]:
    """``count`` seeded synthetic shapes scenes (RGB uint8) of ``size`` (w, h)."""
    from ..sources.shapes import shapes_scene

    rng = np.random.default_rng(seed)
    return [shapes_scene(rng, size, n_shapes=int(rng.integers(1, 5))).image for _ in range(count)]


def calibration_from_synthetic(count: int, fmt: InputFormat, shape: Sequence[int], *, seed: int = 0) -> Calibration:
    """Float32 tensors from ``count`` synthetic scenes; warns loudly, since this costs accuracy on real data."""
    if count <= 0:
        raise UserInputError(f"expected a positive number of synthetic calibration samples, got {count}")
    print("warning: " + SYNTHETIC_WARNING.format(n=count), file=sys.stderr)  # loud on purpose
    pre = Preprocessor(fmt, shape=tuple(shape), dtype=np.dtype(np.float32))
    out = np.empty((count, *shape[1:]), np.float32)
    w, h = pre.size
    for i, image in enumerate(synthetic_images(count, (max(w, 64), max(h, 64)), seed)):
        pre(image, out[i:i + 1])
    return Calibration(out, origin=f"synthetic: {count} shapes scenes (seed {seed})")


def load_samples(images: Sequence[Path], task: str, labels: Sequence[str], *, limit: int = 200,
                 root: Path | None = None) -> list[Sample]:
    """Validation images with their ground truth (where given beside them)."""
    return [Sample(str(p), read_image(p), read_truth(p, task, labels, root)) for p in _spread(list(images), limit)]


def read_truth(image: Path, task: str, labels: Sequence[str], root: Path | None = None) -> Any:
    """The ground truth beside one image, or None: read by the task registry's ``read_truth`` for ``task``."""
    from ..refs import resolve
    from ..tasks.registry import task_spec

    sidecar = image.with_suffix(".json")
    truth = Truth(image, sidecar, json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {},
                  {name: i for i, name in enumerate(labels)}, root)
    return resolve(task_spec(task).read_truth)(truth)


@dataclass(frozen=True)
class Truth:
    """What a task's ground-truth reader gets for one image: the image, its JSON sidecar and the label index."""

    image: Path
    sidecar: Path  # NAME.json beside the image (may not exist)
    data: dict  # the sidecar's content ({} when there is none)
    index: dict  # label -> class id
    root: Path | None  # the directory the images were found in

    def label_id(self, name: Any) -> int:
        return _label_id(name, self.index, self.sidecar)


def classification_truth(t: Truth) -> int | None:
    """``{"class": "circle"}`` beside the image, or the name of the sub-directory it sits in."""
    name = t.data.get("class")
    if name is None and t.root is not None and t.image.parent != t.root:
        name = t.image.parent.name
    return t.label_id(name) if name is not None else None


def detection_truth(t: Truth) -> tuple[np.ndarray, np.ndarray] | None:
    """``{"boxes": [[x0, y0, x1, y1], ...], "labels": [...]}`` beside the image, as (xyxy, class ids)."""
    if "boxes" not in t.data:
        return None
    boxes = np.asarray(t.data["boxes"], np.float32).reshape(-1, 4)
    ids = np.asarray([t.label_id(n) for n in t.data.get("labels", [])], np.int64)
    if len(ids) != len(boxes):
        raise UserInputError(f"expected one label per box in {t.sidecar.name}, got {len(ids)} for {len(boxes)} boxes")
    return boxes, ids


def segmentation_truth(t: Truth) -> np.ndarray | None:
    """``NAME.mask.png`` beside the image: a class map (0 background, class id + 1)."""
    mask = t.image.with_name(t.image.stem + ".mask.png")
    if not mask.is_file():
        return None
    import cv2

    found: np.ndarray | None = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    return found


def _label_id(name: Any, index: dict, where: Path) -> int:
    if isinstance(name, int):
        return name
    if name not in index:
        raise UserInputError(f"expected a label among {', '.join(index)} in {where.name}, got {name!r}")
    return index[name]


def _spread_index(n: int, limit: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int))


def _spread(items: list, limit: int) -> list:
    """At most ``limit`` items, evenly spread over the list (not just the first ones)."""
    return [items[i] for i in _spread_index(len(items), limit)] if items else []
