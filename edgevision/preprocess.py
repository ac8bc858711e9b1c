"""Turn a uint8 RGB frame into a model's input tensor, writing straight into a reused buffer.

Normalisation and quantisation are folded into one 256-entry lookup table per
channel (every uint8 pixel value maps to exactly one input value), so a frame
goes resize -> table lookup -> input buffer with no float round trip. Three
common cases skip even the table: a uint8 input that takes raw pixels is a
plain copy, an int8 input that takes ``pixel - 128`` is an XOR with 0x80, and a
float input that takes raw pixels (the model rescales them itself) is a cast.

Example:
    >>> import numpy as np
    >>> fmt = InputFormat(resize="letterbox")
    >>> pre = Preprocessor(fmt, shape=(1, 64, 64, 3), dtype=np.uint8, quant=(1 / 255, 0))
    >>> buf = np.zeros((1, 64, 64, 3), np.uint8)
    >>> pre(np.full((48, 64, 3), 200, np.uint8), buf).pad
    (0, 8)
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ImageError, ModelError, UserInputError
from .transform import ResizeMode, Transform, make_transform


@functools.lru_cache(maxsize=1)
def opencv() -> Any:
    """OpenCV, or None when it is not installed (numpy then does the same work, more slowly).

    Imported when the first Preprocessor is made, not with ``import edgevision``: it adds
    tens of milliseconds and megabytes that a program which only converts or inspects never uses.
    """
    from .limits import opencv_limits

    opencv_limits()
    try:
        import cv2
    except ModuleNotFoundError:  # pragma: no cover - exercised on numpy-only installs
        return None
    return cv2


@dataclass(frozen=True)
class InputFormat:
    """What the model expects of an image, apart from what the model file itself says.

    ``mean``/``std`` are in pixel units (0..255): the model sees ``(pixel - mean) / std``.
    Left as None, a float input gets pixels scaled to [0, 1] and a quantised
    (uint8/int8) input gets the raw pixels, the convention of quantised TFLite models.
    """

    size: tuple[int, int] | None = None  # (w, h); None -> from the model
    layout: str | None = None  # "NHWC" | "NCHW"; None -> from the model's shape
    color: str = "RGB"  # channel order the model wants: "RGB" | "BGR"
    resize: ResizeMode = ResizeMode.STRETCH
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    pad_value: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "resize", ResizeMode.parse(self.resize))
        if self.color.upper() not in ("RGB", "BGR"):
            raise UserInputError(f"expected input colour 'RGB' or 'BGR', got {self.color!r}")
        object.__setattr__(self, "color", self.color.upper())
        if self.layout is not None and self.layout.upper() not in ("NHWC", "NCHW"):
            raise UserInputError(f"expected input layout 'NHWC' or 'NCHW', got {self.layout!r}")
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None:
                value = tuple(float(v) for v in np.atleast_1d(value))
                if len(value) not in (1, 3):
                    raise UserInputError(f"expected {name} of 1 or 3 values, got {len(value)}")
                object.__setattr__(self, name, value)
        if self.std is not None and any(s == 0 for s in self.std):
            raise UserInputError(f"expected non-zero std, got {self.std}")

    def to_dict(self) -> dict:
        return {
            "size": list(self.size) if self.size else None,
            "layout": self.layout,
            "color": self.color,
            "resize": self.resize.value,
            "mean": list(self.mean) if self.mean else None,
            "std": list(self.std) if self.std else None,
            "pad_value": self.pad_value,
        }


def image_layout(shape: Sequence[int]) -> str:
    """NHWC or NCHW from a 4-D image shape; ModelError when the shape is not an image."""
    shape = tuple(int(d) for d in shape)
    if len(shape) == 4 and shape[-1] in (1, 3):
        return "NHWC"
    if len(shape) == 4 and shape[1] in (1, 3):
        return "NCHW"
    raise ModelError(
        f"expected an image input of shape [1, H, W, 1|3] or [1, 1|3, H, W], got {list(shape)}"
    )


def resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize with half-pixel centres (cv2 INTER_LINEAR's sampling) in numpy."""
    h, w = image.shape[:2]
    nw, nh = size
    if (w, h) == (nw, nh):
        return image

    def axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(np.intp)
        return lo, np.minimum(lo + 1, n_in - 1), (pos - lo).astype(np.float32)

    y0, y1, fy = axis(nh, h)
    x0, x1, fx = axis(nw, w)
    img = image.astype(np.float32)
    top = img[y0][:, x0] * (1 - fx)[None, :, None] + img[y0][:, x1] * fx[None, :, None]
    bot = img[y1][:, x0] * (1 - fx)[None, :, None] + img[y1][:, x1] * fx[None, :, None]
    out = top * (1 - fy)[:, None, None] + bot * fy[:, None, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _resize(image: np.ndarray, size: tuple[int, int], cv2: Any) -> np.ndarray:
    if image.shape[1] == size[0] and image.shape[0] == size[1]:
        return image
    if cv2 is not None:
        resized: np.ndarray = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        return resized
    return resize_bilinear(image, size)


@dataclass
class Preprocessor:
    """Preprocesses frames for one input tensor (shape, dtype, quantisation).

    Call it with an HxWx3 uint8 RGB image and the input buffer; it writes the
    buffer in place and returns the Transform that maps results back.
    """

    fmt: InputFormat
    shape: tuple[int, ...]
    dtype: np.dtype
    quant: tuple[float, int] | None = None
    layout: str = field(init=False)
    size: tuple[int, int] = field(init=False)
    channels: int = field(init=False)

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)
        self.layout = (self.fmt.layout or image_layout(self.shape)).upper()
        if self.layout != image_layout(self.shape) and self.shape[1] != self.shape[-1]:
            raise ModelError(f"expected a {self.layout} input, got shape {list(self.shape)}")
        if self.layout == "NHWC":
            _, h, w, self.channels = self.shape
        else:
            _, self.channels, h, w = self.shape
        if h <= 0 or w <= 0:
            raise ModelError(f"expected a static input height and width, got shape {list(self.shape)}: pass the size "
                             f"to run it at, --size WxH (size=(w, h) in Python)")
        self.size = (w, h)
        if self.quant is not None and self.quant[0] == 0:
            self.quant = None
        self._lut = self._build_lut()
        self._mode = self._fast_mode()
        self._cv2 = cv2 = opencv()
        # cv2.LUT maps uint8 to any depth, channel by channel: (1, 256, C), C being 1 or the image's.
        self._cv2_lut = None
        if cv2 is not None and self._mode == "lut" and self.dtype in (np.uint8, np.int8, np.float32):
            table = self._lut[:1] if (self._lut == self._lut[:1]).all() else self._lut
            self._cv2_lut = np.ascontiguousarray(table.T[None])
        # Raw RGB pixels into an NHWC input: cv2 resizes straight into the input buffer (dst=), no temporary.
        self._direct = (cv2 is not None and self._mode in ("copy", "xor") and self.layout == "NHWC"
                        and self.channels == 3 and self.fmt.color == "RGB")
        self._transforms: dict = {}
        self._raw: tuple = (None, None)  # (buffer, its HxWx3 uint8 view): the same buffer comes every frame

    # -- tables -------------------------------------------------------------------------
    def _build_lut(self) -> np.ndarray:
        """(C, 256) table: pixel value -> input value, in the input's dtype."""
        quantised = self.dtype.kind in "iu"
        mean, std = self.fmt.mean, self.fmt.std
        if mean is None and std is None:
            if quantised:  # raw pixels, the quantised-TFLite convention
                pixels = np.arange(256, dtype=np.int64)
                if self.dtype == np.int8:
                    pixels = pixels - 128
                lut = np.clip(pixels, np.iinfo(self.dtype).min, np.iinfo(self.dtype).max)
                return np.tile(lut.astype(self.dtype), (self.channels, 1))
            mean, std = (0.0,), (255.0,)
        means = np.broadcast_to(np.asarray(mean or (0.0,), np.float64), (self.channels,))
        stds = np.broadcast_to(np.asarray(std or (1.0,), np.float64), (self.channels,))
        values = (np.arange(256, dtype=np.float64)[None, :] - means[:, None]) / stds[:, None]
        if not quantised:
            return values.astype(self.dtype)
        # An integer input without quantisation parameters (an OpenVINO or ONNX uint8 input, TF's image_tensor)
        # takes the values themselves: scale 1, zero point 0.
        scale, zero_point = self.quant if self.quant is not None else (1.0, 0)
        info = np.iinfo(self.dtype)
        return np.clip(np.rint(values / scale) + zero_point, info.min, info.max).astype(self.dtype)

    def _fast_mode(self) -> str:
        identity = np.arange(256)
        if self.dtype == np.uint8 and (self._lut == identity).all():
            return "copy"
        if self.dtype == np.int8 and (self._lut.astype(np.int64) == identity - 128).all():
            return "xor"
        if self.dtype.kind == "f" and (self._lut == identity).all():
            return "cast"  # every uint8 value is exact in any float type: the same values as the table
        return "lut"

    # -- per frame ----------------------------------------------------------------------
    def transform_for(self, source_size: tuple[int, int]) -> Transform:
        t = self._transforms.get(source_size)
        if t is None:
            t = self._transforms[source_size] = make_transform(source_size, self.size, self.fmt.resize)
        return t

    def __call__(self, image: np.ndarray, out: np.ndarray) -> Transform:
        image = check_image(image)
        t = self.transform_for((image.shape[1], image.shape[0]))
        if self._direct:
            buffer, raw = self._raw
            if buffer is not out:
                raw = out[0].view(np.uint8)  # int8 shares the bytes; XOR 0x80 turns pixel p into p - 128
                self._raw = (out, raw)
            self._resize_into(image, raw, t)
            return t
        x0, y0, x1, y1 = t.crop
        resized = _resize(image[y0:y1, x0:x1], t.resized, self._cv2)
        if self.channels == 1:
            resized = _to_gray(resized, self._cv2)
        elif self.fmt.color == "BGR":
            resized = resized[..., ::-1]
        hwc = out[0] if self.layout == "NHWC" else out[0].transpose(1, 2, 0)
        px, py = t.pad
        rw, rh = t.resized
        if (rw, rh) != self.size:
            hwc[...] = self._lut[:, self.fmt.pad_value]
        self._apply(resized, hwc[py : py + rh, px : px + rw])
        return t

    def _resize_into(self, image: np.ndarray, raw: np.ndarray, t: Transform) -> None:
        """The copy/xor modes for an NHWC RGB input: resize straight into the (uint8 view of the) buffer,
        then XOR there for int8."""
        x0, y0, x1, y1 = t.crop
        px, py = t.pad
        rw, rh = t.resized
        if (rw, rh) != self.size:
            raw[...] = self._lut[:, self.fmt.pad_value].view(np.uint8)
            raw = raw[py : py + rh, px : px + rw]
        src = image if (x0, y0, x1, y1) == (0, 0, image.shape[1], image.shape[0]) else image[y0:y1, x0:x1]
        if src.shape[:2] == raw.shape[:2]:
            np.copyto(raw, src)
        else:
            cv2 = self._cv2
            resized = cv2.resize(src, (rw, rh), dst=raw, interpolation=cv2.INTER_LINEAR)
            if resized is not raw:  # OpenCV allocated after all: still correct, one copy more
                np.copyto(raw, resized)
        if self._mode == "xor":
            np.bitwise_xor(raw, np.uint8(0x80), out=raw)

    def _apply(self, pixels: np.ndarray, dst: np.ndarray) -> None:
        if self._mode == "copy":
            np.copyto(dst, pixels)
        elif self._mode == "xor":
            np.bitwise_xor(pixels, np.uint8(0x80), out=dst.view(np.uint8))
        elif self._mode == "cast":
            np.copyto(dst, pixels, casting="unsafe")
        elif self._cv2_lut is not None and _mat_like(pixels) and _mat_like(dst):
            self._cv2.LUT(pixels, self._cv2_lut, dst=dst)  # the same table, looked up by OpenCV: a third faster
        elif self.channels == 1 or (self._lut == self._lut[:1]).all():
            np.take(self._lut[0], pixels, out=dst, mode="clip")
        else:
            for c in range(self.channels):
                np.take(self._lut[c], pixels[..., c], out=dst[..., c], mode="clip")


def _mat_like(a: np.ndarray) -> bool:
    """True when OpenCV can use ``a`` (HxWxC) in place: pixels packed along each row, rows at any step
    (NHWC, or a letterbox band of it; not an NCHW view, not a BGR flip with negative strides)."""
    return a.strides[2] == a.itemsize and a.strides[1] == a.itemsize * a.shape[2] and a.strides[0] > 0


def check_image(image: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 RGB image (HxW grey and HxWx4 RGBA are converted); ImageError otherwise."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected an HxWx3 uint8 RGB numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageError(f"expected a uint8 image, got {image.dtype} of shape {image.shape}")
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 4:
        return image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"expected an HxWx3 uint8 RGB image, got shape {image.shape}")
    return image


def _to_gray(rgb: np.ndarray, cv2: Any) -> np.ndarray:
    if cv2 is not None:
        grey: np.ndarray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)[..., None]
        return grey
    grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None]
