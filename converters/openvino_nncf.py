"""NNCF post-training int8 for OpenVINO IR: the settings chosen, and what they were chosen on.

Choices measured on the test classifier, YOLO head and segmenter
(see ``tests/converters/test_openvino.py``):

* activation ranges from the plain min/max over the calibration set. NNCF's
  default for per-tensor activations (mean of per-sample min/max) clipped the
  [0, 1] image input to [0, 0.85] and cost 0.4 px of box error and 0.06 of class
  score on the YOLO head (min/max: 0.02 px, 0.004), 98.3 % vs 99.6 % segmentation
  pixel agreement;
* full (not fast) bias correction: 99.95 % vs 99.6 % pixel agreement, at a cost
  in conversion time only;
* the overflow fix (weights at 7 bits) only where it is needed: CPUs without
  VNNI. NPU, GPU and Sapphire Rapids do not saturate, so there it is off;
* the weighted ops nearest the outputs stay float (:func:`head_ops`).

Example:
    >>> q, settings = quantize(read_source(job.source), job)   # doctest: +SKIP
    >>> settings["range_estimator"], settings["float_head"]     # doctest: +SKIP
    ('minmax', True)
"""
from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

from ..errors import ConversionError
from .base import ConvertJob

PRESETS = ("performance", "mixed")  # nncf.QuantizationPreset values
RANGE_ESTIMATORS = ("minmax", "mean_minmax")  # activation ranges: plain min/max, or NNCF's default
# NNCF devices whose int8 kernels do not saturate (VNNI, AMX, DPAS): no need to give up a weight bit there.
NO_OVERFLOW_DEVICES = ("NPU", "GPU", "CPU_SPR")
WEIGHTED_OPS = ("Convolution", "GroupConvolution", "ConvolutionBackpropData", "MatMul")


def head_ops(model: Any) -> list[str]:
    """Names of the weighted ops nearest the outputs: the last Convolution/MatMul on every path to a Result.

    They stay float (fp16 on the NPU) in int8 models: a detection head amplifies its
    input's quantisation error into box pixels (wh = 4 + 40 * sigmoid(h) moves 10 px per
    unit of h). On a small trained YOLO-layout detector (mAP@0.5 0.661 in fp32) int8 gave
    0.637 with the head quantised, 0.646 with it float; one 1x1 convolution costs little.

    Example:
        >>> head_ops(read_source(job.source))               # doctest: +SKIP
        ['Convolution_62']
    """
    found: list[str] = []
    seen: set[str] = set()
    stack = list(model.get_results())
    while stack:
        op = stack.pop()
        for i in range(op.get_input_size()):
            node = op.input_value(i).get_node()
            name = node.get_friendly_name()
            if name in seen:
                continue
            seen.add(name)
            if node.get_type_name() in WEIGHTED_OPS:
                found.append(name)
            else:
                stack.append(node)
    return found


def quantize(model: Any, job: ConvertJob) -> tuple[Any, dict[str, Any]]:
    """NNCF post-training int8 of ``model`` on ``job.calibration``; returns the model and the settings used.

    ``job.options`` may set ``preset`` ("performance": symmetric, the default; "mixed":
    asymmetric activations), ``range_estimator`` ("minmax", default; "mean_minmax": NNCF's
    outlier-robust default, for large calibration sets), ``fast_bias_correction``
    (default False), ``float_head`` (default True: see :func:`head_ops`), ``model_type``
    ("transformer") and ``ignored_scope`` (more node names to keep in float).

    Example:
        >>> q, settings = quantize(read_source(job.source), job)   # doctest: +SKIP
        >>> settings["target_device"], settings["preset"]    # doctest: +SKIP
        ('NPU', 'performance')
    """
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    assert job.calibration is not None  # check_job ran first; narrows the type
    opts = job.options
    device = str(job.target.compiler.nncf_target_device or "ANY").upper()
    preset, ranges = opts.preset, opts.range_estimator
    if device not in nncf.TargetDevice.__members__:
        raise ConversionError(f"expected an NNCF target device among {', '.join(nncf.TargetDevice.__members__)}, "
                              f"got {device!r} in target {job.target.id}")
    if preset not in PRESETS:
        raise ConversionError(f"expected option preset among {', '.join(PRESETS)}, got {preset!r}")
    if ranges not in RANGE_ESTIMATORS:
        raise ConversionError(f"expected option range_estimator among {', '.join(RANGE_ESTIMATORS)}, got {ranges!r}")
    overflow = OverflowFix.DISABLE if device in NO_OVERFLOW_DEVICES else OverflowFix.FIRST_LAYER
    fast_bc = opts.fast_bias_correction
    ignored = list(opts.ignored_scope) + [n for n in opts.float_layers if n not in opts.ignored_scope]
    float_head = opts.float_head is not False
    if float_head:
        ignored += [n for n in head_ops(model) if n not in ignored]
    settings: dict[str, Any] = {
        "target_device": device, "preset": preset, "range_estimator": ranges, "overflow_fix": overflow.value,
        "fast_bias_correction": fast_bc, "float_head": float_head, "calibration_samples": len(job.calibration),
        "calibration_origin": job.calibration.origin,
    }
    if opts.float_layers:
        settings["float_layers"] = list(opts.float_layers)
    kwargs: dict[str, Any] = {}
    if opts.model_type:
        if opts.model_type not in [t.value for t in nncf.ModelType]:
            raise ConversionError(f"expected option model_type among {', '.join(t.value for t in nncf.ModelType)}, "
                                  f"got {opts.model_type!r}")
        kwargs["model_type"] = nncf.ModelType(opts.model_type)
        settings["model_type"] = opts.model_type
    if ignored:
        kwargs["ignored_scope"] = nncf.IgnoredScope(names=ignored)
        settings["ignored_scope"] = ignored
    advanced = AdvancedQuantizationParameters(
        overflow_fix=overflow,
        activations_range_estimator_params=getattr(RangeEstimatorParametersSet, ranges.upper()))
    nncf.set_log_level(logging.ERROR)  # its INFO lines are for NNCF developers; what matters is in `settings`
    job.log(f"openvino: nncf.quantize on {len(job.calibration)} samples for {device} ({preset}, {ranges} ranges)")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF's progress bars: stdout stays the CLI's own
            quantized = nncf.quantize(model, nncf.Dataset(list(job.calibration)),
                                      preset=nncf.QuantizationPreset(preset),
                                      target_device=nncf.TargetDevice[device], subset_size=len(job.calibration),
                                      fast_bias_correction=fast_bc, advanced_parameters=advanced, **kwargs)
    except (nncf.ValidationError, nncf.InternalError, nncf.UnsupportedModelError, RuntimeError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ConversionError(f"expected nncf.quantize to quantise {job.source.path.name}, got: {first}") from None
    return quantized, settings
