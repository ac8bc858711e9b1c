"""edgevision/lease.py and ``Model.lease``: one holder of a model's engine at a time, released however it ends."""
from __future__ import annotations

import _onnx_models
import numpy as np
import pytest

import edgevision
from edgevision.errors import UserInputError
from edgevision.lease import EngineLease
from edgevision.results import Detections

pytest.importorskip("onnxruntime")
IMAGE = np.zeros((120, 160, 3), np.uint8)


@pytest.fixture()
def model(tmp_path):
    return edgevision.load(_onnx_models.bright_spot_detector(tmp_path / "det.onnx"), labels=_onnx_models.LABELS)


def test_a_lease_runs_until_released_and_tells_its_model_once():
    released = []
    lease = EngineLease(owner="a test", run=lambda tensor: [tensor + 1], fresh_outputs=False,
                        on_release=released.append)
    assert lease.run(np.zeros(3))[0].tolist() == [1.0, 1.0, 1.0] and lease.fresh_outputs is False
    with lease:
        pass
    lease.release()
    assert released == [lease] and lease.released
    with pytest.raises(UserInputError, match="expected a held engine lease, got one released by a test"):
        lease.run(np.zeros(3))


def test_a_lease_blocks_predict_and_a_second_lease_until_its_with_block_ends(model):
    assert model.leased_by is None
    with model.lease(owner="the overlapped stream of clip.mp4") as engine:
        assert model.leased_by == "the overlapped stream of clip.mp4"
        with pytest.raises(UserInputError, match="leased to the overlapped stream of clip.mp4 .*overlap=False, "
                                                 "or load the model a second time"):
            model.predict(IMAGE)
        with pytest.raises(UserInputError, match="one overlapped stream per model at a time"):
            model.lease(owner="another")
        with pytest.raises(UserInputError, match="leased to"):
            model.step(IMAGE)
        tensor = model.new_input()
        result = model.decode(engine.run(tensor), model.preprocess(IMAGE, tensor))  # the holder's own steps run
        assert isinstance(result, Detections)
    assert model.leased_by is None and isinstance(model.predict(IMAGE), Detections)


def test_a_lease_is_released_when_its_block_raises_and_by_release(model):
    with pytest.raises(RuntimeError, match="camera gone"), model.lease(owner="a failing loop"):
        raise RuntimeError("camera gone")
    assert model.leased_by is None
    lease = model.lease(owner="a loop")
    lease.release()
    lease.release()  # twice is harmless
    second = model.lease(owner="the next loop")
    lease.release()  # a stale lease released again does not free the model from the next one
    assert model.leased_by == "the next loop"
    second.release()
    assert isinstance(model.predict(IMAGE), Detections)
