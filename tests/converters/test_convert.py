"""``edgevision convert`` end to end on a small Keras classifier, and every bad input it must refuse cleanly."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import edgevision
from edgevision.bundle import read_manifest
from edgevision.converters.convert import convert
from edgevision.errors import UserInputError

cv2 = pytest.importorskip("cv2")


def cli(*args: object, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgevision", "convert", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, keras_sources):
    """A directory with the classifier (.keras), a dynamic-shape Keras model and calibration images."""
    import keras

    root = tmp_path_factory.mktemp("convert")
    (root / "classifier.keras").write_bytes(keras_sources["classifier"].path.read_bytes())
    inp = keras.Input((None, None, 3), batch_size=1)
    out = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inp))
    keras.Model(inp, keras.layers.Dense(3, activation="softmax")(out)).save(root / "dynamic.keras")
    from edgevision.sources.shapes import shapes_scene

    rng = np.random.default_rng(5)
    (root / "images").mkdir()
    for i in range(20):
        cv2.imwrite(str(root / "images" / f"{i:02d}.png"), shapes_scene(rng, (96, 96), n_shapes=2).image[..., ::-1])
    (root / "empty").mkdir()
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("no images here\n")
    (root / "not_a_model.keras").write_text("hello\n")
    return root


def test_convert_writes_a_bundle_every_target_of_which_loads(workdir, tmp_path):
    bundle = convert(workdir / "classifier.keras", ["cpu", "rpi5"], out=tmp_path / "b",
                     calibration=workdir / "images", overrides={"labels": None, "task": "classification"},
                     log=lambda m: None)
    manifest = read_manifest(bundle.path)
    assert set(manifest.artifacts) == {"cpu", "rpi5"}
    assert manifest.input.std == (255.0, 255.0, 255.0)  # the float model's [0, 1] scaling, written out
    rpi5 = manifest.artifacts["rpi5"]
    assert (rpi5.format, rpi5.precision) == ("tflite", "int8")
    assert rpi5.fidelity["images"] == 4  # every fifth of 20 images held out
    assert rpi5.fidelity["metric"] == "top1_agreement" and 0 <= rpi5.fidelity["top1_agreement"] <= 1
    assert rpi5.converter["calibration"].startswith("images: 16")
    assert manifest.artifacts["cpu"].fidelity["top1_agreement"] == 1.0  # fp32 TFLite == Keras
    image = cv2.imread(str(workdir / "images" / "00.png"))[..., ::-1]
    for target in ("cpu", "rpi5"):
        model = edgevision.load(bundle.path, target=target)
        assert model.info()["artifact"]["target"] == target
        assert len(model.predict(image).class_id) >= 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp dir left behind


def test_cli_prints_a_table_and_json(workdir, tmp_path):
    r = cli(workdir / "classifier.keras", "--target", "cpu", "--task", "classification", "-o", tmp_path / "b",
            "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    (line,) = r.stdout.splitlines()  # nothing but the JSON on stdout: native logs are held
    data = json.loads(line)
    assert data["rows"][0]["target"] == "cpu" and data["rows"][0]["fidelity"]["top1_agreement"] == 1.0
    assert "no held-out images" in r.stderr
    assert "XNNPACK" not in r.stderr and "I0000" not in r.stderr


BAD = {
    "unknown target": (["classifier.keras", "--target", "rpi9"], "rpi9"),
    "not a model": (["not_a_model.keras", "--target", "cpu"], "not_a_model.keras"),
    "not a model kind": (["images/00.png", "--target", "cpu"], "00.png"),
    "missing model": (["nothing.keras", "--target", "cpu"], "nothing.keras"),
    "empty calibration dir": (["classifier.keras", "--target", "rpi5", "--calibration", "empty"], "got none"),
    "calibration dir without images": (["classifier.keras", "--target", "rpi5", "--calibration", "notes"], "got none"),
    "int8 without calibration": (["classifier.keras", "--target", "rpi5"], "--calibration"),
    "task that does not fit": (["classifier.keras", "--target", "cpu", "--task", "detection"], "detection"),
    "dynamic shape for Edge TPU": (["dynamic.keras", "--target", "coral-usb", "--calibration", "images"],
                                   "--input-shape"),
    "dynamic shape for NPU": (["dynamic.keras", "--target", "intel-npu", "--calibration", "images"], "--input-shape"),
    "precision a target refuses": (["classifier.keras", "--target", "coral-usb", "--precision", "fp32"], "int8"),
    "bad max drop": (["classifier.keras", "--target", "cpu", "--max-drop", "2"], "between 0 and 1"),
    "bad input shape": (["dynamic.keras", "--target", "cpu", "--input-shape", "1x0x3"], "1x224x224x3"),
}


def test_bad_inputs_end_in_one_line_and_leave_nothing(workdir):
    def one(name: str) -> tuple[str, subprocess.CompletedProcess]:
        args, _ = BAD[name]
        return name, cli(*args, "-o", f"out_{abs(hash(name))}", cwd=workdir)

    with ThreadPoolExecutor(4) as pool:
        results = dict(pool.map(one, BAD))
    for name, r in results.items():
        lines = r.stderr.strip().splitlines()
        errors = [line for line in lines if "error" in line]
        assert r.returncode == 2, (name, r.returncode, r.stderr[-2000:])
        assert len(errors) == 1 and BAD[name][1] in errors[0], (name, r.stderr[-2000:])
        assert "Traceback" not in r.stderr, name
    assert not [p.name for p in workdir.iterdir() if p.name.startswith(("out_", "."))]


def test_existing_bundle_is_not_overwritten_without_asking(workdir, tmp_path):
    (tmp_path / "b").mkdir()
    with pytest.raises(UserInputError, match="--overwrite"):
        convert(workdir / "classifier.keras", ["cpu"], out=tmp_path / "b", log=lambda m: None)


def test_dynamic_model_converts_with_a_pinned_shape(workdir, tmp_path):
    bundle = convert(workdir / "dynamic.keras", ["cpu"], out=tmp_path / "b", input_shape=(1, 48, 48, 3),
                     overrides={"task": "classification"}, log=lambda m: None)
    model = bundle.load("cpu")
    assert model.input_size == (48, 48)


def test_max_drop_fails_a_conversion_calibrated_on_the_wrong_data(tmp_path):
    """Calibrating on near-black tensors (pixels 0..3) squeezes the int8 input range; real images then
    saturate it, fidelity collapses, and --max-drop must fail the run: exit 4, one error line, no bundle."""
    model = Path(__file__).resolve().parents[2] / "examples" / "models" / "shapes_classifier.keras"
    from edgevision.converters.datasets import write_shapes_dataset

    write_shapes_dataset(tmp_path / "val", "classification", 40, 64, seed=41)
    wrong = np.random.default_rng(0).uniform(0, 3, (32, 64, 64, 3)).astype(np.float32)
    np.save(tmp_path / "wrong.npy", wrong)
    r = cli(model, "--target", "rpi5", "--calibration", "wrong.npy", "--validation", "val", "--max-drop", "0.05",
            "-o", "bundle", cwd=tmp_path)
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert r.returncode == 4, r.stderr[-2000:]
    assert len(errors) == 1 and "--max-drop 0.05" in errors[0] and "no bundle written" in errors[0], errors
    assert "rpi5" in r.stderr  # the table is still printed, so the figures are seen
    assert not (tmp_path / "bundle").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # The same data, calibrated properly, passes the same bound.
    r = cli(model, "--target", "rpi5", "--calibration", "val", "--validation", "val", "--max-drop", "0.05",
            "-o", "bundle", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "bundle" / "manifest.json").is_file()


def test_dynamic_range_precision_is_reachable_end_to_end(workdir, tmp_path):
    """rpi5:dynamic: int8 weights, float activations; no calibration asked for, the runtime runs it as it is."""
    from edgevision.formats.tflite import read_tflite

    result = convert(workdir / "classifier.keras", ["rpi5:dynamic"], out=tmp_path / "b",
                     overrides={"task": "classification"}, log=lambda m: None)
    (report,) = result.artifacts
    assert (report.target, report.precision, report.file) == ("rpi5", "dynamic", "classifier_dynamic.tflite")
    graph = read_tflite(result.path / report.file)
    assert graph.inputs[0].dtype == "float32"  # float activations: the input is not quantised
    assert any(t.dtype == "int8" and t.is_constant for t in graph.subgraphs[0].tensors)  # int8 weights
    assert result.manifest.artifacts["rpi5"].fidelity["top1_agreement"] >= 0.9
    with pytest.raises(UserInputError, match=r"expected a precision intel-cpu takes \(fp32, int8\), got 'dynamic'"):
        convert(workdir / "classifier.keras", ["intel-cpu:dynamic"], out=tmp_path / "c", log=lambda m: None)


# ------------------------------------------------------------------ issue 11: bring your own model
def test_a_drop_over_0_05_is_flagged_without_max_drop(tmp_path):
    """The table, stderr and the manifest say it; the bundle is still written (no --max-drop)."""
    model = Path(__file__).resolve().parents[2] / "examples" / "models" / "shapes_classifier.keras"
    from edgevision.converters.datasets import write_shapes_dataset

    write_shapes_dataset(tmp_path / "val", "classification", 40, 64, seed=41)
    np.save(tmp_path / "wrong.npy", np.random.default_rng(0).uniform(0, 3, (32, 64, 64, 3)).astype(np.float32))
    r = cli(model, "--target", "rpi5", "--calibration", "wrong.npy", "--validation", "val", "-o", "bundle", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "⚠ over 0.05" in r.stdout and "warning: rpi5: int8 artifact drop" in r.stderr
    fidelity = read_manifest(tmp_path / "bundle").artifacts["rpi5"].fidelity
    assert fidelity["drop"] > 0.05 and fidelity["flagged"].startswith(f"drop {fidelity['drop']:.4f} > 0.05")


def test_a_target_given_twice_with_two_precisions_is_refused(workdir, tmp_path):
    """Two rows were printed, one kept in the manifest, the other's files orphaned."""
    with pytest.raises(UserInputError, match="expected each target once in a bundle, got intel-cpu twice "
                                             r"\(fp32 and int8\)"):
        convert(workdir / "classifier.keras", ["intel-cpu:fp32", "intel-cpu:int8"], out=tmp_path / "b",
                calibration=workdir / "images", log=lambda m: None)
    assert not (tmp_path / "b").exists()


