"""Per-anchor constants lifted out of an int8 box branch, carried in the artifact, added back by the runtime.

A detection head's box centre is what the network predicts near its cell plus the cell's position:
in the reference head ``cx = 2/G * sigmoid(t) + (gx - 0.5)/G``, times the input size. Full int8
quantises those positions as an int8 constant on the box output's grid: over 0..128 px one step is
0.47 px and every position ``8 g - 4`` rounds the same way (-0.235 px, a bias shared by every box,
not noise), and the sum is rounded once more. Lifted out, the int8 graph outputs only the part the
network computes and the runtime adds the positions in float after dequantising
(``edgevision.offsets``). They travel inside the ``.tflite`` (a metadata entry), so the file alone and
its bundle both have them, covered by the artifact's sha256.

What is lifted: an ``Add`` of a constant (or ``Sub``, x - C) met walking back from a group's output
through layout ops (Identity, Transpose, Reshape) and Concat; the walk stops at any other op, so a
constant that a later Mul scales (YOLOv8's anchor points, multiplied by the strides) stays in the graph.
The lifted constant is measured at the output, as the difference of the graph before and after on
random inputs (which must agree), so whatever layout ops lie between are accounted for.

Example:
    >>> cut, lifted, how = lift_offsets(model, ["output0_boxes"])     # doctest: +SKIP
    >>> lifted["output0_boxes"].shape, how                            # doctest: +SKIP
    ((1, 4, 256), "lifted 2 constant Add ops out of output0_boxes (added by the runtime in float)")
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConversionError
from ..offsets import METADATA_NAME, encode_offsets

WALK_THROUGH = ("Identity", "Transpose", "Reshape", "Concat")
AGREE = 1e-4  # the lifted constant measured on two inputs: relative disagreement above this means it is not constant


def lift_offsets(model: Any, outputs: Sequence[str]) -> tuple[Any, dict[str, np.ndarray], str]:
    """``model`` without the constant adds at the end of ``outputs``: (cut model, {output: constant}, what was done).

    Nothing lifted (and ``model`` returned as it is) when no such add is found or the difference is not constant.

    Example:
        >>> cut, offsets, how = lift_offsets(onnx.load("head_split.onnx"), ["output0_boxes"])   # doctest: +SKIP
        >>> offsets["output0_boxes"][0, 0, :3]                                                  # doctest: +SKIP
        array([-4.,  4., 12.], dtype=float32)
    """
    import onnx

    cut = onnx.ModelProto()
    cut.CopyFrom(model)
    graph = cut.graph
    producer = {o: n for n in graph.node for o in n.output}
    consts = _constants(graph)
    lifted: list[str] = []
    for name in outputs:
        stack = [name]
        while stack:
            node = producer.get(stack.pop())
            if node is None:
                continue
            if node.op_type in WALK_THROUGH:
                stack.extend(i for i in node.input[:1 if node.op_type != "Concat" else None] if i not in consts)
                continue
            live = [i for i in node.input if i not in consts]
            if node.op_type in ("Add", "Sub") and len(live) == 1 and len(node.input) == 2 and \
                    (node.op_type == "Add" or node.input[0] == live[0]):
                # y = x + C: the node becomes an Identity of x, C goes to the runtime
                node.op_type, node.input[:] = "Identity", live
                del node.attribute[:]
                lifted.append(node.name or node.output[0])
    if not lifted:
        return model, {}, "no constant add at the end of the box outputs: nothing lifted"
    _prune_initializers(graph)
    try:
        diffs = [_difference(model, cut, seed) for seed in (0, 1)]
    except Exception as e:  # noqa: BLE001 - ONNX Runtime's errors share no base class; the graph then stays whole
        return model, {}, f"not lifted: ONNX Runtime could not run the graph to measure them ({type(e).__name__})"
    others = [k for k in diffs[0] if k not in outputs and np.any(np.abs(diffs[0][k]) > AGREE)]
    if others:  # a lifted add fed another output too
        return model, {}, f"not lifted: the adds also change {others[0]}"
    offsets = {}
    for name in outputs:
        a, b = diffs[0][name], diffs[1][name]
        if not np.any(a):
            continue
        if np.max(np.abs(a - b)) > AGREE * max(1.0, float(np.max(np.abs(a)))):
            return model, {}, f"not lifted: what the adds give {name} depends on the input"
        offsets[name] = ((a + b) / 2).astype(np.float32)
    if not offsets:
        return model, {}, "the constant adds at the end of the box outputs are zero: nothing lifted"
    return cut, offsets, (f"lifted {len(lifted)} constant Add op{'s' * (len(lifted) > 1)} out of "
                          f"{', '.join(offsets)} (the runtime adds them in float)")


def _constants(graph: Any) -> set[str]:
    names = {i.name for i in graph.initializer}
    names.update(n.output[0] for n in graph.node if n.op_type == "Constant")
    return names


def _prune_initializers(graph: Any) -> None:
    used = {i for n in graph.node for i in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)


def _difference(before: Any, after: Any, seed: int) -> dict[str, np.ndarray]:
    """before(x) - after(x) at every output of the graph, for one random input of the input's type."""
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    results, x = [], None
    for model in (before, after):
        options = ort.SessionOptions()
        options.log_severity_level = 3  # a cut graph leaves unused initializers behind: ORT would warn of each
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0]
        if x is None:  # the same input for both, of the input's own type
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
            dtype = {"tensor(uint8)": np.uint8, "tensor(int8)": np.int8, "tensor(float16)": np.float16,
                     "tensor(double)": np.float64}.get(inp.type, np.float32)
            x = (rng.integers(0, 128, shape).astype(dtype) if np.issubdtype(dtype, np.integer)
                 else rng.random(shape).astype(dtype))
        names = [o.name for o in session.get_outputs()]
        results.append(dict(zip(names, session.run(names, {inp.name: x}))))
    return {k: results[0][k].astype(np.float64) - results[1][k].astype(np.float64) for k in results[0]}


