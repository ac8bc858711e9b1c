"""edgevision/overlap.py: the engine thread."""
from __future__ import annotations

import threading

import numpy as np

from edgevision.lease import EngineLease
from edgevision.overlap import EngineThread


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
