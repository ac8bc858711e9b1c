"""YOLO-seg decoding against a reference decode written here, through every runtime, float and int8.

The reference decodes the raw outputs on its own: boxes and greedy NMS in plain numpy, the
letterbox undone with Ultralytics' arithmetic, and each mask as coefficients @ prototypes
sampled with OpenCV's ``cv2.remap`` (bilinear, border replicated) at the centre of every
source pixel, mapped through the letterbox to prototype cells, thresholded at 0 and cropped to
the box. Every instance's mask must have IoU >= 0.99 with the reference's, and its COCO RLE
must decode (pycocotools) to that mask.

Ultralytics itself resizes twice (prototypes to the input, then the un-padded crop to the
source): interpolating twice smooths the logits a little, so its masks are a pixel thinner at
soft edges. ``test_ultralytics_two_step_resize_is_close`` measures that path too.
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from _reference_nms import greedy_nms

import edgevision
from edgevision.errors import ModelError
from edgevision.sources.shapes import shapes_scene
from edgevision.tasks.instance import proto_layout, segment_instances
from edgevision.transform import make_transform

cv2 = pytest.importorskip("cv2")
LABELS = ("blob", "spot")
SOURCES = [(320, 240), (150, 260), (64, 64)]  # wider, taller and the input's own size


def letterbox(sw, sh, iw, ih):
    """Ultralytics' letterbox arithmetic: gain, resized size, padding (left, top)."""
    gain = min(iw / sw, ih / sh)
    rw, rh = min(iw, max(1, round(sw * gain))), min(ih, max(1, round(sh * gain)))
    return gain, (rw, rh), ((iw - rw) // 2, (ih - rh) // 2)


def reference_decode(det, protos, source_size, input_size, conf=0.25, iou=0.45, two_step=False):
    """(boxes, scores, classes, full masks) in source pixels, the long way round."""
    sw, sh = source_size
    iw, ih = input_size
    rows = det[0].T.astype(np.float64)  # [1, C, N] -> (N, C)
    if np.abs(rows[:, :4]).max() <= 2:  # a TFLite export's boxes: fractions of the input
        rows[:, :4] *= [iw, ih, iw, ih]
    nc = len(LABELS)
    p = protos[0] if protos.shape[1] == 32 else protos[0].transpose(2, 0, 1)  # (nm, mh, mw)
    scores, classes = rows[:, 4:4 + nc].max(1), rows[:, 4:4 + nc].argmax(1)
    boxes = np.concatenate([rows[:, :2] - rows[:, 2:4] / 2, rows[:, :2] + rows[:, 2:4] / 2], 1)
    keep = []
    for c in range(nc):
        idx = np.flatnonzero((scores >= conf) & (classes == c))
        keep += [idx[k] for k in greedy_nms(boxes[idx], scores[idx], iou)]
    keep = sorted(keep, key=lambda i: -scores[i])[:300]
    _, (rw, rh), (px, py) = letterbox(sw, sh, iw, ih)
    nm, mh, mw = p.shape
    # Source pixel centres -> model input -> prototype cell coordinates (cell k's centre at k)
    map_x = ((np.arange(sw) + 0.5) * rw / sw + px) * mw / iw - 0.5
    map_y = ((np.arange(sh) + 0.5) * rh / sh + py) * mh / ih - 0.5
    grid_x, grid_y = np.meshgrid(map_x, map_y)
    out_boxes, masks = [], []
    for i in keep:
        b = (boxes[i] - [px, py, px, py]) / [rw / sw, rh / sh, rw / sw, rh / sh]
        b = np.clip(b, 0, [sw, sh, sw, sh])
        logits = (rows[i, 4 + nc:] @ p.reshape(nm, -1)).reshape(mh, mw).astype(np.float32)
        if two_step:  # Ultralytics: to the input, cut the padding, to the source
            up = cv2.resize(logits, (iw, ih), interpolation=cv2.INTER_LINEAR)[py:py + rh, px:px + rw]
            full = cv2.resize(up, (sw, sh), interpolation=cv2.INTER_LINEAR) > 0
        else:
            full = cv2.remap(logits, grid_x.astype(np.float32), grid_y.astype(np.float32), cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE) > 0
        cx, cy = np.arange(sw) + 0.5, np.arange(sh) + 0.5
        inside = ((cy >= b[1]) & (cy < b[3]))[:, None] & ((cx >= b[0]) & (cx < b[2]))[None, :]
        out_boxes.append(b)
        masks.append(full & inside)
    return np.array(out_boxes).reshape(-1, 4), scores[keep], classes[keep], masks


def mask_ious(result, masks):
    """IoU of each decoded mask with the reference's, for masks of 20 pixels or more."""
    out = []
    for i, ref in enumerate(masks):
        got = result.masks.full(i)
        if ref.sum() >= 20:  # slivers of a few pixels have no IoU worth the name
            out.append((got & ref).sum() / (got | ref).sum())
    return np.array(out)


def check_against_reference(result, det, protos, source_size, input_size, config=None):
    thresholds = {"conf": config["score_threshold"], "iou": config["iou_threshold"]} if config else {}
    boxes, scores, classes, masks = reference_decode(det, protos, source_size, input_size, **thresholds)
    assert len(result) == len(boxes) > 0
    # Matched by box: int8 scores tie often, and tied instances may come in either order.
    order = [int(np.argmin(np.abs(result.xyxy - b).max(axis=1))) for b in boxes]
    assert sorted(order) == list(range(len(boxes)))
    result = result[np.array(order)]
    np.testing.assert_allclose(result.xyxy, boxes, atol=0.02)
    assert result.class_id.tolist() == classes.tolist()
    np.testing.assert_allclose(result.confidence, scores, atol=1e-6)
    ious = mask_ious(result, masks)
    assert len(ious) and ious.min() >= 0.99, ious.round(4).tolist()
    return len(ious)


@pytest.mark.parametrize("kind", ["yolo-seg", "yolo-seg-nchw"])
@pytest.mark.parametrize("fmt", ["tflite", "onnx", "openvino"])
def test_masks_match_the_reference_decode_through_every_runtime(task_zoo, kind, fmt):
    model = edgevision.load(task_zoo[kind][fmt], task="instance-segmentation", labels=list(LABELS),
                            resize="letterbox", scale=1 / 255)
    det_i = next(i for i, o in enumerate(model.backend.outputs) if len(o.shape) == 3)
    rng = np.random.default_rng(5)
    checked = 0
    for size in SOURCES:
        image = shapes_scene(rng, size, n_shapes=3, min_radius=0.12, max_radius=0.25).image
        result = model.predict(image)
        tensor = model.new_input()
        model.preprocess(image, tensor)
        outs = model.infer_raw(tensor)
        checked += check_against_reference(result, outs[det_i], outs[1 - det_i], size, model.input_size,
                                           model.decoder)
    assert checked >= 5


def test_an_ultralytics_onnx_export_loads_with_no_flag(task_zoo):
    model = edgevision.load(task_zoo["yolo-seg-nchw"]["onnx"])  # its metadata_props say task: segment, names, ...
    assert model.task == "instance-segmentation" and model.decoder["type"] == "yolo-seg"
    assert model.labels == LABELS and model.decoder["box_format"] == "pixels" and model.input_format.pad_value == 114


def test_ultralytics_two_step_resize_is_close(task_zoo):
    model = edgevision.load(task_zoo["yolo-seg"]["onnx"], task="instance-segmentation", labels=list(LABELS),
                            resize="letterbox", scale=1 / 255)
    rng = np.random.default_rng(5)
    ious = []
    for size in SOURCES:
        image = shapes_scene(rng, size, n_shapes=3, min_radius=0.12, max_radius=0.25).image
        result = model.predict(image)
        tensor = model.new_input()
        model.preprocess(image, tensor)
        det, protos = model.infer_raw(tensor)
        ious += mask_ious(result, reference_decode(det, protos, size, model.input_size, two_step=True)[3]).tolist()
    print(f"IoU with Ultralytics' two-step resize: median {np.median(ious):.4f}, min {min(ious):.4f}")
    assert np.median(ious) >= 0.97 and min(ious) >= 0.85


def test_int8_outputs_keep_their_own_scales_and_decode_like_the_reference(task_zoo, tmp_path):
    import _models_tasks
    import tensorflow as tf

    rng = np.random.default_rng(1)
    scenes = [shapes_scene(rng, (64, 64), n_shapes=2, min_radius=0.15).image for _ in range(24)]

    def representative():
        for s in scenes:
            yield [s[None].astype(np.float32) / 255.0]

    conv = tf.lite.TFLiteConverter.from_keras_model(task_zoo["yolo-seg"]["model"])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.uint8
    path = tmp_path / "seg_int8.tflite"
    with contextlib.redirect_stdout(io.StringIO()):  # Keras 3 prints where it exports the SavedModel
        path.write_bytes(conv.convert())
    model = edgevision.load(path, task="instance-segmentation", labels=list(LABELS), resize="letterbox",
                            scale=1 / 255)
    det_spec = next(o for o in model.backend.outputs if len(o.shape) == 3)
    proto_spec = next(o for o in model.backend.outputs if len(o.shape) == 4)
    assert det_spec.quant and proto_spec.quant and det_spec.quant[0] != proto_spec.quant[0]  # each its own scale
    image = shapes_scene(np.random.default_rng(2), (320, 240), n_shapes=3, min_radius=0.12).image
    result = model.predict(image)
    tensor = model.new_input()
    model.preprocess(image, tensor)
    outs = model.infer_raw(tensor)
    det_i = model.backend.outputs.index(det_spec)

    def deq(a, q):
        return (a.astype(np.float32) - q[1]) * q[0]

    check_against_reference(result, deq(outs[det_i], det_spec.quant), deq(outs[1 - det_i], proto_spec.quant),
                            (320, 240), model.input_size)
    assert proto_spec.shape[-1] == _models_tasks.NM


def test_rle_and_polygons_of_decoded_masks(task_zoo):
    mask_api = pytest.importorskip("pycocotools.mask")
    model = edgevision.load(task_zoo["yolo-seg"]["onnx"], task="instance-segmentation", labels=list(LABELS),
                            resize="letterbox", scale=1 / 255)
    result = model.predict(shapes_scene(np.random.default_rng(9), (300, 200), n_shapes=3, min_radius=0.15).image)
    data = result.to_dict()
    assert data["task"] == "instance-segmentation" and data["size"] == [300, 200] and data["instances"]
    for i, row in enumerate(data["instances"]):
        decoded = mask_api.decode({"size": row["mask"]["size"], "counts": row["mask"]["counts"].encode()})
        assert (decoded.astype(bool) == result.masks.full(i)).all() and row["area"] == int(decoded.sum())
    polygons = result.to_dict(masks="polygons")["instances"][0]["polygons"]
    assert polygons and all(len(p) >= 6 and len(p) % 2 == 0 for p in polygons)


def test_prototype_layout_and_bad_outputs():
    assert proto_layout((1, 38, 256), (1, 16, 16, 32), 2, None) == "NHWC"
    assert proto_layout((1, 38, 256), (1, 32, 16, 16), 2, None) == "NCHW"
    with pytest.raises(ModelError, match="pass proto_layout NCHW or NHWC"):
        proto_layout((1, 38, 256), (1, 32, 32, 32), 2, None)
    assert proto_layout((1, 38, 256), (1, 32, 32, 32), 2, "NHWC") == "NHWC"
    t = make_transform((64, 64), (64, 64), "stretch")
    with pytest.raises(ModelError, match=r"expected detections \[1, 4\+nc\+32, N\] for 32 prototypes"):
        segment_instances(np.zeros((1, 30, 100)), np.zeros((1, 32, 16, 16)), transform=t)
    with pytest.raises(ModelError, match="expected prototypes"):
        segment_instances(np.zeros((1, 38, 100)), np.zeros((32, 16, 16)), transform=t)


def test_normalised_boxes_as_a_tflite_export_gives_them():
    t = make_transform((200, 100), (100, 100), "letterbox")
    det = np.zeros((1, 4 + 1 + 1, 1), np.float32)
    det[0, :, 0] = [0.5, 0.5, 0.4, 0.2, 0.9, 1.0]  # fractions of the input
    protos = np.ones((1, 25, 25, 1), np.float32)  # NHWC, one prototype, positive everywhere
    r = segment_instances(det, protos, transform=t, labels=("a",), proto_layout="NHWC")
    assert r.xyxy.tolist() == [[60.0, 30.0, 140.0, 70.0]] and r.masks.areas().tolist() == [80 * 40]
    assert segment_instances(det, protos, transform=t, labels=("a",), proto_layout="NHWC",
                             score_threshold=0.95).masks.size == (200, 100)  # empty, sized like the image
