"""File sources with real files: a video written with OpenCV, directories and globs of PNGs, single images."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from edgevision.errors import ImageError, SourceError
from edgevision.sources import OrderedSource, open_source

cv2 = pytest.importorskip("cv2")

N = 12


def colour_frames(n: int = N, size: tuple[int, int] = (96, 64)) -> list[np.ndarray]:
    """RGB frames whose red channel encodes the index and whose blue channel is 0: order and channel checks."""
    w, h = size
    frames = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 0] = 20 * i
        f[..., 1] = 100
        frames.append(f)
    return frames


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.avi"  # MJPG in AVI: written and read by every OpenCV build
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (96, 64))
    assert writer.isOpened()
    for f in colour_frames():
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("images")
    for i, f in enumerate(colour_frames(4)):
        cv2.imwrite(str(root / f"img{3 - i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))  # names sort in reverse
    (root / "notes.txt").write_text("not an image")
    return root


def test_video_file_yields_every_frame_in_order_rgb(video):
    with open_source(video) as source:
        assert isinstance(source, OrderedSource) and not source.live
        assert source.fps == pytest.approx(25.0)
        frames = list(source)
    assert [f.index for f in frames] == list(range(N))
    assert {f.name for f in frames} == {str(video)}
    reds = [int(np.median(f.image[..., 0])) for f in frames]
    assert reds == pytest.approx([20 * i for i in range(N)], abs=6)  # in order, none dropped
    assert all(int(np.median(f.image[..., 2])) < 8 for f in frames)  # RGB, not BGR
    assert source.stats.delivered == N and source.stats.dropped == 0


def test_video_timestamps_are_monotonic_capture_times(video):
    before = time.monotonic()
    frames = list(open_source(video))
    stamps = [f.timestamp for f in frames]
    assert before <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= time.monotonic()


def test_max_frames_size_and_loop(video):
    frames = list(open_source(video, max_frames=5, size=(48, 32)))
    assert len(frames) == 5 and frames[0].image.shape == (32, 48, 3)
    looped = list(open_source(video, loop=True, max_frames=N + 3))
    assert [f.index for f in looped] == list(range(N + 3))
    assert int(np.median(looped[N].image[..., 0])) == pytest.approx(0, abs=6)  # the start again


def test_fps_paces_file_playback(video):
    start = time.monotonic()
    list(open_source(video, max_frames=6, fps=50.0))
    assert time.monotonic() - start >= 5 / 50.0 * 0.9


def test_directory_of_images_sorted_by_name(image_dir):
    frames = list(open_source(image_dir))
    assert [Path(f.name).name for f in frames] == ["img0.png", "img1.png", "img2.png", "img3.png"]
    assert [int(f.image[0, 0, 0]) for f in frames] == [60, 40, 20, 0]
    assert [f.index for f in frames] == [0, 1, 2, 3]


def test_glob_and_single_image(image_dir):
    frames = list(open_source(str(image_dir / "img[12].png")))
    assert [Path(f.name).name for f in frames] == ["img1.png", "img2.png"]
    (single,) = list(open_source(image_dir / "img3.png"))
    assert single.image.shape == (64, 96, 3) and single.image[0, 0].tolist() == [0, 100, 0]


def test_bad_files(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ImageError, match=r"expected a video OpenCV can decode, got 'x.mp4'"):
        open_source(bad)  # fails on open, before any model would load
    with pytest.raises(SourceError, match=r"expected images matching the glob .*, got none"):
        open_source(str(tmp_path / "*.png"))
    with pytest.raises(SourceError, match=r"got missing path"):
        open_source(tmp_path / "missing.mp4")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SourceError, match=r"expected a video .* or an image .* file, got 'notes.txt'"):
        open_source(tmp_path / "notes.txt")


def test_undecodable_image_in_a_directory_is_raised_at_its_turn(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "b.png").write_bytes(b"not a png")
    source = open_source(tmp_path)
    assert next(source).name.endswith("a.png")
    with pytest.raises(ImageError, match="undecodable 'b.png'"):
        next(source)
    source.close()
