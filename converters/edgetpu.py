"""Keras / SavedModel -> Coral Edge TPU: full-integer int8 ``.tflite``, op report, then ``edgetpu_compiler``.

Steps: refuse what the Edge TPU cannot take (dynamic shape, batch > 1, activations
with a dimension larger than 1 outside the 3 innermost); build the full-integer int8 ``.tflite``
with the TFLite converter's own code (static batch-1 input, no float tensor between
input and output); predict op by op what the compiler maps (:mod:`.edgetpu_report`);
then, if ``edgetpu_compiler`` is on PATH, compile and put its log into the same
report. Without the compiler the int8 ``.tflite`` ships as format ``tflite`` (it runs
on the CPU, not on the Edge TPU) with a warning that says how to install it.

Example:
    >>> out = get_converter("edgetpu-tflite").convert(job)   # doctest: +SKIP
    >>> out.format, out.file.name                            # doctest: +SKIP
    ('edgetpu-tflite', 'classifier_coral-usb_int8_edgetpu.tflite')
    >>> out.report["summary"]["all_mapped"]                  # doctest: +SKIP
    True
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ConversionError
from ..formats.tflite_graph import TFLiteGraph
from . import edgetpu_compiler as compiler
from .base import Converter, ConvertJob, ConvertOutput, ConvertWarning
from .edgetpu_ops import inner_rank
from .edgetpu_report import DEFAULT_RUNTIME, format_report, static_report
from .tflite import carry_offsets, write_tflite

__all__ = [
    "EdgeTPUConverter",
    "check_rank",
    "check_source_shape",
    "format_report",
    "runtime_version",
    "static_report",
]


def check_source_shape(shape: Sequence[Any], *, batch: int = 1) -> None:
    """Refuse an input shape the Edge TPU cannot take: not fully static, or a batch other than ``batch``.

    Example:
        >>> check_source_shape((1, 224, 224, 3))
        >>> check_source_shape((1, -1, -1, 3))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        edgevision.errors.ConversionError: expected a static input shape for the Edge TPU, got (1, -1, -1, 3); ...
    """
    shape = tuple(shape)
    if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
        raise ConversionError(f"expected a static input shape for the Edge TPU, got {shape}; pass the size to "
                              "compile for (e.g. --input-shape 1,224,224,3)")
    if shape[0] != batch:
        raise ConversionError(f"expected batch {batch} for the Edge TPU, got batch {shape[0]} in input shape "
                              f"{shape}; export the model with batch {batch}")


def check_rank(graph: TFLiteGraph, max_rank: int = 3) -> None:
    """Refuse a graph with an activation tensor of rank > ``max_rank`` once leading 1s are dropped.

    The Edge TPU lets only the 3 innermost dimensions of a tensor exceed 1.

    Constant tensors (conv filters are 4-D) are exempt: the limit is on data flowing between ops.

    Example:
        >>> check_rank(read_tflite("model_int8.tflite"))   # doctest: +SKIP
    """
    if not max_rank:
        return
    for sub in graph.subgraphs:
        for op in sub.operators:
            for i in op.inputs + op.outputs:
                t = sub.tensors[i] if i >= 0 else None
                if t is not None and not t.is_constant and inner_rank(t.shape) > max_rank:
                    raise ConversionError(
                        f"expected tensors whose only dimensions larger than 1 are the {max_rank} innermost for the "
                        f"Edge TPU, got {list(t.shape)} in {t.name!r} ({graph.op_name(op)}); reshape to at most "
                        f"{max_rank} dimensions after the leading 1s (fold one into its neighbour)")


def runtime_version(args: Sequence[str]) -> int:
    """The Edge TPU runtime the compiler targets, from ``--min_runtime_version N`` / ``-m N`` in its args.

    Example:
        >>> runtime_version(["--min_runtime_version", "13"]), runtime_version([])
        (13, 14)
    """
    args = list(args)
    for i, a in enumerate(args):
        value = a.split("=", 1)[1] if a.startswith("--min_runtime_version=") else (
            args[i + 1] if a in ("--min_runtime_version", "-m") and i + 1 < len(args) else None)
        if value is not None:
            if not value.isdigit():
                raise ConversionError(f"expected an integer Edge TPU runtime version after {a.split('=')[0]} in "
                                      f"edgetpu_compiler_args, got {value!r}")
            return int(value)
    return DEFAULT_RUNTIME


class EdgeTPUConverter(Converter):
    """Coral Edge TPU artifact: full-integer int8 ``.tflite`` compiled by ``edgetpu_compiler`` when present.

    Options: ``io_dtype`` ("uint8" default, or "int8"); ``compiler_timeout`` in seconds (default 600).
    """

    format = "edgetpu-tflite"
    precisions = ("int8",)
    sources = ("keras", "savedmodel", "onnx")

    def convert(self, job: ConvertJob) -> ConvertOutput:
        if job.precision != "int8":
            raise ConversionError(f"expected precision int8 for the Edge TPU (full-integer only), "
                                  f"got {job.precision!r}")
        max_rank = job.target.shape.max_rank or 3  # 0 means "no limit" in a profile; the Edge TPU has one
        check_source_shape(job.source.input_shape, batch=job.target.shape.batch)
        from .onnx_tflite import tflite_job

        job, via = tflite_job(job)  # an ONNX source: its NHWC SavedModel (onnx2tf), the head cut into groups
        path, graph, info = write_tflite(job, "int8")
        from .mixed import tflite_int8

        path, layers, _ = tflite_int8(job, path, self.format)
        carry_offsets(job, path, via)
        if via:
            info = {**info, "onnx2tf": via}
        try:
            check_rank(graph, max_rank)
        except ConversionError:
            path.unlink(missing_ok=True)  # nothing half-made stays in outdir
            raise
        args = tuple(job.target.compiler.edgetpu_compiler_args)
        report = static_report(path, runtime_version=runtime_version(args), max_rank=max_rank)
        report["layers"] = layers
        exe = compiler.find_compiler()
        if exe is None:
            hint = compiler.install_hint()
            report["compiler"] = {"found": False, "version": None, "command": None, "install": hint}
            warning = ("edgetpu_compiler not found: shipped the full-integer int8 .tflite, which runs on the CPU, "
                       "not on the Edge TPU; to compile, install the compiler on an x86-64 Linux host and convert "
                       "again: " + "; ".join(hint.splitlines()))
            # format_report says it at length, with the install commands: the log need not repeat it.
            return ConvertOutput(file=path, format="tflite", precision="int8",
                                 converter={**info, "edgetpu_compiler": None}, report=report,
                                 warnings=[ConvertWarning(warning, explained=True)], notes=format_report(report))
        result = compiler.run_compiler(exe, path, job.outdir, args,
                                       timeout=job.options.compiler_timeout)
        file, log_file = result.pop("file"), result.pop("log_file")
        carry_offsets(job, file, via)  # the compiled file too, whatever the compiler kept of the metadata
        report["compiler"] = {**result, "log": log_file.name if log_file else None}
        warnings = [ConvertWarning(w) for w in _compiler_warnings(report)]
        converter = {"tool": compiler.COMPILER, "version": result.get("version"), "args": list(args), "tflite": info}
        extra = [log_file] if log_file else []
        # The int8 .tflite the compiler read ships too: it runs on a CPU, where the compiled one cannot.
        return ConvertOutput(file=file, format=self.format, precision="int8", converter=converter, report=report,
                             extra_files=extra + [path], warnings=warnings, notes=format_report(report))


def _compiler_warnings(report: dict[str, Any]) -> list[str]:
    """What the compiler said that the user must hear: ops left on the CPU, and disagreement with the prediction."""
    c, s = report["compiler"], report["summary"]
    out = []
    on_cpu = c.get("ops_on_cpu")
    if on_cpu:
        first = next((o for o in c.get("operators", []) if not o["status"].startswith("Mapped")), None)
        out.append(f"edgetpu_compiler left {on_cpu} of {c.get('total_ops')} ops on the CPU"
                   + (f" (e.g. {first['op']}: {first['status']})" if first else ""))
    if c.get("ops_on_edgetpu") is not None and c["ops_on_edgetpu"] != s["mapped"]:
        out.append(f"the static report predicted {s['mapped']} of {s['ops']} ops on the Edge TPU, the compiler "
                   f"mapped {c['ops_on_edgetpu']}: trust the compiler")
    return out
