"""Fixtures for the bench tests: tiny run counts, the zoo's classifier, and a bundle with a broken target.

The bundle holds, from artifacts made here (no download):

- ``cpu``: the zoo classifier's fp32 ``.tflite``
- ``intel-cpu``: its OpenVINO IR
- ``rpi5``: a full-integer int8 ``.tflite`` of it, with a fidelity entry
- ``rpi4``: a ``.tflite`` whose bytes change after the bundle is written (fails its sha256)
- ``coral-usb``: the int8 file labelled ``edgetpu-tflite`` (skipped here: no Edge TPU; fails when asked for)
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edgevision.bench import BenchConfig
from edgevision.bundle import Artifact, Manifest, write_bundle
from edgevision.decode import decoder_config

FIDELITY = {"images": 40, "metric": "top1_agreement", "top1_agreement": 0.95, "drop": 0.05,
            "drop_metric": "1 - top1_agreement"}


@pytest.fixture(scope="session")
def tiny() -> BenchConfig:
    """A bench that takes a fraction of a second: 1 warm-up, 5 timed runs, device sampled at 20 Hz."""
    return BenchConfig(warmup=1, runs=5, device_interval=0.05)


@pytest.fixture(scope="session")
def classifier(zoo) -> dict[str, Path]:
    return {k: Path(zoo["classifier"][k]) for k in ("tflite", "openvino", "onnx")}


@pytest.fixture(scope="session")
def int8_classifier(zoo, tmp_path_factory) -> Path:
    import _models

    return _models.int8_tflite(zoo["classifier"]["keras"], tmp_path_factory.mktemp("int8") / "int8.tflite", samples=4)


def build_bundle(dest: Path, classifier: dict[str, Path], int8: Path) -> Path:
    """The bundle described above, its rpi4 artifact corrupted after writing."""
    xml = classifier["openvino"]
    artifacts = {
        "cpu": Artifact(file="fp32.tflite", format="tflite", precision="fp32"),
        "intel-cpu": Artifact(file="model.xml", format="openvino-ir", precision="fp32"),
        "rpi5": Artifact(file="int8.tflite", format="tflite", precision="int8", fidelity=dict(FIDELITY)),
        "rpi4": Artifact(file="broken.tflite", format="tflite", precision="fp32"),
        "coral-usb": Artifact(file="int8_edgetpu.tflite", format="edgetpu-tflite", precision="int8"),
    }
    manifest = Manifest(task="classification", decoder=decoder_config("classification"), labels=list("abcde"),
                        artifacts=artifacts, name="bench-test")
    files = {"fp32.tflite": classifier["tflite"], "model.xml": xml, "model.bin": xml.with_suffix(".bin"),
             "int8.tflite": int8, "broken.tflite": classifier["tflite"], "int8_edgetpu.tflite": int8}
    write_bundle(dest, manifest, files)
    with open(dest / "broken.tflite", "r+b") as f:  # flip one byte: the sha256 no longer matches
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    return dest


@pytest.fixture(scope="session")
def bundle(classifier, int8_classifier, tmp_path_factory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("bench") / "bundle", classifier, int8_classifier)


@pytest.fixture(scope="session")
def images(scene, tmp_path_factory) -> Path:
    """A directory of three PNG images (a real --source)."""
    cv2 = pytest.importorskip("cv2")
    root = tmp_path_factory.mktemp("frames")
    for i, img in enumerate([scene.image, scene.image[:, ::-1], scene.image[::-1]]):
        assert cv2.imwrite(str(root / f"img{i}.png"), cv2.cvtColor(img.copy(), cv2.COLOR_RGB2BGR))
    return root


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest
