"""Type and range checks for values a user or a file gives: decoder options, a manifest's fields, load arguments.

Each check names the key and says what was expected and what came instead, in one
line: ``expected 'top_k' of the classification decoder to be an integer from 1 to
100000, got -1``. Decoder options are checked by name (``OPTION_RULES``), so a
decoder registered later that reuses ``score_threshold`` or ``top_k`` is checked
too; an option of its own that no rule names is left to the decoder.

Example:
    >>> check_option("score_threshold", 0.4, "the yolo decoder")
    0.4
    >>> check_option("top_k", -1, "the classification decoder")
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected 'top_k' of the classification decoder to be an integer from 1 to 100000, got -1
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import EdgeVisionError, UserInputError
from .limits import MAX_DETECTIONS, MAX_INPUT_SIDE, MAX_TOP_K

Rule = Callable[[Any], bool]
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_int(v: Any, lo: float = -math.inf, hi: float = math.inf) -> bool:
    """An int (not a bool) within [lo, hi].

    >>> is_int(3, 1, 5), is_int(True), is_int(2.0)
    (True, False, False)
    """
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def is_number(v: Any, lo: float = -math.inf, hi: float = math.inf) -> bool:
    """A finite int or float (not a bool) within [lo, hi]."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi)


def _optional_bool(v: Any) -> bool:
    return v is None or isinstance(v, bool)


def _ssd_outputs(v: Any) -> bool:
    keys = ("boxes", "classes", "scores", "count")
    return v is None or (isinstance(v, Mapping) and set(v) <= set(keys) and {"boxes", "classes", "scores"} <= set(v)
                         and all(x is None or is_int(x, 0, 64) for x in v.values()))


