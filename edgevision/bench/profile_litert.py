"""Per-op times of a ``.tflite`` on LiteRT, by cutting the graph after each op (LiteRT's Python API has no op profiler).

For a main graph of N ops, the cut graph k keeps ops 0..k (outputs: op k's outputs); each is
opened with the same ``Interpreter`` options as the benched model (threads, XNNPACK as LiteRT
applies it by default) and all N are timed in interleaved rounds, so drift on a busy machine
hits them alike. Op k's time is ``median(cut k) - median(cut k-1)``: its cost inside the graph,
caches and thread hand-offs included. Where an op ran is whether LiteRT hands the op alone to
XNNPACK (its one-op graph gets a delegate node) or runs its own kernel.

What this does not show: time the runtime spends outside ops. And the sum of the differences
telescopes to the median of the last cut (the whole graph, re-serialised), so the profile's
ratio compares that with the benched interpreter's own ``infer()`` timed in the same rounds: a
check that the cut graphs behave like the model, not an independent sum of op timers
(``Profile.how`` says so). Small differences can come out negative on a noisy machine; they are
kept, so the sum stays whole.

Example:
    >>> from edgevision.backends.litert import LiteRTBackend
    >>> profile_litert(LiteRTBackend("mobilenet_v2_int8.tflite", threads=2), runs=30).top(2)   # doctest: +SKIP
    [Layer(name='op 3 ...', type='CONV_2D', where='XNNPACK', ms=0.31), ...]
"""
from __future__ import annotations

import copy
import statistics
import time
from typing import Any

from ..errors import ModelError

MAX_OPS = 400  # N cut graphs cost N(N+1)/2 op runs per round: beyond this, too slow to be useful


def _tools() -> tuple[Any, Any]:
    from ai_edge_litert.tools import flatbuffer_utils

    from ..backends.litert import interpreter_module

    return flatbuffer_utils, interpreter_module()


def _constants(model: Any, graph: Any) -> set[int]:
    out = set()
    for i, tensor in enumerate(graph.tensors):
        data = model.buffers[tensor.buffer].data if tensor.buffer < len(model.buffers) else None
        if data is not None and len(data):
            out.add(i)
    return out


def _graph(model: Any, graph: Any, ops: list, inputs: list[int], outputs: list[int], fu: Any) -> bytes:
    cut = copy.copy(graph)
    cut.operators, cut.inputs, cut.outputs = ops, inputs, outputs
    whole = copy.copy(model)
    whole.subgraphs, whole.signatureDefs = [cut, *model.subgraphs[1:]], []
    return bytes(fu.convert_object_to_bytearray(whole))


def _short(tensor: str) -> str:
    """The informative tail of a converter's tensor name: ``block_3_project/Conv2D`` of a long scoped one.

    >>> _short("model/mobilenetv2/block_3_project/Conv2D;model/mobilenetv2/block_3_project_BN/FusedBatchNormV3")
    'block_3_project/Conv2D'
    """
    return "/".join(tensor.split(";")[0].split("/")[-2:])


def _feed(interp: Any, seed: int = 0) -> None:
    from .profile import random_input

    for detail in interp.get_input_details():
        spec = type("Spec", (), {"shape": detail["shape"], "dtype": detail["dtype"]})
        interp.set_tensor(detail["index"], random_input(spec, seed))


def profile_litert(backend: Any, runs: int) -> Any:
    """The ``Profile`` of ``backend``'s ``.tflite`` (a ``LiteRTBackend``), as the module docstring describes."""
    from .profile import Layer, Profile

    fu, module = _tools()
    model = fu.convert_bytearray_to_object(backend.model_bytes.data)  # the checked bytes, not the file again
    graph = model.subgraphs[0]
    ops = list(graph.operators)
    if not ops or len(ops) > MAX_OPS:
        raise ModelError(f"expected a main graph of 1 to {MAX_OPS} ops to profile, got {len(ops)}")
    constants = _constants(model, graph)
    threads = int(backend.threads or 1)

    def interpreter(content: bytes) -> Any:
        interp = module.Interpreter(model_content=content, num_threads=threads)
        interp.allocate_tensors()
        _feed(interp)
        return interp

    cuts, where, names = [], [], []
    for k, op in enumerate(ops):
        cuts.append(interpreter(_graph(model, graph, ops[:k + 1], list(graph.inputs), list(op.outputs), fu)))
        alone = interpreter(_graph(model, graph, [op], [t for t in op.inputs if t >= 0 and t not in constants],
                                   list(op.outputs), fu))
        delegated = any(d["op_name"] == "DELEGATE" or "Delegate" in d["op_name"] for d in alone._get_ops_details())
        where.append("XNNPACK" if delegated else "LiteRT kernel (CPU)")
        out = op.outputs[0] if len(op.outputs) else -1
        tensor = graph.tensors[out].name if out >= 0 else b""
        names.append(f"op {k} → {_short(tensor.decode() if isinstance(tensor, bytes) else str(tensor))}")
    warmup = 3
    samples: list[list[float]] = [[] for _ in cuts]
    whole: list[float] = []
    for i in range(runs + warmup):
        t0 = time.perf_counter()
        backend.infer()  # the benched interpreter itself, on its own input
        if i >= warmup:
            whole.append(1e3 * (time.perf_counter() - t0))
        for k, interp in enumerate(cuts):
            t0 = time.perf_counter()
            interp.invoke()
            elapsed = time.perf_counter() - t0
            if i >= warmup:
                samples[k].append(1e3 * elapsed)
    medians = [statistics.median(s) for s in samples]
    layers = tuple(Layer(names[k], str(fu.opcode_to_name(model, op.opcodeIndex)), where[k],
                         medians[k] - (medians[k - 1] if k else 0.0)) for k, op in enumerate(ops))
    return Profile("graph cut after each op (LiteRT's Python API has no op profiler)", runs, layers,
                   statistics.median(whole),
                   f"op k's time = median time of the graph cut after op k minus the cut after op k-1, {threads} "
                   f"threads as benched; the sum telescopes to the median of the last cut (the whole graph, "
                   f"re-serialised); measured = the benched interpreter's infer() in the same rounds; where = "
                   f"whether LiteRT delegates the op alone to XNNPACK")
