"""The model a user hands to ``edgevision convert``: what kind it is, its input, and how to run it as a reference.

Kinds: Keras (``.keras``, ``.h5``), a TensorFlow SavedModel directory, ONNX,
a TF1 frozen graph (``.pb``) and ``.tflite``. The input shape is read from the
file; a dynamic one must be pinned with ``input_shape`` (``--input-shape``).
The source also runs as a ``Backend``, so fidelity compares the artifacts with
it through the very preprocessing and decoding the runtime uses.

Example:
    >>> src = open_source_model("model.keras", workdir=tmp)      # doctest: +SKIP
    >>> src.kind, src.input_shape, src.layout                   # doctest: +SKIP
    ('keras', (1, 224, 224, 3), 'NHWC')
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import Backend, TensorSpec
from ..errors import ModelFileError, UserInputError
from .base import SourceModel

KIND_BY_SUFFIX = {".keras": "keras", ".h5": "keras", ".hdf5": "keras", ".onnx": "onnx", ".pb": "tf-frozen",
                  ".tflite": "tflite"}
EXPECTED = "a Keras .keras/.h5, a SavedModel directory, an .onnx, a frozen .pb or a .tflite"


def source_kind(path: Path) -> str:
    """The kind of source model at ``path``, from its suffix (a directory must hold saved_model.pb)."""
    if not path.exists():
        raise ModelFileError(f"expected {EXPECTED}, got missing path {str(path)!r}")
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return "savedmodel"
        raise ModelFileError(f"expected a SavedModel directory (with saved_model.pb), got {str(path)!r}")
    kind = KIND_BY_SUFFIX.get(path.suffix.lower())
    if kind is None:
        raise ModelFileError(f"expected {EXPECTED}, got {path.name!r}")
    return kind


def _layout(shape: Sequence[int | None]) -> str:
    if len(shape) != 4:
        raise UserInputError(f"expected a 4-D image input (NHWC or NCHW), got shape {_fmt(shape)}")
    if shape[-1] in (1, 3) or shape[1] not in (1, 3):
        return "NHWC"
    return "NCHW"


def _fmt(shape: Sequence[int | None]) -> str:
    return "[" + ", ".join("?" if d in (None, -1) or isinstance(d, str) else str(d) for d in shape) + "]"


def pin_shape(declared: Sequence[Any], given: Sequence[int] | None, where: str) -> tuple[tuple[int, ...], bool]:
    """(static batch-1 shape, whether the file's shape was dynamic beyond the batch)."""
    declared = [None if (d is None or isinstance(d, str) or (isinstance(d, int) and d < 0)) else int(d)
                for d in declared]
    dynamic = any(d is None for d in declared[1:])
    if given is not None:
        given = tuple(int(v) for v in given)
        if len(given) != len(declared) or any(d is not None and d != g for d, g in zip(declared[1:], given[1:])):
            raise UserInputError(f"expected --input-shape to fit {where}'s input {_fmt(declared)}, got {list(given)}")
        if given[0] != 1:
            raise UserInputError(f"expected batch 1 in --input-shape (edge targets run one frame at a time), got {given[0]}")
        return given, dynamic
    if dynamic:
        raise UserInputError(f"expected a static input shape, got {where}'s dynamic input {_fmt(declared)}: "
                             f"pass --input-shape, e.g. 1x224x224x3 (every target needs a static shape)")
    return (1, *declared[1:]), False


def open_source_model(path: str | Path, *, workdir: str | Path,
                      input_shape: Sequence[int] | None = None) -> SourceModel:
    """Read a source model's input and outputs; ``input_shape`` pins a dynamic input (batch must be 1)."""
    path = Path(path)
    kind = source_kind(path)
    reader = {"keras": _read_keras, "savedmodel": _read_savedmodel, "onnx": _read_onnx,
              "tf-frozen": _read_frozen, "tflite": _read_tflite}[kind]
    name, declared, outputs, *typed = reader(path)
    dtype, quant = typed if typed else ("float32", None)
    shape, dynamic = pin_shape(declared, input_shape, path.name)
    return SourceModel(path=path, kind=kind, input_name=name, input_shape=shape, layout=_layout(shape),
                       output_names=tuple(outputs), workdir=Path(workdir), dynamic=dynamic, input_dtype=dtype,
                       input_quant=quant)


def _read_keras(path: Path) -> tuple:
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # noqa: BLE001 - Keras raises ValueError, OSError, TypeError... for a file it cannot read
        first = str(e).splitlines()[0][:200]
        raise ModelFileError(f"expected a Keras model Keras can load, got {path.name!r}: {first}") from None
    if len(model.inputs) != 1:
        raise UserInputError(f"expected a model with one image input, got {len(model.inputs)} inputs in {path.name}")
    inp = model.inputs[0]
    return inp.name.split(":")[0], list(inp.shape), [o.name.split(":")[0] for o in model.outputs]


def _read_savedmodel(path: Path) -> tuple:
    import tensorflow as tf

    try:
        fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    except (KeyError, OSError, ValueError) as e:
        raise ModelFileError(f"expected a SavedModel with a serving_default signature, got {path.name!r}: {e}") from None
    specs = fn.structured_input_signature[1]
    if len(specs) != 1:
        raise UserInputError(f"expected a model with one image input, got {len(specs)} inputs in {path.name}")
    (name, spec), = specs.items()
    return name, spec.shape.as_list(), sorted(fn.structured_outputs), spec.dtype.name, None


def _read_onnx(path: Path) -> tuple:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - onnx raises protobuf's DecodeError and others
        raise ModelFileError(f"expected an ONNX model, got {path.name!r} that onnx cannot parse ({type(e).__name__})") from None
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise UserInputError(f"expected a model with one image input, got {len(inputs)} inputs in {path.name}")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    dtype = onnx.helper.tensor_dtype_to_np_dtype(inputs[0].type.tensor_type.elem_type).name
    return inputs[0].name, dims, [o.name for o in model.graph.output], dtype, None


def _read_frozen(path: Path) -> tuple:
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    try:
        graph.ParseFromString(path.read_bytes())
    except Exception:  # noqa: BLE001 - protobuf's DecodeError, not importable by a stable name
        raise ModelFileError(f"expected a TF1 frozen graph (GraphDef .pb), got {path.name!r} that does not parse") from None
    placeholders = [n for n in graph.node if n.op == "Placeholder"]
    if len(placeholders) != 1:
        raise UserInputError(f"expected a frozen graph with one Placeholder input, got {len(placeholders)} in {path.name}")
    node = placeholders[0]
    dims = [d.size if d.size >= 0 else None for d in node.attr["shape"].shape.dim] if "shape" in node.attr else []
    consumed = {i.split(":")[0].lstrip("^") for n in graph.node for i in n.input}
    outputs = [n.name for n in graph.node if n.name not in consumed and n.op not in ("Const", "NoOp", "Placeholder")]
    dtype = tf.dtypes.as_dtype(node.attr["dtype"].type).name if "dtype" in node.attr else "float32"
    return node.name, dims or [None, None, None, None], outputs, dtype, None


def _read_tflite(path: Path) -> tuple:
    from ..formats.tflite import read_tflite

    model = read_tflite(path)
    graph = model.subgraphs[0]
    if len(graph.inputs) != 1:
        raise UserInputError(f"expected a model with one image input, got {len(graph.inputs)} inputs in {path.name}")
    t = graph.tensors[graph.inputs[0]]
    sig = list(t.shape_signature or t.shape)
    q = t.quantization
    quant = (float(q.scale[0]), int(q.zero_point[0])) if q is not None and t.dtype in ("uint8", "int8") else None
    return t.name, sig, [graph.tensors[i].name for i in graph.outputs], t.dtype, quant


class ReferenceBackend(Backend):
    """The source model itself, behind the runtime's Backend interface, on the host CPU.

    Its input is the source's own: float32, or the uint8 of a TF OD API ``image_tensor``, or a quantised
    ``.tflite``'s integer input with its scale and zero point, so preprocessing feeds it as the artifacts are fed.
    """

    name = "reference"
    suffixes = ()

    def __init__(self, source: SourceModel) -> None:
        self.path = source.path
        self.device = "CPU"
        self.threads = None
        self.source = source
        self._buffer = np.zeros(source.input_shape, np.dtype(source.input_dtype))
        self._run = _REFERENCE_RUNNERS[source.kind](source)
        outs = self._run(self._buffer)
        self.inputs = [TensorSpec(source.input_name, tuple(source.input_shape), np.dtype(source.input_dtype),
                                  source.input_quant)]
        self.outputs = [TensorSpec(n, tuple(o.shape), o.dtype) for n, o in zip(source.output_names, outs)]

    def input_buffer(self) -> np.ndarray:
        return self._buffer

    def infer(self) -> list[np.ndarray]:
        return self._run(self._buffer)

    def info(self) -> dict[str, Any]:
        return {"backend": "reference", "version": self.source.kind, "device": "CPU", "threads": None}


def _keras_runner(source: SourceModel):
    import tensorflow as tf

    model = source.keras()
    fn = tf.function(lambda x: model(x, training=False),
                     input_signature=[tf.TensorSpec(source.input_shape, tf.as_dtype(source.input_dtype))])

    def run(x: np.ndarray) -> list[np.ndarray]:
        out = fn(x)
        return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]

    return run


