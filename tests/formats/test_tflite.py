"""Tests for edgevision/formats/tflite.py: the pure-Python .tflite reader.

Real models are built with TensorFlow in a module-scoped fixture (marked
``slow``: TF import plus two conversions take a few seconds); the reader is
checked against LiteRT's own interpreter. Hand-made flatbuffers (LiteRT's
schema object API) cover the index checks, data stored after the flatbuffer,
and forged files that would cost quadratic time.
"""
from __future__ import annotations

import random
import struct
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from edgevision.errors import ModelFileError
from edgevision.formats.tflite import TFLiteGraph, read_tflite, summary

flatbuffers = pytest.importorskip("flatbuffers")
schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
Interpreter = pytest.importorskip("ai_edge_litert.interpreter").Interpreter


# ---------------------------------------------------------------- models


@pytest.fixture(scope="module")
def keras_models() -> dict[str, bytes]:
    """fp32 and full-integer (uint8 in/out) conversions of a small Conv+ReLU+pool+Dense model."""
    tf = pytest.importorskip("tensorflow")
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tf.keras.Input((16, 16, 3)),
        tf.keras.layers.Conv2D(8, 3, activation="relu"),
        tf.keras.layers.MaxPooling2D(),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(4),
    ])
    fp32 = tf.lite.TFLiteConverter.from_keras_model(model).convert()

    rng = np.random.default_rng(0)

    def representative():
        for _ in range(8):
            yield [rng.random((1, 16, 16, 3), dtype=np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.uint8
    with warnings.catch_warnings():  # "Statistics for quantized inputs were expected": uint8 input is intended
        warnings.simplefilter("ignore", UserWarning)
        int8 = conv.convert()
    return {"fp32": fp32, "int8": int8}


def _pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _fc_model(n_in: int = 16, n_out: int = 4, *, external: bool = False):
    """A one-FULLY_CONNECTED model as a mutable ModelT, and its weights.

    With ``external`` the weights are stored after the flatbuffer
    (``Buffer.offset/size``, as for models over 2 GB); see ``_fc_bytes``.
    """
    m = schema.ModelT()
    m.version, m.description = 3, "test"
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.FULLY_CONNECTED
    code.version = 1
    m.operatorCodes = [code]
    weights = np.random.default_rng(0).standard_normal((n_out, n_in)).astype(np.float32)
    empty, data = schema.BufferT(), schema.BufferT()
    if external:
        data.offset, data.size = 2**40, weights.nbytes  # placeholder: fixed by _fc_bytes
    else:
        data.data = weights.view(np.uint8).ravel()
    m.buffers = [empty, data]

    def tensor(name, shape, buffer):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, list(shape), schema.TensorType.FLOAT32, buffer
        return t

    sub = schema.SubGraphT()
    sub.tensors = [tensor("x", (1, n_in), 0), tensor("w", (n_out, n_in), 1), tensor("y", (1, n_out), 0)]
    sub.inputs, sub.outputs = [0], [2]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, -1], [2]  # -1: no bias
    op.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
    op.builtinOptions = schema.FullyConnectedOptionsT()
    sub.operators = [op]
    m.subgraphs = [sub]
    return m, weights


def _fc_bytes(m, weights: np.ndarray) -> bytes:
    """Pack ``m``; if its weight buffer is external, append the weights after the flatbuffer."""
    if len(m.buffers) < 2 or not m.buffers[1].offset:
        return _pack(m)
    data = m.buffers[1]
    size = len(_pack(m))
    data.offset = (size + 63) // 64 * 64  # same packed size: the u64 field stays present
    packed = _pack(m)
    assert len(packed) == size
    return packed + bytes(data.offset - size) + weights.tobytes()


def _fanout(n_subgraphs: int, n_tensors: int) -> bytes:
    """A forged model: n_subgraphs entries all pointing at one subgraph whose
    n_tensors entries all point at one (empty) table. Structurally valid, but a
    naive reader does n_subgraphs * n_tensors work on a file of ~4 * (n + m) bytes."""
    sg_vec = 36
    sg_vt = sg_vec + 4 + 4 * n_subgraphs
    sg = sg_vt + 8
    t_vec = sg + 8
    b_vec = t_vec + 4 + 4 * n_tensors
    e_vt = b_vec + 8
    empty = e_vt + 4
    buf = bytearray(empty + 4)
    struct.pack_into("<I4s", buf, 0, 24, b"TFL3")
    struct.pack_into("<7H", buf, 8, 14, 12, 0, 0, 4, 0, 8)  # Model: subgraphs @4, buffers @8
    struct.pack_into("<iII", buf, 24, 24 - 8, sg_vec - 28, b_vec - 32)
    struct.pack_into("<I", buf, sg_vec, n_subgraphs)
    for j in range(n_subgraphs):
        struct.pack_into("<I", buf, sg_vec + 4 + 4 * j, sg - (sg_vec + 4 + 4 * j))
    struct.pack_into("<3H", buf, sg_vt, 6, 8, 4)  # SubGraph: tensors @4
    struct.pack_into("<iI", buf, sg, 8, t_vec - (sg + 4))
    struct.pack_into("<I", buf, t_vec, n_tensors)
    for j in range(n_tensors):
        struct.pack_into("<I", buf, t_vec + 4 + 4 * j, empty - (t_vec + 4 + 4 * j))
    struct.pack_into("<II", buf, b_vec, 1, empty - (b_vec + 4))  # one empty buffer
    struct.pack_into("<HHi", buf, e_vt, 4, 4, 4)
    return bytes(buf)


# ---------------------------------------------------------------- agreement with LiteRT


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_graph_matches_litert_interpreter(keras_models, kind):
    content = keras_models[kind]
    graph = read_tflite(content)
    interp = Interpreter(model_content=content)
    main = graph.subgraphs[0]

    details = interp.get_tensor_details()
    assert len(details) == len(main.tensors)
    for d in details:
        t = main.tensors[d["index"]]
        assert t.name == d["name"]
        assert t.shape == tuple(d["shape"])
        assert (t.shape_signature or t.shape) == tuple(d["shape_signature"])
        assert t.dtype == np.dtype(d["dtype"]).name
        params = d["quantization_parameters"]
        if t.quantization is None:
            assert len(params["scales"]) == 0
        else:
            np.testing.assert_allclose(t.quantization.scale, params["scales"], rtol=1e-7)
            assert t.quantization.zero_point == tuple(params["zero_points"])
            assert t.quantization.quantized_dimension == params["quantized_dimension"]

    for mine, theirs in ((graph.inputs, interp.get_input_details()), (graph.outputs, interp.get_output_details())):
        assert [t.name for t in mine] == [d["name"] for d in theirs]
        assert [t.shape for t in mine] == [tuple(d["shape"]) for d in theirs]
        assert [t.dtype for t in mine] == [np.dtype(d["dtype"]).name for d in theirs]
        for t, d in zip(mine, theirs):
            q = (t.quantization.scale[0], t.quantization.zero_point[0]) if t.quantization else (0.0, 0)
            assert q == pytest.approx(d["quantization"])

    ops = interp._get_ops_details()
    assert [graph.op_name(op) for op in main.operators] == [d["op_name"] for d in ops]
    assert [op.inputs for op in main.operators] == [tuple(d["inputs"]) for d in ops]
    assert [op.outputs for op in main.operators] == [tuple(d["outputs"]) for d in ops]


@pytest.mark.slow
def test_summary_of_int8_and_fp32_models(keras_models):
    s8 = summary(read_tflite(keras_models["int8"]))
    assert s8["fully_quantized"] is True
    assert s8["float_ops"] == 0 and s8["int_ops"] > 0
    assert s8["boundary_ops"] == {"QUANTIZE": 2}
    (inp,) = s8["inputs"]
    assert inp["dtype"] == "uint8" and inp["shape"] == [1, 16, 16, 3] and inp["shape_signature"] == [-1, 16, 16, 3]
    assert set(inp["quantization"]) == {"scale", "zero_point"}
    assert {"CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "QUANTIZE"} <= set(s8["ops"])
    assert list(s8["ops"].values()) == sorted(s8["ops"].values(), reverse=True)

    s32 = summary(read_tflite(keras_models["fp32"]))
    assert s32["fully_quantized"] is False
    assert s32["float_ops"] >= 3 and s32["boundary_ops"] == {}
    assert s32["inputs"][0]["dtype"] == "float32" and "quantization" not in s32["inputs"][0]


@pytest.mark.slow
def test_per_channel_weights_and_constants(keras_models):
    main = read_tflite(keras_models["int8"]).subgraphs[0]
    conv_weights = next(t for t in main.tensors if t.shape == (8, 3, 3, 3))
    assert conv_weights.is_constant and conv_weights.dtype == "int8"
    assert conv_weights.quantization.per_channel and len(conv_weights.quantization.scale) == 8
    assert not any(main.tensors[i].is_constant for i in main.inputs)


# ---------------------------------------------------------------- malformed input


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_every_prefix_is_rejected(keras_models, kind):
    content = keras_models[kind]
    for cut in range(len(content)):  # includes cuts inside the 8-byte header
        with pytest.raises(ModelFileError):
            read_tflite(content[:cut])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_truncated_file_on_disk_is_rejected(keras_models, kind, tmp_path):
    content = keras_models[kind]
    for fraction in (0.5, 0.9, 0.99):
        path = tmp_path / f"cut{fraction}.tflite"
        path.write_bytes(content[: int(len(content) * fraction)])
        with pytest.raises(ModelFileError):
            read_tflite(path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_flipped_bytes_parse_or_raise_model_file_error(keras_models, kind):
    content = keras_models[kind]
    rng = random.Random(1234)
    outcomes = {"graph": 0, "error": 0}
    for _ in range(200):
        mutated = bytearray(content)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            graph = read_tflite(bytes(mutated))
        except ModelFileError:
            outcomes["error"] += 1
        else:
            assert isinstance(graph, TFLiteGraph)
            summary(graph)  # a graph that verified is safe to summarise
            outcomes["graph"] += 1
    assert outcomes["error"] > 0


@pytest.mark.parametrize("size", [0, 1, 7, 8, 9, 64, 4096, 1 << 20])
@pytest.mark.parametrize("forge", [False, True])
def test_random_bytes_are_rejected(size, forge):
    for seed in range(5):
        data = bytearray(random.Random(seed * 7919 + size).randbytes(size))
        if forge and size >= 8:
            data[4:8] = b"TFL3"
        with pytest.raises(ModelFileError):
            read_tflite(bytes(data))


def test_wrong_identifier_message():
    with pytest.raises(ModelFileError, match=r"expected a TFLite flatbuffer \(identifier TFL3\), got b'ONNX'"):
        read_tflite(b"\x10\x00\x00\x00ONNX" + bytes(32))


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(ModelFileError, match="expected a .tflite file, got missing path"):
        read_tflite(tmp_path / "nope.tflite")
    with pytest.raises(ModelFileError):
        read_tflite(str(tmp_path))


def test_shared_references_cannot_cost_quadratic_time():
    assert len(read_tflite(_fanout(1, 5000)).subgraphs[0].tensors) == 5000  # the shape itself is valid
    forged = _fanout(5000, 5000)  # 40 kB; 25 million tensor reads if followed naively
    start = time.perf_counter()
    with pytest.raises(ModelFileError, match="more references than bytes"):
        read_tflite(forged)
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------- index checks (hand-made models)


def test_hand_made_model_reads_and_runs():
    m, weights = _fc_model()
    content = _fc_bytes(m, weights)
    graph = read_tflite(content)
    assert graph.description == "test" and graph.num_buffers == 2 and graph.buffer_has_data == (False, True)
    x, w, y = graph.subgraphs[0].tensors
    assert (x.is_constant, w.is_constant, y.is_constant) == (False, True, False)
    assert graph.subgraphs[0].operators[0].inputs == (0, 1, -1)
    assert summary(graph)["ops"] == {"FULLY_CONNECTED": 1}
    Interpreter(model_content=content).allocate_tensors()


def test_weights_stored_after_the_flatbuffer():
    m, weights = _fc_model(external=True)
    content = _fc_bytes(m, weights)
    interp = Interpreter(model_content=content)  # LiteRT reads it too
    interp.allocate_tensors()
    x = np.ones((1, 16), np.float32)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    np.testing.assert_allclose(interp.get_tensor(interp.get_output_details()[0]["index"]), x @ weights.T, rtol=1e-4)

    assert read_tflite(content).subgraphs[0].tensors[1].is_constant
    with pytest.raises(ModelFileError, match=r"expected buffer 1 \(offset \d+, size 256\) inside"):
        read_tflite(content[:-1])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda m: setattr(m.subgraphs[0].operators[0], "opcodeIndex", 1), "operator code index below 1"),
        (lambda m: setattr(m.subgraphs[0].tensors[1], "buffer", 2), "buffer below 2, got buffer 2"),
        (lambda m: setattr(m.subgraphs[0].operators[0], "inputs", [0, 3, -1]), "tensor indices in operator inputs"),
        (lambda m: setattr(m.subgraphs[0].operators[0], "outputs", [-2]), "tensor indices in operator outputs"),
        (lambda m: setattr(m.subgraphs[0], "outputs", [-1]), "tensor indices in subgraph 0 outputs"),
        (lambda m: setattr(m.subgraphs[0], "inputs", [3]), "tensor indices in subgraph 0 inputs"),
        (lambda m: setattr(m, "subgraphs", []), "at least one subgraph"),
        (lambda m: setattr(m, "buffers", []), "buffer below 0"),
    ],
)
def test_out_of_range_indices_are_rejected(mutate, message):
    m, weights = _fc_model()
    mutate(m)
    with pytest.raises(ModelFileError, match=message):
        read_tflite(_fc_bytes(m, weights))


