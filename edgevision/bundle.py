"""The bundle: a directory with manifest.json, one artifact per target, and the labels.

The manifest is plain data (schema version 1), validated on read with unknown
keys named; every artifact's sha256 is checked before a runtime sees it. The
writer builds the bundle in a temporary directory beside the destination and
renames it into place, so a bundle is either complete or absent.

Example:
    >>> m = Manifest(task="classification", labels=["cat", "dog"], decoder=decoder_config("classification"))
    >>> m.to_dict()["schema"]
    1
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .archive import extract_bundle
from .decode import decoder_config, decoder_option_names, decoder_spec
from .errors import ManifestError, UserInputError
from .integrity import ModelBytes, plain_name, read_file, side_locations
from .integrity import verify_artifact as _verify
from .limits import MAX_MANIFEST_BYTES, load_json
from .preprocess import InputFormat
from .targets.catalogue import FORMATS, parse_format
from .tasks.registry import TASKS
from .validate import check_artifact_entry, check_input_section, check_strings, is_int

__all__ = ["MANIFEST", "SCHEMA_VERSION", "Artifact", "Manifest", "extract_bundle", "parse_manifest", "read_manifest",
           "sha256_file", "verify_artifact", "write_bundle"]

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

TOP_KEYS = ("schema", "name", "task", "labels", "input", "decoder", "artifacts", "source", "created", "edgevision")
REQUIRED_KEYS = ("schema", "task", "decoder", "artifacts")
INPUT_KEYS = ("size", "layout", "color", "resize", "mean", "std", "pad_value")
ARTIFACT_KEYS = ("file", "format", "precision", "sha256", "size", "weights", "external_data", "converter", "fidelity",
                 "input", "report")
ARTIFACT_REQUIRED = ("file", "format", "precision", "sha256")
SOURCE_KEYS = ("file", "sha256", "format", "metadata")  # metadata: {setting: where the source's file said it}


@dataclass
class Artifact:
    """One compiled model in a bundle, for one target."""

    file: str
    format: str
    precision: str
    sha256: str = ""
    size: int = 0
    weights: dict = field(default_factory=dict)  # OpenVINO IR: {"file": "x.bin", "sha256": ..., "size": ...}
    external_data: list = field(default_factory=list)  # ONNX: [{"file": ..., "sha256": ..., "size": ...}] it names
    converter: dict = field(default_factory=dict)
    fidelity: dict = field(default_factory=dict)
    input: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ARTIFACT_KEYS}
        return {k: v for k, v in d.items() if v not in ({}, [], None)}


@dataclass
class Manifest:
    """Everything the runtime needs to run a bundle with no other flag."""

    task: str
    decoder: dict
    labels: list = field(default_factory=list)
    input: InputFormat = field(default_factory=InputFormat)
    artifacts: dict = field(default_factory=dict)  # target id -> Artifact
    name: str = ""
    source: dict = field(default_factory=dict)
    created: str = ""
    edgevision: str = ""

    def to_dict(self) -> dict[str, Any]:
        from . import __version__

        return {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "task": self.task,
            "labels": list(self.labels),
            "input": self.input.to_dict(),
            "decoder": dict(self.decoder),
            "artifacts": {t: a.to_dict() for t, a in self.artifacts.items()},
            "source": dict(self.source),
            "created": self.created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "edgevision": self.edgevision or __version__,
        }


def _check_keys(data: Mapping, valid: tuple, where: str, required: tuple = ()) -> None:
    if not isinstance(data, Mapping):
        raise ManifestError(f"expected an object for {where}, got {type(data).__name__}")
    for key in data:
        if key not in valid:
            raise ManifestError(f"unknown key {key!r} in {where}; valid keys: {', '.join(valid)}")
    for key in required:
        if key not in data:
            raise ManifestError(f"expected key {key!r} in {where}, got none")


def parse_manifest(data: Any, where: str = MANIFEST) -> Manifest:
    """Validate a manifest dict and build the Manifest: keys, types and ranges, each failure naming its key."""
    _check_keys(data, TOP_KEYS, where, REQUIRED_KEYS)
    if not is_int(data["schema"]) or data["schema"] != SCHEMA_VERSION:
        raise ManifestError(f"expected schema {SCHEMA_VERSION} in {where}, got {data['schema']!r}")
    check_strings(data, ("task", "name", "created", "edgevision"), where, ManifestError)
    task = data["task"]
    if task not in TASKS:
        raise ManifestError(f"expected task among {', '.join(TASKS)} in {where}, got {task!r}")
    decoder = data["decoder"]
    if isinstance(decoder, Mapping) and "normalized" in decoder:  # schema 1 before box_format: true/false/null
        decoder = {**decoder, "box_format": {True: "normalized", False: "pixels"}.get(decoder["normalized"])}
        del decoder["normalized"]
    _check_keys(decoder, ("type", *decoder_option_names()), f"decoder of {where}", ("type",))
    try:
        decoder = decoder_config(decoder["type"], decoder)
        section = data.get("input") or {}
        _check_keys(section, INPUT_KEYS, f"input of {where}")
        check_input_section(section, f"input of {where}", ManifestError)
        fmt = InputFormat(**_input_kwargs(section))
    except ManifestError:
        raise
    except UserInputError as e:
        raise ManifestError(f"{e} (in {where})") from None
    if decoder_spec(decoder["type"]).task != task:
        raise ManifestError(f"expected a {task} decoder in {where}, got {decoder['type']!r}")
    labels = data.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ManifestError(f"expected labels as a list of strings in {where}, got {type(labels).__name__}")
    artifacts = {}
    if not isinstance(data["artifacts"], Mapping):
        raise ManifestError(f"expected artifacts as an object keyed by target id in {where}, "
                            f"got {type(data['artifacts']).__name__}")
    if not data["artifacts"]:
        raise ManifestError(f"expected at least one artifact in {where}, got none")
    for target, entry in data["artifacts"].items():
        _check_keys(entry, ARTIFACT_KEYS, f"artifact {target!r} of {where}", ARTIFACT_REQUIRED)
        check_artifact_entry(entry, f"artifact {target!r} of {where}", ManifestError)
        if entry["format"] not in FORMATS:
            raise ManifestError(f"expected format among {', '.join(FORMATS)} for {target!r}, got {entry['format']!r}")
        artifacts[target] = Artifact(**{k: v for k, v in entry.items() if v is not None})
    source = data.get("source") or {}
    _check_keys(source, SOURCE_KEYS, f"source of {where}")
    check_strings(source, ("file", "sha256", "format"), f"source of {where}", ManifestError)
    if not isinstance(source.get("metadata", {}), Mapping):
        raise ManifestError(f"expected an object for 'metadata' in source of {where}, got {source['metadata']!r}")
    return Manifest(task=task, decoder=decoder, labels=labels, input=fmt, artifacts=artifacts,
                    name=data.get("name", ""), source=source, created=data.get("created", ""),
                    edgevision=data.get("edgevision", ""))


def _input_kwargs(section: Mapping) -> dict:
    kwargs = {k: v for k, v in section.items() if v is not None}
    if "size" in kwargs:
        kwargs["size"] = tuple(int(v) for v in kwargs["size"])
    return kwargs


def read_manifest(bundle: str | Path) -> Manifest:
    """Read and validate ``bundle/manifest.json`` (a regular file inside the bundle, within the JSON limits)."""
    path = Path(bundle) / MANIFEST
    data = read_file(Path(bundle), MANIFEST, limit=MAX_MANIFEST_BYTES, error=ManifestError,
                     place=f"in bundle {str(bundle)!r}")
    return parse_manifest(load_json(data, str(path), ManifestError), str(path))


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_artifact(bundle: str | Path, artifact: Artifact) -> ModelBytes:
    """Every file the artifact runs with, read once and checked against its sha256 and size (see ``integrity``).

    The result is path-like (the artifact's path) and carries the checked bytes, which
    ``edgevision.backends.open_backend`` hands to the runtime.
    """
    return _verify(bundle, artifact)


def write_bundle(dest: str | Path, manifest: Manifest, files: Mapping[str, str | Path], *,
                 overwrite: bool = False) -> Path:
    """Write a bundle atomically. ``files`` maps names inside the bundle to source paths.

    Artifacts' ``sha256`` and ``size`` are computed here from the files written, and so
    are those of every file a runtime loads with them: an IR's weights, and the
    external data an ONNX model names (which must be among ``files``).
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise UserInputError(f"expected a new bundle path, got existing {str(dest)!r} (pass overwrite=True)")
    for name, src in files.items():
        plain_name(name, "a file of the bundle", UserInputError)
        if not Path(src).is_file():
            raise UserInputError(f"expected a file to copy into the bundle as {name!r}, got missing path {str(src)!r}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    except OSError as e:
        raise UserInputError(f"expected a directory the bundle can be written in, got {str(dest.parent)!r} "
                             f"({e.strerror or e})") from None
    try:
        for name, src in files.items():
            shutil.copy2(src, tmp / name)
        for target, art in manifest.artifacts.items():
            _hash_artifact(tmp, target, art)
        if manifest.labels:
            (tmp / "labels.txt").write_text("\n".join(manifest.labels) + "\n", encoding="utf-8")
        (tmp / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
        parse_manifest(json.loads((tmp / MANIFEST).read_text()), str(dest / MANIFEST))  # never write what we cannot read
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except OSError as e:
        raise UserInputError(f"expected to write the bundle {str(dest)!r}, got {e.strerror or e}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _entry(path: Path) -> dict[str, Any]:
    return {"file": path.name, "sha256": sha256_file(path), "size": path.stat().st_size}


def _hash_artifact(tmp: Path, target: str, art: Artifact) -> None:
    """Fill in the sha256 and size of an artifact and of every file its runtime loads with it."""
    path = tmp / art.file
    if not path.is_file():
        raise UserInputError(f"expected artifact file {art.file!r} for {target!r} among the files, got none")
    art.sha256, art.size = sha256_file(path), path.stat().st_size
    weights_suffix = FORMATS[parse_format(art.format)].weights_suffix
    if weights_suffix:  # the weights are half the artifact: hash them too
        weights = path.with_suffix(weights_suffix)
        if not weights.is_file():
            raise UserInputError(f"expected {weights.name} beside {art.file} among the files, got none")
        art.weights = _entry(weights)
    art.external_data = []
    for location in side_locations(art.format, path.read_bytes(), art.file):
        side = tmp / plain_name(location, f"external data of {art.file}", UserInputError)
        if not side.is_file():
            raise UserInputError(f"expected the external data {location!r} of {art.file} among the files, got none")
        art.external_data.append(_entry(side))
