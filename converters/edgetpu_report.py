"""The static Edge TPU report: read a full-integer ``.tflite`` and predict, op by op, what the compiler maps.

The Edge TPU compiler makes one Edge TPU subgraph: at the first op it cannot map,
that op and every op after it (in execution order) run on the CPU, even the
supported ones ("More than one subgraph is not supported" in its log). So the
report finds the first op that breaks a rule of :mod:`.edgetpu_ops` and names it,
with the reason and what to change. It is a prediction from the documented table;
when ``edgetpu_compiler`` runs, its log goes into the same report's ``compiler`` key.

Example:
    >>> report = static_report("model_int8.tflite")        # doctest: +SKIP
    >>> report["summary"]["all_mapped"], report["blocking"]  # doctest: +SKIP
    (True, None)
    >>> print("\\n".join(format_report(report)))           # doctest: +SKIP
    Edge TPU (static prediction, runtime 14): all 9 ops map, 1 Edge TPU subgraph
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..formats.tflite import read_tflite
from ..formats.tflite_graph import Tensor, TFLiteGraph
from .edgetpu_ops import FIX_FOR_OP, INT_DTYPES, SUPPORTED_OPS_URL, OpView, Problem, Rule, inner_rank, rules

DEFAULT_RUNTIME = 14  # compiler 16's newest runtime; the coral targets pass --min_runtime_version 14 too
#: What the table cannot predict; said in every report.
CAVEATS = [
    "edgetpu_compiler 16 reads the TFLite op versions of its time: files from much newer TensorFlow have been "
    "rejected (\"Didn't find op for builtin opcode 'QUANTIZE' version '3'\", google-coral/edgetpu#879)",
    "size-dependent limits are not predicted: large MEAN/RESIZE/RESHAPE tensors have been left on the CPU "
    "(google-coral/edgetpu#461), and parameters beyond the on-chip cache stream from off-chip memory",
]
_NUMERIC = ("int8", "uint8", "int16", "int32", "int64", "float32")


def _schema() -> Any:
    """LiteRT's generated flatbuffer bindings, to decode op options and small constants (None if absent)."""
    for name in ("ai_edge_litert.schema_py_generated", "tensorflow.lite.python.schema_py_generated"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


class _Details:
    """Op options and constant values of subgraph 0, read lazily through the generated bindings.

    read_tflite deliberately skips options and weights; the few limits that depend on
    them (MEAN axes, STRIDED_SLICE strides, fused activations) are read here.
    """

    def __init__(self, data: bytes, schema: Any) -> None:
        self._s = schema
        self._model = schema.Model.GetRootAs(data, 0)
        self._ops = self._model.Subgraphs(0)
        self._kinds = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}

    def options(self, index: int) -> Any:
        op = self._ops.Operators(index)
        table, cls = op.BuiltinOptions(), getattr(self._s, self._kinds.get(op.BuiltinOptionsType(), ""), None)
        if table is None or cls is None:
            return None
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return obj

    def constant(self, tensor: Tensor | None) -> np.ndarray | None:
        if tensor is None or not tensor.is_constant or tensor.dtype not in _NUMERIC:
            return None
        raw = self._model.Buffers(tensor.buffer).DataAsNumpy()
        if not isinstance(raw, np.ndarray):  # data stored after the flatbuffer (> 2 GB models): not read
            return None
        values = np.frombuffer(raw.tobytes(), np.dtype(tensor.dtype))
        return values.reshape(tensor.shape) if values.size == int(np.prod(tensor.shape)) else values


