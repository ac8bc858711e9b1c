"""Tests for converters/edgetpu.py and its parts: the op table, the static report, the compiler log.

Real TensorFlow conversions of the conftest models (and of two models built here
to break an Edge TPU rule). The Edge TPU compiler is never installed: tests run
with a PATH that has no ``edgetpu_compiler``, or with a stand-in script of that
name (see ``fake_compiler``).
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import stat
import sys
import textwrap

import numpy as np
import pytest

from edgevision.bundle import read_manifest
from edgevision.converters import ConvertJob, SourceModel, get_converter
from edgevision.converters.edgetpu import check_source_shape, runtime_version
from edgevision.converters.edgetpu_compiler import parse_compiler_log
from edgevision.converters.edgetpu_ops import OpView, rules
from edgevision.converters.edgetpu_report import format_report, static_report
from edgevision.converters.tflite import float_tensors
from edgevision.errors import ConversionError
from edgevision.formats.tflite import Quant, Tensor, read_tflite

KINDS = ("classifier", "yolo", "segmenter")


def _source(model, root, name=None):
    """A keras SourceModel holding ``model`` itself (the YOLO test model's Head layer does not reload)."""
    name = name or model.name
    work = root / f"{name}_work"
    work.mkdir(exist_ok=True)
    return SourceModel(path=root / f"{name}.keras", kind="keras", input_name="images", input_shape=(1, 64, 64, 3),
                       layout="NHWC", output_names=(), workdir=work, _cache={"keras": model})


def _job(source, calibration, root, target="coral-usb", **options):
    from edgevision.targets import load_target

    out = root / f"{source.path.stem}_{target}_{len(list(root.iterdir()))}"
    out.mkdir()
    return ConvertJob(source, load_target(target), "int8", calibration, out, f"{source.path.stem}_{target}_int8",
                      options=options)


@pytest.fixture(scope="module")
def no_compiler_path(tmp_path_factory):
    """A PATH with no edgetpu_compiler on it, whatever this host has installed."""
    return str(tmp_path_factory.mktemp("empty_path"))


@pytest.fixture(scope="module")
def coral(keras_sources, calibration, no_compiler_path, tmp_path_factory):
    """{kind: ConvertOutput} of the Edge TPU converter for the conftest models, without the compiler."""
    import _models

    root = tmp_path_factory.mktemp("coral")
    sources = dict(keras_sources, yolo=dataclasses.replace(keras_sources["yolo"],
                                                           _cache={"keras": _models.yolo_detector()}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", no_compiler_path)
        return {kind: get_converter("edgetpu-tflite").convert(_job(sources[kind], calibration, root))
                for kind in KINDS}


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_static_report_says_every_op_of_the_reference_models_maps(coral, kind):
    report = coral[kind].report
    assert report["summary"]["all_mapped"], "\n".join(format_report(report))
    assert report["blocking"] is None and report["split"] is None
    assert all(op["mapped"] and op["supported"] for op in report["ops"])
    assert report["summary"]["edgetpu_subgraphs"] == 1 and report["options_checked"]
    assert format_report(report)[0].endswith(f"all {len(report['ops'])} ops map, 1 Edge TPU subgraph")


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_coral_tflite_is_full_integer_static_batch_1(coral, kind):
    graph = read_tflite(coral[kind].file)
    assert float_tensors(graph) == []
    assert graph.inputs[0].shape == (1, 64, 64, 3) and not graph.inputs[0].is_dynamic
    assert graph.inputs[0].dtype == graph.outputs[0].dtype == "uint8"


@pytest.mark.slow
def test_without_the_compiler_the_int8_tflite_ships_honestly_named(coral):
    out = coral["classifier"]
    assert (out.format, out.precision) == ("tflite", "int8")  # not "edgetpu-tflite": nothing was compiled
    assert out.file.name == "classifier_coral-usb_int8.tflite"
    assert out.report["compiler"]["found"] is False
    assert "sudo apt-get install edgetpu-compiler" in out.report["compiler"]["install"]
    (warning,) = out.warnings
    assert warning.startswith("edgetpu_compiler not found") and "coral-edgetpu-stable main" in warning
    lines = format_report(out.report)
    assert any("install the compiler on an x86-64 Linux host" in ln for ln in lines)
    assert any(ln.strip() == "sudo apt-get install edgetpu-compiler" for ln in lines)


def _leaky_model():
    import keras

    keras.utils.set_random_seed(1)
    inp = keras.Input((64, 64, 3), batch_size=1, name="images")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(x)
    x = keras.layers.LeakyReLU(negative_slope=0.1)(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x), name="leaky")


@pytest.mark.slow
def test_unsupported_op_blocks_and_everything_after_it_goes_to_the_cpu(calibration, no_compiler_path, tmp_path,
                                                                        monkeypatch):
    monkeypatch.setenv("PATH", no_compiler_path)
    out = get_converter("edgetpu-tflite").convert(_job(_source(_leaky_model(), tmp_path), calibration, tmp_path))
    report = out.report
    ops = [op["op"] for op in report["ops"]]
    i = ops.index("LEAKY_RELU")
    assert report["blocking"]["op"] == "LEAKY_RELU" and report["blocking"]["index"] == i
    assert "not in the Edge TPU's supported operations" in report["blocking"]["reason"]
    assert "ReLU" in report["blocking"]["fix"]
    assert report["split"] == {"index": i, "op": "LEAKY_RELU", "ops_on_edgetpu": i, "ops_on_cpu": len(ops) - i}
    assert all(op["mapped"] for op in report["ops"][:i])
    after = report["ops"][i + 1:]
    assert after and not any(op["mapped"] for op in after)
    assert all(op["supported"] and "after op" in op["reason"] for op in after)  # supported, yet on the CPU
    assert "CONV_2D" in [op["op"] for op in after]
    head = format_report(report)[0]
    assert f"split at op {i} (LEAKY_RELU): it and the {len(ops) - i - 1} ops after it run on the CPU" in head


@pytest.mark.slow
def test_tensor_beyond_three_inner_dimensions_is_refused_and_reported(calibration, tmp_path):
    import keras

    keras.utils.set_random_seed(2)
    inp = keras.Input((64, 64, 3), batch_size=1, name="images")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inp)
    x = keras.layers.Permute((2, 1, 3, 4))(keras.layers.Reshape((2, 16, 32, 8))(x))  # a real 5-D tensor
    model = keras.Model(inp, keras.layers.Conv2D(4, 3, padding="same")(keras.layers.Reshape((32, 32, 8))(x)),
                        name="five_d")
    source = _source(model, tmp_path)
    job = _job(source, calibration, tmp_path)
    with pytest.raises(ConversionError, match=r"got \[1, 2, 16, 32, 8\] in '.*reshape.*' \(RESHAPE\); reshape"):
        get_converter("edgetpu-tflite").convert(job)
    assert not list(job.outdir.iterdir())  # nothing half-made left behind
    plain = get_converter("tflite").convert(_job(source, calibration, tmp_path, target="cpu"))
    report = static_report(plain.file)
    assert report["blocking"]["op"] == "RESHAPE" and "3 innermost dimensions" in report["blocking"]["reason"]


@pytest.mark.parametrize("shape, message", [
    ((1, -1, -1, 3), r"expected a static input shape for the Edge TPU, got \(1, -1, -1, 3\)"),
    ((1, None, None, 3), r"expected a static input shape for the Edge TPU, got \(1, None, None, 3\)"),
    ((4, 64, 64, 3), r"expected batch 1 for the Edge TPU, got batch 4"),
])
def test_dynamic_shape_and_batch_are_refused(keras_sources, calibration, make_job, shape, message):
    source = dataclasses.replace(keras_sources["classifier"], input_shape=shape, dynamic=True, _cache={})
    with pytest.raises(ConversionError, match=message):
        get_converter("edgetpu-tflite").convert(make_job(source, "coral-usb", "int8", calibration))


def test_only_int8_with_calibration(keras_sources, make_job):
    with pytest.raises(ConversionError, match="expected precision int8 for the Edge TPU"):
        get_converter("edgetpu-tflite").convert(make_job(keras_sources["classifier"], "coral-usb", "fp16"))
    with pytest.raises(ConversionError, match="expected calibration samples"):
        get_converter("edgetpu-tflite").convert(make_job(keras_sources["classifier"], "coral-usb", "int8"))


def test_runtime_version_and_shape_helpers():
    assert runtime_version(["--min_runtime_version", "13"]) == 13
    assert runtime_version(["--min_runtime_version=12"]) == 12 and runtime_version(["-m", "10"]) == 10
    assert runtime_version([]) == 14
    with pytest.raises(ConversionError, match="expected an integer Edge TPU runtime version after -m"):
        runtime_version(["-m", "latest"])
    check_source_shape((1, 224, 224, 3))


# ---------------------------------------------------------------- op rules, on hand-made ops


def _t(name, shape, dtype="int8", constant=False):
    return Tensor(name, tuple(shape), None, dtype, Quant((0.1,), (0,)), 1 if constant else 0, False, constant)


class _Opts:
    def __init__(self, **values):
        for k, v in values.items():
            setattr(self, k, lambda v=v: v)


def _problem(name, inputs, outputs, options=None, consts=None, runtime=14):
    from edgevision.converters.edgetpu_report import _problem as problem

    view = OpView(0, name, inputs, outputs, options, lambda pos: (consts or {}).get(pos))
    return problem(view, rules(runtime).get(name), runtime, 3)


def test_documented_limits_are_checked():
    x4 = _t("x", (1, 8, 8, 16))
    assert _problem("CONV_2D", [x4, _t("w", (4, 3, 3, 16), constant=True)], [_t("y", (1, 8, 8, 4))]) is None
    assert "float32" in _problem("ADD", [_t("a", (1, 8), "float32"), x4], [x4])[0]
    assert "not in the Edge TPU" in _problem("FLOOR", [x4], [x4])[0]
    assert "runtime 14" in _problem("TRANSPOSE", [x4, _t("p", (4,), "int32", True)], [x4], runtime=13)[0]
    assert "16,000" in _problem("SOFTMAX", [_t("s", (1, 4, 5))], [_t("o", (1, 4, 5))])[0]
    assert _problem("SOFTMAX", [_t("s", (1, 5))], [_t("o", (1, 5))]) is None
    slice_in = [x4, _t("b", (4,), "int32", True), _t("e", (4,), "int32", True), _t("s", (4,), "int32", True)]
    ones, twos = {3: np.ones(4, np.int32)}, {3: np.array([1, 2, 2, 1], np.int32)}
    masks = _Opts(EllipsisMask=0, NewAxisMask=0)
    assert _problem("STRIDED_SLICE", slice_in, [x4], masks, ones) is None
    assert "strides [1, 2, 2, 1]" in _problem("STRIDED_SLICE", slice_in, [x4], masks, twos)[0]
    assert "ellipsis" in _problem("STRIDED_SLICE", slice_in, [x4], _Opts(EllipsisMask=1, NewAxisMask=0), ones)[0]
    axes = [x4, _t("axes", (2,), "int32", True)]
    assert _problem("MEAN", axes, [_t("m", (1, 16))], consts={1: np.array([1, 2], np.int32)}) is None
    assert "channel axis" in _problem("MEAN", axes, [_t("m", (1, 8, 8))], consts={1: np.array([3], np.int32)},
                                      runtime=13)[0]
    assert "fused RELU" in _problem("MAX_POOL_2D", [x4], [x4], _Opts(FusedActivationFunction=1))[0]
    pads = [x4, _t("p", (4, 2), "int32", True)]
    assert "pads dimension(s) [0]" in _problem("PAD", pads, [x4], consts={1: np.array([[1, 0], [1, 1], [1, 1],
                                                                                      [0, 0]], np.int32)})[0]
    assert "not one-dimensional" in _problem("FULLY_CONNECTED", [_t("f", (1, 16)), _t("w", (8, 16), constant=True)],
                                             [_t("o", (2, 8))], _Opts(WeightsFormat=0))[0]


# ---------------------------------------------------------------- the compiler's output


# The console format of edgetpu_compiler 16 (-s): the header as in google-coral/edgetpu#433, the
# operator table as in google-coral/edgetpu#342 (numbers shortened).
REAL_STDOUT = textwrap.dedent("""\
    Edge TPU Compiler version 16.0.384591198
    Started a compilation timeout timer of 180 seconds.

    Model compiled successfully in 96 ms.

    Input model: inference_proxy_mobilenet_quantized_v2.tflite
    Input size: 7.02MiB
    Output model: inference_proxy_mobilenet_quantized_v2_edgetpu.tflite
    Output size: 7.14MiB
    On-chip memory used for caching model parameters: 80.00KiB
    On-chip memory remaining for caching model parameters: 6.04MiB
    Off-chip memory used for streaming uncached model parameters: 0.00B
    Number of Edge TPU subgraphs: 1
    Total number of operations: 155
    Operation log: inference_proxy_mobilenet_quantized_v2_edgetpu.log

    Model successfully compiled but not all operations are supported by the Edge TPU. A percentage of the model will instead run on the CPU, which is slower. If possible, consider updating your model to use only operations supported by the Edge TPU. For details, visit g.co/coral/model-reqs.
    Number of operations that will run on Edge TPU: 2
    Number of operations that will run on CPU: 153

    Operator                       Count      Status

    TRANSPOSE                      70         Operation not supported
    FULLY_CONNECTED                1          More than one subgraph is not supported
    PAD                            1          Mapped to Edge TPU
    QUANTIZE                       1          Mapped to Edge TPU
    QUANTIZE                       1          Operation is otherwise supported, but not mapped due to some unspecified limitation
    Compilation child process completed within timeout period.
    Compilation succeeded!
    """)


def test_parse_real_compiler_output():
    r = parse_compiler_log(REAL_STDOUT)
    assert r["version"] == "16.0.384591198"
    assert r["on_chip_memory"] == {"text": "80.00KiB", "bytes": 81920}
    assert r["on_chip_memory_remaining"]["text"] == "6.04MiB"
    assert r["off_chip_memory"] == {"text": "0.00B", "bytes": 0}
    assert (r["subgraphs"], r["total_ops"], r["ops_on_edgetpu"], r["ops_on_cpu"]) == (1, 155, 2, 153)
    assert [o["op"] for o in r["operators"]] == ["TRANSPOSE", "FULLY_CONNECTED", "PAD", "QUANTIZE", "QUANTIZE"]
    assert r["operators"][0] == {"op": "TRANSPOSE", "count": 70, "status": "Operation not supported"}
    assert r["operators"][-1]["status"].endswith("not mapped due to some unspecified limitation")


def test_parse_log_when_every_op_maps():
    """When all ops map the compiler prints no per-device counts (WongKinYiu/yolov7#1672): sum the table."""
    log = ("Edge TPU Compiler version 16.0.384591198\nInput: m.tflite\nOutput: m_edgetpu.tflite\n\n"
           "Number of Edge TPU subgraphs: 1\nTotal number of operations: 9\n\n"
           "Operator                       Count      Status\n\n"
           "CONV_2D                        4          Mapped to Edge TPU\n"
           "QUANTIZE                       5          Mapped to Edge TPU\n")
    r = parse_compiler_log(log)
    assert (r["ops_on_edgetpu"], r["ops_on_cpu"]) == (9, 0)


FAKE = '''\
#!{python}
"""STAND-IN for edgetpu_compiler (tests only): writes <stem>_edgetpu.tflite as a plain copy of the input
and a log in the real compiler's format with every op "Mapped to Edge TPU". It compiles nothing."""
import os, shutil, sys
from collections import Counter
from pathlib import Path
from edgevision.formats.tflite import read_tflite

args = sys.argv[1:]
if os.environ.get("FAKE_EDGETPU_FAIL"):
    print("Edge TPU Compiler version 16.0.384591198\\nInvalid model: " + args[-1] + "\\nModel could not be parsed")
    sys.exit(1)
Path(os.environ["FAKE_EDGETPU_ARGS"]).write_text(" ".join(args))
out, model = Path(args[args.index("-o") + 1]), Path(args[-1])
graph = read_tflite(model)
counts = Counter(graph.op_name(op) for op in graph.subgraphs[0].operators)
shutil.copyfile(model, out / (model.stem + "_edgetpu.tflite"))
if os.environ.get("FAKE_EDGETPU_DROP_METADATA"):  # as a compiler that keeps none of the model's metadata
    from tensorflow.lite.tools import flatbuffer_utils
    compiled = flatbuffer_utils.read_model(str(out / (model.stem + "_edgetpu.tflite")))
    compiled.metadata = []
    flatbuffer_utils.write_model(compiled, str(out / (model.stem + "_edgetpu.tflite")))
table = "Operator                       Count      Status\\n\\n" + "".join(
    f"{{op:<31}}{{n:<11}}Mapped to Edge TPU\\n" for op, n in counts.items())
head = "Edge TPU Compiler version 16.0.384591198\\n"
(out / (model.stem + "_edgetpu.log")).write_text(
    head + f"Input: {{model.name}}\\nOutput: {{model.stem}}_edgetpu.tflite\\n\\n" + table)
print(head + "Started a compilation timeout timer of 180 seconds.\\n\\nModel compiled successfully in 12 ms.\\n\\n"
      f"Input model: {{model.name}}\\nOutput model: {{model.stem}}_edgetpu.tflite\\n"
      "On-chip memory used for caching model parameters: 3.75KiB\\n"
      "On-chip memory remaining for caching model parameters: 7.86MiB\\n"
      "Off-chip memory used for streaming uncached model parameters: 0.00B\\n"
      "Number of Edge TPU subgraphs: 1\\n"
      f"Total number of operations: {{sum(counts.values())}}\\n"
      f"Operation log: {{model.stem}}_edgetpu.log\\n\\n" + table)
'''


@pytest.fixture
def fake_compiler(tmp_path, monkeypatch):
    """A STAND-IN ``edgetpu_compiler`` first on PATH: copies the model, writes a log in the real format.

    It checks our command line, file naming and log parsing, not the Edge TPU: the copy it
    writes is the uncompiled int8 model.
    """
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "edgetpu_compiler"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_EDGETPU_ARGS", str(tmp_path / "args.txt"))
    return tmp_path / "args.txt"


@pytest.mark.slow
def test_compiler_on_path_is_run_and_its_log_parsed(keras_sources, calibration, make_job, fake_compiler):
    job = make_job(keras_sources["classifier"], "coral-usb", "int8", calibration)
    out = get_converter("edgetpu-tflite").convert(job)
    assert (out.format, out.precision) == ("edgetpu-tflite", "int8")
    assert out.file == job.outdir / f"{job.stem}_edgetpu.tflite" and out.file.is_file()
    log, int8 = out.extra_files
    assert log.name == f"{job.stem}_edgetpu.log" and int8.name == f"{job.stem}.tflite"
    assert fake_compiler.read_text().split()[:3] == ["-s", "-o", str(job.outdir)]
    assert "--min_runtime_version 14" in fake_compiler.read_text()  # the coral-usb profile's args
    c = out.report["compiler"]
    assert c["found"] and c["version"] == "16.0.384591198" and c["subgraphs"] == 1
    assert c["on_chip_memory"]["bytes"] == 3840 and c["off_chip_memory"]["bytes"] == 0
    assert c["ops_on_edgetpu"] == c["total_ops"] == out.report["summary"]["ops"] and c["ops_on_cpu"] == 0
    assert {o["status"] for o in c["operators"]} == {"Mapped to Edge TPU"}
    assert out.converter["tool"] == "edgetpu_compiler" and out.converter["tflite"]["io_dtype"] == "uint8"
    assert out.warnings == []
    lines = [ln.strip() for ln in format_report(out.report)]
    assert any(ln.startswith("edgetpu_compiler 16.0.384591198: 7 of 7 ops on the Edge TPU") for ln in lines)


@pytest.mark.slow
def test_a_compiled_detector_carries_its_cell_positions_whatever_the_compiler_keeps(onnx_references, fake_compiler,
                                                                                   monkeypatch, tmp_path):
    """The ONNX detector's lifted offsets go into the compiled file too, even from a compiler that drops metadata."""
    from edgevision.converters.convert import convert
    from edgevision.converters.datasets import write_shapes_dataset
    from edgevision.formats.tflite import metadata_entry
    from edgevision.offsets import METADATA_NAME

    monkeypatch.setenv("FAKE_EDGETPU_DROP_METADATA", "1")
    write_shapes_dataset(tmp_path / "calibration", "detection", 60, 256, seed=41)
    write_shapes_dataset(tmp_path / "validation", "detection", 40, 256, seed=42)
    result = convert(onnx_references["detector"], ["coral-usb"], out=tmp_path / "bundle", log=lambda m: None,
                     calibration=tmp_path / "calibration", validation=tmp_path / "validation")
    art = read_manifest(result.path).artifacts["coral-usb"]
    compiled, twin = result.path / art.file, result.path / art.file.replace("_edgetpu.tflite", ".tflite")
    assert art.format == "edgetpu-tflite" and compiled.name.endswith("_edgetpu.tflite")
    assert metadata_entry(compiled.read_bytes(), METADATA_NAME) == metadata_entry(twin.read_bytes(), METADATA_NAME)
    assert metadata_entry(compiled.read_bytes(), METADATA_NAME) is not None
    assert art.fidelity["boxes_kept"] >= 0.98, art.fidelity


@pytest.mark.slow
def test_compiler_failure_is_a_conversion_error(keras_sources, calibration, make_job, fake_compiler, monkeypatch):
    monkeypatch.setenv("FAKE_EDGETPU_FAIL", "1")
    with pytest.raises(ConversionError, match="expected edgetpu_compiler to write .*_edgetpu.tflite, got exit code 1: "
                                              "Invalid model"):
        get_converter("edgetpu-tflite").convert(make_job(keras_sources["classifier"], "coral-usb", "int8",
                                                         calibration))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("edgetpu_compiler") is None, reason="edgetpu_compiler is not on PATH (never installed "
                    "by the tests); runs on an x86-64 Linux host that has it")
@pytest.mark.parametrize("kind", KINDS)
def test_real_compiler_agrees_with_the_static_report(keras_sources, calibration, tmp_path, kind):
    """On a host with the real compiler: it maps what the static report predicts."""
    import _models

    source = dataclasses.replace(keras_sources[kind], _cache={"keras": _models.BUILDERS[kind]()} if kind == "yolo"
                                 else {})
    out = get_converter("edgetpu-tflite").convert(_job(source, calibration, tmp_path))
    assert out.format == "edgetpu-tflite" and out.file.name.endswith("_edgetpu.tflite")
    c, s = out.report["compiler"], out.report["summary"]
    assert c["found"] and c["version"] and c["subgraphs"] == 1, c
    assert c["ops_on_edgetpu"] == s["mapped"], "\n".join(format_report(out.report))
