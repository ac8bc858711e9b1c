"""PyTorch-side ONNX models to every int8 target: what issue 12 must show.

The three reference models exported in this session as the PyTorch exporters write them (the
``onnx_references`` fixture: Ultralytics' YOLOv8 layout ``[1, 4+nc, N]`` with its metadata, an NCHW
classifier, a torchvision-style NCHW segmenter) convert to ``rpi5`` int8 (LiteRT, through onnx2tf),
``coral-usb`` (full integer: no float tensor, op report), ``intel-cpu`` int8 (NNCF) and ``jetson-orin``
int8 (QDQ), each with its fidelity against the ONNX source (ONNX Runtime) and a per-layer report in
the manifest and in ``convert --json``.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgevision.bundle import read_manifest
from edgevision.converters.convert import convert
from edgevision.converters.datasets import write_shapes_dataset
from edgevision.converters.tflite import float_tensors
from edgevision.formats.tflite import read_tflite

pytestmark = pytest.mark.slow
TARGETS = ["rpi5", "coral-usb", "intel-cpu", "jetson-orin:int8"]
INT8 = ("rpi5", "coral-usb", "intel-cpu", "jetson-orin")
TASKS = {"detector": "detection", "classifier": "classification", "segmenter": "segmentation"}
SIZES = {"detector": 128, "classifier": 64, "segmenter": 96}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Square shapes scenes (letterbox and centre-crop then change nothing) with ground truth, per task."""
    root = tmp_path_factory.mktemp("onnx_data")
    for kind, task in TASKS.items():
        frame = 2 * SIZES[kind]
        write_shapes_dataset(root / kind / "calibration", task, 100, frame, seed=41)
        write_shapes_dataset(root / kind / "validation", task, 80, frame, seed=42)
    return root


@pytest.fixture(scope="module", params=["detector", "segmenter"])
def converted(request, onnx_references, data, tmp_path_factory):
    kind = request.param
    out = tmp_path_factory.mktemp(f"onnx_{kind}") / "bundle"
    bundle = convert(onnx_references[kind], TARGETS, out=out, calibration=data / kind / "calibration",
                     validation=data / kind / "validation", log=lambda m: None)
    return kind, read_manifest(bundle.path), bundle


def test_every_int8_target_has_its_fidelity_and_per_layer_report(converted):
    kind, manifest, bundle = converted
    assert manifest.task == TASKS[kind] and manifest.source["format"] == "onnx"
    for target in INT8:
        art = manifest.artifacts[target]
        assert art.precision == "int8"
        assert art.fidelity["images"] == 80 and art.fidelity["metric"] and "measured_on" in art.fidelity
        layers = art.report["layers"]
        assert layers["worst"] and layers["layers_measured"] >= len(layers["worst"]) and layers["samples"] > 0
        assert layers["worst"] == sorted(layers["worst"], key=lambda r: r["sqnr_db"])  # worst first
    rows = {r["target"]: r for r in bundle.rows}
    assert all(rows[t]["layers"]["worst"] for t in INT8)  # convert --json carries them too


def test_the_tflite_artifacts_come_from_onnx2tf_in_nhwc(converted):
    kind, manifest, _bundle = converted
    size = SIZES[kind]
    for target in ("rpi5", "coral-usb"):
        art = manifest.artifacts[target]
        assert art.converter["onnx2tf"]["tool"] == "onnx2tf" and art.converter["onnx2tf"]["layout"] == "NHWC"
        assert art.input["shape"] == [1, size, size, 3]
    assert manifest.artifacts["jetson-orin"].input["shape"] == [1, 3, size, size]  # ONNX keeps the source's NCHW
    if kind == "segmenter":  # the NCHW logits [1, 4, H, W] come out NHWC from onnx2tf: the manifest says which
        assert manifest.artifacts["rpi5"].outputs[0]["shape"] == [1, size, size, 4]
        assert manifest.artifacts["rpi5"].outputs[0]["layout"] == "NHWC"
        assert manifest.artifacts["intel-cpu"].outputs[0]["layout"] == "NCHW"


def test_the_coral_artifact_is_fully_integer_with_its_op_report(converted):
    _kind, manifest, bundle = converted
    art = manifest.artifacts["coral-usb"]
    graph = read_tflite(bundle.path / art.file)
    assert float_tensors(graph) == []
    assert {t.dtype for t in graph.inputs + graph.outputs} == {"uint8"}
    summary = art.report["summary"]
    assert summary["ops"] > 0 and summary["all_mapped"], art.report
    assert "float_layers" not in art.converter  # the Edge TPU takes none


