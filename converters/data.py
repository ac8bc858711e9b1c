"""What ``convert`` calibrates on and measures fidelity on, from whatever the user passed.

``calibration``: a directory of images, a YOLO ``data.yaml``, a COCO ``.json``, a Python iterable of
images (the API), a ``.npy`` of preprocessed tensors, or a number of synthetic scenes.
``validation``: the same, less the ``.npy`` and the number. Without ``validation``, a dataset that
names a validation split (YOLO's ``val``) gives it; otherwise every fifth calibration image is
held out (from 10 images on), else 32 synthetic scenes (said loudly).

Example:
    >>> calib, samples = load_data(source, info, "data.yaml", None, 300, print, need_calibration=True)  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserInputError
from . import calibration as cal
from .base import Calibration
from .datasets_io import Dataset, is_dataset_file, is_iterable_data, open_dataset

EXPECTED = ("--calibration (a directory of images, a YOLO data.yaml, a COCO .json, a .npy, or a number of "
            "synthetic samples)")


def _samples(data: Dataset, limit: int = 200) -> list[cal.Sample]:
    """Validation samples of a dataset, its ground truth attached (at most ``limit``, spread over it)."""
    from ..sources import read_image

    chosen: Any = cal._spread_index(len(data), limit) if len(data) else []
    truth = data.truth or [None] * len(data)
    return [cal.Sample(str(data.images[i]) if isinstance(data.images[i], Path) else f"item-{i}",
                       read_image(data.images[i]) if isinstance(data.images[i], Path) else data.images[i], truth[i])
            for i in chosen]


def load_data(source: Any, info: Any, calibration: Any, validation: Any, limit: int, log: Callable[[str], None],
              need_calibration: bool) -> tuple[Calibration | None, list]:
    """(calibration tensors, validation samples with ground truth), from the formats in the module docstring."""
    shape = source.input_shape
    calib: Calibration | None = None
    samples: list[cal.Sample] | None = None
    held: list[Path] = []
    root: Path | None = None
    if calibration is None and need_calibration:
        raise UserInputError(f"expected {EXPECTED} for an int8 target, got none")
    if isinstance(calibration, int) or (isinstance(calibration, str) and calibration.isdigit()):
        calib = cal.calibration_from_synthetic(int(calibration), info.input, shape) if need_calibration else None
    elif calibration is not None and not is_iterable_data(calibration) and Path(calibration).suffix.lower() == ".npy":
        calib = cal.calibration_from_npy(calibration, shape, limit=limit)
    elif is_dataset_file(calibration) or is_iterable_data(calibration):
        data = open_dataset(calibration, info.task, info.labels, split="train")
        used = data
        if validation is None and data.held is not None:
            samples = _samples(data.held)
            log(f"fidelity on {len(samples)} images of {data.held.origin}")
        elif validation is None and len(data) >= 10:  # every fifth item held out, as for a directory
            keep = [i % 5 != 4 for i in range(len(data))]
            used = Dataset(data.origin, [x for x, k in zip(data.images, keep) if k])
            held_out = Dataset(data.origin, [x for x, k in zip(data.images, keep) if not k],
                               [t for t, k in zip(data.truth or [None] * len(data), keep) if not k])
            samples = _samples(held_out)
            log(f"fidelity on {len(samples)} held-out images of {data.origin}")
        if need_calibration:
            calib = cal.calibration_from_images(used.images, info.input, shape, limit=limit,
                                                origin=f"{min(len(used), limit)} images of {data.origin}")
    elif calibration is not None:
        images = cal.find_images(calibration)
        used_images = images
        if validation is None and len(images) >= 10:
            used_images, held = cal.split_held_out(images)
            root = Path(calibration)
        calib = cal.calibration_from_images(used_images, info.input, shape, limit=limit) if need_calibration else None
    if validation is not None:
        if is_dataset_file(validation) or is_iterable_data(validation):
            data = open_dataset(validation, info.task, info.labels, split="val")
            samples = _samples(data)
            log(f"fidelity on {len(samples)} images of {data.origin}")
        else:
            held, root = cal.find_images(validation), Path(validation)
    if samples is None and held:
        samples = cal.load_samples(held, info.task, info.labels, root=root)
        log(f"fidelity on {len(samples)} held-out images from {held[0].parent}")
    if samples is None:
        w, h = source.size
        scenes = cal.synthetic_images(32, (max(w, 64), max(h, 64)), seed=12345)
        samples = [cal.Sample(f"synthetic-{i}", im) for i, im in enumerate(scenes)]
        log("warning: no held-out images (pass --validation DIR): fidelity measured on 32 synthetic scenes")
    if calib is not None:
        if source.input_dtype in ("uint8", "int8") and source.input_quant is None:
            calib.dtype = np.dtype(source.input_dtype)  # an image_tensor takes the pixels themselves
        log(f"calibration: {calib.origin}")
    return calib, samples
