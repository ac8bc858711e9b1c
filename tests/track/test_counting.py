"""Line and zone counting on hand-made tracks whose counts are known."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.errors import UserInputError
from edgevision.results import Detections
from edgevision.track import LineCounter, Tracking, ZoneCounter, parse_points

LABELS = ("car", "bike")


def frame(points, ids, classes=None):
    """Tracked detections whose box centres are ``points``."""
    p = np.asarray(points, float).reshape(-1, 2)
    boxes = np.concatenate([p - 5, p + 5], axis=1)
    return Detections(boxes, np.full(len(p), 0.9), np.zeros(len(p), int) if classes is None else classes, LABELS,
                      tracker_id=np.asarray(ids))


def run(counter, paths, classes=None):
    """``paths``: per track id a list of (x, y), one per frame (None: not seen that frame)."""
    n = max(len(p) for p in paths.values())
    for f in range(n):
        seen = [(tid, p[f]) for tid, p in paths.items() if f < len(p) and p[f] is not None]
        cls = [classes[tid] for tid, _ in seen] if classes else None
        counter.update(frame([p for _, p in seen], [t for t, _ in seen], cls), f + 1)
    return counter.counts()


def test_crossings_both_ways_per_class_and_not_beside_the_segment():
    line = LineCounter([(0, 50), (100, 50)])
    paths = {
        1: [(20, y) for y in range(30, 80, 5)],  # down across: in
        2: [(60, y) for y in range(80, 20, -5)],  # up across: out
        3: [(150, y) for y in range(30, 80, 5)],  # down, beside the segment's end: nothing
        4: [(40, y) for y in range(30, 80, 5)],  # a bike, down: in
    }
    counts = run(line, paths, classes={1: 0, 2: 0, 3: 0, 4: 1})
    assert counts == {"in": {"bike": 1, "car": 1}, "out": {"car": 1}, "total_in": 2, "total_out": 1}


def test_a_one_frame_jitter_across_the_line_is_not_counted():
    line = LineCounter([(0, 50), (100, 50)])
    jitter = [(20, 48), (20, 49), (20, 51), (20, 49), (20, 48), (20, 49), (20, 52), (20, 48)]
    assert run(line, {1: jitter})["total_in"] == 0
    assert run(LineCounter([(0, 50), (100, 50)], min_frames=1), {1: jitter})["total_in"] == 2


def test_a_track_seen_again_after_a_gap_on_the_other_side_counts():
    line = LineCounter([(0, 50), (100, 50)])
    path = [(20, 30), (20, 35), None, None, None, (20, 70), (20, 75)]
    assert run(line, {1: path})["in"] == {"car": 1}


def test_zone_presence_entries_and_exits():
    zone = ZoneCounter([(0, 0), (50, 0), (50, 50), (0, 50)])
    paths = {
        1: [(x, 25) for x in range(70, -30, -10)],  # in from the right, out on the left
        2: [(25, 25)] * 10,  # inside from the start: present, never entered
        3: [(x, 25) for x in range(80, 20, -10)] + [(30, 25)] * 4,  # comes in and stays
    }
    counts = run(zone, paths, classes={1: 0, 2: 1, 3: 1})
    assert counts["entered"] == {"bike": 1, "car": 1} and counts["exited"] == {"car": 1}
    assert counts["current"] == {"bike": 2} and counts["total_current"] == 2


def test_zone_contains_follows_the_even_odd_rule_on_a_concave_polygon():
    u_shape = ZoneCounter([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
    assert u_shape.contains(np.array([[5, 20], [15, 20], [25, 20], [15, 5]])).tolist() == [True, False, True, True]


def test_counter_memory_is_bounded():
    line = LineCounter([(0, 50), (100, 50)], forget=100)
    for f in range(1, 5000):
        line.update(frame([(20, 30)], [f]), f)  # a new track id every frame
    assert len(line) <= 100 + 64


def test_tracking_stage_counts_from_detections():
    tracking = Tracking(lines=[[(0, 100), (400, 100)]])
    for t in range(30):
        y = 40 + 6 * t
        tracking(Detections(np.array([[100, y - 20, 140, y + 20]]), np.array([0.9]), np.array([1]), LABELS))
    assert tracking.counts()["lines"][0]["in"] == {"bike": 1} and tracking.summary()["tracks"] == 1
    assert tracking.describe() == "line 1: in 1, out 0"


@pytest.mark.parametrize(("text", "minimum", "message"), [
    ("0,240,640", 2, "expected --count-line as x,y pairs"),
    ("0,240,640,240", 3, "at least 3 points"),
    ("a,b,c,d", 2, "got 'a,b,c,d'"),
])
def test_bad_points_are_typed_errors(text, minimum, message):
    with pytest.raises(UserInputError, match=message):
        parse_points(text, minimum, "--count-line")


def test_a_line_of_one_point_is_refused():
    with pytest.raises(UserInputError, match="two distinct points"):
        LineCounter([(5, 5), (5, 5)])
    with pytest.raises(UserInputError, match="expected tracked detections"):
        LineCounter([(0, 0), (5, 5)]).update(Detections.empty(), 1)
