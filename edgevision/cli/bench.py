"""``edgevision bench MODEL_OR_BUNDLE``: latency per stage (and per target for a bundle), with reports.

Examples:
    $ edgevision bench model.tflite --runs 200 --threads 4 --compare
    $ edgevision bench bundle/ --duration 10 --report bench.html --csv bench.csv
    $ edgevision bench bundle/ --target cpu --target intel-cpu --source clip.mp4 --json > bench.json

Report paths are checked before anything runs; a failing target in a bundle
leaves its error in its row, the other targets still run, and the command ends
with one error line and the failing target's exit code.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import EdgeVisionError, ModelFileError, UserInputError
from .options import _positive_int, _size, add_model_arguments, load_model

DEFAULT_RUNS = 100


class BenchFailed(EdgeVisionError):
    """Some targets (or their engine comparison) failed; the rest of the report was still produced."""


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    # --target repeats here (one row per target of a bundle): replace the shared single-valued flag.
    # argparse keeps the optionals in a group with its own conflict handler, so both switch to
    # "resolve" for this one flag (options.add_model_arguments could grow a multi_target switch).
    containers = (p, p._optionals)
    for c in containers:
        c.conflict_handler = "resolve"
    p.add_argument("--target", action="append", metavar="ID",
                   help="repeatable; a bundle: bench these targets' artifacts (default: every artifact this "
                        "machine can run); a model file: use this target profile's runtime options")
    for c in containers:
        c.conflict_handler = "error"
    g = p.add_argument_group("bench")
    g.add_argument("--warmup", type=_non_negative_int, default=10, help="untimed runs first (default 10)")
    limit = g.add_mutually_exclusive_group()
    limit.add_argument("--runs", type=_positive_int, help=f"timed runs (default {DEFAULT_RUNS})")
    limit.add_argument("--duration", type=_seconds, metavar="S", help="time for at least S seconds instead")
    g.add_argument("--source", help="real frames: an image, a directory of images or a video "
                                    "(default: seeded random frames)")
    g.add_argument("--frame-size", type=_size, default=(640, 480), metavar="WxH",
                   help="size of the random frames (default 640x480)")
    g.add_argument("--seed", type=int, default=0, help="seed of the random frames (default 0)")
    g.add_argument("--compare", action="store_true",
                   help="also run litert-benchmark (.tflite) or benchmark_app (IR) with the same threads and counts, "
                        "alternated with edgevision's infer-only phase")
    g.add_argument("--compare-rounds", type=_positive_int, default=5, metavar="N",
                   help="tool runs, each followed by another infer-only phase (default 5; more on a noisy machine); "
                        "the ratio is the median of the per-round ratios")
    g.add_argument("--overlap", action="store_true",
                   help="also run the frames through an overlapped stream (the engine in its own thread, as "
                        "edgevision run --overlap) and report its fps")
    g.add_argument("--profile", action="store_true",
                   help="also time every layer with the runtime's profiler (OpenVINO PERF_COUNT, ONNX Runtime's "
                        "profiler; LiteRT: the graph cut after each op) and show the top layers and where each ran")
    g.add_argument("--no-device-state", action="store_true", help="do not sample temperature, clocks, throttling")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print the report as one JSON object (no table)")
    o.add_argument("--csv", metavar="PATH", help="write one row per target and stage")
    o.add_argument("--report", metavar="PATH", help="write a self-contained HTML report with plots")
    o.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress on stderr (default: when stderr is a terminal and not --json)")


def _command() -> list[str] | None:
    """The command line as typed, when this process is the edgevision command."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return ["edgevision", *sys.argv[1:]] if name in ("edgevision", "__main__.py") else None


class BenchProgress:
    """The runner's progress callback ``(phase, done, total, elapsed_s, duration_s)`` for one row, drawn as
    ``console.progress`` draws it: a line per phase, redrawn in place on a terminal, milestones otherwise.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = BenchProgress("cpu", stream=out, tty=False)
    >>> bar("timed", 50, 100, 0.5, None); bar("timed", 100, 100, 1.0, None); bar.close()
    >>> out.getvalue().splitlines()
    ['cpu timed: 50% (50/100 runs, 0.5 s)', 'cpu timed: 100% (100/100 runs, 1.0 s)']
    """

    def __init__(self, label: str, *, stream: TextIO | None = None, tty: bool | None = None) -> None:
        from .console import progress

        self.label = label
        # Made (and rich imported) before the row loads: nothing of it waits for the first timed frame.
        self.display = progress(None, label, stream=stream or sys.stderr, unit=" runs", tty=tty)

    def __call__(self, phase: str, done: int, total: int | None, elapsed: float, duration: float | None) -> None:
        self.display.update(completed=done, total=total, duration=duration, elapsed=elapsed,
                            label=f"{self.label} {phase}")

    def close(self) -> None:
        self.display.close()


