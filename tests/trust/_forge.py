"""Build the corpus' inputs in the session: small real models and bundles, then forged copies of them.

Models come from ``tests/_onnx_models.py`` (ONNX written with ``onnx.helper``), OpenVINO IR
converted from them with ``ov.convert_model``, and the session's TFLite classifier (the
``zoo``). Forgeries are the bytes a careless user or an attacker would hand over: cut,
patched, renamed, linked out of the bundle, zipped with lies in the header.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgevision.bundle import MANIFEST, Artifact, Manifest, write_bundle
from edgevision.decode import decoder_config

COLOURS = ["red", "green", "blue"]


def random_file(path: Path, size: int = 4096, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def cut(src: Path, dest: Path, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def flip_byte(path: Path, at: float = 0.5) -> Path:
    """Change one byte of ``path`` in place (at a fraction of its length)."""
    data = bytearray(path.read_bytes())
    i = min(len(data) - 1, int(len(data) * at))
    data[i] ^= 0x01
    path.write_bytes(bytes(data))
    return path


def patch(src: Path, dest: Path, old: bytes, new: bytes) -> Path:
    """``src`` with every ``old`` replaced by ``new`` (same length), written to ``dest``."""
    assert len(old) == len(new)
    data = Path(src).read_bytes()
    assert old in data, (old, src)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data.replace(old, new))
    return dest


def fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


# ------------------------------------------------------------------ ONNX models

def onnx_save(model, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def onnx_graph(nodes, inputs, outputs, inits=(), *, opset: int = 17):
    from onnx import helper

    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, list(inits)),
                              opset_imports=[helper.make_opsetid("", opset)], producer_name="edgevision-trust")
    model.ir_version = 8
    return model


def vi(name: str, dims: list, elem: int | None = None):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT if elem is None else elem, dims)


def onnx_classifier_with(path: Path, *, extra_nodes=(), extra_inits=(), input_dims=(1, 64, 64, 3),
                         out: str = "probs") -> Path:
    """A 3-class classifier [1,H,W,3] -> [1,3] (mean colour, softmax) with extra nodes/initialisers spliced in."""
    from onnx import helper, numpy_helper

    nodes = [helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2], keepdims=0),
             helper.make_node("Mul", ["mean", "gain"], ["logits"]),
             *extra_nodes,
             helper.make_node("Softmax", ["logits2" if extra_nodes else "logits"], [out], axis=-1)]
    inits = [numpy_helper.from_array(np.array(8.0, np.float32), "gain"), *extra_inits]
    return onnx_save(onnx_graph(nodes, [vi("images", list(input_dims))], [vi(out, [1, 3])], inits), path)


def onnx_external(path: Path, location: str, *, write_data: bool = True) -> Path:
    """The colour classifier with its gain stored as external data at ``location`` (relative to the model)."""
    import onnx
    from onnx import helper

    nodes = [helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2], keepdims=0),
             helper.make_node("Mul", ["mean", "gain"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=-1)]
    gain = onnx.TensorProto(name="gain", data_type=onnx.TensorProto.FLOAT, dims=[3])
    gain.data_location = onnx.TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "12")):
        entry = gain.external_data.add()
        entry.key, entry.value = key, value
    model = onnx_graph(nodes, [vi("images", [1, 64, 64, 3])], [vi("probs", [1, 3])], [gain])
    onnx_save(model, path)
    if write_data:
        (path.parent / location).write_bytes(np.full(3, 8.0, np.float32).tobytes())
    return path


def ir_from_onnx(onnx_path: Path, xml: Path) -> Path:
    import openvino as ov

    xml.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(ov.convert_model(str(onnx_path)), str(xml), compress_to_fp16=False)
    return xml


def copy_ir(xml: Path, dest_dir: Path, name: str = "model") -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(xml, dest_dir / f"{name}.xml")
    shutil.copyfile(xml.with_suffix(".bin"), dest_dir / f"{name}.bin")
    return dest_dir / f"{name}.xml"


# ------------------------------------------------------------------ bundles

def bundle(dest: Path, files: dict[str, Path], artifacts: dict[str, tuple[str, str]], *,
           labels=COLOURS, task: str = "classification", decoder: str = "classification", **options) -> Path:
    """write_bundle with {target: (file, format)} artifacts, fp32, the files copied in."""
    manifest = Manifest(task=task, decoder=decoder_config(decoder, options), labels=list(labels),
                        artifacts={t: Artifact(file=f, format=fmt, precision="fp32") for t, (f, fmt) in artifacts.items()})
    return write_bundle(dest, manifest, files)


def clone(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


def edit_manifest(bundle_dir: Path, change: Callable[[dict], object]) -> Path:
    path = bundle_dir / MANIFEST
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return bundle_dir


def raw_manifest(bundle_dir: Path, data: bytes) -> Path:
    (bundle_dir / MANIFEST).unlink()
    (bundle_dir / MANIFEST).write_bytes(data)
    return bundle_dir


# ------------------------------------------------------------------ zips

def zip_dir(src: Path, dest: Path, *, prefix: str = "") -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.write(p, f"{prefix}{p.relative_to(src)}")
    return dest


def zip_entries(dest: Path, entries: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(dest, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return dest


def zip_lying_size(src_zip: Path, dest: Path, name: str, declared: int) -> Path:
    """``src_zip`` with the uncompressed size of entry ``name`` rewritten to ``declared`` in both headers."""
    data = bytearray(src_zip.read_bytes())
    with zipfile.ZipFile(src_zip) as zf:
        info = zf.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, declared)  # local header: uncompressed size
    at = data.find(b"PK\x01\x02")
    while at != -1:  # central directory: uncompressed size of the same entry
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46: at + 46 + name_len] == name.encode():
            struct.pack_into("<I", data, at + 24, declared)
        at = data.find(b"PK\x01\x02", at + 4)
    dest.write_bytes(bytes(data))
    return dest


def zip_symlink(dest: Path, name: str, target: str, others: dict[str, bytes]) -> Path:
    """A zip whose ``name`` entry is a symbolic link (Unix mode in external_attr) to ``target``."""
    with zipfile.ZipFile(dest, "w") as zf:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, target)
        for n, d in others.items():
            zf.writestr(n, d)
    return dest


# ------------------------------------------------------------------ images and videos

def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that declares ``width`` x ``height`` and carries one tiny IDAT (a decoder bomb's header)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


def write_image(path: Path, rgb: np.ndarray) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), rgb[..., ::-1] if rgb.ndim == 3 and rgb.shape[2] == 3 else rgb)
    return path


def write_video(path: Path, n: int = 60, size: tuple[int, int] = (64, 48), fourcc: str = "MJPG") -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30.0, size)
    for i in range(n):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        frame[..., 2] = 40 + (i * 3) % 200  # red in BGR: the classifier says red
        writer.write(frame)
    writer.release()
    return path


def solid(colour: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    img = np.zeros((*size, 3), np.uint8)
    img[..., colour] = 230
    return img
