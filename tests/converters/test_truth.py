"""Instance and keypoint ground truth written by the data-set writer and read back by the converter's readers."""
from __future__ import annotations

import json

import pytest

from edgevision.converters.calibration import find_images, load_samples
from edgevision.converters.datasets import SHAPE_LABELS
from edgevision.converters.datasets_tasks import write_task_dataset
from edgevision.errors import UserInputError

pytest.importorskip("cv2")


def test_instance_masks_and_keypoints_round_trip(tmp_path):
    paths = write_task_dataset(tmp_path / "inst", "instance-segmentation", 3, (96, 72), seed=1)
    assert find_images(tmp_path / "inst") == paths  # the instance maps are not taken for images
    for sample in load_samples(paths, "instance-segmentation", SHAPE_LABELS):
        masks, classes = sample.truth
        assert len(masks) == len(classes) >= 1 and masks.size == (96, 72) and (masks.areas() > 20).all()
    paths = write_task_dataset(tmp_path / "pose", "pose", 2, (96, 96), seed=2)
    keypoints, classes, areas = load_samples(paths, "pose", ("person",))[0].truth
    assert keypoints.shape[1:] == (17, 3) and set(classes.tolist()) == {0} and (areas > 0).all()


def test_keypoints_of_the_wrong_shape_are_a_typed_error(tmp_path):
    path = write_task_dataset(tmp_path, "pose", 1, 64, seed=0)[0]
    data = json.loads(path.with_suffix(".json").read_text())
    data["keypoints"] = [[[1, 2]]]
    path.with_suffix(".json").write_text(json.dumps(data))
    with pytest.raises(UserInputError, match=r"expected keypoints \[\[\[x, y, v\]"):
        load_samples([path], "pose", ("person",))


def test_without_the_files_there_is_no_truth(tmp_path):
    path = write_task_dataset(tmp_path, "detection", 1, 64, seed=0)[0]
    assert load_samples([path], "pose", SHAPE_LABELS)[0].truth is None
    assert load_samples([path], "instance-segmentation", SHAPE_LABELS)[0].truth is None
