"""Flags shared by the subcommands that load a model."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("x", ",").split(",")
    try:
        w, h = (int(parts[0]), int(parts[-1]))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size WxH (e.g. 320x320) or N, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return w, h


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_task_arguments(g: Any) -> None:
    """``--task`` and ``--decoder``, their choices from the task and decoder registries."""
    from ..decode import decoder_names
    from ..tasks.registry import task_names

    g.add_argument("--task", choices=task_names())
    g.add_argument("--decoder", choices=decoder_names(), help="the model's output layout")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    from ..targets.catalogue import BackendName

    p.add_argument("model", help="a bundle directory or a .tflite / .xml / .onnx file")
    p.add_argument("--target", default="auto", help="target id or profile .toml (default: auto)")
    p.add_argument("--backend", choices=[b.value for b in BackendName], help="force a runtime")
    p.add_argument("--device", help="runtime device, e.g. CPU, NPU, GPU, usb:0")
    p.add_argument("--threads", type=_positive_int, help="inference threads (default: all cores)")
    g = p.add_argument_group("model information for a bare model file")
    add_task_arguments(g)
    g.add_argument("--labels", help="labels file, one per line")
    g.add_argument("--no-check-labels", dest="check_labels", action="store_false",
                   help="run even when the labels are not as many as the model's classes")
    g.add_argument("--size", type=_size, help="input size WxH for a dynamic-shape model")
    g.add_argument("--resize", choices=("stretch", "letterbox", "centre-crop", "center-crop"))
    g.add_argument("--color", choices=("RGB", "BGR"))
    g.add_argument("--mean", type=_floats, help="per-channel mean in pixel units, e.g. 127.5")
    g.add_argument("--std", type=_floats, help="per-channel std in pixel units, e.g. 127.5")
    g.add_argument("--scale", type=_floats, help="input = pixel * scale (e.g. 0.00392)")
    g.add_argument("--pad-value", type=int, help="letterbox padding pixel value")
    d = p.add_argument_group("decoder options")
    d.add_argument("--score-threshold", type=float)
    d.add_argument("--iou-threshold", type=float)
    d.add_argument("--top-k", type=_positive_int)
    d.add_argument("--max-detections", type=_positive_int)
    d.add_argument("--label-offset", type=int)
    add_box_format_argument(d)


def add_box_format_argument(g: Any) -> None:
    """``--box-format``: YOLO boxes in input pixels or fractions of the input (default: the metadata, else the outputs)."""
    g.add_argument("--box-format", choices=("pixels", "normalized"),
                   help="YOLO boxes in input pixels or as fractions of the input (default: from the model's metadata, "
                        "else decided once from its outputs)")


MODEL_INFO_FLAGS = ("task", "decoder", "labels", "size", "resize", "color", "mean", "std", "scale", "pad_value",
                    "score_threshold", "iou_threshold", "top_k", "max_detections", "label_offset", "box_format")


def load_model(args: argparse.Namespace) -> Any:
    """``edgevision.load`` with the flags given on the command line."""
    from ..loading import load

    info = {k: getattr(args, k) for k in MODEL_INFO_FLAGS if getattr(args, k, None) is not None}
    if info.get("decoder") and "task" not in info:
        from ..decode import decoder_spec

        info["task"] = decoder_spec(info["decoder"]).task
    if info.get("resize") == "center-crop":
        info["resize"] = "centre-crop"
    with native_stderr_held():
        return load(args.model, target=args.target, threads=args.threads, backend=args.backend,
                    device=args.device, check_labels=getattr(args, "check_labels", True), **info)


@contextlib.contextmanager
def native_stderr_held() -> Iterator[None]:
    """Hold what runtimes write to file descriptor 2 while a model loads; pass it on only if the load succeeds.

    LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++, with no
    switch to turn it off, so a load that then fails with a typed error would leave two lines
    on stderr, not one. A failure's typed error carries the runtime's message; on success
    everything but such "INFO: " banners is written out.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    ok = False
    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        os.dup2(held.fileno(), 2)
        try:
            yield
            ok = True
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if ok:
                held.seek(0)
                lines = held.read().decode("utf-8", "replace").splitlines(keepends=True)
                sys.stderr.write("".join(line for line in lines if not line.startswith("INFO: ")))
