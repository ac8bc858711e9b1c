"""``synthetic://``: the same frames for the same seed, shapes that move, paced live or in order."""
from __future__ import annotations

import time

import numpy as np
import pytest

from edgevision.errors import SourceError
from edgevision.sources import LiveSource, OrderedSource, open_source
from edgevision.sources.synthetic import SyntheticCapture, parse_synthetic


def frames(uri: str, n: int) -> list[np.ndarray]:
    with open_source(uri, max_frames=n) as source:
        return [f.image for f in source]


def test_same_seed_same_frames_other_seed_other_frames():
    a = frames("synthetic://160x120@30?seed=3&pace=0", 20)
    b = frames("synthetic://160x120@30?seed=3&pace=0", 20)
    c = frames("synthetic://160x120@30?seed=4&pace=0", 20)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.array_equal(x, z) for x, z in zip(a, c))


def test_frames_depend_on_index_not_on_pacing():
    spec = parse_synthetic("synthetic://160x120@30?seed=5")
    paced = SyntheticCapture(spec)
    unpaced = SyntheticCapture(parse_synthetic("synthetic://160x120@500?seed=5&pace=0"))
    assert all(np.array_equal(paced.image(t), unpaced.image(t)) for t in (0, 1, 17, 400))


def test_shapes_move_and_truth_follows_them():
    capture = SyntheticCapture(parse_synthetic("synthetic://320x240?seed=1&shapes=3"))
    first, later = capture.image(0), capture.image(10)
    assert first.shape == (240, 320, 3) and first.dtype == np.uint8
    assert (first != later).any(axis=2).mean() > 0.01  # moved
    boxes0, labels = capture.boxes(0)
    boxes10, _ = capture.boxes(10)
    assert len(boxes0) == len(labels) == 3 and not np.array_equal(boxes0, boxes10)
    assert (boxes10[:, [0, 1]] >= 0).all() and (boxes10[:, 2] <= 320).all() and (boxes10[:, 3] <= 240).all()
    x0, y0, x1, y1 = boxes10[0].astype(int)  # the shape is inside its box: bright pixels against the background
    assert later[y0:y1, x0:x1].max() > first.max() * 0.5


def test_paced_synthetic_is_a_live_source_at_its_rate():
    with open_source("synthetic://64x48@40?seed=0") as source:
        assert isinstance(source, LiveSource) and source.live
        start = time.monotonic()
        got = [next(source).index for _ in range(10)]
        elapsed = time.monotonic() - start
    assert got == sorted(got) and len(got) == 10
    assert elapsed >= 9 / 40 * 0.8  # paced, not as fast as it can draw


def test_unpaced_synthetic_is_in_order_and_options_apply():
    with open_source("synthetic://64x48@30?pace=0", max_frames=5, size=(80, 60)) as source:
        assert isinstance(source, OrderedSource) and not source.live
        got = list(source)
    assert [f.index for f in got] == [0, 1, 2, 3, 4]
    assert got[0].image.shape == (60, 80, 3)  # drawn at the size asked for
    assert got[0].name == "synthetic://80x60@30?seed=0"


@pytest.mark.parametrize("uri, message", [
    ("synthetic://640by480", "expected synthetic://WxH@FPS"),
    ("synthetic://640x480@30?colour=red", "unknown synthetic:// option 'colour'; valid options: seed, shapes, pace"),
    ("synthetic://640x480?seed=x", "expected integer synthetic:// options"),
    ("synthetic://8x8", "expected a size of at least 16x16"),
])
def test_bad_synthetic_uris(uri, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace("?", r"\?")):
        open_source(uri)


def test_defaults():
    spec = parse_synthetic("synthetic://")
    assert (spec.size, spec.fps, spec.seed, spec.shapes, spec.pace) == ((640, 480), 30.0, 0, 4, True)
