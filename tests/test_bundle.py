"""Bundles: write atomically, read back validated, pick the artifact for this machine, verify sha256 at load."""
from __future__ import annotations

import json

import numpy as np
import pytest

import edgevision
from edgevision.bundle import Artifact, Manifest, read_manifest, sha256_file, write_bundle
from edgevision.decode import decoder_config
from edgevision.errors import BackendUnavailableError, ManifestError, UserInputError
from edgevision.preprocess import InputFormat

pytestmark = pytest.mark.slow


def make_bundle(zoo, dest, targets=("cpu", "intel-cpu", "jetson-orin")):
    cls = zoo["classifier"]
    xml = cls["openvino"]
    files = {"model.tflite": cls["tflite"], "model.xml": xml, "model.bin": xml.with_suffix(".bin"),
             "model.onnx": cls["onnx"]}
    by_target = {"cpu": Artifact("model.tflite", "tflite", "fp32"), "rpi5": Artifact("model.tflite", "tflite", "fp32"),
                 "intel-cpu": Artifact("model.xml", "openvino-ir", "fp32"),
                 "jetson-orin": Artifact("model.onnx", "onnx", "fp32")}
    manifest = Manifest(task="classification", labels=list("abcde"), decoder=decoder_config("classification", {"top_k": 2}),
                        input=InputFormat(resize="centre-crop"), artifacts={t: by_target[t] for t in targets},
                        name="test-classifier", source={"file": "classifier.keras", "sha256": "0" * 64})
    return write_bundle(dest, manifest, files, overwrite=True)


def test_write_then_read_round_trips(zoo, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b")
    m = read_manifest(bundle)
    assert m.task == "classification" and m.labels == list("abcde")
    assert m.input.resize.value == "centre-crop" and m.decoder["top_k"] == 2
    art = m.artifacts["intel-cpu"]
    assert art.sha256 == sha256_file(bundle / "model.xml") and art.size == (bundle / "model.xml").stat().st_size
    assert (bundle / "labels.txt").read_text().split() == list("abcde")
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temporary directory left beside it


def test_every_artifact_runs_and_agrees(zoo, scene, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b")
    results = {}
    for target in ("cpu", "intel-cpu", "jetson-orin"):
        model = edgevision.load(bundle, target=target)
        assert model.artifact["target"] == target
        results[target] = model.predict(scene.image)
    backends = {t: edgevision.load(bundle, target=t).info()["backend"]["backend"] for t in results}
    assert backends == {"cpu": "litert", "intel-cpu": "openvino", "jetson-orin": "onnxruntime"}
    ids = {t: r.class_id.tolist() for t, r in results.items()}
    assert len({tuple(v) for v in ids.values()}) == 1, ids
    for r in results.values():
        np.testing.assert_allclose(r.confidence, results["cpu"].confidence, atol=1e-4)


def test_auto_prefers_a_recognised_device_and_says_why(zoo, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b")
    model = edgevision.load(bundle)  # this host is recognised as the generic "cpu" target
    assert model.artifact["target"] == "cpu" and "this machine is cpu" in model.artifact["selected"]


def test_auto_falls_back_to_a_cpu_artifact_out_loud(zoo, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b", targets=("rpi5", "jetson-orin"))
    model = edgevision.load(bundle)
    assert model.artifact["target"] == "rpi5"
    assert "on this host's CPU" in model.artifact["selected"]
    assert model.info()["backend"]["threads"] >= 1


def test_decoder_options_override_the_manifest(zoo, scene, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b")
    assert len(edgevision.load(bundle, top_k=4).predict(scene.image)) == 4
    with pytest.raises(UserInputError, match="iou_threshold"):
        edgevision.load(bundle, iou_threshold=0.5)


def test_tampered_artifact_is_refused_before_loading(zoo, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b")
    data = bytearray((bundle / "model.onnx").read_bytes())
    data[-1] ^= 0xFF
    (bundle / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="sha256"):
        edgevision.load(bundle, target="jetson-orin")
    edgevision.load(bundle, target="cpu")  # the other artifacts still load


def test_manifest_written_is_plain_json_with_schema_1(zoo, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b")
    data = json.loads((bundle / "manifest.json").read_text())
    assert data["schema"] == 1 and set(data["artifacts"]) == {"cpu", "intel-cpu", "jetson-orin"}
    assert data["decoder"] == {"type": "classification", "top_k": 2, "score_threshold": 0.0, "logits": None}


def test_coral_target_needs_the_edgetpu_library(zoo):
    # Real call: this machine has no libedgetpu, so LiteRT's load_delegate fails and we say what is missing.
    with pytest.raises(BackendUnavailableError, match=r"libedgetpu\.so\.1"):
        edgevision.load(zoo["classifier"]["tflite"], target="coral-usb")


def test_coral_delegate_gets_the_device_option(zoo, monkeypatch):
    """Stand-in for libedgetpu: records what LiteRT's load_delegate is asked for, then fails like a missing device."""
    import ai_edge_litert.interpreter as litert

    calls = []

    def fake_load_delegate(library, options=None):
        calls.append((library, options))
        raise ValueError("Failed to load delegate from libedgetpu.so.1")

    monkeypatch.setattr(litert, "load_delegate", fake_load_delegate)
    monkeypatch.setattr("edgevision.backends.litert.library_loads", lambda library: None)  # the library "is there"
    with pytest.raises(BackendUnavailableError):
        edgevision.load(zoo["classifier"]["tflite"], target="coral-pcie")
    assert calls == [("libedgetpu.so.1", {"device": "pci"})]


@pytest.mark.hardware
def test_edgetpu_model_runs_on_a_coral(scene):
    """On a Coral host: EDGEVISION_EDGETPU_MODEL=path/to/model_edgetpu.tflite pytest -m hardware."""
    import os

    path = os.environ.get("EDGEVISION_EDGETPU_MODEL")
    if not path:
        pytest.skip("set EDGEVISION_EDGETPU_MODEL to an _edgetpu.tflite model")
    model = edgevision.load(path, target="coral-usb", task="classification")
    assert model.info()["backend"]["device"] == "edgetpu"
    assert len(model.predict(scene.image)) >= 1


def test_zipped_bundle_loads_like_the_directory(zoo, scene, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    bundle = make_bundle(zoo, tmp_path / "b")
    archive = shutil.make_archive(str(tmp_path / "b"), "zip", root_dir=tmp_path, base_dir="b")
    from_zip = edgevision.load(archive, target="cpu").predict(scene.image)
    from_dir = edgevision.load(bundle, target="cpu").predict(scene.image)
    assert from_zip.class_id.tolist() == from_dir.class_id.tolist()
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(ManifestError, match="zip"):
        edgevision.load(tmp_path / "bad.zip")


def test_tampered_openvino_weights_are_refused(zoo, tmp_path):
    bundle = make_bundle(zoo, tmp_path / "b")
    assert read_manifest(bundle).artifacts["intel-cpu"].weights["file"] == "model.bin"
    data = bytearray((bundle / "model.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundle / "model.bin").write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="model.bin"):
        edgevision.load(bundle, target="intel-cpu")


def test_a_manifest_written_before_box_format_still_reads():
    """Bundles on devices say ``"normalized": true``; the option is ``box_format`` now."""
    from edgevision.bundle import parse_manifest

    data = {"schema": 1, "task": "detection", "decoder": {"type": "yolo", "normalized": True},
            "artifacts": {"cpu": {"file": "m.tflite", "format": "tflite", "precision": "fp32", "sha256": "0" * 64}}}
    assert parse_manifest(data).decoder["box_format"] == "normalized"