# option -> (rule, what it expects): every built-in decoder's options
OPTION_RULES: dict[str, tuple[Rule, str]] = {
    "top_k": (lambda v: is_int(v, 1, MAX_TOP_K), f"an integer from 1 to {MAX_TOP_K}"),
    "score_threshold": (lambda v: is_number(v, 0, 1), "a number from 0 to 1"),
    "iou_threshold": (lambda v: is_number(v, 0, 1), "a number from 0 to 1"),
    "max_detections": (lambda v: is_int(v, 1, MAX_DETECTIONS), f"an integer from 1 to {MAX_DETECTIONS}"),
    "label_offset": (lambda v: is_int(v, -65536, 65536), "an integer from -65536 to 65536"),
    "logits": (_optional_bool, "true, false or null"),
    "normalized": (_optional_bool, "true, false or null"),
    "box_format": (lambda v: v is None or isinstance(v, str), "null or the name of a box format"),
    "class_agnostic": (lambda v: isinstance(v, bool), "true or false"),
    "layout": (lambda v: v is None or (isinstance(v, str) and v.upper() in ("NHWC", "NCHW")), "NHWC, NCHW or null"),
    "outputs": (_ssd_outputs, "null or an object of output indices {boxes, classes, scores[, count]} from 0 to 64"),
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_option(name: str, value: Any, where: str, error: type[EdgeVisionError] = UserInputError) -> Any:
    """``value`` when the rule for option ``name`` accepts it (or no rule names it); ``error`` otherwise.

    A float that is a whole number is taken for an integer option (JSON and the CLI
    may write 5.0): it comes back as an int.
    """
    rule = OPTION_RULES.get(name)
    if rule is None:
        return value
    ok, expected = rule
    if isinstance(value, float) and value.is_integer() and not ok(value) and ok(int(value)):
        value = int(value)
    if not ok(value):
        raise error(f"expected {name!r} of {where} to be {expected}, got {_shown(value)}")
    return value


def check_options(options: Mapping[str, Any], where: str, error: type[EdgeVisionError] = UserInputError) -> dict:
    """Every option of a decoder's config checked with ``check_option`` (``type`` left as it is)."""
    return {k: v if k == "type" else check_option(k, v, where, error) for k, v in options.items()}


def expect(ok: bool, key: str, where: str, expected: str, got: Any, error: type[EdgeVisionError]) -> None:
    """Raise ``error`` naming ``key`` unless ``ok``."""
    if not ok:
        raise error(f"expected {key!r} in {where} to be {expected}, got {_shown(got)}")


def check_input_section(section: Mapping[str, Any], where: str, error: type[EdgeVisionError]) -> None:
    """The types and ranges of a manifest's ``input`` section, in ``where`` (its keys are checked by the caller)."""
    size = section.get("size")
    expect(size is None or (isinstance(size, list) and len(size) == 2 and all(is_int(v, 1, MAX_INPUT_SIDE) for v in size)),
           "size", where, f"null or [width, height] of integers from 1 to {MAX_INPUT_SIDE}", size, error)
    for key in ("layout", "color", "resize"):
        value = section.get(key)
        expect(value is None or isinstance(value, str), key, where, "a string", value, error)
    for key in ("mean", "std"):
        value = section.get(key)
        expect(value is None or (isinstance(value, list) and len(value) in (1, 3)
                                 and all(is_number(v, -1e6, 1e6) and (key == "mean" or v != 0) for v in value)),
               key, where, f"null or a list of 1 or 3 {'non-zero ' if key == 'std' else ''}numbers", value, error)
    pad = section.get("pad_value")
    expect(pad is None or is_int(pad, 0, 255), "pad_value", where, "an integer from 0 to 255", pad, error)


def check_file_entry(entry: Mapping[str, Any], where: str, error: type[EdgeVisionError], *,
                     required: tuple[str, ...] = ("file", "sha256")) -> None:
    """A ``{"file", "sha256", "size"}`` entry: a plain file name, 64 lowercase hex digits, a byte count."""
    from .integrity import plain_name

    if not isinstance(entry, Mapping):
        raise error(f"expected an object for {where}, got {_shown(entry)}")
    for key in required:
        if key not in entry:
            raise error(f"expected key {key!r} in {where}, got none")
    if "file" in entry:
        plain_name(entry["file"], f"'file' of {where}", error)
    if "sha256" in entry:
        expect(isinstance(entry["sha256"], str) and bool(_SHA256.fullmatch(entry["sha256"])), "sha256", where,
               "64 lowercase hex digits", entry["sha256"], error)
    if "size" in entry:
        expect(is_int(entry["size"], 0, 1 << 62), "size", where, "a byte count (an integer >= 0)", entry["size"], error)


def check_artifact_entry(entry: Mapping[str, Any], where: str, error: type[EdgeVisionError]) -> None:
    """One ``artifacts`` entry's value types (its keys are checked by the caller)."""
    check_file_entry(entry, where, error)
    for key in ("format", "precision"):
        expect(isinstance(entry.get(key), str), key, where, "a string", entry.get(key), error)
    if entry.get("weights"):
        check_file_entry(entry["weights"], f"weights of {where}", error)
    external = entry.get("external_data", [])
    expect(isinstance(external, list), "external_data", where, "a list of {file, sha256, size}", external, error)
    for i, item in enumerate(external):
        check_file_entry(item, f"external_data[{i}] of {where}", error)
    for key in ("converter", "fidelity", "input", "report"):
        value = entry.get(key, {})
        expect(value is None or isinstance(value, Mapping), key, where, "an object", value, error)


def check_strings(data: Mapping[str, Any], keys: tuple[str, ...], where: str, error: type[EdgeVisionError]) -> None:
    """Each of ``keys`` present in ``data`` is a string."""
    for key in keys:
        if key in data:
            expect(isinstance(data[key], str), key, where, "a string", data[key], error)


def input_options(fmt: Mapping[str, Any]) -> dict[str, Any]:
    """``load``'s input keyword arguments checked and made InputFormat's: ``size`` N or (w, h), ``scale`` folded
    into ``mean``/``std``; UserInputError naming the argument.

    >>> input_options({"size": 320, "scale": 1 / 255})
    {'size': (320, 320), 'mean': (0.0,), 'std': (255.0,)}
    """
    out = dict(fmt)
    for key in ("mean", "std", "scale"):
        value = out.get(key)
        if value is not None and not isinstance(value, (list, tuple)):
            value = out[key] = [value]
        if value is not None:
            expect(isinstance(value, (list, tuple)) and len(value) in (1, 3)
                   and all(is_number(v, -1e6, 1e6) and (key == "mean" or v != 0) for v in value),
                   key, "the load options", f"a number or a list of 1 or 3 {'non-zero ' if key != 'mean' else ''}"
                                            f"numbers", value, UserInputError)
    if out.get("scale") is not None:  # x = pixel * scale  <=>  (pixel - 0) / (1 / scale)
        scale = out.pop("scale")
        out.setdefault("mean", tuple([0.0] * len(scale)))
        out["std"] = tuple(float(1 / s) for s in scale)
    out.pop("scale", None)
    if out.get("size") is not None:
        size = out["size"]
        pair = [size, size] if is_int(size) else size
        expect(isinstance(pair, (list, tuple)) and len(pair) == 2 and all(is_int(v, 1, MAX_INPUT_SIDE) for v in pair),
               "size", "the load options", f"an integer or (width, height) from 1 to {MAX_INPUT_SIDE}", size,
               UserInputError)
        out["size"] = (int(pair[0]), int(pair[1]))
    section = {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
    check_input_section(section, "the load options", UserInputError)
    return out


def check_label_count(labels: Sequence[str], classes: int | None, where: str, error: type[EdgeVisionError]) -> None:
    """``error`` when labels are given and their count differs from the classes the model's outputs imply.

    A model with 5 classes and 3 labels would print two classes with no name, and one
    with 3 classes and 5 labels names classes it does not have: either is a mismatch.
    ``check_labels=False`` to ``load`` (``--no-check-labels``) lets it run anyway.

    >>> check_label_count(["a", "b"], 3, "manifest.json", UserInputError)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected 3 labels for the model's 3 classes in manifest.json, got 2 (pass ...)
    """
    if labels and classes is not None and classes > 0 and len(labels) != classes:
        raise error(f"expected {classes} labels for the model's {classes} classes in {where}, got {len(labels)} "
                    f"(pass check_labels=False, or --no-check-labels, to run anyway)")


def labels_file(path: Path) -> list[str]:
    """The labels of a text file, one per line (a regular UTF-8 file within the manifest size limit)."""
    from .integrity import read_file
    from .limits import MAX_MANIFEST_BYTES

    if not path.exists():
        raise UserInputError(f"expected a labels file with one label per line, got missing path {str(path)!r}")
    data = read_file(path.parent, path.name, limit=MAX_MANIFEST_BYTES, what="labels file", error=UserInputError,
                     follow=True)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserInputError(f"expected a UTF-8 labels file, got {path.name} with a byte it cannot decode at "
                             f"{e.start}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def runtime_failure(backend: Any, error: BaseException) -> EdgeVisionError:
    """The one-line ModelFileError for a model its runtime loaded but could not run."""
    from .errors import ModelFileError

    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip() and not ln.startswith("Exception from")]
    return ModelFileError(f"expected {Path(backend.path).name} to run on {backend.name}, got: "
                          f"{lines[0] if lines else type(error).__name__}")