def embed_offsets(path: Path, offsets: Mapping[str, np.ndarray]) -> list[str]:
    """Write ``offsets`` (by source output name) into the ``.tflite`` at ``path`` as its metadata entry.

    Each is matched to the artifact output of the same shape (or its last two axes swapped, then transposed);
    ConversionError when none or several match. Written to a temporary name, then renamed. Returns the
    artifact output names that carry an offset.

    Example:
        >>> embed_offsets(Path("det_int8.tflite"), offsets)          # doctest: +SKIP
        ['PartitionedCall:0']
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(path.read_bytes()))
    main = model.subgraphs[0]
    outs = [(i, main.tensors[t]) for i, t in enumerate(main.outputs)]
    entries = []
    for source_name, value in offsets.items():
        match = [(i, t, value) for i, t in outs if tuple(t.shape) == value.shape]
        if not match and value.ndim >= 2:
            swapped = np.swapaxes(value, -1, -2)
            match = [(i, t, swapped) for i, t in outs if tuple(t.shape) == swapped.shape]
        if len(match) != 1:
            raise ConversionError(f"expected one output of shape {list(value.shape)} in {path.name} to carry the "
                                  f"offsets lifted from {source_name!r}, got {len(match)}")
        index, tensor, array = match[0]
        name = tensor.name.decode() if isinstance(tensor.name, bytes) else str(tensor.name)
        entries.append((index, name, array))
    blob = encode_offsets(entries)
    model.metadata = [m for m in (model.metadata or []) if _name(m) != METADATA_NAME]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(blob, np.uint8)
    model.buffers.append(buffer)
    meta = schema.MetadataT()
    meta.name, meta.buffer = METADATA_NAME, len(model.buffers) - 1
    model.metadata.append(meta)
    tmp = path.with_name(f".{path.name}.offsets.partial")
    try:
        tmp.write_bytes(bytes(flatbuffer_utils.convert_object_to_bytearray(model)))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return [name for _, name, _ in entries]


def _name(meta: Any) -> str:
    return meta.name.decode() if isinstance(meta.name, bytes) else str(meta.name)
