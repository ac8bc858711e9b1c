"""Session fixtures: small real models built and exported once per test run, and sample images."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def zoo(tmp_path_factory):
    """{kind: {"keras": model, "tflite": path, "openvino": path, "onnx": path}} for every test model."""
    import _models

    root = tmp_path_factory.mktemp("zoo")
    built = {}
    for kind, build in _models.BUILDERS.items():
        model = build()
        built[kind] = {"keras": model, **_models.export_all(model, root / kind)}
    return built


@pytest.fixture(scope="session")
def scene():
    """A 640x480 synthetic shapes scene (RGB uint8) with ground truth."""
    from edgevision.sources.shapes import shapes_scene

    return shapes_scene(np.random.default_rng(3), (640, 480), n_shapes=4)


@pytest.fixture(scope="session")
def task_zoo(tmp_path_factory):
    """{kind: {"keras": model, "tflite"/"openvino"/"onnx"/"keras": path}} for the YOLO-seg, YOLO-pose and MoveNet
    test models (tests/_models_tasks.py), built and exported once per test run."""
    import contextlib
    import io

    import _models_tasks

    root = tmp_path_factory.mktemp("task_zoo")
    built = {}
    for kind, build in _models_tasks.BUILDERS.items():
        with contextlib.redirect_stdout(io.StringIO()):  # Keras 3 prints where it exports the SavedModel
            model = build()
            built[kind] = {"model": model, **_models_tasks.export(model, root / kind, kind)}
    return built
