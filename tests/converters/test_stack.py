"""The onnx2tf set installed without its pins (converters/onnx2tf-requirements.txt, README's install) leaves the
stack as it was: TensorFlow, numpy, protobuf and onnx import together at the versions they had before issue 12,
onnx2tf imports beside them, and converting through it changes nothing in the converter's own process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PINNED = ROOT / "converters" / "onnx2tf-requirements.txt"
# What the project ran on before onnx2tf came in (and what onnx2tf 1.29.24 itself pins, which must not win).
BEFORE = {"tensorflow": "2.21", "numpy": "2.4", "protobuf": "7.36", "onnx": "1.23"}
ONNX2TF_PINS = {"tensorflow": "2.19", "numpy": "1.26", "protobuf": "4.25", "onnx": "1.19"}


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2])


def test_the_stack_imports_together_at_its_own_versions_beside_onnx2tf():
    code = ("import json, tensorflow as tf, numpy, google.protobuf as pb, onnx, onnx2tf, tf_keras; "
            "print(json.dumps({'tensorflow': tf.__version__, 'numpy': numpy.__version__, 'protobuf': pb.__version__, "
            "'onnx': onnx.__version__, 'onnx2tf': onnx2tf.__version__, 'tf_keras': tf_keras.__version__}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, check=False)
    assert proc.returncode == 0, proc.stderr[-1500:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, before in BEFORE.items():
        assert _minor(got[name]) >= _minor(before), (name, got[name], "older than before issue 12")
        assert _minor(got[name]) != _minor(ONNX2TF_PINS[name]), (name, got[name], "onnx2tf's pin won")
    assert _minor(got["tensorflow"]) == _minor(BEFORE["tensorflow"])  # tf-keras is pinned to its minor
    assert _minor(got["tf_keras"]) == _minor(got["tensorflow"])


def test_the_pinned_set_is_what_is_installed():
    pins = [line.split("==") for line in PINNED.read_text().splitlines() if line and not line.startswith("#")]
    assert pins and all(len(p) == 2 for p in pins)
    for name, version in pins:
        assert metadata.version(name) == version, name


def test_readme_installs_the_pinned_set_without_its_dependencies():
    readme = (ROOT / "README.md").read_text()
    command = "pip install --no-deps -r converters/onnx2tf-requirements.txt"
    blocks = [readme.split(marker, 1)[1].split("```sh", 1)[1].split("```", 1)[0]
              for marker in ("<!-- main-command -->", "<!-- test-command -->")]
    assert all(command in b for b in blocks), blocks


@pytest.mark.slow
def test_converting_through_onnx2tf_leaves_this_process_alone(onnx_references, tmp_path, calibration):
    """onnx2tf sets TF_USE_LEGACY_KERAS=1 when imported and exits the process on errors: it runs in a child."""
    from edgevision.converters import get_converter
    from edgevision.converters.base import ConvertJob
    from edgevision.converters.source import open_source_model
    from edgevision.targets import load_target

    source = open_source_model(onnx_references["classifier"], workdir=tmp_path)
    job = ConvertJob(source=source, target=load_target("cpu"), precision="fp32", calibration=None, outdir=tmp_path,
                     stem="c")
    out = get_converter("tflite").convert(job)
    assert out.converter["onnx2tf"]["version"] == "1.29.24" and out.file.is_file()
    assert "TF_USE_LEGACY_KERAS" not in os.environ and "onnx2tf" not in sys.modules


def test_an_onnx_model_onnx2tf_cannot_convert_is_one_error_line(tmp_path):
    """A graph onnx2tf refuses ends as a ConversionError naming it, not a traceback or a process exit."""
    import onnx
    from onnx import TensorProto, helper

    from edgevision.converters.onnx_tflite import saved_model
    from edgevision.converters.source import open_source_model
    from edgevision.errors import ConversionError

    node = helper.make_node("Einsum", ["images", "images"], ["out"], equation="bchw,bchw->bc")
    graph = helper.make_graph([helper.make_node("Identity", ["images"], ["x"]), node], "g",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("out", TensorProto.STRING, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    source = open_source_model(path, workdir=tmp_path)
    with pytest.raises(ConversionError, match=r"^expected onnx2tf to convert bad.onnx, got: .+"):
        saved_model(source)
