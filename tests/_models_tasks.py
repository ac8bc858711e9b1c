"""Small real Keras models with the output layouts Ultralytics and MoveNet exports have, built in the session.

- ``yolo_seg``: detections ``[1, 4+NC+32, N]`` (cx, cy, w, h in input pixels, sigmoid class scores,
  32 mask coefficients) and prototypes ``[1, 16, 16, 32]`` (H/4, NHWC: a TFLite export's layout) or,
  with ``nchw=True``, ``[1, 32, 16, 16]`` (ONNX/OpenVINO's);
- ``yolo_pose``: ``[1, 4+1+17*3, N]``: box, a person score, 17 keypoints (x, y in input pixels,
  sigmoid visibility);
- ``movenet``: ``[1, 1, 17, 3]`` (y, x, score), y and x fractions of the input.

Weights are seeded, not trained, with a little structure so that boxes follow bright image
regions and masks are blobs (not pixel noise): the tests compare decoders with a reference
decode written in the tests, and artifacts with their source. ``ultralytics_metadata`` is the
``metadata_props`` an Ultralytics ONNX export writes for such a model.
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
    conv.set_weights([w, np.full(nc, -12.0 * 0.4, np.float32)])
    return logits


def _boxes_and_scores(keras, tf, h, logits, nc):
    """Per cell of the 16x16 grid: centre near the cell, size 6..26 px, sigmoid scores from ``logits``."""
    grid, stride = SIZE // 4, 4
    gy, gx = np.mgrid[0:grid, 0:grid].astype(np.float32)
    centres = np.stack([gx, gy], -1).reshape(1, grid * grid, 2) * stride + stride / 2
    xy = centres + 6.0 * tf.tanh(h[..., :2])
    wh = 6.0 + 20.0 * tf.sigmoid(h[..., 2:4])
    return tf.concat([xy, wh, tf.sigmoid(tf.reshape(logits, (1, grid * grid, nc)))], -1)


def yolo_seg(*, nchw: bool = False):
    keras = _keras()
    import tensorflow as tf

    grid = SIZE // 4
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    x = _backbone(keras, inp)
    head = keras.layers.Conv2D(4 + NM, 1, name="head")(x)
    logits = _brightness(keras, inp, NC)
    # Prototype 0 is the brightness of the input (shapes are bright), the others smooth random features;
    # every mask leans on prototype 0, so masks are the bright blobs inside each box.
    bright = keras.layers.Conv2D(1, 1, name="bright")
    first = bright(keras.layers.AveragePooling2D(4)(inp))
    bright.set_weights([np.full((1, 1, 3, 1), 10.0 / 3, np.float32), np.array([-10.0 * 0.4], np.float32)])
    smooth = keras.layers.AveragePooling2D(3, strides=1, padding="same")(x)
    protos = keras.layers.Concatenate(name="proto")([first, keras.layers.Conv2D(NM - 1, 1)(smooth)])
    lean = np.zeros(NM, np.float32)
    lean[0] = 1.5

    class Detect(keras.layers.Layer):
        def call(self, h, logits):
            h = tf.reshape(h, (1, grid * grid, 4 + NM))
            rows = tf.concat([_boxes_and_scores(keras, tf, h, logits, NC), lean + 0.3 * h[..., 4:]], -1)
            return tf.transpose(rows, (0, 2, 1))  # [1, 4+NC+NM, N]

    outputs = [Detect(name="output0")(head, logits),
               keras.layers.Permute((3, 1, 2), name="output1")(protos) if nchw else protos]
    return keras.Model(inp, outputs, name="yolo_seg_nchw" if nchw else "yolo_seg")


def yolo_pose():
    keras = _keras()
    import tensorflow as tf

    grid = SIZE // 4
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    x = _backbone(keras, inp)
    head = keras.layers.Conv2D(4 + 3 * K, 1, name="head")(x)
    logits = _brightness(keras, inp, 1)

    class Pose(keras.layers.Layer):
        def call(self, h, logits):
            h = tf.reshape(h, (1, grid * grid, 4 + 3 * K))
            box = _boxes_and_scores(keras, tf, h, logits, 1)
            kp = tf.reshape(h[..., 4:], (1, grid * grid, K, 3))
            xy = box[..., None, :2] + 14.0 * tf.tanh(kp[..., :2])  # around the box centre, in input pixels
            kp = tf.reshape(tf.concat([xy, tf.sigmoid(3.0 * kp[..., 2:])], -1), (1, grid * grid, 3 * K))
            return tf.transpose(tf.concat([box, kp], -1), (0, 2, 1))  # [1, 56, N]

    return keras.Model(inp, Pose(name="output0")(head, logits), name="yolo_pose")


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
    onnx.helper.set_model_props(proto, ultralytics_metadata(kind))
    paths["onnx"].write_bytes(proto.SerializeToString())
    model.save(paths["keras"])
    return paths
