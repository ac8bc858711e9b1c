"""fp16 and QDQ int8 forms of an fp32 ONNX model, for ONNX Runtime and TensorRT.

fp16: ``onnxruntime.transformers.float16`` (it ships with onnxruntime;
``onnxconverter-common`` is not a dependency), float32 input and output kept,
nodes sorted back into topological order, which TensorRT's parser and
``onnx.checker`` require and the converter does not keep.

int8: ONNX Runtime static quantisation in QDQ form, symmetric int8 activations
and per-channel symmetric int8 weights (zero points 0, as TensorRT wants).
What was measured on the test models (see ``tests/converters/test_onnx.py``):

* only the inputs of weighted ops (Conv, ConvTranspose, Gemm, MatMul) are
  quantised. With ONNX Runtime's default op list the YOLO head's Concat of box
  pixels (0-64) and scores (0-1) shares one scale: scores moved by 0.2 and
  mAP@0.5 against fp32 fell to 0.05; the softmax output quantised to steps of
  1/127 cost the classifier 40 % of its top-1. Restricted: 100 % top-1, scores
  within 0.008, boxes within 0.05 px;
* the weighted nodes nearest the outputs (:func:`head_nodes`) stay float: TensorRT's
  symmetric int8 leaves a ReLU output half the levels NNCF's unsigned int8 gets, and a
  detection head multiplies that error into box pixels. On a small trained YOLO-layout
  detector (mAP@0.5 0.661 in fp32): 0.511 with the head quantised, 0.617 with it float;
* calibration by MinMax: Entropy gave the same ranges on these models and
  Percentile (99.999) clipped slightly (segmenter pixel agreement 99.67 % vs 99.72 %);
* biases stay float: TensorRT's ONNX parser refuses an int32 DequantizeLinear
  ("only activation types allowed as input", onnx/onnx-tensorrt#850) and fuses
  the float bias into the int8 convolution anyway.

Example:
    >>> model16, info = to_fp16(model32)                   # doctest: +SKIP
    >>> model8, info = quantize_qdq(model32, job)          # doctest: +SKIP
    >>> info["calibrate_method"], info["symmetric"]        # doctest: +SKIP
    ('minmax', True)
"""
from __future__ import annotations

import contextlib
import io
import logging
import shutil
from collections.abc import Iterator
from typing import Any

from ..errors import ConversionError
from .base import ConvertJob

WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
CALIBRATE_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}
QDQ_MIN_OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear (the axis attribute)


def toposort(graph: Any) -> None:
    """Reorder ``graph.node`` so every node comes after the producers of its inputs (Kahn's algorithm), in place.

    Example:
        >>> import onnx.helper as h
        >>> g = h.make_graph([h.make_node("Relu", ["t"], ["y"]), h.make_node("Neg", ["x"], ["t"])], "g", [], [])
        >>> toposort(g); [n.op_type for n in g.node]
        ['Neg', 'Relu']
    """
    nodes = list(graph.node)
    producer = {out: i for i, n in enumerate(nodes) for out in n.output if out}
    # Inputs, initializers and outer-scope names have no producer here: they are ready from the start.
    deps = [{producer[x] for x in _needs(n) if x in producer} for n in nodes]
    users: list[list[int]] = [[] for _ in nodes]
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    waiting = [len(d) for d in deps]
    queue = [i for i, w in enumerate(waiting) if w == 0]
    order: list[int] = []
    while queue:
        i = queue.pop()
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                queue.append(u)
    if len(order) != len(nodes):
        stuck = next(nodes[i] for i, w in enumerate(waiting) if w > 0)
        raise ConversionError(f"expected an acyclic ONNX graph, got a cycle through {stuck.name or stuck.op_type}")
    del graph.node[:]
    graph.node.extend(nodes[i] for i in order)


def _needs(node: Any) -> list[str]:
    names = list(node.input)
    for attr in node.attribute:
        for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
            inner = ({o for n in sub.node for o in n.output} | {i.name for i in sub.input}
                     | {i.name for i in sub.initializer})
            names += [i for n in sub.node for i in n.input if i and i not in inner]
    return names


