"""Quickstart: train a tiny shape classifier, export it for four targets, bundle it, run the bundle.

Nothing is downloaded: the images come from ``edgevision.synthetic`` and the model is trained
here in about twenty seconds. Run it from the repository root after ``pip install -e ".[all]"``::

    python examples/quickstart.py            # writes out/quickstart/{samples,export,bundle}

Steps (each a small function, so a later version can swap in the converter stage):

1. sample images: 640x480 synthetic scenes with one shape each, saved as PNG;
2. train a small Keras classifier on 96x96 scenes (circle / square / triangle);
3. export it with plain library calls: fp32 and int8 .tflite, OpenVINO IR, ONNX;
4. write one bundle with an artifact per target (cpu, rpi5, intel-cpu, jetson-orin);
5. load the bundle for each target and run the samples: accuracy and median latency;
6. run the same bundle through the CLI: ``edgevision run out/quickstart/bundle --source ...``.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

import numpy as np

import edgevision
from edgevision.bundle import Artifact, Manifest, sha256_file, write_bundle
from edgevision.decode import decoder_config
from edgevision.preprocess import InputFormat
from edgevision.synthetic import SHAPE_LABELS, shapes_scene

SIZE = 96  # model input side
SAMPLE_SIZE = (640, 480)  # (w, h) of the sample images, like a camera frame
SHAPE = {"n_shapes": 1, "min_radius": 0.2, "max_radius": 0.4}  # one large shape per image
# The model takes floats in [0, 1]: (pixel - 0) / 255. The int8 artifact's uint8 input has scale
# 1/255 and zero point 0, so the same normalisation reduces to a plain copy of the pixels there.
INPUT = InputFormat(resize="stretch", mean=(0.0, 0.0, 0.0), std=(255.0, 255.0, 255.0))
TARGETS = ("cpu", "rpi5", "intel-cpu", "jetson-orin")


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


@contextlib.contextmanager
def quiet_stdout():
    """Hide the converters' chatter on stdout (Keras prints every SavedModel signature); stderr stays."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


