"""The reference models of the tasks beyond boxes, for ``train_reference_models.py``: instances, poses, MoveNet.

- ``shapes_instances``: YOLO-seg at 160x160 on shapes: detections ``[1, 4+3+32, 400]`` (20x20 grid, boxes as
  fractions of the input, sigmoid scores, tanh mask coefficients) and prototypes ``[1, 40, 40, 32]``
  (NHWC, H/4), Ultralytics' TFLite-export layout;
- ``figures_pose``: YOLO-pose at 160x160 on stick figures: ``[1, 4+1+17*3, 400]``, keypoints as
  fractions of the input, sigmoid visibility (kpt_shape [17, 3]);
- ``figure_movenet``: single-pose MoveNet layout at 128x128: ``[1, 1, 17, 3]`` (y, x, score), the
  keypoints a soft-argmax over 16x16 heatmaps.

All three take raw 0..255 RGB pixels (a Rescaling(1/255) inside) letterboxed with grey 114, as
Ultralytics feeds its models; they train on square and 4:3 scenes letterboxed by the runtime's own
``Preprocessor``, so the grey bands are nothing new to them. Built-in Keras layers only.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from edgevision.converters.datasets import SHAPE_LABELS
from edgevision.preprocess import InputFormat, Preprocessor

NC, NM, K = len(SHAPE_LABELS), 32, 17
LETTERBOX = {"layout": "NHWC", "color": "RGB", "resize": "letterbox", "mean": [0, 0, 0], "std": [1, 1, 1],
             "pad_value": 114}
ASPECTS = ((1.0, 1.0), (1.0, 0.75), (0.75, 1.0))  # (w, h) of the training scenes, as fractions of 2x the input


def letterboxed(images: list[np.ndarray], size: int) -> tuple[np.ndarray, list]:
    """(n, size, size, 3) float32 raw pixels, letterboxed by the runtime's Preprocessor, and each image's Transform."""
    pre = Preprocessor(InputFormat(**{**LETTERBOX, "size": (size, size)}), shape=(1, size, size, 3),
                       dtype=np.dtype(np.float32))
    out = np.empty((len(images), size, size, 3), np.float32)
    transforms = [pre(im, out[i:i + 1]) for i, im in enumerate(images)]
    return out, transforms


def _scenes(make: Any, n: int, size: int, seed: int) -> list:
    """``make(count, (w, h), seed)`` over the three aspect ratios, a third of the scenes each."""
    parts = []
    for j, (fw, fh) in enumerate(ASPECTS):
        count = n // 3 + (1 if j < n % 3 else 0)
        parts.append(make(count, (round(2 * size * fw), round(2 * size * fh)), seed * 10 + j))
    return parts


# -- models ------------------------------------------------------------------------------------------
def _conv_bn(x: Any, filters: int, name: str, stride: int = 1) -> Any:
    from keras import layers

    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _backbone(size: int, batch_size: int | None) -> tuple[Any, Any, Any]:
    """(input, stride-4 features, stride-8 features)."""
    import keras

    inp = keras.Input((size, size, 3), batch_size=batch_size, name="images")
    x = keras.layers.Rescaling(1 / 255, name="pixels_to_unit")(inp)
    x = _conv_bn(x, 16, "b0", 2)
    p4 = _conv_bn(_conv_bn(x, 24, "b1", 2), 32, "b2")
    x = _conv_bn(p4, 48, "b3", 2)
    x = _conv_bn(_conv_bn(x, 48, "b4"), 64, "b5")
    return inp, p4, x


def _grid_boxes(features: Any, grid: int, extra: int, name: str) -> tuple[Any, Any]:
    """(boxes and scores, the head's extra raw channels): cx = (2 sigmoid - 0.5 + cell) / grid, w = sigmoid."""
    import keras

    head = keras.layers.Conv2D(4 + extra, 1, name=name)(features)
    box = keras.layers.Conv2D(4, 1, activation="sigmoid", name=f"{name}_box")(features)
    gy, gx = np.mgrid[0:grid, 0:grid].astype(np.float32)
    offset = np.zeros((grid, grid, 4), np.float32)
    offset[..., 0], offset[..., 1] = (gx - 0.5) / grid, (gy - 0.5) / grid
    scale = np.array([2 / grid, 2 / grid, 1.0, 1.0], np.float32)
    return keras.layers.Rescaling(scale, offset, name=f"{name}_decode")(box), head


def build_instances(batch_size: int | None = 1, size: int = 160) -> Any:
    """YOLO-seg: ``[1, 4+3+32, 400]`` and prototypes ``[1, 40, 40, 32]`` (see the module docstring)."""
    import keras
    from keras import layers

    grid = size // 8
    inp, p4, x = _backbone(size, batch_size)
    boxes, _ = _grid_boxes(x, grid, 0, "head")
    scores = layers.Conv2D(NC, 1, activation="sigmoid", name="scores")(x)
    coefficients = layers.Conv2D(NM, 1, activation="tanh", name="coefficients")(x)  # bounded: one int8 scale
    rows = layers.Reshape((grid * grid, 4 + NC + NM))(layers.Concatenate()([boxes, scores, coefficients]))
    protos = layers.Conv2D(NM, 1, name="protos")(_conv_bn(p4, 32, "proto"))
    return keras.Model(inp, [layers.Permute((2, 1), name="output0")(rows), protos], name="shapes_instances")


def build_pose(batch_size: int | None = 1, size: int = 160) -> Any:
    """YOLO-pose: ``[1, 4+1+17*3, 400]``, keypoints (2 raw + cell) / grid as fractions of the input."""
    import keras
    from keras import layers

    grid = size // 8
    inp, _, x = _backbone(size, batch_size)
    boxes, _ = _grid_boxes(x, grid, 0, "head")
    score = layers.Conv2D(1, 1, activation="sigmoid", name="score")(x)
    gy, gx = np.mgrid[0:grid, 0:grid].astype(np.float32)
    cells = np.tile(np.stack([gx + 0.5, gy + 0.5], -1), (1, 1, K)) / grid
    xy = layers.Rescaling(2.0 / grid, offset=cells, name="keypoints_decode")(layers.Conv2D(2 * K, 1, name="kp")(x))
    seen = layers.Conv2D(K, 1, activation="sigmoid", name="visibility")(x)
    kp = layers.Concatenate(axis=-1)([layers.Reshape((grid * grid, K, 2))(xy), layers.Reshape((grid * grid, K, 1))(seen)])
    rows = layers.Concatenate()([layers.Reshape((grid * grid, 5))(layers.Concatenate()([boxes, score])),
                                 layers.Reshape((grid * grid, 3 * K))(kp)])
    return keras.Model(inp, layers.Permute((2, 1), name="output0")(rows), name="figures_pose")


def build_movenet(batch_size: int | None = 1, size: int = 128) -> Any:
    """MoveNet layout ``[1, 1, 17, 3]``: (y, x) a soft-argmax over 16x16 heatmaps, score from the features."""
    import keras
    from keras import layers

    grid = size // 8
    inp, _, x = _backbone(size, batch_size)
    heat = layers.Conv2D(K, 1, name="heatmaps")(_conv_bn(x, 64, "heat"))
    heat = layers.Softmax(axis=-1)(layers.Permute((2, 1))(layers.Reshape((grid * grid, K))(heat)))  # (17, 256)
    argmax = layers.Dense(2, use_bias=False, trainable=False, name="soft_argmax")
    yx = argmax(heat)  # expected (y, x) of each keypoint, fractions of the input
    gy, gx = np.mgrid[0:grid, 0:grid].astype(np.float32)
    argmax.set_weights([np.stack([(gy.ravel() + 0.5) / grid, (gx.ravel() + 0.5) / grid], 1)])
    score = layers.Reshape((K, 1))(layers.Dense(K, activation="sigmoid", name="scores")(
        layers.GlobalAveragePooling2D()(x)))
    out = layers.Reshape((1, K, 3), name="output_0")(layers.Concatenate()([yx, score]))
    return keras.Model(inp, out, name="figure_movenet")
