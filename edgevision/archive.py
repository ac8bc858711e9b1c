"""Zipped bundles: unpacked once into a cache keyed by the zip's sha256, within the limits of ``edgevision.limits``.

The zip is opened once: hashed and read through the same descriptor. Its directory
is checked before anything is written (entry count, total size, compression ratio,
names: no absolute path, no ``..``), and the bytes written are counted as they
inflate, since a zip's declared sizes can lie. Entries are written as regular
files, never links; the bundle appears in the cache by one rename, complete or not
at all. A cached copy is used only while its manifest is the zip's own; its
artifacts are checked against that manifest when a model loads, as for a directory; a zip
whose manifest or artifacts fail their checks is refused before it enters the cache.

Example:
    >>> bundle_dir = extract_bundle("det_bundle.zip")      # doctest: +SKIP
    >>> (bundle_dir / "manifest.json").is_file()            # doctest: +SKIP
    True
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import ManifestError
from .limits import MAX_ZIP_BYTES, check_zip

MANIFEST = "manifest.json"
_SKIPPED = ("__MACOSX/",)  # macOS Finder's resource forks, beside the bundle in zips it makes
_CHUNK = 1 << 20


def default_cache() -> Path:
    """Where zipped bundles are unpacked: ``~/.cache/edgevision/bundles``."""
    return Path.home() / ".cache" / "edgevision" / "bundles"


def _entry_path(name: str, archive: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if (name.startswith(("/", "\\")) or "\\" in name or "\x00" in name or (path.parts and ":" in path.parts[0])
            or any(p in ("..", ".") for p in path.parts)):
        raise ManifestError(f"expected relative paths inside bundle archive {archive}, got {name!r}")
    return path


def _open_regular(archive: Path) -> IO[bytes]:
    try:  # non-blocking: a FIFO named like a zip is refused below, not waited on
        f = os.fdopen(os.open(archive, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)), "rb")
    except OSError as e:
        raise ManifestError(f"expected a readable bundle archive, got {str(archive)!r} ({e.strerror or e})") from None
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise ManifestError(f"expected a bundle archive file, got {str(archive)!r} that is not a regular file")
    return f


def extract_bundle(archive: str | Path, cache: str | Path | None = None) -> Path:
    """Unpack a zipped bundle once into a cache directory keyed by the zip's sha256; returns the bundle dir.

    ManifestError for a zip that is not one, breaks a limit, holds a path outside the
    bundle or has no manifest; nothing is left in the cache then.
    """
    archive = Path(archive)
    root = Path(cache) if cache else default_cache()
    with _open_regular(archive) as f:
        h = hashlib.sha256()
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
        f.seek(0)
        dest = root / h.hexdigest()[:16]
        try:
            with zipfile.ZipFile(f) as zf:
                return _extract(zf, archive.name, root, dest)
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise ManifestError(f"expected a zip archive of a bundle, got {archive.name}: {e}") from None
        except (NotImplementedError, RuntimeError) as e:  # an unsupported compression method, an encrypted entry
            raise ManifestError(f"expected a plain zip archive of a bundle, got {archive.name}: {e}") from None


def _check_bundle(directory: Path, name: str) -> None:
    """The unpacked bundle's manifest, and every artifact against it; ManifestError naming the archive."""
    from .bundle import read_manifest
    from .integrity import verify_artifact

    try:
        manifest = read_manifest(directory)
        for target, artifact in manifest.artifacts.items():
            verify_artifact(directory, artifact, target)
    except ManifestError as e:
        raise ManifestError(str(e).replace(str(directory), name)) from None


def _extract(zf: zipfile.ZipFile, name: str, root: Path, dest: Path) -> Path:
    infos = [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith(_SKIPPED)]
    check_zip(infos, name)
    paths = [_entry_path(i.filename, name) for i in infos]
    tops = {p.parts[0] for p in paths if len(p.parts) > 1}
    prefix = ""
    if len(tops) == 1 and all(len(p.parts) > 1 for p in paths) and PurePosixPath(*tops, MANIFEST) in paths:
        prefix = tops.pop()  # a zip of the bundle directory itself
    rels = [PurePosixPath(*p.parts[1:]) if prefix else p for p in paths]
    if PurePosixPath(MANIFEST) not in rels:
        raise ManifestError(f"expected {MANIFEST} in bundle archive {name}, got none")
    manifest = zf.read(infos[rels.index(PurePosixPath(MANIFEST))])
    try:
        if (dest / MANIFEST).read_bytes() == manifest:
            return dest  # unpacked before; its artifacts are checked against this manifest when a model loads
    except OSError:
        pass
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=root))
    except OSError as e:
        raise ManifestError(f"expected a writable cache directory for zipped bundles, got {str(root)!r} "
                            f"({e.strerror or e})") from None
    try:
        total = 0
        for info, rel in zip(infos, rels):
            target = tmp.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(target, "xb") as out:
                for chunk in iter(lambda: src.read(_CHUNK), b""):
                    written += len(chunk)
                    total += len(chunk)
                    if written > info.file_size or total > MAX_ZIP_BYTES:
                        raise ManifestError(f"expected {info.filename!r} to inflate to the {info.file_size} bytes "
                                            f"bundle archive {name} declares (at most {MAX_ZIP_BYTES >> 20} MiB in all), "
                                            f"got more")
                    out.write(chunk)
        _check_bundle(tmp, name)  # nothing that fails its own manifest enters the cache
        if dest.exists():
            shutil.rmtree(dest, ignore_errors=True)  # a stale copy whose manifest is not this zip's
        try:
            os.replace(tmp, dest)
        except OSError:  # another process unpacked the same zip meanwhile
            if not (dest / MANIFEST).is_file():
                raise
    except OSError as e:
        raise ManifestError(f"expected to unpack bundle archive {name} into {str(root)!r}, got {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