def _savedmodel_runner(source: SourceModel):
    import tensorflow as tf

    fn = tf.saved_model.load(str(source.path)).signatures["serving_default"]

    def run(x: np.ndarray) -> list[np.ndarray]:
        out = fn(**{source.input_name: tf.constant(x)})
        return [np.asarray(out[k]) for k in source.output_names]

    return run


def _onnx_runner(source: SourceModel):
    import onnxruntime as ort

    session = ort.InferenceSession(str(source.path), providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {source.input_name: x})


def _frozen_runner(source: SourceModel):
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(source.path.read_bytes())
    fn = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph, name=""), [])
    pruned = fn.prune(fn.graph.get_tensor_by_name(f"{source.input_name}:0"),
                      [fn.graph.get_tensor_by_name(f"{n}:0") for n in source.output_names])
    return lambda x: [np.asarray(o) for o in pruned(tf.constant(x))]


def _tflite_runner(source: SourceModel):
    from ..backends import open_backend

    be = open_backend(source.path, backend="litert", threads=None)
    return lambda x: [np.array(o) for o in be.run(x)]


_REFERENCE_RUNNERS = {"keras": _keras_runner, "savedmodel": _savedmodel_runner, "onnx": _onnx_runner,
                      "tf-frozen": _frozen_runner, "tflite": _tflite_runner}
