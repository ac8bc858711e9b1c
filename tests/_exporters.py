"""Small models with the output layouts and the metadata real exporters write, built in the test session
(ONNX and OpenVINO here; TFLite and TensorFlow ones in ``_tf_exporters``).

Nothing is downloaded. Each model "detects" the bright colours of a 8x8 grid of cells over its
input (``synthetic://`` and shapes scenes have bright shapes on a dark background), so its
outputs change with the image and a decode can be compared with a reference.

The metadata follows the exporters' own code (read there, not guessed):

- Ultralytics ``Exporter``: ``self.metadata`` = description, author, date, version, license, docs,
  stride, task, batch, imgsz (height, width), names ({id: name}), args (the format's export
  arguments), channels; ONNX: ``metadata_props`` with ``str(v)`` values; OpenVINO: ``rt_info``
  ``model_info`` (model_type YOLO, reverse_input_channels, pad_value 114, scale_values [255],
  iou_threshold, labels with spaces as underscores, resize_type fit_to_window_letterbox) and
  ``metadata.yaml`` (``yaml.dump(sort_keys=False, allow_unicode=True, Dumper=SafeDumper)``);
  TFLite: ``metadata.json`` (``json.dumps(metadata, indent=2)``) in a zip appended to the file.
  ``nms=True`` gives ``[1, max_det, 6]`` rows (x1, y1, x2, y2, score, class), zero-padded.
- YOLOv5 ``export.py``: ONNX ``metadata_props`` ``stride`` and ``names``; output ``[1, N, 5+nc]``.
- TF Object Detection API: a uint8 ``image_tensor`` [None, None, None, 3] and the outputs
  ``detection_boxes`` (normalised ymin, xmin, ymax, xmax), ``detection_classes`` (1-based, float),
  ``detection_scores``, ``num_detections``.
- TFLite Support ``MetadataPopulator``: a ``TFLITE_METADATA`` buffer (schema ``metadata_schema.fbs``,
  identifier M001) and the label file zipped onto the end of the model.
- OpenVINO Model API ``model_info`` in ONNX ``metadata_props`` keyed ``"model_info <name>"``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 64
CELL = 8
GRID = SIZE // CELL
N = GRID * GRID
LABELS = ("red", "green", "blue")
GAIN, OFFSET = 20.0, 0.6  # score = sigmoid(GAIN * (cell colour - OFFSET)): letterbox grey (114) stays below 0.05

ULTRALYTICS = {
    "description": "Ultralytics YOLOv8n model trained on colours.yaml",
    "author": "Ultralytics",
    "date": "2026-11-20T10:00:00.000000",
    "version": "8.3.40",
    "license": "AGPL-3.0 License (https://ultralytics.com/license)",
    "docs": "https://docs.ultralytics.com",
    "stride": 32,
    "task": "detect",
    "batch": 1,
    "imgsz": [SIZE, SIZE],
    "names": dict(enumerate(LABELS)),
    "args": {"batch": 1, "half": False, "dynamic": False, "simplify": True, "opset": None, "nms": False},
    "channels": 3,
}


def cell_boxes() -> np.ndarray:
    """(N, 4) cx, cy, w, h in input pixels: a 2x2-cell box centred on every cell."""
    gy, gx = np.mgrid[0:GRID, 0:GRID].astype(np.float32)
    return np.stack([gx.ravel() * CELL + CELL / 2, gy.ravel() * CELL + CELL / 2,
                     np.full(N, 2.0 * CELL), np.full(N, 2.0 * CELL)], 1).astype(np.float32)


def _save_onnx(graph, path: Path, props: dict[str, str] | None = None, opset: int = 17) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytorch")
    model.ir_version = 8
    for key, value in (props or {}).items():
        meta = model.metadata_props.add()
        meta.key, meta.value = key, value
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def _cell_scores(nodes: list, inits: list) -> str:
    """NCHW float [1, 3, SIZE, SIZE] "images" -> per-cell colour scores [1, 3, N]."""
    from onnx import numpy_helper

    inits += [numpy_helper.from_array(np.array([1, 3, N], np.int64), "cells_shape"),
              numpy_helper.from_array(np.array(OFFSET, np.float32), "offset"),
              numpy_helper.from_array(np.array(GAIN, np.float32), "gain")]
    from onnx import helper

    nodes += [helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[CELL, CELL], strides=[CELL, CELL]),
              helper.make_node("Reshape", ["pooled", "cells_shape"], ["colour"]),
              helper.make_node("Sub", ["colour", "offset"], ["centred"]),
              helper.make_node("Mul", ["centred", "gain"], ["logits"]),
              helper.make_node("Sigmoid", ["logits"], ["scores"])]
    return "scores"


def _input(dims=(1, 3, SIZE, SIZE)):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info("images", TensorProto.FLOAT, list(dims))


def ultralytics_props(**changes) -> dict[str, str]:
    """Ultralytics' metadata as ONNX ``metadata_props``: every value ``str()`` of the Python object."""
    return {k: str(v) for k, v in {**ULTRALYTICS, **changes}.items()}


