"""Build (never download) the int8 MobileNetV2 classifier the benchmarks run, cached by its parameters.

Two artifacts of the same seeded Keras MobileNetV2 (same weights, same calibration pixels):

- a full-integer int8 ``.tflite`` (TFLite converter), uint8 or int8 input/output;
- an int8 OpenVINO IR (``.xml`` + ``.bin``): plain ``ov.convert_model`` of the SavedModel, then
  ``nncf.quantize`` with the same calibration images; float32 pixel input.

Run as a script it converts one model and prints its path; the benchmarks call it
in a child process, so TensorFlow is never imported into the process being timed
(on a device there is no TensorFlow either).

Example:
    $ python examples/_bench_models.py --alpha 1.0 --io uint8 --out /tmp/edgevision-bench
    /tmp/edgevision-bench/mobilenetv2_a1.0_io-uint8_s0_n20_<key>.tflite
    $ python examples/_bench_models.py --format openvino-ir --out /tmp/edgevision-bench
    /tmp/edgevision-bench/mobilenetv2_a1.0_ir-int8_s0_n20_<key>.xml
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SIZE = 224
CLASSES = 1000
IO_TYPES = ("uint8", "int8")
FORMATS = ("tflite", "openvino-ir")
RECIPE_VERSION = 1  # bump when the build below changes, so cached files are not reused
IR_RECIPE_VERSION = 1  # the same, for the OpenVINO IR build


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / "edgevision-bench"


def model_path(out_dir: Path, *, alpha: float, io: str, seed: int, samples: int) -> Path:
    """Where the model for these parameters is (or will be) cached."""
    params = {"recipe": RECIPE_VERSION, "arch": "MobileNetV2", "size": SIZE, "classes": CLASSES,
              "alpha": float(alpha), "io": io, "seed": int(seed), "samples": int(samples)}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    return Path(out_dir) / f"mobilenetv2_a{float(alpha)}_io-{io}_s{seed}_n{samples}_{key}.tflite"


def ir_path(out_dir: Path, *, alpha: float, seed: int, samples: int) -> Path:
    """Where the int8 OpenVINO IR (``.xml``; the ``.bin`` beside it) for these parameters is cached."""
    params = {"recipe": IR_RECIPE_VERSION, "arch": "MobileNetV2", "size": SIZE, "classes": CLASSES,
              "alpha": float(alpha), "format": "openvino-ir", "seed": int(seed), "samples": int(samples)}
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]
    return Path(out_dir) / f"mobilenetv2_a{float(alpha)}_ir-int8_s{seed}_n{samples}_{key}.xml"


def keras_model(*, alpha: float, seed: int):
    """The seeded MobileNetV2 both artifacts are converted from: raw [0, 255] pixels in, 1000 scores out."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    keras.utils.set_random_seed(seed)
    # Pixels in [0, 255] go in; the rescaling MobileNetV2 expects ([-1, 1]) is part of the graph, so the
    # quantised input takes raw pixels (uint8: scale 1, zero point 0; int8: scale 1, zero point -128).
    inputs = keras.Input((SIZE, SIZE, 3), batch_size=1, name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = keras.applications.MobileNetV2(input_shape=(SIZE, SIZE, 3), alpha=alpha, weights=None,
                                       classes=CLASSES)(x)
    return keras.Model(inputs, x, name=f"mobilenetv2_{alpha}")


def calibration_images(*, seed: int, samples: int) -> list:
    """Seeded random pixel images, float32 [1, 224, 224, 3], with the full pixel range pinned in."""
    import numpy as np

    rng = np.random.default_rng(seed)
    calibration = [rng.integers(0, 256, (1, SIZE, SIZE, 3)).astype(np.float32) for _ in range(samples)]
    calibration[0][0, 0, 0] = (0, 255, 0)  # pin the full pixel range into the calibration set
    return calibration


def build(path: Path, *, alpha: float, io: str, seed: int, samples: int) -> Path:
    """Convert a seeded MobileNetV2 to a full-integer int8 .tflite (uint8 or int8 input/output) at ``path``."""
    model = keras_model(alpha=alpha, seed=seed)
    import tensorflow as tf

    calibration = calibration_images(seed=seed, samples=samples)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([c] for c in calibration)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = getattr(tf, io)
    data = converter.convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: an interrupted build never leaves a half file in the cache
    return path


def build_ir(path: Path, *, alpha: float, seed: int, samples: int) -> Path:
    """The same MobileNetV2 as an int8 OpenVINO IR: ``ov.convert_model`` then ``nncf.quantize``, at ``path``."""
    model = keras_model(alpha=alpha, seed=seed)
    import nncf
    import openvino as ov

    calibration = calibration_images(seed=seed, samples=samples)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        saved = Path(tmp) / "savedmodel"
        model.export(str(saved), verbose=False)
        ov_model = ov.convert_model(str(saved), input=[1, SIZE, SIZE, 3])
        quantized = nncf.quantize(ov_model, nncf.Dataset(calibration), subset_size=len(calibration))
        staged = Path(tmp) / path.name
        ov.save_model(quantized, str(staged))
        # The .bin first, the .xml last: a cached .xml always has its complete weights beside it.
        staged.with_suffix(".bin").replace(path.with_suffix(".bin"))
        staged.replace(path)
    return path


def ensure_model(out_dir: Path | None, *, alpha: float, io: str, seed: int = 0, samples: int = 20,
                 verbose: bool = True) -> tuple[Path, bool]:
    """(path, built_now): the cached model, converted first in a child process when missing."""
    if io not in IO_TYPES:
        raise ValueError(f"expected io among {', '.join(IO_TYPES)}, got {io!r}")
    path = model_path(out_dir or default_cache_dir(), alpha=alpha, io=io, seed=seed, samples=samples)
    if path.is_file():
        return path, False
    if verbose:
        print(f"building {path.name} (TensorFlow conversion, once; cached in {path.parent}) ...", file=sys.stderr)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--out", str(path.parent), "--alpha", str(alpha),
           "--io", io, "--seed", str(seed), "--samples", str(samples)]
    # TensorFlow and the converter are chatty; keep their output unless the conversion fails.
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0 or not path.is_file():
        tail = "\n".join(done.stdout.splitlines()[-20:])
        raise RuntimeError(f"expected the model conversion to write {path}, got exit code {done.returncode}:\n{tail}")
    return path, True