@pytest.fixture(scope="module")
def yolo_onnx(tmp_path_factory):
    import _exporters as ex

    return ex.yolov8_onnx(tmp_path_factory.mktemp("yolo") / "yolov8n.onnx")


def test_each_openvino_device_kind_gets_an_ir_quantised_for_it(yolo_onnx, workdir, tmp_path):
    """intel-cpu and intel-npu shared one IR quantised for target_device CPU before."""
    result = convert(yolo_onnx, ["intel-cpu", "intel-npu"], out=tmp_path / "b", calibration=workdir / "images",
                     log=lambda m: None)
    arts = result.manifest.artifacts
    assert arts["intel-cpu"].file != arts["intel-npu"].file
    assert arts["intel-cpu"].converter["target_device"] == "CPU" and arts["intel-npu"].converter["target_device"] == "NPU"
    assert {p.name for p in result.path.iterdir()} == {"manifest.json", "labels.txt", arts["intel-cpu"].file,
                                                       arts["intel-npu"].file, arts["intel-cpu"].weights["file"],
                                                       arts["intel-npu"].weights["file"]}  # nothing orphaned


def test_a_source_that_detects_nothing_is_a_warning(yolo_onnx, workdir, tmp_path):
    """Fidelity 1.0 against a source that finds nothing on the validation images means nothing: said so."""
    result = convert(yolo_onnx, ["intel-cpu:fp32"], out=tmp_path / "b", calibration=workdir / "images",
                     overrides={"mean": (255.0,) * 3, "std": (1.0,) * 3}, log=lambda m: None)
    assert any("detects nothing on the 4 validation images" in w for w in result.warnings)


