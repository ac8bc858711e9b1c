"""Draw results on frames with OpenCV: boxes with label and score, blended class masks, top-k text.

Every class has its own colour (``colour(class_id)``, the same in every run). An
``Annotator`` draws into one buffer it reuses frame after frame, in BGR by default
because every writer downstream (``cv2.VideoWriter``, ``cv2.imencode``,
``cv2.imshow``) wants BGR; ``annotate`` is the one-off form that returns a new RGB
image.

Example:
    >>> import numpy as np
    >>> from edgevision.results import Detections
    >>> image = np.zeros((120, 160, 3), np.uint8)
    >>> boxes = Detections(np.array([[10, 20, 80, 100]]), np.array([0.9]), np.array([1]), ("cat", "dog"))
    >>> out = annotate(image, boxes)
    >>> out.shape, bool((out[20, 10:80] == colour(1)).all())     # the top edge in dog's colour
    ((120, 160, 3), True)
"""
from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .refs import resolve
from .results import Classification, Detections, Result, Segmentation
from .tasks.registry import spec_of_result

_PALETTE_SIZE = 256


def _palette() -> np.ndarray:
    """(256, 3) uint8 RGB: hues spaced by the golden ratio, so neighbouring class ids never look alike."""
    rows = []
    for i in range(_PALETTE_SIZE):
        hue = (0.13 + i * 0.618033988749895) % 1.0
        rows.append([round(255 * v) for v in colorsys.hsv_to_rgb(hue, 0.85 - 0.25 * ((i // 7) % 2), 0.95)])
    return np.array(rows, np.uint8)


PALETTE = _palette()


def colour(class_id: int) -> tuple[int, int, int]:
    """The RGB colour of one class (ids wrap around after 256).

    Example:
        >>> colour(0) == colour(256), colour(0) != colour(1)
        (True, True)
    """
    return tuple(int(v) for v in PALETTE[int(class_id) % _PALETTE_SIZE])  # type: ignore[return-value]


class Annotator:
    """Draws a ``Result`` on a frame into a reused buffer (valid until the next ``draw``).

    ``alpha`` is the opacity of segmentation masks; ``background`` is the class id a
    segmentation leaves unpainted (None paints every class).

    Example:
        >>> import numpy as np
        >>> from edgevision.results import Classification
        >>> annotator = Annotator()
        >>> frame = np.zeros((96, 128, 3), np.uint8)
        >>> bgr = annotator.draw(frame, Classification(np.array([2]), np.array([0.75]), ("a", "b", "c")))
        >>> bgr.shape, bool(bgr.any())
        ((96, 128, 3), True)
    """

    def __init__(self, *, alpha: float = 0.45, background: int | None = 0, order: str = "BGR") -> None:
        import cv2  # drawing needs OpenCV; imported with the first Annotator, not with edgevision

        if order not in ("BGR", "RGB"):
            raise ValueError(f"expected order 'BGR' or 'RGB', got {order!r}")
        self.cv2 = cv2
        self.alpha, self.background, self.order = float(alpha), background, order
        self.palette = PALETTE[:, ::-1].copy() if order == "BGR" else PALETTE
        self._buffer: np.ndarray | None = None
        self._overlay: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        # The first text call loads OpenCV's Hershey font tables (~8 MB, some ms): here, not on a frame.
        cv2.getTextSize("0", cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)

    def colour(self, class_id: int) -> tuple[int, int, int]:
        """One class's colour in this annotator's channel order."""
        return tuple(int(v) for v in self.palette[int(class_id) % _PALETTE_SIZE])  # type: ignore[return-value]

    def draw(self, image: np.ndarray, result: Result | None) -> np.ndarray:
        """``image`` (HxWx3 uint8 RGB) with ``result`` drawn on it, in this annotator's channel order."""
        cv2 = self.cv2
        if self._buffer is None or self._buffer.shape != image.shape:
            self._buffer = np.empty_like(image)
        out = self._buffer
        if self.order == "BGR":
            cv2.cvtColor(image, cv2.COLOR_RGB2BGR, dst=out)
        else:
            np.copyto(out, image)
        if result is not None:
            scale = max(1, round(min(out.shape[:2]) / 300))  # line and text size grow with the frame
            resolve(spec_of_result(result).draw)(self, out, result, scale)  # the task's own drawing
        return out

    def overlay(self, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(image-sized scratch buffer, boolean mask buffer), reused frame after frame, for blended drawing."""
        if self._overlay is None or self._overlay.shape != shape:
            self._overlay = np.empty(shape, np.uint8)
            self._mask = np.empty(shape[:2], bool)
        assert self._mask is not None
        return self._overlay, self._mask

    # ------------------------------------------------------------------ text
    def label(self, out: np.ndarray, text: str, corner: tuple[int, int], c: Sequence[int], scale: int) -> None:
        """``text`` on a filled tag in colour ``c``: above ``corner``, or just inside when at the top edge."""
        cv2 = self.cv2
        font, size = cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale
        (tw, th), base = cv2.getTextSize(text, font, size, scale)
        x, y = corner
        top = y - th - base - 2 if y - th - base - 2 >= 0 else y
        cv2.rectangle(out, (x, top), (x + tw + 4, top + th + base + 2), tuple(c), cv2.FILLED)
        r, g, b = (c[2], c[1], c[0]) if self.order == "BGR" else tuple(c)
        ink = (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255)  # readable on any tag
        cv2.putText(out, text, (x + 2, top + th + 1), font, size, ink, scale, cv2.LINE_AA)

    def text_block(self, out: np.ndarray, lines: Sequence[tuple[int, str]], scale: int) -> None:
        """One tagged line per (class id, text), top-left, each in its class colour."""
        cv2 = self.cv2
        y = 4 * scale
        for class_id, text in lines:
            self.label(out, text, (4 * scale, y), self.colour(class_id), scale)
            (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale, scale)
            y += th + base + 6 * scale


# ---------------------------------------------------------------------- per task (named in the task registry)
def draw_classification(annotator: Annotator, out: np.ndarray, result: Classification, scale: int) -> None:
    """The top-k classes as tagged lines, top-left."""
    lines = [(int(c), f"{n} {s:.2f}") for c, n, s in zip(result.class_id, result.names, result.confidence)]
    annotator.text_block(out, lines, scale)


def draw_detections(annotator: Annotator, out: np.ndarray, result: Detections, scale: int) -> None:
    """A box per detection in its class colour, tagged with its track id (once tracked), label and score."""
    cv2 = annotator.cv2
    h, w = out.shape[:2]
    for box, score, class_id, name, tag in zip(result.xyxy, result.confidence, result.class_id, result.names,
                                               result.track_tags()):
        x1, y1, x2, y2 = (round(float(v)) for v in box)
        x1, x2 = max(0, min(x1, w - 1)), max(0, min(x2, w - 1))
        y1, y2 = max(0, min(y1, h - 1)), max(0, min(y2, h - 1))
        c = annotator.colour(class_id)
        cv2.rectangle(out, (x1, y1), (x2, y2), c, 2 * scale)
        annotator.label(out, f"{tag}{name} {score:.2f}", (x1, y1), c, scale)  # "#12 " once tracked


def draw_segmentation(annotator: Annotator, out: np.ndarray, result: Segmentation, scale: int) -> None:
    """Every class but the background blended in its colour, and the largest classes' shares top-left."""
    cv2 = annotator.cv2
    class_map = result.class_map
    if class_map.shape != out.shape[:2]:  # a map at model resolution: nearest-neighbour up to the frame
        class_map = cv2.resize(class_map.astype(np.int32), (out.shape[1], out.shape[0]),
                               interpolation=cv2.INTER_NEAREST)
    overlay, mask = annotator.overlay(out.shape)
    # mode="wrap": ids wrap around the palette in any integer dtype (numpy 2 raises on uint8 % 256)
    np.take(annotator.palette, class_map, axis=0, out=overlay, mode="wrap")
    cv2.addWeighted(out, 1.0 - annotator.alpha, overlay, annotator.alpha, 0.0, dst=overlay)
    if annotator.background is None:
        mask.fill(True)
    else:
        np.not_equal(class_map, annotator.background, out=mask)
    np.copyto(out, overlay, where=mask[..., None])
    total = float(class_map.size)
    labels = result.labels
    lines = [(c, f"{labels[c] if 0 <= c < len(labels) else c} {100 * n / total:.1f}%")
             for c, n in sorted(result.areas.items(), key=lambda kv: -kv[1]) if c != annotator.background]
    annotator.text_block(out, lines[:5], scale)


def annotate(image: np.ndarray, result: Result | None, **options: Any) -> np.ndarray:
    """A new RGB image: ``image`` with ``result`` drawn on it (``options`` as for ``Annotator``).

    Example:
        >>> model = edgevision.load("det.tflite")                                  # doctest: +SKIP
        >>> cv2.imwrite("out.png", annotate(img, model.predict(img))[..., ::-1])    # doctest: +SKIP
    """
    return Annotator(order="RGB", **options).draw(image, result).copy()
