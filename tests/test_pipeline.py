"""``Model.stream`` and ``run_sinks``: real frames through a real (tiny ONNX) model, timings, sinks, stops."""
from __future__ import annotations

import threading

import _onnx_models
import numpy as np
import pytest
from _standin_camera import StandInCamera

import edgevision
from edgevision.hooks import FrameTimings
from edgevision.pipeline import LatencyHistogram, RunStats, Stream, StreamItem, run_sinks
from edgevision.results import Detections
from edgevision.sinks import ImageSink, JsonLinesSink, VideoSink
from edgevision.sources import LiveSource

cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")
SYNTHETIC = "synthetic://160x120@30?seed=3&pace=0"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return edgevision.load(_onnx_models.bright_spot_detector(tmp_path_factory.mktemp("m") / "det.onnx"),
                           labels=_onnx_models.LABELS)


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_stream_yields_a_result_per_frame_with_frame_and_timings(model, overlap):
    seen = []
    with model.stream(SYNTHETIC, max_frames=12, overlap=overlap) as stream:
        assert isinstance(stream, Stream)
        for result in stream:
            assert isinstance(result, Detections)
            assert isinstance(stream.timings, FrameTimings) and stream.result is result
            t = stream.timings
            assert t.capture >= 0 and t.total >= t.preprocess + t.infer + t.decode
            seen.append((stream.frame.index, stream.frame.image.shape, len(result)))
    assert [s[0] for s in seen] == list(range(12))
    assert {s[1] for s in seen} == {(120, 160, 3)} and all(s[2] > 0 for s in seen)
    summary = stream.summary()
    assert summary["frames"] == 12 and summary["fps"] > 0 and summary["dropped"] == 0
    assert set(summary["median_ms"]) == {"capture", "preprocess", "infer", "decode", "total"}
    assert summary["median_ms"]["infer"] > 0 and summary["first_frame_ms"] > 0
    assert not model.hooks  # the stream's hook is gone with it


def test_options_with_an_open_source_are_an_error(model):
    from edgevision.sources import open_source

    with open_source(SYNTHETIC) as source:
        with pytest.raises(TypeError, match="expected source options only with a URI or path, got an open source "
                                            "and max_frames"):
            model.stream(source, max_frames=3)
        with Stream(model, source) as stream:  # an open source as it is
            assert isinstance(next(stream), Detections) and stream.frame.index == 0


def test_detections_follow_the_moving_shapes(model):
    items = list(model.stream(SYNTHETIC, max_frames=40).items())
    assert all(isinstance(i, StreamItem) for i in items)
    first, last = items[0].result, items[-1].result
    assert not np.array_equal(first.xyxy, last.xyxy)


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_users_hooks_and_timers_see_the_stream(model, overlap):
    got = []
    model.on_frame(lambda timings, result: got.append(timings))
    try:
        with model.stream(SYNTHETIC, max_frames=3, overlap=overlap) as stream:
            for _ in stream:
                with model.hooks.timer("track"):
                    pass
                assert got[-1] is stream.timings
    finally:
        model.hooks._callbacks.clear()
    assert len(got) == 3 and "track" in got[-1].user


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_stream_over_a_video_file(model, tmp_path, overlap):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (160, 120))
    from edgevision.sources.synthetic import SyntheticCapture, parse_synthetic

    capture = SyntheticCapture(parse_synthetic(SYNTHETIC))
    for t in range(15):
        writer.write(cv2.cvtColor(capture.image(t), cv2.COLOR_RGB2BGR))
    writer.release()
    frames = [frame.index for frame, _, _ in model.stream(path, overlap=overlap).items()]
    assert frames == list(range(15))


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_reconnect_shows_in_summary_and_records(model, capsys, overlap):
    camera = StandInCamera((4, "disconnect"), "unplugged", (None, None))
    source = LiveSource("standin://", camera, backoff=(0.01, 0.05))
    stream = Stream(model, source, overlap=overlap)

    class StopAfterReconnect:
        def write(self, out):
            return False if out.stream.source.stats.reconnects and out.frame.index > 8 else None

        def close(self, completed=True):
            pass

    assert run_sinks(stream, [JsonLinesSink(), StopAfterReconnect()]) == "stopped"
    import json

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    gaps = [r for r in records if "gap_ms" in r]
    assert len(gaps) == 1 and gaps[0]["gap_ms"] > 0 and gaps[0]["reconnects"] == 1
    assert records[0]["reconnects"] == 0 and set(records[0]["latency_ms"]) >= {"capture", "infer", "total"}
    summary = stream.summary()
    assert summary["reconnects"] == 1 and summary["gap_seconds"] > 0


