"""``edgevision.archive``: a zipped bundle unpacks once, complete and checked, or not at all."""
from __future__ import annotations

import json
import zipfile

import _onnx_models
import pytest

import edgevision
from edgevision.archive import extract_bundle
from edgevision.bundle import Artifact, Manifest, write_bundle
from edgevision.decode import decoder_config
from edgevision.errors import ManifestError


@pytest.fixture
def zipped(tmp_path):
    model = _onnx_models.colour_classifier(tmp_path / "colour.onnx")
    manifest = Manifest(task="classification", decoder=decoder_config("classification"), labels=["r", "g", "b"],
                        artifacts={"jetson-orin": Artifact(file="colour.onnx", format="onnx", precision="fp32")})
    bundle = write_bundle(tmp_path / "bundle", manifest, {"colour.onnx": model})
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for p in bundle.iterdir():
            zf.write(p, p.name)
    return path


def test_unpacks_once_and_reuses_the_copy_while_its_manifest_is_the_zips(zipped, tmp_path):
    cache = tmp_path / "cache"
    first = extract_bundle(zipped, cache)
    assert extract_bundle(zipped, cache) == first and len(list(cache.iterdir())) == 1
    (first / "manifest.json").write_text(json.dumps({"schema": 1}))  # a cached manifest that is not the zip's
    again = extract_bundle(zipped, cache)
    assert again == first and json.loads((again / "manifest.json").read_text())["task"] == "classification"
    assert edgevision.load(again).predict(__import__("numpy").zeros((8, 8, 3), "uint8")) is not None


def test_a_zip_whose_artifact_fails_its_manifest_leaves_nothing(zipped, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(zipped) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data[:-1] + bytes([data[-1] ^ 1]) if info.filename == "colour.onnx" else data)
    cache = tmp_path / "cache"
    with pytest.raises(ManifestError, match=r"expected sha256 .* for colour.onnx"):
        extract_bundle(bad, cache)
    assert not any(cache.iterdir())
