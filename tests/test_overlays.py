"""Drawing instance masks, skeletons and counting lines."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.instances import InstanceSegmentation
from edgevision.masks import InstanceMasks
from edgevision.results import Detections
from edgevision.track import LineCounter, ZoneCounter

pytest.importorskip("cv2")


def test_masks_are_blended_only_where_they_are():
    from edgevision.annotate import Annotator, colour

    bitmap = np.zeros((20, 20), bool)
    bitmap[5:15, 5:15] = True
    r = InstanceSegmentation(np.array([[40, 30, 60, 50]]), np.array([0.9]), np.array([2]), ("a", "b", "c"),
                             masks=InstanceMasks((100, 80), np.array([[40, 30]]), [bitmap]))
    out = Annotator(order="RGB", alpha=1.0).draw(np.zeros((80, 100, 3), np.uint8), r)
    assert tuple(out[40, 50]) == colour(2) and not out[33, 43].any()  # inside the mask; in the box, outside it


def test_counting_lines_and_zones_are_drawn_with_their_counts():
    from edgevision.annotate import Annotator
    from edgevision.overlays import draw_counting

    annotator = Annotator(order="RGB")
    out = annotator.draw(np.zeros((100, 160, 3), np.uint8), Detections.empty())
    draw_counting(annotator, out, [LineCounter([(0, 80), (160, 80)]), ZoneCounter([(100, 10), (150, 10), (150, 60)])], 1)
    assert (out[80, 60] == 255).all() and out[10:60, 100:150].any()
