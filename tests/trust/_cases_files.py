"""Corpus cases: manifests (wrong JSON, types, ranges, shapes) and zipped bundles (limits, paths, lies)."""
from __future__ import annotations

import zipfile
from pathlib import Path

from _cases_models import frames, run
from _corpus import Case
from _forge import (
    clone,
    edit_manifest,
    fifo,
    flip_byte,
    random_file,
    raw_manifest,
    zip_dir,
    zip_entries,
    zip_lying_size,
    zip_symlink,
)

ART = ("artifacts", "jetson-orin")
CACHE = ".cache/edgevision/bundles/*"


def _set(*path_and_value):
    *path, key, value = path_and_value

    def change(d: dict) -> None:
        for p in path:
            d = d[p]
        d[key] = value
    return change


def _pop(*path_and_key):
    *path, key = path_and_key

    def change(d: dict) -> None:
        for p in path:
            d = d[p]
        d.pop(key)
    return change


# (id, change to the manifest dict, regex of the error): each names the key at fault.
EDITS = [
    ("file-a-number", _set(*ART, "file", 5), r"plain file name .* 'file' of artifact 'jetson-orin'.* got 5"),
    ("sha256-null", _set(*ART, "sha256", None), r"'sha256' .* to be 64 lowercase hex digits, got None"),
    ("sha256-short", _set(*ART, "sha256", "abc"), r"'sha256'"),
    ("size-a-string", _set(*ART, "size", "abc"), r"'size' .* byte count .* got 'abc'"),
    ("size-negative", _set(*ART, "size", -1), r"'size'"),
    ("size-wrong", _set(*ART, "size", 5), r"expected 5 bytes in colour.onnx|sha256"),
    ("format-unknown", _set(*ART, "format", "exe"), r"expected format among"),
    ("format-a-number", _set(*ART, "format", 3), r"'format' .* a string"),
    ("precision-a-list", _set(*ART, "precision", ["fp32"]), r"'precision'"),
    ("weights-a-string", _set(*ART, "weights", "x.bin"), r"expected an object for weights"),
    ("external-data-a-string", _set(*ART, "external_data", "x"), r"'external_data'"),
    ("external-data-escapes", _set(*ART, "external_data", [{"file": "../x", "sha256": "0" * 64}]), r"plain file name"),
    ("converter-a-list", _set(*ART, "converter", [1]), r"'converter' .* an object"),
    ("artifact-a-number", _set("artifacts", "jetson-orin", 5), r"expected an object for artifact"),
    ("artifacts-a-list", _set("artifacts", []), r"artifacts as an object"),
    ("artifacts-empty", _set("artifacts", {}), r"at least one artifact"),
    ("input-size-negative", _set("input", "size", [-1, 64]), r"'size' in input .* integers from 1 to 8192"),
    ("input-size-100000", _set("input", "size", [100000, 100000]), r"'size' in input"),
    ("input-size-three", _set("input", "size", [64, 64, 3]), r"'size' in input"),
    ("input-size-a-string", _set("input", "size", "64x64"), r"'size' in input"),
    ("input-mean-a-string", _set("input", "mean", "abc"), r"'mean' in input"),
    ("input-std-zero", _set("input", "std", [0]), r"'std' in input .* non-zero"),
    ("input-std-two", _set("input", "std", [1, 2]), r"'std' in input"),
    ("input-pad-1000", _set("input", "pad_value", 1000), r"'pad_value' in input .* 0 to 255"),
    ("input-layout-a-number", _set("input", "layout", 5), r"'layout' in input"),
    ("input-layout-unknown", _set("input", "layout", "HWCN"), r"layout 'NHWC' or 'NCHW'"),
    ("input-colour-unknown", _set("input", "color", "CMYK"), r"colour 'RGB' or 'BGR'"),
    ("input-resize-unknown", _set("input", "resize", "fish"), r"resize mode among"),
    ("input-a-list", _set("input", [1]), r"expected an object for input"),
    ("top-k-negative", _set("decoder", "top_k", -1), r"'top_k' of the classification decoder .* from 1 to"),
    ("top-k-a-string", _set("decoder", "top_k", "abc"), r"'top_k'"),
    ("top-k-fraction", _set("decoder", "top_k", 2.5), r"'top_k'"),
    ("score-threshold-2", _set("decoder", "score_threshold", 2), r"'score_threshold' .* from 0 to 1"),
    ("score-threshold-a-string", _set("decoder", "score_threshold", "abc"), r"'score_threshold'"),
    ("logits-a-string", _set("decoder", "logits", "yes"), r"'logits'"),
    ("decoder-a-string", _set("decoder", "classification"), r"expected an object for decoder"),
    ("decoder-other-task", _set("decoder", {"type": "yolo"}), r"expected a classification decoder"),
    ("decoder-unknown-type", _set("decoder", {"type": "fish"}), r"expected a decoder among"),
    ("labels-a-string", _set("labels", "red,green,blue"), r"labels as a list of strings"),
    ("labels-numbers", _set("labels", [1, 2, 3]), r"labels as a list of strings"),
    ("schema-true", _set("schema", True), r"expected schema 1"),
    ("schema-a-string", _set("schema", "1"), r"expected schema 1"),
    ("task-a-number", _set("task", 5), r"'task' .* a string"),
    ("task-unknown", _set("task", "depth"), r"expected task among"),
    ("name-a-list", _set("name", ["x"]), r"'name' .* a string"),
    ("source-a-string", _set("source", "x"), r"expected an object for source"),
    ("source-metadata-a-string", _set("source", {"metadata": "x"}), r"an object for 'metadata' in source"),
    ("unknown-key", _set("extra", 1), r"unknown key 'extra'"),
    ("no-decoder", _pop("decoder"), r"expected key 'decoder'"),
]


