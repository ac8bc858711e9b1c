"""Every bad input gets a typed EdgeVisionError that says what was expected, never a crash.

Through the public surface (``edgevision.load``, ``Model.predict``, ``edgevision.sources``,
``edgevision.bundle.write_bundle``), one test per kind of bad input. The quantisation
value checks of ``edgevision/formats/tflite.py`` are tested here too, on real int8 models
whose scale bytes are overwritten: LiteRT segfaults in ``allocate_tensors()`` on such a
file, so one load of each kind also runs in a subprocess to prove the process survives.
"""
from __future__ import annotations

import json
import math
import random
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import edgevision
from edgevision.bundle import MANIFEST, Artifact, Manifest, write_bundle
from edgevision.decode import decoder_config
from edgevision.errors import ImageError, ManifestError, ModelError, ModelFileError, SourceError, UserInputError
from edgevision.formats.tflite import read_tflite
from edgevision.sources import open_source, read_image

LABELS = ["a", "b", "c", "d", "e"]


def random_file(path: Path, size: int = 4096, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def truncated(src: Path, dest: Path, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def classifier_manifest() -> Manifest:
    return Manifest(task="classification", decoder=decoder_config("classification"), labels=list(LABELS),
                    artifacts={"cpu": Artifact(file="model.tflite", format="tflite", precision="fp32")})


def make_bundle(dest: Path, model: Path) -> Path:
    return write_bundle(dest, classifier_manifest(), files={"model.tflite": model})


def edit_manifest(bundle: Path, change: Callable[[dict], None]) -> Path:
    path = bundle / MANIFEST
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return bundle


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- model files


@pytest.mark.parametrize(
    "name, make, message",
    [
        ("missing.tflite", None, r"expected a model file or bundle directory, got missing path"),
        ("random.tflite", random_file, r"expected a TFLite flatbuffer \(identifier TFL3\), got"),
        ("random.onnx", random_file, r"expected an ONNX model ONNX Runtime can load, got random.onnx"),
        ("random.xml", random_file, r"expected the weights file random.bin beside random.xml, got none"),
        ("model.pt", random_file, r"expected a model file ending in .tflite, .xml, .onnx or a bundle directory"),
    ],
)
def test_bad_model_file_is_a_model_file_error(tmp_path, name, make, message):
    path = tmp_path / name
    if make:
        make(path)
    with pytest.raises(ModelFileError, match=message):
        edgevision.load(path)


def test_random_xml_with_a_bin_beside_it(tmp_path):
    xml = random_file(tmp_path / "random.xml", seed=1)
    random_file(tmp_path / "random.bin", seed=2)
    with pytest.raises(ModelFileError, match=r"expected an OpenVINO IR .xml, got random.xml that is not XML"):
        edgevision.load(xml)


@pytest.mark.parametrize("text", ["<?xml version='1.0'?><foo/>", "<net name='x'><layers/></net>"])
def test_xml_that_is_not_an_ir(tmp_path, text):
    (tmp_path / "m.xml").write_text(text)
    random_file(tmp_path / "m.bin")
    with pytest.raises(ModelFileError, match=r"expected an OpenVINO IR .xml \(root element <net>"):
        edgevision.load(tmp_path / "m.xml")


def test_ir_without_inputs_is_a_model_error(tmp_path):
    (tmp_path / "m.xml").write_text("<?xml version='1.0'?><net name='x' version='11'><layers/><edges/></net>")
    (tmp_path / "m.bin").write_bytes(b"")
    with pytest.raises(ModelError, match=r"expected a model with one image input, got 0 inputs"):
        edgevision.load(tmp_path / "m.xml")


@pytest.mark.slow
@pytest.mark.parametrize("fmt, message", [
    ("tflite", r"expected .* inside the \d+-byte file"),
    ("onnx", r"expected an ONNX model ONNX Runtime can load, got cut.onnx"),
])
def test_truncated_model_file(zoo, tmp_path, fmt, message):
    cut = truncated(zoo["classifier"][fmt], tmp_path / f"cut.{fmt}")
    with pytest.raises(ModelFileError, match=message):
        edgevision.load(cut)


@pytest.mark.slow
def test_xml_without_its_bin(zoo, tmp_path):
    xml = Path(shutil.copy(zoo["classifier"]["openvino"], tmp_path / "model.xml"))
    with pytest.raises(ModelFileError, match=r"expected the weights file model.bin beside model.xml, got none"):
        edgevision.load(xml)


# ---------------------------------------------------------------- models that do not fit the request


@pytest.fixture(scope="module")
def vector_model(tmp_path_factory) -> dict[str, Path]:
    """A model whose input is a vector of 10 floats, not an image: Dense(3), as .tflite and .onnx."""
    import keras
    import tensorflow as tf
    import tf2onnx

    keras.utils.set_random_seed(0)
    inp = keras.Input((10,), batch_size=1, name="x")
    model = keras.Model(inp, keras.layers.Dense(3)(inp))
    root = tmp_path_factory.mktemp("vector")
    paths = {"tflite": root / "vector.tflite", "onnx": root / "vector.onnx"}
    paths["tflite"].write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=(tf.TensorSpec((1, 10), tf.float32, name="x"),),
                                          opset=17)
    paths["onnx"].write_bytes(proto.SerializeToString())
    return paths


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tflite", "onnx"])
def test_model_whose_input_is_not_an_image(vector_model, fmt):
    with pytest.raises(ModelError, match=r"expected an image input of shape \[1, H, W, 1\|3\] .*, got \[1, 10\]"):
        edgevision.load(vector_model[fmt])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tflite", "onnx", "openvino"])
def test_classification_asked_of_a_yolo_model(zoo, fmt):
    with pytest.raises(ModelError, match=r"expected one classification output \[1, C\], got \[\[1, 7, \d+\]\]"):
        edgevision.load(zoo["yolo"][fmt], task="classification")


@pytest.mark.slow
def test_unknown_model_option(zoo):
    with pytest.raises(UserInputError, match=r"unknown model option 'foo'; valid options: task, decoder"):
        edgevision.load(zoo["classifier"]["tflite"], foo=1)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["tflite", "onnx", "openvino"])
