"""Corpus cases: model files (each runtime) and bundles, forged from the session's kit."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from _corpus import Case
from _forge import (
    clone,
    copy_ir,
    cut,
    edit_manifest,
    fifo,
    flip_byte,
    onnx_classifier_with,
    onnx_external,
    onnx_graph,
    onnx_save,
    patch,
    random_file,
    vi,
)

RED = "0"  # a bare model's classes have no names: the red one is class 0


def frames(n: int, label: str | None = None):
    """A check: ``n`` JSON records on stdout (then the summary), each one's best class ``label``."""
    def check(out: str, err: str) -> str | None:
        records = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
        records = [r for r in records if "summary" not in r]
        if len(records) != n:
            return f"expected {n} records, got {len(records)}"
        if label is not None:
            got = {(r.get("classes") or [{}])[0].get("label") for r in records}
            if got != {label}:
                return f"expected every frame {label!r}, got {sorted(map(str, got))}"
        return None
    return check


def run(model: object, source: object, *extra: object) -> list:
    return ["run", model, "--source", source, "--json", "--threads", "1", *extra]


def model_cases(kit, w: Path) -> list[Case]:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w.mkdir(parents=True, exist_ok=True)
    red, cases = kit.red, []
    rnd = {s: random_file(w / f"random{s}", seed=i) for i, s in enumerate((".tflite", ".onnx", ".xml"))}
    random_file(w / "random.bin", seed=9)
    for suffix, path in rnd.items():
        cases.append(Case(f"model/random{suffix}", run(path, red), error=r"expected .*(TFLite|ONNX|OpenVINO IR)"))
    for name, src in (("tflite", kit.cls_tflite), ("onnx", kit.colour_onnx)):
        cases.append(Case(f"model/truncated.{name}", run(cut(src, w / f"cut.{name}"), red), error=r"expected"))
        empty = w / f"empty.{name}"
        empty.write_bytes(b"")
        cases.append(Case(f"model/empty.{name}", run(empty, red), error=r"expected"))
    ir_cut = copy_ir(kit.colour_xml, w / "ir_cut")
    cut(ir_cut.with_suffix(".bin"), ir_cut.with_suffix(".bin"), 0.3)
    cases.append(Case("model/ir-bin-truncated", run(ir_cut, red), error=r"expected a model OpenVINO can read"))
    ir_nobin = copy_ir(kit.colour_xml, w / "ir_nobin")
    ir_nobin.with_suffix(".bin").unlink()
    cases.append(Case("model/ir-bin-missing", run(ir_nobin, red), error=r"expected the weights file model.bin"))
    ir_bad = copy_ir(kit.colour_xml, w / "ir_badxml")
    text = ir_bad.read_text()
    ir_bad.write_text(text.replace('shape="1,64,64,3"', 'shape="1,100000,100000,3"', 1)
                      .replace('<dim>64</dim>', '<dim>100000</dim>', 2))
    cases.append(Case("model/ir-input-100000", run(ir_bad, red), error=r"expected .*(8192 pixels a side|OpenVINO)"))
    ir_v5 = copy_ir(kit.colour_xml, w / "ir_v5")
    ir_v5.write_text(ir_v5.read_text().replace('version="11"', 'version="5"', 1))
    cases.append(Case("model/ir-version-5", run(ir_v5, red), error=r"IR version 10 or later"))
    ir_link = w / "ir_link"
    ir_link.mkdir()
    shutil.copyfile(kit.colour_xml, ir_link / "model.xml")
    os.symlink(kit.colour_xml.with_suffix(".bin"), ir_link / "model.bin")
    cases.append(Case("model/ir-bin-symlink", run(ir_link / "model.xml", red), error=r"symbolic link"))

    # Names that are not UTF-8, in each runtime's own reader.
    bad = b"\xff\xfe\xfd\xfc\xfb\xfa"
    cases.append(Case("model/onnx-name-not-utf8", run(patch(kit.colour_onnx, w / "names.onnx", b"images", bad), red),
                      error=r"expected .*ONNX"))
    cases.append(Case("model/onnx-name-not-utf8-openvino",
                      run(w / "names.onnx", red, "--backend", "openvino"), error=r"expected"))
    tfl_name = _tflite_input_name(kit.cls_tflite)
    cases.append(Case("model/tflite-name-not-utf8",
                      run(patch(kit.cls_tflite, w / "names.tflite", tfl_name, bytes(0xFF - b for b in tfl_name)), red,
                          "--labels", _labels(w, "abcde")), error=r"expected", check=None))
    node = onnx_graph([helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2], keepdims=0, name="opname"),
                       helper.make_node("Softmax", ["mean"], ["probs"], axis=-1)],
                      [vi("images", [1, 64, 64, 3])], [vi("probs", [1, 3])])
    onnx_save(node, w / "opname.onnx")
    # A node's name is never shown: ONNX Runtime runs the model as it is, and so does edgevision.
    cases.append(Case("model/onnx-op-name-not-utf8",
                      run(patch(w / "opname.onnx", w / "opname_bad.onnx", b"opname", bad), red), check=frames(1, RED)))

    # Contents that disagree with themselves.
    empty_const = onnx.TensorProto(name="bias", data_type=TensorProto.FLOAT, dims=[3])  # no values at all
    cases.append(Case("model/onnx-constant-without-data", run(onnx_classifier_with(
        w / "nodata.onnx", extra_nodes=[helper.make_node("Add", ["logits", "bias"], ["logits2"])],
        extra_inits=[empty_const]), red), error=r"expected .*ONNX"))
    conv = onnx_graph([helper.make_node("Transpose", ["images"], ["nchw"], perm=[0, 3, 1, 2]),
                       helper.make_node("Conv", ["nchw", "W"], ["c"], kernel_shape=[3, 3]),
                       helper.make_node("ReduceMean", ["c"], ["probs"], axes=[2, 3], keepdims=0)],
                      [vi("images", [1, 64, 64, 3])], [vi("probs", [1, 3])],
                      [numpy_helper.from_array(np.ones((3, 5, 3, 3), np.float32), "W")])  # 5 in-channels, input has 3
    onnx_save(conv, w / "conv.onnx")
    cases.append(Case("model/onnx-conv-kernel-mismatch", run(w / "conv.onnx", red), error=r"expected"))
    cases.append(Case("model/onnx-conv-kernel-mismatch-openvino", run(w / "conv.onnx", red, "--backend", "openvino"),
                      error=r"expected"))
    huge = onnx_classifier_with(w / "huge.onnx", input_dims=(1, 100000, 100000, 3))
    cases.append(Case("model/onnx-input-100000", run(huge, red), error=r"at most 8192 pixels a side"))
    cases.append(Case("model/onnx-input-100000-openvino", run(huge, red, "--backend", "openvino"),
                      error=r"at most 8192 pixels a side"))
    big_out = onnx_graph([helper.make_node("ReduceMean", ["images"], ["probs"], axes=[1, 2], keepdims=0),
                          helper.make_node("Expand", ["one", "shape"], ["big"])],
                         [vi("images", [1, 64, 64, 3])], [vi("probs", [1, 3]), vi("big", [1, 65536, 65536, 3])],
                         [numpy_helper.from_array(np.array([1, 65536, 65536, 3], np.int64), "shape"),
                          numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "one")])
    onnx_save(big_out, w / "bigout.onnx")
    cases.append(Case("model/onnx-output-2e10-elements", run(w / "bigout.onnx", red), error=r"at most \d+ elements"))
    gather = onnx_classifier_with(w / "gather.onnx", extra_nodes=[helper.make_node("Gather", ["logits", "idx"],
                                                                                   ["logits2"], axis=1)],
                                  extra_inits=[numpy_helper.from_array(np.array([0, 1, 99], np.int64), "idx")])
    cases.append(Case("model/onnx-fails-at-first-inference", run(gather, red),
                      error=r"(expected gather.onnx to run on onnxruntime|expected an ONNX model)"))
    two = onnx_graph([helper.make_node("Add", ["images", "b"], ["s"]),
                      helper.make_node("ReduceMean", ["s"], ["probs"], axes=[1, 2], keepdims=0)],
                     [vi("images", [1, 64, 64, 3]), vi("b", [1, 64, 64, 3])], [vi("probs", [1, 3])])
    onnx_save(two, w / "two_inputs.onnx")
    cases.append(Case("model/onnx-two-inputs", run(w / "two_inputs.onnx", red), error=r"one image input, got 2"))
    text_out = onnx_graph([helper.make_node("Cast", ["images"], ["s"], to=TensorProto.STRING)],
                          [vi("images", [1, 64, 64, 3])], [vi("s", [1, 64, 64, 3], TensorProto.STRING)])
    onnx_save(text_out, w / "strings.onnx")
    cases.append(Case("model/onnx-string-output", run(w / "strings.onnx", red), error=r"expected numeric tensors"))
    evil = onnx_graph([helper.make_node("Evil", ["images"], ["probs"], domain="com.evil")],
                      [vi("images", [1, 64, 64, 3])], [vi("probs", [1, 3])])
    evil.opset_import.append(helper.make_opsetid("com.evil", 1))
    onnx_save(evil, w / "evil_op.onnx")
    cases.append(Case("model/onnx-unknown-op", run(w / "evil_op.onnx", red), error=r"expected an ONNX model"))

    # External data: inside the model's directory, read once, or refused.
    for name, location in (("passwd", "../../../../../../etc/passwd"), ("absolute", "/etc/passwd"),
                           ("missing", "nothing.bin")):
        path = onnx_external(w / f"ext_{name}" / "m.onnx", location, write_data=False)
        cases.append(Case(f"model/onnx-external-{name}", run(path, red),
                          error=r"external data (inside the directory|file of m.onnx 'nothing.bin')"))
    linked = onnx_external(w / "ext_link" / "m.onnx", "w.bin", write_data=False)
    os.symlink("/etc/hostname", linked.parent / "w.bin")
    cases.append(Case("model/onnx-external-symlink-out", run(linked, red), error=r"symbolic link"))
    good = onnx_external(w / "ext_good" / "m.onnx", "m.onnx.data")
    cases.append(Case("model/onnx-external-ok", run(good, red), check=frames(1, RED)))
    cases.append(Case("model/onnx-external-ok-openvino", run(good, red, "--backend", "openvino"),
                      check=frames(1, RED)))

    # Files that are not model files at all.
    (w / "dir.onnx").mkdir()
    cases.append(Case("model/directory-named-onnx", run(w / "dir.onnx", red), error=r"expected"))
    cases.append(Case("model/fifo-named-tflite", run(fifo(w / "pipe.tflite"), red), error=r"not a regular file|FIFO",
                      timeout=30))
    random_file(w / "model.pt")
    cases.append(Case("model/pytorch-file", run(w / "model.pt", red), error=r"ending in .tflite, .xml, .onnx"))
    os.symlink(kit.colour_onnx, w / "linked.onnx")
    cases.append(Case("model/user-symlink-ok", run(w / "linked.onnx", red), check=frames(1, RED)))
    cases.append(Case("model/labels-mismatch", run(kit.colour_onnx, red, "--labels", _labels(w, "ab")),
                      error=r"expected 3 labels for the model's 3 classes"))
    cases.append(Case("model/labels-mismatch-allowed", run(kit.colour_onnx, red, "--labels", _labels(w, "ab"),
                                                          "--no-check-labels"), check=frames(1)))
    cases.append(Case("model/labels-match", run(kit.colour_onnx, red, "--labels", _labels(w, ["red", "green", "blue"])),
                      check=frames(1, "red")))
    cases += metadata_cases(kit, w / "metadata")
    cases.append(Case("model/tflite-ok", run(kit.cls_tflite, red), check=frames(1)))
    cases.append(Case("model/ir-ok", run(kit.colour_xml, red), check=frames(1)))
    return cases


