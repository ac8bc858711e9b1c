"""Live sources: newest frame only, drops counted, and recovery when a camera fails mid-stream and comes back.

The camera is a STAND-IN (``tests/_standin_camera.py``): a scripted capture that
disconnects, raises or stalls on cue, then is unplugged for a few opens.
"""
from __future__ import annotations

import itertools
import time

import pytest
from _standin_camera import StandInCamera

from edgevision.errors import SourceError
from edgevision.sources import LiveSource

FAST = {"backoff": (0.01, 0.04)}


def read_until(source, predicate, limit: float = 20.0) -> list:
    """Frames until ``predicate(frame)`` holds (generous limit: the machine is shared)."""
    got, deadline = [], time.monotonic() + limit
    for frame in source:
        got.append(frame)
        if predicate(frame) or time.monotonic() > deadline:
            break
    return got


def session(frame) -> int:
    return int(frame.image[0, 0, 0]) // 16


@pytest.mark.parametrize("ending, said", [("disconnect", "stopped delivering frames"),
                                          ("error", "read failed: device unplugged")])
def test_camera_that_fails_mid_stream_and_comes_back(ending, said):
    camera = StandInCamera((5, ending), "unplugged", "unplugged", (None, None))
    events: list[str] = []
    with LiveSource("standin://", camera, timeout=5.0, on_event=events.append, **FAST) as source:
        frames = read_until(source, lambda f: session(f) == 1)
        stats = source.stats
    assert session(frames[0]) == 0 and session(frames[-1]) == 1  # the run went on, on the reopened camera
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))  # one count across the reconnect
    assert stats.reconnects == 1 and stats.last_gap > 0 and stats.gap_seconds == stats.last_gap
    assert camera.attempts == 4  # first open, two failed reopens, the one that worked
    assert any(said in e and "reconnecting" in e for e in events)
    assert sum("reopen attempt" in e and "failed" in e for e in events) == 2
    assert any(e.startswith("frames again after a") for e in events)
    assert camera.opened[0].closed


def test_stalled_read_is_left_behind_and_the_camera_reopened():
    camera = StandInCamera((3, "stall"), (None, None))
    events: list[str] = []
    try:
        with LiveSource("standin://", camera, timeout=0.3, on_event=events.append, **FAST) as source:
            frames = read_until(source, lambda f: session(f) == 1)
            assert source.stats.reconnects == 1
    finally:
        camera.release.set()  # the stuck read returns; its thread closes the capture
    assert session(frames[-1]) == 1
    assert any(e.startswith("no frame for") and "reopening" in e for e in events)
    deadline = time.monotonic() + 5
    while not camera.opened[0].closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert camera.opened[0].closed


def test_slow_consumer_gets_the_newest_frame_and_drops_are_counted():
    camera = StandInCamera((None, None), interval=0.001)
    with LiveSource("standin://", camera) as source:
        frames = []
        for frame in source:
            frames.append(frame)
            if len(frames) == 8:
                break
            time.sleep(0.03)  # a model far slower than the camera
        stats = source.stats
    gaps = [b.index - a.index for a, b in itertools.pairwise(frames)]
    assert max(gaps) > 1 and stats.dropped > 0
    assert stats.captured >= stats.delivered + stats.dropped
    assert stats.delivered == 8


def test_source_that_never_delivers_is_an_error_not_a_reconnect_loop():
    with pytest.raises(SourceError, match=r"expected frames from standin://, got none \(the source stopped"), \
            LiveSource("standin://", StandInCamera((0, "disconnect")), **FAST) as source:
        next(source)


def test_a_bug_in_a_capture_is_raised_not_retried():
    camera = StandInCamera((3, "bug"), (None, None))
    with LiveSource("standin://", camera, **FAST) as source, pytest.raises(ValueError, match="a bug in the capture code"):
        for _ in range(10):
            next(source)
    assert camera.attempts == 1


def test_first_frame_timeout():
    camera = StandInCamera((0, "stall"))
    try:
        with pytest.raises(SourceError, match=r"expected frames from standin:// within 0.2 s, got none"), \
                LiveSource("standin://", camera, timeout=0.2) as source:
            next(source)
    finally:
        camera.release.set()


def test_unplugged_at_open_fails_at_once():
    with pytest.raises(SourceError, match="no such device"):
        LiveSource("standin://", StandInCamera("unplugged"))


def test_close_while_reconnecting_is_prompt():
    camera = StandInCamera((2, "disconnect"), "unplugged")
    source = LiveSource("standin://", camera, backoff=(0.5, 8.0))
    next(source), next(source)
    deadline = time.monotonic() + 10
    while camera.attempts < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    source.close()
    assert time.monotonic() - start < 1.0
    with pytest.raises(StopIteration):
        next(source)
