"""ByteTrack (Zhang et al., ECCV 2022): multi-object tracking by associating every detection box, over any detector.

Per frame: every track's box is predicted with a Kalman filter; high-score detections
are matched to the tracked and recently lost tracks by IoU (weighted by the detection
score); the tracks still unmatched get a second chance with the low-score detections,
which keeps an object through occlusion when its score dips; tentative tracks (seen
once) are matched last; unmatched high-score detections start tentative tracks, which
are confirmed (and given an id) when seen again; a track lost for more than
``track_buffer`` frames (at 30 fps; scaled by ``frame_rate``) is forgotten. The
thresholds are ByteTrack's published defaults. A track matches detections of any class (the
class shown is its latest detection's), as Ultralytics' and supervision's ByteTrack do: a
detector whose class flickers between frames keeps its tracks. With ``class_aware=True`` a
track only takes detections of its own class, as ByteTrack tracks each class of a
multi-class benchmark (BDD100K) apart: two objects of different classes crossing cannot swap
ids, but a class that flickers starts a new track.

Tracks live in a few numpy arrays, never in objects per track, and forgotten ones
are dropped at once (unlike the reference code's ever-growing ``removed_stracks``), so
memory stays bounded over an endless stream and a frame costs a few dozen numpy calls.

Example:
    >>> from edgevision.results import Detections
    >>> tracker = ByteTrack()
    >>> for x in (10, 12, 14):
    ...     tracked = tracker.update(Detections(np.array([[x, 10, x + 20, 50]]), np.array([0.9]), np.array([0])))
    >>> tracked.tracker_id.tolist(), len(tracker)
    ([1], 1)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import kalman
from .assign import linear_assignment

TRACKED, LOST = 1, 2


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of xyxy boxes, column by column (a third of the broadcast form's time at 50 x 50)."""
    iw = np.minimum.outer(a[:, 2], b[:, 2]) - np.maximum.outer(a[:, 0], b[:, 0])
    ih = np.minimum.outer(a[:, 3], b[:, 3]) - np.maximum.outer(a[:, 1], b[:, 1])
    np.maximum(iw, 0.0, out=iw)
    np.maximum(ih, 0.0, out=ih)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = np.add.outer(area_a, area_b) - inter
    return inter / np.maximum(union, 1e-9)


