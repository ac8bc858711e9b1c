"""Split a head's shared layers by output group, back to the convolution that computes them.

Cutting the final ``Concat`` (:func:`.heads.split_onnx`) gives boxes and scores their own output
scale. A head whose groups come from *one* convolution (YOLOv5, the reference detector: one 1x1
conv of 4+nc channels, then a sigmoid and a per-channel rescale, then reshapes and a slice per
group) still shares one int8 scale in every tensor from that convolution to the slices: box logits
and class logits round on the coarser of the two grids. Here that chain is duplicated per group,
each copy computing only its group's channels (the conv's weights and biases, and every per-channel
constant on the way, sliced), so each group keeps its own scale from the convolution on.

Handled on the way back from the slices: Transpose, Reshape (the channel axis last and kept),
unary elementwise ops, Add/Sub/Mul/Div with a constant. Anything else ends the walk and nothing
changes; the result says why.

Example:
    >>> model, how = split_channels(model, ["boxes_tensor", "scores_tensor"])   # doctest: +SKIP
    >>> how                                                                      # doctest: +SKIP
    'split Conv 'head/BiasAdd' and the 6 ops after it into 2 groups (4, 3 channels)'
"""
from __future__ import annotations

from typing import Any

import numpy as np

UNARY = ("Sigmoid", "Relu", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Identity", "Exp", "Softplus",
         "Elu", "Selu", "Clip")
BINARY = ("Add", "Sub", "Mul", "Div")
PASS_THROUGH = ("Identity", "Mul", "Add", "Sub", "Div", "Transpose", "Reshape")  # between a group's output and its slice


def _constants(graph: Any) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    out = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _slice_of(node: Any, consts: dict, shape: list[int]) -> tuple[int, int, int] | None:
    """(axis, start, end) of a step-1 Slice with constant bounds that cuts one axis of ``shape`` (others whole)."""
    if node.op_type != "Slice" or any(i not in consts for i in node.input[1:] if i):
        return None
    rank = len(shape)
    starts, ends = consts[node.input[1]].reshape(-1), consts[node.input[2]].reshape(-1)
    axes = consts[node.input[3]].reshape(-1) if len(node.input) > 3 and node.input[3] else np.arange(len(starts))
    steps = consts[node.input[4]].reshape(-1) if len(node.input) > 4 and node.input[4] else np.ones(len(starts))
    cut = []
    for ax, start, end, step in zip(axes, starts, ends, steps):
        ax, size = int(ax) % rank, shape[int(ax) % rank]
        start, end = int(start) + (size if start < 0 else 0), min(int(end) + (size if end < 0 else 0), size)
        if int(step) != 1:
            return None
        if (start, end) != (0, size):
            cut.append((ax, start, end))
    return cut[0] if len(cut) == 1 else None


def split_channels(model: Any, group_tensors: list[str],
                   parts: list[tuple[int, ...]] | None = None) -> tuple[Any, str]:
    """Duplicate the chain from the shared convolution to each group's Slice (see the module docstring).

    ``parts[k]``: channel counts within group ``k`` computed apart too (each with its own scale up to the end of
    the head, where they are concatenated into the group's output), e.g. (2, 2) for box centres and sizes.
    """
    import onnx
    from onnx import helper

    graph = model.graph
    model = onnx.shape_inference.infer_shapes(model)
    graph = model.graph
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in (*graph.value_info, *graph.input, *graph.output)}
    producer = {o: n for n in graph.node for o in n.output}
    consts = _constants(graph)
    slices, fork, posts = [], None, []
    for tensor in group_tensors:  # back from each group to the Slice that takes its channels
        node = producer.get(tensor)
        post = []  # ops between the Slice and the group's output
        while node is not None and node.op_type in PASS_THROUGH and node.op_type != "Slice":
            live = [i for i in node.input if i not in consts]
            if len(live) != 1:
                break
            post.append(node)
            node = producer.get(live[0])
        posts.append(post)
        if node is None or node.op_type != "Slice":
            return model, "not split deeper: a group does not come from a Slice"
        data = node.input[0]
        rank = len(shapes.get(data, []))
        if not rank or (fork is not None and data != fork):
            return model, "not split deeper: the groups are sliced from different tensors"
        fork = data
        if _slice_of(node, consts, shapes[data]) is None:
            return model, "not split deeper: a group's Slice is not a constant one-axis slice"
        slices.append(node)
    assert fork is not None
    ranges = [_slice_of(s, consts, shapes[fork]) for s in slices]
    axis = ranges[0][0]  # type: ignore[index]
    size = shapes[fork][axis]
    if any(r is None or r[0] != axis for r in ranges):
        return model, "not split deeper: the groups are sliced along different axes"
    chain, at, tensor = [], axis, fork  # (node, channel axis of its output), from the fork back to the conv
    while True:
        node = producer.get(tensor)
        if node is None:
            return model, "not split deeper: no convolution before the slices"
        chain.append((node, at))
        if node.op_type == "Conv":
            if at != 1:
                return model, "not split deeper: the slices do not take the convolution's output channels"
            break
        live = [i for i in node.input if i and i not in consts]
        if len(live) != 1:
            return model, f"not split deeper: {node.op_type} {node.name!r} has more than one computed input"
        if node.op_type == "Transpose":
            at = list(_attr(node, "perm"))[at]
        elif node.op_type == "Reshape":
            src = shapes.get(live[0], [])
            out = shapes.get(node.output[0], [])
            if not src or at != len(out) - 1 or src[-1] != out[-1]:
                return model, f"not split deeper: Reshape {node.name!r} does not keep the channel axis last"
            at = len(src) - 1
        elif node.op_type not in UNARY + BINARY:
            return model, f"not split deeper: {node.op_type} {node.name!r} is not a channel-wise op"
        tensor = live[0]
    chain.reverse()  # conv first
    for k, (sl, (_, start, end)) in enumerate(zip(slices, ranges)):  # type: ignore[misc]
        factor = _scalar_factor(posts[k], consts)
        widths_k = list(parts[k]) if parts and k < len(parts) and parts[k] else [end - start]
        if sum(widths_k) != end - start:
            return model, f"not split deeper: parts {widths_k} do not add up to the group's {end - start} channels"
        ends, at = [], start
        for j, width in enumerate(widths_k):
            ends.append(_copy_chain(graph, chain, consts, shapes, size, (at, at + width), factor, f"g{k}p{j}"))
            at += width
        current = ends[0]
        if len(ends) > 1:  # the parts computed apart (a scale each), joined at the end of the head
            current = f"{sl.output[0]}__g{k}"
            graph.node.append(helper.make_node("Concat", ends, [current], axis=chain[-1][1], name=current))
        # The group's Slice is now the whole of its copy: bypass it, and the folded scale ops after it.
        replaced = posts[k][0].output[0] if factor is not None and posts[k] else sl.output[0]
        for consumer in graph.node:
            consumer.input[:] = [current if i == replaced else i for i in consumer.input]
        for out in graph.output:
            if out.name == replaced:
                graph.node.append(helper.make_node("Identity", [current], [out.name]))
    _topological(graph)
    conv = chain[0][0]
    widths = ", ".join(str(r[2] - r[1]) for r in ranges)  # type: ignore[index]
    return model, (f"split {conv.op_type} {conv.name!r} and the {len(chain) - 1} ops after it into "
                   f"{len(ranges)} groups ({widths} channels)")