def manifest_cases(kit, w: Path) -> list[Case]:
    red, cases = kit.red, []
    w.mkdir(parents=True, exist_ok=True)
    for name, change, error in EDITS:
        b = edit_manifest(clone(kit.b_onnx, w / name), change)
        cases.append(Case(f"manifest/{name}", run(b, red), error=error))
    raw = {
        "not-json": b"{not json",
        "binary": bytes(range(256)),
        "nested-100000": b"[" * 100000 + b"]" * 100000,
        "integer-100000-digits": b'{"schema": ' + b"9" * 100000 + b"}",
        "nan": b'{"schema": NaN}',
        "top-level-array": b"[1, 2, 3]",
        "five-mib": b'{"name": "' + b"x" * (5 << 20) + b'"}',
        "empty": b"",
    }
    for name, data in raw.items():
        b = raw_manifest(clone(kit.b_onnx, w / name), data)
        cases.append(Case(f"manifest/{name}", run(b, red), error=r"(JSON|manifest.json|expected an object)"))
    return cases


def zip_cases(kit, w: Path) -> list[Case]:
    red, cases = kit.red, []
    w.mkdir(parents=True, exist_ok=True)
    manifest = (kit.b_onnx / "manifest.json").read_bytes()
    model = kit.colour_onnx.read_bytes()

    def refused(name: str, path: Path, error: str) -> None:
        # HOME is the case's directory: nothing may be left in its bundle cache.
        cases.append(Case(f"zip/{name}", run(path, red), error=error, home_absent=[CACHE]))

    cases.append(Case("zip/ok", run(zip_dir(kit.b_onnx, w / "ok.zip"), red), check=frames(1, "red")))
    cases.append(Case("zip/ok-with-top-directory", run(zip_dir(kit.b_onnx, w / "top.zip", prefix="bundle/"), red),
                      check=frames(1, "red")))
    bomb = zip_entries(w / "bomb.zip", {"manifest.json": manifest, "colour.onnx": model,
                                        "zeros.bin": b"\0" * (64 << 20)})
    refused("ratio-bomb", bomb, r"compressed at most 200:1")
    small = zip_entries(w / "small.zip", {"manifest.json": manifest, "colour.onnx": model})
    refused("declares-3-gib", zip_lying_size(small, w / "big_header.zip", "colour.onnx", 3 << 30),
            r"at most 2048 MiB unpacked")
    refused("declares-less-than-it-holds", zip_lying_size(small, w / "liar.zip", "colour.onnx", 100),
            r"(inflate to the 100 bytes|zip archive)")
    many = {f"f{i}.txt": b"x" for i in range(300)}
    refused("300-entries", zip_entries(w / "many.zip", {"manifest.json": manifest, **many}), r"at most 256 entries")
    refused("absolute-entry", zip_entries(w / "abs.zip", {"manifest.json": manifest, "/tmp/evil.onnx": model}),
            r"relative paths .* '/tmp/evil.onnx'")
    refused("dotdot-entry", zip_entries(w / "slip.zip", {"manifest.json": manifest, "../../evil.onnx": model}),
            r"relative paths")
    refused("nested-dotdot-entry", zip_entries(w / "slip2.zip", {"b/manifest.json": manifest, "b/../../x": model}),
            r"relative paths")
    refused("not-a-zip", random_file(w / "random.zip"), r"expected a zip archive")
    whole = zip_dir(kit.b_onnx, w / "whole.zip")
    cut_zip = w / "cut.zip"
    cut_zip.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    refused("truncated", cut_zip, r"expected a zip archive")
    refused("no-manifest", zip_entries(w / "nomanifest.zip", {"colour.onnx": model}), r"expected manifest.json")
    refused("empty", zip_entries(w / "empty.zip", {}), r"expected manifest.json")
    refused("manifest-symlink-entry", zip_symlink(w / "symlink.zip", "manifest.json", "/etc/passwd",
                                                  {"colour.onnx": model}), r"JSON")
    encrypted = zip_dir(kit.b_onnx, w / "enc.zip")
    data = bytearray(encrypted.read_bytes())
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(sig)
        while at != -1:
            data[at + flag_at] |= 1  # general purpose flag bit 0: encrypted
            at = data.find(sig, at + 4)
    encrypted.write_bytes(bytes(data))
    refused("encrypted", encrypted, r"zip archive")
    tampered_src = clone(kit.b_onnx, w / "tampered_src")
    flip_byte(tampered_src / "colour.onnx")
    refused("tampered-artifact", zip_dir(tampered_src, w / "tampered.zip"), r"expected sha256")
    refused("fifo", fifo(w / "pipe.zip"), r"not a regular file")
    stored = zip_entries(w / "stored.zip", {"manifest.json": manifest, "colour.onnx": model}, method=zipfile.ZIP_STORED)
    cases.append(Case("zip/stored-ok", run(stored, red), check=frames(1, "red")))
    return cases
