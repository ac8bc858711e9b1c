"""What a frame's JSON record shows, for ``--publish --on-change``: a record goes out only when this changes.

Per task (``CHANGE_KEYS``): the top class, the count per label, the classes in a mask;
when the record carries the tracker's ``counts`` or ``tracks``, those instead. A task
with no entry compares the whole record but for its per-frame fields (frame index,
timestamp, latency, ...).

Example:
    >>> change_key({"task": "classification", "classes": [{"label": "cat", "score": 0.9}], "frame": 7})
    'cat'
    >>> change_key({"task": "custom", "value": 3, "frame": 7, "latency_ms": {}})
    {'task': 'custom', 'value': 3}
"""
from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any


def _top_label(record: dict[str, Any]) -> Any:
    classes = record.get("classes") or []
    return classes[0].get("label", classes[0].get("class_id")) if classes else None


def _label_counts(key: str) -> Callable[[dict[str, Any]], Any]:
    def counts(record: dict[str, Any]) -> Any:
        found = collections.Counter(str(d.get("label", d.get("class_id"))) for d in record.get(key) or [])
        return sorted(found.items())
    return counts


# task -> what a record shows, for on_change: a record is published when this differs from the last one sent.
CHANGE_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "classification": _top_label,
    "detection": _label_counts("detections"),
    "segmentation": lambda r: sorted(str(c.get("label", c.get("class_id"))) for c in r.get("classes") or []),
}


def change_key(record: dict[str, Any]) -> Any:
    """What a record shows, for ``on_change``: the tracker's counts and track ids when present, else per task.

    >>> change_key({"task": "detection", "detections": [{"label": "car"}, {"label": "car"}, {"label": "dog"}]})
    [('car', 2), ('dog', 1)]
    >>> change_key({"task": "detection", "counts": {"car": 2}, "tracks": [{"id": 7}, {"id": 3}]})
    ({'car': 2}, [3, 7])
    """
    if "counts" in record or "tracks" in record:
        tracks = record.get("tracks") or []
        ids = [t.get("id", t.get("track_id")) for t in tracks if isinstance(t, dict)]
        return record.get("counts"), sorted(ids, key=str)
    key = CHANGE_KEYS.get(str(record.get("task")))
    return key(record) if key else {k: v for k, v in record.items() if k not in _VOLATILE}


# Per-frame fields that change every frame whatever the model sees.
_VOLATILE = frozenset({"frame", "timestamp", "source", "size", "latency_ms", "dropped", "reconnects", "gap_ms"})
