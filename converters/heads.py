"""Detection heads split into output groups, so that int8 gives each group a scale of its own.

A YOLO head concatenates box coordinates (0..640 pixels) and class scores (0..1) into one
output tensor. A full-integer model quantises every tensor with one scale: over 0..640 a step
is 2.5 px, and every class score rounds to 0 or to a step of 2.5 — the classic cause of
full-int8 YOLO losing its mAP. Here the ONNX graph is cut before that final ``Concat``: each
group (boxes, scores, and for heads of other tasks e.g. mask coefficients) becomes an output of
its own and gets its own scale. The runtime's YOLO decoder binds to either form, decided once
at load (``edgevision.tasks.yolo.bind_yolo``).

What to split is decided per decoder (``HEAD_SPLITS``, a table): a task module that registers a
decoder registers its split beside it (``register_head_split``), e.g. a YOLO-seg head as the
groups boxes (4), scores (nc) and mask coefficients (32) of ``output0``, its prototypes
``output1`` untouched and so quantised on their own scale anyway.

Example:
    >>> split = plan_split({"type": "yolo"}, [("output0", (1, 7, 8400))], ("a", "b", "c"))
    >>> split.output, split.axis, [(g.name, g.channels) for g in split.groups]
    ('output0', 1, [('boxes', 4), ('scores', 3)])
    >>> split.names
    ('output0_boxes', 'output0_scores')
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConversionError

LAYOUT_OPS = ("Identity", "Transpose")  # ops between the head's Concat and the output that only move axes


@dataclass(frozen=True)
class OutputGroup:
    """Channels of one output that belong together and get one quantisation scale."""

    name: str  # "boxes", "scores", "mask_coefficients", ...
    channels: int  # how many along the split axis
    parts: tuple[int, ...] = ()  # channels computed apart inside the head and joined in this output (e.g. xy, wh)
    lift: bool = False  # constant adds at its end (cell positions) go to the runtime: converters/offsets.py


@dataclass(frozen=True)
class HeadSplit:
    """One model output cut into consecutive groups along ``axis``."""

    output: str
    axis: int
    groups: tuple[OutputGroup, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The new outputs' names, in group order (``<output>_<group>``)."""
        return tuple(f"{self.output}_{g.name}" for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        """As the manifest keeps it (the artifact's converter settings)."""
        return {"output": self.output, "axis": self.axis,
                "groups": [{"name": g.name, "channels": g.channels, "output": n} for g, n in zip(self.groups, self.names)]}


Outputs = Sequence[tuple[str, tuple[int, ...]]]  # (name, shape) per model output
SplitPlanner = Callable[[Outputs, Sequence[str]], "HeadSplit | None"]


def _yolo_split(outputs: Outputs, labels: Sequence[str]) -> HeadSplit | None:
    """Boxes (4) and class scores (nc) of an anchor-free ``[1, 4+nc, N]`` / ``[1, N, 4+nc]`` head."""
    if len(outputs) != 1 or len(outputs[0][1]) != 3:
        return None
    name, shape = outputs[0]
    nc = len(labels) or min(shape[1], shape[2]) - 4
    axis = 1 if shape[1] == 4 + nc and shape[2] != 4 + nc else 2 if shape[2] == 4 + nc else 0
    if not axis or nc < 1:
        return None
    # Box centres span the input (0..640) and sizes a fraction of it: one head conv's logits for both round on
    # the coarser grid, so inside the head they are computed apart (where a single conv gives them).
    return HeadSplit(name, axis, (OutputGroup("boxes", 4, parts=(2, 2), lift=True), OutputGroup("scores", nc)))


# decoder type -> planner; a decoder with no entry is not split (its outputs are quantised as they are)
HEAD_SPLITS: dict[str, SplitPlanner] = {"yolo": _yolo_split}


def register_head_split(decoder: str, planner: SplitPlanner, *, replace: bool = False) -> None:
    """Say how a decoder's head is split into output groups (see the module docstring).

    Example:
        >>> register_head_split("yolo", _yolo_split, replace=True)
    """
    if decoder in HEAD_SPLITS and not replace:
        raise ConversionError(f"expected a decoder with no head split yet, got {decoder!r} (already registered)")
    HEAD_SPLITS[decoder] = planner


def plan_split(decoder: dict, outputs: Outputs, labels: Sequence[str]) -> HeadSplit | None:
    """The split the decoder's planner gives for these outputs, or None (nothing to split)."""
    planner = HEAD_SPLITS.get(str(decoder.get("type")))
    return planner(outputs, labels) if planner else None


def split_onnx(model: Any, split: HeadSplit) -> tuple[Any, str]:
    """``model`` (ONNX, shapes inferred) with ``split.output`` replaced by one output per group, or unchanged.

    The output must come from a ``Concat`` (through ``Transpose``/``Identity`` at most) whose inputs fall into
    the groups along the split axis; each group's inputs become its output (concatenated among themselves
    when a group has several). Returns (model, what was done: said in the log and kept in the manifest).

    Example:
        >>> model, how = split_onnx(onnx.load("yolov8n.onnx"), split)   # doctest: +SKIP
        >>> how                                                         # doctest: +SKIP
        "cut Concat '/model.22/Concat_5' into output0_boxes [1, 4, 8400], output0_scores [1, 80, 8400]"
    """
    import onnx
    from onnx import helper

    model = onnx.shape_inference.infer_shapes(model)
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in (*graph.value_info, *graph.input, *graph.output)}
    shapes.update({i.name: list(i.dims) for i in graph.initializer})
    perms: list[list[int]] = []  # layout ops between the Concat and the output, output side first
    name = split.output
    node = producer.get(name)
    while node is not None and node.op_type in LAYOUT_OPS:
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None) if node.op_type == "Transpose" \
            else None
        rank = len(shapes.get(node.input[0], [])) or 3
        perms.append(perm if perm is not None else (list(reversed(range(rank))) if node.op_type == "Transpose"
                                                    else list(range(rank))))
        name = node.input[0]
        node = producer.get(name)
    if node is None or node.op_type != "Concat":
        return _slice_single_conv(model, split, node)
    axis = split.axis
    for perm in perms:  # the output's axis, traced back to the Concat's own
        axis = perm[axis]
    concat_axis = next(a.i for a in node.attribute if a.name == "axis")
    rank = len(shapes.get(node.output[0], [])) or 3
    if concat_axis % rank != axis:
        return model, f"not split: {node.name or 'the Concat'} joins axis {concat_axis}, not the head's axis {axis}"
    sizes = [shapes.get(i, [0] * rank)[axis] if len(shapes.get(i, [])) == rank else 0 for i in node.input]
    runs, at = [], 0
    for group in split.groups:
        take, total = [], 0
        while at < len(sizes) and total < group.channels and sizes[at] > 0:
            take.append(node.input[at])
            total += sizes[at]
            at += 1
        if total != group.channels:
            return model, (f"not split: the inputs of {node.name or 'the Concat'} ({sizes} along axis {axis}) do not "
                           f"fall into {[g.channels for g in split.groups]}")
        runs.append(take)
    if at != len(sizes):
        return model, f"not split: {node.name or 'the Concat'} has inputs beyond the groups"
    computed = _computed(graph)
    constant = [g.name for g, inputs in zip(split.groups, runs) if not any(i in computed for i in inputs)]
    if constant:  # a constant output has no int8 form (TFLite leaves it float)
        return model, f"not split: the {constant[0]} group is a constant, not computed from the input"
    old = next(o for o in graph.output if o.name == split.output)
    elem = old.type.tensor_type.elem_type
    out_shape = [d.dim_value for d in old.type.tensor_type.shape.dim]
    new_outputs, done = [], []
    for group, inputs, out_name in zip(split.groups, runs, split.names):
        tensor = inputs[0]
        if len(inputs) > 1:
            tensor = f"{out_name}_concat"
            graph.node.append(helper.make_node("Concat", inputs, [tensor], axis=concat_axis, name=tensor))
        for i, perm in enumerate(reversed(perms)):  # the same layout ops, Concat side first
            if perm == sorted(perm):
                continue
            moved = f"{out_name}_layout{i}"
            graph.node.append(helper.make_node("Transpose", [tensor], [moved], perm=perm, name=moved))
            tensor = moved
        graph.node.append(helper.make_node("Identity", [tensor], [out_name], name=out_name))
        dims = list(out_shape)
        dims[split.axis] = group.channels
        new_outputs.append(helper.make_tensor_value_info(out_name, elem, dims))
        done.append(f"{out_name} {dims}")
    index = list(graph.output).index(old)
    graph.output.remove(old)
    for k, v in enumerate(new_outputs):
        graph.output.insert(index + k, v)
    _prune(graph)
    how = f"cut {node.op_type} {node.name!r} into {', '.join(done)}"
    if all(len(r) == 1 for r in runs):  # one head conv for every group: give each its own scale from there on
        from .head_channels import split_channels

        model, deeper = split_channels(model, [r[0] for r in runs], [g.parts for g in split.groups])
        how += f"; {deeper}"
    return model, how


