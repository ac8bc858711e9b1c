"""Instance masks kept compactly: per instance a bitmap cropped to its box, in source pixels; COCO RLE and polygons.

A mask of a 40x30 object in a 1920x1080 frame is 1,200 booleans here, not two
million. ``InstanceMasks`` holds one such crop per instance with its top-left
corner; ``rle(i)`` gives the COCO run-length encoding of the whole image
(``{"size": [h, w], "counts": "..."}``, the compressed string pycocotools writes
and ``pycocotools.mask.decode`` reads), computed from the crop alone, and
``polygons(i)`` the outlines (OpenCV, imported then).

Example:
    >>> bitmap = np.array([[0, 1], [1, 1]], bool)
    >>> masks = InstanceMasks((4, 3), np.array([[1, 1]]), [bitmap])
    >>> masks.full(0).astype(int).tolist()
    [[0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0]]
    >>> masks.rle(0)
    {'size': [3, 4], 'counts': '51112'}
    >>> rle_decode(masks.rle(0)).astype(int).tolist() == masks.full(0).astype(int).tolist()
    True
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def _runs(bitmap: np.ndarray, origin: tuple[int, int], height: int) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of ones of a crop in the column-major order of the whole image."""
    h, w = bitmap.shape
    if h == 0 or w == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    cols = np.zeros((w, h + 2), np.int8)  # one row of zeros above and below every column of the crop
    cols[:, 1:-1] = bitmap.T
    edges = np.diff(cols, axis=1)
    col_s, row_s = np.nonzero(edges == 1)  # a run starts at row_s of column col_s
    _, row_e = np.nonzero(edges == -1)  # ...and ends (exclusive) at row_e; same order, one end per start
    x0, y0 = origin
    base = (x0 + col_s.astype(np.int64)) * height + y0
    starts, ends = base + row_s, base + row_e
    if len(starts) > 1:  # a run at the bottom of one column goes on at the top of the next one
        joined = starts[1:] == ends[:-1]
        if joined.any():
            keep = np.concatenate([[True], ~joined])
            ends = np.concatenate([ends[:-1][~joined], ends[-1:]])
            starts = starts[keep]
    return starts, ends


def rle_counts(bitmap: np.ndarray, origin: tuple[int, int], size: tuple[int, int]) -> list[int]:
    """COCO's uncompressed RLE counts (zeros first, column-major) of a crop placed at ``origin`` in ``size`` (w, h).

    Example:
        >>> rle_counts(np.ones((1, 2), bool), (1, 0), (3, 2))
        [2, 1, 1, 1, 1]
    """
    w, h = size
    starts, ends = _runs(np.asarray(bitmap, bool), origin, h)
    bounds = np.empty(2 * len(starts) + 2, np.int64)
    bounds[0], bounds[-1] = 0, w * h
    bounds[1:-1:2], bounds[2:-1:2] = starts, ends
    counts = np.diff(bounds)
    if len(counts) > 1 and counts[-1] == 0:  # no trailing zeros: COCO ends on the last run of ones
        counts = counts[:-1]
    return counts.tolist()


def rle_string(counts: Sequence[int]) -> str:
    """pycocotools' compressed form of RLE counts: LEB128-like, 5 bits a character, deltas after the third count.

    Example:
        >>> rle_string([2, 1, 1, 1, 1])
        '21100'
    """
    out = []
    for i, value in enumerate(counts):
        x = int(value) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift, as C's on a signed long
            more = x != -1 if c & 0x10 else x != 0
            out.append(chr((c | 0x20 if more else c) + 48))
    return "".join(out)


def rle_string_counts(text: str) -> list[int]:
    """The counts of a compressed RLE string (the inverse of ``rle_string``).

    Example:
        >>> rle_string_counts('21100')
        [2, 1, 1, 1, 1]
    """
    counts: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    """The (h, w) boolean mask of a COCO RLE (``counts`` a compressed string or a list).

    Example:
        >>> rle_decode({"size": [2, 3], "counts": [2, 1, 1, 1, 1]}).astype(int).tolist()
        [[0, 1, 1], [0, 0, 0]]
    """
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    counts = rle_string_counts(counts) if isinstance(counts, str) else [int(c) for c in counts]
    flat = np.zeros(h * w, bool)
    ends = np.cumsum(counts)
    for start, end in zip(ends[0::2], ends[1::2]):
        flat[start:end] = True
    return flat.reshape(w, h).T


