"""edgevision/layouts.py: layouts recognised by name before any guess; unregistered heads refused by name, and a
decoder registered under the layout's name (as the pose and instance-segmentation tasks will) takes over unedited."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.decode import DecoderSpec, register_decoder, unregister_decoder
from edgevision.errors import ModelError
from edgevision.layouts import LAYOUTS, choose_decoder, likely_layouts, named_defaults, recognise
from edgevision.results import Detections


@pytest.mark.parametrize("shapes, n_labels, expected", [
    ([(1, 1, 17, 3)], 0, "movenet"),
    ([(1, 300, 6)], 0, "yolo-end2end"),
    ([(1, 116, 8400), (1, 32, 160, 160)], 0, "yolo-seg"),
    ([(1, 25200, 85)], 80, "yolo-objectness"),
    ([(1, 85, 8400)], 80, "yolo-obb"),
    ([(1, 56, 8400)], 1, "yolo-pose"),
    ([(1, 84, 8400)], 80, None),
    ([(1, 84, 8400)], 0, None),
    ([(1, 300, 6)], 2, None),  # two labels: [1, N, 4+2] is as likely a raw head
])
def test_recognised_from_shapes_and_labels(shapes, n_labels, expected):
    found = recognise(shapes, n_labels=n_labels)
    assert (found[0] if found else None) == expected


def test_a_recognised_unregistered_head_is_refused_by_name():
    with pytest.raises(ModelError, match="by the model's metadata this is the yolo-obb layout"):
        choose_decoder(None, [(1, 20, 8400)], hint="yolo-obb")
    with pytest.raises(ModelError, match="the yolo-obb layout .*no decoder named 'yolo-obb' is registered"):
        choose_decoder(None, [(1, 85, 8400)], n_labels=80)
    # A task the user gives is taken at its word: no refusal, the usual guess follows.
    assert choose_decoder("segmentation", [(1, 1, 17, 3)]) is None


def test_the_decoders_registered_under_the_layout_names_take_over():
    # The instance-segmentation and pose tasks (issue 13) register yolo-seg, yolo-pose and movenet.
    assert choose_decoder(None, [(1, 1, 17, 3)]) == "movenet"
    assert choose_decoder(None, [(1, 116, 8400), (1, 32, 160, 160)]) == "yolo-seg"
    assert choose_decoder(None, [(1, 56, 8400)], n_labels=1) == "yolo-pose"
    assert choose_decoder("detection", [(1, 1, 17, 3)]) is None  # a task given narrows to its own decoders
    assert set(LAYOUTS) >= {"yolo-seg", "yolo-pose", "yolo-obb", "movenet"}


def test_a_movenet_model_loads_with_no_flag(tmp_path):
    import _tf_exporters as tfx

    import edgevision

    model = edgevision.load(tfx.movenet_tflite(tmp_path / "movenet.tflite"))
    assert model.decoder["type"] == "movenet" and model.task == "pose"
    assert len(model.predict(np.zeros((32, 32, 3), np.uint8))) == 0  # keypoint scores of 0: no pose


@pytest.fixture
def obb_registered():
    def bind(config, outputs, labels):
        return lambda outs, t: Detections.empty(labels)

    register_decoder(DecoderSpec("yolo-obb", "detection", {}, "[1,4+nc+1,N]", bind, fits=lambda shapes: False))
    yield
    unregister_decoder("yolo-obb")


def test_a_decoder_registered_under_the_layout_name_takes_over(obb_registered):
    assert choose_decoder(None, [(1, 85, 8400)], n_labels=80) == "yolo-obb"


def test_likely_layouts_name_what_scores_out_of_range_mean():
    assert "yolo-end2end" in likely_layouts((1, 300, 6))
    assert "yolo-pose" in likely_layouts((1, 56, 8400))
    assert "yolo-obb" in likely_layouts((1, 85, 8400), 80)


def test_tf_od_api_output_names_mean_ssd_with_one_based_ids():
    names = ["detection_boxes", "detection_scores", "detection_classes", "num_detections", "raw_detection_boxes"]
    assert named_defaults(names) == {"decoder": "ssd", "label_offset": -1}
