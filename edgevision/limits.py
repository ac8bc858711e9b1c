"""Every size and count edgevision accepts from its inputs, written once, each checked with a one-line error.

A model, a bundle, an image or an option can ask for more than a device has: a
``--threads 100000`` that LiteRT segfaults on, an input declared 100000x100000, a
683 kB zip that inflates to 512 MiB, a manifest nested 100000 deep. Each such
quantity has a documented ceiling here, and the check that enforces it raises a
typed error saying the limit and what came instead (README, "Limits").

==========================  ==================================  ================================
what                        limit                               checked by
==========================  ==================================  ================================
inference threads           this host's cores (CPU affinity)    ``check_threads``
frame / image size          side <= 16384, <= 67.1 MP           ``check_frame_size``
image file                  <= 256 MiB                          ``edgevision.sources.read_image``
model input tensor          H, W <= 8192                        ``check_tensor``
any declared tensor         <= 2**28 elements                   ``check_tensor``
model file (+ side files)   <= 4 GiB each                       ``edgevision.integrity``
zipped bundle               <= 2 GiB inflated, <= 256 entries,  ``check_zip``
                            ratio <= 200 (entries > 1 MiB)
manifest.json               <= 4 MiB, nesting <= 32,            ``load_json``
                            integers <= 20 digits
target profile (.toml)      <= 256 KiB, nesting <= 32           ``edgevision.targets``
live view connections       <= 32 at once (then 503)            ``edgevision.serve``
==========================  ==================================  ================================

Example:
    >>> check_frame_size((640, 480))
    (640, 480)
    >>> check_frame_size((100000, 100000), "size")
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected a positive size of at most 16384 pixels a side and 67.1 megapixels, got 100000x...
"""
from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import EdgeVisionError, UserInputError

MAX_FRAME_SIDE = 16384
MAX_FRAME_PIXELS = 8192 * 8192
MAX_IMAGE_FILE_BYTES = 256 << 20
MAX_INPUT_SIDE = 8192
MAX_TENSOR_ELEMENTS = 1 << 28
MAX_MODEL_FILE_BYTES = 4 << 30
MAX_ZIP_BYTES = 2 << 30
MAX_ZIP_ENTRIES = 256
MAX_ZIP_RATIO = 200
ZIP_RATIO_FROM = 1 << 20  # entries smaller than this may compress as well as they like (a manifest, labels)
MAX_MANIFEST_BYTES = 4 << 20
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 20
MAX_PROFILE_BYTES = 256 << 10
MAX_TOML_DEPTH = 32
MAX_VIEWERS = 32
MAX_DETECTIONS = 10000
MAX_TOP_K = 100000