class InstanceMasks:
    """Per instance a boolean bitmap cropped to its box, placed at ``origins[i]`` (x0, y0) in an image of ``size`` (w, h)."""

    def __init__(self, size: tuple[int, int], origins: np.ndarray, bitmaps: Sequence[np.ndarray]) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.origins = np.asarray(origins, np.int64).reshape(-1, 2)
        self.bitmaps = [np.asarray(b, bool) for b in bitmaps]
        if len(self.bitmaps) != len(self.origins):
            raise ValueError(f"expected one origin per bitmap, got {len(self.origins)} for {len(self.bitmaps)}")
        w, h = self.size
        for (x0, y0), b in zip(self.origins, self.bitmaps):
            if b.ndim != 2 or x0 < 0 or y0 < 0 or x0 + b.shape[1] > w or y0 + b.shape[0] > h:
                raise ValueError(f"expected a 2-D bitmap inside the {w}x{h} image, got {b.shape} at ({x0}, {y0})")

    @classmethod
    def empty(cls, size: tuple[int, int] = (0, 0)) -> InstanceMasks:
        return cls(size, np.zeros((0, 2), np.int64), [])

    @classmethod
    def from_full(cls, masks: np.ndarray) -> InstanceMasks:
        """From (n, h, w) full-image masks: each cropped to the extent of its pixels.

        Example:
            >>> m = np.zeros((1, 4, 5), bool); m[0, 1:3, 2:4] = True
            >>> InstanceMasks.from_full(m).origins.tolist(), InstanceMasks.from_full(m).bitmaps[0].shape
            ([[2, 1]], (2, 2))
        """
        masks = np.asarray(masks, bool)
        _, h, w = masks.shape
        origins, bitmaps = [], []
        for m in masks:
            ys, xs = np.nonzero(m)
            if len(xs) == 0:
                origins.append((0, 0))
                bitmaps.append(np.zeros((0, 0), bool))
                continue
            origins.append((int(xs.min()), int(ys.min())))
            bitmaps.append(m[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
        return cls((w, h), np.array(origins, np.int64).reshape(-1, 2), bitmaps)

    def __len__(self) -> int:
        return len(self.bitmaps)

    def __getitem__(self, index: Any) -> InstanceMasks:
        chosen = np.arange(len(self))[index].reshape(-1)
        return InstanceMasks(self.size, self.origins[chosen], [self.bitmaps[i] for i in chosen])

    def areas(self) -> np.ndarray:
        """(n,) pixels in each mask."""
        return np.array([int(b.sum()) for b in self.bitmaps], np.int64)

    def full(self, i: int) -> np.ndarray:
        """Instance ``i``'s mask over the whole image, (h, w) bool."""
        w, h = self.size
        out = np.zeros((h, w), bool)
        (x0, y0), b = self.origins[i], self.bitmaps[i]
        out[y0:y0 + b.shape[0], x0:x0 + b.shape[1]] = b
        return out

    def rle(self, i: int) -> dict[str, Any]:
        """COCO RLE of instance ``i`` over the whole image: ``{"size": [h, w], "counts": "<compressed>"}``."""
        w, h = self.size
        x0, y0 = (int(v) for v in self.origins[i])
        return {"size": [h, w], "counts": rle_string(rle_counts(self.bitmaps[i], (x0, y0), self.size))}

    def polygons(self, i: int) -> list[list[float]]:
        """Outer outlines of instance ``i`` as COCO polygons ``[[x1, y1, x2, y2, ...], ...]`` in pixel-edge coordinates."""
        import cv2  # drawing and outlines need OpenCV; imported when asked for

        b = self.bitmaps[i]
        if b.size == 0 or not b.any():
            return []
        contours, _ = cv2.findContours(b.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        x0, y0 = (int(v) for v in self.origins[i])
        # Contour points are pixel indices; +0.5 puts them on pixel centres, in the image's own coordinates.
        return [[round(float(v), 1) for p in c.reshape(-1, 2) for v in (p[0] + x0 + 0.5, p[1] + y0 + 0.5)]
                for c in contours if len(c) >= 3]

    def iou(self, other: InstanceMasks) -> np.ndarray:
        """(n, m) mask IoU of every instance here with every one of ``other`` (same image size).

        Example:
            >>> a = InstanceMasks((4, 4), np.array([[0, 0]]), [np.ones((2, 2), bool)])
            >>> b = InstanceMasks((4, 4), np.array([[1, 0]]), [np.ones((2, 2), bool)])
            >>> a.iou(b).round(3).tolist()
            [[0.333]]
        """
        out = np.zeros((len(self), len(other)), np.float64)
        area_a, area_b = self.areas(), other.areas()
        for i, ((ax, ay), a) in enumerate(zip(self.origins, self.bitmaps)):
            for j, ((bx, by), b) in enumerate(zip(other.origins, other.bitmaps)):
                x0, y0 = max(ax, bx), max(ay, by)
                x1, y1 = min(ax + a.shape[1], bx + b.shape[1]), min(ay + a.shape[0], by + b.shape[0])
                inter = 0
                if x1 > x0 and y1 > y0:
                    inter = int(np.count_nonzero(a[y0 - ay:y1 - ay, x0 - ax:x1 - ax] & b[y0 - by:y1 - by, x0 - bx:x1 - bx]))
                union = area_a[i] + area_b[j] - inter
                out[i, j] = inter / union if union else 0.0
        return out