def test_sinks_write_video_and_images(model, tmp_path):
    video, images = tmp_path / "out.mp4", tmp_path / "frames"
    reason = run_sinks(model.stream(SYNTHETIC, max_frames=10), [VideoSink(video), ImageSink(images)])
    assert reason == "end" and video.exists() and not list(tmp_path.glob(".out.partial*"))
    cap = cv2.VideoCapture(str(video))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 10 and cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 160
    assert sorted(p.name for p in images.iterdir()) == [f"frame_{i:06d}.jpg" for i in range(10)]


class Interrupt:
    """Raises KeyboardInterrupt at frame ``at``, as Ctrl-C would mid-run."""

    def __init__(self, at: int) -> None:
        self.at = at

    def write(self, out):
        if out.frame.index == self.at:
            raise KeyboardInterrupt

    def close(self, completed=True):
        pass


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_ctrl_c_is_a_clean_stop_that_keeps_the_video(model, tmp_path, overlap):
    video = tmp_path / "out.avi"
    stream = model.stream("synthetic://96x64@30?seed=1", overlap=overlap)  # live: it never ends by itself
    assert run_sinks(stream, [VideoSink(video), Interrupt(5)]) == "interrupted"
    assert video.exists() and stream.source._closed
    assert not [t for t in threading.enumerate() if t.name == "edgevision-infer"]  # the worker is gone too


@pytest.mark.parametrize("overlap", [False, True], ids=["sequential", "overlapped"])
def test_an_error_discards_the_partial_video(model, tmp_path, overlap):
    class Broken:
        def write(self, out):
            if out.frame.index == 3:
                raise RuntimeError("disk full")

        def close(self, completed=True):
            pass

    with pytest.raises(RuntimeError, match="disk full"):
        run_sinks(model.stream(SYNTHETIC, overlap=overlap), [VideoSink(tmp_path / "out.mp4"), Broken()])
    assert list(tmp_path.iterdir()) == []


def test_latency_histogram_median_is_within_a_quarter_percent():
    values = np.random.default_rng(0).lognormal(np.log(0.004), 0.5, 5001)
    h = LatencyHistogram()
    for v in values:
        h.add(float(v))
    assert h.quantile(0.5) == pytest.approx(np.median(values), rel=2.5e-3)
    assert h.quantile(0.95) == pytest.approx(np.quantile(values, 0.95), rel=5e-3)


def test_run_stats_fps_leaves_out_the_first_frame():
    stats = RunStats(window=4)
    t = FrameTimings(0.0, 0.001, 0.010, 0.001, 0.5)
    for i, now in enumerate([10.0, 10.1, 10.2, 10.3, 10.4]):  # frame 0 took 0.5 s (warm-up), then 10 fps
        stats.add(t if i == 0 else t._replace(total=0.012), now=now)
    assert stats.fps() == pytest.approx(10.0)
    assert stats.summary()["first_frame_ms"] == pytest.approx(500.0)
    recent = stats.recent()
    assert recent["frames"] == 5 and recent["latency_ms"]["total"] == pytest.approx(12.0)


