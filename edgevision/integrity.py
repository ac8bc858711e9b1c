"""What a runtime loads is what was checked: model files read once, from inside their directory, into memory.

A bundle's manifest vouches for every file a runtime opens: the artifact, an
OpenVINO IR's ``.bin`` weights and an ONNX model's external data files, each by
sha256 and size. ``verify_artifact`` reads each of those files once and checks it;
the runtimes then get those bytes (LiteRT ``model_content``, OpenVINO
``read_model(xml, weights)``, ONNX Runtime ``InferenceSession(bytes)`` with its
external data in memory), so a file swapped after the check never runs. A runtime
that can only open paths gets a private copy written from the checked bytes.

Every file is opened inside its directory by a plain name: no absolute path, no
``..``, no symbolic link (``O_NOFOLLOW``), and only a regular file (a FIFO named
``manifest.json`` is refused at once, never waited on). A bare model file given
by path is read the same way, with the side files its format names.

Example:
    >>> model = read_model_file("det.onnx")                    # doctest: +SKIP
    >>> model.name, len(model.data), list(model.external)      # doctest: +SKIP
    ('det.onnx', 12722, [])
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import EdgeVisionError, ManifestError, ModelFileError, UserInputError
from .limits import MAX_MODEL_FILE_BYTES

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


@dataclass(frozen=True, eq=False)
class ModelBytes(os.PathLike):
    """A model's bytes and the side files its runtime loads with it, read once; a path-like of the main file.

    ``weights``: an OpenVINO IR's ``.bin``; ``external``: ONNX external data by the location
    the model writes. ``verified``: checked against a bundle manifest's sha256 and size.
    """

    path: Path
    data: bytes
    weights: bytes | None = None
    external: Mapping[str, bytes] = field(default_factory=dict)
    verified: bool = False

    @property
    def name(self) -> str:
        return self.path.name

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)


def plain_name(name: Any, what: str, error: type[EdgeVisionError] = ManifestError) -> str:
    """``name`` when it is a file name inside one directory (no separator, not ``.``/``..``); ``error`` otherwise.

    >>> plain_name("model.tflite", "file")
    'model.tflite'
    >>> plain_name("../../etc/passwd", "'file'")
    Traceback (most recent call last):
    ...
    edgevision.errors.ManifestError: expected a plain file name inside the bundle for 'file', got '../../etc/passwd'
    """
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or "\x00" in name or len(name) > 255):
        raise error(f"expected a plain file name inside the bundle for {what}, got {name!r}")
    return name


def relative_location(location: str, model: str) -> str:
    """An ONNX external data location when it stays below the model's directory; ModelFileError otherwise.

    >>> relative_location("weights/conv.bin", "m.onnx")
    'weights/conv.bin'
    >>> relative_location("../../etc/passwd", "m.onnx")
    Traceback (most recent call last):
    ...
    edgevision.errors.ModelFileError: expected external data inside the directory of m.onnx, got location '../../etc/passwd'
    """
    parts = PurePosixPath(location.replace("\\", "/")).parts
    if (not parts or location.startswith(("/", "\\")) or ":" in parts[0] or "\x00" in location
            or any(p in ("..", ".") for p in parts)):
        raise ModelFileError(f"expected external data inside the directory of {model}, got location {location!r}")
    return location


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_file(directory: Path, name: str, *, limit: int = MAX_MODEL_FILE_BYTES, what: str = "",
              error: type[EdgeVisionError] = ModelFileError, follow: bool = False, place: str = "") -> bytes:
    """The bytes of ``directory/name``, a regular file of at most ``limit`` bytes, opened without following links.

    ``name`` may hold ``/`` (ONNX external data below the model): every directory on the
    way is opened without following a link too. ``follow=True`` lets the last component be
    a link (a model file the user named on the command line).
    """
    parts = PurePosixPath(name.replace("\\", "/")).parts
    shown = f"{what} {name!r}" if what else name
    place = place or f"in {str(directory)!r}"
    try:
        if os.open in os.supports_dir_fd:
            fd = _open_below(directory, parts, follow)
        else:  # pragma: no cover - Windows: check for links, then open
            path = directory.joinpath(*parts)
            if not follow and any(p.is_symlink() for p in [path, *path.parents][: len(parts)]):
                raise OSError(errno.ELOOP, "symbolic link")
            fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        raise error(f"expected {shown} {place}, got none") from None
    except OSError as e:
        if e.errno == errno.ELOOP or "symbolic" in str(e):  # O_NOFOLLOW met a link
            raise error(f"expected {shown} to be a file {place}, got a symbolic link") from None
        if e.errno == errno.ENOTDIR:
            raise error(f"expected {shown} below directories {place}, got a path through a file or a link") from None
        raise error(f"expected {shown} readable {place}, got {e.strerror or e}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"expected {shown} to be a regular file, got {_kind(st.st_mode)}")
        raise error(f"expected {shown} of at most {limit} bytes, got {st.st_size} bytes")
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise error(f"expected {shown} of at most {limit} bytes, got more")
    return data


def _open_below(directory: Path, parts: tuple[str, ...], follow: bool) -> int:
    dfd = os.open(directory, _DIR_FLAGS)
    try:
        for part in parts[:-1]:
            sub = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=dfd)
            os.close(dfd)
            dfd = sub
        return os.open(parts[-1], _FLAGS | (0 if follow else _NOFOLLOW), dir_fd=dfd)
    finally:
        os.close(dfd)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(bundle: Path, entry: Mapping[str, Any], what: str) -> bytes:
    name = plain_name(entry.get("file"), f"'file' of {what}")
    size = entry.get("size")
    limit = size if isinstance(size, int) and 0 <= size <= MAX_MODEL_FILE_BYTES else MAX_MODEL_FILE_BYTES
    expected = str(entry.get("sha256", ""))
    changed = "(the file changed after the bundle was written)"
    try:  # a size that differs needs no hash (and a file larger than the manifest says is not read at all)
        found = os.stat(bundle / name, follow_symlinks=False)
        if isinstance(size, int) and stat.S_ISREG(found.st_mode) and found.st_size != size:
            raise ManifestError(f"expected sha256 {expected[:12]}… ({size} bytes) for {name}, got "
                                f"{found.st_size} bytes {changed}")
    except OSError:
        pass
    data = read_file(bundle, name, limit=limit, what=what, error=ManifestError, place=f"in bundle {str(bundle)!r}")
    digest = sha256(data)
    if digest != expected or (isinstance(size, int) and size != len(data)):
        raise ManifestError(f"expected sha256 {expected[:12]}… for {name}, got {digest[:12]}… {changed}")
    return data


def verify_artifact(bundle: str | Path, artifact: Any, target: str = "") -> ModelBytes:
    """Read and check every file ``artifact`` (a bundle.Artifact) runs with; their bytes, for the runtime.

    The artifact's own file, its ``weights`` (an IR's .bin) and its ``external_data`` are
    each read once inside ``bundle`` and checked against the manifest's sha256 and size; an
    ONNX model that names an external file the manifest does not vouch for is refused.
    """
    from .targets.catalogue import FORMATS

    bundle, where = Path(bundle), f"artifact {target!r}" if target else f"artifact {artifact.file!r}"
    spec = FORMATS[artifact.format]
    data = _checked(bundle, {"file": artifact.file, "sha256": artifact.sha256, "size": artifact.size or None},
                    "artifact file")
    weights = None
    if spec.weights_suffix:
        if not artifact.weights:
            raise ManifestError(f"expected a weights entry (the {spec.weights_suffix}) for {artifact.format} "
                                f"{artifact.file!r}, got none")
        weights = _checked(bundle, artifact.weights, f"weights file of {where}")
    vouched = {e.get("file"): e for e in getattr(artifact, "external_data", None) or []}
    external = {}
    for location in side_locations(artifact.format, data, artifact.file):
        if location not in vouched:
            raise ManifestError(f"expected every external data file of {artifact.file} in the manifest, got "
                                f"{location!r} that it does not vouch for")
        external[location] = _checked(bundle, vouched[location], f"external data file of {where}")
    return ModelBytes(bundle / artifact.file, data, weights, external, verified=True)


def side_locations(fmt: str, data: bytes, name: str) -> list[str]:
    """The files a model's own bytes name (ONNX external data), by its format's ``references`` reader."""
    from .refs import resolve
    from .targets.catalogue import FORMATS

    reader = getattr(FORMATS[fmt], "references", None)
    if reader is None:
        return []
    return [relative_location(loc, name) for loc in resolve(reader)(data, name)]


def read_model_file(path: str | Path) -> ModelBytes:
    """A bare model file and its side files (an IR's .bin, ONNX external data), read once, unverified.

    The file itself may be a link the user named; its side files must be files below its directory.
    """
    from .targets.catalogue import FORMATS, format_of

    path = Path(path)
    fmt = format_of(path)
    spec = FORMATS[fmt]
    data = read_file(path.parent, path.name, what="model file", follow=True)
    weights = None
    if spec.weights_suffix:
        side = path.with_suffix(spec.weights_suffix).name
        if not (path.parent / side).exists():
            raise ModelFileError(f"expected the weights file {side} beside {path.name}, got none")
        weights = read_file(path.parent, side, what=f"weights file of {path.name}")
    external = {loc: read_file(path.parent, loc, what=f"external data file of {path.name}")
                for loc in side_locations(fmt, data, path.name)}
    return ModelBytes(path, data, weights, external)


def as_model_bytes(path: str | Path | ModelBytes) -> ModelBytes:
    """``path`` when it is ModelBytes already, else the file read with ``read_model_file``."""
    return path if isinstance(path, ModelBytes) else read_model_file(path)


def private_copy(model: ModelBytes, owner: object) -> Path:
    """The model's checked bytes written to a new private directory (mode 0700), removed when ``owner`` is.

    For a runtime that opens files only by path: it opens the copy, which nobody else can swap.
    """
    directory = Path(tempfile.mkdtemp(prefix="edgevision-model-"))
    weakref.finalize(owner, shutil.rmtree, directory, True)
    path = directory / model.name
    path.write_bytes(model.data)
    if model.weights is not None:
        from .targets.catalogue import FORMATS, format_of

        path.with_suffix(FORMATS[format_of(path)].weights_suffix or ".bin").write_bytes(model.weights)
    for location, data in model.external.items():
        target = directory / location
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


def private_directory(path: str | Path, what: str) -> Path:
    """``path`` as a directory only this user can write (made with mode 0700 when missing), for what a runtime
    reads back later without a manifest to check it against: OpenVINO's compiled-model cache. One that another
    user owns, or that its group or others may write, is refused (as OpenSSH refuses such key files).

    Example:
        >>> private_directory(Path.home() / ".cache" / "edgevision" / "openvino", "compiled-model cache")  # doctest: +SKIP
    """
    path = Path(path)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.stat(path)
    except OSError as e:
        raise UserInputError(f"expected a writable {what} directory, got {str(path)!r} ({e.strerror or e})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UserInputError(f"expected a {what} directory, got {_kind(st.st_mode)} {str(path)!r}")
    uid = os.getuid() if hasattr(os, "getuid") else None
    if uid is not None and (st.st_uid != uid or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        raise UserInputError(f"expected a {what} directory only you can write (what a runtime loads from it is not "
                             f"checked), got {str(path)!r} with mode {stat.S_IMODE(st.st_mode):o} owned by uid "
                             f"{st.st_uid}: chmod 700 it, or pass another")
    return path