def test_op_names_from_old_and_custom_opcodes():
    m, weights = _fc_model()
    old = schema.OperatorCodeT()
    old.deprecatedBuiltinCode, old.builtinCode = schema.BuiltinOperator.CONV_2D, 0  # pre-2.3 files
    new = schema.OperatorCodeT()
    new.deprecatedBuiltinCode, new.builtinCode = 127, schema.BuiltinOperator.BROADCAST_TO  # code > 127
    custom = schema.OperatorCodeT()
    custom.builtinCode = custom.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    custom.customCode, custom.version = "TFLite_Detection_PostProcess", 2
    m.operatorCodes += [old, new, custom]
    codes = read_tflite(_fc_bytes(m, weights)).operator_codes
    assert [c.name for c in codes] == ["FULLY_CONNECTED", "CONV_2D", "BROADCAST_TO", "TFLite_Detection_PostProcess"]
    assert (codes[3].builtin, codes[3].custom, codes[3].version) == ("CUSTOM", "TFLite_Detection_PostProcess", 2)


# ---------------------------------------------------------------- speed and imports


def test_14mb_model_verifies_fast(tmp_path):
    m, weights = _fc_model(1792, 2048)  # 14.7 MB of float32 weights
    content = _fc_bytes(m, weights)
    path = tmp_path / "big.tflite"
    path.write_bytes(content)
    assert len(content) > 14_000_000
    for source in (path, content):
        best = min(_timed(read_tflite, source) for _ in range(5))
        assert best < 0.05, f"{best * 1e3:.1f} ms for {len(content) / 1e6:.1f} MB"


def _timed(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def test_import_pulls_in_neither_tensorflow_nor_flatbuffers():
    code = (
        "import sys, edgevision.formats.tflite; "
        "print([m for m in ('tensorflow', 'flatbuffers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
