"""The ``edgevision`` command: run, inspect, targets (and, as the stages land, convert and bench).

User mistakes end as one line on stderr and a non-zero exit, never a traceback.

Example:
    $ edgevision run model.tflite --source images/ --json
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import EdgeVisionError

# subcommand -> module with add_arguments(parser) and run(args) -> int
COMMANDS = {
    "run": ("edgevision.cli.run", "run a model on images or a video, print one result per frame"),
    "inspect": ("edgevision.cli.inspect", "show a model's inputs, outputs, quantisation and ops"),
    "targets": ("edgevision.cli.targets", "list the target profiles and which can run here"),
    "bench": ("edgevision.cli.bench", "time a model or every target of a bundle: latency per stage, FPS, device state"),
    "convert": ("edgevision.cli.convert", "quantize and compile a model for targets into one bundle, fidelity measured"),
    "doctor": ("edgevision.cli.doctor", "check this device: runtimes, delegates, accelerators, clocks, heat, cameras"),
    "fleet": ("edgevision.cli.fleet", "bench or run a bundle on many devices over SSH, one report across them"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, like every other user mistake
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = _Parser(prog="edgevision", description="Deploy vision models to edge devices.")
    parser.add_argument("--version", action="version", version=f"edgevision {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # OpenCV's own "[ WARN:0@...]" lines and FFmpeg's would stand beside the one error line a fault
    # ends in: silenced unless the user set them (read once, when OpenCV loads).
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except EdgeVisionError as e:
        print(f"edgevision {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except MemoryError:
        print(f"edgevision {args.command}: error: expected enough memory for this model and input, got none left",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"edgevision {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `edgevision run ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
