"""The result types a model returns: one dataclass per task.

Arrays are parallel numpy arrays (as in supervision's ``Detections``), checked on
construction; every result has ``to_dict()`` (its JSON form) and ``describe()`` (one
short line for people).

Example:
    >>> import numpy as np
    >>> d = Detections(xyxy=np.array([[1, 2, 3, 4]], np.float32),
    ...                confidence=np.array([0.9], np.float32),
    ...                class_id=np.array([0]), labels=("cat",))
    >>> d.to_dict()["detections"][0]["label"]
    'cat'
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _label(labels: Sequence[str], class_id: int) -> str:
    return labels[class_id] if 0 <= class_id < len(labels) else str(class_id)


@dataclass
class Classification:
    """Top-k classes, best first."""

    class_id: np.ndarray  # (k,) int64
    confidence: np.ndarray  # (k,) float32
    labels: Sequence[str] = ()

    def __post_init__(self) -> None:
        self.class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        if self.class_id.shape != self.confidence.shape:
            raise ValueError(
                f"expected class_id and confidence of one length, got {self.class_id.shape} and {self.confidence.shape}"
            )

    def __len__(self) -> int:
        return len(self.class_id)

    @property
    def names(self) -> list[str]:
        return [_label(self.labels, int(c)) for c in self.class_id]

    def describe(self) -> str:
        """``'dog 0.50'``: the classes, best first."""
        return (", ".join(f"{n} {round(float(s), 6):.2f}" for n, s in zip(self.names, self.confidence))
                or "no class above threshold")

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": "classification",
            "classes": [
                {"class_id": int(c), "label": n, "score": round(float(s), 6)}
                for c, n, s in zip(self.class_id, self.names, self.confidence)
            ],
        }


@dataclass
class Detections:
    """Boxes in source-image pixels (x1, y1, x2, y2), with scores, class ids and, once tracked, track ids."""

    xyxy: np.ndarray  # (n, 4) float32
    confidence: np.ndarray  # (n,) float32
    class_id: np.ndarray  # (n,) int64
    labels: Sequence[str] = ()
    tracker_id: np.ndarray | None = None  # (n,) int64 track ids (edgevision.track), None when not tracked

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(-1)
        self.class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        n = len(self.xyxy)
        if len(self.confidence) != n or len(self.class_id) != n:
            raise ValueError(
                f"expected {n} confidences and class ids for {n} boxes, "
                f"got {len(self.confidence)} and {len(self.class_id)}"
            )
        if self.tracker_id is not None:
            self.tracker_id = np.asarray(self.tracker_id, dtype=np.int64).reshape(-1)
            if len(self.tracker_id) != n:
                raise ValueError(f"expected {n} track ids for {n} boxes, got {len(self.tracker_id)}")

    @classmethod
    def empty(cls, labels: Sequence[str] = ()) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), labels)

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index: Any) -> Detections:
        """Select detections with an index array, a slice or a boolean mask."""
        if isinstance(index, (int, np.integer)):
            index = [index]
        return Detections(self.xyxy[index], self.confidence[index], self.class_id[index], self.labels,
                          None if self.tracker_id is None else self.tracker_id[index])

    @property
    def names(self) -> list[str]:
        return [_label(self.labels, int(c)) for c in self.class_id]

    def track_tags(self) -> list[str]:
        """``'#12 '`` per detection once tracked (``''`` before): the prefix describe and the annotations use."""
        if self.tracker_id is None:
            return [""] * len(self)
        return [f"#{int(t)} " for t in self.tracker_id]

    def describe(self, noun: str = "detection") -> str:
        """``'2 detections: cat 0.91 [10, 20, 80, 100]; ...'`` (``'#12 cat ...'`` once tracked)."""
        items = [f"{tag}{n} {round(float(s), 6):.2f} [{', '.join(f'{round(float(v), 2):.0f}' for v in box)}]"
                 for box, s, n, tag in zip(self.xyxy, self.confidence, self.names, self.track_tags())]
        return f"{len(items)} {noun}{'s' if len(items) != 1 else ''}" + (": " + "; ".join(items) if items else "")

    def items(self) -> list[dict[str, Any]]:
        """One dict per detection (class_id, label, score, xyxy, and track_id once tracked): the JSON rows."""
        rows = [{"class_id": int(c), "label": n, "score": round(float(s), 6), "xyxy": [round(float(v), 2) for v in box]}
                for box, s, c, n in zip(self.xyxy, self.confidence, self.class_id, self.names)]
        if self.tracker_id is not None:
            for row, t in zip(rows, self.tracker_id):
                row["track_id"] = int(t)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"task": "detection", "detections": self.items()}


@dataclass
class Segmentation:
    """A class map the size of the source image, and the pixel area of each class present."""

    class_map: np.ndarray  # (H, W) integer class ids
    labels: Sequence[str] = ()
    areas: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.class_map = np.asarray(self.class_map)
        if self.class_map.ndim != 2 or not np.issubdtype(self.class_map.dtype, np.integer):
            raise ValueError(
                f"expected a 2-D integer class map, got {self.class_map.ndim}-D {self.class_map.dtype}"
            )
        if not self.areas:
            counts = np.bincount(self.class_map.ravel().astype(np.int64, copy=False))
            self.areas = {int(c): int(n) for c, n in enumerate(counts) if n}

    def mask(self, class_id: int) -> np.ndarray:
        """Boolean mask of one class."""
        return self.class_map == class_id

    def describe(self) -> str:
        """``'background 80.0%, cat 20.0%'``: each class present and its share of the image."""
        total = float(self.class_map.size)
        return ", ".join(f"{_label(self.labels, c)} {100 * round(n / total, 6):.1f}%" for c, n in sorted(self.areas.items()))

    def to_dict(self) -> dict[str, Any]:
        h, w = self.class_map.shape
        total = float(h * w)
        return {
            "task": "segmentation",
            "size": [w, h],
            "classes": [
                {"class_id": c, "label": _label(self.labels, c), "pixels": n, "fraction": round(n / total, 6)}
                for c, n in sorted(self.areas.items())
            ],
        }


Result = Classification | Detections | Segmentation
