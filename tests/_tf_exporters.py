"""TensorFlow-side exporters for the tests: Ultralytics' float TFLite, MoveNet's outputs, a TFLite Support classifier
(``MetadataPopulator``'s buffer and packed label file), and the TF Object Detection API's uint8 ``image_tensor``
graphs (frozen and SavedModel). See ``_exporters`` for what each exporter writes and where that was read.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from _exporters import CELL, GAIN, LABELS, OFFSET, SIZE, ULTRALYTICS, N, cell_boxes


def _tflite_from_function(fn, signature, path: Path) -> Path:
    import tensorflow as tf

    concrete = tf.function(fn, input_signature=signature).get_concrete_function()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions([concrete], fn).convert())
    return path


def _tf_cells(x):
    """NHWC float [1, SIZE, SIZE, 3] in [0, 1] -> per-cell scores [1, N, 3]."""
    import tensorflow as tf

    pooled = tf.nn.avg_pool2d(x, CELL, CELL, "VALID")
    return tf.sigmoid(GAIN * (tf.reshape(pooled, (1, N, 3)) - OFFSET))


def ultralytics_tflite(path: Path) -> Path:
    """Ultralytics' float TFLite export (onnx2tf: NHWC input): [1, 4+nc, N] with boxes as fractions of the input,
    and ``metadata.json`` zipped onto the end."""
    import tensorflow as tf

    boxes = tf.constant((cell_boxes() / SIZE).T[None])

    def head(x):
        return tf.concat([boxes, tf.transpose(_tf_cells(x), (0, 2, 1))], axis=1)

    _tflite_from_function(head, [tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32)], path)
    metadata = {**ULTRALYTICS, "args": {"batch": 1, "half": False, "int8": False, "nms": False}}
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("metadata.json", json.dumps(metadata, indent=2))
    return path


def movenet_tflite(path: Path) -> Path:
    """MoveNet single-pose's outputs: [1, 1, 17, 3] keypoints (y, x, score)."""
    import tensorflow as tf

    def keypoints(x):
        mean = tf.reduce_mean(x, axis=[1, 2])  # [1, 3]
        return tf.reshape(tf.tile(mean, (1, 17)), (1, 1, 17, 3))

    return _tflite_from_function(keypoints, [tf.TensorSpec((1, 32, 32, 3), tf.float32)], path)


# --------------------------------------------------------------- TFLite Support metadata (MetadataPopulator)
def _tflite_support_metadata(labels_file: str, mean: float, std: float) -> bytes:
    """A ModelMetadata flatbuffer (metadata_schema.fbs; union fields take two slots, type then value)."""
    import flatbuffers

    b = flatbuffers.Builder(0)

    def vector(items):
        b.StartVector(4, len(items), 4)
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    def floats(values):
        b.StartVector(4, len(values), 4)
        for v in reversed(values):
            b.PrependFloat32(v)
        return b.EndVector()

    file_name, file_desc = b.CreateString(labels_file), b.CreateString("Labels for the three colours")
    b.StartObject(4)  # AssociatedFile: name, description, type, locale
    b.PrependUOffsetTRelativeSlot(0, file_name, 0)
    b.PrependUOffsetTRelativeSlot(1, file_desc, 0)
    b.PrependInt8Slot(2, 2, 0)  # TENSOR_AXIS_LABELS
    label_file = b.EndObject()
    mean_v, std_v = floats([mean]), floats([std])
    b.StartObject(2)  # NormalizationOptions: mean, std
    b.PrependUOffsetTRelativeSlot(0, mean_v, 0)
    b.PrependUOffsetTRelativeSlot(1, std_v, 0)
    norm = b.EndObject()
    b.StartObject(2)  # ProcessUnit: options_type, options
    b.PrependUint8Slot(0, 1, 0)  # NormalizationOptions
    b.PrependUOffsetTRelativeSlot(1, norm, 0)
    unit = b.EndObject()
    in_name, out_name = b.CreateString("image"), b.CreateString("probability")
    units, files = vector([unit]), vector([label_file])
    b.StartObject(7)  # TensorMetadata: name, description, dimension_names, content, process_units, stats, files
    b.PrependUOffsetTRelativeSlot(0, in_name, 0)
    b.PrependUOffsetTRelativeSlot(4, units, 0)
    input_meta = b.EndObject()
    b.StartObject(7)
    b.PrependUOffsetTRelativeSlot(0, out_name, 0)
    b.PrependUOffsetTRelativeSlot(6, files, 0)
    output_meta = b.EndObject()
    inputs, outputs = vector([input_meta]), vector([output_meta])
    b.StartObject(7)  # SubGraphMetadata
    b.PrependUOffsetTRelativeSlot(2, inputs, 0)
    b.PrependUOffsetTRelativeSlot(3, outputs, 0)
    subgraph = b.EndObject()
    name, version, subgraphs = b.CreateString("colour classifier"), b.CreateString("v1"), vector([subgraph])
    parser = b.CreateString("1.0.0")
    b.StartObject(8)  # ModelMetadata
    b.PrependUOffsetTRelativeSlot(0, name, 0)
    b.PrependUOffsetTRelativeSlot(2, version, 0)
    b.PrependUOffsetTRelativeSlot(3, subgraphs, 0)
    b.PrependUOffsetTRelativeSlot(7, parser, 0)
    b.Finish(b.EndObject(), file_identifier=b"M001")
    return bytes(b.Output())


