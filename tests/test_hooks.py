"""Hooks: predict reports its stages to callbacks; predict_frame adds capture and capture-to-result."""
from __future__ import annotations

import time

import numpy as np
import pytest

import edgevision
from edgevision.hooks import FrameTimings, Hooks, Recorder, Stopwatch
from edgevision.sources import Frame


@pytest.fixture(scope="module")
def model(zoo):
    return edgevision.load(zoo["classifier"]["tflite"], task="classification")


def test_predict_emits_its_stage_times(model, scene):
    seen = []
    cb = model.on_frame(lambda t, r: seen.append((t, r)))
    try:
        result = model.predict(scene.image)
    finally:
        model.hooks.remove(cb)
    (timings, got), = seen
    assert got is result
    assert timings.capture == 0.0
    assert (timings.preprocess, timings.infer, timings.decode) == tuple(model.timings)
    assert timings.total == pytest.approx(sum(model.timings), abs=1e-5)


def test_predict_frame_counts_the_wait_since_capture(model, scene):
    seen = []
    model.on_frame(lambda t, r: seen.append(t))
    try:
        frame = Frame(scene.image, 0, time.monotonic() - 0.05, "x")  # captured 50 ms ago
        model.predict_frame(frame, capture=0.01)
    finally:
        model.hooks = Hooks()
    assert len(seen) == 1  # once, not once from predict and once from predict_frame
    assert seen[0].capture == 0.01
    assert seen[0].total >= 0.05 + seen[0].infer


def test_user_stages_ride_on_the_next_frame():
    hooks = Hooks()
    seen = []
    hooks.add(lambda t, r: seen.append(t))
    with hooks.timer("track"):
        time.sleep(0.002)
    with hooks.timer("track"):
        time.sleep(0.002)
    hooks.emit(FrameTimings(0, 0, 0, 0, 0), None)
    hooks.emit(FrameTimings(0, 0, 0, 0, 0), None)
    assert seen[0].user["track"] >= 0.004
    assert seen[1].user is None
    assert set(seen[0].to_dict()) == {"capture", "preprocess", "infer", "decode", "total", "track"}


def test_no_callback_means_nothing_is_emitted(model, scene):
    model.hooks.last = None
    model.predict(scene.image)
    assert model.hooks.last is None


def test_bad_callback_and_stopwatch():
    with pytest.raises(TypeError, match="expected a callable"):
        Hooks().add(3)
    with Stopwatch() as sw:
        np.zeros(10).sum()
    assert 0 < sw.elapsed < 1


def test_recorder_keeps_every_frame_and_the_user_stages():
    hooks = Hooks()
    rec = hooks.add(Recorder())
    hooks.emit(FrameTimings(0.0, 0.001, 0.002, 0.0005, 0.0035), None)
    with hooks.timer("track"):
        pass
    hooks.emit(FrameTimings(0.01, 0.001, 0.004, 0.0005, 0.0155), None)
    assert len(rec) == 2
    assert rec.stages() == ["capture", "preprocess", "infer", "decode", "total", "track"]
    assert rec.seconds("infer") == [0.002, 0.004]
    assert rec.seconds("capture") == [0.0, 0.01]
    track = rec.seconds("track")
    assert track[0] == 0.0 and track[1] > 0  # absent from the first frame: 0
    ms = rec.to_dict(["infer", "total"])
    assert ms == {"infer": [2.0, 4.0], "total": [3.5, 15.5]}
    rec.clear()
    assert len(rec) == 0 and rec.stages()[-1] == "total"


def test_recorder_on_a_model_sees_what_predict_timed(model, scene):
    rec = model.on_frame(Recorder())
    try:
        for _ in range(3):
            model.predict(scene.image)
    finally:
        model.hooks.remove(rec)
    assert len(rec) == 3
    assert rec.seconds("infer")[-1] == model.timings.infer
    assert not model.hooks  # removed: predict emits nothing again
