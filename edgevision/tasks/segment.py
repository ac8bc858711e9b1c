"""Decode a segmentation output into a class map the size of the source image.

Example:
    >>> import numpy as np
    >>> from edgevision.transform import make_transform
    >>> t = make_transform((4, 2), (2, 2), "stretch")
    >>> scores = np.zeros((1, 2, 2, 3)); scores[0, :, 1, 2] = 1.0  # right column is class 2
    >>> segment(scores, transform=t).class_map.tolist()
    [[0, 0, 2, 2], [0, 0, 2, 2]]
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ModelError
from ..results import Segmentation
from ..transform import Transform
from .common import Quantization, dequantize

LAYOUTS = ("NHWC", "NCHW")


def _matches_aspect(h: int, w: int, input_size: tuple[int, int]) -> bool:
    """True when an h x w grid has the input's aspect ratio, within a cell of rounding."""
    iw, ih = input_size
    return abs(h - w * ih / iw) <= max(0.5, 0.05 * h)


def guess_layout(shape: Sequence[int], input_size: tuple[int, int]) -> str:
    """"NHWC" or "NCHW" for a rank-4 score tensor, from which reading gives an (H, W) grid
    of the model input's aspect ratio; when both or neither do, the smaller dim is C.

    Example:
        >>> guess_layout((1, 21, 224, 224), (224, 224)), guess_layout((1, 8, 8, 150), (256, 256))
        ('NCHW', 'NHWC')
    """
    _, a, b, c = (int(d) for d in shape)
    nhwc, nchw = _matches_aspect(a, b, input_size), _matches_aspect(b, c, input_size)
    if nhwc != nchw:
        return "NHWC" if nhwc else "NCHW"
    return "NHWC" if c <= a else "NCHW"


def _class_ids(values: np.ndarray, quant: Quantization) -> np.ndarray:
    """A class-map tensor (integers, or floats of whole numbers) as int64 class ids."""
    if np.issubdtype(values.dtype, np.integer) and quant is None:
        ids = values.astype(np.int64)
    else:
        ids = np.rint(dequantize(values, quant)).astype(np.int64)
    if ids.size and ids.min() < 0:
        raise ModelError(f"expected non-negative class ids in the class map, got {int(ids.min())}")
    return ids


def segment(
    output: np.ndarray,
    *,
    transform: Transform,
    labels: Sequence[str] = (),
    quant: Quantization = None,
    layout: str | None = None,
) -> Segmentation:
    """The per-pixel class of the source image.

    ``output`` is class scores [1, H, W, C] ("NHWC") or [1, C, H, W] ("NCHW"), reduced by
    argmax over C (the layout is guessed when None, see ``guess_layout``); or a class map
    [1, H, W] / [1, H, W, 1], dequantised with ``quant`` and rounded to whole class ids (so a
    single-channel [0, 1] mask becomes classes 0 and 1). The H x W grid covers the model
    input and is sampled at every source pixel's centre, so padding maps nowhere.

    Example:
        >>> from edgevision.transform import make_transform
        >>> t = make_transform((2, 2), (4, 4), "stretch")
        >>> segment(np.array([[[0, 1], [1, 1]]], np.uint8), transform=t).areas
        {0: 1, 1: 3}
    """
    arr = np.asarray(output)
    shape = tuple(arr.shape)
    if layout is not None and str(layout).upper() not in LAYOUTS:
        raise ModelError(f"expected a layout among {', '.join(LAYOUTS)}, got {layout!r}")
    if arr.ndim not in (3, 4) or shape[0] != 1 or arr.size == 0:
        raise ModelError(
            f"expected a segmentation output [1, H, W, C], [1, C, H, W] or [1, H, W], got {shape}"
        )
    if arr.ndim == 4:
        chosen = str(layout).upper() if layout is not None else guess_layout(shape, transform.input_size)
        scores = arr[0] if chosen == "NHWC" else np.moveaxis(arr[0], 0, -1)
    else:
        scores = arr[0][..., None]
    n_classes = scores.shape[-1]
    if n_classes == 1:
        grid = _class_ids(scores[..., 0], quant)
        n_classes = int(grid.max()) + 1
    else:
        # Per-tensor dequantisation is monotonic, so argmax needs no dequantising.
        grid = np.argmax(scores, axis=-1)
    h, w = grid.shape
    rows, cols = transform.source_sample_indices((w, h))
    dtype = np.uint8 if max(n_classes, len(labels)) <= 256 else np.int32
    return Segmentation(grid[np.ix_(rows, cols)].astype(dtype), labels)
