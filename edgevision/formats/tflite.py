"""Read and verify a ``.tflite`` model's graph in pure Python, before LiteRT sees it.

LiteRT's interpreter trusts the flatbuffer it is given and can abort the whole
process on a malformed one, so the runtime reads the file here first: every
offset, vtable, vector and string is checked to lie inside the file, and every
index (tensor -> buffer, operator -> opcode, operator/subgraph -> tensor) to be
in range, and every quantisation scale to be finite and positive and every
zero point to fit its tensor's type. Any fault is a
:class:`~edgevision.errors.ModelFileError`. Weights are never copied or
walked, so a 14 MB model verifies in a few milliseconds.
Only struct (and mmap) are used: no TensorFlow, no ``flatbuffers`` package.

Field slots follow LiteRT's schema.fbs (``ai_edge_litert/schema_py_generated.py``).
The graph's dataclasses are in ``tflite_graph``, its digest (``summary``) in
``tflite_summary``; both are importable from here too.

Example:
    >>> graph = read_tflite("model.tflite")                          # doctest: +SKIP
    >>> [(t.name, t.shape, t.dtype) for t in graph.inputs]           # doctest: +SKIP
    [('serving_default_input:0', (1, 224, 224, 3), 'uint8')]
    >>> summary(graph)["fully_quantized"]                            # doctest: +SKIP
    True
"""
from __future__ import annotations

import math
import mmap
import os
import struct

from edgevision.errors import ModelFileError
from edgevision.formats._flatbuf import I8, I32, U8, U32, U64, Bytes, FlatBuffer, Table
from edgevision.formats.tflite_graph import FLOAT_DTYPES, OpCode, Operator, Quant, Subgraph, Tensor, TFLiteGraph
from edgevision.formats.tflite_ops import BUILTIN_OPS, TENSOR_TYPES
from edgevision.formats.tflite_summary import summary

__all__ = ["OpCode", "Operator", "Quant", "Subgraph", "TFLiteGraph", "Tensor", "read_tflite", "summary"]

_OPTIONAL = -1  # an absent optional operand (kTfLiteOptionalTensor)


