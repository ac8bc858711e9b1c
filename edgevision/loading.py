"""``edgevision.load``: a bundle (directory or ``.zip``) or a bare model file in, a ``Model`` out.

A bundle's manifest says everything, and ``target`` picks its artifact; a user's options
override it (``bundle_overrides``). For a bare ``.tflite`` / ``.xml`` / ``.onnx`` file,
what the file's own metadata says is the default (``metadata_defaults``) and the options
given win; what neither says is read from the model's outputs.

Example:
    >>> import edgevision
    >>> model = edgevision.load("bundle/", target="rpi5", threads=4)          # doctest: +SKIP
    >>> model = edgevision.load("yolo.onnx", labels="labels.txt", score_threshold=0.4)  # doctest: +SKIP
    >>> split_model_info({"task": "detection", "scale": 255})[:2]
    ('detection', None)
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .backends import open_backend
from .bundle import Manifest, extract_bundle, read_manifest, verify_artifact
from .decode import decoder_config, decoder_option_names, decoder_spec, guess_decoder, num_classes
from .errors import ManifestError, ModelError, ModelFileError, UserInputError
from .model import Model
from .preprocess import InputFormat
from .selection import choose_artifact, target_options
from .tasks.registry import task_spec
from .validate import check_label_count, input_options, labels_file

INPUT_OPTIONS = ("size", "layout", "color", "resize", "mean", "std", "scale", "pad_value")


def model_info_keys() -> tuple[str, ...]:
    """The keyword arguments ``load`` takes for a bare model file (the decoders' options as registered now).

    >>> {"task", "labels", "mean", "score_threshold"} <= set(model_info_keys())
    True
    """
    return ("task", "decoder", "labels", *INPUT_OPTIONS, *decoder_option_names())


def read_labels(labels: Any) -> list[str]:
    """Labels from a list, or from a text file with one label per line.

    >>> read_labels(["cat", 7]), read_labels(None)
    (['cat', '7'], [])
    """
    if labels is None:
        return []
    if isinstance(labels, (str, Path)):
        return labels_file(Path(labels))
    if not isinstance(labels, (list, tuple)) or not all(isinstance(x, (str, int)) for x in labels):
        raise UserInputError(f"expected labels as a list of strings or a labels file, got {type(labels).__name__}")
    return [str(x) for x in labels]


def split_model_info(model_info: Mapping[str, Any]) -> tuple[str | None, str | None, list, dict, dict]:
    """(task, decoder type, labels, InputFormat kwargs, decoder options) from flat keyword arguments.

    >>> split_model_info({"task": "detection", "labels": ["a"], "score_threshold": 0.5})
    ('detection', None, ['a'], {}, {'score_threshold': 0.5})
    """
    valid = model_info_keys()
    unknown = sorted(set(model_info) - set(valid))
    if unknown:
        raise UserInputError(f"unknown model option {unknown[0]!r}; valid options: {', '.join(valid)}")
    info = {k: v for k, v in model_info.items() if v is not None}
    task, decoder = info.pop("task", None), info.pop("decoder", None)
    if task is not None:
        task_spec(task)  # UserInputError naming the registered tasks
    labels = read_labels(info.pop("labels", None))
    fmt = input_options({k: info.pop(k) for k in INPUT_OPTIONS if k in info})  # types and ranges, named
    return task, decoder, labels, fmt, info


def load(path: str | Path, *, target: str = "auto", threads: int | None = None,
         backend: str | None = None, device: str | None = None, check_labels: bool = True,
         **model_info: Any) -> Model:
    """Load a bundle (a directory or its ``.zip``) or a bare ``.tflite`` / ``.xml`` / ``.onnx`` file.

    For a bundle, the manifest says everything and ``target`` picks the artifact
    (``"auto"``: the best one this machine can run). For a bare file, pass
    ``task=``, ``labels=``, ``resize=``, ``mean=``/``std=`` or ``scale=``,
    decoder options (``score_threshold=``, ``iou_threshold=``, ``top_k=``, ...);
    what is not given is read from the model. Labels must be as many as the model's
    classes unless ``check_labels=False``.

    Example:
        >>> model = load("bundle/")                                              # doctest: +SKIP
        >>> model = load("yolov8n.onnx", score_threshold=0.4)                   # doctest: +SKIP
        >>> model.predict(rgb_image).to_dict()["detections"][0]["label"]        # doctest: +SKIP
        'person'
    """
    if not isinstance(path, (str, Path)):
        raise ModelFileError(f"expected a path to a model file or bundle, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"expected a model file or bundle directory, got missing path {str(path)!r}")
    if path.suffix.lower() == ".zip":
        path = extract_bundle(path)
    if path.is_dir():
        return _load_bundle(path, target=target, threads=threads, backend=backend, device=device,
                            check_labels=check_labels, **model_info)
    from .layouts import choose_decoder
    from .metadata import read_metadata

    meta = read_metadata(path)  # what the file says (Ultralytics, Model API, TFLite Support): defaults, flags win
    given = {k: v for k, v in model_info.items() if v is not None}
    defaults = metadata_defaults(meta.settings, given)
    hint = defaults.pop("decoder", None)
    task, dtype, labels, fmt_kwargs, options = split_model_info({**defaults, **given})
    fmt = InputFormat(**fmt_kwargs)
    opts = runtime_options(target_options(target) if target not in ("auto", None) else {}, backend, threads, device)
    be = open_backend(path, input_size=fmt.size, **opts)
    shapes = [tuple(o.shape) for o in be.outputs]
    dtype = dtype or choose_decoder(task, shapes, n_labels=len(labels), hint=hint) or guess_decoder(task, be.outputs)
    spec = decoder_spec(dtype)
    if task is not None and spec.task != task:
        raise UserInputError(f"expected a {task} decoder, got {dtype!r}")
    config = decoder_config(dtype, {k: v for k, v in options.items() if k in spec.defaults})
    if check_labels:
        check_label_count(labels, num_classes(config, be.outputs), path.name, ModelError)
    artifact: dict[str, Any] = {"file": str(path), "target": None if target == "auto" else target}
    if meta:
        artifact["metadata"] = {k: o for k, o in meta.origins.items() if k not in given}
    return Model(be, task=spec.task, labels=labels, input_format=fmt, decoder=config, artifact=artifact)


def metadata_defaults(settings: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata settings a user's own options leave standing: a task or decoder given drops the metadata's
    (they name one layout together); every other setting is overridden one by one.

    >>> metadata_defaults({"task": "detection", "decoder": "yolo", "pad_value": 114}, {"task": "classification"})
    {'pad_value': 114}
    """
    out = {k: v for k, v in settings.items() if k not in given}
    if "task" in given or "decoder" in given:
        out.pop("task", None)
        out.pop("decoder", None)
    if "scale" in given:  # scale= is mean/std in other words
        out.pop("mean", None)
        out.pop("std", None)
    return out


def runtime_options(profile: dict[str, Any], backend: str | None, threads: int | None,
                    device: str | None) -> dict[str, Any]:
    """``open_backend``'s options: the profile's, unless ``backend`` names another runtime (then only its threads),
    with ``threads`` and ``device`` given by the caller on top.

    >>> runtime_options({"backend": "litert", "delegate": "edgetpu"}, None, 2, "CPU")
    {'backend': 'litert', 'delegate': 'edgetpu', 'threads': 2, 'device': 'CPU'}
    >>> runtime_options({"backend": "litert", "delegate": "edgetpu", "threads": 4}, "onnxruntime", None, None)
    {'threads': 4, 'backend': 'onnxruntime'}
    """
    opts = dict(profile)
    if backend is not None and opts.get("backend") not in (None, backend):
        opts = {k: v for k, v in opts.items() if k == "threads"}  # device, providers, delegate are the profile's runtime's
    opts["backend"] = backend or opts.get("backend")
    opts.update({k: v for k, v in {"threads": threads, "device": device}.items() if v is not None})
    return opts


def _load_bundle(path: Path, *, target: str, threads: int | None, backend: str | None,
                 device: str | None, check_labels: bool, **overrides: Any) -> Model:
    manifest: Manifest = read_manifest(path)
    target_id, reason = choose_artifact(manifest, target)
    artifact = manifest.artifacts[target_id]
    file = verify_artifact(path, artifact)
    opts = runtime_options(target_options(target_id, artifact.format), backend, threads, device)
    be = open_backend(file, input_size=manifest.input.size, **opts)
    task, decoder, labels, fmt = bundle_overrides(manifest, overrides)
    if check_labels:
        check_label_count(labels, num_classes(decoder, be.outputs), f"{path / 'manifest.json'}",
                          ModelError if overrides.get("labels") is not None else ManifestError)
    return Model(be, task=task, labels=labels, input_format=fmt, decoder=decoder,
                 artifact={"file": str(file), "target": target_id, "format": artifact.format,
                           "precision": artifact.precision, "selected": reason})


def bundle_overrides(manifest: Manifest, overrides: Mapping[str, Any]) -> tuple[str, dict, list, InputFormat]:
    """(task, decoder config, labels, input format) of a bundle with a user's overrides: labels, input options,
    decoder options, or another decoder (``decoder=``, ``task=``) with its own options.

    Example:
        >>> task, decoder, labels, fmt = bundle_overrides(manifest, {"labels": ["a", "b"]})   # doctest: +SKIP
    """
    task, dtype, labels, fmt_kwargs, options = split_model_info(overrides)
    decoder = dict(manifest.decoder)
    if dtype is None and task is not None and task != manifest.task:
        raise UserInputError(f"expected --decoder with --task {task} for a {manifest.task} bundle, got none")
    if dtype is not None and dtype != decoder["type"]:
        spec = decoder_spec(dtype)
        if task is not None and spec.task != task:
            raise UserInputError(f"expected a {task} decoder, got {dtype!r}")
        decoder = decoder_config(dtype, {k: v for k, v in decoder.items() if k in spec.defaults})
    unknown = sorted(set(options) - set(decoder) - {"type"})
    if unknown:
        raise UserInputError(f"unknown option {unknown[0]!r} for this bundle's {decoder['type']} decoder; "
                             f"valid options: {', '.join(k for k in decoder if k != 'type')}")
    decoder = decoder_config(decoder["type"], {**decoder, **options})  # the overrides' types and ranges checked
    fmt = dataclasses.replace(manifest.input, **fmt_kwargs) if fmt_kwargs else manifest.input
    return decoder_spec(decoder["type"]).task, decoder, labels or list(manifest.labels), fmt
