"""Hooks: predict reports its stages to callbacks; predict_frame adds capture and capture-to-result."""
from __future__ import annotations

import time

import numpy as np
import pytest

import edgevision
from edgevision.hooks import FrameTimings, Hooks, Stopwatch
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