def yolov8_onnx(path: Path, *, props: dict[str, str] | None = None) -> Path:
    """Anchor-free head ``output0`` [1, 4+nc, N], boxes in input pixels, NCHW input, Ultralytics metadata."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits = [numpy_helper.from_array(cell_boxes().T[None].copy(), "boxes")]
    scores = _cell_scores(nodes, inits)
    nodes.append(helper.make_node("Concat", ["boxes", scores], ["output0"], axis=1))
    graph = helper.make_graph(nodes, "main_graph", [_input()],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + 3, N])], inits)
    return _save_onnx(graph, path, ultralytics_props() if props is None else props)


def end2end_onnx(path: Path, *, k: int = 10, conf: float = 0.25) -> Path:
    """Ultralytics ``nms=True`` / YOLOv10-style ``output0`` [1, K, 6]: x1, y1, x2, y2, score, class; rows under
    ``conf`` zeroed (Ultralytics zero-pads to max_det)."""
    from onnx import TensorProto, helper, numpy_helper

    c = cell_boxes()
    xyxy = np.concatenate([c[:, :2] - c[:, 2:] / 2, c[:, :2] + c[:, 2:] / 2], 1).astype(np.float32)
    nodes: list = []
    inits = [numpy_helper.from_array(xyxy, "xyxy"), numpy_helper.from_array(np.array([N], np.int64), "flat"),
             numpy_helper.from_array(np.array([k], np.int64), "k"), numpy_helper.from_array(np.array(conf, np.float32), "conf"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array([1, k, 6], np.int64), "out_shape")]
    scores = _cell_scores(nodes, inits)
    nodes += [
        helper.make_node("ReduceMax", [scores], ["best3"], axes=[1], keepdims=0),
        helper.make_node("ArgMax", [scores], ["cls3"], axis=1, keepdims=0),
        helper.make_node("Reshape", ["best3", "flat"], ["best"]),
        helper.make_node("Reshape", ["cls3", "flat"], ["cls_i"]),
        helper.make_node("Cast", ["cls_i"], ["cls"], to=TensorProto.FLOAT),
        helper.make_node("TopK", ["best", "k"], ["top", "idx"], axis=0),
        helper.make_node("Gather", ["xyxy", "idx"], ["top_boxes"], axis=0),
        helper.make_node("Gather", ["cls", "idx"], ["top_cls"], axis=0),
        helper.make_node("Unsqueeze", ["top", "axis1"], ["top_col"]),
        helper.make_node("Unsqueeze", ["top_cls", "axis1"], ["cls_col"]),
        helper.make_node("Concat", ["top_boxes", "top_col", "cls_col"], ["rows"], axis=1),
        helper.make_node("Greater", ["top_col", "conf"], ["kept_b"]),
        helper.make_node("Cast", ["kept_b"], ["kept"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["rows", "kept"], ["padded"]),
        helper.make_node("Reshape", ["padded", "out_shape"], ["output0"]),
    ]
    graph = helper.make_graph(nodes, "main_graph", [_input()],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, k, 6])], inits)
    args = {**ULTRALYTICS["args"], "nms": True}
    return _save_onnx(graph, path, ultralytics_props(args=args))


def yolov5_onnx(path: Path) -> Path:
    """YOLOv5's export: ``output0`` [1, N, 5+nc] (cx, cy, w, h, objectness, class scores), ``stride`` and ``names``."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits = [numpy_helper.from_array(cell_boxes().T[None].copy(), "boxes")]
    scores = _cell_scores(nodes, inits)
    nodes += [helper.make_node("ReduceMax", [scores], ["objectness"], axes=[1], keepdims=1),
              helper.make_node("Concat", ["boxes", "objectness", scores], ["attrs_first"], axis=1),
              helper.make_node("Transpose", ["attrs_first"], ["output0"], perm=[0, 2, 1])]
    graph = helper.make_graph(nodes, "main_graph", [_input()],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, N, 5 + 3])], inits)
    return _save_onnx(graph, path, {"stride": "32", "names": str(dict(enumerate(LABELS)))})


def pose_onnx(path: Path) -> Path:
    """An Ultralytics pose head [1, 56, N] (4 box + 1 person score + 17 x 3 keypoints), task 'pose'."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    keypoints = (rng.random((1, 51, N)) * SIZE).astype(np.float32)
    nodes: list = []
    inits = [numpy_helper.from_array(cell_boxes().T[None].copy(), "boxes"),
             numpy_helper.from_array(keypoints, "keypoints")]
    scores = _cell_scores(nodes, inits)
    nodes += [helper.make_node("ReduceMax", [scores], ["person"], axes=[1], keepdims=1),
              helper.make_node("Concat", ["boxes", "person", "keypoints"], ["output0"], axis=1)]
    graph = helper.make_graph(nodes, "main_graph", [_input()],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 56, N])], inits)
    return _save_onnx(graph, path, ultralytics_props(task="pose", names={0: "person"}, kpt_shape=[17, 3]))


def segmenter_1ch_onnx(path: Path) -> Path:
    """A 1-channel segmenter (no labels anywhere): sigmoid mask [1, 1, SIZE, SIZE] of the bright pixels."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(0.35, np.float32), "offset"),
             numpy_helper.from_array(np.array(25.0, np.float32), "gain")]
    nodes = [helper.make_node("ReduceMax", ["images"], ["bright"], axes=[1], keepdims=1),
             helper.make_node("Sub", ["bright", "offset"], ["centred"]),
             helper.make_node("Mul", ["centred", "gain"], ["logits"]),
             helper.make_node("Sigmoid", ["logits"], ["mask"])]
    graph = helper.make_graph(nodes, "segmenter", [_input()],
                              [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, SIZE, SIZE])], inits)
    return _save_onnx(graph, path)


