"""Tests for converters/tflite.py: real TensorFlow conversions of the conftest models, run in LiteRT.

Conversions are built once per module (about a second each). The YOLO source is
given its in-memory Keras model: ``yolo.keras`` from the conftest cannot be loaded
back, because its ``Head`` layer is a class local to ``_models.yolo_detector`` and
not registered with Keras (the converter says so; see
``test_unregistered_custom_layer_is_named``).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import edgevision
from edgevision.converters import ConvertJob, SourceModel, get_converter
from edgevision.converters.tflite import _verify, float_tensors
from edgevision.errors import ConversionError
from edgevision.formats.tflite import read_tflite

pytestmark = pytest.mark.slow

KINDS = ("classifier", "yolo", "segmenter")
PRECISIONS = ("fp32", "fp16", "dynamic", "int8")
LOAD_ARGS = {"classifier": {"task": "classification"}, "yolo": {"decoder": "yolo"},
             "segmenter": {"task": "segmentation"}}


def usable(keras_sources):
    """The conftest sources, YOLO with its Keras model in the cache (yolo.keras does not load back)."""
    import _models

    out = dict(keras_sources)
    out["yolo"] = dataclasses.replace(keras_sources["yolo"], _cache={"keras": _models.yolo_detector()})
    return out


@pytest.fixture(scope="module")
def sources(keras_sources):
    return usable(keras_sources)


@pytest.fixture(scope="module")
def built(sources, calibration, tmp_path_factory):
    """{(kind, precision[, io]): ConvertOutput} for every conftest model and precision, int8 IO int8 too."""
    from edgevision.targets import load_target

    target, conv, out = load_target("cpu"), get_converter("tflite"), {}
    jobs = [(k, p, {}) for k in KINDS for p in PRECISIONS] + [("classifier", "int8", {"io_dtype": "int8"})]
    for kind, precision, options in jobs:
        key = (kind, precision, *options.values())
        outdir = tmp_path_factory.mktemp(f"{kind}_{precision}")
        job = ConvertJob(sources[kind], target, precision, calibration, outdir, f"{kind}_cpu_{precision}",
                         options=options)
        out[key] = conv.convert(job)
    return out


def _run(path, x):
    """Outputs of a .tflite on float input ``x``, through LiteRT, (de)quantised with the file's own parameters."""
    from ai_edge_litert.interpreter import Interpreter

    graph = read_tflite(path)

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    inp, outs = it.get_input_details()[0], it.get_output_details()
    tensor = x
    if graph.inputs[0].quantization is not None and graph.inputs[0].dtype in ("uint8", "int8"):
        q = graph.inputs[0].quantization
        info = np.iinfo(graph.inputs[0].dtype)
        tensor = np.clip(np.round(x / q.scale[0] + q.zero_point[0]), info.min, info.max).astype(graph.inputs[0].dtype)
    it.set_tensor(inp["index"], tensor)
    it.invoke()
    result = []
    for o in outs:
        y = it.get_tensor(o["index"]).astype(np.float32)
        scale, zero = o["quantization"]
        result.append((y - zero) * scale if scale else y)
    return result


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_precision_builds_loads_and_matches_keras(built, sources, calibration, scene, kind, precision):
    out = built[(kind, precision)]
    assert out.file.name == f"{kind}_cpu_{precision}.tflite" and out.file.parent.is_dir()
    assert (out.format, out.precision) == ("tflite", precision)
    assert out.converter["tool"] == "tf.lite.TFLiteConverter" and out.converter["version"]
    assert not list(out.file.parent.glob(".*partial")), "the temporary file was not moved into place"
    graph = read_tflite(out.file)
    assert graph.inputs[0].shape == (1, 64, 64, 3) and not graph.inputs[0].is_dynamic

    model = edgevision.load(out.file, threads=1, **LOAD_ARGS[kind])
    assert model.predict(scene.image) is not None  # preprocess -> LiteRT -> decoder, end to end

    x = list(calibration)[-1]  # an input like those int8 was calibrated on
    want = np.asarray(sources[kind].keras()(x))
    got = _run(out.file, x)[0]
    span = float(want.max() - want.min())
    # fp32 is the same arithmetic; fp16 weights, int8 weights and int8 activations each cost more.
    # Measured (TF 2.21), as a fraction of the output's span: fp32 < 1e-6, fp16 < 4e-5, dynamic
    # < 2e-3, int8 < 0.14 (the untrained classifier's softmax spans 0.0125: 0.0017 absolute).
    bound = {"fp32": 1e-5, "fp16": 1e-3, "dynamic": 1e-2, "int8": 0.05}[precision] * span
    quant = read_tflite(out.file).outputs[0].quantization
    if quant is not None:
        bound += 2 * quant.scale[0]  # plus two steps of the int8 output
    error = float(np.max(np.abs(got - want)))
    assert error <= bound, f"{kind} {precision}: max error {error:.4g}, bound {bound:.4g} (span {span:.4g})"


