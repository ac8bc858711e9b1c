"""The three reference models as ONNX files shaped like the PyTorch exporters' (built here, never downloaded).

Each wraps a committed Keras reference model (``examples/models/*.keras``, trained on generated
shapes) and exports it with tf2onnx, with the input layout, head and metadata the PyTorch-side
exporter writes:

- ``shapes_detector.onnx``: as Ultralytics ``format=onnx`` writes a YOLOv8 detector: input
  ``images`` [1, 3, 128, 128] NCHW, RGB / 255; output ``output0`` [1, 4+nc, N] = the last op a
  ``Concat`` of the boxes (cx, cy, w, h in *input pixels*, 0..128) and the class scores (0..1),
  so one tensor spans two ranges that differ 128 times; Ultralytics' ``metadata_props``
  (``str()`` of each value: names, imgsz, stride, task, args, ...);
- ``shapes_classifier.onnx``: an NCHW classifier [1, 3, 64, 64] -> softmax [1, 3], with the
  metadata Ultralytics writes for a ``classify`` model;
- ``shapes_segmenter.onnx``: as torchvision's segmenters export: ImageNet-normalised NCHW input
  [1, 3, 96, 96], output ``out`` logits [1, 4, 96, 96] NCHW; its labels and normalisation in
  ``shapes_segmenter.json`` beside it (torchvision writes no metadata);
- ``shapes_detector_tf.onnx``: the Keras detector as a TensorFlow user exports it with tf2onnx: NHWC
  input [1, 128, 128, 3], one ``output`` [1, N, 4+nc] from a Reshape (no Concat: one head conv holds
  boxes and scores), boxes as fractions; its labels and decoder in ``shapes_detector_tf.json``.

    python examples/onnx_reference_models.py out/onnx      # writes the three files (and the .json)

Example:
    >>> path = export_detector(Path(tmp) / "shapes_detector.onnx")     # doctest: +SKIP
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODELS = Path(__file__).resolve().parent / "models"
LABELS = ("circle", "square", "triangle")
IMAGENET_MEAN = (123.675, 116.28, 103.53)  # pixel units, as torchvision's transforms normalise
IMAGENET_STD = (58.395, 57.12, 57.375)


def ultralytics_metadata(task: str, size: int, stride: int) -> dict[str, str]:
    """The ``metadata_props`` Ultralytics' exporter writes (``str()`` of each value of its ``self.metadata``)."""
    meta: dict[str, Any] = {
        "description": f"Ultralytics YOLOv8n-{task} model trained on shapes.yaml", "author": "Ultralytics",
        "date": "2026-11-29T12:00:00.000000", "version": "8.3.40",
        "license": "AGPL-3.0 License (https://ultralytics.com/license)", "docs": "https://docs.ultralytics.com",
        "stride": stride, "task": task, "batch": 1, "imgsz": [size, size], "names": dict(enumerate(LABELS)),
        "args": {"batch": 1, "half": False, "dynamic": False, "simplify": True, "opset": None, "nms": False},
        "channels": 3,
    }
    return {k: str(v) for k, v in meta.items()}


