"""``edgevision.limits``: each documented ceiling accepts its own value and refuses the next, in one typed line."""
from __future__ import annotations

import zipfile

import pytest

from edgevision.errors import ManifestError, ModelFileError, UserInputError
from edgevision.limits import (
    MAX_FRAME_PIXELS,
    MAX_FRAME_SIDE,
    MAX_INPUT_SIDE,
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MAX_MANIFEST_BYTES,
    MAX_TENSOR_ELEMENTS,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_RATIO,
    check_frame_size,
    check_tensor,
    check_threads,
    check_zip,
    host_cores,
    load_json,
)


def test_threads_between_one_and_the_cores():
    assert check_threads(None) is None and check_threads(host_cores()) == host_cores()
    for bad in (0, -1, host_cores() + 1, 100000, "4", True, 2.0):
        with pytest.raises(UserInputError, match=rf"expected threads between 1 and {host_cores()} \(the cores"):
            check_threads(bad)


def test_frame_sizes():
    assert check_frame_size((MAX_FRAME_SIDE, 16)) == (MAX_FRAME_SIDE, 16)
    assert check_frame_size([640.0, 480]) == (640, 480)
    side = int(MAX_FRAME_PIXELS ** 0.5)
    for bad in [(MAX_FRAME_SIDE + 1, 1), (side + 1, side + 1), (0, 5), (-640, 480), (640.5, 480)]:
        with pytest.raises(UserInputError, match="of at most 16384 pixels a side"):
            check_frame_size(bad)
    with pytest.raises(UserInputError, match="of two integers"):
        check_frame_size(("wide", 5))


def test_declared_tensors():
    check_tensor("x", (1, MAX_INPUT_SIDE, MAX_INPUT_SIDE, 3), image_input=True)
    check_tensor("x", (1, 3, -1, -1), image_input=True)  # dynamic dims are fixed later, from the input size
    with pytest.raises(ModelFileError, match="at most 8192 pixels a side"):
        check_tensor("x", (1, 3, MAX_INPUT_SIDE + 1, 8), image_input=True)
    with pytest.raises(ModelFileError, match=f"at most {MAX_TENSOR_ELEMENTS} elements"):
        check_tensor("y", (1, MAX_TENSOR_ELEMENTS + 1))


def test_json_limits():
    ok = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert load_json(ok, "m", ManifestError) is not None
    cases = {
        b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1): "nested at most 32 deep",
        b"1" * (MAX_INT_DIGITS + 1): "integer of 21 digits",
        b"[NaN]": "NaN, which is not JSON",
        b"[Infinity]": "Infinity, which is not JSON",
        b'"\xff"': "not UTF-8",
        b" " * (MAX_MANIFEST_BYTES + 1): "at most 4 MiB",
    }
    assert load_json(b"-" + b"9" * MAX_INT_DIGITS, "m", ManifestError) == -int("9" * MAX_INT_DIGITS)
    for data, message in cases.items():
        with pytest.raises(ManifestError, match=message):
            load_json(data, "m", ManifestError)


def _info(name: str, size: int, compressed: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.file_size, info.compress_size = size, compressed
    return info


def test_zip_directory_limits():
    check_zip([_info("w.bin", 100 << 20, (100 << 20) // MAX_ZIP_RATIO)], "b.zip")
    check_zip([_info("manifest.json", 1 << 19, 1)], "b.zip")  # small entries compress as they like
    with pytest.raises(ManifestError, match="at most 256 entries"):
        check_zip([_info(f"{i}", 1, 1) for i in range(MAX_ZIP_ENTRIES + 1)], "b.zip")
    with pytest.raises(ManifestError, match="at most 2048 MiB unpacked"):
        check_zip([_info("a", 3 << 30, 3 << 30)], "b.zip")
    with pytest.raises(ManifestError, match="compressed at most 200:1 .* 'z' at 1000:1"):
        check_zip([_info("z", 1000 << 20, 1 << 20)], "b.zip")
