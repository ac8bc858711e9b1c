"""Small real Keras models for the tests, built (not downloaded) and exported with plain library calls.

Each builder returns a Keras model taking float [0, 1] NHWC input. ``export_all``
writes the fp32 ``.tflite`` (TFLiteConverter), an OpenVINO IR (ov.convert_model +
ov.save_model) and an ``.onnx`` (tf2onnx), the three formats the runtime loads.
Weights are seeded, not trained: the tests compare backends against TensorFlow on
the same weights, and choose thresholds away from every score.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 64  # model input side
NC = 3  # classes


def _keras():
    import keras

    keras.utils.set_random_seed(7)
    return keras


def classifier():
    keras = _keras()
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(5, activation="softmax")(x)
    return keras.Model(inp, out, name="classifier")


def yolo_detector():
    """Raw YOLO-layout output [1, 4+NC, N]: (cx, cy, w, h) in input pixels, then class scores."""
    keras = _keras()
    import tensorflow as tf

    grid, stride = SIZE // 4, 4
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    head = keras.layers.Conv2D(4 + NC, 1)(x)  # grid x grid x (4+NC)
    gy, gx = np.mgrid[0:grid, 0:grid].astype(np.float32)
    centres = np.stack([gx, gy], -1).reshape(1, grid * grid, 2) * stride + stride / 2

    class Head(keras.layers.Layer):
        def call(self, h):
            h = tf.reshape(h, (1, grid * grid, 4 + NC))
            xy = centres + 6.0 * tf.tanh(h[..., :2])
            wh = 6.0 + 20.0 * tf.sigmoid(h[..., 2:4])
            scores = tf.sigmoid(4.0 * h[..., 4:])
            return tf.transpose(tf.concat([xy, wh, scores], -1), (0, 2, 1))

    return keras.Model(inp, Head()(head), name="yolo")


def ssd_detector():
    """Post-processed outputs like TFLite_Detection_PostProcess: boxes (normalised yxyx), classes, scores, count."""
    keras = _keras()
    import tensorflow as tf

    grid, k = SIZE // 4, 20
    inp = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    head = keras.layers.Conv2D(4 + NC, 1)(x)

    class PostProcess(keras.layers.Layer):
        # Gathers on un-batched tensors: OpenVINO 2026.4's CPU plugin segfaults intermittently on
        # TopK feeding Gather(batch_dims=1).
        def call(self, h):
            h = tf.reshape(h, (grid * grid, 4 + NC))
            cls_scores = tf.sigmoid(4.0 * h[:, 4:])
            best, cls = tf.reduce_max(cls_scores, -1), tf.cast(tf.argmax(cls_scores, -1), tf.float32)
            scores, idx = tf.math.top_k(best, k=k)
            cell = tf.cast(idx, tf.float32)
            cy = (tf.math.floordiv(cell, float(grid)) + 0.5) / grid
            cx = (tf.math.floormod(cell, float(grid)) + 0.5) / grid
            d = tf.gather(h[:, :4], idx)
            half = 0.05 + 0.1 * tf.sigmoid(d[:, 2:4])
            ctr = tf.stack([cy, cx], -1) + 0.1 * tf.tanh(d[:, :2])
            boxes = tf.concat([ctr - half, ctr + half], -1)
            return boxes[None], tf.gather(cls, idx)[None], scores[None], tf.fill([1], float(k))

    return keras.Model(inp, list(PostProcess()(head)), name="ssd")


def segmenter(epochs: int = 6):
    """Logits [1, SIZE/2, SIZE/2, NC+1] at output stride 2, to exercise the mapping back to source pixels.

    Trained for a few seconds on synthetic scenes: with random weights nearly every pixel's
    argmax is a near-tie, and the test would measure rounding noise rather than the runtime.
    """
    keras = _keras()
    from edgevision.sources.shapes import shapes_scene

    inp = keras.Input((SIZE, SIZE, 3), name="images")
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inp)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    out = keras.layers.Conv2D(NC + 1, 1)(x)
    train = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    scenes = [shapes_scene(rng, (SIZE, SIZE), n_shapes=2, min_radius=0.12, max_radius=0.25) for _ in range(384)]
    images = np.stack([s.image for s in scenes]).astype(np.float32) / 255.0
    masks = np.stack([s.mask[1::2, 1::2] for s in scenes]).astype(np.int64)
    train.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    train.fit(images, masks, batch_size=32, epochs=epochs, verbose=0)
    fixed = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    return keras.Model(fixed, train(fixed), name="segmenter")


BUILDERS = {"classifier": classifier, "yolo": yolo_detector, "ssd": ssd_detector, "segmenter": segmenter}


def export_all(model, directory: Path) -> dict[str, Path]:
    """fp32 .tflite, OpenVINO IR and .onnx of one Keras model."""
    import openvino as ov
    import tensorflow as tf
    import tf2onnx

    directory.mkdir(parents=True, exist_ok=True)
    name = model.name
    paths = {"tflite": directory / f"{name}.tflite", "openvino": directory / f"{name}.xml",
             "onnx": directory / f"{name}.onnx"}
    paths["tflite"].write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    saved = directory / f"{name}_savedmodel"
    model.export(str(saved), verbose=False)
    ov.save_model(ov.convert_model(str(saved), input=[1, SIZE, SIZE, 3]), str(paths["openvino"]))
    spec = (tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32, name="images"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    paths["onnx"].write_bytes(proto.SerializeToString())
    return paths


def int8_tflite(model, path: Path, *, input_type: str = "uint8", samples: int = 16) -> Path:
    """Full-integer int8 .tflite with ``input_type`` (uint8/int8) input and output."""
    import tensorflow as tf

    rng = np.random.default_rng(1)

    def representative():
        for _ in range(samples):
            yield [rng.random((1, SIZE, SIZE, 3), dtype=np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = getattr(tf, input_type)
    conv.inference_output_type = getattr(tf, input_type)
    path.write_bytes(conv.convert())
    return path
