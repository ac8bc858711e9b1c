"""``edgevision run MODEL --source URI``: a model live on a camera, stream or files, with annotated output.

One result line per frame on stdout (JSON lines with ``--json``), a summary on
stderr when the run ends (the source ends, ``--max-frames``, or Ctrl-C: a clean
stop, exit 0), and optionally annotated frames to a video or image files
(``--output``), a window (``--show``) or a browser (``--serve 127.0.0.1:8080``).

JSON lines carry, per frame: ``frame`` (index; for live sources a jump is dropped
frames), ``timestamp`` (``time.monotonic()`` at capture), ``source``, ``size``,
``latency_ms`` (capture, preprocess, infer, decode, total), ``dropped``,
``reconnects``, ``gap_ms`` (only on the first frame after a reconnect) and the result;
the last line is ``{"summary": {...}}``. Faults of a live source are reported on
stderr as they happen, and the run goes on.

Example:
    $ edgevision run bundle/ --source csi://0 --serve 0.0.0.0:8080
    $ edgevision run det.tflite --source clip.mp4 --output annotated.mp4 --json > results.jsonl
    $ edgevision run bundle/ --source "gst://nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM),width=1280,\
height=720,framerate=30/1 ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! appsink"
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .options import _positive_int, _size, add_model_arguments, load_model
from .publishing import add_publish_arguments, publisher

SOURCE_HELP = ("csi://N, /dev/videoN, v4l2:///dev/videoN, usb://N, gst://PIPELINE, rtsp://..., http(s)://..., "
               "synthetic://WxH@FPS[?seed=N&pace=0], a video file, an image, a directory or a glob of images")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    s = p.add_argument_group("source")
    s.add_argument("--source", required=True, help=SOURCE_HELP)
    s.add_argument("--source-size", type=_size, metavar="WxH", help="frame size: asked of a camera, resized to")
    s.add_argument("--source-fps", type=_positive_float, metavar="FPS",
                   help="camera frame rate to ask for; files are played back at this rate")
    s.add_argument("--loop", action="store_true", help="start a video or image list again at its end")
    s.add_argument("--max-frames", type=_positive_int, help="stop after this many frames")
    s.add_argument("--timeout", type=_positive_float, default=5.0, metavar="SECONDS",
                   help="live sources: reopen the device after this long without a frame (default: 5)")
    s.add_argument("--overlap", action=argparse.BooleanOptionalAction, default=None,
                   help="run the engine in a thread of its own while frames are captured, preprocessed, decoded "
                        "and written; --no-overlap runs the stages one after another (default: overlap when the "
                        "engine leaves a core free or runs on an accelerator)")
    t = p.add_argument_group("tracking and counting (detection, instance-segmentation and pose models)")
    t.add_argument("--track", action="store_true", help="track objects across frames (ByteTrack): a track id per box")
    t.add_argument("--count-line", action="append", default=[], metavar="X1,Y1,X2,Y2",
                   help="count tracked objects crossing this line, per class and direction, in source pixels "
                        "(repeatable; implies --track)")
    t.add_argument("--zone", action="append", default=[], metavar="X,Y,X,Y,X,Y[,...]",
                   help="count tracked objects inside this polygon, and those entering and leaving it, per class "
                        "(repeatable; implies --track)")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="one JSON object per frame on stdout, then a summary")
    o.add_argument("--quiet", action="store_true", help="no per-frame lines on stdout (with --json: the summary only)")
    o.add_argument("--output", metavar="PATH",
                   help="annotated frames to a video (.mp4, .avi, .mkv, .mov), a directory, or one image file")
    o.add_argument("--show", action="store_true", help="annotated frames in a window (needs a display)")
    o.add_argument("--serve", metavar="[HOST:]PORT",
                   help="live view in a browser at http://HOST:PORT/ (host defaults to 127.0.0.1), with the "
                        "results as server-sent events at /results")
    add_publish_arguments(p)


class _Header:
    """Prints what runs once the first frame is through: a source that cannot be read leaves one error line."""

    def __init__(self, model: Any) -> None:
        self.model, self.done = model, False

    def write(self, out: Any) -> None:
        if not self.done:
            self.done = True
            info = self.model.info()
            be = info["backend"]
            src = out.stream.source
            print(f"model: {info['artifact']['file']} · {info['task']} · {be['backend']} {be['version']} on "
                  f"{be['device']} · {be.get('threads')} threads · {'overlapped' if out.stream.overlap else 'sequential'}"
                  f" · source: {src.name} ({'live' if src.live else 'in order'})", file=sys.stderr, flush=True)

    def close(self, completed: bool = True) -> None:
        pass


def summary_line(summary: dict[str, Any]) -> str:
    """The human summary of a run, one line."""
    med = summary["median_ms"]
    stages = ", ".join(f"{k} {med[k]:.2f}" for k in ("capture", "preprocess", "infer", "decode", "total"))
    why = {"interrupted": "stopped by Ctrl-C · ", "stopped": "stopped · "}.get(summary["stopped"], "")
    gaps = f" ({summary['gap_seconds']:.1f} s without frames)" if summary["reconnects"] else ""
    line = (f"{why}{summary['frames']} frames in {summary['seconds']:.1f} s · {summary['fps']:.1f} fps · "
            f"median ms: {stages} · dropped {summary['dropped']} · reconnects {summary['reconnects']}{gaps}")
    if "tracks" in summary:
        from ..track.counting import describe_counts

        line += f" · {summary['tracks']} tracks" + "".join(f" · {c}" for c in describe_counts(summary.get("counts")))
    return line + (_publish_part(summary["publish"]) if "publish" in summary else "")


def _publish_part(p: dict[str, Any]) -> str:
    return (f" · MQTT {p['url']}: {p['published']} published, {p['dropped']} dropped (queue full), "
            f"{p['lost'] + p.get('unsent', 0)} lost or unsent, {p['reconnects']} reconnects")


@contextlib.contextmanager
def _sigterm_stops() -> Iterator[None]:
    """SIGTERM (``kill``, ``timeout``, systemd) stops the run like Ctrl-C: cleanly, with a summary."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import Stream, run_sinks
    from ..sinks import JsonLinesSink, TextSink, WindowSink, output_sink
    from ..sources import open_source
    from ..sources.opencv import redact

    def event(message: str) -> None:  # reader threads report faults and recoveries as they happen
        print(f"edgevision run: {redact(args.source)}: {message}", file=sys.stderr, flush=True)

    with contextlib.ExitStack() as cleanup:
        # Outputs first (a port in use fails at once), then the source (a missing camera fails before
        # the model loads), then the model.
        from ..track.counting import parse_points

        lines = [parse_points(text, 2, "--count-line") for text in args.count_line]
        zones = [parse_points(text, 3, "--zone") for text in args.zone]
        sinks: list[Any] = []
        if not args.quiet:
            sinks.append(JsonLinesSink(sys.stdout) if args.json else TextSink(sys.stdout))
        if args.output:
            sinks.append(output_sink(args.output, fps=args.source_fps))
        if args.show:
            sinks.append(WindowSink())
        view = None
        if args.serve:
            from ..serve import LiveView

            view = LiveView(args.serve)
            cleanup.callback(view.close)
            sinks.append(view)
        mqtt = publisher(args, lambda message: print(f"edgevision run: {message}", file=sys.stderr, flush=True))
        if mqtt is not None:
            cleanup.callback(mqtt.close)  # after run_sinks has closed it: a no-op then
            sinks.append(mqtt)
        source = open_source(args.source, size=args.source_size, fps=args.source_fps, loop=args.loop,
                             max_frames=args.max_frames, timeout=args.timeout, on_event=event)
        cleanup.callback(source.close)
        model = load_model(args)
        if view is not None:
            view.title = f"edgevision · {model.info()['artifact']['file']}"
        # No flag: the rule Model.stream uses too (edgevision.overlap.overlap_pays).
        stream = Stream(model, source, overlap="auto" if args.overlap is None else args.overlap, track=args.track,
                        lines=lines, zones=zones)
        header = _Header(model)
        if view is not None:
            print(f"live view: {view.url}", file=sys.stderr, flush=True)
        annotator = None
        if args.output or args.show or args.serve:
            from ..annotate import Annotator

            annotator = Annotator()  # made before the first frame: its one-time set-up is not on a frame
        with _sigterm_stops():
            reason = run_sinks(stream, [header, *sinks], annotator=annotator)
    summary = {**stream.summary(), "stopped": reason, **({"publish": mqtt.stats()} if mqtt is not None else {})}
    print(summary_line(summary), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps({"summary": summary}), flush=True)
    return 0
