"""What the Edge TPU compiler maps, as data: its documented supported operations and their limits.

Source: the "Supported operations" table of https://coral.ai/docs/edgetpu/models-intro/#supported-operations
(Edge TPU compiler 16). How far each row is confirmed:

- rows for every runtime ("All"), with their limits, were checked against a copy of the
  table (the compiler-12 era rows, mirrored in dgist-datalab/Datalab_Intern
  ``Edge_TPU/convert_model_for_Edge_TPU.md``);
- QUANTIZE against compiler-16 logs showing it "Mapped to Edge TPU" (WongKinYiu/yolov7#1672,
  google-coral/edgetpu#342); TRANSPOSE by a maintainer in google-coral/edgetpu#193 ("Compiler
  version 16 supports 'Transpose'"); TRANSPOSE_CONV by the table's screenshot in
  google-coral/edgetpu#684;
- ``confirmed=False`` rows (the later runtime-13/14 additions) and limits marked
  "(unconfirmed)", and every runtime threshold above 10, are from memory of the current
  table and could not be re-read here: the best knowledge, not a promise.

DEQUANTIZE is absent on purpose: compiler logs report it as "Operation is working on an
unsupported data type" (google-coral/edgetpu#490). LEAKY_RELU is absent too (a maintainer,
google-coral/edgetpu#147: not on the roadmap; use PReLU).

Each rule may carry a check: a function of one op that returns ``(reason, fix)``
when a documented limit is broken, else None.

Example:
    >>> rules()["CONV_2D"].name, rules()["TRANSPOSE"].runtime
    ('Conv2d', 14)
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..formats.tflite_graph import Tensor

SUPPORTED_OPS_URL = "https://coral.ai/docs/edgetpu/models-intro/#supported-operations"
INT_DTYPES = ("int8", "uint8")
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}

Problem = tuple[str, str] | None  # (reason it does not map, what to change)


class OpView:
    """One operator of subgraph 0 with what the checks read: tensors, decoded options, constant values."""

    def __init__(self, index: int, name: str, inputs: Sequence[Tensor | None],
                 outputs: Sequence[Tensor | None], options: Any = None,
                 constants: Callable[[int], np.ndarray | None] | None = None) -> None:
        self.index, self.name = index, name
        self.inputs, self.outputs = list(inputs), list(outputs)
        self.options = options  # the op's schema options object, or None when not decoded
        self._constants = constants or (lambda position: None)

    def option(self, getter: str) -> Any:
        """An option value (e.g. "FusedActivationFunction"), or None when options were not decoded."""
        method = getattr(self.options, getter, None)
        return method() if method is not None else None

    def const(self, position: int) -> np.ndarray | None:
        """The value of constant input ``position`` (e.g. MEAN's axes), or None if not constant or not read."""
        return self._constants(position)


def inner_rank(shape: Sequence[int]) -> int:
    """The rank once leading 1s are dropped: the Edge TPU lets only the 3 innermost dimensions exceed 1.

    >>> inner_rank((1, 1, 256, 7)), inner_rank((1, 2, 16, 32, 8))
    (2, 4)
    """
    dims = list(shape)
    while dims and dims[0] == 1:
        dims.pop(0)
    return len(dims)


def _axes(v: OpView, position: int) -> list[int] | None:
    values, data = v.const(position), v.inputs[0]
    if values is None or data is None:
        return None
    rank = len(data.shape)
    return sorted({int(a) % rank for a in np.ravel(values)})


def _batch_axis(v: OpView, axes: list[int] | None) -> Problem:
    data = v.inputs[0]
    if axes and 0 in axes and data is not None and len(data.shape) == 4:
        return (f"works along the batch dimension of {data.name!r} (axes {axes})",
                "keep the batch dimension out of the op (work per image, batch 1)")
    return None


def _no_fused_activation(v: OpView) -> Problem:
    act = v.option("FusedActivationFunction")
    if act:
        return (f"has a fused {ACTIVATIONS.get(act, act)} activation",
                f"apply the activation as its own op after {v.name}")
    return None


def _concatenation(v: OpView) -> Problem:
    consts = [i for i, t in enumerate(v.inputs) if t is not None and t.is_constant]
    if consts:
        zero = all(v.const(i) is not None and not np.any(v.const(i)) for i in consts)
        if len(v.inputs) != 2 or not zero:
            return ("concatenates a constant that is not a single all-zero tensor",
                    "concatenate only computed tensors (a constant input must be all zeros, with 2 inputs)")
    return _no_fused_activation(v)


def _fully_connected(v: OpView) -> Problem:
    if v.option("WeightsFormat"):
        return "uses shuffled weights", "store fully-connected weights in the default format"
    out = v.outputs[0]
    if out is not None and inner_rank(out.shape) > 1:
        return (f"has output {out.name!r} of shape {out.shape}, not one-dimensional",
                "flatten to a vector before the Dense layer (or use a 1x1 Conv2D)")
    return None


def _mean(runtime: int) -> Callable[[OpView], Problem]:
    def check(v: OpView) -> Problem:
        axes, data = _axes(v, 1), v.inputs[0]
        if axes is None or data is None:
            return None
        batch = _batch_axis(v, axes)
        if batch:
            return batch
        z = len(data.shape) - 1
        if z in axes and (runtime < 14 or data.shape[z] % 4):
            return (f"reduces the channel axis of {data.name!r} ({data.shape[z]} channels)",
                    "reduce over height/width only (GlobalAveragePooling2D), or keep channels a multiple of 4 "
                    "with runtime >= 14")
        return None

    return check


def _pad(runtime: int) -> Callable[[OpView], Problem]:
    def check(v: OpView) -> Problem:
        pads, data = v.const(1), v.inputs[0]
        if pads is None or data is None:
            return None
        pads = np.asarray(pads).reshape(-1, 2)
        padded = [i for i, row in enumerate(pads) if np.any(row)]
        allowed = set(range(1, len(pads))) if runtime >= 13 else {len(pads) - 3, len(pads) - 2}
        bad = [i for i in padded if i not in allowed]
        if bad:
            return (f"pads dimension(s) {bad} of {data.name!r}",
                    "pad only along height/width (and not the batch)")
        return None

    return check


def _softmax(v: OpView) -> Problem:
    data = v.inputs[0]
    if data is not None and (inner_rank(data.shape) > 1 or int(np.prod(data.shape)) > 16000):
        return (f"has input {data.name!r} of shape {data.shape}: the Edge TPU takes a 1-D input of at most 16,000 "
                "elements", "apply softmax to a flat vector, or drop it and take the softmax in the decoder")
    return None


def _squeeze(runtime: int) -> Callable[[OpView], Problem]:
    def check(v: OpView) -> Problem:
        data = v.inputs[0]
        if runtime >= 13 or data is None:
            return None
        if 1 in data.shape[len(data.shape) - inner_rank(data.shape):]:
            return (f"squeezes a non-leading 1 of {data.name!r} {data.shape}",
                    "use a RESHAPE, or compile for runtime >= 13")
        return None

    return check


def _strided_slice(v: OpView) -> Problem:
    strides = v.const(3)
    if strides is not None and np.any(np.asarray(strides) != 1):
        return (f"has strides {[int(s) for s in np.ravel(strides)]}",
                "slice with stride 1 (subsample with a strided Conv2D or pooling instead)")
    if v.option("EllipsisMask") or v.option("NewAxisMask"):
        return "uses an ellipsis or new-axis mask", "slice with explicit begin/end on every axis and no new axes"
    return None


def _resize(v: OpView) -> Problem:
    data = v.inputs[0]
    if data is not None and len(data.shape) == 4 and data.shape[0] != 1:
        return f"resizes a batch of {data.shape[0]}", "resize one image at a time (batch 1)"
    return None


def _split(v: OpView) -> Problem:
    axis = v.const(0)
    if axis is not None and v.inputs[1] is not None and len(v.inputs[1].shape) == 4 and int(np.ravel(axis)[0]) % 4 == 0:
        return "splits along the batch dimension", "split along height, width or channels"
    return None


def _pack(v: OpView) -> Problem:
    if v.option("Axis") == 0 and v.outputs[0] is not None and len(v.outputs[0].shape) == 4:
        return "packs along the batch dimension", "stack along another axis"
    return None


def _prelu(v: OpView) -> Problem:
    alpha = v.inputs[1] if len(v.inputs) > 1 else None
    if alpha is not None and not alpha.is_constant:
        return "has a computed alpha", "use a PReLU whose alpha is a trained constant"
    return None


def _reduce(v: OpView) -> Problem:
    return _batch_axis(v, _axes(v, 1))


def _same_dilation(v: OpView) -> Problem:
    h, w = v.option("DilationHFactor"), v.option("DilationWFactor")
    if h is not None and h != w:
        return f"has dilation {h}x{w}", "use the same dilation along x and y"
    return None


@dataclass(frozen=True)
class Rule:
    """One row of the Coral table: its name there, the first runtime that maps it, its documented limits."""

    name: str
    runtime: int = 10  # 10 = "All" runtimes
    limits: str = ""
    confirmed: bool = True
    check: Callable[[OpView], Problem] | None = None


def rules(runtime: int = 14) -> dict[str, Rule]:
    """TFLite builtin name -> Rule, with runtime-dependent limits resolved for ``runtime``.

    Example:
        >>> rules(12)["PAD"].limits
        'pad along x/y only'
    """
    no_act = "no fused activation function"
    return {
        "ADD": Rule("Add"), "SUB": Rule("Sub"), "MUL": Rule("Mul"),
        "MAXIMUM": Rule("Maximum"), "MINIMUM": Rule("Minimum"),
        "LOGISTIC": Rule("Logistic"), "TANH": Rule("Tanh"), "RELU": Rule("ReLU"), "RELU6": Rule("ReLU6"),
        "RELU_N1_TO_1": Rule("ReluN1To1"), "L2_NORMALIZATION": Rule("L2Normalization"),
        "AVERAGE_POOL_2D": Rule("AveragePool2d", limits=no_act, check=_no_fused_activation),
        "MAX_POOL_2D": Rule("MaxPool2d", limits=no_act, check=_no_fused_activation),
        "CONCATENATION": Rule("Concatenation", limits=no_act + "; a constant input must be all zeros, with 2 inputs",
                              check=_concatenation),
        "CONV_2D": Rule("Conv2d", limits="same dilation in x and y (unconfirmed)", check=_same_dilation),
        "DEPTHWISE_CONV_2D": Rule("DepthwiseConv2d", limits="same dilation in x and y (unconfirmed)",
                                  check=_same_dilation),
        "FULLY_CONNECTED": Rule("FullyConnected", limits="default weights format; one-dimensional output",
                                check=_fully_connected),
        "MEAN": Rule("Mean", limits="reduce along x/y only" if runtime < 14 else
                     "no batch reduction; a z reduction needs z a multiple of 4 (unconfirmed)", check=_mean(runtime)),
        "PAD": Rule("Pad", limits="pad along x/y only" if runtime < 13 else
                    "no padding in the batch dimension (unconfirmed)",
                    check=_pad(runtime)),
        "RESHAPE": Rule("Reshape", limits="some reshapes of large tensors may not map (unconfirmed)"),
        "RESIZE_BILINEAR": Rule("ResizeBilinear", limits="3-D input/output; may not map for some sizes (precision)",
                                check=_resize),
        "RESIZE_NEAREST_NEIGHBOR": Rule("ResizeNearestNeighbor", limits="3-D input/output; may not map for some "
                                        "sizes (precision)", check=_resize),
        "SLICE": Rule("Slice"),
        "SOFTMAX": Rule("Softmax", limits="1-D input of at most 16,000 elements", check=_softmax),
        "SPACE_TO_DEPTH": Rule("SpaceToDepth"),
        "SPLIT": Rule("Split", limits="no split along the batch (unconfirmed)", check=_split),
        "SQUEEZE": Rule("Squeeze", limits="leading 1s only" if runtime < 13 else "any (unconfirmed)",
                        check=_squeeze(runtime)),
        "STRIDED_SLICE": Rule("StridedSlice", limits="strides 1; no ellipsis or new-axis mask", check=_strided_slice),
        "QUANTIZE": Rule("Quantize", runtime=13),
        "EXPAND_DIMS": Rule("ExpandDims", runtime=13, confirmed=False),
        "PACK": Rule("Pack", runtime=13, limits="no packing along the batch", confirmed=False, check=_pack),
        "PRELU": Rule("PReLU", runtime=13, limits="constant alpha", confirmed=False, check=_prelu),
        "TRANSPOSE_CONV": Rule("TransposeConv", runtime=13, limits="large ones have been left on the CPU "
                               "(google-coral/edgetpu#686)"),
        "TRANSPOSE": Rule("Transpose", runtime=14, limits="compiler 16 (google-coral/edgetpu#193); the runtime-14 "
                          "threshold is unconfirmed"),
        "UNIDIRECTIONAL_SEQUENCE_LSTM": Rule("LSTM", runtime=14, limits="unidirectional only", confirmed=False),
        "REDUCE_MAX": Rule("ReduceMax", runtime=14, limits="not along the batch", confirmed=False, check=_reduce),
        "REDUCE_MIN": Rule("ReduceMin", runtime=14, limits="not along the batch", confirmed=False, check=_reduce),
        "SUM": Rule("Sum", runtime=14, limits="not along the batch", confirmed=False, check=_reduce),
        "RSQRT": Rule("Rsqrt", runtime=14, confirmed=False),
        "SQUARED_DIFFERENCE": Rule("SquaredDifference", runtime=14, confirmed=False),
    }


#: What to change for ops the table does not list at all (the generic advice covers the rest).
FIX_FOR_OP = {
    "DEQUANTIZE": "keep the output integer (io_dtype uint8/int8) and dequantize in the runtime's decoder",
    "LEAKY_RELU": "use ReLU or ReLU6, or PReLU with a constant alpha (runtime >= 13)",
    "HARD_SWISH": "use ReLU6 (hard-swish is not in the Edge TPU's op list)",
    "ARG_MAX": "take the argmax in the runtime's decoder, after the model",
    "GATHER": "move the gather into post-processing, after the model",
    "BATCH_MATMUL": "use a FullyConnected (Dense) layer or a 1x1 Conv2D with constant weights",
    "DEPTH_TO_SPACE": "upsample with RESIZE_NEAREST_NEIGHBOR or TRANSPOSE_CONV instead",
    "DIV": "multiply by a constant reciprocal (MUL) instead of dividing",
    "EXP": "move the exponential into post-processing, or use LOGISTIC/TANH",
}