def _appended(tflite: Path, dest: Path, entries: dict[str, bytes]) -> Path:
    """A .tflite with a zip appended, as TFLite Support and Ultralytics pack their metadata."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    dest.write_bytes(tflite.read_bytes() + buf.getvalue())
    return dest


def metadata_cases(kit, w: Path) -> list[Case]:
    """The metadata a model file carries (read before the runtime opens it) is untrusted input too."""
    red, cases = kit.red, []
    w.mkdir(parents=True, exist_ok=True)
    deep_yaml = copy_ir(kit.colour_xml, w / "deep_yaml")
    (deep_yaml.parent / "metadata.yaml").write_text("names: " + "[" * 100000 + "]" * 100000 + "\n")
    big_yaml = copy_ir(kit.colour_xml, w / "big_yaml")
    (big_yaml.parent / "metadata.yaml").write_text("# " + "x" * (5 << 20) + "\n")
    fifo_yaml = copy_ir(kit.colour_xml, w / "fifo_yaml")
    fifo(fifo_yaml.parent / "metadata.yaml")
    deep_rt = copy_ir(kit.colour_xml, w / "deep_rt_info")
    deep_rt.write_text(deep_rt.read_text().replace("<rt_info>", "<rt_info>" + "<a>" * 5000 + "</a>" * 5000, 1))
    bomb = _appended(kit.cls_tflite, w / "bomb.tflite", {"labels.txt": b"\0" * (64 << 20)})
    deep_json = _appended(kit.cls_tflite, w / "deep_json.tflite",
                          {"metadata.json": b"[" * 100000 + b"]" * 100000})
    offsets_ok = _with_offsets(kit.cls_tflite, w / "offsets_ok.tflite")
    bad_version = patch(offsets_ok, w / "offsets_version.tflite", b'"version":1', b'"version":7')
    not_finite = patch(offsets_ok, w / "offsets_nan.tflite", b"0.0", b"NaN")
    cases += [
        Case("model/tflite-offsets-ok", run(offsets_ok, red), check=frames(1)),  # as model/tflite-ok
        Case("model/tflite-offsets-version-7", run(bad_version, red),
             error=r"expected edgevision.output_offsets in offsets_version.tflite to be \{\"version\": 1"),
        Case("model/tflite-offsets-not-finite", run(not_finite, red), error=r"to be finite numbers for output"),
        Case("model/metadata-yaml-100000-deep", run(deep_yaml, red), error=r"(nested|YAML)"),
        Case("model/metadata-yaml-5-mib", run(big_yaml, red), error=r"at most 4194304 bytes"),
        Case("model/metadata-yaml-fifo-is-not-read", run(fifo_yaml, red), check=frames(1), timeout=30),
        Case("model/ir-rt-info-5000-deep", run(deep_rt, red), error=r"(rt_info|expected)"),
        Case("model/tflite-appended-zip-bomb", run(bomb, red), error=r"compressed at most 200:1 in the zip appended"),
        Case("model/tflite-appended-json-100000-deep", run(deep_json, red), error=r"nested at most 32 deep"),
    ]
    return cases


def _with_offsets(tflite: Path, dest: Path) -> Path:
    """``tflite`` carrying a zero offset for its output (the entry an int8 detector's box output carries)."""
    from edgevision.converters.offsets import embed_offsets
    from edgevision.formats.tflite import read_tflite

    shutil.copyfile(tflite, dest)
    embed_offsets(dest, {"out": np.zeros(read_tflite(dest).outputs[0].shape, np.float32)})
    return dest


def _labels(w: Path, labels) -> Path:
    path = w / f"labels_{len(labels)}_{labels[0]}.txt"
    path.write_text("\n".join(labels) + "\n")
    return path


def _tflite_input_name(path: Path) -> bytes:
    from edgevision.formats.tflite import read_tflite

    name = read_tflite(path).inputs[0].name.encode()
    assert path.read_bytes().count(name) >= 1 and len(name) >= 4
    return name


def bundle_cases(kit, w: Path) -> list[Case]:
    red, cases = kit.red, []
    w.mkdir(parents=True, exist_ok=True)
    cases += [Case("bundle/onnx-ok", run(kit.b_onnx, red), check=frames(1, "red")),
              Case("bundle/ir-ok", run(kit.b_ir, red), check=frames(1, "red")),
              Case("bundle/tflite-ok", run(kit.b_tfl, red), check=frames(1)),
              Case("bundle/external-data-ok", run(kit.b_ext, red), check=frames(1, "red")),
              Case("bundle/inspect-ok", ["inspect", kit.b_ir, "--json"], check=lambda o, e: None if '"artifacts"' in o
                   else "no artifacts in the report")]
    # One byte changed, after the bundle was written, in every file a runtime loads.
    for name, src, file in (("tflite", kit.b_tfl, "cls.tflite"), ("onnx", kit.b_onnx, "colour.onnx"),
                            ("xml", kit.b_ir, "colour.xml"), ("bin", kit.b_ir, "colour.bin"),
                            ("external-data", kit.b_ext, "colour_ext.onnx.data")):
        b = clone(src, w / f"tamper_{name}")
        flip_byte(b / file)
        cases.append(Case(f"bundle/tampered-{name}", run(b, red), error=rf"expected sha256 .* for {file}"))
        cases.append(Case(f"bundle/tampered-{name}-inspect", ["inspect", b], error=rf"expected sha256 .* for {file}"))
    b = clone(kit.b_onnx, w / "link_out")
    outside = w / "outside.onnx"
    shutil.move(b / "colour.onnx", outside)
    os.symlink(outside, b / "colour.onnx")
    cases.append(Case("bundle/artifact-symlink-out", run(b, red), error=r"symbolic link"))
    b = clone(kit.b_ir, w / "weights_escape")
    edit_manifest(b, lambda d: d["artifacts"]["intel-cpu"]["weights"].update(file="../../../../etc/passwd"))
    cases.append(Case("bundle/weights-entry-escapes", run(b, red), error=r"plain file name inside the bundle"))
    b = clone(kit.b_ir, w / "weights_absolute")
    edit_manifest(b, lambda d: d["artifacts"]["intel-cpu"]["weights"].update(file="/etc/passwd"))
    cases.append(Case("bundle/weights-entry-absolute", run(b, red), error=r"plain file name inside the bundle"))
    b = clone(kit.b_onnx, w / "artifact_dot")
    edit_manifest(b, lambda d: d["artifacts"]["jetson-orin"].update(file="."))
    cases.append(Case("bundle/artifact-file-dot", run(b, red), error=r"plain file name"))
    b = clone(kit.b_onnx, w / "artifact_missing")
    (b / "colour.onnx").unlink()
    cases.append(Case("bundle/artifact-missing", run(b, red), error=r"expected artifact file 'colour.onnx' in bundle"))
    b = clone(kit.b_ext, w / "external_unvouched")
    edit_manifest(b, lambda d: d["artifacts"]["jetson-orin"].pop("external_data"))
    cases.append(Case("bundle/external-data-not-vouched", run(b, red), error=r"does not vouch for"))
    for kind in ("directory", "fifo", "symlink"):
        b = clone(kit.b_onnx, w / f"manifest_{kind}")
        (b / "manifest.json").unlink()
        if kind == "directory":
            (b / "manifest.json").mkdir()
        elif kind == "fifo":
            fifo(b / "manifest.json")
        else:
            os.symlink(kit.b_onnx / "manifest.json", b / "manifest.json")
        cases.append(Case(f"bundle/manifest-{kind}", run(b, red), error=r"manifest.json", timeout=30))
    empty = w / "no_manifest"
    empty.mkdir()
    (empty / "colour.onnx").write_bytes(kit.colour_onnx.read_bytes())
    cases.append(Case("bundle/no-manifest", run(empty, red), error=r"expected manifest.json in bundle"))
    cases.append(Case("bundle/unknown-target", run(kit.b_onnx, red, "--target", "rpi5"),
                      error=r"expected an artifact for target 'rpi5'"))
    cases.append(Case("bundle/backend-openvino-runs-the-onnx", run(kit.b_onnx, red, "--backend", "openvino"),
                      check=frames(1, "red")))
    cases.append(Case("bundle/backend-litert-cannot-read-onnx", run(kit.b_onnx, red, "--backend", "litert"),
                      error=r"expected a file that litert reads"))
    b = clone(kit.b_tfl, w / "coral")
    edit_manifest(b, lambda d: d["artifacts"].update({"coral-usb": {**d["artifacts"]["cpu"], "format": "edgetpu-tflite"}}))
    cases.append(Case("bundle/coral-without-libedgetpu", run(b, red, "--target", "coral-usb"),
                      error=r"expected the Edge TPU runtime library libedgetpu"))
    b = clone(kit.b_onnx, w / "labels_mismatch")
    edit_manifest(b, lambda d: d.update(labels=["red", "green"]))
    cases.append(Case("bundle/labels-mismatch", run(b, red), error=r"expected 3 labels for the model's 3 classes"))
    cases.append(Case("bundle/labels-mismatch-allowed", run(b, red, "--no-check-labels"), check=frames(1)))
    b = clone(kit.b_onnx, w / "bench_tampered")
    flip_byte(b / "colour.onnx")
    cases.append(Case("bundle/tampered-bench", ["bench", b, "--target", "jetson-orin", "--runs", "2", "--warmup", "0",
                                                "--threads", "1", "--json"], error=r"sha256"))
    return cases
