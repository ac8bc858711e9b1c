"""The one interface every converter sits behind, and the job it is handed.

A converter turns one source model into one artifact format at one precision.
It is chosen by format through the catalogue (``FormatSpec.converter``, a table,
not an if-chain), imports its heavy dependencies inside ``convert``, and writes
only into ``job.outdir`` (a temporary directory the caller moves into place
when every artifact is complete).

Example:
    >>> from edgevision.converters import get_converter     # doctest: +SKIP
    >>> out = get_converter("tflite").convert(job)          # doctest: +SKIP
    >>> out.file.name, out.precision                        # doctest: +SKIP
    ('model_rpi5_int8.tflite', 'int8')
"""
from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ConversionError, UserInputError
from ..targets import Target

SOURCE_KINDS = ("keras", "savedmodel", "onnx", "tf-frozen", "tflite")


@dataclass
class SourceModel:
    """The model a user hands to ``edgevision convert``, with its input pinned to a static batch-1 shape.

    ``input_shape`` is in the layout the model takes (``layout`` says which);
    the ``keras()`` and ``saved_model()`` accessors load or export once and
    cache, so several converters share the work.
    """

    path: Path
    kind: str  # one of SOURCE_KINDS
    input_name: str
    input_shape: tuple[int, ...]  # static, batch 1, e.g. (1, 224, 224, 3)
    layout: str  # "NHWC" or "NCHW"
    output_names: tuple[str, ...]
    workdir: Path  # scratch space for derived forms of the source (not part of the bundle)
    dynamic: bool = False  # the file itself declares a dynamic input shape (input_shape came from a flag)
    input_dtype: str = "float32"  # "uint8" for TF OD API image_tensor inputs, "int8"/"uint8" for a quantised .tflite
    input_quant: tuple[float, int] | None = None  # (scale, zero point) of a quantised .tflite input
    # {output name: constant} lifted out of the outputs (converters/offsets.py): the artifact carries them
    output_offsets: dict = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    def keras(self) -> Any:
        """The Keras model (kind ``keras`` only), loaded once; ConversionError saying why Keras could not load it."""
        if self.kind != "keras":
            raise TypeError(f"expected a Keras source, got {self.kind}")
        if "keras" not in self._cache:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # only effective before TensorFlow's first import
            import keras

            try:
                self._cache["keras"] = keras.models.load_model(self.path, compile=False)
            except (TypeError, ValueError, OSError) as e:
                text = " ".join(str(e).split())
                # Keras buries the useful part ("Could not locate class 'Head'") under a generic first sentence.
                found = re.search(r"Could not locate class '([^']+)'", text)
                if found:
                    raise ConversionError(f"expected every custom layer of {self.path.name} to be registered, got "
                                          f"unregistered class {found.group(1)!r}: decorate it with "
                                          "@keras.saving.register_keras_serializable() and import it before "
                                          "converting") from e
                raise ConversionError(f"expected a loadable Keras model in {self.path.name}, got: {text[:200]}") from e
        return self._cache["keras"]

    def saved_model(self) -> Path:
        """A SavedModel directory of the source (kinds ``keras`` and ``savedmodel``), exported once."""
        if self.kind == "savedmodel":
            return self.path
        if "saved_model" not in self._cache:
            out = self.workdir / "saved_model"
            self.keras().export(str(out), verbose=False)
            self._cache["saved_model"] = out
        return self._cache["saved_model"]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the input."""
        h, w = (self.input_shape[1], self.input_shape[2]) if self.layout == "NHWC" else self.input_shape[2:4]
        return int(w), int(h)


class Calibration:
    """Representative input tensors: float32, ``source.input_shape``, preprocessed as the runtime does.

    Iterating yields one batch-1 array at a time; ``len()`` is the sample count.
    """

    def __init__(self, samples: Sequence[np.ndarray] | np.ndarray, *, origin: str, dtype: str = "float32") -> None:
        self._samples = samples
        self.origin = origin  # "images:DIR (N)", "npy:FILE", "synthetic (N)": said in the manifest
        self.dtype = np.dtype(dtype)  # the source's input type: uint8 for a TF OD API image_tensor

    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[np.ndarray]:
        for s in self._samples:
            x = np.asarray(s, np.float32)[None] if np.ndim(s) == 3 else np.asarray(s, np.float32)
            if self.dtype.kind in "iu":  # raw pixel values (mean 0, std 1): exact in the integer type
                info = np.iinfo(self.dtype)
                x = np.clip(np.rint(x), info.min, info.max).astype(self.dtype)
            yield x


@dataclass(frozen=True)
class ConvertOptions:
    """Settings a converter may read (each says which it reads); unset ones take the converter's default.

    >>> ConvertOptions.of({"io_dtype": "int8"}).io_dtype
    'int8'
    >>> ConvertOptions.of({"iodtype": "int8"})
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: unknown converter option 'iodtype'; valid options: io_dtype, float_head, ...
    """

    io_dtype: str = "uint8"  # TFLite / Edge TPU int8: the input and output type ("uint8" or "int8")
    float_head: bool | None = None  # OpenVINO / ONNX int8: keep a detector's head in float (None: converter's default)
    compiler_timeout: float = 600.0  # Edge TPU: seconds edgetpu_compiler may take
    calibrate_method: str = "minmax"  # ONNX int8: "minmax", "entropy" or "percentile"
    op_types: tuple[str, ...] | None = None  # ONNX int8: op types to quantise (None: the weighted ones)
    preset: str = "performance"  # NNCF: "performance" (symmetric) or "mixed"
    range_estimator: str = "minmax"  # NNCF: "minmax" or "mean_minmax"
    fast_bias_correction: bool = False  # NNCF
    model_type: str | None = None  # NNCF: "transformer"
    ignored_scope: tuple[str, ...] = ()  # NNCF: more node names kept in float
    head_split: Any = None  # a heads.HeadSplit: int8 TFLite / Edge TPU of an ONNX source cut the head into groups
    float_layers: tuple[str, ...] = ()  # mixed precision: layers (per the per-layer report) kept in float

    @classmethod
    def of(cls, options: ConvertOptions | Mapping[str, Any] | None) -> ConvertOptions:
        """Options from a mapping (unknown keys named with the valid ones), or as given."""
        if isinstance(options, ConvertOptions):
            return options
        names = [f.name for f in fields(cls)]
        given = dict(options or {})
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise UserInputError(f"unknown converter option {unknown[0]!r}; valid options: {', '.join(names)}")
        for key in ("op_types", "ignored_scope", "float_layers"):
            if given.get(key) is not None:
                given[key] = tuple(str(v) for v in given[key])
        return cls(**given)


@dataclass
class ConvertJob:
    """One artifact to build: a source, a target profile, a precision, calibration data, a place to write.

    ``options`` may also be given as a mapping: it is checked and kept as ``ConvertOptions``.
    """

    source: SourceModel
    target: Target
    precision: str  # a Precision value the target allows
    calibration: Calibration | None  # required for int8
    outdir: Path  # write the artifact (and its side files) here
    stem: str  # file-name stem, e.g. "model_rpi5_int8"
    options: ConvertOptions = field(default_factory=ConvertOptions)
    log: Callable[[str], None] = lambda message: None

    def __post_init__(self) -> None:
        self.options = ConvertOptions.of(self.options)


class ConvertWarning(str):
    """Something the user must hear about an artifact (its text, kept in the manifest).

    ``explained``: the converter's ``notes`` already say it at length, so the log does not repeat it.

    >>> w = ConvertWarning("compiler not found", explained=True)
    >>> w.startswith("compiler"), w.explained
    (True, True)
    """

    explained: bool

    def __new__(cls, text: str, explained: bool = False) -> ConvertWarning:
        warning = super().__new__(cls, text)
        warning.explained = explained
        return warning


@dataclass
class ConvertOutput:
    """What a converter built."""

    file: Path  # the artifact (.tflite / .xml / .onnx) inside job.outdir
    format: str  # a bundle format: tflite, edgetpu-tflite, openvino-ir, onnx
    precision: str  # the honest name of what was built (e.g. "int8", "fp16", "dynamic")
    converter: dict  # {"tool": ..., "version": ..., and the settings that matter}
    report: dict = field(default_factory=dict)  # e.g. the Edge TPU op-mapping report
    extra_files: list = field(default_factory=list)  # side files to ship (IR .bin, compiler log)
    warnings: list[ConvertWarning] = field(default_factory=list)  # said to the user and kept in the manifest
    notes: list[str] = field(default_factory=list)  # lines for the conversion log (e.g. the op-mapping summary)


class Converter(ABC):
    """Build one artifact format. Subclasses set ``format`` and ``precisions`` and implement ``convert``."""

    format: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]]
    sources: ClassVar[tuple[str, ...]]  # the SOURCE_KINDS it reads

    @abstractmethod
    def convert(self, job: ConvertJob) -> ConvertOutput:
        """Build the artifact into ``job.outdir``; raise ``ConversionError`` with a one-line reason on failure."""


def dynamic_dims(shape: Sequence[Any]) -> list[int]:
    """Indices of the dims of ``shape`` that are not fixed (None, -1 or 0).

    Example:
        >>> dynamic_dims((1, None, -1, 3))
        [1, 2]
    """
    return [i for i, d in enumerate(shape) if not isinstance(d, int) or d < 1]


def check_job(job: ConvertJob, precisions: Sequence[str], fmt: str) -> None:
    """ConversionError unless the job's precision, shape and calibration fit ``fmt``; checked before any heavy import.

    Example:
        >>> check_job(job, ("fp32", "fp16", "int8"), "openvino-ir")   # doctest: +SKIP
    """
    if job.precision not in precisions:
        raise ConversionError(f"expected a precision among {', '.join(precisions)} for {fmt}, got {job.precision!r}")
    shape = tuple(job.source.input_shape)
    if not shape or (job.target.shape.static and dynamic_dims(shape)):
        raise ConversionError(f"expected a static input shape for target {job.target.id}, got {shape} for "
                              f"{job.source.input_name!r}; pass the size to use (e.g. --input-shape 1,224,224,3)")
    if job.precision == "int8":
        check_calibration(job.calibration, shape)


def check_calibration(calibration: Calibration | None, shape: Sequence[Any]) -> None:
    """ConversionError unless there are calibration samples whose shape matches the model input's fixed dims.

    Example:
        >>> import numpy as np
        >>> check_calibration(Calibration([np.zeros((8, 8, 3))], origin="x"), (1, 8, 8, 3))
    """
    if calibration is None or len(calibration) == 0:
        raise ConversionError("expected calibration samples for int8, got none (pass --calibration DIR or .npy)")
    first = next(iter(calibration))
    fixed = [i for i in range(len(shape)) if i not in dynamic_dims(shape)]
    if first.ndim != len(shape) or any(first.shape[i] != shape[i] for i in fixed):
        raise ConversionError(f"expected calibration samples of the model input shape {tuple(shape)}, "
                              f"got {tuple(first.shape)} ({calibration.origin})")