def _problem(v: OpView, rule: Rule | None, runtime: int, max_rank: int) -> Problem:
    """Why op ``v`` does not map (reason, fix), or None when every documented rule holds."""
    if rule is None:
        fix = FIX_FOR_OP.get(v.name, "replace it with ops from the Edge TPU list, or move it out of the model "
                                     f"(into the runtime's decoder); see {SUPPORTED_OPS_URL}")
        return f"{v.name} is not in the Edge TPU's supported operations", fix
    if rule.runtime > runtime:
        return (f"{v.name} maps only from Edge TPU runtime {rule.runtime}, compiling for runtime {runtime}",
                f"pass --min_runtime_version {rule.runtime} in the target's [compiler] edgetpu_compiler_args")
    live = [t for t in v.inputs + v.outputs if t is not None and not t.is_constant]
    for t in live:
        if t.dtype not in INT_DTYPES:
            return (f"works on {t.dtype} tensor {t.name!r}; the Edge TPU runs int8/uint8 only",
                    "convert full-integer (precision int8, TFLITE_BUILTINS_INT8) and keep float math out of the model")
    for t in live:
        if max_rank and inner_rank(t.shape) > max_rank:
            return (f"tensor {t.name!r} {list(t.shape)} has rank {inner_rank(t.shape)} once leading 1s are dropped; "
                    f"the Edge TPU lets only the {max_rank} innermost dimensions exceed 1",
                    f"reshape to at most {max_rank} dimensions after the leading 1s (fold one into its neighbour)")
    return rule.check(v) if rule.check is not None else None


def _view(index: int, name: str, inputs: list, outputs: list, details: _Details | None) -> OpView:
    if details is None:  # no bindings: the option- and constant-dependent limits are not checked
        return OpView(index, name, inputs, outputs)

    def constant(position: int) -> np.ndarray | None:
        return details.constant(inputs[position]) if position < len(inputs) else None

    return OpView(index, name, inputs, outputs, details.options(index), constant)


def _maps(rule: Rule) -> str:
    notes = [f"limits: {rule.limits}"] if rule.limits else []
    if not rule.confirmed:
        notes.append("row not confirmed against the table")
    return f"maps (Coral table: {'; '.join([rule.name] + notes)})"


def static_report(model: str | os.PathLike | bytes, *, runtime_version: int = DEFAULT_RUNTIME,
                  max_rank: int = 3) -> dict[str, Any]:
    """Predict which ops of a full-integer ``.tflite`` the Edge TPU compiler maps and where the graph splits.

    Returns a JSON-able dict: ``ops`` (per op: index, op, supported, mapped, reason),
    ``split`` (first unmappable op, ops before it on the Edge TPU, ops on the CPU)
    or None, ``blocking`` ({op, index, reason, fix}) or None, ``summary`` counts, and
    ``compiler`` ({"found": None} until the converter fills it in).

    Example:
        >>> r = static_report("detector_int8.tflite", runtime_version=14)   # doctest: +SKIP
        >>> r["split"]                                                     # doctest: +SKIP
        {'index': 5, 'op': 'LEAKY_RELU', 'ops_on_edgetpu': 5, 'ops_on_cpu': 7}
    """
    data = bytes(model) if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()
    graph: TFLiteGraph = read_tflite(data)
    schema = _schema()
    details = _Details(data, schema) if schema is not None else None
    table = rules(runtime_version)
    sub = graph.subgraphs[0]
    ops: list[dict[str, Any]] = []
    blocking: dict[str, Any] | None = None
    for i, op in enumerate(sub.operators):
        name = graph.op_name(op)
        view = _view(i, name, [sub.tensors[j] if j >= 0 else None for j in op.inputs],
                     [sub.tensors[j] if j >= 0 else None for j in op.outputs], details)
        rule = table.get(name)
        problem = _problem(view, rule, runtime_version, max_rank)
        entry: dict[str, Any] = {"index": i, "op": name, "supported": problem is None, "mapped": False}
        if problem is not None:
            entry["reason"] = problem[0]
            if blocking is None:
                blocking = {"index": i, "op": name, "reason": problem[0], "fix": problem[1]}
        elif blocking is not None:
            entry["reason"] = (f"supported, but after op {blocking['index']} ({blocking['op']}): the compiler makes "
                               "one Edge TPU subgraph, so it runs on the CPU")
        elif rule is not None:  # always, here: an op without a rule has a problem
            entry["mapped"] = True
            entry["reason"] = _maps(rule)
            if name == "QUANTIZE" and set(op.outputs) & set(sub.outputs):
                # Seen both ways in compiler-16 logs (mapped: WongKinYiu/yolov7#1672; "unspecified limitation":
                # google-coral/edgetpu#342). Either way it is the last op, so it cannot split the graph.
                entry["reason"] += "; a trailing QUANTIZE to the output type is sometimes left on the CPU"
        ops.append(entry)
    mapped = sum(o["mapped"] for o in ops)
    split = None if blocking is None else {"index": blocking["index"], "op": blocking["op"], "ops_on_edgetpu": mapped,
                                           "ops_on_cpu": len(ops) - mapped}
    unconfirmed = sorted({o["op"] for o in ops if o["mapped"] and not table[o["op"]].confirmed})
    return {
        "method": "static prediction from the documented Edge TPU op table; edgetpu_compiler has the final word",
        "source": SUPPORTED_OPS_URL,
        "runtime_version": runtime_version,
        "max_rank": max_rank,
        "options_checked": details is not None,
        "ops": ops,
        "split": split,
        "blocking": blocking,
        "summary": {"ops": len(ops), "mapped": mapped, "on_cpu": len(ops) - mapped,
                    "edgetpu_subgraphs": 1 if mapped else 0, "all_mapped": mapped == len(ops),
                    "unconfirmed_ops": unconfirmed},
        "caveats": list(CAVEATS),
        "compiler": {"found": None},
    }


