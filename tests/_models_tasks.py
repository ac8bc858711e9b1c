"""Small real Keras models with the output layouts Ultralytics and MoveNet exports have, built in the session.

- ``yolo_seg``: detections ``[1, 4+NC+32, N]`` (cx, cy, w, h as fractions of the input, sigmoid
  class scores, 32 mask coefficients) and prototypes ``[1, 16, 16, 32]`` (H/4, NHWC): a TFLite
  export's layout; with ``nchw=True`` an ONNX export's: boxes in input pixels and prototypes
  ``[1, 32, 16, 16]``;
- ``yolo_pose``: ``[1, 4+1+17*3, N]``: box, a person score, 17 keypoints (x, y as fractions of the
  input like the boxes, as a TFLite export gives them; sigmoid visibility);
- ``movenet``: ``[1, 1, 17, 3]`` (y, x, score), y and x fractions of the input.

Weights are seeded, not trained, with a little structure so that boxes follow bright image
regions and masks are blobs (not pixel noise): the tests compare decoders with a reference
decode written in the tests, and artifacts with their source. ``ultralytics_metadata`` is the
``metadata_props`` an Ultralytics ONNX export writes for such a model: the ONNX of ``yolo-seg-nchw``
(Ultralytics' ONNX layout) carries it, so it loads with no flag.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 64
NC = 2
NM = 32
K = 17
LABELS = ("blob", "spot")


def _keras():
    import keras

    keras.utils.set_random_seed(11)
    return keras


def _backbone(keras, inp):
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="c1")(inp)
    return keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="c2")(x)  # 16x16


def _brightness(keras, inp, nc):
    """Class logits per 4x4 cell from its mean colour: bright cells score high, reddish ones as class 0,
    bluish ones as class 1, the dark background low (the shapes scenes' bright shapes become detections)."""
    cells = keras.layers.AveragePooling2D(4, name="cells")(inp)  # 16x16x3 mean colours in [0, 1]
    conv = keras.layers.Conv2D(nc, 1, name="brightness")
    logits = conv(cells)
    k = 12.0 / 3
    w = np.array([[k + 6, k - 6], [k, k], [k - 6, k + 6]], np.float32)[:, :nc].reshape(1, 1, 3, nc)
    conv.set_weights([w, np.full(nc, -12.0 * 0.55, np.float32)])  # the letterbox grey (114) stays below 0.25
    return cells, logits


def _box(keras, x, logits, normalized):
    """(centre (16,16,2), box and scores (16,16,4+nc)): centre near its cell, size 6..26 px (or those as
    fractions of the input), sigmoid scores."""
    grid, stride = SIZE // 4, 4
    gy, gx = np.mgrid[0:grid, 0:grid].astype(np.float32)
    cells = np.stack([gx, gy], -1) * stride + stride / 2
    unit = 1.0 / SIZE if normalized else 1.0
    centre = keras.layers.Rescaling(6.0 * unit, offset=cells * unit, name="centre")(
        keras.layers.Conv2D(2, 1, activation="tanh", name="xy")(x))
    wh = keras.layers.Rescaling(20.0 * unit, offset=6.0 * unit, name="size")(
        keras.layers.Conv2D(2, 1, activation="sigmoid", name="wh")(x))
    scores = keras.layers.Activation("sigmoid", name="scores")(logits)
    return centre, keras.layers.Concatenate(name="box")([centre, wh, scores])


def _rows(keras, parts, name):
    """16x16 maps of per-cell values -> [1, C, 256], Ultralytics' (channels, anchors) order."""
    x = keras.layers.Concatenate()(parts) if len(parts) > 1 else parts[0]
    x = keras.layers.Reshape(((SIZE // 4) ** 2, x.shape[-1]))(x)
    return keras.layers.Permute((2, 1), name=name)(x)


def yolo_seg(*, nchw: bool = False):
    keras = _keras()
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    x = _backbone(keras, inp)
    cells, logits = _brightness(keras, inp, NC)
    _, box = _box(keras, x, logits, normalized=not nchw)
    # Every mask leans on prototype 0, the brightness of the input (the shapes are bright); the other
    # prototypes are smooth random features: masks are the bright blobs inside each box.
    lean = np.zeros(NM, np.float32)
    lean[0] = 1.5
    coefficients = keras.layers.Rescaling(0.3, offset=lean, name="coefficients")(keras.layers.Conv2D(NM, 1)(x))
    bright = keras.layers.Conv2D(1, 1, name="bright")
    first = bright(cells)
    bright.set_weights([np.full((1, 1, 3, 1), 10.0 / 3, np.float32), np.array([-10.0 * 0.4], np.float32)])
    smooth = keras.layers.AveragePooling2D(3, strides=1, padding="same")(x)
    protos = keras.layers.Concatenate(name="proto")([first, keras.layers.Conv2D(NM - 1, 1)(smooth)])
    outputs = [_rows(keras, [box, coefficients], "output0"),
               keras.layers.Permute((3, 1, 2), name="output1")(protos) if nchw else protos]
    return keras.Model(inp, outputs, name="yolo_seg_nchw" if nchw else "yolo_seg")


def yolo_pose():
    keras = _keras()
    grid = SIZE // 4
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    x = _backbone(keras, inp)
    _, logits = _brightness(keras, inp, 1)
    centre, box = _box(keras, x, logits, normalized=True)
    around = keras.layers.Rescaling(14.0 / SIZE)(keras.layers.Conv2D(2 * K, 1, activation="tanh")(x))
    xy = keras.layers.Add()([keras.layers.Concatenate()([centre] * K), around])  # (x, y) per keypoint
    seen = keras.layers.Conv2D(K, 1, activation="sigmoid")(x)
    kp = keras.layers.Concatenate(axis=-1)([keras.layers.Reshape((grid * grid, K, 2))(xy),
                                            keras.layers.Reshape((grid * grid, K, 1))(seen)])
    kp = keras.layers.Reshape((grid, grid, 3 * K))(kp)  # x, y, visibility per keypoint, as Ultralytics orders them
    return keras.Model(inp, _rows(keras, [box, kp], "output0"), name="yolo_pose")


def movenet():
    keras = _keras()
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="input")
    x = _backbone(keras, inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(K * 3, activation="sigmoid")(x)
    out = keras.layers.Reshape((1, K, 3), name="output_0")(x)
    return keras.Model(inp, out, name="movenet")


BUILDERS = {"yolo-seg": yolo_seg, "yolo-seg-nchw": lambda: yolo_seg(nchw=True), "yolo-pose": yolo_pose,
            "movenet": movenet}
TASK = {"yolo-seg": "instance-segmentation", "yolo-seg-nchw": "instance-segmentation", "yolo-pose": "pose",
        "movenet": "pose"}


def ultralytics_metadata(kind: str) -> dict[str, str]:
    """The ``metadata_props`` Ultralytics writes into an exported ONNX model (values are str(python value))."""
    meta = {"description": f"Ultralytics {kind} model", "author": "Ultralytics", "stride": "4", "batch": "1",
            "imgsz": str([SIZE, SIZE]), "names": str(dict(enumerate(LABELS)))}
    if kind.startswith("yolo-seg"):
        meta["task"] = "segment"
    else:
        meta.update(task="pose", kpt_shape=str([K, 3]), names=str({0: "person"}))
    return meta


def export(model, directory: Path, kind: str) -> dict[str, Path]:
    """fp32 .tflite, OpenVINO IR and .onnx (with Ultralytics' metadata_props) of one model."""
    import onnx
    import openvino as ov
    import tensorflow as tf
    import tf2onnx

    directory.mkdir(parents=True, exist_ok=True)
    name = model.name
    paths = {"tflite": directory / f"{name}.tflite", "openvino": directory / f"{name}.xml",
             "onnx": directory / f"{name}.onnx", "keras": directory / f"{name}.keras"}
    paths["tflite"].write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    saved = directory / f"{name}_savedmodel"
    model.export(str(saved), verbose=False)
    ov.save_model(ov.convert_model(str(saved), input=[1, SIZE, SIZE, 3]), str(paths["openvino"]))
    spec = (tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32, name=model.inputs[0].name),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    if kind == "yolo-seg-nchw":  # the layout of an Ultralytics ONNX export (pixel boxes, NCHW): its metadata too
        onnx.helper.set_model_props(proto, ultralytics_metadata(kind))
    paths["onnx"].write_bytes(proto.SerializeToString())
    model.save(paths["keras"])
    return paths
