"""The generated tracking sequences: frames drawn as the ground truth says, identities new on every entry."""
from __future__ import annotations

import numpy as np

from edgevision.converters.sequences import jittered_detections, moving_shapes_sequence


def test_rendered_frames_match_the_ground_truth_and_ids_are_never_reused():
    seq = moving_shapes_sequence(120, (160, 120), n_objects=4, seed=2)
    assert len(seq.frames) == 120 and seq.frames[0].shape == (120, 160, 3) and seq.frames[0].dtype == np.uint8
    last_seen = {}
    for f, (ids, boxes, visible) in enumerate(zip(seq.ids, seq.boxes, seq.visible)):
        assert len(ids) == len(set(ids.tolist())) and (visible >= 0.4).all()
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 160).all() and (boxes[:, 3] <= 120).all()
        for i in ids.tolist():
            last_seen[i] = f
    assert len(last_seen) > 4  # objects left and new ones came in
    same = moving_shapes_sequence(120, (160, 120), n_objects=4, seed=2, render=False)
    assert all((a == b).all() for a, b in zip(same.ids, seq.ids))  # drawing changes nothing


def test_jittered_detections_stay_near_the_truth():
    seq = moving_shapes_sequence(50, (160, 120), n_objects=3, seed=0, render=False)
    for (boxes, scores, _), truth in zip(jittered_detections(seq, seed=0), seq.boxes):
        assert len(boxes) <= len(truth) + 1 and ((scores > 0) & (scores < 1)).all()
