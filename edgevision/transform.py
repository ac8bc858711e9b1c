"""The geometric map between a source image and a model's input, kept so results map back exactly.

Coordinates are continuous pixel-edge coordinates: pixel ``i`` covers ``[i, i+1)``.
That is the convention cv2.resize (INTER_LINEAR) and tf.image.resize (half-pixel
centres) sample in, so a box mapped back with ``to_source`` lands on the same
source pixels the model saw.

Every resize mode is axis-aligned: ``input = source * scale + offset`` per axis.

Example:
    >>> t = make_transform((640, 480), (320, 320), ResizeMode.LETTERBOX)
    >>> t.resized, t.pad
    ((320, 240), (0, 40))
    >>> t.to_source([[0, 40, 320, 280]]).round().tolist()
    [[0.0, 0.0, 640.0, 480.0]]
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

Size = tuple[int, int]  # (width, height)


class ResizeMode(str, Enum):
    STRETCH = "stretch"
    LETTERBOX = "letterbox"
    CENTER_CROP = "centre-crop"

    @classmethod
    def parse(cls, value: str | ResizeMode) -> ResizeMode:
        from .errors import UserInputError

        if isinstance(value, ResizeMode):
            return value
        name = str(value).lower().replace("_", "-").replace("center", "centre")
        for mode in cls:
            if mode.value == name:
                return mode
        raise UserInputError(
            f"expected a resize mode among {', '.join(m.value for m in cls)}, got {value!r}"
        )


@dataclass(frozen=True)
class Transform:
    """How one source image became the model input.

    ``crop`` is the source region used (x0, y0, x1, y1); it is resized to
    ``resized`` (w, h) and placed at ``pad`` (left, top) inside the input of size ``input_size``.
    """

    source_size: Size
    input_size: Size
    crop: tuple[int, int, int, int]
    resized: Size
    pad: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """Input pixels per source pixel, per axis."""
        x0, y0, x1, y1 = self.crop
        return self.resized[0] / (x1 - x0), self.resized[1] / (y1 - y0)

    @property
    def offset(self) -> tuple[float, float]:
        sx, sy = self.scale
        return self.pad[0] - self.crop[0] * sx, self.pad[1] - self.crop[1] * sy

    def to_source(self, xyxy: np.ndarray, *, clip: bool = True) -> np.ndarray:
        """Map boxes (N, 4) from model-input pixels to source pixels."""
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        sx, sy = self.scale
        ox, oy = self.offset
        out = (boxes - np.array([ox, oy, ox, oy], np.float32)) / np.array([sx, sy, sx, sy], np.float32)
        if clip:
            w, h = self.source_size
            np.clip(out, 0, [w, h, w, h], out=out)
        return out

    def to_input(self, xyxy: np.ndarray) -> np.ndarray:
        """Map boxes (N, 4) from source pixels to model-input pixels."""
        boxes = np.asarray(xyxy, dtype=np.float32).reshape(-1, 4)
        sx, sy = self.scale
        ox, oy = self.offset
        return boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([ox, oy, ox, oy], np.float32)

    def source_sample_indices(self, grid_size: Size) -> tuple[np.ndarray, np.ndarray]:
        """For every source column and row, the index of the cell in a ``grid_size`` (w, h) map
        over the model input that covers that pixel's centre (nearest sampling, clipped).

        A segmentation class map at any output stride maps back with ``grid[np.ix_(rows, cols)]``.
        """
        gw, gh = grid_size
        sx, sy = self.scale
        ox, oy = self.offset
        w, h = self.source_size
        cx = (np.arange(w, dtype=np.float64) + 0.5) * sx + ox  # input-pixel x of source centres
        cy = (np.arange(h, dtype=np.float64) + 0.5) * sy + oy
        cols = np.clip(np.floor(cx * gw / self.input_size[0]), 0, gw - 1).astype(np.intp)
        rows = np.clip(np.floor(cy * gh / self.input_size[1]), 0, gh - 1).astype(np.intp)
        return rows, cols


def make_transform(source_size: Size, input_size: Size, mode: ResizeMode | str) -> Transform:
    """The transform for one source size, input size and resize mode."""
    mode = ResizeMode.parse(mode)
    sw, sh = int(source_size[0]), int(source_size[1])
    iw, ih = int(input_size[0]), int(input_size[1])
    if mode is ResizeMode.STRETCH:
        return Transform((sw, sh), (iw, ih), (0, 0, sw, sh), (iw, ih), (0, 0))
    if mode is ResizeMode.LETTERBOX:
        s = min(iw / sw, ih / sh)
        rw, rh = min(iw, max(1, round(sw * s))), min(ih, max(1, round(sh * s)))
        return Transform((sw, sh), (iw, ih), (0, 0, sw, sh), (rw, rh), ((iw - rw) // 2, (ih - rh) // 2))
    # Centre-crop: the largest centred source region with the input's aspect ratio.
    s = max(iw / sw, ih / sh)
    cw, ch = min(sw, max(1, round(iw / s))), min(sh, max(1, round(ih / s)))
    x0, y0 = (sw - cw) // 2, (sh - ch) // 2
    return Transform((sw, sh), (iw, ih), (x0, y0, x0 + cw, y0 + ch), (iw, ih), (0, 0))
