"""``InstanceSegmentation``: detections that each carry a mask, kept compactly (``edgevision.masks``).

It is a ``Detections`` (boxes, scores, class ids, track ids once tracked), so NMS,
metrics, tracking and counting treat it as one; ``masks`` holds one box-cropped
bitmap per instance in source pixels. ``to_dict()`` writes each mask as COCO RLE
(``masks="rle"``, the default: exact, and what ``pycocotools.mask.decode`` reads)
or as polygons (``masks="polygons"``).

Example:
    >>> from edgevision.masks import InstanceMasks
    >>> r = InstanceSegmentation(np.array([[1, 1, 3, 3]]), np.array([0.9]), np.array([0]), ("cat",),
    ...                          masks=InstanceMasks((4, 3), np.array([[1, 1]]), [np.ones((2, 2), bool)]))
    >>> r.to_dict()["instances"][0]["mask"], r.describe()
    ({'size': [3, 4], 'counts': '42102'}, '1 instance: cat 0.90 [1, 1, 3, 3] 4 px')
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .masks import InstanceMasks
from .results import Detections

MASK_FORMATS = ("rle", "polygons", "none")


@dataclass
class InstanceSegmentation(Detections):
    """Boxes with one mask each (``masks[i]`` belongs to ``xyxy[i]``), in source pixels."""

    masks: InstanceMasks | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.masks is None:
            self.masks = InstanceMasks.empty()
        if len(self.masks) != len(self.xyxy):
            raise ValueError(f"expected one mask per box ({len(self.xyxy)}), got {len(self.masks)}")

    @classmethod
    def empty(cls, labels: Sequence[str] = (), size: tuple[int, int] = (0, 0)) -> InstanceSegmentation:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), labels,
                   masks=InstanceMasks.empty(size))

    def __getitem__(self, index: Any) -> InstanceSegmentation:
        if isinstance(index, (int, np.integer)):
            index = [index]
        assert self.masks is not None
        return InstanceSegmentation(self.xyxy[index], self.confidence[index], self.class_id[index], self.labels,
                                    None if self.tracker_id is None else self.tracker_id[index],
                                    masks=self.masks[index])

    def describe(self, noun: str = "instance") -> str:
        """``'2 instances: cat 0.91 [10, 20, 80, 100] 3120 px; ...'``."""
        assert self.masks is not None
        text = super().describe(noun)
        if not len(self):
            return text
        head, _, rest = text.partition(": ")
        parts = rest.split("; ")
        return head + ": " + "; ".join(f"{p} {a} px" for p, a in zip(parts, self.masks.areas()))

    def to_dict(self, masks: str = "rle") -> dict[str, Any]:
        """``{"task": "instance-segmentation", "size": [w, h], "instances": [...]}``; each mask as ``masks`` says."""
        if masks not in MASK_FORMATS:
            raise ValueError(f"expected masks among {', '.join(MASK_FORMATS)}, got {masks!r}")
        assert self.masks is not None
        rows = self.items()
        for i, (row, area) in enumerate(zip(rows, self.masks.areas())):
            row["area"] = int(area)
            if masks == "rle":
                row["mask"] = self.masks.rle(i)
            elif masks == "polygons":
                row["polygons"] = self.masks.polygons(i)
        return {"task": "instance-segmentation", "size": list(self.masks.size), "instances": rows}
