"""Helpers every task decoder shares: dequantisation and a stable softmax.

Example:
    >>> import numpy as np
    >>> dequantize(np.array([128, 138], np.uint8), (0.5, 128)).tolist()
    [0.0, 5.0]
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError

Quantization = tuple[float | int, float | int] | None
"""Per-tensor ``(scale, zero_point)`` or ``None`` for a float tensor."""


def dequantize(array: np.ndarray, quant: Quantization = None) -> np.ndarray:
    """``(array - zero_point) * scale`` as float32; ``array`` as float32 when ``quant`` is None.

    A scale of 0 is what TFLite reports for a float tensor, so it means "not quantised" too.

    Example:
        >>> dequantize(np.array([-128, 0, 127], np.int8), (0.1, -128)).astype(float).round(1).tolist()
        [0.0, 12.8, 25.5]
        >>> dequantize(np.array([1.5])).dtype
        dtype('float32')
    """
    arr = np.asarray(array)
    params = quant_params(quant)
    if params is None:
        return arr.astype(np.float32, copy=False)
    scale, zero_point = params
    return (arr.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


def quant_params(quant: Quantization) -> tuple[float, float] | None:
    """``(scale, zero_point)`` as floats, or None when not quantised (``None`` or a scale of 0).

    Example:
        >>> quant_params((0.5, 3)), quant_params((0.0, 0)), quant_params(None)
        ((0.5, 3.0), None, None)
    """
    if quant is None:
        return None
    try:
        scale, zero_point = quant
        scale, zero_point = float(scale), float(zero_point)
    except (TypeError, ValueError):
        raise ModelError(f"expected per-tensor quantisation (scale, zero_point), got {quant!r}") from None
    if scale == 0.0:
        return None
    if not math.isfinite(scale) or scale < 0:  # math, not numpy: this runs per frame
        raise ModelError(f"expected a positive quantisation scale, got {scale}")
    return scale, zero_point


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax (the max is subtracted first), as float32.

    Example:
        >>> softmax(np.array([1000.0, 1000.0])).tolist()
        [0.5, 0.5]
    """
    z = np.asarray(x, dtype=np.float32)
    z = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)
