"""The structure of a ``.tflite`` model as ``read_tflite`` returns it: plain frozen dataclasses, no parsing.

Subgraph 0 is the graph LiteRT runs; tensors, operators and operator codes refer to
each other by index, and ``read_tflite`` (``edgevision.formats.tflite``) checked every index.

Example:
    >>> t = Tensor("input", (1, 224, 224, 3), None, "uint8", Quant((0.0078125,), (128,)), buffer=0)
    >>> t.quantization.per_channel, t.is_dynamic
    (False, False)
    >>> OpCode("CUSTOM", "TFLite_Detection_PostProcess").name
    'TFLite_Detection_PostProcess'
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FLOAT_DTYPES", "OpCode", "Operator", "Quant", "Subgraph", "TFLiteGraph", "Tensor"]

FLOAT_DTYPES = frozenset({"float32", "float16", "bfloat16", "float64"})


@dataclass(frozen=True, slots=True)
class Quant:
    """Affine quantisation: ``real = scale * (q - zero_point)``, per tensor or per channel."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass(frozen=True, slots=True)
class Tensor:
    """One tensor of a subgraph; ``is_constant`` is true for weights stored in the file."""

    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...] | None  # None when the file stores none (= shape)
    dtype: str  # numpy-style: "float32", "int8", "uint8", "int32", "bool", ...
    quantization: Quant | None
    buffer: int
    is_variable: bool = False
    is_constant: bool = False

    @property
    def is_dynamic(self) -> bool:
        return self.shape_signature is not None and -1 in self.shape_signature


@dataclass(frozen=True, slots=True)
class Operator:
    """One node: an index into ``TFLiteGraph.operator_codes`` and tensor indices (-1 = absent)."""

    opcode_index: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OpCode:
    """An operator kind: builtin name ("CONV_2D", or "CUSTOM" with ``custom`` set) and version."""

    builtin: str
    custom: str | None = None
    version: int = 1

    @property
    def name(self) -> str:
        """The name LiteRT reports: the custom code for CUSTOM ops, else the builtin name."""
        return self.custom if self.builtin == "CUSTOM" and self.custom else self.builtin


@dataclass(frozen=True, slots=True)
class Subgraph:
    """Tensors, the graph's input/output tensor indices, and operators in execution order."""

    name: str
    tensors: tuple[Tensor, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators: tuple[Operator, ...]


@dataclass(frozen=True, slots=True)
class TFLiteGraph:
    """The verified structure of a ``.tflite`` file; subgraph 0 is the one LiteRT runs."""

    version: int
    description: str
    subgraphs: tuple[Subgraph, ...]
    operator_codes: tuple[OpCode, ...]
    num_buffers: int
    buffer_has_data: tuple[bool, ...]  # per buffer: holds bytes (inline or after the flatbuffer)
    metadata: tuple[str, ...] = ()  # the names of the model's metadata entries (TFLITE_METADATA, ...)

    @property
    def inputs(self) -> list[Tensor]:
        """Input tensors of subgraph 0."""
        main = self.subgraphs[0]
        return [main.tensors[i] for i in main.inputs]

    @property
    def outputs(self) -> list[Tensor]:
        """Output tensors of subgraph 0."""
        main = self.subgraphs[0]
        return [main.tensors[i] for i in main.outputs]

    def op_name(self, op: Operator) -> str:
        """The name of ``op``'s kind, e.g. "CONV_2D" or "TFLite_Detection_PostProcess"."""
        return self.operator_codes[op.opcode_index].name
