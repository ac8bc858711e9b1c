"""edgevision/overlap.py: when overlapping pays (plain dicts, as ``backend.info()`` gives), and the engine thread."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from edgevision.errors import UserInputError
from edgevision.lease import EngineLease
from edgevision.overlap import EngineThread, choose_overlap, overlap_pays


@pytest.mark.parametrize("device", ["edgetpu", "NPU", "GPU.0", "CUDA", "TensorRT", "npu"])
def test_an_accelerator_pays_whatever_the_threads(device):
    assert overlap_pays({"device": device, "threads": 4}, 4)
    assert overlap_pays({"device": device, "threads": None}, 1)


def test_on_the_cpu_only_a_free_core_pays():
    assert not overlap_pays({"device": "CPU", "threads": 2}, 2)  # threads == cores: the engine needs them all
    assert not overlap_pays({"device": "CPU", "threads": 4}, 2)
    assert overlap_pays({"device": "CPU", "threads": 1}, 2)
    assert not overlap_pays({"device": "CPU", "threads": None}, 8)  # unknown threads: keep it sequential
    assert not overlap_pays({"device": "cpu,xnnpack", "threads": 2}, 2)
    assert overlap_pays({"threads": 1}, 2)  # no device said: a CPU


def test_choose_overlap_forces_or_asks_the_rule():
    info = {"device": "CPU", "threads": 2}
    assert choose_overlap(True, info, cores=2) is True and choose_overlap(False, {"device": "NPU"}) is False
    assert choose_overlap("auto", info, cores=2) is False and choose_overlap("auto", info, cores=3) is True
    with pytest.raises(UserInputError, match="expected overlap=True, False or 'auto', got 'yes'"):
        choose_overlap("yes", info)


def test_the_engine_thread_runs_a_lease_in_order_and_copies_outputs_it_would_overwrite():
    scratch = np.zeros(2)
    threads = []

    def run(tensor):  # an engine that hands out one output buffer, as OpenVINO does
        threads.append(threading.current_thread().name)
        scratch[:] = tensor
        return [scratch]

    lease = EngineLease(owner="a test", run=run, fresh_outputs=False, on_release=lambda lease: None)
    engine = EngineThread(lease, depth=2)
    try:
        engine.submit(np.full(2, 1.0))
        engine.submit(np.full(2, 2.0))
        first, second = engine.collect()[0][0], engine.collect()[0][0]
    finally:
        engine.stop()
    assert first.tolist() == [1.0, 1.0] and second.tolist() == [2.0, 2.0]
    assert set(threads) == {"edgevision-infer"}
