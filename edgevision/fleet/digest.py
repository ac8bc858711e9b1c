"""A bundle's content digest: sha256 over its files' relative paths and sha256s, in sorted order.

The same function runs on the workstation and, as ``python -m edgevision.fleet.digest DIR``, on the
device, so a copy is skipped only when every file of the bundle there matches this one. It
needs nothing but the standard library. Prints ``absent`` for a directory that is not there.

Example:
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "manifest.json").write_text("{}")
    >>> bundle_digest(d)[:12]
    'd253681933d3'
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bundle_files(bundle: str | Path) -> list[Path]:
    """The bundle's regular files, relative to it, sorted (what is copied, and what the digest covers)."""
    root = Path(bundle)
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def bundle_digest(bundle: str | Path) -> str:
    """sha256 (hex) of ``"<sha256>  <relative path>\\n"`` for every file, sorted by path."""
    root = Path(bundle)
    h = hashlib.sha256()
    for rel in bundle_files(root):
        h.update(f"{_file_sha256(root / rel)}  {rel.as_posix()}\n".encode())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m edgevision.fleet.digest BUNDLE_DIR", file=sys.stderr)
        return 2
    path = Path(args[0])
    print(bundle_digest(path) if path.is_dir() else "absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
