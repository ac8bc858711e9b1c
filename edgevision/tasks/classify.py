"""Decode a classifier's score vector into the top-k classes.

Like pycoral's ``classify.get_classes``: numpy in, ``Classification`` out.

Example:
    >>> import numpy as np
    >>> c = classify(np.array([[0.1, 0.7, 0.2]]), top_k=2, labels=("a", "b", "c"))
    >>> c.names, c.confidence.astype(float).round(2).tolist()
    (['b', 'c'], [0.7, 0.2])
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ..errors import ModelError
from ..results import Classification
from .common import Quantization, dequantize, softmax

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
    logits: Optional[bool] = None,
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
    if arr.size == 0 or sum(d != 1 for d in arr.shape) > 1:
        raise ModelError(f"expected a classification output of shape (1, C), got {tuple(arr.shape)}")
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