@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((48, 64, 3), np.float64), r"expected a uint8 image, got float64"),
        (np.zeros((48, 64, 2), np.uint8), r"expected an HxWx3 uint8 RGB image, got shape \(48, 64, 2\)"),
        (np.zeros((0, 64, 3), np.uint8), r"expected an HxWx3 uint8 RGB image, got shape \(0, 64, 3\)"),
        ([[0, 0, 0]], r"expected an HxWx3 uint8 RGB numpy array, got list"),
    ],
    ids=["float64", "two-channels", "empty", "list"],
)
def test_bad_image_to_predict(zoo, fmt, image, message):
    model = edgevision.load(zoo["classifier"][fmt])
    with pytest.raises(ImageError, match=message):
        model.predict(image)


# ---------------------------------------------------------------- bundles


@pytest.fixture
def bundle(zoo, tmp_path) -> Path:
    b = make_bundle(tmp_path / "bundle", zoo["classifier"]["tflite"])
    assert edgevision.load(b).task == "classification"  # the bundle is good before it is broken
    return b


@pytest.mark.slow
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(foo=1), r"unknown key 'foo' in .*manifest.json; valid keys: schema, name, task"),
        (lambda d: d["artifacts"]["cpu"].update(foo=1),
         r"unknown key 'foo' in artifact 'cpu' of .*; valid keys: file, format, precision, sha256"),
        (lambda d: d["artifacts"]["cpu"].update(sha256="0" * 64),
         r"expected sha256 000000000000… for model.tflite, got [0-9a-f]{12}…"),
        (lambda d: d.update(schema=2), r"expected schema 1 in .*manifest.json, got 2"),
        (lambda d: d.pop("artifacts"), r"expected key 'artifacts' in .*manifest.json, got none"),
        (lambda d: d["artifacts"]["cpu"].update(file="../model.tflite"),
         r"expected a plain file name inside the bundle for 'file' of artifact 'cpu' .*, got '../model.tflite'"),
    ],
    ids=["unknown-top-level-key", "unknown-artifact-key", "wrong-sha256", "schema-2", "no-artifacts", "path-escape"],
)
def test_corrupt_manifest(bundle, change, message):
    edit_manifest(bundle, change)
    with pytest.raises(ManifestError, match=message):
        edgevision.load(bundle)


@pytest.mark.slow
def test_manifest_that_is_not_json(bundle):
    (bundle / MANIFEST).write_text("{not json")
    with pytest.raises(ManifestError, match=r"expected JSON in .*manifest.json, got a parse error"):
        edgevision.load(bundle)


@pytest.mark.slow
def test_manifest_that_is_binary(bundle):
    random_file(bundle / MANIFEST)
    with pytest.raises(ManifestError, match=r"expected JSON in .*manifest.json"):
        edgevision.load(bundle)


