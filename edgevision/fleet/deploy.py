"""Put a bundle on a device: skipped when the device already has it (same digest), else copied atomically.

The bundle goes as a tar stream through ``ssh`` into a fresh directory beside its final place
(``WORKDIR/bundles/NAME-DIGEST``), which is renamed into place only once complete; the device then
computes the digest itself (``python -m edgevision.fleet.digest``), which also proves that its
Python has edgevision. A mismatch is an error, never a half-copied bundle in use.

Example:
    >>> placed = deploy(Ssh(), parse_host("pi@pi1"), "bundle/", timeout=120)   # doctest: +SKIP
    >>> placed.copied, placed.path                                             # doctest: +SKIP
    (False, '.cache/edgevision/fleet/bundles/bundle-3f9c...')
"""
from __future__ import annotations

import shlex
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import RemoteError, UserInputError
from .digest import bundle_digest, bundle_files
from .hosts import Device, parse_host  # noqa: F401 - parse_host: for the docstring example
from .ssh import Ssh


@dataclass(frozen=True)
class Placed:
    """Where the bundle is on the device, its digest, whether it was copied now, and how long that took."""

    path: str
    digest: str
    copied: bool
    seconds: float


def remote_path(device: Device, bundle: str | Path, digest: str) -> str:
    """The bundle's directory on the device (relative paths are under the login's home).

    >>> remote_path(parse_host("pi@pi1 workdir=/srv/ev"), "out/my bundle", "ab" * 32)
    '/srv/ev/bundles/my_bundle-abababababababab'
    """
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(bundle).resolve().name) or "bundle"
    return f"{device.workdir.rstrip('/')}/bundles/{name}-{digest[:16]}"


def python_call(device: Device, *args: str) -> str:
    """A shell command line running the device's Python with ``args``, each quoted."""
    return " ".join([shlex.quote(device.python), *map(shlex.quote, args)])


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise RemoteError("expected the device to finish within its timeout, got none left")
    return left


def _remote_digest(ssh: Ssh, device: Device, path: str, deadline: float | None, stdin: object = None,
                   prefix: str = "") -> str:
    done = ssh.run(device, prefix + python_call(device, "-m", "edgevision.fleet.digest", path),
                   stdin=stdin, timeout=_remaining(deadline))  # type: ignore[arg-type]
    out = done.stdout.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0 or not out:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RemoteError(f"expected edgevision importable by {device.python} on {device.name} (python= in the "
                          f"hosts file), got exit {done.returncode}: {err[-1] if err else 'no output'}")
    return out[-1]


def deploy(ssh: Ssh, device: Device, bundle: str | Path, *, timeout: float | None = None,
           digest: str | None = None) -> Placed:
    """Make sure ``device`` holds ``bundle``; copy it only when its digest differs or it is absent."""
    bundle = Path(bundle)
    if not (bundle / "manifest.json").is_file():
        raise UserInputError(f"expected a bundle directory with a manifest.json, got {str(bundle)!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    t0 = time.monotonic()
    digest = digest or bundle_digest(bundle)
    path = remote_path(device, bundle, digest)
    if _remote_digest(ssh, device, path, deadline) == digest:
        return Placed(path, digest, False, round(time.monotonic() - t0, 3))
    q = shlex.quote
    incoming = f"{path}.incoming"
    unpack = (f"set -e; mkdir -p {q(str(Path(path).parent))}; rm -rf {q(incoming)}; mkdir {q(incoming)}; "
              f"tar -x -f - -C {q(incoming)}; rm -rf {q(path)}; mv {q(incoming)} {q(path)}; ")
    with tempfile.TemporaryFile() as archive:
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for rel in bundle_files(bundle):
                tar.add(bundle / rel, arcname=rel.as_posix(), recursive=False)
        archive.seek(0)
        got = _remote_digest(ssh, device, path, deadline, stdin=archive, prefix=unpack)
    if got != digest:
        raise RemoteError(f"expected the bundle on {device.name} to have digest {digest[:16]}… after the copy, "
                          f"got {got[:16]}…")
    return Placed(path, digest, True, round(time.monotonic() - t0, 3))
