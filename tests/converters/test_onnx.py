"""ONNXConverter on the conftest's classifier, YOLO head and segmenter: real conversions, loaded through
``edgevision.load`` (ONNX Runtime) and compared with the Keras model on the calibration tensors.

As in test_openvino.py, the untrained YOLO head's scores are all near-ties (0.50-0.56): its int8 check is on
raw boxes, scores and non-tie classes, not mAP.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import edgevision
from edgevision.converters import SourceModel, get_converter
from edgevision.errors import ConversionError, ModelError, ModelFileError

pytestmark = pytest.mark.slow
TASKS = {"classifier": "classification", "yolo": "detection", "segmenter": "segmentation"}


@pytest.fixture(scope="session")
def sources(keras_sources):
    """The conftest sources, the YOLO one with its Keras model cached (its ``Head`` layer is function-local in
    tests/_models.py, so ``keras.models.load_model`` cannot rebuild it from the .keras file)."""
    import _models

    yolo = keras_sources["yolo"]
    rebuilt = dataclasses.replace(yolo, _cache={"keras": _models.yolo_detector(), **yolo._cache})
    return {**keras_sources, "yolo": rebuilt}


@pytest.fixture(scope="session")
def reference(sources, calibration):
    return {kind: [np.asarray(src.keras()(x, training=False)) for x in calibration] for kind, src in sources.items()}


@pytest.fixture(scope="session")
def onnx_models(sources, calibration, tmp_path_factory):
    """{(kind, precision): ConvertOutput} for every test model at fp32, fp16 and int8 for jetson-orin."""
    from edgevision.converters import ConvertJob
    from edgevision.targets import load_target

    root, built, target = tmp_path_factory.mktemp("onnx"), {}, load_target("jetson-orin")
    for kind, src in sources.items():
        for precision in ("fp32", "fp16", "int8"):
            job = ConvertJob(source=src, target=target, precision=precision, calibration=calibration, outdir=root,
                             stem=f"{kind}_jetson-orin_{precision}")
            built[kind, precision] = get_converter("onnx").convert(job)
    return built


def run(path, kind, tensors):
    model = edgevision.load(path, task=TASKS[kind], size=(64, 64), threads=1)
    return [model.infer_raw(x)[0] for x in tensors]


@pytest.mark.parametrize("kind", list(TASKS))
@pytest.mark.parametrize("precision, atol, rtol", [("fp32", 1e-4, 0), ("fp16", 1e-2, 1e-3)])
def test_float_onnx_matches_keras(onnx_models, reference, calibration, kind, precision, atol, rtol):
    """fp16 computes in float16: the YOLO boxes (up to 64 px) carry its 11-bit mantissa, hence rtol."""
    got = run(onnx_models[kind, precision].file, kind, calibration)
    np.testing.assert_allclose(np.stack(got), np.stack(reference[kind]), atol=atol, rtol=rtol)


def test_fp16_keeps_float32_io_and_stores_float16_weights(onnx_models):
    import onnx

    model = onnx.load(str(onnx_models["segmenter", "fp16"].file))
    assert {t.type.tensor_type.elem_type for t in [*model.graph.input, *model.graph.output]} == {onnx.TensorProto.FLOAT}
    weights = [i for i in model.graph.initializer if len(i.dims) == 4]
    assert weights and all(w.data_type == onnx.TensorProto.FLOAT16 for w in weights)
    assert onnx_models["segmenter", "fp16"].converter["keep_io_types"] is True


def test_int8_classifier_keeps_top1(onnx_models, reference, calibration):
    got = run(onnx_models["classifier", "int8"].file, "classifier", calibration)
    agreement = np.mean([np.argmax(g) == np.argmax(r) for g, r in zip(got, reference["classifier"])])
    assert agreement >= 0.99, agreement


def test_int8_yolo_boxes_scores_and_classes_stay_close(onnx_models, reference, calibration):
    got = np.stack(run(onnx_models["yolo", "int8"].file, "yolo", calibration))[:, 0]
    ref = np.stack(reference["yolo"])[:, 0]
    box_error, score_error = np.abs(got[:, :4] - ref[:, :4]).max(), np.abs(got[:, 4:] - ref[:, 4:]).max()
    assert box_error < 0.25 and score_error < 0.02, (box_error, score_error)  # measured: 0.043 px, 0.0063
    top2 = np.sort(ref[:, 4:], axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * score_error
    same = np.argmax(got[:, 4:], axis=1) == np.argmax(ref[:, 4:], axis=1)
    assert clear.sum() > 1000 and same[clear].mean() >= 0.99


def test_int8_segmenter_keeps_pixels_and_miou(onnx_models, sources):
    from edgevision.converters.metrics import mean_iou
    from edgevision.sources.shapes import shapes_scene

    rng = np.random.default_rng(5)
    scenes = [shapes_scene(rng, (64, 64), n_shapes=2, min_radius=0.12, max_radius=0.25) for _ in range(32)]
    tensors = [s.image[None].astype(np.float32) / 255.0 for s in scenes]
    truth = [s.mask[1::2, 1::2] for s in scenes]
    ref = [np.argmax(np.asarray(sources["segmenter"].keras()(x, training=False))[0], -1) for x in tensors]
    got = [np.argmax(o[0], -1) for o in run(onnx_models["segmenter", "int8"].file, "segmenter", tensors)]
    assert np.mean(np.stack(got) == np.stack(ref)) >= 0.99
    assert mean_iou(got, truth, 4) >= mean_iou(ref, truth, 4) - 0.01


@pytest.mark.parametrize("kind", list(TASKS))
def test_int8_is_symmetric_qdq_with_int8_weights_and_float_bias(onnx_models, kind):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_models[kind, "int8"].file))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    q = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    dq = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    assert q and dq
    for node in q + dq:
        zero_point = inits[node.input[2]]
        assert zero_point.dtype == np.int8 and not zero_point.any(), node.name  # symmetric: zero points 0
    # Every weighted op but the head reads int8 weights (per output channel) through a DequantizeLinear;
    # the head's stay float32; no int32 bias anywhere.
    producers = {o: n for n in model.graph.node for o in n.output}
    head = onnx_models[kind, "int8"].converter["float_nodes"]
    weighted = [n for n in model.graph.node if n.op_type in ("Conv", "MatMul", "Gemm")]
    assert len(head) == 1 and head[0] in {n.name for n in weighted} and len(weighted) > 1
    for op in weighted:
        if op.name in head:
            assert inits[op.input[1]].dtype == np.float32
            continue
        weight_dq = producers[op.input[1]]
        assert weight_dq.op_type == "DequantizeLinear" and inits[weight_dq.input[0]].dtype == np.int8
        assert inits[weight_dq.input[1]].size > 1  # per-channel scales
        assert all(i in inits and inits[i].dtype == np.float32 for i in op.input[2:])
    assert not [n for n in dq if inits.get(n.input[0], np.zeros(0, np.int8)).dtype == np.int32]
    c = onnx_models[kind, "int8"].converter
    assert (c["tool"], c["quant_format"], c["symmetric"]) == ("tf2onnx + onnxruntime.quantization", "QDQ", True)
    assert c["opset"] == 17
    assert c["calibration_samples"] == 32 and c["calibrate_method"] == "minmax"


def test_int8_file_is_under_a_third_of_fp32_for_a_model_with_real_weights(calibration, make_job, tmp_path):
    """The test models hold 1-3 K weights, fewer bytes than QDQ's per-node overhead; 242 K weights show the ratio."""
    import keras

    keras.utils.set_random_seed(3)
    inp = keras.Input((64, 64, 3), batch_size=1, name="images")
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(128, 3, padding="same", activation="relu")(x)
    model = keras.Model(inp, keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x)))
    src = SourceModel(path=tmp_path / "wide.keras", kind="keras", input_name="images", input_shape=(1, 64, 64, 3),
                      layout="NHWC", output_names=("out",), workdir=tmp_path, _cache={"keras": model})
    sizes = {p: get_converter("onnx").convert(make_job(src, "jetson-orin", p, calibration)).file.stat().st_size
             for p in ("fp32", "int8")}
    assert sizes["int8"] <= 0.3 * sizes["fp32"], sizes  # measured: 0.267


