"""edgevision/metadata: each carrier read without its library, mapped to load() settings with their origins;
flags override; a malformed carrier is a typed error; ``inspect`` shows where each setting came from."""
from __future__ import annotations

import json
import zipfile

import _exporters as ex
import _tf_exporters as tfx
import pytest

import edgevision
from edgevision.cli import main
from edgevision.errors import ModelFileError
from edgevision.metadata import read_metadata
from edgevision.metadata.carriers import onnx_metadata_props, openvino_rt_info


def test_ultralytics_onnx_metadata_props(tmp_path):
    path = ex.yolov8_onnx(tmp_path / "yolov8n.onnx")
    import onnx

    assert onnx_metadata_props(path) == {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    meta = read_metadata(path)
    s = meta.settings
    assert s["labels"] == list(ex.LABELS) and s["size"] == (64, 64) and s["task"] == "detection"
    assert (s["resize"], s["pad_value"], s["mean"], s["std"]) == ("letterbox", 114, (0.0,) * 3, (255.0,) * 3)
    assert (s["score_threshold"], s["iou_threshold"], s["max_detections"], s["box_format"]) == (0.25, 0.7, 300, "pixels")
    assert meta.origins["labels"] == "Ultralytics metadata_props of yolov8n.onnx (names)"
    assert meta.exporter == "Ultralytics 8.3.40"


def test_ultralytics_imgsz_is_height_then_width(tmp_path):
    path = ex.yolov8_onnx(tmp_path / "wide.onnx", props=ex.ultralytics_props(imgsz=[480, 640]))
    assert read_metadata(path).settings["size"] == (640, 480)


def test_nms_export_and_end2end_name_the_end_to_end_decoder(tmp_path):
    assert read_metadata(ex.end2end_onnx(tmp_path / "nms.onnx")).settings["decoder"] == "yolo-end2end"
    props = ex.ultralytics_props(end2end=True)
    assert read_metadata(ex.yolov8_onnx(tmp_path / "v10.onnx", props=props)).settings["decoder"] == "yolo-end2end"


def test_yolov5_metadata_gives_names_only(tmp_path):
    meta = read_metadata(ex.yolov5_onnx(tmp_path / "yolov5s.onnx"))
    assert meta.settings["labels"] == list(ex.LABELS) and "task" not in meta.settings
    assert meta.origins["labels"].startswith("YOLOv5 metadata_props")


def test_openvino_metadata_yaml_and_rt_info(tmp_path):
    xml = ex.ultralytics_openvino(ex.yolov8_onnx(tmp_path / "yolov8n.onnx"), tmp_path / "yolov8n_openvino_model")
    rt = openvino_rt_info(xml)["model_info"]
    assert rt["pad_value"] == "114" and rt["labels"] == "red green blue" and rt["reverse_input_channels"] == "YES"
    meta = read_metadata(xml)
    assert meta.origins["labels"] == "Ultralytics metadata.yaml beside yolov8n.xml (names)"
    assert meta.raw["model_info"]["resize_type"] == "fit_to_window_letterbox"
    (xml.parent / "metadata.yaml").unlink()  # rt_info alone says as much
    alone = read_metadata(xml)
    assert alone.settings["pad_value"] == 114 and alone.settings["color"] == "RGB"
    assert alone.settings["resize"] == "letterbox" and alone.origins["pad_value"] == "rt_info model_info of yolov8n.xml"


def test_tflite_appended_metadata_json(tmp_path):
    path = tfx.ultralytics_tflite(tmp_path / "yolov8n_float32.tflite")
    meta = read_metadata(path)
    assert meta.settings["box_format"] == "normalized" and meta.settings["labels"] == list(ex.LABELS)
    assert meta.origins["box_format"] == "Ultralytics metadata.json appended to yolov8n_float32.tflite (export format)"


def test_tflite_support_metadata_labels_and_normalisation(tmp_path):
    meta = read_metadata(tfx.tflite_support_classifier(tmp_path / "cls.tflite"))
    assert meta.settings == {"mean": (127.5,), "std": (127.5,), "labels": list(ex.LABELS)}
    assert meta.raw["tflite_support"]["labels_file"] == "labels.txt"


def test_model_api_bgr_unless_reverse_input_channels(tmp_path):
    path = ex.model_api_classifier_onnx(tmp_path / "bgr.onnx", props={"model_info labels": "a b c",
                                                                       "model_info reverse_input_channels": "False"})
    assert read_metadata(path).settings["color"] == "BGR"  # the Model API reads BGR frames


def test_flags_override_the_metadata_one_by_one(tmp_path):
    path = ex.yolov8_onnx(tmp_path / "yolov8n.onnx")
    model = edgevision.load(path, labels=["a", "b", "c"], iou_threshold=0.5, resize="stretch")
    assert model.labels == ("a", "b", "c") and model.decoder["iou_threshold"] == 0.5
    assert model.input_format.resize.value == "stretch" and model.input_format.pad_value == 114
    assert "labels" not in model.info()["artifact"]["metadata"] and "pad_value" in model.info()["artifact"]["metadata"]


def test_a_model_without_metadata_reads_as_before(tmp_path):
    from _onnx_models import bright_spot_detector

    path = bright_spot_detector(tmp_path / "det.onnx")
    assert not read_metadata(path) and "metadata" not in edgevision.load(path).info()["artifact"]


def test_malformed_carriers_are_typed_errors(tmp_path):
    bad_yaml = tmp_path / "m" / "model.xml"
    xml = ex.ultralytics_openvino(ex.yolov8_onnx(tmp_path / "model.onnx"), bad_yaml.parent)
    (xml.parent / "metadata.yaml").write_text("names: [unclosed\n")
    with pytest.raises(ModelFileError, match="expected YAML in .*metadata.yaml"):
        read_metadata(xml)
    tfl = tfx.ultralytics_tflite(tmp_path / "y.tflite")
    data = tfl.read_bytes()
    clean = data[: data.index(b"PK\x03\x04")]
    tfl.write_bytes(clean)
    with zipfile.ZipFile(tfl, "a") as zf:
        zf.writestr("metadata.json", "{not json")
    with pytest.raises(ModelFileError, match="expected JSON in the metadata.json appended to y.tflite"):
        read_metadata(tfl)
    onnx_bad = ex.yolov8_onnx(tmp_path / "bad.onnx", props=ex.ultralytics_props() | {"names": "{0: 'a'"})
    with pytest.raises(ModelFileError, match="expected a Python literal for Ultralytics metadata 'names'"):
        read_metadata(onnx_bad)


def test_inspect_shows_each_setting_with_where_it_came_from(tmp_path, capsys):
    path = ex.yolov8_onnx(tmp_path / "yolov8n.onnx")
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "metadata (Ultralytics 8.3.40)" in out
    assert "pad_value: 114  (from Ultralytics metadata_props of yolov8n.onnx (Ultralytics' predict defaults))" in out
    assert main(["inspect", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["metadata"]["settings"]["labels"] == list(ex.LABELS)
    assert report["metadata"]["origins"]["size"] == "Ultralytics metadata_props of yolov8n.onnx (imgsz)"