def format_report(report: dict[str, Any]) -> list[str]:
    """A few readable lines of a report, for the CLI.

    Example:
        >>> format_report(static_report("model_int8.tflite"))[0]   # doctest: +SKIP
        'Edge TPU (static prediction, runtime 14): all 9 ops map, 1 Edge TPU subgraph'
    """
    s = report["summary"]
    head = f"Edge TPU (static prediction, runtime {report['runtime_version']}): "
    if s["all_mapped"]:
        lines = [head + f"all {s['ops']} ops map, 1 Edge TPU subgraph"]
    else:
        sp = report["split"]
        lines = [head + f"{s['mapped']} of {s['ops']} ops map; split at op {sp['index']} ({sp['op']}): it and the "
                 f"{sp['ops_on_cpu'] - 1} ops after it run on the CPU"]
        b = report["blocking"]
        lines.append(f"  blocking: {b['op']} (op {b['index']}): {b['reason']}")
        lines.append(f"  fix: {b['fix']}")
    if s.get("unconfirmed_ops"):
        lines.append(f"  not confirmed against the table: {', '.join(s['unconfirmed_ops'])}")
    c = report.get("compiler") or {}
    if c.get("found"):
        lines.append(f"  edgetpu_compiler {c.get('version') or '(version unknown)'}: {c.get('ops_on_edgetpu')} of "
                     f"{c.get('total_ops')} ops on the Edge TPU, {c.get('subgraphs')} subgraph(s), on-chip "
                     f"{(c.get('on_chip_memory') or {}).get('text', '?')}, off-chip "
                     f"{(c.get('off_chip_memory') or {}).get('text', '?')}")
        lines += [f"    {o['op']} x{o['count']}: {o['status']}" for o in c.get("operators", [])
                  if not o["status"].startswith("Mapped")]
    elif c.get("found") is False:
        lines.append("  edgetpu_compiler not found: shipped the full-integer int8 .tflite (runs on the CPU, not "
                     "on the Edge TPU).")
        lines.append("  To compile, install the compiler on an x86-64 Linux host and convert again:")
        lines += [f"    {cmd}" for cmd in c.get("install", "").splitlines()]
    return lines