def test_metadata_flags_and_pad_value_reach_the_bundle(yolo_onnx, workdir, tmp_path):
    r = cli(yolo_onnx, "--target", "intel-cpu:fp32", "--calibration", workdir / "images", "--pad-value", "100",
            "--box-format", "pixels", "--iou-threshold", "0.6", "-o", "b", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m["input"]["pad_value"] == 100 and m["input"]["resize"] == "letterbox"  # the flag, then the metadata
    assert m["decoder"]["iou_threshold"] == 0.6 and m["decoder"]["box_format"] == "pixels"
    assert m["labels"] == ["red", "green", "blue"] and "pad_value" not in m["source"]["metadata"]
    assert "labels from Ultralytics metadata_props of yolov8n.onnx (names)" in r.stderr


def test_onnx_dims_that_share_a_name_are_pinned(workdir, tmp_path):
    """PaddleOCR's input ["?", 3, "?", "?"] pinned to 1x3x48x192 for jetson-orin: "Can't replace existing fixed
    size of 48 with 192" before."""
    import _exporters as ex

    path = ex.paddle_classifier_onnx(tmp_path / "ch_ppocr_mobile_v2.0_cls.onnx")
    result = convert(path, ["jetson-orin", "intel-cpu:fp32"], out=tmp_path / "b", input_shape=(1, 3, 48, 192),
                     calibration=workdir / "images", overrides={"task": "classification"}, log=lambda m: None)
    assert result.manifest.artifacts["jetson-orin"].converter["pinned_dims"] == {"0": 1, "2": 48, "3": 192}
    assert result.load("jetson-orin").input_size == (192, 48)


def test_fp16_refuses_constants_beyond_its_range_naming_the_layer(workdir, tmp_path):
    """fp16 clamped a 1e6 constant to 65504 and the bundle was written without a word before."""
    import _exporters as ex

    from edgevision.errors import ConversionError

    path = ex.model_api_classifier_onnx(tmp_path / "scaled.onnx", big=1e6)
    with pytest.raises(ConversionError, match=r"expected constants within the float16 range .* got 1e\+06 in 'big' "
                                              r"of layer 'scale_up' \(Mul\).*--target jetson-orin:fp32"):
        convert(path, ["jetson-orin"], out=tmp_path / "b", calibration=workdir / "images", log=lambda m: None)
    assert not (tmp_path / "b").exists()
    # fp32 for the Jetson, and OpenVINO's fp16 (which keeps such constants in fp32 itself) stay exact.
    result = convert(path, ["jetson-orin:fp32", "intel-gpu"], out=tmp_path / "b", calibration=workdir / "images",
                     log=lambda m: None)
    assert all(a.drop == 0 for a in result.artifacts)
