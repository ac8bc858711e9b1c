"""The int8 gate: an int8 artifact that misses its task's fidelity bar gets mixed precision where the format
allows it, the layers that lose most (its per-layer report) kept in float, and says which.

The bar is the task registry's ``int8_gate`` (detection: at least 0.98 of the source's boxes kept,
same class and IoU >= 0.9; classification: 0.98 top-1 agreement; segmentation: 0.95 mIoU against
the source). A miss rebuilds the artifact with the head's final ops in float (TFLite: from the last convolution to
the outputs; OpenVINO and ONNX keep them float already), then with the worst 2, 4, 8 layers besides
(``ConvertOptions.float_layers``) and keeps the first build that passes, else the best one. The
Edge TPU takes no float layer (``FormatSpec.float_layers``): there the miss is said and the
full-integer artifact kept.

Example:
    >>> gate_of("detection")
    ('boxes_kept', 0.98)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..targets.catalogue import FORMATS
from ..tasks.registry import task_spec

ROUNDS = (2, 4, 8)  # how many of the worst layers each retry keeps in float


def gate_of(task: str) -> tuple[str, float] | None:
    """(fidelity figure, least value) an int8 artifact of ``task`` must reach, or None."""
    return task_spec(task).int8_gate


def passes(fid: dict[str, Any], gate: tuple[str, float] | None) -> bool:
    """Whether a fidelity entry clears the gate (True when there is no gate or no such figure).

    >>> passes({"boxes_kept": 0.97}, ("boxes_kept", 0.98)), passes({}, ("boxes_kept", 0.98))
    (False, True)
    """
    return gate is None or gate[0] not in fid or float(fid[gate[0]]) >= gate[1]


def worst_layers(report: dict[str, Any], count: int) -> list[str]:
    """The names (as the format's converter takes them) of the ``count`` layers with the lowest SQNR.

    >>> worst_layers({"layers": {"worst": [{"layer": "t:0", "node": "conv"}, {"layer": "b"}]}}, 2)
    ['conv', 'b']
    """
    rows = report.get("layers", {}).get("worst", [])
    names = [str(n) for r in rows[:count] for n in (r["nodes"] if "nodes" in r else [r.get("node", r["layer"])])]
    return list(dict.fromkeys(names))


def apply_gate(task: str, fmt: str, precision: str, output: Any, fid: dict[str, Any],
               rebuild: Callable[[tuple[str, ...]], tuple[Any, dict[str, Any]]],
               log: Callable[[str], None], *, enabled: bool = True,
               hint: str = "") -> tuple[Any, dict[str, Any], dict[str, Any] | None]:
    """(output, fidelity, what the gate did) for one int8 artifact; ``rebuild(float_layers)`` builds and measures.

    ``hint``: what else to try, said where no layer can stay float (a full-integer format).
    """
    gate = gate_of(task)
    if precision != "int8" or passes(fid, gate) or gate is None:
        return output, fid, None
    name, bar = gate
    said: dict[str, Any] = {"figure": name, "bar": bar, "int8": fid[name]}
    if not enabled:
        return output, fid, {**said, "kept": "full int8 (mixed precision turned off)"}
    if not FORMATS[fmt].float_layers:
        log(f"int8 gate: {name} {fid[name]:.4f} < {bar}: {fmt} is full-integer, no layer can stay float"
            + (f"; {hint}" if hint else ""))
        return output, fid, {**said, "kept": f"full int8: {fmt} takes no float layer", **({"try": hint} if hint else {})}
    best: tuple[Any, dict[str, Any], tuple[str, ...]] = (output, fid, ())
    head = [str(n) for n in output.report.get("layers", {}).get("head", [])]  # the head's final ops, if not float yet
    plans = ([tuple(head)] if head else []) + [tuple(dict.fromkeys(head + worst_layers(output.report, count)))
                                               for count in ROUNDS]
    tried: set[tuple[str, ...]] = set()
    for layers in plans:
        if not layers or layers in tried:
            continue
        tried.add(layers)
        log(f"int8 gate: {name} {fid[name]:.4f} < {bar}: rebuilding with {len(layers)} layers in float")
        got, got_fid = rebuild(layers)
        if float(got_fid.get(name, 0.0)) > float(best[1].get(name, 0.0)):
            best = (got, got_fid, layers)
        if passes(got_fid, gate):
            break
    output, fid, layers = best
    said.update(mixed=fid[name], float_layers=list(layers), passed=passes(fid, gate))
    if layers:
        log(f"int8 gate: kept {len(layers)} layers in float ({', '.join(layers)}): {name} {fid[name]:.4f}")
    return output, fid, said
