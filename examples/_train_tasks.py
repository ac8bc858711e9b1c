"""Training targets, losses and held-out evaluation of the reference models in ``_reference_tasks``.

Assignment as for the reference detector: a box is owned by the grid cell holding its centre
and the two neighbours nearest the centre (YOLOv5's rule). Losses: BCE on every cell's class
scores, (1 - GIoU) + L1 on owned cells' boxes; for instances, BCE of the mask logits
(coefficients @ prototypes) of owned cells against the instance's mask inside its box (Ultralytics'
crop); for poses, L1 on visible keypoints and BCE on their visibility; for MoveNet, L1 on the
visible keypoints' (y, x) and BCE on their scores.
"""
from __future__ import annotations

from typing import Any

import _reference_tasks as rt
import numpy as np

from edgevision.converters.datasets import SHAPE_LABELS
from edgevision.converters.datasets_tasks import instance_dataset, instance_masks_of, pose_dataset

POSITIVES = 16  # owned cells per image whose masks are trained (3 per shape, at most 4 shapes)


def _owners(box: np.ndarray, grid: int, size: int) -> list[tuple[int, int]]:
    stride = size / grid
    cx, cy = (box[0] + box[2]) / 2 / stride, (box[1] + box[3]) / 2 / stride
    gx, gy = int(np.clip(cx, 0, grid - 1)), int(np.clip(cy, 0, grid - 1))
    near_x = gx - 1 if cx - gx < 0.5 else gx + 1
    near_y = gy - 1 if cy - gy < 0.5 else gy + 1
    return [(ax, ay) for ax, ay in ((gx, gy), (near_x, gy), (gx, near_y)) if 0 <= ax < grid and 0 <= ay < grid]


def box_rows(boxes: list, classes: list, grid: int, size: int, nc: int) -> tuple[np.ndarray, list]:
    """(n, grid^2, 4+nc+1) targets (normalised cx, cy, w, h, one-hot class, owned) and per image [(cell, object)]."""
    y = np.zeros((len(boxes), grid * grid, 4 + nc + 1), np.float32)
    owned: list[list[tuple[int, int]]] = []
    for i, (bs, cs) in enumerate(zip(boxes, classes)):
        cells = []
        for j, (b, c) in enumerate(zip(bs, cs)):
            for ax, ay in _owners(b, grid, size):
                row = y[i, ay * grid + ax]
                row[:] = 0
                row[:4] = (b[0] + b[2]) / 2 / size, (b[1] + b[3]) / 2 / size, (b[2] - b[0]) / size, (b[3] - b[1]) / size
                row[4 + c] = row[-1] = 1
                cells = [(cell, o) for cell, o in cells if cell != ay * grid + ax] + [(ay * grid + ax, j)]
        owned.append(cells)
    return y, owned


def box_loss(y_true: Any, pred: Any, nc: int, grid: int) -> Any:
    """BCE on class scores of every cell, (1 - GIoU) + 0.5 L1 (cell units) on owned cells, per owned cell."""
    from keras import ops

    owned = y_true[..., 4 + nc]
    n_owned = ops.maximum(ops.sum(owned), 1.0)
    p = ops.clip(pred[..., 4:4 + nc], 1e-6, 1 - 1e-6)
    t = y_true[..., 4:4 + nc]
    bce = ops.sum(-(t * ops.log(p) + (1 - t) * ops.log(1 - p))) / n_owned

    def corners(b: Any) -> tuple:
        return b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2, b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2

    (px0, py0, px1, py1), (tx0, ty0, tx1, ty1) = corners(pred), corners(y_true)
    inter = ops.relu(ops.minimum(px1, tx1) - ops.maximum(px0, tx0)) * ops.relu(ops.minimum(py1, ty1) - ops.maximum(py0, ty0))
    union = pred[..., 2] * pred[..., 3] + y_true[..., 2] * y_true[..., 3] - inter + 1e-9
    hull = (ops.maximum(px1, tx1) - ops.minimum(px0, tx0)) * (ops.maximum(py1, ty1) - ops.minimum(py0, ty0)) + 1e-9
    giou = inter / union - (hull - union) / hull
    l1 = ops.sum(ops.abs(pred[..., :4] - y_true[..., :4]), axis=-1) * grid
    return bce + 2 * ops.sum(owned * (1 - giou + 0.5 * l1)) / n_owned


# -- instances ---------------------------------------------------------------------------------------
def instance_data(n: int, size: int, seed: int) -> tuple[np.ndarray, list]:
    """(letterboxed images, per image (boxes in input pixels, classes, (k, size, size) masks))."""
    images, truth = [], []
    for data in rt._scenes(instance_dataset, n, size, seed):
        for i in range(len(data.images)):
            images.append(data.images[i])
            truth.append((data.boxes[i], data.classes[i], instance_masks_of(data, i)))
    x, transforms = rt.letterboxed(images, size)
    out = []
    for (boxes, classes, masks), t in zip(truth, transforms):
        stack = [np.repeat((m[..., None] * 255).astype(np.uint8), 3, axis=2) for m in masks]
        boxed, _ = rt.letterboxed(stack, size) if stack else (np.zeros((0, size, size, 3)), None)
        out.append((t.to_input(boxes), np.asarray(classes), boxed[..., 0] > 127))
    return x, out