def test_the_detector_keeps_its_boxes_on_every_int8_target(converted):
    kind, manifest, _bundle = converted
    if kind != "detector":
        pytest.skip("detector only")
    fid = {t: manifest.artifacts[t].fidelity for t in INT8}
    for target in INT8:  # coral-usb too: full integer, with the cell positions added by the runtime in float
        assert fid[target]["boxes_kept"] >= 0.98, (target, fid[target])
    for target, f in fid.items():
        assert f["source_map50_95"] - f["map50_95"] <= 0.05, (target, f)
        assert abs(f["coco_map50"] - f["map50"]) <= 0.02, (target, f)  # pycocotools cross-checks our mAP@0.5
    for target in INT8:  # a build that missed the gate says so, and what it did about it
        gate = manifest.artifacts[target].converter.get("int8_gate")
        if gate:
            assert gate["figure"] == "boxes_kept" and gate["int8"] < 0.98 <= gate["bar"] + 1e-9
            if target == "coral-usb":
                assert gate["kept"] == "full int8: edgetpu-tflite takes no float layer"
            else:
                assert gate["float_layers"] and gate["mixed"] == fid[target]["boxes_kept"]
    for target in ("rpi5", "coral-usb"):  # the head cut into boxes and scores, each with its own int8 scale
        outputs = manifest.artifacts[target].outputs
        assert sorted(o["shape"][1] for o in outputs) == [3, 4]
        scales = {o["shape"][1]: o["quantization"]["scale"] for o in outputs}
        assert scales[4] > 50 * scales[3]
        head = manifest.artifacts[target].converter["onnx2tf"]["head_split"]
        assert "cut Concat" in head["done"] and head["offsets"].startswith("lifted"), head
        assert head["offsets_carried_by"] == [o["name"] for o in outputs if o["shape"][1] == 4]


def test_the_coral_artifact_carries_its_cell_positions_without_the_bundle(converted, data, onnx_references):
    """The .tflite taken out of the bundle, given only what any YOLO file needs, keeps the source's boxes as the
    manifest says: the positions it needs travel inside it."""
    from edgevision.converters import fidelity
    from edgevision.converters.calibration import find_images, load_samples
    from edgevision.converters.coco import boxes_kept
    from edgevision.formats.tflite import metadata_entry
    from edgevision.model import load
    from edgevision.offsets import METADATA_NAME

    kind, manifest, bundle = converted
    if kind != "detector":
        pytest.skip("detector only")
    file = bundle.path / manifest.artifacts["coral-usb"].file
    assert metadata_entry(file.read_bytes(), METADATA_NAME)
    assert METADATA_NAME in read_tflite(file).metadata  # and `edgevision inspect` lists it
    fmt = {k: v for k, v in manifest.input.to_dict().items() if v is not None and k not in ("layout", "size")}
    options = {k: v for k, v in manifest.decoder.items() if k not in ("type", "box_format")}
    bare = load(file, task="detection", decoder="yolo", labels=list(manifest.labels), box_format="pixels", **fmt,
                **options)
    source = load(onnx_references["detector"])
    samples = load_samples(find_images(data / "detector" / "validation"), "detection", list(manifest.labels))
    reference = [(r.xyxy, r.class_id) for r in fidelity.run_model(source, samples)]
    kept = boxes_kept(fidelity.run_model(bare, samples), reference)
    assert kept == pytest.approx(manifest.artifacts["coral-usb"].fidelity["boxes_kept"], abs=1e-4)



def test_the_classifier_converts_through_the_cli_with_the_layer_report_in_json(onnx_references, data, tmp_path):
    out = tmp_path / "bundle"
    proc = subprocess.run([sys.executable, "-m", "edgevision", "convert", str(onnx_references["classifier"]),
                           "--target", "rpi5", "--target", "coral-usb", "--target", "intel-cpu",
                           "--target", "jetson-orin:int8", "--calibration", str(data / "classifier" / "calibration"),
                           "--validation", str(data / "classifier" / "validation"), "-o", "bundle", "--json"],
                          capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path)  # -o relative
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tf.lite.Interpreter is deprecated" not in proc.stderr  # TensorFlow's chatter stays out of the log
    result = json.loads(proc.stdout)
    rows = {r["target"]: r for r in result["rows"]}
    for target in INT8:
        assert rows[target]["fidelity"]["top1_agreement"] >= 0.98, rows[target]
        assert rows[target]["layers"]["worst"][0]["sqnr_db"] < 60
    manifest = read_manifest(out)
    assert manifest.artifacts["rpi5"].input["shape"] == [1, 64, 64, 3]
    assert manifest.source["metadata"]["labels"].startswith("Ultralytics")  # names read from its metadata_props


def test_a_tensorflow_detector_through_tf2onnx_converts_to_the_coral_keeping_its_boxes(onnx_references, data,
                                                                                      tmp_path):
    """tf2onnx's export of the Keras detector: an NHWC input (kept NHWC by onnx2tf) and a head with no Concat (one
    conv, reshaped): sliced into boxes and scores, split back to the conv, the cell positions lifted."""
    result = convert(onnx_references["detector_tf"], ["coral-usb", "rpi5"], out=tmp_path / "bundle",
                     calibration=data / "detector" / "calibration", validation=data / "detector" / "validation",
                     log=lambda m: None)
    manifest = read_manifest(result.path)
    for target in ("coral-usb", "rpi5"):
        art = manifest.artifacts[target]
        assert art.input["shape"] == [1, 128, 128, 3]
        head = art.converter["onnx2tf"]["head_split"]
        assert head["done"].startswith("cut output into output_boxes [1, 256, 4], output_scores [1, 256, 3]"), head
        assert head["offsets"].startswith("lifted"), head
        assert art.fidelity["boxes_kept"] >= 0.98, (target, art.fidelity)
    assert "float_layers" not in manifest.artifacts["rpi5"].converter  # full integer passes the gate
