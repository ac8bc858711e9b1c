"""``edgevision run --track --count-line --zone`` on a generated video: track ids and counts in every output."""
from __future__ import annotations

import json
import subprocess
import sys

import _onnx_models
import numpy as np
import pytest

from edgevision.converters.sequences import moving_shapes_sequence

cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("track")
    seq = moving_shapes_sequence(60, (320, 240), n_objects=4, seed=3)
    path = root / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (320, 240))
    for frame in seq.frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return root, path, _onnx_models.bright_spot_detector(root / "det.onnx")


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgevision", "run", *map(str, args)], capture_output=True,
                          text=True, timeout=180)


def test_run_track_writes_ids_counts_and_a_summary(clip):
    root, video, model = clip
    labels = root / "labels.txt"
    labels.write_text("\n".join(_onnx_models.LABELS))
    done = run(model, "--source", video, "--labels", labels, "--track", "--count-line", "0,120,320,120",
               "--zone", "0,0,160,0,160,240,0,240", "--json", "--output", root / "annotated.avi", "--no-overlap")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    frames, summary = lines[:-1], lines[-1]["summary"]
    assert len(frames) == 60 and summary["frames"] == 60
    tracked = [d for f in frames for d in f["detections"]]
    assert tracked and all("track_id" in d for d in tracked)
    assert all(set(f["counts"]) == {"lines", "zones"} for f in frames)
    assert frames[-1]["counts"] == summary["counts"] and summary["tracks"] >= 1
    assert "track" in frames[-1]["latency_ms"]  # the tracking stage is timed
    assert " tracks · line 1: in " in done.stderr and "zone 1: " in done.stderr
    assert (root / "annotated.avi").is_file()


@pytest.mark.parametrize(("flags", "message"), [
    (["--count-line", "0,120,320"], "expected --count-line as x,y pairs"),
    (["--zone", "0,0,10,10"], "expected --zone as x,y pairs (at least 3 points"),
])
def test_bad_counting_flags_are_one_line(clip, flags, message):
    _, video, model = clip
    done = run(model, "--source", video, *flags)
    assert done.returncode != 0 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr


def test_tracking_a_classifier_is_refused(clip, tmp_path):
    _, video, _ = clip
    model = _onnx_models.colour_classifier(tmp_path / "cls.onnx")
    done = run(model, "--source", video, "--track")
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
    assert "expected a model whose results are boxes to track" in done.stderr


def test_stream_track_in_python(clip):
    import edgevision

    _, video, model = clip
    detector = edgevision.load(model, labels=_onnx_models.LABELS)
    with detector.stream(str(video), track=True, zones=[[(0, 0), (160, 0), (160, 240), (0, 240)]],
                         overlap=True) as stream:
        ids = [r.tracker_id.tolist() for r in stream]
    assert len(ids) == 60 and any(ids) and stream.summary()["counts"]["zones"][0]["name"] == "zone 1"
    assert np.all([isinstance(i, int) for frame in ids for i in frame])