def head_nodes(model: Any) -> list[str]:
    """Names of the weighted nodes nearest the outputs: the last Conv/Gemm/MatMul on every path to an output.

    Unnamed nodes get a name (``<op>_<index>``) so that they can be excluded by name.

    Example:
        >>> head_nodes(onnx.load("yolo.onnx"))               # doctest: +SKIP
        ['yolo_1/conv2d_4_1/BiasAdd']
    """
    for i, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{i}"
    producer = {o: n for n in model.graph.node for o in n.output}
    found: list[str] = []
    seen: set[str] = set()
    stack = [o.name for o in model.graph.output]
    while stack:
        node = producer.get(stack.pop())
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type in WEIGHTED_OPS:
            found.append(node.name)
        else:
            stack.extend(node.input)
    return found


FP16_MAX = 65504.0
FLOAT = 1  # onnx.TensorProto.FLOAT


def fp16_overflow(model: Any) -> list[tuple[str, str, str, float]]:
    """(layer, op type, constant, its largest magnitude) for every float32 constant beyond the float16 range.

    Example:
        >>> fp16_overflow(model)                               # doctest: +SKIP
        [('scale_up', 'Mul', 'big', 1000000.0)]
    """
    import numpy as np
    from onnx import numpy_helper

    peaks: dict[str, float] = {}
    tensors = [(t.name, t) for t in model.graph.initializer]
    tensors += [(n.output[0], a.t) for n in model.graph.node if n.op_type == "Constant" for a in n.attribute
                if a.name == "value"]
    for name, tensor in tensors:
        if tensor.data_type != FLOAT:
            continue
        values = numpy_helper.to_array(tensor)
        finite = values[np.isfinite(values)]
        if finite.size and float(np.abs(finite).max()) > FP16_MAX:
            peaks[name] = float(np.abs(finite).max())
    return [(n.name or f"{n.op_type}_{i}", n.op_type, name, peaks[name])
            for i, n in enumerate(model.graph.node) for name in n.input if name in peaks]


def to_fp16(model: Any, *, target: str = "jetson-orin") -> tuple[Any, dict[str, Any]]:
    """float16 weights and arithmetic with float32 input and output; returns the model and the settings.

    Example:
        >>> m16, info = to_fp16(m32)                      # doctest: +SKIP
        >>> info["keep_io_types"]                         # doctest: +SKIP
        True
    """
    import onnxruntime
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    over = fp16_overflow(model)
    if over:
        node, op, name, peak = over[0]
        # The converter would clamp it to 65504 (and a layer kept float32 still hands float16 on): refuse.
        raise ConversionError(f"expected constants within the float16 range (|x| <= {FP16_MAX:.0f}) for an fp16 "
                              f"artifact, got {peak:.4g} in {name!r} of layer {node!r} ({op})"
                              f"{f' and {len(over) - 1} more' if len(over) > 1 else ''}: convert this target at fp32 "
                              f"or int8 (--target {target}:fp32)")
    try:
        half = convert_float_to_float16(model, keep_io_types=True)
    except (ValueError, RuntimeError) as e:
        raise ConversionError(f"expected onnxruntime's float16 converter to convert the model, got: {e}") from None
    toposort(half.graph)
    # Ops on the block list (TopK, NonMaxSuppression, Range, Min/Max, ...) stay float32 behind Cast nodes.
    blocked = sorted({n.op_type for n in model.graph.node} & set(DEFAULT_OP_BLOCK_LIST))
    info = {"fp16": "onnxruntime.transformers.float16", "onnxruntime_version": onnxruntime.__version__,
            "keep_io_types": True}
    if blocked:
        info["fp32_ops"] = blocked
    return half, info


