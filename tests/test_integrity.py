"""``edgevision.integrity``: files read once, inside their directory, regular, within their size; private copies."""
from __future__ import annotations

import gc
import os

import pytest

from edgevision.errors import ManifestError, ModelFileError
from edgevision.integrity import ModelBytes, private_copy, read_file, relative_location


def test_reads_a_regular_file_below_its_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.bin").write_bytes(b"abc")
    assert read_file(tmp_path, "sub/w.bin") == b"abc"


@pytest.mark.parametrize("kind, message", [
    ("link", "got a symbolic link"), ("link-on-the-way", "got a symbolic link|through a file or a link"),
    ("fifo", "got a FIFO"), ("directory", "got a directory"), ("missing", "got none"), ("big", "at most 2 bytes"),
])
def test_refuses_what_is_not_a_plain_file_inside(tmp_path, kind, message):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "w.bin").write_bytes(b"abc")
    inside = tmp_path / "bundle"
    inside.mkdir()
    name = "w.bin"
    if kind == "link":
        os.symlink(outside / "w.bin", inside / name)
    elif kind == "link-on-the-way":
        os.symlink(outside, inside / "sub")
        name = "sub/w.bin"
    elif kind == "fifo":
        os.mkfifo(inside / name)  # refused at once: opened without blocking, never read
    elif kind == "directory":
        (inside / name).mkdir()
    elif kind == "big":
        (inside / name).write_bytes(b"abc")
    with pytest.raises(ManifestError, match=message):
        read_file(inside, name, limit=2, error=ManifestError)


def test_a_user_named_link_is_followed(tmp_path):
    (tmp_path / "real.onnx").write_bytes(b"x")
    os.symlink(tmp_path / "real.onnx", tmp_path / "link.onnx")
    assert read_file(tmp_path, "link.onnx", follow=True) == b"x"
    with pytest.raises(ModelFileError, match="symbolic link"):
        read_file(tmp_path, "link.onnx")


@pytest.mark.parametrize("location", ["../w.bin", "/etc/passwd", "a/../../w", "C:\\w.bin", "\\\\server\\w"])
def test_external_data_locations_stay_below_the_model(location):
    with pytest.raises(ModelFileError, match="inside the directory of m.onnx"):
        relative_location(location, "m.onnx")


def test_a_private_copy_lives_as_long_as_its_owner(tmp_path):
    class Owner:
        pass

    owner = Owner()
    model = ModelBytes(tmp_path / "m.xml", b"<net/>", weights=b"w", external={})
    path = private_copy(model, owner)
    assert path.read_bytes() == b"<net/>" and path.with_suffix(".bin").read_bytes() == b"w"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    del owner
    gc.collect()
    assert not path.parent.exists()