def read_tflite(source: str | os.PathLike | bytes | bytearray | memoryview, *, name: str | None = None) -> TFLiteGraph:
    """Read and verify a ``.tflite`` file (a path, or the model's bytes; ``name`` says whose in errors).

    Raises :class:`ModelFileError` for a missing file, a file that is not a
    TFLite flatbuffer, or one that is truncated or malformed; never another
    exception for bad bytes.

    Example:
        >>> g = read_tflite("mobilenet_int8.tflite")        # doctest: +SKIP
        >>> g.op_name(g.subgraphs[0].operators[0])          # doctest: +SKIP
        'QUANTIZE'
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(source).cast("B") if isinstance(source, memoryview) else source
        return _parse(data, repr(name) if name else "the given bytes")
    path = os.fspath(source)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size < 8:
                return _parse(f.read(), repr(path))
            try:
                # Map rather than read: only the flatbuffer's tables are touched,
                # never the weights (the same way LiteRT itself maps the file).
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # not mappable (a pipe, some network file systems)
                return _parse(f.read(), repr(path))
            with mapped:
                return _parse(mapped, repr(path))
    except FileNotFoundError:
        raise ModelFileError(f"expected a .tflite file, got missing path {path!r}") from None
    except IsADirectoryError:
        raise ModelFileError(f"expected a .tflite file, got directory {path!r}") from None
    except OSError as e:
        raise ModelFileError(f"expected a readable .tflite file, got {path!r} ({e.strerror or e})") from None


def metadata_entry(data: Bytes, name: str) -> bytes | None:
    """The bytes of the model's metadata entry ``name`` (held in the flatbuffer), or None when it has none.

    ``data`` must be a model ``read_tflite`` verified: the entry's buffer index is checked there.

    Example:
        >>> metadata_entry(open("model.tflite", "rb").read(), "TFLITE_METADATA") is None    # doctest: +SKIP
        True
    """
    model = FlatBuffer(data).root("Model")
    for meta in model.tables(6, "Model.metadata"):
        if meta.string(0, "Metadata.name") == name:
            index = meta.scalar(1, U32, 0)
            buffers = model.tables(4, "Model.buffers")
            return buffers[index].blob(0, "Buffer.data") if index < len(buffers) else None
    return None


def _parse(data: Bytes, label: str) -> TFLiteGraph:
    if len(data) < 8:
        raise ModelFileError(f"expected a TFLite flatbuffer of at least 8 bytes, got {len(data)} bytes in {label}")
    ident = bytes(data[4:8])
    if ident != b"TFL3":
        raise ModelFileError(f"expected a TFLite flatbuffer (identifier TFL3), got {ident!r} in {label}")
    try:
        return _read_model(FlatBuffer(data))
    except ModelFileError as e:
        raise ModelFileError(f"{e} in {label}") from None
    except (struct.error, IndexError, ValueError, OverflowError) as e:
        # A check above missed a case: still the file's fault, never a crash.
        raise ModelFileError(f"expected a well-formed TFLite flatbuffer, got {type(e).__name__} ({e}) in {label}") from None


def _read_model(buf: FlatBuffer) -> TFLiteGraph:
    model = buf.root("Model")
    version = model.scalar(0, U32, 0)
    opcodes = tuple(_opcode(t) for t in model.tables(1, "Model.operator_codes"))
    has_data = tuple(_buffer_has_data(t, i, buf.size) for i, t in enumerate(model.tables(4, "Model.buffers")))
    subgraph_tables = model.tables(2, "Model.subgraphs")
    if not subgraph_tables:
        raise ModelFileError("expected at least one subgraph, got none")
    subgraphs = tuple(_subgraph(t, i, len(opcodes), has_data, buf.size) for i, t in enumerate(subgraph_tables))
    description = model.string(3, "Model.description") or ""

    # Not part of the graph, but LiteRT follows these too: verify them.
    nbuf = len(has_data)
    _check_range(model.scalars(5, "i", "Model.metadata_buffer"), 0, nbuf, "Model.metadata_buffer", "buffer")
    names = []
    for meta in model.tables(6, "Model.metadata"):
        name = meta.string(0, "Metadata.name")
        _check_range((meta.scalar(1, U32, 0),), 0, nbuf, f"metadata {(name or '')[:80]!r}", "buffer")
        names.append(name or "")
    for sig in model.tables(7, "Model.signature_defs"):
        key = (sig.string(2, "SignatureDef.signature_key") or "")[:80]
        index = sig.scalar(4, U32, 0)
        _check_range((index,), 0, len(subgraphs), f"signature {key!r}", "subgraph")
        for tmap in sig.tables(0, "SignatureDef.inputs") + sig.tables(1, "SignatureDef.outputs"):
            tmap.string(0, "TensorMap.name")
            ntensors = len(subgraphs[index].tensors)
            _check_range((tmap.scalar(1, U32, 0),), 0, ntensors, f"signature {key!r}", "tensor")
    return TFLiteGraph(version, description, subgraphs, opcodes, nbuf, has_data, tuple(names))


def _opcode(t: Table) -> OpCode:
    # Codes above 127 live in builtin_code; older files only set the int8
    # deprecated_builtin_code. The real code is the larger (schema_utils.cc).
    code = max(t.scalar(0, I8, 0), t.scalar(3, I32, 0))
    custom = t.string(1, "OperatorCode.custom_code")
    return OpCode(BUILTIN_OPS.get(code, f"UNKNOWN_{code}"), custom, t.scalar(2, I32, 1))


def _buffer_has_data(t: Table, index: int, file_size: int) -> bool:
    inline = t.vector_length(0, 1, "Buffer.data")  # length only: weights are not read
    offset, size = t.scalar(1, U64, 0), t.scalar(2, U64, 0)
    if offset > 1:  # data stored after the flatbuffer (models > 2 GB); 1 is a placeholder
        if offset + size > file_size:
            raise ModelFileError(f"expected buffer {index} (offset {offset}, size {size}) inside the "
                                 f"{file_size}-byte file, got its end at {offset + size}")
        return size > 0 or inline > 0
    return inline > 0


def _subgraph(t: Table, index: int, nopcodes: int, has_data: tuple[bool, ...], file_size: int) -> Subgraph:
    tensors = tuple(_tensor(tt, has_data) for tt in t.tables(0, "SubGraph.tensors"))
    n = len(tensors)
    inputs = t.scalars(1, "i", "SubGraph.inputs")
    outputs = t.scalars(2, "i", "SubGraph.outputs")
    _check_range(inputs, 0, n, f"subgraph {index} inputs", "tensor")
    _check_range(outputs, 0, n, f"subgraph {index} outputs", "tensor")
    operators = tuple(_operator(ot, nopcodes, n, file_size) for ot in t.tables(3, "SubGraph.operators"))
    return Subgraph(t.string(4, "SubGraph.name") or "", tensors, inputs, outputs, operators)


def _tensor(t: Table, has_data: tuple[bool, ...]) -> Tensor:
    name = t.string(3, "Tensor.name") or ""
    shape = t.scalars(0, "i", "Tensor.shape")
    code = t.scalar(1, I8, 0)
    buffer = t.scalar(2, U32, 0)
    if buffer >= len(has_data):
        raise ModelFileError(f"expected tensor {name[:80]!r} to use a buffer below {len(has_data)}, got buffer {buffer}")
    dtype = TENSOR_TYPES.get(code, f"unknown_{code}")
    qt = t.table(4, "Tensor.quantization")
    quant = _quant(qt, name[:80], len(shape)) if qt is not None else None
    if quant is not None:
        _check_quant_values(quant, dtype, name[:80])
    t.table(6, "Tensor.sparsity")  # bounds only; sparse weights are not decoded here
    signature = t.scalars(7, "i", "Tensor.shape_signature") if t.has(7) else None
    is_variable = t.scalar(5, U8, 0) != 0
    return Tensor(name, shape, signature, dtype, quant, buffer, is_variable, buffer > 0 and has_data[buffer])


def _quant(t: Table, tensor: str, rank: int) -> Quant | None:
    t.vector_length(0, 4, "QuantizationParameters.min")
    t.vector_length(1, 4, "QuantizationParameters.max")
    t.table(5, "QuantizationParameters.details")
    scale = t.scalars(2, "f", "QuantizationParameters.scale")
    zero_point = t.scalars(3, "q", "QuantizationParameters.zero_point")
    dim = t.scalar(6, I32, 0)
    if not scale:  # converters write an empty table for float tensors
        return None
    if not zero_point:
        zero_point = (0,) * len(scale)
    if len(zero_point) != len(scale):
        raise ModelFileError(f"expected as many zero points as scales for tensor {tensor!r}, "
                             f"got {len(zero_point)} and {len(scale)}")
    if len(scale) > 1 and not 0 <= dim < rank:
        raise ModelFileError(f"expected a quantized dimension below rank {rank} for tensor {tensor!r}, got {dim}")
    return Quant(scale, zero_point, dim)


#: Zero points must be representable in the tensor's own type. int32/int64 (biases) are not checked,
#: nor is TFLite's own rule that int8 per-channel weights have zero point 0: LiteRT enforces that itself.
ZERO_POINT_RANGE = {"uint8": (0, 255), "int8": (-128, 127), "int16": (-32768, 32767)}


def _check_quant_values(quant: Quant, dtype: str, tensor: str) -> None:
    """Reject quantisation values LiteRT does not check before using them.

    A QUANTIZE op with a zero, negative, NaN or infinite scale, or a uint8 input
    whose zero point is 300, kills the process inside ``allocate_tensors()``
    (segfault, not an exception). Float tensors are skipped: kernels ignore
    their quantisation parameters.
    """
    if dtype in FLOAT_DTYPES:
        return
    for s in quant.scale:
        if not (math.isfinite(s) and s > 0):
            raise ModelFileError(f"expected finite positive quantisation scales for tensor {tensor!r}, got {s:g}")
    bounds = ZERO_POINT_RANGE.get(dtype)
    if bounds is not None:
        low, high = bounds
        for z in quant.zero_point:
            if not low <= z <= high:
                raise ModelFileError(f"expected {dtype} zero points within [{low}, {high}] "
                                     f"for tensor {tensor!r}, got {z}")


def _operator(t: Table, nopcodes: int, ntensors: int, file_size: int) -> Operator:
    opcode_index = t.scalar(0, U32, 0)
    if opcode_index >= nopcodes:
        raise ModelFileError(f"expected an operator code index below {nopcodes}, got {opcode_index}")
    inputs = t.scalars(1, "i", "Operator.inputs")
    outputs = t.scalars(2, "i", "Operator.outputs")
    # LiteRT accepts -1 (absent) in any operand list: optional inputs, unused outputs.
    _check_range(inputs, _OPTIONAL, ntensors, "operator inputs", "tensor")
    _check_range(outputs, _OPTIONAL, ntensors, "operator outputs", "tensor")
    _check_range(t.scalars(8, "i", "Operator.intermediates"), _OPTIONAL, ntensors, "operator intermediates", "tensor")
    # Bounds only for the rest: options are decoded by whoever needs them.
    t.table(4, "Operator.builtin_options")
    t.table(12, "Operator.builtin_options_2")
    t.vector_length(5, 1, "Operator.custom_options")
    t.vector_length(7, 1, "Operator.mutating_variable_inputs")
    offset, size = t.scalar(9, U64, 0), t.scalar(10, U64, 0)
    if offset > 1 and offset + size > file_size:
        raise ModelFileError(f"expected large custom options (offset {offset}, size {size}) inside the "
                             f"{file_size}-byte file, got their end at {offset + size}")
    return Operator(opcode_index, inputs, outputs)


def _check_range(indices: tuple[int, ...], low: int, high: int, where: str, kind: str) -> None:
    if indices and (min(indices) < low or max(indices) >= high):
        bad = next(i for i in indices if not low <= i < high)
        raise ModelFileError(f"expected {kind} indices in {where} within [{low}, {high}), got {bad}")