def instance_targets(truth: list, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(box rows, owned cell indices (n, POSITIVES) or -1, mask targets (n, POSITIVES, (size/4)^2) in {1, 0, -1})."""
    grid, m = size // 8, size // 4
    rows, owned = box_rows([b for b, _, _ in truth], [c for _, c, _ in truth], grid, size, rt.NC)
    index = np.full((len(truth), POSITIVES), -1, np.int32)
    masks = np.full((len(truth), POSITIVES, m * m), -1, np.int8)
    centres = (np.arange(m) + 0.5) * (size / m)
    for i, ((boxes, _, full), cells) in enumerate(zip(truth, owned)):
        small = full.reshape(len(full), m, 4, m, 4).mean(axis=(2, 4)) > 0.5 if len(full) else full
        for p, (cell, j) in enumerate(cells[:POSITIVES]):
            b = boxes[j]
            inside = ((centres >= b[1]) & (centres < b[3]))[:, None] & ((centres >= b[0]) & (centres < b[2]))[None, :]
            index[i, p] = cell
            masks[i, p] = np.where(inside, small[j], -1).ravel()
    return rows, index, masks


def instance_training_model(size: int = 160) -> tuple[Any, Any]:
    """(the model to save, a training model: inputs [images, owned cells], outputs [rows, mask logits])."""
    import keras
    from keras import ops

    net = rt.build_instances(batch_size=None, size=size)
    index = keras.Input((POSITIVES,), dtype="int32", name="owned")

    class MaskLogits(keras.layers.Layer):  # training only: the saved model has none of it
        def call(self, rows: Any, protos: Any, idx: Any) -> Any:
            coefficients = ops.transpose(rows, (0, 2, 1))[..., 4 + rt.NC:]
            picked = ops.take_along_axis(coefficients, ops.expand_dims(ops.maximum(idx, 0), -1), axis=1)
            logits = ops.einsum("bpk,bhwk->bphw", picked, protos)
            return ops.reshape(logits, (-1, POSITIVES, protos.shape[1] * protos.shape[2]))

    rows, protos = net.outputs
    return net, keras.Model([net.input, index], [rows, MaskLogits()(rows, protos, index)])


def instance_losses(size: int = 160) -> list:
    from keras import ops

    def rows_loss(y_true: Any, y_pred: Any) -> Any:
        return box_loss(y_true, ops.transpose(y_pred, (0, 2, 1)), rt.NC, size // 8)

    def mask_loss(y_true: Any, y_pred: Any) -> Any:
        valid = ops.cast(y_true >= 0, "float32")
        t = ops.cast(y_true > 0, "float32")
        bce = ops.maximum(y_pred, 0) - y_pred * t + ops.log(1 + ops.exp(-ops.abs(y_pred)))  # BCE with logits
        return 4 * ops.sum(bce * valid) / ops.maximum(ops.sum(valid), 1.0)

    return [rows_loss, mask_loss]


# -- poses -------------------------------------------------------------------------------------------
def pose_data(n: int, size: int, seed: int, *, single: bool = False) -> tuple[np.ndarray, list]:
    """(letterboxed images, per image (boxes, keypoints (k, 17, 3)) in input pixels)."""
    kw = {"people": (1, 1), "height": (0.55, 0.85)} if single else {}
    images, truth = [], []
    for data in rt._scenes(lambda c, s, sd: pose_dataset(c, s, sd, **kw), n, size, seed):
        for i in range(len(data.images)):
            images.append(data.images[i])
            truth.append((data.boxes[i], data.keypoints[i]))
    x, transforms = rt.letterboxed(images, size)
    out = []
    for (boxes, kp), t in zip(truth, transforms):
        kp = kp.copy()
        kp[..., :2] = kp[..., :2] * t.scale + t.offset
        out.append((t.to_input(boxes), kp))
    return x, out


def pose_targets(truth: list, size: int) -> np.ndarray:
    """(n, grid^2, 4+1+1 + 17*3): box rows, then keypoints (x, y as fractions, visible 1/0) of the owner."""
    grid = size // 8
    rows, owned = box_rows([b for b, _ in truth], [np.zeros(len(b), int) for b, _ in truth], grid, size, 1)
    kp = np.zeros((len(truth), grid * grid, rt.K, 3), np.float32)
    for i, ((_, points), cells) in enumerate(zip(truth, owned)):
        for cell, j in cells:
            kp[i, cell, :, :2] = points[j, :, :2] / size
            kp[i, cell, :, 2] = points[j, :, 2] > 0
    return np.concatenate([rows, kp.reshape(len(truth), grid * grid, -1)], axis=-1)


def pose_loss(size: int = 160) -> Any:
    from keras import ops

    grid = size // 8

    def loss(y_true: Any, y_pred: Any) -> Any:
        pred = ops.transpose(y_pred, (0, 2, 1))
        owned = y_true[..., 5]
        n_owned = ops.maximum(ops.sum(owned), 1.0)
        t_kp = ops.reshape(y_true[..., 6:], (-1, grid * grid, rt.K, 3))
        p_kp = ops.reshape(pred[..., 5:], (-1, grid * grid, rt.K, 3))
        seen = t_kp[..., 2] * owned[..., None]
        l1 = ops.sum(ops.sum(ops.abs(p_kp[..., :2] - t_kp[..., :2]), axis=-1) * seen) * grid / ops.maximum(ops.sum(seen), 1.0)
        v = ops.clip(p_kp[..., 2], 1e-6, 1 - 1e-6)
        bce = ops.sum(-(t_kp[..., 2] * ops.log(v) + (1 - t_kp[..., 2]) * ops.log(1 - v)) * owned[..., None]) / n_owned
        return box_loss(y_true, pred[..., :5], 1, grid) + 4 * l1 + 0.1 * bce

    return loss


def movenet_targets(truth: list, size: int) -> np.ndarray:
    """(n, 1, 17, 3): y, x as fractions of the input and visibility, of each image's one figure."""
    out = np.zeros((len(truth), 1, rt.K, 3), np.float32)
    for i, (_, kp) in enumerate(truth):
        out[i, 0, :, 0], out[i, 0, :, 1] = kp[0, :, 1] / size, kp[0, :, 0] / size
        out[i, 0, :, 2] = kp[0, :, 2] > 0
    return out


def movenet_loss(y_true: Any, y_pred: Any) -> Any:
    from keras import ops

    seen = y_true[..., 2]
    l1 = ops.sum(ops.sum(ops.abs(y_pred[..., :2] - y_true[..., :2]), axis=-1) * seen) / ops.maximum(ops.sum(seen), 1.0)
    s = ops.clip(y_pred[..., 2], 1e-6, 1 - 1e-6)
    return 16 * l1 + 0.1 * ops.mean(-(seen * ops.log(s) + (1 - seen) * ops.log(1 - s)))


LABELS = {"instances": SHAPE_LABELS, "pose": ("person",), "movenet": ("person",)}


def held_out(kind: str, n: int, size: int, seed: int) -> tuple[list, list]:
    """(images, ground truth as the fidelity metrics read it) of held-out 4:3 scenes at twice the input size."""
    from edgevision.masks import InstanceMasks

    frame = (2 * size, round(1.5 * size))
    if kind == "instances":
        data = instance_dataset(n, frame, seed)
        truth = [(InstanceMasks.from_full(instance_masks_of(data, i)), np.asarray(data.classes[i]))
                 for i in range(n)]
        return list(data.images), truth
    single = kind == "movenet"
    data = pose_dataset(n, frame, seed, **({"people": (1, 1), "height": (0.55, 0.85)} if single else {}))
    truth = []
    for boxes, kp in zip(data.boxes, data.keypoints):
        wh = boxes[:, 2:] - boxes[:, :2]
        truth.append((kp, np.zeros(len(kp), np.int64), (wh[:, 0] * wh[:, 1]).astype(np.float64)))
    return list(data.images), truth


def train_task(kind: str, ref: Any, seed: int, fit: Any) -> tuple[Any, Any]:
    """(the batch-1 model to save, fit's (wall, CPU) seconds); ``fit(model, x, y, losses)`` trains."""
    size = ref.size
    if kind == "instances":
        x, truth = instance_data(ref.train_images, size, seed + ref.offset)
        rows, index, masks = instance_targets(truth, size)
        net, train = instance_training_model(size)
        _prior(net.get_layer("scores"))
        seconds = fit(train, [x, index], [rows, masks.astype(np.float32)], instance_losses(size))
        model = rt.build_instances(batch_size=1, size=size)
    elif kind == "pose":
        x, truth = pose_data(ref.train_images, size, seed + ref.offset)
        net = rt.build_pose(batch_size=None, size=size)
        _prior(net.get_layer("score"))
        seconds = fit(net, x, pose_targets(truth, size), pose_loss(size))
        model = rt.build_pose(batch_size=1, size=size)
    else:
        x, truth = pose_data(ref.train_images, size, seed + ref.offset, single=True)
        net = rt.build_movenet(batch_size=None, size=size)
        seconds = fit(net, x, movenet_targets(truth, size), movenet_loss)
        model = rt.build_movenet(batch_size=1, size=size)
    model.set_weights(net.get_weights())
    return model, seconds


def _prior(layer: Any) -> None:
    """Class scores start near 0.02: most cells own nothing (RetinaNet's prior)."""
    weights = layer.get_weights()
    weights[1][:] = -4.0
    layer.set_weights(weights)