@pytest.mark.slow
def test_artifact_file_missing_from_bundle(bundle):
    (bundle / "model.tflite").unlink()
    with pytest.raises(ManifestError, match=r"expected artifact file 'model.tflite' in bundle .*, got none"):
        edgevision.load(bundle)


@pytest.mark.slow
def test_bundle_without_an_artifact_for_the_target(bundle):
    with pytest.raises(ManifestError, match=r"expected an artifact for target 'rpi5' in the bundle, got only: cpu"):
        edgevision.load(bundle, target="rpi5")


def test_directory_without_manifest(tmp_path):
    with pytest.raises(ManifestError, match=r"expected manifest.json in bundle .*, got none"):
        edgevision.load(tmp_path)


# ---------------------------------------------------------------- write_bundle


def test_write_bundle_leaves_no_temporary_directory_when_it_fails(tmp_path):
    model = random_file(tmp_path / "src" / "model.tflite")
    out = tmp_path / "out"
    out.mkdir()
    manifest = classifier_manifest()
    manifest.artifacts["rpi5"] = Artifact(file="missing.tflite", format="tflite", precision="int8")
    with pytest.raises(UserInputError, match=r"expected artifact file 'missing.tflite' for 'rpi5' among the files"):
        write_bundle(out / "bundle", manifest, files={"model.tflite": model})
    assert list(out.iterdir()) == []


def test_failed_overwrite_leaves_the_existing_bundle_untouched(tmp_path):
    model = random_file(tmp_path / "src" / "model.tflite")
    dest = make_bundle(tmp_path / "out" / "bundle", model)
    before = snapshot(dest)
    manifest = classifier_manifest()
    manifest.artifacts["cpu"] = Artifact(file="other.tflite", format="tflite", precision="fp32")
    with pytest.raises(UserInputError, match=r"expected artifact file 'other.tflite'"):
        write_bundle(dest, manifest, files={"model.tflite": model}, overwrite=True)
    assert snapshot(dest) == before
    assert sorted(p.name for p in dest.parent.iterdir()) == ["bundle"]


def test_write_bundle_refuses_an_existing_path_without_overwrite(tmp_path):
    model = random_file(tmp_path / "src" / "model.tflite")
    dest = make_bundle(tmp_path / "bundle", model)
    before = snapshot(dest)
    with pytest.raises(UserInputError, match=r"expected a new bundle path, got existing .* \(pass overwrite=True\)"):
        make_bundle(dest, model)
    assert snapshot(dest) == before


def test_write_bundle_with_a_missing_source_file(tmp_path):
    with pytest.raises(UserInputError, match=r"expected a file to copy into the bundle as 'model.tflite', got missing"):
        write_bundle(tmp_path / "bundle", classifier_manifest(), files={"model.tflite": tmp_path / "nope.tflite"})
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- images and video


def test_undecodable_image(tmp_path):
    path = random_file(tmp_path / "x.jpg")
    with pytest.raises(ImageError, match=r"expected an image OpenCV can decode .*, got undecodable 'x.jpg'"):
        read_image(path)


def test_empty_image_file(tmp_path):
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(ImageError, match=r"got undecodable 'x.png'"):
        read_image(tmp_path / "x.png")


def test_undecodable_video(tmp_path):
    path = random_file(tmp_path / "x.mp4")
    with pytest.raises(ImageError, match=r"expected a video OpenCV can decode, got 'x.mp4'"):
        next(iter(open_source(path)))


def test_missing_source(tmp_path):
    with pytest.raises(SourceError, match=r"expected an image, a directory of images or a video file, got missing"):
        open_source(tmp_path / "nope.png")


def test_directory_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(SourceError, match=r"expected images .* in directory .*, got none"):
        open_source(tmp_path)


# ---------------------------------------------------------------- quantisation values (formats/tflite.py)


@pytest.fixture(scope="module")
def int8_models(tmp_path_factory) -> dict[str, Path]:
    """Full-integer conversions of the test classifier: uint8 and int8 input/output, per-channel weights."""
    import _models

    root = tmp_path_factory.mktemp("int8")
    model = _models.classifier()
    return {io: _models.int8_tflite(model, root / f"classifier_{io}.tflite", input_type=io, samples=4)
            for io in ("uint8", "int8")}