def _video(path, frames=30):
    from edgevision.sources.synthetic import SyntheticCapture, parse_synthetic

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (160, 120))
    capture = SyntheticCapture(parse_synthetic(SYNTHETIC))
    for t in range(frames):
        writer.write(cv2.cvtColor(capture.image(t), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def _records(stream):
    return [(frame.index, result.xyxy.tolist(), result.class_id.tolist(), result.confidence.tolist())
            for frame, result, _ in stream.items()]


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_overlapped_stream_gives_the_sequential_results_in_order(tmp_path, backend):
    """OpenVINO hands out its output buffers, which the next inference overwrites: the worker must copy them."""
    pytest.importorskip(backend)
    model = edgevision.load(_onnx_models.bright_spot_detector(tmp_path / "det.onnx"), labels=_onnx_models.LABELS,
                            backend=backend)
    assert model.backend.fresh_outputs is (backend == "onnxruntime")
    video = _video(tmp_path / "clip.avi")
    sequential = _records(model.stream(video, overlap=False))
    overlapped = _records(model.stream(video, overlap=True))
    assert [r[0] for r in overlapped] == list(range(30))
    assert overlapped == sequential
    assert len({str(r[1]) for r in overlapped}) > 10  # the boxes move: a stale buffer would repeat them


def test_a_source_error_comes_after_the_frames_before_it_when_overlapped(model):
    from edgevision.errors import SourceError
    from edgevision.sources import Source

    class Failing(Source):
        def __init__(self):
            super().__init__("failing://")
            self.n = 0

        def _next_frame(self):
            self.n += 1
            if self.n == 4:
                raise SourceError("expected frames from failing://, got a dead device")
            from edgevision.sources import Frame
            return Frame(np.zeros((120, 160, 3), np.uint8), self.n - 1, 0.0)

    stream = Stream(model, Failing(), overlap=True)
    got = []
    with pytest.raises(SourceError, match="got a dead device"):
        for _ in stream:
            got.append(stream.frame.index)
    assert got == [0, 1, 2]
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "edgevision-infer"]


def test_an_engine_error_in_the_inference_thread_is_raised_in_the_caller_with_its_type(tmp_path, monkeypatch):
    from edgevision.errors import ModelError

    model = edgevision.load(_onnx_models.bright_spot_detector(tmp_path / "det.onnx"), labels=_onnx_models.LABELS)
    run, calls = model.backend.run, []

    def failing_third_time(tensor):
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            raise ModelError("expected a tensor the engine can run, got a failing one")
        return run(tensor)

    monkeypatch.setattr(model.backend, "run", failing_third_time)
    stream = model.stream(SYNTHETIC, max_frames=10, overlap=True)
    got = []
    with pytest.raises(ModelError, match="got a failing one"):
        for _ in stream:
            got.append(stream.frame.index)
    assert got == [0, 1] and set(calls) == {"edgevision-infer"}  # the engine ran in its own thread only
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "edgevision-infer"]


def test_an_overlapped_stream_owns_the_engine_until_it_is_closed(model):
    from edgevision.errors import UserInputError

    image = np.zeros((120, 160, 3), np.uint8)
    with model.stream(SYNTHETIC, max_frames=5, overlap=True) as stream:
        next(stream)
        with pytest.raises(UserInputError, match="overlap=False, or load the model a second time"):
            model.predict(image)
        with pytest.raises(UserInputError, match="one overlapped stream per model at a time"):
            next(model.stream(SYNTHETIC, overlap=True))
    assert isinstance(model.predict(image), Detections)  # closed: the model is the caller's again
    assert len(list(model.stream(SYNTHETIC, max_frames=3, overlap=True))) == 3


def test_an_overlapped_stream_releases_the_engine_when_its_source_raises(model):
    from edgevision.errors import SourceError
    from edgevision.sources import Frame, Source

    class Dying(Source):
        def __init__(self):
            super().__init__("dying://")
            self.n = 0

        def _next_frame(self):
            self.n += 1
            if self.n == 3:
                raise SourceError("expected frames from dying://, got an unplugged camera")
            return Frame(np.zeros((120, 160, 3), np.uint8), self.n - 1, 0.0)

    with pytest.raises(SourceError, match="unplugged camera"), Stream(model, Dying(), overlap=True) as stream:
        for _ in stream:
            assert model.leased_by == "the overlapped stream of dying://"
    assert model.leased_by is None and isinstance(model.predict(np.zeros((120, 160, 3), np.uint8)), Detections)


def test_overlap_auto_is_the_rule_edgevision_run_uses(tmp_path):
    from edgevision.backends import default_threads
    from edgevision.overlap import overlap_pays

    path = _onnx_models.bright_spot_detector(tmp_path / "det.onnx")
    for threads in sorted({1, default_threads()}):
        model = edgevision.load(path, threads=threads)
        with model.stream(SYNTHETIC, max_frames=2) as stream:  # overlap="auto", the default
            assert stream.overlap is overlap_pays(model.backend.info(), default_threads())
            assert stream.overlap is (threads < default_threads())  # on the CPU: only with a core to spare
            assert len(list(stream)) == 2
        assert model.leased_by is None
        for forced in (True, False):  # --overlap / --no-overlap
            with model.stream(SYNTHETIC, overlap=forced) as stream:
                assert stream.overlap is forced


def test_a_bad_overlap_is_one_typed_error_before_the_source_opens(model):
    from edgevision.errors import UserInputError

    with pytest.raises(UserInputError, match="expected overlap=True, False or 'auto', got 'always'"):
        model.stream("/no/such/video.mp4", overlap="always")  # the missing file is not what fails
