"""Decode a classifier's score vector into the top-k classes.

Like pycoral's ``classify.get_classes``: numpy in, ``Classification`` out.

Example:
    >>> import numpy as np
    >>> c = classify(np.array([[0.1, 0.7, 0.2]]), top_k=2, labels=("a", "b", "c"))
    >>> c.names, c.confidence.astype(float).round(2).tolist()
    (['b', 'c'], [0.7, 0.2])
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..errors import ModelError
from ..results import Classification
from .common import Quantization, dequantize, quant_params, softmax

# Float rounding lets a softmax output reach 1.0000001; quantised ones stay below 1.
_PROBABILITY_TOLERANCE = 1e-3


def looks_like_probabilities(scores: np.ndarray) -> bool:
    """True when every score lies in [0, 1]: a softmax vector or independent sigmoid scores.

    Values in [0, 1] are never re-normalised, whatever they sum to: a multi-label sigmoid
    output does not sum to 1, and a quantised softmax can miss 1 by several percent.

    Example:
        >>> looks_like_probabilities(np.array([0.2, 0.9, 0.7])), looks_like_probabilities(np.array([-1.0, 3.0]))
        (True, False)
    """
    s = np.asarray(scores, dtype=np.float32)
    return bool(s.size) and float(s.min()) >= -_PROBABILITY_TOLERANCE and float(s.max()) <= 1 + _PROBABILITY_TOLERANCE


def classify(
    scores: np.ndarray,
    *,
    top_k: int = 5,
    score_threshold: float = 0.0,
    labels: Sequence[str] = (),
    quant: Quantization = None,
    logits: bool | None = None,
) -> Classification:
    """The ``top_k`` best classes with a score of at least ``score_threshold``, best first.

    ``scores`` is shape (1, C) or (C,); it is dequantised with ``quant`` first. ``logits``:
    True applies a softmax, False uses the scores as they are, None applies a softmax only
    when some score lies outside [0, 1]. Ties keep the lower class id first.

    Example:
        >>> c = classify(np.array([2.0, 0.0, 1.0]), top_k=2)  # logits -> softmax
        >>> c.class_id.tolist(), c.confidence.astype(float).round(3).tolist()
        ([0, 2], [0.665, 0.245])
    """
    arr = np.asarray(scores)
    if arr.size == 0 or arr.size != max(arr.shape, default=1):  # i.e. more than one dimension above 1
        raise ModelError(f"expected a classification output of shape (1, C), got {tuple(arr.shape)}")
    if quant is not None and logits is not True and arr.dtype.kind in "iu":
        decoded = _classify_quantised(arr.reshape(-1), tuple(quant), top_k, score_threshold, labels, logits)
        if decoded is not None:
            return decoded
    x = dequantize(arr, quant).reshape(-1)
    if logits is None:
        logits = not looks_like_probabilities(x)
    if logits:
        x = softmax(x)
    k = min(int(top_k), x.size)
    if k <= 0:
        return Classification(np.zeros(0, np.int64), np.zeros(0, np.float32), labels)
    candidates = np.argpartition(-x, k - 1)[:k]
    # Best first; equal scores by class id, so the order never depends on argpartition.
    best = candidates[np.lexsort((candidates, -x[candidates]))]
    best = best[x[best] >= score_threshold]
    return Classification(best.astype(np.int64), x[best], labels)


def _classify_quantised(q: np.ndarray, quant: tuple, top_k: int, score_threshold: float,
                        labels: Sequence[str], logits: bool | None) -> Classification | None:
    """``classify`` for integer scores, or None when they are not quantised or turn out to be logits.

    Dequantisation is increasing (the scale is positive), so the integers rank the classes as
    the scores do: a stable (radix) argsort on them gives the top k, ties by lower class id,
    and only those k are dequantised. This runs on every frame right after the engine, on
    cold caches, where every numpy call costs microseconds: so what depends only on the
    dtype and quantisation is cached, and ndarray methods are used rather than the
    ``np.argsort``/``np.take`` wrappers, which add a Python layer.
    """
    try:
        levels = _quantised_levels(q.dtype, quant)
    except TypeError:  # unhashable, e.g. per-channel arrays: dequantize reports what is wrong
        return None
    if levels is None:
        return None
    table, always_probabilities, lowest, scale, zero_point = levels
    if logits is None and not always_probabilities:  # the extremes decide, as looks_like_probabilities does
        lo, hi = (np.array((q.min(), q.max()), np.float32) - np.float32(zero_point)) * np.float32(scale)
        if lo < -_PROBABILITY_TOLERANCE or hi > 1 + _PROBABILITY_TOLERANCE:
            return None
    k = min(int(top_k), q.size)
    if k <= 0:
        return Classification(np.zeros(0, np.int64), np.zeros(0, np.float32), labels)
    best = (~q).argsort(kind="stable")[:k]  # ~q reverses the order of any integer type without overflow
    top = q.take(best)
    if table is not None:  # an int8 value v < 0 indexes from the end: table[256 + v], its byte
        confidence = table.take(top)
    else:
        confidence = (top.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
    # Best first, so only the last needs a look; and none when no value can fall below the threshold.
    if not score_threshold <= lowest and not confidence[-1] >= score_threshold:
        keep = confidence >= score_threshold
        best, confidence = best[keep], confidence[keep]
    return Classification(best, confidence, labels)


@lru_cache(maxsize=64)
def _quantised_levels(dtype: np.dtype, quant: tuple) -> tuple | None:
    """What a quantised output's dtype and (scale, zero_point) fix, once: None when not quantised, else
    (for 8-bit types every dequantised value indexed by its byte, else None; whether every value
    lies in [0, 1]; the lowest value, so a threshold at or below it needs no check; scale; zero point).

    A uint8/int8 softmax output (scale 1/256) can only hold probabilities, so it needs no
    per-frame check. The values are ``dequantize``'s, bit for bit.
    """
    params = quant_params(quant)
    if params is None:
        return None
    scale, zero_point = params
    info = np.iinfo(dtype)
    lo, hi = (np.array((info.min, info.max)).astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
    always = bool(lo >= -_PROBABILITY_TOLERANCE and hi <= 1 + _PROBABILITY_TOLERANCE)
    table = None
    if np.dtype(dtype).itemsize == 1:
        table = (np.arange(256, dtype=np.uint8).view(dtype).astype(np.float32) - np.float32(zero_point)) * np.float32(scale)
        table.flags.writeable = False
    return table, always, float(lo), scale, zero_point