def quantize_qdq(model: Any, job: ConvertJob) -> tuple[Any, dict[str, Any]]:
    """QDQ int8 of the fp32 ``model`` on ``job.calibration``; returns the model and the settings used.

    ``job.options`` may set ``calibrate_method`` ("minmax", default; "entropy";
    "percentile"), ``op_types`` (op types whose inputs are quantised; default
    Conv, ConvTranspose, Gemm, MatMul) and ``float_head`` (default True: the weighted
    nodes of :func:`head_nodes` stay float).

    Example:
        >>> q, info = quantize_qdq(model, job)            # doctest: +SKIP
        >>> info["quant_format"], info["weights"]         # doctest: +SKIP
        ('QDQ', 'int8 per-channel')
    """
    import onnx
    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .onnx import graph_inputs, opset_of

    assert job.calibration is not None  # check_job ran first; narrows the type
    opts = job.options
    method = opts.calibrate_method.lower()
    if method not in CALIBRATE_METHODS:
        raise ConversionError(f"expected option calibrate_method among {', '.join(CALIBRATE_METHODS)}, got {method!r}")
    op_types = list(opts.op_types if opts.op_types is not None else WEIGHTED_OPS)
    float_head = opts.float_head is not False
    if opset_of(model) < QDQ_MIN_OPSET:
        from onnx import version_converter

        model = version_converter.convert_version(model, QDQ_MIN_OPSET)
    name = graph_inputs(model)[0].name

    class Reader(CalibrationDataReader):  # defined here: its base class is a heavy import
        def __init__(self, samples: Iterator[Any]) -> None:
            self._feeds = ({name: s} for s in samples)

        def get_next(self) -> Any:
            return next(self._feeds, None)

    tmp = job.outdir / f".{job.stem}.quantize.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    job.log(f"onnx: quantize_static on {len(job.calibration)} samples ({method}, ops {', '.join(op_types)})")
    logger = logging.getLogger()
    level = logger.level
    try:
        logger.setLevel(logging.ERROR)  # ORT logs hints (pre-processing, opset) on the root logger at WARNING
        onnx.save(model, str(tmp / "fp32.onnx"))
        # ORT's basic graph optimisation (constant folding, Conv+BatchNorm fusion) and ONNX shape inference,
        # so per-channel weight scales are computed on the weights TensorRT will run. The input is static:
        # no symbolic shape inference (which would need sympy).
        quant_pre_process(str(tmp / "fp32.onnx"), str(tmp / "pre.onnx"), skip_symbolic_shape=True)
        pre = onnx.load(str(tmp / "pre.onnx"))
        head = head_nodes(pre) if float_head else []
        onnx.save(pre, str(tmp / "pre.onnx"))  # with the names head_nodes gave
        with contextlib.redirect_stdout(io.StringIO()):  # the Entropy/Percentile calibrators print progress
            quantize_static(str(tmp / "pre.onnx"), str(tmp / "int8.onnx"), Reader(iter(job.calibration)),
                            quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
                            weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=getattr(CalibrationMethod, CALIBRATE_METHODS[method]),
                            op_types_to_quantize=op_types, nodes_to_exclude=head,
                            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True,
                                           "QuantizeBias": False})
        quantized = onnx.load(str(tmp / "int8.onnx"))
    except (ValueError, RuntimeError, KeyError, onnx.checker.ValidationError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConversionError(f"expected onnxruntime.quantization to quantise {job.source.path.name}, "
                              f"got: {first[:200]}") from None
    finally:
        logger.setLevel(level)
        shutil.rmtree(tmp, ignore_errors=True)
    info = {"quantizer": "onnxruntime.quantization.quantize_static", "onnxruntime_version": onnxruntime.__version__,
            "quant_format": "QDQ", "activations": "int8 per-tensor", "weights": "int8 per-channel",
            "symmetric": True, "bias": "float", "calibrate_method": method, "op_types": op_types,
            "float_head": float_head, "float_nodes": head,
            "calibration_samples": len(job.calibration), "calibration_origin": job.calibration.origin,
            "opset": opset_of(quantized)}
    return quantized, info