def _copy_chain(graph: Any, chain: list, consts: dict, shapes: dict, size: int, channels: tuple[int, int],
                factor: float | None, tag: str) -> str:
    """Append a copy of ``chain`` (conv first) computing only ``channels`` of its output; returns its last tensor."""
    from onnx import helper, numpy_helper

    start, end = channels
    current = None
    last_nonlinear = max((i for i, (n, _) in enumerate(chain) if n.op_type not in BINARY + ("Transpose", "Reshape")),
                         default=0)
    affine = [i for i, (n, _) in enumerate(chain) if i > last_nonlinear and n.op_type in BINARY]
    for index, (node, at) in enumerate(chain):
        new = helper.make_node(node.op_type, [], [f"{node.output[0]}__{tag}"], name=f"{node.name or node.output[0]}__{tag}")
        new.attribute.extend(node.attribute)
        inputs = []
        for i, name in enumerate(node.input):
            if name and name not in consts:
                inputs.append(current if current is not None else name)
                continue
            value = consts.get(name)
            if node.op_type == "Conv" and i in (1, 2):
                value = value[start:end]  # type: ignore[index]
            elif node.op_type == "Reshape" and i == 1:
                value = value.copy()  # type: ignore[union-attr]
                value[at] = end - start
            elif node.op_type in BINARY and value is not None and value.ndim:
                full = len(shapes.get(node.output[0], []))
                dim = at - (full - value.ndim)
                if dim >= 0 and value.shape[dim] == size:
                    value = np.take(value, np.arange(start, end), axis=dim)
            if factor is not None and index in affine and value is not None:
                # y = (x * a + b) * s  ->  x * (a * s) + b * s: the scale moves before the layout ops
                value = np.asarray(value / factor if node.op_type == "Div" else value * factor, value.dtype)
            if value is None:
                inputs.append(name)
                continue
            cname = f"{name}__{tag}"
            graph.initializer.append(numpy_helper.from_array(np.asarray(value), cname))
            inputs.append(cname)
        new.input.extend(inputs)
        graph.node.append(new)
        current = new.output[0]
        if factor is not None and not affine and index == last_nonlinear:  # no affine op to fold into: add one
            scale = f"{current}__scale"
            graph.initializer.append(numpy_helper.from_array(np.asarray(factor, np.float32), scale))
            graph.node.append(helper.make_node("Mul", [current, scale], [f"{current}__scaled"], name=scale))
            current = f"{current}__scaled"
    assert current is not None
    return current


def _scalar_factor(post: list, consts: dict) -> float | None:
    """The product of ``post`` when every op is a Mul/Div by a scalar constant (None otherwise, or when empty).

    TFLite's converter moves such a scale across the reshapes that follow the head and then calibrates the
    wrong tensor with its range (a box branch's int8 scale came out 128 times too coarse): folded into the
    head's own affine constants instead, the graph has no scale after its layout ops.
    """
    factor = 1.0
    for node in post:
        const = [consts[i] for i in node.input if i in consts]
        if node.op_type not in ("Mul", "Div") or len(const) != 1 or const[0].size != 1:
            return None
        value = float(const[0].reshape(-1)[0])
        if node.op_type == "Div" and (node.input[1] not in consts or value == 0):
            return None
        factor = factor / value if node.op_type == "Div" else factor * value
    return factor if post else None


def _topological(graph: Any) -> None:
    from .heads import _prune
    from .onnx_precision import toposort

    _prune(graph)
    toposort(graph)