@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Callable[[str], BenchProgress | None]]:
    """``progress(label)`` for each row (None: no progress); each row's display ends when the next starts."""
    show = args.progress if args.progress is not None else (sys.stderr.isatty() and not args.json)
    shown: list[BenchProgress] = []

    def for_row(label: str) -> BenchProgress | None:
        if not show:
            return None
        for bar in shown:
            bar.close()
        shown.append(BenchProgress(label))
        return shown[-1]

    try:
        yield for_row
    finally:
        for bar in shown:
            bar.close()


def _loader(args: argparse.Namespace, target: str | None) -> Any:
    ns = argparse.Namespace(**{**vars(args), "target": target or "auto"})
    return lambda: load_model(ns)


def _check_early(args: argparse.Namespace, path: Path, is_bundle: bool) -> None:
    """Everything that can fail before a model loads: output paths, counts, the source, the compare tool."""
    from ..bench import check_writable

    for flag, value in (("--csv", args.csv), ("--report", args.report)):
        if value:
            check_writable(value, flag)
    if not path.exists():
        raise ModelFileError(f"expected a model file or bundle directory, got missing path {str(path)!r}")
    if not is_bundle and args.target and len(args.target) > 1:
        raise UserInputError(f"expected one --target for a model file, got {len(args.target)} "
                             f"(several targets are for a bundle)")
    if args.source:
        from ..sources import open_source

        open_source(args.source)  # a missing or empty source fails now, not once per target
    if args.compare and not is_bundle:
        from ..bench.describe import format_of
        from ..bench.engines import find_tool, tool_for

        find_tool(tool_for(format_of(path)))


def run(args: argparse.Namespace) -> int:
    from ..bench import (
        BenchConfig,
        bench_matrix,
        make_report,
        render_html,
        render_text,
        run_bench,
        to_csv,
        to_json,
        write_atomic,
    )

    path = Path(args.model)
    is_bundle = path.is_dir() or path.suffix.lower() == ".zip"
    _check_early(args, path, is_bundle)
    config = BenchConfig(warmup=args.warmup, runs=args.runs if args.runs or args.duration else DEFAULT_RUNS,
                         duration=args.duration, source=args.source, frame_size=tuple(args.frame_size),
                         seed=args.seed, sample_device=not args.no_device_state,
                         compare_rounds=args.compare_rounds if args.compare else 0, overlap=args.overlap,
                         profile=args.profile)
    with _progress(args) as progress:
        if is_bundle:
            from ..bundle import extract_bundle

            bundle = extract_bundle(path) if path.suffix.lower() == ".zip" else path
            report = bench_matrix(bundle, config=config, targets=args.target, progress=progress,
                                  loader=lambda t: _loader(args, t)())
        else:
            target = args.target[0] if args.target else None
            label = target or path.name
            run_ = run_bench(_loader(args, target), config, label=label, progress=progress(label))
            report = make_report([run_], config)
    command = _command()
    report = dataclasses.replace(report, command=tuple(command) if command else None)
    failures, codes = [], []
    for r in report.runs:
        if not r.ok and r.error:
            failures.append(f"{r.label}: {r.error.type}: {r.error.message}")
            codes.append(r.error.exit_code)
        elif r.compare and "error" in r.compare:
            failures.append(f"{r.label}: compare: {r.compare['error']}")
            codes.append(r.compare["exit_code"])
    if args.json:
        print(to_json(report))
        for w in report.warnings:
            print(f"edgevision bench: warning: {w}", file=sys.stderr)
    else:
        sys.stdout.write(render_text(report))
    sys.stdout.flush()
    if args.csv:
        write_atomic(args.csv, to_csv(report))
    if args.report:
        write_atomic(args.report, render_html(report))
    if failures:
        more = " (the other results were still reported)" if len(report.runs) > 1 else ""
        error = BenchFailed("; ".join(failures) + more)
        error.exit_code = codes[0]
        raise error
    return 0