def _slice_single_conv(model: Any, split: HeadSplit, last: Any) -> tuple[Any, str]:
    """A head with no Concat (one conv whose channels hold every group, reshaped into the output, as tf2onnx
    writes a Keras head): the output sliced into the groups, then each slice's chain split back to the conv
    (``head_channels``); the model unchanged, saying why, when the chain does not allow it."""
    import onnx
    from onnx import helper, numpy_helper

    from .head_channels import split_channels

    why = f"not split: {split.output} comes from {last.op_type if last is not None else 'no op'}, not a Concat"
    if last is None:
        return model, why
    trial = onnx.ModelProto()
    trial.CopyFrom(model)
    graph = trial.graph
    old = next(o for o in graph.output if o.name == split.output)
    elem = old.type.tensor_type.elem_type
    out_shape = [d.dim_value for d in old.type.tensor_type.shape.dim]
    whole = f"{split.output}__whole"
    for n in graph.node:
        n.output[:] = [whole if o == split.output else o for o in n.output]
        n.input[:] = [whole if i == split.output else i for i in n.input]
    index = list(graph.output).index(old)
    graph.output.remove(old)
    slices, start = [], 0
    for k, (group, name) in enumerate(zip(split.groups, split.names)):
        bounds = [numpy_helper.from_array(np.array([v], np.int64), f"{name}__{what}")
                  for what, v in (("start", start), ("end", start + group.channels), ("axis", split.axis))]
        graph.initializer.extend(bounds)
        graph.node.append(helper.make_node("Slice", [whole, *(b.name for b in bounds)], [f"{name}__slice"],
                                           name=f"{name}__slice"))
        graph.node.append(helper.make_node("Identity", [f"{name}__slice"], [name], name=name))
        dims = list(out_shape)
        dims[split.axis] = group.channels
        graph.output.insert(index + k, helper.make_tensor_value_info(name, elem, dims))
        slices.append(f"{name}__slice")
        start += group.channels
    cut, how = split_channels(trial, slices, [g.parts for g in split.groups])
    if not how.startswith("split"):
        return model, f"{why}, and {how.removeprefix('not split deeper: ')}"
    done = ", ".join(f"{n} {[*out_shape[:split.axis], g.channels, *out_shape[split.axis + 1:]]}"
                     for g, n in zip(split.groups, split.names))
    return cut, f"cut {split.output} into {done}; {how}"


def _computed(graph: Any) -> set[str]:
    """Tensors that depend on a graph input (nodes are in topological order in a valid graph)."""
    inits = {i.name for i in graph.initializer}
    live = {i.name for i in graph.input if i.name not in inits}
    for n in graph.node:
        if any(i in live for i in n.input):
            live.update(n.output)
    return live


def _prune(graph: Any) -> None:
    """Drop nodes nothing reads any more (the old Concat and its layout ops)."""
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            return
        for n in dead:
            graph.node.remove(n)
