"""Tampering: a bundle's files changed after it was written are refused; swapped after the check, they never run.

Every file a runtime loads is covered: a ``.tflite`` (LiteRT, and the Edge TPU's), an
OpenVINO IR's ``.xml`` and ``.bin``, an ``.onnx`` and its external data. One byte
changed anywhere in any of them is refused by ``edgevision.load`` and by ``inspect``.
A file swapped for another model between the check and the load (the race a path
reopened after hashing would lose) changes nothing: the bytes checked are the bytes the
runtime gets, so the model runs as written.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import _forge
import numpy as np
import pytest

import edgevision
from edgevision import integrity
from edgevision.cli import main
from edgevision.errors import ManifestError


@pytest.fixture(scope="module")
def bundles(kit, tmp_path_factory):
    """One bundle per runtime file kind, and an impostor for each file (another valid model's bytes)."""
    root = tmp_path_factory.mktemp("tamper")
    tfl = root / "coral"
    _forge.bundle(tfl, {"cls.tflite": kit.cls_tflite}, {"cpu": ("cls.tflite", "tflite"),
                                                        "coral-usb": ("cls.tflite", "edgetpu-tflite")},
                  labels=list("abcde"))
    det_ir = _forge.ir_from_onnx(kit.det_onnx, root / "impostor" / "det.xml")
    ext = root / "impostor" / "ext.onnx"
    _forge.onnx_external(ext, "ext.onnx.data")
    (root / "impostor" / "ext.onnx.data").write_bytes(np.array([-8.0, 0, 8.0], np.float32).tobytes())  # reversed
    return {
        "tflite": (tfl, "cpu", "cls.tflite", None),  # the impostor: the session's YOLO .tflite (see the test)
        "edgetpu-tflite": (tfl, "coral-usb", "cls.tflite", None),
        "onnx": (kit.b_onnx, "jetson-orin", "colour.onnx", kit.det_onnx.read_bytes()),
        "xml": (kit.b_ir, "intel-cpu", "colour.xml", det_ir.read_bytes()),
        "bin": (kit.b_ir, "intel-cpu", "colour.bin", det_ir.with_suffix(".bin").read_bytes()),
        "external-data": (kit.b_ext, "jetson-orin", "colour_ext.onnx.data", (root / "impostor" / "ext.onnx.data")
                          .read_bytes()),
    }


FILES = ["tflite", "edgetpu-tflite", "onnx", "xml", "bin", "external-data"]


@pytest.mark.parametrize("kind", FILES)
@pytest.mark.parametrize("at", [0.0, 0.5, 1.0], ids=["first-byte", "middle-byte", "last-byte"])
def test_one_byte_changed_after_the_bundle_was_written_is_refused(bundles, kind, at, tmp_path, capsys):
    src, target, file, _ = bundles[kind]
    bundle = _forge.clone(src, tmp_path / "bundle")
    _forge.flip_byte(bundle / file, at)
    with pytest.raises(ManifestError, match=rf"expected sha256 [0-9a-f]{{12}}… for {file}, got [0-9a-f]{{12}}…"):
        edgevision.load(bundle, target=target)
    assert main(["inspect", str(bundle)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and file in captured.err and captured.out == ""  # one line, naming the file


def _swap_after_check(monkeypatch, bundle: Path, file: str, impostor: bytes) -> list[str]:
    """Once ``file`` of ``bundle`` has been read and checked, replace it on disk with ``impostor``."""
    real, swapped = integrity.read_file, []

    def read_then_swap(directory, name, **kwargs):
        data = real(directory, name, **kwargs)
        if Path(directory) == bundle and name == file:
            (bundle / file).write_bytes(impostor)
            swapped.append(name)
        return data

    monkeypatch.setattr(integrity, "read_file", read_then_swap)
    return swapped


def _outputs(model) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    tensor = rng.random(model.backend.inputs[0].shape).astype(model.backend.inputs[0].dtype)
    return model.infer_raw(tensor)


@pytest.mark.parametrize("kind, backend", [("tflite", None), ("tflite", "openvino"), ("onnx", None),
                                           ("onnx", "openvino"), ("xml", None), ("bin", None),
                                           ("external-data", None), ("external-data", "openvino")])
def test_a_file_swapped_between_the_check_and_the_load_never_runs(bundles, zoo, kind, backend, tmp_path, monkeypatch):
    src, target, file, impostor = bundles[kind]
    if kind == "tflite":  # another valid LiteRT model with the same input: the session's YOLO-layout detector
        impostor = Path(zoo["yolo"]["tflite"]).read_bytes()
    bundle = _forge.clone(src, tmp_path / "bundle")
    expected = _outputs(edgevision.load(bundle, target=target, backend=backend, threads=1))
    swapped = _swap_after_check(monkeypatch, bundle, file, impostor)
    model = edgevision.load(bundle, target=target, backend=backend, threads=1)
    assert swapped == [file] and (bundle / file).read_bytes() == impostor  # the file on disk is the impostor now
    got = _outputs(model)
    assert [o.shape for o in got] == [o.shape for o in expected]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # the checked bytes ran, not the impostor
    monkeypatch.undo()
    with pytest.raises(ManifestError, match=rf"(for|in) {file}"):  # and the next load sees the swap for what it is
        edgevision.load(bundle, target=target, backend=backend, threads=1)


def test_the_impostors_would_have_changed_the_results(bundles, kit, tmp_path):
    """The swap test proves something only if the impostor runs differently from the file it replaces."""
    ext = tmp_path / "ext"
    shutil.copytree(kit.b_ext, ext)
    red = _forge.solid(0)
    assert edgevision.load(ext).predict(red).names[0] == "red"
    (ext / "colour_ext.onnx.data").write_bytes(bundles["external-data"][3])
    model = edgevision.load(ext / "colour_ext.onnx", labels=_forge.COLOURS)  # the bare file: no manifest to check
    assert model.predict(red).names[0] != "red"


def test_loading_a_bundle_reads_each_file_once_and_needs_it_no_more(kit, tmp_path, monkeypatch):
    """Every file is read once, through integrity.read_file; the loaded model runs with the bundle gone."""
    from edgevision import bundle as bundle_module

    calls: list[str] = []
    real = integrity.read_file

    def counting(directory, name, **kwargs):
        calls.append(name)
        return real(directory, name, **kwargs)

    monkeypatch.setattr(integrity, "read_file", counting)
    monkeypatch.setattr(bundle_module, "read_file", counting)
    for src, expected in ((kit.b_ir, ["colour.bin", "colour.xml"]), (kit.b_ext, ["colour_ext.onnx", "colour_ext.onnx.data"]),
                          (kit.b_onnx, ["colour.onnx"])):
        calls.clear()
        bundle = _forge.clone(src, tmp_path / src.name)
        model = edgevision.load(bundle, threads=1)
        assert sorted(calls) == sorted(["manifest.json", *expected])
        shutil.rmtree(bundle)
        assert model.predict(_forge.solid(0)).names[0] == "red"