def tflite_support_classifier(path: Path, *, mean: float = 127.5, std: float = 127.5) -> Path:
    """A float classifier taking (pixel - 127.5) / 127.5 (MediaPipe / Model Maker style), with TFLite Support
    metadata: the normalisation and a packed labels.txt, as MetadataPopulator writes them."""
    import flatbuffers
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema

    def probs(x):
        colour = tf.reduce_mean(x * std / 255 + mean / 255, axis=[1, 2])  # back to [0, 1]
        return tf.nn.softmax(8.0 * colour)

    _tflite_from_function(probs, [tf.TensorSpec((1, 32, 32, 3), tf.float32)], path)
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    buffer = schema.BufferT()
    buffer.data = list(_tflite_support_metadata("labels.txt", mean, std))
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = "TFLITE_METADATA", len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    b = flatbuffers.Builder(0)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("labels.txt", "\n".join(LABELS) + "\n")
    return path


# --------------------------------------------------------------- TF Object Detection API
def _tf_od_outputs(image, k: int = 10):
    """TF OD API post-processed outputs from a uint8 [1, H, W, 3] image: boxes (ymin, xmin, ymax, xmax in [0, 1]),
    1-based float classes, scores, count."""
    import tensorflow as tf

    x = tf.image.resize(tf.cast(image, tf.float32) / 255.0, (SIZE, SIZE))
    scores = tf.reshape(_tf_cells(x), (N, 3))
    best, cls = tf.reduce_max(scores, -1), tf.cast(tf.argmax(scores, -1), tf.float32) + 1.0
    top, idx = tf.math.top_k(best, k=k)
    c = cell_boxes() / SIZE
    yxyx = tf.constant(np.stack([c[:, 1] - c[:, 3] / 2, c[:, 0] - c[:, 2] / 2,
                                 c[:, 1] + c[:, 3] / 2, c[:, 0] + c[:, 2] / 2], 1).astype(np.float32))
    count = tf.reduce_sum(tf.cast(top > 0.3, tf.float32), keepdims=True)
    return (tf.identity(tf.gather(yxyx, idx)[None], name="detection_boxes"),
            tf.identity(tf.gather(cls, idx)[None], name="detection_classes"),
            tf.identity(top[None], name="detection_scores"),
            tf.identity(count, name="num_detections"))


def tf_od_frozen_graph(path: Path) -> Path:
    """A TF1 frozen graph with the TF OD API's uint8 ``image_tensor`` [None, None, None, 3] and its four outputs."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        image = tf.compat.v1.placeholder(tf.uint8, (None, None, None, 3), name="image_tensor")
        _tf_od_outputs(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


def tf_od_saved_model(path: Path) -> Path:
    """A SavedModel whose serving signature takes the TF OD API's uint8 ``input_tensor`` [1, SIZE, SIZE, 3]."""
    import tensorflow as tf

    module = tf.Module()

    @tf.function(input_signature=[tf.TensorSpec((1, SIZE, SIZE, 3), tf.uint8, name="input_tensor")])
    def serve(input_tensor):
        boxes, classes, scores, count = _tf_od_outputs(input_tensor)
        return {"detection_boxes": boxes, "detection_classes": classes, "detection_scores": scores,
                "num_detections": count}

    module.serve = serve
    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})
    return path