class ByteTrack:
    """ByteTrack over ``Detections`` (or anything with ``xyxy``, ``confidence``, ``class_id``); see the module docstring."""

    def __init__(self, *, high_threshold: float = 0.5, low_threshold: float = 0.1,
                 new_track_threshold: float = 0.6, match_threshold: float = 0.8, track_buffer: int = 30,
                 frame_rate: float = 30.0, fuse_score: bool = True, class_aware: bool = False) -> None:
        self.high_threshold, self.low_threshold = float(high_threshold), float(low_threshold)
        self.new_track_threshold, self.match_threshold = float(new_track_threshold), float(match_threshold)
        self.fuse_score, self.class_aware = fuse_score, class_aware
        self.max_lost = max(1, round(frame_rate / 30.0 * track_buffer))
        self.frame = 0
        self.next_id = 1
        self.mean = np.zeros((0, 8))
        self.cov = np.zeros((0, 3, 4))  # kalman's covariance blocks
        self.ids = np.zeros(0, np.int64)  # 0 until confirmed
        self.state = np.zeros(0, np.int8)
        self.first = np.zeros(0, np.int64)  # frame first seen
        self.last = np.zeros(0, np.int64)  # frame last matched
        self.cls = np.zeros(0, np.int64)  # class of the last matched detection
        self._det_cls = np.zeros(0, np.int64)  # this frame's detection classes
        self._out_boxes = np.zeros((0, 4))  # the filtered boxes of the tracks step() returned last

    def __len__(self) -> int:
        """Tracks kept now: tracked, tentative and recently lost (bounded by the objects in view and the buffer)."""
        return len(self.ids)

    def __bool__(self) -> bool:  # a tracker with no track yet is still a tracker (``track=ByteTrack()``)
        return True

    def reset(self) -> None:
        """Forget every track (ids go on from where they were)."""
        keep = np.zeros(len(self), bool)
        self._keep(keep)

    def update(self, detections: Any) -> Any:
        """The detections that belong to confirmed tracks, with ``tracker_id`` set (same type as given)."""
        index, ids = self.step(detections.xyxy, detections.confidence, detections.class_id)
        tracked = detections[index]
        tracked.tracker_id = ids
        return tracked

    def step(self, xyxy: np.ndarray, score: np.ndarray, class_id: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """One frame: (indices of the detections on confirmed tracks, their track ids), in detection order."""
        self.frame += 1
        xyxy = np.asarray(xyxy, np.float64).reshape(-1, 4)
        score = np.asarray(score, np.float64).reshape(-1)
        cls = np.zeros(len(score), np.int64) if class_id is None else np.asarray(class_id, np.int64).reshape(-1)
        self._det_cls = cls  # read by _match
        high = np.flatnonzero(score >= self.high_threshold)
        low = np.flatnonzero((score >= self.low_threshold) & (score < self.high_threshold))
        if len(self):
            mean = self.mean.copy()
            mean[self.state != TRACKED, 7] = 0.0  # a lost track's height stops changing (ByteTrack)
            self.mean, self.cov = kalman.predict(mean, self.cov)
        boxes = kalman.xyah_to_xyxy(self.mean)
        tracked = self.state == TRACKED
        confirmed = self.ids > 0
        pool = np.flatnonzero((tracked & confirmed) | (self.state == LOST))
        tentative = np.flatnonzero(tracked & ~confirmed)
        pairs: list[np.ndarray] = []

        # 1: high-score detections with tracked and lost tracks, IoU weighted by the detection score
        m, rest_tracks, rest_dets = self._match(pool, boxes, high, xyxy, score, self.match_threshold, self.fuse_score)
        pairs.append(m)
        high, pool = high[rest_dets], pool[rest_tracks]
        # 2: low-score detections with the tracks still tracked (not the lost ones): plain IoU >= 0.5
        pool = pool[self.state[pool] == TRACKED]
        m, rest_tracks, _ = self._match(pool, boxes, low, xyxy, score, 0.5, False)
        pairs.append(m)
        self.state[pool[rest_tracks]] = LOST
        # 3: tentative tracks (seen once) with the high-score detections left; unmatched ones go
        m, rest_tracks, rest_dets = self._match(tentative, boxes, high, xyxy, score, 0.7, self.fuse_score)
        pairs.append(m)
        high = high[rest_dets]
        dropped = tentative[rest_tracks]

        matched = np.concatenate(pairs)
        t_idx, d_idx = matched[:, 0], matched[:, 1]
        if len(matched):
            self.mean[t_idx], self.cov[t_idx] = kalman.update(self.mean[t_idx], self.cov[t_idx],
                                                              kalman.xyxy_to_xyah(xyxy[d_idx]))
            self.state[t_idx] = TRACKED
            self.last[t_idx] = self.frame
            self.cls[t_idx] = cls[d_idx]
            new_ids = t_idx[self.ids[t_idx] == 0]  # tentative tracks seen a second time: confirmed now
            self.ids[new_ids] = np.arange(self.next_id, self.next_id + len(new_ids))
            self.next_id += len(new_ids)
        out_ids = self.ids[t_idx].copy()
        out_boxes = kalman.xyah_to_xyxy(self.mean[t_idx])  # before the arrays are compacted below

        keep = np.ones(len(self), bool)
        keep[dropped] = False
        keep &= ~((self.state == LOST) & (self.frame - self.last > self.max_lost))
        keep &= self._duplicates_kept()
        self._keep(keep)
        starting = high[score[high] >= self.new_track_threshold]
        self._start(xyxy[starting], cls[starting])
        if self.frame == 1:  # ByteTrack confirms the first frame's tracks at once
            self.ids[:] = np.arange(self.next_id, self.next_id + len(self))
            self.next_id += len(self)
            out_ids = self.ids.copy()
            out_boxes = kalman.xyah_to_xyxy(self.mean)
            d_idx = high[score[high] >= self.new_track_threshold]
        order = np.argsort(d_idx, kind="stable")
        self._out_boxes = out_boxes[order]
        return d_idx[order], out_ids[order]

    def filtered_boxes(self) -> np.ndarray:
        """(n, 4) the Kalman-filtered boxes of the tracks ``step`` just returned, in the same order."""
        return self._out_boxes

    def _match(self, tracks: np.ndarray, boxes: np.ndarray, dets: np.ndarray, xyxy: np.ndarray, score: np.ndarray,
               limit: float, fuse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(matched (k, 2) track/detection indices, unmatched positions in ``tracks``, unmatched positions in ``dets``)."""
        if not len(tracks) or not len(dets):
            return np.zeros((0, 2), np.intp), np.arange(len(tracks)), np.arange(len(dets))
        similarity = _iou(boxes[tracks], xyxy[dets])
        if fuse:
            similarity = similarity * score[dets][None, :]
        if self.class_aware:
            similarity = np.where(self.cls[tracks][:, None] == self._det_cls[dets][None, :], similarity, 0.0)
        m, rest_tracks, rest_dets = linear_assignment(1.0 - similarity, limit)
        return np.stack([tracks[m[:, 0]], dets[m[:, 1]]], axis=1), rest_tracks, rest_dets

    def _duplicates_kept(self) -> np.ndarray:
        """False for the younger of a tracked and a lost track that overlap with IoU > 0.85 (ByteTrack's clean-up)."""
        keep = np.ones(len(self), bool)
        tracked, lost = np.flatnonzero(self.state == TRACKED), np.flatnonzero(self.state == LOST)
        if not len(tracked) or not len(lost):
            return keep
        boxes = kalman.xyah_to_xyxy(self.mean)
        ti, li = np.nonzero(_iou(boxes[tracked], boxes[lost]) > 0.85)
        for a, b in zip(tracked[ti], lost[li]):
            age_a, age_b = self.frame - self.first[a], self.frame - self.first[b]
            keep[b if age_a > age_b else a] = False
        return keep

    def _keep(self, keep: np.ndarray) -> None:
        if keep.all():
            return
        self.mean, self.cov, self.ids = self.mean[keep], self.cov[keep], self.ids[keep]
        self.state, self.first, self.last = self.state[keep], self.first[keep], self.last[keep]
        self.cls = self.cls[keep]

    def _start(self, xyxy: np.ndarray, cls: np.ndarray) -> None:
        """Tentative tracks for new high-score detections."""
        if not len(xyxy):
            return
        mean, cov = kalman.initiate(kalman.xyxy_to_xyah(xyxy))
        n = len(xyxy)
        self.mean, self.cov = np.concatenate([self.mean, mean]), np.concatenate([self.cov, cov])
        self.ids = np.concatenate([self.ids, np.zeros(n, np.int64)])
        self.state = np.concatenate([self.state, np.full(n, TRACKED, np.int8)])
        frames = np.full(n, self.frame, np.int64)
        self.first, self.last = np.concatenate([self.first, frames]), np.concatenate([self.last, frames])
        self.cls = np.concatenate([self.cls, cls])