def ensure_ir(out_dir: Path | None, *, alpha: float = 1.0, seed: int = 0, samples: int = 20,
              verbose: bool = True) -> tuple[Path, bool]:
    """(path of the .xml, built_now): the cached int8 OpenVINO IR, converted first in a child process when missing."""
    path = ir_path(out_dir or default_cache_dir(), alpha=alpha, seed=seed, samples=samples)
    if path.is_file() and path.with_suffix(".bin").is_file():
        return path, False
    if verbose:
        print(f"building {path.name} (TensorFlow + OpenVINO + NNCF, once; cached in {path.parent}) ...",
              file=sys.stderr)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--format", "openvino-ir", "--out", str(path.parent),
           "--alpha", str(alpha), "--seed", str(seed), "--samples", str(samples)]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0 or not path.is_file():
        tail = "\n".join(done.stdout.splitlines()[-20:])
        raise RuntimeError(f"expected the IR conversion to write {path}, got exit code {done.returncode}:\n{tail}")
    return path, True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=default_cache_dir())
    p.add_argument("--format", choices=FORMATS, default="tflite")
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--io", choices=IO_TYPES, default="uint8", help="tflite only (the IR takes float32 pixels)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=20)
    a = p.parse_args(argv)
    if a.format == "openvino-ir":
        path = ir_path(a.out, alpha=a.alpha, seed=a.seed, samples=a.samples)
        if not (path.is_file() and path.with_suffix(".bin").is_file()):
            build_ir(path, alpha=a.alpha, seed=a.seed, samples=a.samples)
        print(path)
        return 0
    path = model_path(a.out, alpha=a.alpha, io=a.io, seed=a.seed, samples=a.samples)
    if not path.is_file():
        build(path, alpha=a.alpha, io=a.io, seed=a.seed, samples=a.samples)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
