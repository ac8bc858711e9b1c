"""``edgevision convert MODEL --target T ... --calibration DIR``: one bundle, an artifact per target, fidelity measured.

Progress goes to stderr; the final table (or ``--json``) to stdout.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ..targets.catalogue import Precision
from .options import _floats, _positive_int, add_box_format_argument, add_task_arguments


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(v) for v in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an input shape like 1x224x224x3, got {text!r}") from None
    if len(dims) != 4 or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"expected four positive dimensions like 1x224x224x3, got {text!r}")
    return dims


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a Keras .keras/.h5, a SavedModel directory, an .onnx, a frozen .pb or a .tflite")
    p.add_argument("--target", action="append", required=True, metavar="ID",
                   help="a target id or profile .toml, optionally :PRECISION (jetson-orin:int8); repeat for several")
    p.add_argument("-o", "--out", help="bundle directory to write (default: MODEL_bundle)")
    p.add_argument("--calibration", metavar="DIR|NPY|N",
                   help="images, a .npy of preprocessed input tensors, or a number of synthetic samples (costs accuracy)")
    p.add_argument("--validation", metavar="DIR", help="held-out images for fidelity (default: every 5th calibration image)")
    p.add_argument("--precision", choices=[p.value for p in Precision],
                   help="one precision for every target (default: each target's own)")
    p.add_argument("--io-dtype", choices=("uint8", "int8"), default="uint8", help="int8 TFLite input/output type")
    p.add_argument("--input-shape", type=_shape, help="pin a dynamic input, e.g. 1x224x224x3")
    p.add_argument("--samples", type=_positive_int, default=300, help="at most this many calibration images")
    p.add_argument("--max-drop", type=_fraction, help="fail (no bundle) when any artifact drops more than this")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    g = p.add_argument_group("model information (default: MODEL.json beside the model, else inferred)")
    g.add_argument("--model-info", metavar="JSON", help="task, labels, decoder and input in one file")
    add_task_arguments(g)
    g.add_argument("--labels", help="labels file, one per line")
    g.add_argument("--resize", choices=("stretch", "letterbox", "centre-crop"))
    g.add_argument("--color", choices=("RGB", "BGR"))
    g.add_argument("--mean", type=_floats, help="per-channel mean in pixel units")
    g.add_argument("--std", type=_floats, help="per-channel std in pixel units")
    g.add_argument("--scale", type=_floats, help="input = pixel * scale")
    g.add_argument("--pad-value", type=int, help="letterbox padding pixel value (Ultralytics: 114)")
    g.add_argument("--score-threshold", type=float)
    g.add_argument("--iou-threshold", type=float)
    g.add_argument("--max-detections", type=_positive_int)
    g.add_argument("--label-offset", type=int, help="added to SSD class ids (-1 for the TF OD API's 1-based ids)")
    add_box_format_argument(g)


OVERRIDES = ("task", "decoder", "labels", "resize", "color", "mean", "std", "scale", "pad_value", "score_threshold",
             "iou_threshold", "max_detections", "label_offset", "box_format")


def table(rows: list[dict[str, Any]]) -> str:
    """The final table: target, format, precision, size, fidelity, drop, file (one row per ``convert --json`` row)."""
    from .console import table as console_table

    head = ("target", "format", "precision", "size", "fidelity", "drop", "file")
    return console_table(head, [(r["target"], r["format"], r["precision"], _size(r["size"]), _fidelity(r["fidelity"]),
                                 f"{r['fidelity']['drop']:+.4f}" + (" ⚠ over 0.05" if r["fidelity"].get("flagged") else ""),
                                 r["file"]) for r in rows])


def _fidelity(f: dict[str, Any]) -> str:
    metric = f["metric"]
    return f"{metric} {f[metric]:.4f}" + (f", {f['drop_metric']} {f[f['drop_metric']]:.4f}"
                                          if f.get("drop_metric") in f else "")


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def run(args: argparse.Namespace) -> int:
    from ..converters.convert import FidelityError, convert  # the converter stage: heavy imports start here

    model = Path(args.model)
    out = Path(args.out) if args.out else Path(f"{model.stem or model.name}_bundle")
    overrides = {k: getattr(args, k) for k in OVERRIDES if getattr(args, k) is not None}
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_output_held() as (out_stream, err_stream):
        log = lambda message: print(message, file=err_stream)  # noqa: E731
        try:
            bundle = convert(model, args.target, out=out, calibration=args.calibration, validation=args.validation,
                             precision=args.precision, input_shape=args.input_shape, model_info=args.model_info,
                             overrides=overrides, max_drop=args.max_drop, io_dtype=args.io_dtype,
                             samples=args.samples, overwrite=args.overwrite, log=log)
        except FidelityError as e:
            print(table(e.rows), file=err_stream)  # every figure, though nothing was written
            raise
        if args.json:
            print(json.dumps({"bundle": str(bundle.path), "rows": bundle.rows, "warnings": bundle.warnings}),
                  file=out_stream)
        else:
            print(table(bundle.rows), file=out_stream)
            print(f"bundle: {bundle.path}  (run it: edgevision run {bundle.path} --source IMAGES)", file=out_stream)
    return 0


@contextlib.contextmanager
def native_output_held() -> Iterator[tuple[TextIO, TextIO]]:
    """Hold what TensorFlow, OpenVINO and LiteRT print from C++ (file descriptors 1 and 2) during a conversion.

    The converters print hundreds of log lines (MLIR passes, XNNPACK banners) with no
    switch to turn them all off. Python's own output (progress, warnings, the table)
    goes to the real terminal through the streams yielded here; the held native
    output is dropped.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    out_stream = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    err_stream = os.fdopen(os.dup(saved[1]), "w", buffering=1)
    real = sys.stdout, sys.stderr
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 1)
        os.dup2(held.fileno(), 2)
        sys.stdout, sys.stderr = out_stream, err_stream
        try:
            yield out_stream, err_stream
        finally:
            sys.stdout, sys.stderr = real
            out_stream.flush()
            err_stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            out_stream.close()
            err_stream.close()
