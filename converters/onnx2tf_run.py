"""Run onnx2tf on one ONNX file, in a process of its own: ``python -m edgevision.converters.onnx2tf_run``.

Why a child process: ``import onnx2tf`` sets ``TF_USE_LEGACY_KERAS=1`` in the environment (which
turns ``tf.keras`` into Keras 2 for the rest of a process that also converts Keras 3 models),
its errors end in ``sys.exit(1)``, and it prints to stdout and sets logging globally. None of
that may reach the converter's own process.

onnx2tf fetches 20 sample images from the network to check its layout decisions on a 4-D
image input; nothing may be downloaded here, so the images it checks on are the caller's own
(``--test-data``: preprocessed NHWC float32 tensors, the calibration data), and any network
access it tries fails at once.

Example:
    $ python -m edgevision.converters.onnx2tf_run model.onnx out/saved_model --test-data samples.npy
    {"saved_model": "out/saved_model", "seconds": 2.1, "onnx2tf": "1.29.24"}
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

# The settings Ultralytics' own TFLite export passes (ultralytics/engine/exporter.py, export_saved_model), less
# what writes int8 (edgevision quantises the SavedModel itself, on the user's calibration data).
SETTINGS: dict[str, Any] = {
    "not_use_onnxsim": True,  # onnxsim is not installed (its pins conflict too); the graph is simplified by ORT later
    "verbosity": "error",
    "output_signaturedefs": True,  # the SavedModel's signature keeps the ONNX output names
    "disable_group_convolution": True,  # grouped Conv as split + Conv: TFLite and the Edge TPU map those
    "enable_batchmatmul_unfold": True,
}


def _offline(test_data: Any) -> None:
    """onnx2tf's sample-data download answers with ``test_data``; any other request fails at once."""
    import onnx2tf.onnx2tf as main
    import onnx2tf.utils.common_functions as common

    main.download_test_image_data = lambda: test_data
    common.download_test_image_data = lambda: test_data

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise OSError("edgevision runs onnx2tf offline: nothing is downloaded at run time")

    common.requests.get = no_network


def run(onnx_path: Path, out: Path, test_data_path: Path | None, nhwc_input: str | None = None) -> dict[str, Any]:
    """Convert ``onnx_path`` into the SavedModel directory ``out``; returns what to print.

    ``nhwc_input``: the name of an input that is NHWC already (a TensorFlow model exported by tf2onnx), which
    onnx2tf must keep as it is rather than take for NCHW and transpose.
    """
    import numpy as np

    start = time.perf_counter()
    data = np.load(test_data_path) if test_data_path else np.random.default_rng(0).random((4, 64, 64, 3), np.float32)
    import onnx2tf

    _offline(np.asarray(data, np.float32))
    with contextlib.redirect_stdout(io.StringIO()) as printed:  # TF prints the SavedModel's endpoints
        try:
            keep = {"keep_nwc_or_nhwc_or_ndhwc_input_names": [nhwc_input]} if nhwc_input else {}
            onnx2tf.convert(input_onnx_file_path=str(onnx_path), output_folder_path=str(out), **SETTINGS, **keep)
        except SystemExit as e:  # onnx2tf's errors end in sys.exit(1) after printing the reason
            lines = [line for line in printed.getvalue().splitlines() if line.strip()]
            raise RuntimeError(lines[-1] if lines else f"onnx2tf exited with {e.code}") from None
    if not (out / "saved_model.pb").is_file():
        raise RuntimeError(f"onnx2tf wrote no SavedModel into {out}")
    return {"saved_model": str(out), "seconds": round(time.perf_counter() - start, 2), "onnx2tf": onnx2tf.__version__}


def main(argv: list[str] | None = None) -> int:
    """The command line: prints one JSON line on success; one error line on stderr and exit 1 otherwise."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("onnx", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--test-data", type=Path, help="a .npy of NHWC float32 input tensors (N, H, W, C)")
    p.add_argument("--nhwc-input", help="the name of an input that is NHWC already (kept, not transposed)")
    args = p.parse_args(argv)
    try:
        print(json.dumps(run(args.onnx, args.out, args.test_data, args.nhwc_input)))
    except Exception as e:  # noqa: BLE001 - onnx2tf raises anything; the parent turns this line into a typed error
        text = " ".join(str(e).split()) or type(e).__name__
        print(f"onnx2tf: {type(e).__name__}: {text[:400]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
