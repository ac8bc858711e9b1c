"""Train the three reference models on generated shapes data, and measure them through the runtime.

Nothing is downloaded: the data comes from ``edgevision.converters.datasets.shapes_dataset``, and
the weights written here are small enough to commit, for the tests and examples to use.
Run it from the repository root::

    python examples/train_reference_models.py            # train, evaluate, write examples/models/
    python examples/train_reference_models.py --check    # evaluate the committed models only

Each model takes raw RGB pixels, float 0..255 NHWC, batch 1 (a Rescaling(1/255) layer is
inside), so the runtime's input format is mean 0, std 1, and a uint8-input int8 artifact
gets input scale 1 and zero point 0. Only built-in Keras layers are used (no Lambda, no
custom layer: the ``.keras`` files load with ``compile=False`` and no custom objects),
all of them ops the Edge TPU maps after full-int8 conversion; BatchNormalization folds
into the preceding convolution at conversion. Per model:

- ``shapes_classifier``: 64x64 input, softmax [1, 3] over circle / square / triangle;
- ``shapes_detector``: 128x128 input, YOLO layout [1, 256, 7] (16x16 grid), rows
  (cx, cy, w, h, 3 sigmoid class scores) with boxes as fractions of the input, so boxes
  and scores share one 0..1 range (one int8 scale covers the whole output);
- ``shapes_segmenter``: 96x96 input, a three-level U-Net (nearest upsampling as
  Concatenate + Reshape), softmax [1, 96, 96, 4] over background + the three shapes;
- ``shapes_instances`` (YOLO-seg), ``figures_pose`` (YOLO-pose, stick figures, 17 COCO keypoints)
  and ``figure_movenet`` (single-pose MoveNet layout): see ``_reference_tasks.py``; letterboxed
  with grey 114 as Ultralytics feeds its models.

Beside each ``<stem>.keras`` goes ``<stem>.json`` (task, labels, decoder, input: what the
converter reads), and ``reference.json`` holds the held-out figures, measured by running an
fp32 ``.tflite`` of each model through ``edgevision.load`` on images of a different seed.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

import _reference_tasks
import _train_tasks
import numpy as np

import edgevision
from edgevision.converters.datasets import SHAPE_LABELS, ShapesDataset, shapes_dataset
from edgevision.converters.metrics import accuracy, map50, mean_iou
from edgevision.converters.metrics_tasks import mask_map50, oks_map50

MODELS_DIR = Path(__file__).resolve().parent / "models"
SEED = 2024
NC = len(SHAPE_LABELS)
INPUT = {"layout": "NHWC", "color": "RGB", "resize": "stretch", "mean": [0, 0, 0], "std": [1, 1, 1]}


@dataclass(frozen=True)
class Reference:
    """One reference model: what it is, how it is trained, and the bar its held-out figure must clear."""

    stem: str
    task: str
    size: int  # square input side
    labels: tuple
    decoder: dict  # the decoder entry of the model-info JSON
    metric: str  # name of the figure in reference.json
    bar: float
    train_images: int
    epochs: int
    batch_size: int
    test_images: int
    offset: int  # data seeds: SEED + offset for training, SEED + 100 + offset held out


REFERENCES = {
    "classifier": Reference(
        stem="shapes_classifier", task="classification", size=64, labels=SHAPE_LABELS,
        decoder={"type": "classification", "top_k": 3}, metric="accuracy", bar=0.95,
        train_images=1500, epochs=8, batch_size=32, test_images=400, offset=1),
    "detector": Reference(
        stem="shapes_detector", task="detection", size=128, labels=SHAPE_LABELS,
        decoder={"type": "yolo", "score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100,
                 "box_format": "normalized"},
        metric="map50", bar=0.7, train_images=1200, epochs=8, batch_size=32, test_images=300, offset=2),
    "segmenter": Reference(
        # Batch 16: the net first learns shape vs background and only later which shape; at batch 32
        # (half the steps) some seeds had not got there by the end (held-out mIoU 0.83 instead of 0.95).
        stem="shapes_segmenter", task="segmentation", size=96, labels=("background", *SHAPE_LABELS),
        decoder={"type": "segmentation"}, metric="miou", bar=0.8,
        train_images=800, epochs=6, batch_size=16, test_images=200, offset=3),
    "instances": Reference(
        stem="shapes_instances", task="instance-segmentation", size=160, labels=SHAPE_LABELS,
        decoder={"type": "yolo-seg", "score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100,
                 "box_format": "normalized"},
        metric="mask_map50", bar=0.7, train_images=900, epochs=10, batch_size=16, test_images=150, offset=4),
    "pose": Reference(
        stem="figures_pose", task="pose", size=160, labels=("person",),
        decoder={"type": "yolo-pose", "score_threshold": 0.25, "iou_threshold": 0.45, "max_detections": 100,
                 "box_format": "normalized", "kpt_shape": [17, 3]},
        metric="oks_map50", bar=0.5, train_images=900, epochs=12, batch_size=16, test_images=150, offset=5),
    "movenet": Reference(
        stem="figure_movenet", task="pose", size=128, labels=("person",),
        decoder={"type": "movenet", "score_threshold": 0.2, "keypoint_threshold": 0.2},
        metric="oks_map50", bar=0.5, train_images=900, epochs=12, batch_size=16, test_images=150, offset=6),
}
TASK_MODELS = ("instances", "pose", "movenet")  # trained by _train_tasks.py


def model_info(ref: Reference) -> dict[str, Any]:
    """The model-info JSON the converter reads beside ``<stem>.keras``.

    Example:
        >>> info = model_info(REFERENCES["detector"])
        >>> info["decoder"]["type"], info["input"]["size"], info["input"]["std"]
        ('yolo', [128, 128], [1, 1, 1])
    """
    fmt = _reference_tasks.LETTERBOX if ref.stem in {REFERENCES[k].stem for k in TASK_MODELS} else INPUT
    return {"task": ref.task, "labels": list(ref.labels), "decoder": dict(ref.decoder),
            "input": {"size": [ref.size, ref.size], **fmt}}


# -- models ----------------------------------------------------------------------------------------
def _conv_bn(x: Any, filters: int, name: str, stride: int = 1) -> Any:
    """3x3 conv (no bias) + BatchNorm + ReLU: BN trains fast at a high rate and folds into the conv."""
    from keras import layers

    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    # Momentum 0.9, not 0.99: in a few hundred steps the moving statistics must catch up.
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _input(size: int, batch_size: int | None) -> tuple[Any, Any]:
    import keras

    inp = keras.Input((size, size, 3), batch_size=batch_size, name="images")
    return inp, keras.layers.Rescaling(1 / 255, name="pixels_to_unit")(inp)


def build_classifier(batch_size: int | None = 1) -> Any:
    """64x64 -> four stride-2/1 conv blocks -> global average -> softmax [1, 3]."""
    import keras

    inp, x = _input(64, batch_size)
    for i, (filters, stride) in enumerate([(8, 2), (16, 2), (32, 2), (32, 1)]):
        x = _conv_bn(x, filters, f"block{i}", stride)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    out = keras.layers.Dense(NC, activation="softmax", name="scores")(x)
    return keras.Model(inp, out, name="shapes_classifier")


GRID = 16  # detector cells per side: stride 8 on the 128x128 input


def build_detector(batch_size: int | None = 1) -> Any:
    """128x128 -> conv blocks to a 16x16 grid -> 1x1 head -> sigmoid -> cell offsets -> [1, 256, 7].

    Box decoding is one Rescaling with array scale and offset (a MUL and an ADD by constants):
    cx = (2 * sigmoid(tx) - 0.5 + cell_x) / 16 (YOLOv5's centre range, so a neighbouring cell
    can own a box too), w = sigmoid(tw) as a fraction of the input; scores pass unchanged.

    Example:
        >>> build_detector().output.shape
        (1, 256, 7)
    """
    import keras

    inp, x = _input(128, batch_size)
    for i, (filters, stride) in enumerate([(16, 2), (24, 2), (32, 1), (48, 2), (48, 1), (48, 1)]):
        x = _conv_bn(x, filters, f"block{i}", stride)
    return keras.Model(inp, yolo_head(x), name="shapes_detector")


def yolo_head(features: Any) -> Any:
    """GRID x GRID features -> 1x1 conv ("head") -> sigmoid -> box decoding -> the [1, GRID*GRID, 4+NC] output."""
    import keras

    head = keras.layers.Conv2D(4 + NC, 1, name="head")(features)
    x = keras.layers.Activation("sigmoid", name="sigmoid")(head)
    gy, gx = np.mgrid[0:GRID, 0:GRID].astype(np.float32)
    scale = np.array([2 / GRID, 2 / GRID] + [1.0] * (2 + NC), np.float32)
    offset = np.zeros((GRID, GRID, 4 + NC), np.float32)
    offset[..., 0], offset[..., 1] = (gx - 0.5) / GRID, (gy - 0.5) / GRID
    x = keras.layers.Rescaling(scale, offset, name="decode_boxes")(x)
    return keras.layers.Reshape((GRID * GRID, 4 + NC), name="output")(x)


def _upsample2x(x: Any, name: str) -> Any:
    """Nearest-neighbour 2x upsampling as Concatenate + Reshape, twice (columns, then rows).

    Exactly ``np.repeat(np.repeat(x, 2, 1), 2, 2)``. Why not a resize layer: Keras 3's
    UpSampling2D lowers to RESHAPE/TILE through rank-5 tensors, which the Edge TPU cannot
    map, and Resizing("nearest") to a half-pixel RESIZE_NEAREST_NEIGHBOR, an op version the
    Edge TPU compiler has rejected. Concatenation and reshape map everywhere.
    """
    from keras import layers

    _, h, w, c = x.shape
    x = layers.Concatenate(name=f"{name}_cols")([x, x])  # [h, w, 2c] is [h, 2w, c] with each pixel twice
    x = layers.Reshape((h, 2 * w, c), name=f"{name}_cols_reshape")(x)
    x = layers.Concatenate(axis=2, name=f"{name}_rows")([x, x])  # [h, 4w, c] is [2h, 2w, c], each row twice
    return layers.Reshape((2 * h, 2 * w, c), name=f"{name}_rows_reshape")(x)


def build_segmenter(batch_size: int | None = 1) -> Any:
    """A three-level U-Net at 96x96: max-pool down, nearest upsampling, concatenated skips, softmax.

    Three levels, not two: telling a square's inside from a circle's needs a receptive field
    over the whole shape (up to 42 px here); with two levels (about 35 px) training stalled
    near mIoU 0.6, while the 12x12 level costs almost nothing.
    """
    import keras
    from keras import layers

    inp, x = _input(96, batch_size)
    widths = (8, 16, 32, 48)  # 96, 48, 24 and 12 px levels
    x = _conv_bn(x, widths[0], "enc0")
    skips = [x]
    for level, filters in enumerate(widths[1:], start=1):
        x = layers.MaxPooling2D(name=f"down{level}")(x)
        x = _conv_bn(x, filters, f"enc{level}a")
        x = _conv_bn(x, filters, f"enc{level}b")
        skips.append(x)
    for level in range(len(widths) - 2, -1, -1):
        # A 1x1 conv narrows the deep features before they go up: the fine levels dominate the cost.
        x = layers.Conv2D(widths[level], 1, activation="relu", name=f"narrow{level}")(x)
        x = _upsample2x(x, f"up{level}")
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = _conv_bn(x, widths[level], f"dec{level}")
    logits = layers.Conv2D(NC + 1, 1, name="logits")(x)
    out = layers.Softmax(name="classes")(logits)
    return keras.Model(inp, out, name="shapes_segmenter")


# -- training targets and losses ---------------------------------------------------------------------
def detector_targets(data: ShapesDataset, size: int) -> np.ndarray:
    """(n, 256, 8) targets: normalised cx, cy, w, h, one-hot class, and 1 where the cell owns a box.

    A box is owned by the cell holding its centre and by the two neighbours nearest the centre
    (YOLOv5's assignment): three positives per box, which the head's centre range can reach.

    Example:
        >>> data = ShapesDataset("detection", np.zeros((1, 128, 128, 3), np.uint8),
        ...                      boxes=[np.array([[20.0, 20.0, 40.0, 44.0]])], classes=[np.array([2])])
        >>> y = detector_targets(data, 128)
        >>> np.flatnonzero(y[0, :, -1]).tolist(), y[0, 4 * 16 + 3].tolist()
        ([51, 67, 68], [0.234375, 0.25, 0.15625, 0.1875, 0.0, 0.0, 1.0, 1.0])
    """
    stride = size / GRID
    y = np.zeros((len(data), GRID * GRID, 4 + NC + 1), np.float32)
    for i, (boxes, classes) in enumerate(zip(data.boxes, data.classes)):
        for (x0, y0, x1, y1), k in zip(boxes, classes):
            cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
            gx, gy = int(cx), int(cy)
            near_x = gx - 1 if cx - gx < 0.5 else gx + 1
            near_y = gy - 1 if cy - gy < 0.5 else gy + 1
            for ax, ay in ((gx, gy), (near_x, gy), (gx, near_y)):
                if 0 <= ax < GRID and 0 <= ay < GRID:
                    row = y[i, ay * GRID + ax]
                    row[:] = 0
                    row[:4] = cx / GRID, cy / GRID, (x1 - x0) / size, (y1 - y0) / size
                    row[4 + k] = row[-1] = 1
    return y


def detector_loss(y_true: Any, y_pred: Any) -> Any:
    """BCE on every cell's class scores, plus (1 - GIoU) and L1 (in cell units) on owned cells.

    Both sums are divided by the number of owned cells, so the loss does not scale with the
    number of empty cells (YOLOv8 normalises the same way).
    """
    from keras import ops

    owned = y_true[..., -1]
    n_owned = ops.maximum(ops.sum(owned), 1.0)
    p = ops.clip(y_pred[..., 4:], 1e-6, 1 - 1e-6)
    t = y_true[..., 4:4 + NC]
    bce = ops.sum(-(t * ops.log(p) + (1 - t) * ops.log(1 - p))) / n_owned

    def corners(b: Any) -> tuple:  # (x0, y0, x1, y1) of cxcywh boxes
        half_w, half_h = b[..., 2] / 2, b[..., 3] / 2
        return b[..., 0] - half_w, b[..., 1] - half_h, b[..., 0] + half_w, b[..., 1] + half_h

    (px0, py0, px1, py1), (tx0, ty0, tx1, ty1) = corners(y_pred), corners(y_true)
    inter = (ops.relu(ops.minimum(px1, tx1) - ops.maximum(px0, tx0))
             * ops.relu(ops.minimum(py1, ty1) - ops.maximum(py0, ty0)))
    union = y_pred[..., 2] * y_pred[..., 3] + y_true[..., 2] * y_true[..., 3] - inter + 1e-9
    hull = (ops.maximum(px1, tx1) - ops.minimum(px0, tx0)) * (ops.maximum(py1, ty1) - ops.minimum(py0, ty0))
    hull = hull + 1e-9
    giou = inter / union - (hull - union) / hull
    l1 = ops.sum(ops.abs(y_pred[..., :4] - y_true[..., :4]), axis=-1) * GRID
    box = ops.sum(owned * (1 - giou + 0.5 * l1)) / n_owned
    return bce + 2 * box


def _train(kind: str, model: Any, x: np.ndarray, y: np.ndarray, loss: Any,
           sample_weight: np.ndarray | None = None, rate: float = 5e-3) -> tuple[float, float]:
    """Fit with Adam on a cosine schedule; returns the (wall, CPU) seconds of the fit."""
    import keras

    ref = REFERENCES[kind]
    n = len(x[0]) if isinstance(x, list) else len(x)  # [images, ...] for a model of several inputs
    steps = ref.epochs * int(np.ceil(n / ref.batch_size))
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(rate, steps)), loss=loss)
    load = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, sample_weight=sample_weight, batch_size=ref.batch_size, epochs=ref.epochs, shuffle=True,
              verbose=0)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    # CPU seconds beside wall seconds: on a shared machine the wall time says more about the neighbours.
    print(f"  {kind}: trained {ref.epochs} epochs on {n} images in {seconds:.1f} s wall, {cpu:.1f} s CPU "
          f"(load average {load:.2f} before, {os.getloadavg()[0]:.2f} after, {os.cpu_count()} cores)", flush=True)
    return seconds, cpu


def _images(data: ShapesDataset) -> np.ndarray:
    return data.images.astype(np.float32)  # raw 0..255 pixels: the model rescales


def train(kind: str, seed: int) -> tuple[Any, tuple[float, float]]:
    """(the batch-1 model to save, (wall, CPU) training seconds) for one reference model."""
    import keras

    ref = REFERENCES[kind]
    keras.utils.set_random_seed(seed + ref.offset)
    if kind in TASK_MODELS:
        return _train_tasks.train_task(kind, ref, seed,
                                       lambda net, x, y, loss: _train(kind, net, x, y, loss, rate=3e-3))
    start = time.perf_counter()
    data = shapes_dataset(ref.task, ref.train_images, ref.size, seed + ref.offset)
    print(f"  {kind}: generated {len(data)} training images in {time.perf_counter() - start:.1f} s", flush=True)
    build: Callable[..., Any] = {"classifier": build_classifier, "detector": build_detector,
                                 "segmenter": build_segmenter}[kind]
    net = build(batch_size=None)  # batched for training; the saved model is batch 1, same weights
    if kind == "classifier":
        seconds = _train(kind, net, _images(data), data.labels, "sparse_categorical_crossentropy")
    elif kind == "detector":
        head = net.get_layer("head")
        bias = head.bias.numpy()
        bias[4:] = -4.0  # start every class score near 0.02: most cells own nothing (RetinaNet's prior)
        head.bias.assign(bias)
        seconds = _train(kind, net, _images(data), detector_targets(data, ref.size), detector_loss)
    else:
        # Shape pixels weigh 3x: background is most of every image, and without the weight the net
        # learns foreground/background first and tells the shapes apart only after many more steps.
        weight = np.where(data.masks > 0, 3.0, 1.0).astype(np.float32)
        seconds = _train(kind, net, _images(data), data.masks.astype(np.int64), "sparse_categorical_crossentropy",
                         weight)
    model = build(batch_size=1)
    model.set_weights(net.get_weights())
    if kind == "segmenter":
        # Ship the logits: the Edge TPU maps SOFTMAX only on 1-D inputs of at most 16,000 elements
        # ([1,96,96,4] is 36,864), and the decoder's argmax over logits is the argmax over softmax.
        model = keras.Model(model.input, model.get_layer("logits").output, name=model.name)
    return model, seconds


# -- evaluation through the runtime ----------------------------------------------------------------
def fp32_tflite(model: Any, path: Path) -> Path:
    """The model as an fp32 .tflite (plain TFLiteConverter), for the runtime to load."""
    import tensorflow as tf

    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its graph summary
        path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def load_kwargs(info: dict) -> dict[str, Any]:
    """``edgevision.load`` keywords from a model-info JSON.

    Example:
        >>> kw = load_kwargs(model_info(REFERENCES["detector"]))
        >>> kw["decoder"], kw["box_format"], kw["resize"]
        ('yolo', 'normalized', 'stretch')
    """
    decoder = {k: v for k, v in info["decoder"].items() if k != "type"}
    return {"task": info["task"], "labels": info["labels"], "decoder": info["decoder"]["type"],
            **decoder, **info["input"]}


def evaluate(kind: str, model: Any, seed: int, info: dict) -> float:
    """The held-out figure of one model: accuracy, mAP@0.5 or mIoU, via fp32 TFLite and ``edgevision.load``.

    ``info`` is the model-info JSON: its decoder and input settings are the ones the runtime uses.
    """
    ref = REFERENCES[kind]
    if kind in TASK_MODELS:
        images, truth = _train_tasks.held_out(kind, ref.test_images, ref.size, seed + 100 + ref.offset)
        with tempfile.TemporaryDirectory() as tmp:
            runner = edgevision.load(fp32_tflite(model, Path(tmp) / f"{ref.stem}.tflite"), threads=2,
                                     **load_kwargs(info))
            results = [runner.predict(image) for image in images]
        score = mask_map50 if kind == "instances" else oks_map50
        return score(results, truth, len(ref.labels))
    data = shapes_dataset(ref.task, ref.test_images, ref.size, seed + 100 + ref.offset)
    with tempfile.TemporaryDirectory() as tmp:
        runner = edgevision.load(fp32_tflite(model, Path(tmp) / f"{ref.stem}.tflite"), threads=2,
                                 **load_kwargs(info))
        results = [runner.predict(image) for image in data.images]
    if kind == "classifier":
        return accuracy(results, data.labels)
    if kind == "detector":
        return map50(results, list(zip(data.boxes, data.classes)), NC)
    return mean_iou([r.class_map for r in results], list(data.masks), NC + 1)


# -- files: written under a temporary name, then renamed, so a reader never sees half of one ----------
def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path``, atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def save_model(model: Any, out: Path, ref: Reference) -> Path:
    """``out/<stem>.keras`` and its model-info ``out/<stem>.json``, each written atomically."""
    path = out / f"{ref.stem}.keras"
    tmp = out / f".{ref.stem}.tmp.keras"  # Keras insists on the .keras suffix
    model.save(tmp)
    os.replace(tmp, path)
    write_json(out / f"{ref.stem}.json", model_info(ref))
    return path


def _report(kind: str, value: float, path: Path, params: int) -> bool:
    ref = REFERENCES[kind]
    ok = value >= ref.bar
    print(f"  {kind}: {ref.metric} {value:.4f} (bar {ref.bar}) {'ok' if ok else 'BELOW THE BAR'}; "
          f"{params} params, {path.stat().st_size / 1024:.0f} KiB {path.name}", flush=True)
    return ok


def check(out: Path, kinds: list[str], default_seed: int) -> bool:
    """Evaluate the models in ``out`` with their own model-info JSON; True when every bar holds."""
    import keras

    recorded = _read_json(out / "reference.json")
    all_ok = True
    for kind in kinds:
        ref = REFERENCES[kind]
        path = out / f"{ref.stem}.keras"
        if not path.is_file():
            print(f"  {kind}: expected {path}, got none (train first)", flush=True)
            all_ok = False
            continue
        model = keras.models.load_model(path, compile=False)  # no custom objects: built-in layers only
        info = _read_json(out / f"{ref.stem}.json") or model_info(ref)
        figures = recorded.get(ref.stem, {})
        value = evaluate(kind, model, figures.get("seed", default_seed), info)
        all_ok &= _report(kind, value, path, model.count_params())
        if ref.metric in figures:
            print(f"    recorded {ref.metric}: {figures[ref.metric]}", flush=True)
    return all_ok


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def train_all(out: Path, kinds: list[str], seed: int) -> bool:
    """Train, save and evaluate; merge the figures into ``out/reference.json``; True when every bar holds."""
    reference_path = out / "reference.json"
    figures = _read_json(reference_path)
    all_ok, total_wall, total_cpu = True, 0.0, 0.0
    for kind in kinds:
        ref = REFERENCES[kind]
        model, (wall, cpu) = train(kind, seed)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        path = save_model(model, out, ref)
        value = evaluate(kind, model, seed, model_info(ref))
        all_ok &= _report(kind, value, path, model.count_params())
        figures[ref.stem] = {ref.metric: round(value, 4), "train_seconds": round(wall, 1),
                             "train_cpu_seconds": round(cpu, 1), "params": model.count_params(), "seed": seed,
                             "train_seed": seed + ref.offset, "held_out_seed": seed + 100 + ref.offset,
                             "held_out_images": ref.test_images}
    write_json(reference_path, figures)
    print(f"training total {total_wall:.1f} s wall, {total_cpu:.1f} s CPU; "
          f"load average now {os.getloadavg()[0]:.2f}", flush=True)
    return all_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="where the models go (default examples/models)")
    parser.add_argument("--check", action="store_true", help="only evaluate the models already in --out")
    parser.add_argument("--models", nargs="+", choices=list(REFERENCES), default=list(REFERENCES),
                        help="which models (default all)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"base seed (default {SEED})")
    args = parser.parse_args(argv)
    import keras
    import tensorflow as tf

    print(f"tensorflow {tf.__version__}, keras {keras.__version__}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    if args.check:
        ok = check(args.out, args.models, args.seed)
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        ok = train_all(args.out, args.models, args.seed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