def host_cores() -> int:
    """The cores this process may run on (CPU affinity: taskset, cgroups), at least 1.

    >>> host_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_threads(threads: Any, *, where: str = "threads") -> int | None:
    """``threads`` as an int in 1..this host's cores (None stays None: the runtime's default).

    More threads than cores only slows a runtime down, and far more crash or hang it
    (LiteRT segfaults at 100000; ONNX Runtime allocates gigabytes), so it is refused.

    >>> check_threads(None), check_threads(1)
    (None, 1)
    >>> check_threads(100000)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected threads between 1 and ... (the cores of this host), got 100000
    """
    if threads is None:
        return None
    cores = host_cores()
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= cores:
        raise UserInputError(f"expected {where} between 1 and {cores} (the cores of this host), got {threads!r}")
    return threads


def check_frame_size(size: Sequence[Any], what: str = "frame size",
                     error: type[EdgeVisionError] = UserInputError) -> tuple[int, int]:
    """``size`` (w, h) as two ints within ``MAX_FRAME_SIDE`` and ``MAX_FRAME_PIXELS``; ``error`` otherwise."""
    try:
        w, h = (int(v) for v in size)
        ok = all(not isinstance(v, bool) and int(v) == v for v in size)
    except (TypeError, ValueError, OverflowError):
        raise error(f"expected a {what} (width, height) of two integers, got {size!r}") from None
    if not ok or w < 1 or h < 1 or max(w, h) > MAX_FRAME_SIDE or w * h > MAX_FRAME_PIXELS:
        got = f"{w}x{h}" if ok else repr(size)
        raise error(f"expected a positive {what} of at most {MAX_FRAME_SIDE} pixels a side and "
                             f"{MAX_FRAME_PIXELS / 1e6:.1f} megapixels, got {got}")
    return w, h


def opencv_limits() -> None:
    """Tell OpenCV (before its first import) to refuse to decode images above ``MAX_FRAME_PIXELS``.

    OpenCV reads ``OPENCV_IO_MAX_IMAGE_PIXELS`` once, when it loads; a value the user set is kept.
    Decoded frames are checked again (``check_frame_size``) in case OpenCV was imported first.
    """
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_FRAME_PIXELS))


def check_tensor(name: str, shape: Iterable[int], *, image_input: bool = False, where: str = "the model") -> None:
    """A declared tensor stays within ``MAX_TENSOR_ELEMENTS`` (an image input: H, W within ``MAX_INPUT_SIDE``).

    Checked before a runtime allocates it, so a model that declares a 100000x100000
    input is a one-line error, not a MemoryError or a crash.

    >>> check_tensor("images", (1, 640, 640, 3), image_input=True)
    >>> check_tensor("images", (1, 100000, 100000, 3), image_input=True, where="det.onnx")
    Traceback (most recent call last):
    ...
    edgevision.errors.ModelFileError: expected input 'images' of det.onnx at most 8192 pixels a side, got [1, 100000, 100000, 3]
    """
    from .errors import ModelFileError

    dims = [int(d) for d in shape]
    known = [d for d in dims if d > 0]
    if image_input and len(dims) == 4 and max(sorted(known)[-2:] or [0]) > MAX_INPUT_SIDE:
        raise ModelFileError(f"expected input {name!r} of {where} at most {MAX_INPUT_SIDE} pixels a side, got {dims}")
    if math.prod(known) > MAX_TENSOR_ELEMENTS:
        raise ModelFileError(f"expected tensor {name!r} of {where} to hold at most {MAX_TENSOR_ELEMENTS} elements, "
                             f"got {dims}")


def check_zip(infos: Sequence[zipfile.ZipInfo], name: str, *, what: str = "bundle archive",
              error: type[EdgeVisionError] | None = None) -> None:
    """Entry count, total inflated size and per-entry compression ratio of a zip, from its directory.

    The sizes a zip declares can lie: the extraction also counts the bytes it writes
    (``edgevision.archive.extract_bundle``) and stops at ``MAX_ZIP_BYTES``. ``what`` names the
    zip in errors ("bundle archive", "zip appended to the model"); ``error``: ManifestError by default.
    """
    from .errors import ManifestError

    fail = error or ManifestError
    if len(infos) > MAX_ZIP_ENTRIES:
        raise fail(f"expected a {what} of at most {MAX_ZIP_ENTRIES} entries, got {len(infos)} in {name}")
    total = sum(i.file_size for i in infos)
    if total > MAX_ZIP_BYTES:
        raise fail(f"expected a {what} of at most {MAX_ZIP_BYTES >> 20} MiB unpacked, got {total >> 20} MiB in {name}")
    for i in infos:
        if i.file_size > ZIP_RATIO_FROM and i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1):
            raise fail(f"expected entries compressed at most {MAX_ZIP_RATIO}:1 in the {what} {name}, "
                       f"got {i.filename!r} at {i.file_size // max(i.compress_size, 1)}:1")


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text, found without recursion (strings skipped).

    >>> json_depth('{"a": [1, {"b": "[[["}]}')
    3
    """
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text}, which is not JSON")


def load_json(data: bytes, where: str, error: type[EdgeVisionError]) -> Any:
    """Parse JSON ``data`` within ``MAX_MANIFEST_BYTES``, ``MAX_JSON_DEPTH`` and ``MAX_INT_DIGITS``.

    NaN and Infinity are refused too. Every failure is ``error`` naming ``where``.

    >>> load_json(b'{"a": [1, 2]}', "m.json", UserInputError)
    {'a': [1, 2]}
    >>> load_json(b"[" * 100 + b"]" * 100, "m.json", UserInputError)
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected JSON nested at most 32 deep in m.json, got 100 deep
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise error(f"expected at most {MAX_MANIFEST_BYTES >> 20} MiB of JSON in {where}, got {len(data)} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"expected JSON in {where}, got bytes that are not UTF-8 ({e.reason} at {e.start})") from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise error(f"expected JSON nested at most {MAX_JSON_DEPTH} deep in {where}, got {depth} deep")
    try:
        return json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except ValueError as e:  # JSONDecodeError is a ValueError, as are the hooks' refusals
        raise error(f"expected JSON in {where}, got a parse error: {e}") from None