def _export(model: Any, shape: tuple[int, ...], path: Path, output: str, props: dict[str, str],
            producer: tuple[str, str] | None = ("pytorch", "2.5.1")) -> Path:
    """tf2onnx (opset 17) of a Keras model on a float input ``images`` of ``shape``; the output renamed ``output``;
    ``producer`` as torch.onnx.export writes it (None: tf2onnx's own)."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec(shape, tf.float32, name="images"),)
    with contextlib.redirect_stdout(io.StringIO()):
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    old = proto.graph.output[0].name
    for node in proto.graph.node:
        node.output[:] = [output if o == old else o for o in node.output]
        node.input[:] = [output if i == old else i for i in node.input]
    proto.graph.output[0].name = output
    if producer:
        proto.producer_name, proto.producer_version = producer
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(proto.SerializeToString())
    os.replace(tmp, path)
    return path


def _nchw_input(size: int, scale: float = 255.0) -> tuple[Any, Any]:
    """An NCHW input and, from it, the NHWC pixels (0..255) the Keras reference models take."""
    import keras

    inp = keras.Input((3, size, size), batch_size=1, name="images")
    return inp, keras.layers.Rescaling(scale)(keras.layers.Permute((2, 3, 1))(inp))


def export_detector(path: Path) -> Path:
    """``shapes_detector.onnx``: Ultralytics' YOLOv8 layout and metadata (see the module docstring)."""
    import keras

    det = keras.models.load_model(MODELS / "shapes_detector.keras", compile=False)
    size = int(det.inputs[0].shape[1])
    inp, pixels = _nchw_input(size)
    rows = keras.layers.Permute((2, 1))(det(pixels))  # [1, 4+nc, N], boxes as fractions of the input
    boxes = keras.layers.Rescaling(float(size))(rows[:, :4, :])  # pixels, as Ultralytics' ONNX gives them
    out = keras.layers.Concatenate(axis=1)([boxes, rows[:, 4:, :]])
    model = keras.Model(inp, out, name="shapes_detector_onnx")
    return _export(model, (1, 3, size, size), path, "output0", ultralytics_metadata("detect", size, 8))


def export_classifier(path: Path) -> Path:
    """``shapes_classifier.onnx``: NCHW input / 255, softmax [1, 3]; Ultralytics ``classify`` metadata."""
    import keras

    cls = keras.models.load_model(MODELS / "shapes_classifier.keras", compile=False)
    size = int(cls.inputs[0].shape[1])
    inp, pixels = _nchw_input(size)
    model = keras.Model(inp, cls(pixels), name="shapes_classifier_onnx")
    return _export(model, (1, 3, size, size), path, "output0", ultralytics_metadata("classify", size, 1))


def export_segmenter(path: Path) -> Path:
    """``shapes_segmenter.onnx`` (+ ``.json``): torchvision-style ImageNet-normalised NCHW in, ``out`` [1, 4, H, W]."""
    import keras
    import numpy as np

    seg = keras.models.load_model(MODELS / "shapes_segmenter.keras", compile=False)
    size = int(seg.inputs[0].shape[1])
    inp = keras.Input((3, size, size), batch_size=1, name="images")
    nhwc = keras.layers.Permute((2, 3, 1))(inp)
    std, mean = np.asarray(IMAGENET_STD, np.float32), np.asarray(IMAGENET_MEAN, np.float32)
    pixels = keras.layers.Rescaling(std, offset=mean)(nhwc)  # x * std + mean: back to pixels
    logits = keras.layers.Permute((3, 1, 2))(seg(pixels))  # [1, C, H, W]
    model = keras.Model(inp, logits, name="shapes_segmenter_onnx")
    out = _export(model, (1, 3, size, size), path, "out", {})
    info = {"task": "segmentation", "labels": ["background", *LABELS], "decoder": {"type": "segmentation"},
            "input": {"resize": "stretch", "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}}
    path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out


def export_detector_tf(path: Path) -> Path:
    """``shapes_detector_tf.onnx`` (+ ``.json``): the Keras detector through tf2onnx as it is (NHWC, no Concat)."""
    import keras

    det = keras.models.load_model(MODELS / "shapes_detector.keras", compile=False)
    size = int(det.inputs[0].shape[1])
    out = _export(det, (1, size, size, 3), path, "output", {}, producer=None)
    info = json.loads((MODELS / "shapes_detector.json").read_text(encoding="utf-8"))
    path.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out


EXPORTS = {"detector": export_detector, "classifier": export_classifier, "segmenter": export_segmenter,
           "detector_tf": export_detector_tf}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="directory to write shapes_{detector,classifier,segmenter}.onnx into")
    args = p.parse_args()
    for kind, export in EXPORTS.items():
        print(export(args.out / f"shapes_{kind}.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