@pytest.fixture(scope="module")
def dynamic_onnx(sources, tmp_path_factory):
    """The classifier exported with a dynamic batch (dim_param), as PyTorch and tf2onnx users often ship it."""
    import tensorflow as tf
    import tf2onnx

    path = tmp_path_factory.mktemp("onnx_dyn") / "classifier_dyn.onnx"
    spec = (tf.TensorSpec((None, 64, 64, 3), tf.float32, name="images"),)
    proto, _ = tf2onnx.convert.from_keras(sources["classifier"].keras(), input_signature=spec, opset=13)
    path.write_bytes(proto.SerializeToString())
    return dataclasses.replace(sources["classifier"], path=path, kind="onnx", input_name="images", _cache={})


def test_passthrough_pins_a_dynamic_batch(dynamic_onnx, reference, calibration, make_job):
    import onnx

    declared = onnx.load(str(dynamic_onnx.path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert declared.dim_param and not declared.dim_value  # the file really is dynamic
    out = get_converter("onnx").convert(make_job(dynamic_onnx, "jetson-orin", "fp32"))
    model = onnx.load(str(out.file))
    def dims(t):
        return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.type.tensor_type.shape.dim]
    assert dims(model.graph.input[0]) == [1, 64, 64, 3] and dims(model.graph.output[0]) == [1, 5]
    assert out.converter["tool"] == "onnx passthrough" and out.converter["pinned_dims"] == {declared.dim_param: 1}
    got = run(out.file, "classifier", list(calibration)[:4])
    np.testing.assert_allclose(np.stack(got), np.stack(reference["classifier"][:4]), atol=1e-4, rtol=0)


def test_savedmodel_source_converts(sources, reference, calibration, make_job):
    src = dataclasses.replace(sources["classifier"], path=sources["classifier"].saved_model(), kind="savedmodel",
                              _cache={})
    out = get_converter("onnx").convert(make_job(src, "jetson-orin", "fp32"))
    assert out.converter["tool"] == "tf2onnx" and out.converter["opset"] == 17
    got = run(out.file, "classifier", list(calibration)[:4])
    np.testing.assert_allclose(np.stack(got), np.stack(reference["classifier"][:4]), atol=1e-4, rtol=0)


def _onnx_source(tmp_path, name, inputs, opset=17, shape=(1, 64, 64, 3)):
    import onnx
    from onnx import TensorProto, helper

    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(shape)) for n in [*inputs, "y"]]
    node = helper.make_node("Add" if len(inputs) == 2 else "Relu", list(inputs), ["y"])
    model = helper.make_model(helper.make_graph([node], name, io[:-1], io[-1:]),
                              opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, tmp_path / f"{name}.onnx")
    return SourceModel(path=tmp_path / f"{name}.onnx", kind="onnx", input_name=inputs[0], input_shape=(1, 64, 64, 3),
                       layout="NHWC", output_names=("y",), workdir=tmp_path)