MODEL_API_MEAN = (123.675, 116.28, 103.53)
MODEL_API_SCALE = (58.395, 57.12, 57.375)


def model_api_classifier_onnx(path: Path, *, dims=(1, 3, 32, 32), props: dict | None = None, big: float = 0.0) -> Path:
    """An NCHW classifier taking ImageNet-normalised RGB, with OpenVINO Model API ``model_info`` in ``metadata_props``
    (OpenVINO Training Extensions' exports). Softmax over the mean R, G, B. ``big``: a constant out of the float16
    range (scaled up then down again: harmless in float32)."""
    from onnx import TensorProto, helper, numpy_helper

    mean = np.array(MODEL_API_MEAN, np.float32).reshape(1, 3, 1, 1) / 255
    std = np.array(MODEL_API_SCALE, np.float32).reshape(1, 3, 1, 1) / 255
    inits = [numpy_helper.from_array(std, "std"), numpy_helper.from_array(mean, "mean"),
             numpy_helper.from_array(np.array(8.0, np.float32), "gain")]
    nodes = [helper.make_node("Mul", ["images", "std"], ["unscaled"]),
             helper.make_node("Add", ["unscaled", "mean"], ["rgb"]),
             helper.make_node("GlobalAveragePool", ["rgb"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["colour"], axis=1)]
    last = "colour"
    if big:
        inits += [numpy_helper.from_array(np.array(big, np.float32), "big"),
                  numpy_helper.from_array(np.array(1 / big, np.float32), "small")]
        nodes += [helper.make_node("Mul", [last, "big"], ["huge"], name="scale_up"),
                  helper.make_node("Mul", ["huge", "small"], ["back"], name="scale_down")]
        last = "back"
    nodes += [helper.make_node("Mul", [last, "gain"], ["logits"]),
              helper.make_node("Softmax", ["logits"], ["probs"], axis=-1)]
    out_dims = [dims[0], 3]
    graph = helper.make_graph(nodes, "classifier", [_input(dims)],
                              [helper.make_tensor_value_info("probs", TensorProto.FLOAT, out_dims)], inits)
    if props is None:
        props = {"model_info model_type": "Classification", "model_info labels": " ".join(LABELS),
                 "model_info mean_values": " ".join(map(str, MODEL_API_MEAN)),
                 "model_info scale_values": " ".join(map(str, MODEL_API_SCALE)),
                 "model_info reverse_input_channels": "True", "model_info resize_type": "standard"}
    return _save_onnx(graph, path, props)


def paddle_classifier_onnx(path: Path) -> Path:
    """A PaddleOCR-style direction classifier exported with every dynamic dim named "?" (paddle2onnx):
    input ["?", 3, "?", "?"]."""
    return model_api_classifier_onnx(path, dims=("?", 3, "?", "?"), props={})


def ultralytics_openvino(onnx_path: Path, out_dir: Path, *, metadata: dict | None = None) -> Path:
    """The ``*_openvino_model/`` Ultralytics writes: IR with ``rt_info`` ``model_info`` and ``metadata.yaml``."""
    import openvino as ov
    import yaml

    metadata = dict(ULTRALYTICS if metadata is None else metadata)
    model = ov.convert_model(str(onnx_path))
    model.set_rt_info("YOLO", ["model_info", "model_type"])
    model.set_rt_info(True, ["model_info", "reverse_input_channels"])
    model.set_rt_info(114, ["model_info", "pad_value"])
    model.set_rt_info([255.0], ["model_info", "scale_values"])
    model.set_rt_info(0.7, ["model_info", "iou_threshold"])
    model.set_rt_info([v.replace(" ", "_") for v in metadata["names"].values()], ["model_info", "labels"])
    model.set_rt_info("fit_to_window_letterbox", ["model_info", "resize_type"])
    out_dir.mkdir(parents=True, exist_ok=True)
    xml = out_dir / onnx_path.with_suffix(".xml").name
    ov.save_model(model, str(xml), compress_to_fp16=False)
    with open(out_dir / "metadata.yaml", "w", encoding="utf-8") as f:
        yaml.dump(metadata, f, sort_keys=False, allow_unicode=True, Dumper=yaml.SafeDumper)
    return xml
