"""Per-layer quantisation error: which layers of an int8 artifact lose most, measured by each toolkit's own means.

Every entry compares a layer's int8 output (dequantised) with the float model's output of the same
layer on the same calibration images, as the signal-to-quantisation-noise ratio in dB (``sqnr_db``:
``10 log10(sum x^2 / sum (x - q)^2)``, higher is better; 20 dB is a noise a tenth of the signal's
amplitude). A layer's figure includes the error of the layers before it. The report lists the
worst layers first; the manifest keeps it in the artifact's ``report.layers`` and ``convert --json``
prints it.

- TFLite / Edge TPU: TensorFlow's ``tf.lite.experimental.QuantizationDebugger`` (the NumericVerify
  ops it compiles in compare each quantised tensor with its float twin);
- ONNX QDQ: ONNX Runtime's ``quantization.qdq_loss_debug`` (the QDQ model and the float one with
  every activation made an output);
- OpenVINO: the float and the NNCF model each with every Convolution/MatMul/Add/Multiply output made
  a result, matched by the friendly names NNCF keeps.

Example:
    >>> report = tflite_layers(job)                              # doctest: +SKIP
    >>> report["worst"][0]["layer"], report["worst"][0]["sqnr_db"] # doctest: +SKIP
    ('model/head/BiasAdd', 14.2)
"""
from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import numpy as np

SAMPLES = 16  # calibration images the float and int8 layers are compared on
SHOWN = 12  # layers kept in the report (the worst)


def sqnr_db(reference: Sequence[np.ndarray] | np.ndarray, got: Sequence[np.ndarray] | np.ndarray) -> float:
    """Signal-to-quantisation-noise ratio in dB of ``got`` against ``reference`` (inf when they are equal; NaN for
    integer tensors, or values that are not finite: left out of the report).

    >>> round(sqnr_db(np.array([1.0, -1.0]), np.array([1.1, -0.9])), 1)
    20.0
    """
    refs = [np.asarray(r) for r in (reference if isinstance(reference, list) else [reference])]
    gots = [np.asarray(g) for g in (got if isinstance(got, list) else [got])]
    if any(a.dtype.kind != "f" for a in refs):  # indices, masks, shapes: no quantisation noise to speak of
        return float("nan")
    with np.errstate(all="ignore"):
        ref = np.concatenate([a.astype(np.float64).ravel() for a in refs])
        out = np.concatenate([a.astype(np.float64).ravel() for a in gots])
        noise = float(np.sum((ref - out) ** 2))
        signal = float(np.sum(ref ** 2))
    if not np.isfinite(noise) or not np.isfinite(signal):
        return float("nan")
    if noise == 0:
        return float("inf")
    return 10.0 * float(np.log10(max(signal, 1e-30) / noise))


def summarise(rows: list[dict[str, Any]], tool: str, samples: int) -> dict[str, Any]:
    """The report: the ``SHOWN`` worst layers (lowest SQNR) and how many were measured.

    >>> summarise([{"layer": "a", "sqnr_db": 30.0}, {"layer": "b", "sqnr_db": 12.5}], "x", 4)["worst"][0]["layer"]
    'b'
    """
    finite = [r for r in rows if np.isfinite(r["sqnr_db"])]
    worst = sorted(finite, key=lambda r: r["sqnr_db"])[:SHOWN]
    return {"metric": "sqnr_db", "tool": tool, "samples": samples, "layers_measured": len(rows),
            "worst": [{**r, "sqnr_db": round(float(r["sqnr_db"]), 2)} for r in worst]}


def _samples(calibration: Iterable[np.ndarray]) -> list[np.ndarray]:
    return list(islice(iter(calibration), SAMPLES))


