"""ByteTrack: ids that stay, the low-score second chance, tentative tracks, classes, and bounded memory."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.errors import BackendUnavailableError
from edgevision.instances import InstanceSegmentation
from edgevision.masks import InstanceMasks
from edgevision.results import Detections
from edgevision.track import ByteTrack, assign


def dets(boxes, scores, classes=None):
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return Detections(boxes, scores, np.zeros(len(boxes), int) if classes is None else classes, ("a", "b"))


def box(x, y, w=40, h=40):
    return [x, y, x + w, y + h]


def test_two_objects_keep_their_ids_while_they_move():
    tracker = ByteTrack()
    for t in range(20):
        out = tracker.update(dets([box(10 + 3 * t, 10), box(200 - 3 * t, 100)], [0.9, 0.8]))
    assert out.tracker_id.tolist() == [1, 2] and tracker.next_id == 3
    assert out.xyxy[0, 0] == pytest.approx(10 + 3 * 19)  # the detector's own boxes come out, not the filter's


def test_a_new_object_is_tentative_for_a_frame_then_confirmed():
    tracker = ByteTrack()
    tracker.update(dets([box(10, 10)], [0.9]))  # frame 1: confirmed at once (ByteTrack)
    out = tracker.update(dets([box(12, 10), box(200, 200)], [0.9, 0.9]))
    assert out.tracker_id.tolist() == [1]  # the newcomer is tentative
    out = tracker.update(dets([box(14, 10), box(202, 200)], [0.9, 0.9]))
    assert out.tracker_id.tolist() == [1, 2]


def test_a_low_score_box_keeps_a_track_through_a_partial_occlusion():
    tracker = ByteTrack()
    for t in range(10):
        tracker.update(dets([box(10 + 4 * t, 10)], [0.9]))
    out = tracker.update(dets([box(50, 10)], [0.3]))  # half hidden: the detector is unsure
    assert out.tracker_id.tolist() == [1]
    out = tracker.update(dets([box(54, 10)], [0.9]))
    assert out.tracker_id.tolist() == [1]


def test_a_lost_track_comes_back_within_the_buffer_and_is_forgotten_after_it():
    tracker = ByteTrack(track_buffer=10)
    for t in range(10):
        tracker.update(dets([box(10 + 2 * t, 10)], [0.9]))
    for _ in range(5):  # hidden for 5 frames: lost, predicted on
        assert len(tracker.update(dets([], []))) == 0
    out = tracker.update(dets([box(10 + 2 * 15, 10)], [0.9]))
    assert out.tracker_id.tolist() == [1]
    for _ in range(12):
        tracker.update(dets([], []))
    assert len(tracker) == 0  # gone after the buffer
    tracker.update(dets([box(300, 300)], [0.9]))
    out = tracker.update(dets([box(302, 300)], [0.9]))
    assert out.tracker_id.tolist() == [2]


def test_class_aware_tracks_do_not_take_another_class():
    aware, blind = ByteTrack(class_aware=True), ByteTrack()
    for t in range(5):
        aware.update(dets([box(10 + t, 10)], [0.9], [0]))
        blind.update(dets([box(10 + t, 10)], [0.9], [0]))
    for tracker, expected in ((aware, []), (blind, [1])):
        assert tracker.update(dets([box(15, 10)], [0.9], [1])).tracker_id.tolist() == expected


def test_memory_stays_bounded_over_a_long_stream_of_new_objects():
    tracker = ByteTrack(track_buffer=30)
    rng = np.random.default_rng(0)
    sizes = []
    for _ in range(3000):  # objects that appear for a few frames at random places and vanish
        xy = rng.uniform(0, 1000, (5, 2))
        tracker.update(dets(np.concatenate([xy, xy + 30], 1), rng.uniform(0.6, 0.9, 5)))
        sizes.append(len(tracker))
    assert max(sizes[1000:]) <= max(sizes[:1000]) and max(sizes) < 5 * 32


def test_instance_results_are_tracked_with_their_masks():
    masks = InstanceMasks((100, 100), np.array([[10, 10]]), [np.ones((20, 20), bool)])
    result = InstanceSegmentation(np.array([[10, 10, 30, 30]]), np.array([0.9]), np.array([0]), ("a",), masks=masks)
    out = ByteTrack().update(result)
    assert isinstance(out, InstanceSegmentation) and out.tracker_id.tolist() == [1] and len(out.masks) == 1
    assert out.to_dict()["instances"][0]["track_id"] == 1


def test_a_missing_lap_package_is_a_typed_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_lap(name, *args, **kwargs):
        if name == "lap":
            raise ModuleNotFoundError("No module named 'lap'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(assign, "_lap", None)
    monkeypatch.setattr(builtins, "__import__", no_lap)
    with pytest.raises(BackendUnavailableError, match=r"expected the lap package for tracking \(pip install"):
        assign.linear_assignment(np.zeros((2, 2)), 0.5)


def test_a_tracker_of_ones_own_goes_into_a_stream(tmp_path):
    import _onnx_models

    import edgevision

    model = edgevision.load(_onnx_models.bright_spot_detector(tmp_path / "det.onnx"), labels=_onnx_models.LABELS)
    tracker = ByteTrack(class_aware=False)
    with model.stream("synthetic://320x240@30?seed=2&pace=0", max_frames=5, track=tracker, overlap=False) as stream:
        results = list(stream)
    assert stream.tracking.tracker is tracker and all(r.tracker_id is not None for r in results)