def forge_input_scale(src: Path, dest: Path, value: float) -> Path:
    """Overwrite every copy of the input tensor's float32 scale with ``value``.

    In a uint8-input model the same scale is stored twice (the input and its QUANTIZE
    output); a negative, zero, NaN or infinite one makes LiteRT segfault.
    """
    data = src.read_bytes()
    scale = read_tflite(data).inputs[0].quantization.scale[0]
    old = struct.pack("<f", scale)
    assert old in data
    dest.write_bytes(data.replace(old, struct.pack("<f", value)))
    return dest


def forge_zero_point(src: Path, dest: Path, tensor_prefix: str, value: int) -> Path:
    """Rewrite the zero points of the tensors whose name starts with ``tensor_prefix`` (LiteRT's schema API)."""
    flatbuffers = pytest.importorskip("flatbuffers")
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    model = schema.ModelT.InitFromPackedBuf(src.read_bytes(), 0)
    hits = [t for t in model.subgraphs[0].tensors if t.name.decode().startswith(tensor_prefix)]
    assert hits
    for t in hits:
        t.quantization.zeroPoint = [value] * len(t.quantization.zeroPoint)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dest.write_bytes(bytes(builder.Output()))
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("io", ["uint8", "int8"])
def test_real_int8_models_still_load_and_run(int8_models, io, scene):
    graph = read_tflite(int8_models[io])
    assert graph.inputs[0].dtype == io
    assert any(t.quantization is not None and t.quantization.per_channel for t in graph.subgraphs[0].tensors)
    model = edgevision.load(int8_models[io])
    result = model.predict(scene.image)
    assert result.to_dict()["task"] == "classification"


@pytest.mark.slow
@pytest.mark.parametrize("value", [-0.5, 0.0, math.nan, math.inf])
def test_forged_scale_is_a_model_file_error(int8_models, tmp_path, value):
    forged = forge_input_scale(int8_models["uint8"], tmp_path / "forged.tflite", value)
    message = rf"expected finite positive quantisation scales for tensor '.+', got {value:g} in '.*forged.tflite'"
    with pytest.raises(ModelFileError, match=message):
        read_tflite(forged)
    with pytest.raises(ModelFileError, match=message):
        edgevision.load(forged)


@pytest.mark.slow
@pytest.mark.parametrize("io, prefix, value, message", [
    ("uint8", "serving_default", 300, r"expected uint8 zero points within \[0, 255\] for tensor '.+', got 300"),
    ("uint8", "serving_default", -1, r"expected uint8 zero points within \[0, 255\] for tensor '.+', got -1"),
    ("int8", "serving_default", 128, r"expected int8 zero points within \[-128, 127\] for tensor '.+', got 128"),
])
def test_forged_zero_point_is_a_model_file_error(int8_models, tmp_path, io, prefix, value, message):
    forged = forge_zero_point(int8_models[io], tmp_path / "forged.tflite", prefix, value)
    with pytest.raises(ModelFileError, match=message):
        edgevision.load(forged)


@pytest.mark.slow
def test_bias_and_per_channel_weight_zero_points_are_left_to_litert(int8_models, tmp_path):
    """int32 biases have no range rule here, and int8 per-channel weights not TFLite's zero-point-0 rule:
    LiteRT's kernels check that one themselves and fail with an error, not a crash."""
    main = read_tflite(int8_models["uint8"]).subgraphs[0]
    for dtype, value in (("int32", 70000), ("int8", 3)):
        tensor = next(t for t in main.tensors if t.dtype == dtype and t.is_constant and t.quantization is not None)
        forged = forge_zero_point(int8_models["uint8"], tmp_path / f"{dtype}.tflite", tensor.name, value)
        index = main.tensors.index(tensor)
        assert set(read_tflite(forged).subgraphs[0].tensors[index].quantization.zero_point) == {value}


_LOAD_IN_CHILD = """
import sys, edgevision
try:
    edgevision.load(sys.argv[1])
except edgevision.errors.ModelFileError as e:
    print("ModelFileError:", e)
else:
    print("loaded")
"""


@pytest.mark.slow
def test_forged_files_do_not_kill_the_process(int8_models, tmp_path):
    """Without the checks each of these ends LiteRT's allocate_tensors() in a segfault."""
    forged = [forge_input_scale(int8_models["uint8"], tmp_path / "scale.tflite", -0.5),
              forge_zero_point(int8_models["uint8"], tmp_path / "zero_point.tflite", "serving_default", 300)]
    children = [subprocess.Popen([sys.executable, "-c", _LOAD_IN_CHILD, str(p)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for p in forged]
    for path, child in zip(forged, children):
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, f"{path.name}: exit {child.returncode} (negative: killed by a signal)\n{err}"
        assert out.startswith("ModelFileError: expected "), out
