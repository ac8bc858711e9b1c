"""``synthetic://WxH@FPS``: seeded moving shapes, a camera stand-in for demos, tests and benchmarks.

Frame ``t`` depends only on the size, the seed and ``t``: the same URI gives the
same frames on every machine, whatever the pacing. Shapes from
``edgevision.sources.shapes.shapes_scene`` glide and bounce over a fixed textured
background; a frame costs one background copy plus a masked copy per shape.

Query options: ``seed`` (default 0), ``shapes`` (default 4), ``pace``: ``1``
(default) delivers frames at FPS like a camera (a live source: the newest frame
is kept, slower consumers drop frames); ``0`` delivers every frame in order as
fast as they are taken (for benchmarks and soak runs).

Example:
    >>> spec = parse_synthetic("synthetic://320x240@15?seed=3")
    >>> spec.size, spec.fps, spec.seed, spec.pace
    ((320, 240), 15.0, 3, True)
    >>> a, b = SyntheticCapture(spec), SyntheticCapture(spec)
    >>> bool((a.image(7) == b.image(7)).all()), a.image(7).shape
    (True, (240, 320, 3))
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

import numpy as np

from ..errors import SourceError
from ..limits import check_frame_size
from .base import Size
from .shapes import SHAPE_LABELS, shapes_scene

QUERY_KEYS = ("seed", "shapes", "pace")
MAX_SHAPES, MAX_FPS = 1000, 100000
_SPEC = re.compile(r"^(?:(\d{1,9})x(\d{1,9}))?(?:@(\d{1,9}(?:\.\d{1,9})?))?$")


@dataclass(frozen=True)
class SyntheticSpec:
    size: Size = (640, 480)
    fps: float = 30.0
    seed: int = 0
    shapes: int = 4
    pace: bool = True

    @property
    def uri(self) -> str:
        return f"synthetic://{self.size[0]}x{self.size[1]}@{self.fps:g}?seed={self.seed}"


def parse_synthetic(uri: str) -> SyntheticSpec:
    """Parse ``synthetic://[WxH][@FPS][?seed=N&shapes=N&pace=0|1]``; SourceError naming what is wrong."""
    body = uri.split("://", 1)[1]
    spec, _, query = body.partition("?")
    match = _SPEC.match(spec.strip("/"))
    if not match:
        raise SourceError(f"expected synthetic://WxH@FPS (e.g. synthetic://640x480@30?seed=3), got {uri!r}")
    w, h, fps = match.groups()
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - set(QUERY_KEYS))
    if unknown:
        raise SourceError(f"unknown synthetic:// option {unknown[0]!r}; valid options: {', '.join(QUERY_KEYS)}")
    try:
        values = {k: int(v) for k, v in options.items()}
    except ValueError:
        raise SourceError(f"expected integer synthetic:// options, got {query!r}") from None
    result = SyntheticSpec(size=(int(w), int(h)) if w else (640, 480), fps=float(fps) if fps else 30.0,
                           seed=values.get("seed", 0), shapes=values.get("shapes", 4),
                           pace=bool(values.get("pace", 1)))
    if min(result.size) < 16 or result.fps <= 0 or result.shapes < 0 or result.seed < 0:
        raise SourceError(f"expected a size of at least 16x16, a positive FPS, shapes >= 0 and seed >= 0, got {uri!r}")
    check_frame_size(result.size, "synthetic:// size", SourceError)
    if result.shapes > MAX_SHAPES or result.fps > MAX_FPS:
        raise SourceError(f"expected at most {MAX_SHAPES} shapes and {MAX_FPS} fps in synthetic://, got {uri!r}")
    return result


def _bounce(position: float, span: int) -> int:
    """``position`` folded into [0, span] as a ball bouncing between two walls."""
    if span <= 0:
        return 0
    p = position % (2 * span)
    return int(2 * span - p if p > span else p)


class _Sprite:
    def __init__(self, pixels: np.ndarray, mask: np.ndarray, class_id: int, start: np.ndarray,
                 velocity: np.ndarray) -> None:
        self.pixels, self.mask, self.class_id = pixels, mask, class_id
        self.start, self.velocity = start, velocity
        self.h, self.w = mask.shape[:2]


class SyntheticCapture:
    """Deterministic moving-shapes frames (see the module docstring); ``pace`` sleeps to hold FPS."""

    def __init__(self, spec: SyntheticSpec, *, fps: float | None = None) -> None:
        self.spec = spec
        self.rate = float(fps or spec.fps)  # frames per second, always known
        self.fps: float | None = self.rate  # the Capture protocol's field
        self.name = spec.uri
        w, h = spec.size
        rng = np.random.default_rng(spec.seed)
        self._background = shapes_scene(rng, (w, h), n_shapes=0).image
        scene = shapes_scene(rng, (w, h), n_shapes=spec.shapes, min_radius=0.06, max_radius=0.14)
        self._sprites = []
        for box, kind in zip(scene.boxes.astype(int), scene.classes):
            x0, y0, x1, y1 = box
            mask = scene.mask[y0:y1, x0:x1, None] == kind + 1
            # Per frame, a shape moves 0.4-1.2 % of the frame in x and y: visible motion at any FPS.
            velocity = rng.uniform(0.004, 0.012, 2) * np.array([w, h]) * rng.choice([-1.0, 1.0], 2)
            self._sprites.append(_Sprite(scene.image[y0:y1, x0:x1].copy(), mask, int(kind),
                                         np.array([x0, y0], np.float64), velocity))
        self._t = 0
        self._start: float | None = None

    def _position(self, sprite: _Sprite, t: int) -> tuple[int, int]:
        x, y = sprite.start + sprite.velocity * t
        return _bounce(x, self.spec.size[0] - sprite.w), _bounce(y, self.spec.size[1] - sprite.h)

    def image(self, t: int) -> np.ndarray:
        """Frame ``t`` (HxWx3 uint8 RGB), a new array."""
        out = self._background.copy()
        for s in self._sprites:
            x, y = self._position(s, t)
            np.copyto(out[y:y + s.h, x:x + s.w], s.pixels, where=s.mask)
        return out

    def boxes(self, t: int) -> tuple[np.ndarray, list[str]]:
        """Ground truth of frame ``t``: (n, 4) float32 xyxy boxes (a shape's extent) and labels."""
        xy = [self._position(s, t) for s in self._sprites]
        boxes = np.array([[x, y, x + s.w, y + s.h] for (x, y), s in zip(xy, self._sprites)], np.float32)
        return boxes.reshape(-1, 4), [SHAPE_LABELS[s.class_id] for s in self._sprites]

    def read(self) -> np.ndarray | None:
        if self.spec.pace:
            now = time.monotonic()
            if self._start is None:
                self._start = now
            time.sleep(max(0.0, self._start + self._t / self.rate - now))
        image = self.image(self._t)
        self._t += 1
        return image

    def close(self) -> None:
        pass