# -- 1. data -----------------------------------------------------------------------------------
def write_samples(directory: Path, *, count: int = 8, seed: int = 2024) -> list[tuple[Path, int]]:
    """``count`` 640x480 PNGs with one shape each; returns (path, true class id) pairs."""
    import cv2

    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        scene = shapes_scene(rng, SAMPLE_SIZE, **SHAPE)
        label = int(scene.classes[0])
        path = directory / f"{i:02d}_{SHAPE_LABELS[label]}.png"
        if not cv2.imwrite(str(path), cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {path}")
        samples.append((path, label))
    return samples


def training_data(count: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 [0, 1] Nx96x96x3, class ids) of single-shape scenes."""
    rng = np.random.default_rng(seed)
    scenes = [shapes_scene(rng, (SIZE, SIZE), **SHAPE) for _ in range(count)]
    images = np.stack([s.image for s in scenes]).astype(np.float32) / 255.0
    return images, np.array([int(s.classes[0]) for s in scenes], np.int64)


# -- 2. model ----------------------------------------------------------------------------------
def train_classifier(x: np.ndarray, y: np.ndarray, *, epochs: int = 8, seed: int = 7) -> Any:
    """A small CNN trained on (x, y); returned with a fixed [1, 96, 96, 3] input for export."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((SIZE, SIZE, 3), name="images")
    h = inp
    for filters in (16, 32, 48):
        h = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = keras.layers.Dense(len(SHAPE_LABELS), activation="softmax", name="scores")(h)
    net = keras.Model(inp, out)
    net.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    net.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
    fixed = keras.Input((SIZE, SIZE, 3), batch_size=1, name="images")
    return keras.Model(fixed, net(fixed), name="shapes")


def keras_accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of the Keras model (run batch-free through its inner network)."""
    inner = model.layers[-1]
    return float((inner.predict(x, batch_size=64, verbose=0).argmax(-1) == y).mean())


# -- 3. export ---------------------------------------------------------------------------------
def export_tflite(model: Any, path: Path) -> Path:
    import tensorflow as tf

    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def export_tflite_int8(model: Any, path: Path, calibration: np.ndarray) -> Path:
    """Full-integer int8 with uint8 input and output, calibrated on ``calibration`` images."""
    import tensorflow as tf

    def representative():
        for image in calibration:
            yield [image[None]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.uint8
    with warnings.catch_warnings():  # the uint8 input's range comes from the calibration data: expected
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        path.write_bytes(conv.convert())
    return path


def export_openvino(model: Any, xml: Path) -> list[Path]:
    """OpenVINO IR (fp32 weights) from a SavedModel; returns [.xml, .bin]."""
    import openvino as ov

    saved = xml.with_name(f"{xml.stem}_savedmodel")
    model.export(str(saved), verbose=False)
    ov.save_model(ov.convert_model(str(saved), input=[1, SIZE, SIZE, 3]), str(xml), compress_to_fp16=False)
    return [xml, xml.with_suffix(".bin")]


def export_onnx(model: Any, path: Path) -> Path:
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((1, SIZE, SIZE, 3), tf.float32, name="images"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    path.write_bytes(proto.SerializeToString())
    return path


def export_all(model: Any, directory: Path, calibration: np.ndarray) -> dict[str, list[Path]]:
    """{"fp32": [...], "int8": [...], "openvino": [xml, bin], "onnx": [...]}; also saves shapes.keras."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / "shapes.keras")  # the source model, recorded (name and sha256) in the manifest
    with quiet_stdout():
        return {
            "fp32": [export_tflite(model, directory / "shapes_fp32.tflite")],
            "int8": [export_tflite_int8(model, directory / "shapes_int8.tflite", calibration)],
            "openvino": export_openvino(model, directory / "shapes.xml"),
            "onnx": [export_onnx(model, directory / "shapes.onnx")],
        }


def artifact_accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of one exported file, run through edgevision on the held-out images."""
    model = edgevision.load(path, task="classification", labels=list(SHAPE_LABELS),
                            resize="stretch", mean=INPUT.mean, std=INPUT.std)
    pixels = np.rint(x * 255).astype(np.uint8)
    hits = [int(model.predict(img).class_id[0]) == label for img, label in zip(pixels, y)]
    return float(np.mean(hits))


# -- 4. bundle ---------------------------------------------------------------------------------
def make_bundle(dest: Path, source: Path, exports: dict[str, list[Path]], fidelity: dict[str, dict]) -> Path:
    """One bundle: cpu and rpi5 share the int8 .tflite; intel-cpu gets the IR; jetson-orin the ONNX."""
    import openvino as ov
    import tensorflow as tf
    import tf2onnx

    tflite_conv = {"tool": "tensorflow", "version": tf.__version__}
    int8 = Artifact(file=exports["int8"][0].name, format="tflite", precision="int8",
                    converter=tflite_conv, fidelity=fidelity["int8"])
    artifacts = {
        "cpu": int8,
        "rpi5": dataclasses.replace(int8),
        "intel-cpu": Artifact(file=exports["openvino"][0].name, format="openvino-ir", precision="fp32",
                              converter={"tool": "openvino", "version": ov.get_version()},
                              fidelity=fidelity["openvino"]),
        "jetson-orin": Artifact(file=exports["onnx"][0].name, format="onnx", precision="fp32",
                                converter={"tool": "tf2onnx", "version": tf2onnx.__version__},
                                fidelity=fidelity["onnx"]),
    }
    manifest = Manifest(task="classification", decoder=decoder_config("classification", {"top_k": 3}),
                        labels=list(SHAPE_LABELS), input=INPUT, artifacts=artifacts, name="quickstart-shapes",
                        source={"file": source.name, "sha256": sha256_file(source), "format": "keras"})
    files = {p.name: p for key in ("int8", "openvino", "onnx") for p in exports[key]}
    return write_bundle(dest, manifest, files, overwrite=True)


# -- 5. run ------------------------------------------------------------------------------------
def run_target(bundle: Path, target: str, samples: list[tuple[Path, int]], *, repeats: int = 5) -> dict:
    """Load the bundle for ``target``, run every sample; accuracy and median inference latency."""
    from edgevision.sources import read_image

    model = edgevision.load(bundle, target=target)
    images = [(read_image(p), label) for p, label in samples]
    model.predict(images[0][0])  # warm-up: first inference is slower on every runtime
    hits, infer_ms, total_ms = 0, [], []
    for image, label in images:
        for _ in range(repeats):
            result = model.predict(image)
            infer_ms.append(1000 * model.timings.infer)
            total_ms.append(1000 * sum(model.timings))
        hits += int(result.class_id[0]) == label
    info = model.info()
    return {"target": target, "backend": info["backend"], "artifact": info["artifact"],
            "accuracy": hits / len(images), "infer_ms": statistics.median(infer_ms),
            "total_ms": statistics.median(total_ms), "runs": len(infer_ms)}


def print_runs(rows: list[dict]) -> None:
    print(f"{'target':<12} {'artifact':<20} {'runtime':<22} {'device':<6} {'threads':>7} "
          f"{'top-1':>6} {'infer ms':>9} {'total ms':>9}")
    for r in rows:
        be = r["backend"]
        runtime = f"{be['backend']} {str(be['version']).split('-')[0]}"
        extra = f"  providers: {', '.join(be['providers'])}" if be.get("providers") else ""
        print(f"{r['target']:<12} {Path(r['artifact']['file']).name:<20} {runtime:<22} {be['device']:<6} "
              f"{be.get('threads')!s:>7} {r['accuracy']:>6.0%} {r['infer_ms']:>9.3f} {r['total_ms']:>9.3f}{extra}")
    print(f"(median of {rows[0]['runs']} runs per target after one warm-up; total = preprocess + infer + decode "
          f"on a 640x480 frame)")


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/quickstart"), help="output directory")
    parser.add_argument("--samples", type=int, default=8, help="sample images to write and run")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    step(f"1/6 writing {args.samples} sample images ({SAMPLE_SIZE[0]}x{SAMPLE_SIZE[1]}, one shape each)")
    samples = write_samples(args.out / "samples", count=args.samples)
    print(f"{args.out / 'samples'}: " + ", ".join(SHAPE_LABELS[c] for _, c in samples))

    step("2/6 training a small Keras classifier on synthetic 96x96 shapes")
    t = time.perf_counter()
    x_train, y_train = training_data(2400, seed=0)
    x_test, y_test = training_data(300, seed=1)
    model = train_classifier(x_train, y_train, epochs=args.epochs)
    accuracy = keras_accuracy(model, x_test, y_test)
    print(f"trained on {len(x_train)} images in {time.perf_counter() - t:.1f} s; "
          f"held-out top-1 accuracy {accuracy:.1%} ({len(x_test)} images)")
    if accuracy < 0.85:
        print(f"error: expected held-out accuracy of at least 85%, got {accuracy:.1%}", file=sys.stderr)
        return 1

    step("3/6 exporting: fp32 .tflite, int8 .tflite (uint8 in/out), OpenVINO IR, ONNX")
    t = time.perf_counter()
    exports = export_all(model, args.out / "export", calibration=x_train[:200])
    print(f"exported in {time.perf_counter() - t:.1f} s; held-out accuracy through edgevision:")
    fidelity = {}
    for key in ("fp32", "int8", "openvino", "onnx"):
        acc = artifact_accuracy(exports[key][0], x_test, y_test)
        fidelity[key] = {"top1_accuracy": round(acc, 4), "reference_top1_accuracy": round(accuracy, 4),
                         "images": len(x_test)}
        size = sum(p.stat().st_size for p in exports[key])
        print(f"  {exports[key][0].name:<20} {size / 1024:8.1f} KiB  top-1 {acc:.1%}")

    step("4/6 writing the bundle")
    bundle = make_bundle(args.out / "bundle", args.out / "export" / "shapes.keras", exports, fidelity)
    print(f"{bundle}: " + ", ".join(sorted(p.name for p in bundle.iterdir())))

    step("5/6 running the bundle for each target on the samples")
    print_runs([run_target(bundle, target, samples) for target in TARGETS])

    step("6/6 the same from the command line")
    argv_cli = ["run", str(bundle), "--source", str(args.out / "samples")]
    print("$ edgevision " + " ".join(argv_cli), flush=True)
    from edgevision.cli import main as cli_main

    code = cli_main(argv_cli)
    sys.stdout.flush()
    if code != 0:
        print(f"error: edgevision run exited with {code}", file=sys.stderr)
        return code
    print(f"\ndone in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
