"""Any source OpenVINO reads -> OpenVINO IR (``.xml`` + ``.bin``) at fp32, fp16 or NNCF int8.

OpenVINO's frontends read SavedModel, ONNX, TFLite and TF1 frozen graphs
directly (a Keras source goes through its SavedModel export), so there is one
path: :func:`read_source` -> (int8: :func:`quantize`) -> :func:`save_ir`.

int8 settings, and the measurements behind them, are in ``openvino_nncf.py``.

Example:
    >>> from edgevision.converters import get_converter              # doctest: +SKIP
    >>> out = get_converter("openvino-ir").convert(job)              # doctest: +SKIP
    >>> out.file.name, [p.name for p in out.extra_files]             # doctest: +SKIP
    ('classifier_intel-npu_int8.xml', ['classifier_intel-npu_int8.bin'])
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConversionError, ModelError, ModelFileError
from .base import Converter, ConvertJob, ConvertOutput, SourceModel, check_job

TOOL = "openvino.convert_model"


def read_source(source: SourceModel) -> Any:
    """The source as an ``ov.Model`` with its input shape set to ``source.input_shape`` (-1: dynamic).

    Example:
        >>> model = read_source(job.source)                 # doctest: +SKIP
        >>> model.inputs[0].get_partial_shape()             # doctest: +SKIP
        <PartialShape: [1,64,64,3]>
    """
    import openvino as ov
    from openvino.tools.ovc.error import Error as OVCError

    shape = [d if isinstance(d, int) and d > 0 else -1 for d in source.input_shape]
    key = ("openvino", tuple(shape))
    if key in source._cache:  # one read per source, as keras() and saved_model() do; NNCF gets its own copy
        return source._cache[key].clone()
    if source.kind == "keras":
        path = keras_saved_model(source)
    else:
        path = source.path
        if not path.exists():
            raise ModelFileError(f"expected a {source.kind} model at {str(path)!r}, got a missing path")
        if source.kind == "tflite":  # verify the flatbuffer before OpenVINO's parser sees it
            from ..formats.tflite import read_tflite

            read_tflite(path)
    try:
        model = ov.convert_model(str(path), input=[shape])
    except OVCError as e:
        line = " ".join(str(e).split())
        if "Cannot recognize input model" in line:
            raise ModelFileError(f"expected a {source.kind} model OpenVINO can read, got {path.name}") from None
        raise ConversionError(f"expected {TOOL} to read {path.name}, got: {line[:300]}") from None
    except (RuntimeError, ov.frontend.OpConversionFailure, ov.frontend.GeneralFailure,
            ov.frontend.NotImplementedFailure) as e:
        from edgevision.backends.openvino import error_line

        raise ConversionError(f"expected {TOOL} to convert {path.name}, got: {error_line(e)}") from None
    if len(model.inputs) != 1:
        raise ModelError(f"expected a model with one image input, got {len(model.inputs)} inputs "
                         f"({', '.join(p.get_any_name() for p in model.inputs)})")
    from .quantised_io import float_io

    model = float_io(model, source)  # a quantised .tflite: float input and outputs, its quantisation inside
    source._cache[key] = model
    return model.clone()


def keras_saved_model(source: SourceModel) -> Path:
    """The SavedModel export of a Keras source (made once, cached by the source).

    Example:
        >>> keras_saved_model(job.source).name              # doctest: +SKIP
        'saved_model'
    """
    source.keras()  # a typed error if Keras cannot load it
    return source.saved_model()


def save_ir(model: Any, outdir: Path, stem: str, *, compress_to_fp16: bool,
            shape: Sequence[Any]) -> tuple[Path, Path]:
    """Write ``<stem>.xml`` and ``<stem>.bin`` into ``outdir`` atomically; return their paths.

    Both are written into a hidden temporary folder first (the .xml names its .bin,
    so they must be saved under their final names), read back to check the input
    ``shape``, and moved once complete.

    Example:
        >>> xml, bin_ = save_ir(model, Path("out"), "m", compress_to_fp16=True, shape=(1, 64, 64, 3))  # doctest: +SKIP
    """
    import openvino as ov

    tmp = outdir / f".{stem}.openvino.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        ov.save_model(model, str(tmp / f"{stem}.xml"), compress_to_fp16=compress_to_fp16)
        _verify(tmp / f"{stem}.xml", shape)
        xml, bin_ = outdir / f"{stem}.xml", outdir / f"{stem}.bin"
        os.replace(tmp / bin_.name, bin_)
        os.replace(tmp / xml.name, xml)  # the .xml last: a reader never finds it without its weights
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return xml, bin_


def _verify(xml: Path, shape: Sequence[Any]) -> None:
    import openvino as ov

    model = ov.Core().read_model(str(xml))
    got = [d.get_length() if d.is_static else -1 for d in model.inputs[0].get_partial_shape()]
    want = [d if isinstance(d, int) and d > 0 else -1 for d in shape]
    if got != want:
        raise ConversionError(f"expected the IR input shape {want}, got {got} in {xml.name}")


class OpenVINOConverter(Converter):
    """OpenVINO IR for Intel NPU, CPU and GPU: fp32, fp16 (weights compressed), int8 (NNCF).

    Options (int8 only): ``preset``, ``range_estimator``, ``fast_bias_correction``, ``float_head``,
    ``model_type``, ``ignored_scope`` — see :func:`edgevision.converters.openvino_nncf.quantize`.
    """

    format = "openvino-ir"
    precisions = ("fp32", "fp16", "int8")
    sources = ("keras", "savedmodel", "onnx", "tf-frozen", "tflite")

    def convert(self, job: ConvertJob) -> ConvertOutput:
        check_job(job, self.precisions, self.format)
        if job.source.kind not in self.sources:
            raise ConversionError(f"expected a source among {', '.join(self.sources)}, got {job.source.kind!r}")
        import openvino as ov

        job.log(f"openvino: reading {job.source.path.name} ({job.source.kind}) at {tuple(job.source.input_shape)}")
        model = read_source(job.source)
        shape = [d if isinstance(d, int) and d > 0 else -1 for d in job.source.input_shape]
        info: dict[str, Any] = {"tool": TOOL, "version": ov.__version__, "input_shape": shape}
        if job.precision == "int8":
            import nncf

            from .openvino_nncf import quantize

            model, settings = quantize(model, job)
            info.update(tool=f"{TOOL} + nncf.quantize", nncf_version=nncf.__version__, **settings)
            # Weights NNCF left in float follow the target (fp16 for the NPU); int8 ones stay int8.
            compress = bool(job.target.compiler.compress_to_fp16)
        else:
            compress = job.precision == "fp16"
        info["compress_to_fp16"] = compress
        xml, bin_ = save_ir(model, job.outdir, job.stem, compress_to_fp16=compress, shape=job.source.input_shape)
        return ConvertOutput(file=xml, format=self.format, precision=job.precision, converter=info,
                             extra_files=[bin_])