def test_passthrough_refuses_two_inputs_an_old_opset_and_a_shape_that_does_not_fit(tmp_path, make_job):
    onnx_converter = get_converter("onnx")
    with pytest.raises(ModelError, match=r"expected a model with one image input, got 2 inputs \(a, b\)"):
        onnx_converter.convert(make_job(_onnx_source(tmp_path, "two", ["a", "b"]), "jetson-orin", "fp32"))
    with pytest.raises(ConversionError, match="expected ONNX opset >= 11, got 9"):
        onnx_converter.convert(make_job(_onnx_source(tmp_path, "old", ["x"], opset=9), "jetson-orin", "fp32"))
    with pytest.raises(ConversionError, match=r"expected the input shape \(1, 64, 64, 3\) to fit 'x'"):
        big = _onnx_source(tmp_path, "big", ["x"], shape=(1, 96, 96, 3))
        onnx_converter.convert(make_job(big, "jetson-orin", "fp32"))


def test_a_non_model_file_is_a_model_file_error(tmp_path, make_job):
    (tmp_path / "notes.onnx").write_bytes(b"\x08\x07hello, not a protobuf\xff\xff")
    src = SourceModel(path=tmp_path / "notes.onnx", kind="onnx", input_name="x", input_shape=(1, 64, 64, 3),
                      layout="NHWC", output_names=(), workdir=tmp_path)
    with pytest.raises(ModelFileError, match="expected an ONNX model, got notes.onnx that onnx cannot parse"):
        get_converter("onnx").convert(make_job(src, "jetson-orin", "fp32"))
    (tmp_path / "notes.onnx").write_bytes(b"")
    with pytest.raises(ModelFileError, match="expected an ONNX model, got notes.onnx that holds no graph"):
        get_converter("onnx").convert(make_job(src, "jetson-orin", "fp32"))


def test_refuses_int8_without_calibration_and_a_dynamic_shape(sources, make_job):
    with pytest.raises(ConversionError, match="expected calibration samples for int8, got none"):
        get_converter("onnx").convert(make_job(sources["classifier"], "jetson-orin", "int8"))
    dynamic = dataclasses.replace(sources["classifier"], input_shape=(1, None, None, 3), dynamic=True)
    with pytest.raises(ConversionError, match=r"expected a static input shape for target jetson-orin.*--input-shape"):
        get_converter("onnx").convert(make_job(dynamic, "jetson-orin", "fp16"))
    with pytest.raises(ConversionError, match="expected a keras, savedmodel or onnx source for ONNX, got 'tflite'"):
        get_converter("onnx").convert(make_job(dataclasses.replace(sources["classifier"], kind="tflite"),
                                               "jetson-orin", "fp32"))
