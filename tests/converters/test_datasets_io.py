"""converters/datasets_io.py and data.py: calibration and validation from a YOLO data.yaml, COCO JSON and a Python
iterable give the ground truth the image directory's sidecars give, in the model's label order."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgevision.converters.calibration import load_samples
from edgevision.converters.datasets import SHAPE_LABELS, write_shapes_dataset
from edgevision.converters.datasets_io import open_dataset
from edgevision.errors import UserInputError
from edgevision.sources import read_image

NAMES = list(SHAPE_LABELS)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """A detection shapes directory (sidecars) written once, with its truth as load_samples reads it."""
    root = tmp_path_factory.mktemp("shapes")
    paths = write_shapes_dataset(root / "flat", "detection", 12, (96, 64), seed=5)
    return root, paths, [s.truth for s in load_samples(paths, "detection", NAMES)]


def _yolo(root: Path, paths, names=NAMES, split=("train", "val")) -> Path:
    """An Ultralytics dataset: images/<split>/*.png, labels/<split>/*.txt (class cx cy w h, fractions), data.yaml."""
    for i, p in enumerate(paths):
        sub = split[0] if i < 8 else split[1]
        (root / "images" / sub).mkdir(parents=True, exist_ok=True)
        (root / "labels" / sub).mkdir(parents=True, exist_ok=True)
        image = root / "images" / sub / p.name
        image.write_bytes(p.read_bytes())
        truth = json.loads(p.with_suffix(".json").read_text())
        h, w = read_image(p).shape[:2]
        lines = []
        for (x0, y0, x1, y1), label in zip(truth["boxes"], truth["labels"]):
            lines.append(f"{names.index(label)} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} "
                         f"{(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
        (root / "labels" / sub / f"{p.stem}.txt").write_text("\n".join(lines) + "\n")
    yaml_names = "\n".join(f"  {i}: {n}" for i, n in enumerate(names))
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images/{split[0]}\nval: images/{split[1]}\nnames:\n{yaml_names}\n")
    return root / "data.yaml"


def _same(got, want):
    assert len(got) == len(want)
    for (gb, gc), (wb, wc) in zip(got, want):
        np.testing.assert_allclose(gb, wb, atol=0.01)
        assert gc.tolist() == wc.tolist()


def test_a_yolo_dataset_gives_the_sidecars_truth(shapes, tmp_path):
    _root, paths, truth = shapes
    data = open_dataset(_yolo(tmp_path, paths), "detection", NAMES)
    assert len(data) == 8 and "train: 8 images" in data.origin
    _same(data.truth, truth[:8])
    assert data.held is not None and len(data.held) == 4  # its val split: the held-out images
    _same(data.held.truth, truth[8:])


def test_yolo_class_names_map_onto_the_models_labels(shapes, tmp_path):
    _root, paths, truth = shapes
    data = open_dataset(_yolo(tmp_path, paths, names=NAMES[::-1]), "detection", NAMES)  # the dataset's ids reversed
    _same(data.truth, truth[:8])
    with pytest.raises(UserInputError, match="expected the classes of data.yaml among the model's labels"):
        open_dataset(tmp_path / "data.yaml", "detection", ["cat", "dog", "circle"])


def test_a_coco_json_gives_the_sidecars_truth(shapes, tmp_path):
    _root, paths, truth = shapes
    images, annotations = [], []
    for i, p in enumerate(paths):
        (tmp_path / "images").mkdir(exist_ok=True)
        (tmp_path / "images" / p.name).write_bytes(p.read_bytes())
        images.append({"id": i + 10, "file_name": p.name, "width": 96, "height": 64})
        t = json.loads(p.with_suffix(".json").read_text())
        for (x0, y0, x1, y1), label in zip(t["boxes"], t["labels"]):
            annotations.append({"id": len(annotations) + 1, "image_id": i + 10, "category_id": 7 + NAMES.index(label),
                                "bbox": [x0, y0, x1 - x0, y1 - y0], "iscrowd": 0, "area": (x1 - x0) * (y1 - y0)})
    (tmp_path / "annotations").mkdir()
    path = tmp_path / "annotations" / "instances_val.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 7 + i, "name": n} for i, n in enumerate(NAMES)]}))
    data = open_dataset(path, "detection", NAMES)
    assert len(data) == 12 and data.images[0].parent.name == "images"
    _same(data.truth, truth)


def test_a_python_iterable_of_images_and_truth(shapes):
    _root, paths, truth = shapes
    items = [(read_image(p), (t[0], [NAMES[c] for c in t[1]])) for p, t in zip(paths, truth)]
    data = open_dataset(items, "detection", NAMES)
    _same(data.truth, truth)
    plain = open_dataset((read_image(p) for p in paths[:3]), "detection", NAMES)
    assert len(plain) == 3 and plain.truth == [None] * 3
    with pytest.raises(UserInputError, match=r"expected RGB uint8 images of shape \(H, W, 3\), got float32"):
        open_dataset([np.zeros((4, 4, 3), np.float32)], "detection", NAMES)


def test_broken_dataset_files_are_one_line_errors(tmp_path):
    (tmp_path / "bad.yaml").write_text("train: images/train\n")
    with pytest.raises(UserInputError, match="expected a YOLO data.yaml with 'names'"):
        open_dataset(tmp_path / "bad.yaml", "detection", NAMES)
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(UserInputError, match="expected COCO JSON with 'images'"):
        open_dataset(tmp_path / "bad.json", "detection", NAMES)
    (tmp_path / "gone.json").write_text(json.dumps({"images": [{"id": 1, "file_name": "x.png"}], "categories": []}))
    with pytest.raises(UserInputError, match="expected image 'x.png' of gone.json"):
        open_dataset(tmp_path / "gone.json", "detection", NAMES)