def test_int8_io_dtype_is_what_was_asked(built):
    for key, dtype in ((("classifier", "int8"), "uint8"), (("classifier", "int8", "int8"), "int8")):
        out = built[key]
        graph = read_tflite(out.file)
        assert [t.dtype for t in graph.inputs + graph.outputs] == [dtype, dtype]
        assert out.converter["io_dtype"] == dtype
        assert out.converter["calibration_samples"] == 32
        assert out.converter["supported_ops"] == "TFLITE_BUILTINS_INT8"


@pytest.mark.parametrize("kind", KINDS)
def test_int8_has_no_float_tensor_between_input_and_output(built, kind):
    assert float_tensors(read_tflite(built[(kind, "int8")].file)) == []
    assert float_tensors(read_tflite(built[(kind, "fp32")].file))  # the check does see floats when they are there


def test_fp16_stores_float16_weights_and_float_activations(built):
    graph = read_tflite(built[("classifier", "fp16")].file)
    tensors = graph.subgraphs[0].tensors
    assert any(t.dtype == "float16" and t.is_constant for t in tensors)
    assert all(t.dtype != "float16" for t in tensors if not t.is_constant)
    assert graph.inputs[0].dtype == "float32"


def test_int8_is_smaller_and_under_a_third_when_weights_dominate(built, calibration, tmp_path):
    """The conftest models are a few KB, mostly flatbuffer overhead: int8 is smaller, not 0.3x.

    Measured with TF 2.21: classifier 5.1/8.1 KB (0.63x), yolo 9.0/12.9 KB (0.70x), segmenter
    7.0/13.9 KB (0.50x). A model whose file is its weights (a 524k-parameter Dense layer,
    2.1 MB fp32) shows the 4x of int8: 0.25x, asserted <= 0.3x.
    """
    for kind in KINDS:
        assert built[(kind, "int8")].file.stat().st_size < built[(kind, "fp32")].file.stat().st_size
    import keras

    keras.utils.set_random_seed(3)
    inp = keras.Input((64, 64, 3), batch_size=1, name="images")
    x = keras.layers.Conv2D(32, 3, strides=4, padding="same", activation="relu")(inp)
    heavy = keras.Model(inp, keras.layers.Dense(64)(keras.layers.Flatten()(x)))
    source = _source(heavy, tmp_path)
    sizes = {}
    for precision in ("fp32", "int8"):
        job = _job(source, precision, calibration, tmp_path)
        sizes[precision] = get_converter("tflite").convert(job).file.stat().st_size
    assert sizes["int8"] <= 0.3 * sizes["fp32"], sizes


def _source(model, tmp_path, shape=(1, 64, 64, 3), dynamic=False):
    path = tmp_path / f"{model.name}.keras"
    model.save(path)
    work = tmp_path / f"{model.name}_work"
    work.mkdir(exist_ok=True)
    return SourceModel(path=path, kind="keras", input_name="images", input_shape=shape, layout="NHWC",
                       output_names=tuple(o.name for o in model.outputs), workdir=work, dynamic=dynamic)


def _job(source, precision, calibration, tmp_path, **options):
    from edgevision.targets import load_target

    out = tmp_path / f"{source.path.stem}_{precision}_{len(list(tmp_path.iterdir()))}"
    out.mkdir()
    return ConvertJob(source, load_target("cpu"), precision, calibration, out, f"{source.path.stem}_{precision}",
                      options=options)


