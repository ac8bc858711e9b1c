"""targets/catalogue.py: the one table of formats, backends and kinds; a toy format added through it alone.

The toy format ".toy" is an ONNX file under another name, run by a toy backend (ONNX
Runtime under another name) and built by a toy converter (a copy of an ONNX source).
Registering the three is all it takes for a user's target profile, ``convert`` (fidelity
included), the bundle and ``load`` to handle it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import edgevision
from edgevision.backends import backend_for, open_backend
from edgevision.backends.onnxruntime import ONNXRuntimeBackend
from edgevision.converters.base import Converter, ConvertJob, ConvertOutput
from edgevision.errors import ModelFileError, UserInputError
from edgevision.targets import load_target
from edgevision.targets.catalogue import (
    BACKENDS,
    FORMATS,
    KINDS,
    ArtifactFormat,
    BackendName,
    BackendSpec,
    FormatSpec,
    Precision,
    TargetKind,
    format_of,
    kind_of,
    parse_format,
    register_backend,
    register_format,
    unregister,
)


def test_every_format_has_a_backend_that_reads_it_and_a_converter():
    for fmt, spec in FORMATS.items():
        assert fmt in BACKENDS[spec.backend].reads, fmt
        assert spec.converter.startswith("edgevision.converters.")
    assert BACKENDS[BackendName.OPENVINO].suffixes == (".tflite", ".xml", ".onnx")
    assert [str(f) for f in ArtifactFormat] == list(FORMATS) and [str(p) for p in Precision][-1] == "int8"
    assert set(KINDS) == set(TargetKind) and KINDS[TargetKind.EDGETPU].cpu_fallback_rank is None


def test_suffixes_and_names():
    assert (format_of("a.tflite"), format_of("b.XML"), backend_for("c.onnx")) == ("tflite", "openvino-ir", "onnxruntime")
    assert format_of("a.tflite") is ArtifactFormat.TFLITE and parse_format("onnx") is ArtifactFormat.ONNX
    with pytest.raises(ModelFileError, match=r"expected a model file ending in \.tflite, \.xml, \.onnx"):
        format_of("model.pt")
    with pytest.raises(UserInputError, match="expected an artifact format among tflite, edgetpu-tflite, "
                                             "openvino-ir, onnx, got 'trt'"):
        parse_format("trt")


def test_every_shipped_profile_has_a_kind_and_a_distinct_preference():
    from edgevision.targets import TARGET_IDS

    prefs = [load_target(t).preference for t in TARGET_IDS]
    assert None not in prefs and len(set(prefs)) == len(prefs)
    assert kind_of(BackendName.OPENVINO, "GPU.1", None) is TargetKind.GPU
    assert {t: load_target(t).kind.value for t in ("coral-pcie", "intel-npu", "jetson-nano", "rpi4")} == {
        "coral-pcie": "edgetpu", "intel-npu": "npu", "jetson-nano": "gpu", "rpi4": "cpu"}


class ToyBackend(ONNXRuntimeBackend):
    """ONNX Runtime, reading the toy format's .toy files."""

    name = "toy"
    suffixes = (".toy",)


class ToyConverter(Converter):
    """The toy format from an ONNX source: a copy, under the toy suffix."""

    format = "toy"
    precisions = ("fp32",)
    sources = ("onnx",)

    def convert(self, job: ConvertJob) -> ConvertOutput:
        out = job.outdir / f"{job.stem}.toy"
        shutil.copyfile(job.source.path, out)
        return ConvertOutput(file=out, format="toy", precision=job.precision, converter={"tool": "copy"})


TOY_PROFILE = """\
id = "toy-board"
name = "Toy board"

[artifact]
format = "toy"
precision = "fp32"
precisions = ["fp32"]

[runtime]
backend = "toy"
device = "CPU"
threads = 1

[shape]
static = true
batch = 1
max_rank = 0
"""


@pytest.fixture
def toy_format():
    register_backend("toy", BackendSpec("Toy runtime", frozenset({"toy"}), ("onnxruntime",), "onnx", ToyBackend))
    register_format("toy", FormatSpec(".toy", "toy", cpu=True, converter=ToyConverter, stem="{m}_{p}"))
    try:
        yield
    finally:
        unregister("toy")


def test_a_toy_format_converts_bundles_and_runs_through_the_catalogue_alone(toy_format, tmp_path):
    import _onnx_models

    from edgevision.bundle import read_manifest
    from edgevision.converters.convert import convert

    source = _onnx_models.colour_classifier(tmp_path / "colour.onnx")
    profile = tmp_path / "toy-board.toml"
    profile.write_text(TOY_PROFILE)
    assert load_target(profile).artifact.format == "toy"
    bare = tmp_path / "bare.toy"
    shutil.copyfile(source, bare)
    assert backend_for(bare) == "toy" and type(open_backend(bare)) is ToyBackend

    info = {"task": "classification", "scale": 1 / 255, "labels": ["red", "green", "blue"]}
    result = convert(source, [str(profile)], out=tmp_path / "bundle", overrides=info, log=lambda message: None)
    (report,) = result.artifacts
    assert (report.target, report.format, report.file) == ("toy-board", "toy", "colour_fp32.toy")
    assert report.fidelity["top1_agreement"] == 1.0  # measured by running the .toy through the toy backend
    assert read_manifest(result.path).artifacts["toy-board"].format == "toy"
    model = edgevision.load(result.path)  # auto: no shipped profile is toy-board; its format says the runtime
    assert model.backend.name == "toy" and model.artifact["target"] == "toy-board"
    image = np.zeros((48, 64, 3), np.uint8)
    image[..., 2] = 250
    assert model.predict(image).names[0] == "blue"


def test_a_registered_name_is_not_registered_twice_and_built_ins_stay(toy_format):
    with pytest.raises(UserInputError, match="expected a new artifact format name, got 'toy'"):
        register_format("toy", FORMATS["toy"])
    with pytest.raises(UserInputError, match="expected the format's backend among"):
        register_format("toy2", FormatSpec(".t2", "no-such-runtime", cpu=True, converter=ToyConverter, stem="{m}"))
    with pytest.raises(UserInputError, match="built-in"):
        unregister("onnx")
    assert Path(str(FORMATS[ArtifactFormat.ONNX].converter).replace(":", ".")).suffix == ".ONNXConverter"
