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
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .decode import decoder_config, decoder_option_names, decoder_spec
from .errors import ManifestError, UserInputError
from .preprocess import InputFormat
from .targets.catalogue import FORMATS, parse_format
from .tasks.registry import TASKS

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

TOP_KEYS = ("schema", "name", "task", "labels", "input", "decoder", "artifacts", "source", "created", "edgevision")
REQUIRED_KEYS = ("schema", "task", "decoder", "artifacts")
INPUT_KEYS = ("size", "layout", "color", "resize", "mean", "std", "pad_value")
ARTIFACT_KEYS = ("file", "format", "precision", "sha256", "size", "weights", "converter", "fidelity", "input", "report")
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
    converter: dict = field(default_factory=dict)
    fidelity: dict = field(default_factory=dict)
    input: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ARTIFACT_KEYS}
        return {k: v for k, v in d.items() if v not in ({}, None)}


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
    """Validate a manifest dict and build the Manifest."""
    _check_keys(data, TOP_KEYS, where, REQUIRED_KEYS)
    if data["schema"] != SCHEMA_VERSION:
        raise ManifestError(f"expected schema {SCHEMA_VERSION} in {where}, got {data['schema']!r}")
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
        fmt = InputFormat(**_input_kwargs(data.get("input") or {}, where))
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
        if entry["format"] not in FORMATS:
            raise ManifestError(f"expected format among {', '.join(FORMATS)} for {target!r}, got {entry['format']!r}")
        if Path(entry["file"]).name != entry["file"]:
            raise ManifestError(f"expected a file name inside the bundle for {target!r}, got {entry['file']!r}")
        artifacts[target] = Artifact(**entry)
    source = data.get("source") or {}
    _check_keys(source, SOURCE_KEYS, f"source of {where}")
    return Manifest(task=task, decoder=decoder, labels=labels, input=fmt, artifacts=artifacts,
                    name=data.get("name", ""), source=source, created=data.get("created", ""),
                    edgevision=data.get("edgevision", ""))


def _input_kwargs(section: Mapping, where: str) -> dict:
    _check_keys(section, INPUT_KEYS, f"input of {where}")
    kwargs = {k: v for k, v in section.items() if v is not None}
    if "size" in kwargs:
        kwargs["size"] = tuple(int(v) for v in kwargs["size"])
    return kwargs


def read_manifest(bundle: str | Path) -> Manifest:
    """Read and validate ``bundle/manifest.json``."""
    path = Path(bundle) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"expected {MANIFEST} in bundle {str(bundle)!r}, got none") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ManifestError(f"expected JSON in {path}, got a parse error: {e}") from None
    return parse_manifest(data, str(path))


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_artifact(bundle: str | Path, artifact: Artifact) -> Path:
    """The artifact's path, after checking it (and an IR's .bin weights) exists and matches its sha256."""
    path = Path(bundle) / artifact.file
    checks = [(artifact.file, artifact.sha256)]
    weights_suffix = FORMATS[artifact.format].weights_suffix
    if weights_suffix:
        if not artifact.weights:
            raise ManifestError(f"expected a weights entry (the {weights_suffix}) for {artifact.format} "
                                f"{artifact.file!r}, got none")
        checks.append((artifact.weights.get("file", ""), artifact.weights.get("sha256", "")))
    for name, expected in checks:
        file = Path(bundle) / name
        if not file.is_file():
            raise ManifestError(f"expected artifact file {name!r} in bundle {str(bundle)!r}, got none")
        digest = sha256_file(file)
        if digest != expected:
            raise ManifestError(f"expected sha256 {expected[:12]}… for {name}, got {digest[:12]}…")
    return path


def write_bundle(dest: str | Path, manifest: Manifest, files: Mapping[str, str | Path], *,
                 overwrite: bool = False) -> Path:
    """Write a bundle atomically. ``files`` maps names inside the bundle to source paths.

    Artifacts' ``sha256`` and ``size`` are computed here from the files written.
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise UserInputError(f"expected a new bundle path, got existing {str(dest)!r} (pass overwrite=True)")
    for name, src in files.items():
        if not Path(src).is_file():
            raise UserInputError(f"expected a file to copy into the bundle as {name!r}, got missing path {str(src)!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        for name, src in files.items():
            shutil.copy2(src, tmp / name)
        for target, art in manifest.artifacts.items():
            path = tmp / art.file
            if not path.is_file():
                raise UserInputError(f"expected artifact file {art.file!r} for {target!r} among the files, got none")
            art.sha256, art.size = sha256_file(path), path.stat().st_size
            weights_suffix = FORMATS[parse_format(art.format)].weights_suffix
            if weights_suffix:  # the weights are half the artifact: hash them too
                weights = path.with_suffix(weights_suffix)
                if not weights.is_file():
                    raise UserInputError(f"expected {weights.name} beside {art.file} among the files, got none")
                art.weights = {"file": weights.name, "sha256": sha256_file(weights), "size": weights.stat().st_size}
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
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def extract_bundle(archive: str | Path, cache: str | Path | None = None) -> Path:
    """Unpack a zipped bundle once into a cache directory keyed by the zip's sha256; returns the bundle dir."""
    archive = Path(archive)
    digest = sha256_file(archive)
    root = Path(cache) if cache else Path.home() / ".cache" / "edgevision" / "bundles"
    dest = root / digest[:16]
    if (dest / MANIFEST).is_file():
        return dest
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            prefix = os.path.commonpath(names) if len(names) > 1 else ""
            if prefix and f"{prefix}/{MANIFEST}" not in names:
                prefix = ""
            root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=root))
            try:
                for name in names:
                    rel = Path(name).relative_to(prefix) if prefix else Path(name)
                    if rel.is_absolute() or ".." in rel.parts:
                        raise ManifestError(f"expected relative paths in bundle archive {archive.name}, got {name!r}")
                    (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                    (tmp / rel).write_bytes(zf.read(name))
                if not (tmp / MANIFEST).is_file():
                    raise ManifestError(f"expected {MANIFEST} in bundle archive {archive.name}, got none")
                os.replace(tmp, dest)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except zipfile.BadZipFile as e:
        raise ManifestError(f"expected a zip archive of a bundle, got {archive.name}: {e}") from None
    return dest
