"""Tracking measured with py-motmetrics on generated sequences with known identities, occlusions and crossings.

Six 300-frame sequences (320x240, six shapes at a time crossing the frame and each other, a
pillar hiding what passes behind it), detections = the ground truth jittered as a good detector
would see it (``jittered_detections``). Hypotheses are matched to ground truth at IoU >= 0.5.
motmetrics 1.4's own ``iou_matrix`` calls ``np.asfarray`` (gone in numpy 2), so the distance
matrix (1 - IoU, NaN below 0.5: what it computes) is built here with the converter's box IoU.
"""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.converters.metrics import box_iou
from edgevision.converters.sequences import jittered_detections, moving_shapes_sequence
from edgevision.results import Detections
from edgevision.sources.shapes import SHAPE_LABELS
from edgevision.track import ByteTrack, LineCounter, Tracking, ZoneCounter

mm = pytest.importorskip("motmetrics")
SEEDS = range(6)
# In open view: the line across the left half, the zone in the right half (the pillar is in the middle).
LINE, ZONE = [(15, 120), (135, 120)], [(195, 50), (300, 50), (300, 190), (195, 190)]


@pytest.fixture(scope="module")
def sequences():
    return [(moving_shapes_sequence(300, (320, 240), n_objects=6, seed=s, render=False), s) for s in SEEDS]


def test_jittered_ground_truth_tracks_with_mota_and_idf1_of_at_least_0_9(sequences):
    accumulators, reappearances, overlaps = [], 0, 0
    for seq, seed in sequences:
        tracker = ByteTrack()
        acc = mm.MOTAccumulator(auto_id=True)
        for (boxes, scores, classes), ids, truth in zip(jittered_detections(seq, seed=seed), seq.ids, seq.boxes):
            out = tracker.update(Detections(boxes, scores, classes, SHAPE_LABELS))
            iou = box_iou(truth, out.xyxy)
            acc.update(ids.tolist(), out.tracker_id.tolist(), np.where(iou >= 0.5, 1 - iou, np.nan))
            overlaps += int((np.triu(box_iou(truth, truth), 1) > 0.05).sum())
        accumulators.append(acc)
        for i in set(np.concatenate(seq.ids).tolist()):  # hidden, then seen again
            present = np.array([i in ids for ids in seq.ids], int)
            reappearances += int((np.diff(present) == 1).sum())
    summary = mm.metrics.create().compute_many(accumulators, metrics=["mota", "idf1", "num_switches"],
                                               names=[str(s) for s in SEEDS], generate_overall=True)
    print(summary)
    assert reappearances >= 6 and overlaps >= 300  # the sequences do hold occlusions and crossings
    overall = summary.loc["OVERALL"]
    assert overall["mota"] >= 0.9 and overall["idf1"] >= 0.9


def test_line_and_zone_counts_equal_those_of_the_true_tracks(sequences):
    total = 0
    for seq, seed in sequences:
        tracking = Tracking(lines=[LINE], zones=[ZONE])
        line, zone = LineCounter(LINE), ZoneCounter(ZONE)
        for f, ((boxes, scores, classes), ids, truth, truth_classes) in enumerate(
                zip(jittered_detections(seq, seed=seed), seq.ids, seq.boxes, seq.classes)):
            tracking(Detections(boxes, scores, classes, SHAPE_LABELS))
            true_tracks = Detections(truth, np.ones(len(truth)), truth_classes, SHAPE_LABELS, tracker_id=ids)
            line.update(true_tracks, f + 1)
            zone.update(true_tracks, f + 1)
        got = tracking.counts()
        assert {k: got["lines"][0][k] for k in ("in", "out")} == {k: line.counts()[k] for k in ("in", "out")}, seed
        assert {k: got["zones"][0][k] for k in ("entered", "exited")} == {
            k: zone.counts()[k] for k in ("entered", "exited")}, seed
        total += line.counts()["total_in"] + line.counts()["total_out"] + zone.counts()["total_entered"]
    assert total >= 50  # enough events for "exact" to mean something