def tflite_layers(job: Any, *, float_layers: Sequence[str] = ()) -> tuple[dict[str, Any], bytes | None]:
    """The per-layer report of the TFLite int8 build of ``job`` (its source a Keras/SavedModel one), and with
    ``float_layers`` the selectively quantised model that keeps those layers in float (else None).

    Example:
        >>> report, _ = tflite_layers(job)                   # doctest: +SKIP
    """
    import tensorflow as tf

    from .tflite import build_converter

    conv, _ = build_converter(job.source, "int8", calibration=job.calibration, io_dtype=job.options.io_dtype)
    samples = _samples(job.calibration)

    def dataset() -> Iterable[list[np.ndarray]]:
        for s in samples:
            yield [s]

    def compare(floats: Sequence[np.ndarray], quants: Sequence[np.ndarray], scale: float, zero_point: int) -> float:
        return sqnr_db(list(floats), [(np.asarray(q, np.float32) - zero_point) * scale for q in quants])

    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_direct_compare_metrics={"sqnr_db": compare}, denylisted_nodes=list(float_layers) or None,
        fully_quantize=True)
    with warnings.catch_warnings():
        # The debugger runs TF's own tf.lite.Interpreter, which warns at every construction that it is deprecated
        # (edgevision's runtime uses ai-edge-litert): TensorFlow's chatter, not the user's concern.
        warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated", category=UserWarning)
        debugger = tf.lite.experimental.QuantizationDebugger(converter=conv, debug_dataset=dataset,
                                                             debug_options=options)
        debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    rows = [{"layer": r["tensor_name"], "op": r["op_name"], "sqnr_db": float(r["sqnr_db"])}
            for r in csv.DictReader(io.StringIO(dump.getvalue()))]
    report = summarise(rows, "tf.lite.experimental.QuantizationDebugger", len(samples))
    model = debugger.get_nondebug_quantized_model() if float_layers else None
    return report, model


def onnx_layers(float_model: Any, quantized: Any, calibration: Iterable[np.ndarray], input_name: str,
                workdir: Any) -> dict[str, Any]:
    """The per-layer report of a QDQ model against its float model (ONNX Runtime's qdq_loss_debug).

    Example:
        >>> onnx_layers(fp32_model, qdq_model, job.calibration, "images", tmp)   # doctest: +SKIP
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader
    from onnxruntime.quantization.qdq_loss_debug import (
        collect_activations,
        compute_activation_error,
        create_activation_matching,
        modify_model_output_intermediate_tensors,
    )

    samples = _samples(calibration)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter([{input_name: s} for s in samples])

        def get_next(self) -> Any:
            return next(self._feeds, None)

    paths = {}
    for name, model in (("float", float_model), ("qdq", quantized)):
        onnx.save(model, str(workdir / f"{name}.onnx"))
        modify_model_output_intermediate_tensors(str(workdir / f"{name}.onnx"), str(workdir / f"{name}_all.onnx"))
        paths[name] = str(workdir / f"{name}_all.onnx")
    float_acts = collect_activations(paths["float"], Reader(), execution_providers=["CPUExecutionProvider"])
    qdq_acts = collect_activations(paths["qdq"], Reader(), execution_providers=["CPUExecutionProvider"])
    matched = create_activation_matching(qdq_acts, float_acts)
    errors = compute_activation_error(matched)
    # A tensor stays float when the weighted nodes that read it (the ones QDQ quantises the inputs of) are excluded.
    readers: dict[str, list[str]] = {}
    for node in float_model.graph.node:
        if node.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            for i in node.input:
                readers.setdefault(i, []).append(node.name)
    rows = [{"layer": name, "sqnr_db": float(err["xmodel_err"]), "nodes": readers.get(name, [])}
            for name, err in errors.items() if "xmodel_err" in err]
    return summarise(rows, "onnxruntime.quantization.qdq_loss_debug", len(samples))


OV_MEASURED = ("Convolution", "GroupConvolution", "MatMul", "Add", "Multiply", "Sigmoid", "Concat")


def openvino_layers(float_model: Any, quantized: Any, calibration: Iterable[np.ndarray]) -> dict[str, Any]:
    """The per-layer report of an NNCF model against its float model (outputs of the ops NNCF names alike).

    Example:
        >>> openvino_layers(read_source(job.source), quantized, job.calibration)   # doctest: +SKIP
    """
    import openvino as ov

    samples = _samples(calibration)
    models = {"float": float_model.clone(), "int8": quantized.clone()}
    ops = {k: {op.get_friendly_name(): op for op in m.get_ordered_ops() if op.get_type_name() in OV_MEASURED}
           for k, m in models.items()}
    names = [n for n in ops["float"] if n in ops["int8"]]
    core = ov.Core()
    results = {}
    for key, model in models.items():
        probe = ov.Model([ops[key][n].output(0) for n in names], model.get_parameters(), f"layers-{key}")
        compiled = core.compile_model(probe, "CPU")
        collected: dict[str, list[np.ndarray]] = {n: [] for n in names}
        for s in samples:
            got = compiled(s)
            for i, n in enumerate(names):
                collected[n].append(np.asarray(got[i]))
        results[key] = collected
    rows = [{"layer": n, "sqnr_db": sqnr_db(results["float"][n], results["int8"][n])} for n in names]
    return summarise(rows, "openvino: float vs NNCF outputs per op", len(samples))