def test_dynamic_keras_source_is_pinned_to_a_static_batch_1_shape(calibration, tmp_path):
    import keras

    keras.utils.set_random_seed(4)
    inp = keras.Input((None, None, 3), name="images")  # batch, height and width all None
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(x), name="anysize")
    source = _source(model, tmp_path, dynamic=True)
    for precision in ("fp32", "int8"):
        out = get_converter("tflite").convert(_job(source, precision, calibration, tmp_path))
        graph = read_tflite(out.file)
        assert graph.inputs[0].shape == (1, 64, 64, 3) and graph.inputs[0].shape_signature in (None, (1, 64, 64, 3))
        assert out.converter["reads"] == "from_keras_model (pinned)"


def test_savedmodel_source_converts_like_the_keras_one(sources, built, tmp_path):
    keras_source = sources["classifier"]
    saved = SourceModel(path=keras_source.saved_model(), kind="savedmodel", input_name="images",
                        input_shape=(1, 64, 64, 3), layout="NHWC", output_names=(), workdir=tmp_path)
    out = get_converter("tflite").convert(_job(saved, "fp32", None, tmp_path))
    assert read_tflite(out.file).inputs[0].shape == (1, 64, 64, 3)  # Keras exports batch None: pinned
    x = np.random.default_rng(6).random((1, 64, 64, 3), dtype=np.float32)
    np.testing.assert_allclose(_run(out.file, x)[0], _run(built[("classifier", "fp32")].file, x)[0], atol=1e-5)


def test_int8_without_calibration_is_a_conversion_error(sources, make_job):
    with pytest.raises(ConversionError, match="expected calibration samples for full-integer int8, got none"):
        get_converter("tflite").convert(make_job(sources["classifier"], "rpi5", "int8"))


@pytest.mark.parametrize("precision, options, message", [
    ("int8", {"io_dtype": "float32"}, "expected io_dtype among uint8, int8, got 'float32'"),
    ("int4", {}, "expected a TFLite precision among fp32, fp16, dynamic, int8, got 'int4'"),
])
def test_bad_job_settings_are_conversion_errors(sources, calibration, make_job, precision, options, message):
    with pytest.raises(ConversionError, match=message):
        get_converter("tflite").convert(make_job(sources["classifier"], "rpi5", precision, calibration, **options))


def test_unsupported_source_kind_and_dynamic_shape_are_refused(sources, make_job, tmp_path):
    frozen = dataclasses.replace(sources["classifier"], kind="tf-frozen", _cache={})
    with pytest.raises(ConversionError, match="expected a keras or savedmodel source for TFLite, got 'tf-frozen'"):
        get_converter("tflite").convert(make_job(frozen, "cpu", "fp32"))
    unknown = dataclasses.replace(sources["classifier"], input_shape=(1, -1, -1, 3), dynamic=True, _cache={})
    with pytest.raises(ConversionError, match=r"expected a static input shape .* got \(1, -1, -1, 3\)"):
        get_converter("tflite").convert(make_job(unknown, "cpu", "fp32"))


def test_unregistered_custom_layer_is_named(keras_sources, make_job):
    fresh = dataclasses.replace(keras_sources["yolo"], _cache={})  # loads yolo.keras from disk
    with pytest.raises(ConversionError, match="unregistered class 'Head'"):
        get_converter("tflite").convert(make_job(fresh, "cpu", "fp32"))


def test_float_tensor_in_an_int8_model_is_named(built, sources):
    fp32 = built[("classifier", "fp32")].file
    first = float_tensors(read_tflite(fp32))[0]
    with pytest.raises(ConversionError, match=f"no float tensor between input and output.*first: '{first}'"):
        _verify(fp32, sources["classifier"], "int8", "float32")  # float32 "io" passes; the float check must not


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_keras_route_writes_what_tensorflow_alone_writes(built, sources, calibration, precision):
    """onnx2tf installed beside TensorFlow and the ONNX route added change nothing for a Keras source: its
    artifact is byte for byte TensorFlow's own conversion (int8: same representative data and settings)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(sources["classifier"].keras())
    if precision == "int8":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([s] for s in calibration)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.uint8
    ours = built[("classifier", precision)]
    assert ours.file.read_bytes() == conv.convert()
    assert "onnx2tf" not in ours.converter and "float_layers" not in ours.converter
    if precision == "int8":  # only the per-layer report is new
        assert ours.report["layers"]["tool"] == "tf.lite.experimental.QuantizationDebugger"
