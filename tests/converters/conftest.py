"""Fixtures for converter tests: a small real Keras source (saved as .keras) and calibration tensors."""
from __future__ import annotations

import numpy as np
import pytest

from edgevision.converters import Calibration, ConvertJob, SourceModel
from edgevision.sources.shapes import shapes_scene


@pytest.fixture(scope="session")
def keras_sources(tmp_path_factory):
    """{kind: SourceModel} for the test classifier, YOLO detector and segmenter, each saved as .keras.

    The models take float [0, 1] NHWC input of 64x64 (tests/_models.py).
    """
    import _models

    root = tmp_path_factory.mktemp("sources")
    out = {}
    for kind in ("classifier", "yolo", "segmenter"):
        model = _models.BUILDERS[kind]()
        path = root / f"{kind}.keras"
        model.save(path)
        work = root / f"{kind}_work"
        work.mkdir()
        out[kind] = SourceModel(path=path, kind="keras", input_name="images",
                                input_shape=(1, _models.SIZE, _models.SIZE, 3), layout="NHWC",
                                output_names=tuple(o.name for o in model.outputs), workdir=work)
    return out


@pytest.fixture(scope="session")
def calibration():
    """32 shapes scenes resized to 64x64, scaled to [0, 1] as the test models expect."""
    import _models
    import cv2

    rng = np.random.default_rng(11)
    samples = [cv2.resize(shapes_scene(rng, (128, 128), n_shapes=2).image, (_models.SIZE, _models.SIZE),
                          interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0 for _ in range(32)]
    return Calibration(samples, origin="synthetic shapes (32)")


@pytest.fixture
def make_job(tmp_path):
    """make_job(source, target_id, precision, calibration=None, **options) -> ConvertJob writing into tmp_path."""
    from edgevision.targets import load_target

    def make(source, target_id, precision, calibration=None, **options):
        out = tmp_path / f"{target_id}_{precision}"
        out.mkdir(exist_ok=True)
        return ConvertJob(source=source, target=load_target(target_id), precision=precision,
                          calibration=calibration, outdir=out, stem=f"{source.path.stem}_{target_id}_{precision}",
                          options=options)

    return make


@pytest.fixture(scope="session")
def onnx_references(tmp_path_factory):
    """{kind: path} of the reference models exported as the PyTorch exporters write them (examples/onnx_reference_models:
    Ultralytics' YOLOv8 detector layout and metadata, an NCHW classifier, a torchvision-style segmenter)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
    try:
        import onnx_reference_models as refs
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp("onnx_references")
    return {kind: export(root / f"shapes_{kind}.onnx") for kind, export in refs.EXPORTS.items()}
