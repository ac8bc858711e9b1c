"""Validate a profile's data on load: unknown keys named with the valid ones, types, enums, consistency.

Every failure is a TargetError that says what was expected, where, and what came instead.

Example:
    >>> from edgevision.targets.schema import parse_profile
    >>> parse_profile({"id": "x"}, "my.toml", None)
    Traceback (most recent call last):
    ...
    edgevision.errors.TargetError: missing key 'name' at the top level of my.toml; required keys: id, name, ...
"""
from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from edgevision.errors import TargetError
from edgevision.limits import MAX_PROFILE_BYTES, MAX_TOML_DEPTH
from edgevision.targets.catalogue import (
    BACKENDS,
    FORMATS,
    NNCF_TARGET_DEVICES,
    ArtifactFormat,
    BackendName,
    Delegate,
    Precision,
)
from edgevision.targets.profile import TABLES, Artifact, Compiler, Detect, Runtime, Shape, Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

# table ("" = top level) -> key -> (kind, required); the order here is the order errors list keys in.
SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "": {"id": ("str", True), "name": ("str", True), "notes": ("str", False), "preference": ("int", False),
         "artifact": ("table", True),
         "runtime": ("table", True), "shape": ("table", True), "compiler": ("table", False),
         "detect": ("table", False)},
    "artifact": {"format": ("str", True), "precision": ("str", True), "precisions": ("list", True)},
    "runtime": {"backend": ("str", True), "device": ("str", True), "threads": ("int", True),
                "providers": ("list", False), "delegate": ("str", False)},
    "shape": {"static": ("bool", True), "batch": ("int", True), "max_rank": ("int", True)},
    "compiler": {"edgetpu_compiler_args": ("list", False), "compress_to_fp16": ("bool", False),
                 "nncf_target_device": ("str", False)},
    "detect": {f.name: ("bool" if f.name == "any_host" else "list", False) for f in dataclasses.fields(Detect)},
}
_KIND_NAMES = {"str": "a string", "int": "an integer", "bool": "a boolean", "list": "a list of strings",
               "table": "a table"}
_IS_KIND: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),  # TOML `true` is not a count
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v),
    "table": lambda v: isinstance(v, Mapping),
}
_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
_USB_PCI_ID_RE = re.compile(r"[0-9a-f]{4}:[0-9a-f]{4}")
_L4T_RE = re.compile(r"R\d+")


def read_toml(raw: bytes, source: str) -> dict[str, Any]:
    """Parse TOML bytes within ``MAX_PROFILE_BYTES`` and ``MAX_TOML_DEPTH``; any fault a TargetError naming ``source``."""
    if len(raw) > MAX_PROFILE_BYTES:
        raise TargetError(f"expected a profile of at most {MAX_PROFILE_BYTES >> 10} KiB in {source}, got {len(raw)} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise TargetError(f"expected a valid UTF-8 TOML profile in {source}, got: {e}") from None
    except RecursionError:  # arrays or tables nested thousands deep: the parser recurses once per level
        raise TargetError(f"expected a profile nested at most {MAX_TOML_DEPTH} deep in {source}, got deeper") from None
    if _depth(data) > MAX_TOML_DEPTH:
        raise TargetError(f"expected a profile nested at most {MAX_TOML_DEPTH} deep in {source}, got deeper")
    return data


def _depth(data: Any) -> int:
    """How deep tables and arrays nest in parsed TOML, without recursion."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_TOML_DEPTH:
                todo.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def parse_profile(data: Mapping[str, Any], source: str, path: Path | None) -> Target:
    """Check ``data`` (a parsed profile) against SCHEMA and the rules below; build the Target."""
    top = _check_table(data, "", source)
    t = {name: _check_table(top.get(name, {}), name, source) for name in TABLES}
    if not _ID_RE.fullmatch(top["id"]):
        raise _fail("'id' of lowercase letters, digits and dashes", "", source, top["id"])
    artifact = _artifact(t["artifact"], source)
    runtime = _runtime(t["runtime"], artifact, source)
    s = t["shape"]
    if s["batch"] < 1 or s["max_rank"] < 0:
        raise _fail("'batch' >= 1 and 'max_rank' >= 0 (0 = no limit)", "shape", source,
                    f"batch = {s['batch']}, max_rank = {s['max_rank']}")
    c = t["compiler"]
    if c.get("nncf_target_device", "ANY") not in NNCF_TARGET_DEVICES:
        raise _fail(f"'nncf_target_device' among {', '.join(NNCF_TARGET_DEVICES)}", "compiler", source,
                    c["nncf_target_device"])
    compiler = Compiler(tuple(c.get("edgetpu_compiler_args", ())), c.get("compress_to_fp16"),
                        c.get("nncf_target_device"))
    if top.get("preference", 0) < 0:
        raise _fail("'preference' >= 0 (lower is preferred)", "", source, top["preference"])
    return Target(top["id"], top["name"], top.get("notes", ""), artifact, runtime,
                  Shape(s["static"], s["batch"], s["max_rank"]), compiler, _detect(t["detect"], source), path,
                  top.get("preference"))


def _artifact(a: dict[str, Any], source: str) -> Artifact:
    precisions = tuple(_enum(Precision, p, "precisions", "artifact", source) for p in a["precisions"])
    if not precisions or len(set(precisions)) != len(precisions):
        raise _fail("'precisions' as a non-empty list without repeats", "artifact", source, a["precisions"])
    artifact = Artifact(_enum(ArtifactFormat, a["format"], "format", "artifact", source, FORMATS),
                        _enum(Precision, a["precision"], "precision", "artifact", source), precisions)
    if artifact.precision not in precisions:
        allowed = ", ".join(p.value for p in precisions)
        raise _fail(f"'precision' among the allowed precisions ({allowed})", "artifact", source, a["precision"])
    if Precision.DYNAMIC in precisions and artifact.format is not ArtifactFormat.TFLITE:
        raise _fail("'dynamic' only for format tflite (dynamic-range quantisation is TFLite's)", "artifact", source,
                    a["precisions"])
    if artifact.format is ArtifactFormat.EDGETPU_TFLITE and precisions != (Precision.INT8,):
        raise _fail("precisions = ['int8'] for edgetpu-tflite (the Edge TPU is full-integer only)", "artifact",
                    source, a["precisions"])
    return artifact


def _runtime(r: dict[str, Any], artifact: Artifact, source: str) -> Runtime:
    backend = _enum(BackendName, r["backend"], "backend", "runtime", source, BACKENDS)
    delegate = _enum(Delegate, r["delegate"], "delegate", "runtime", source) if "delegate" in r else None
    runtime = Runtime(backend, r["device"], r["threads"], tuple(r.get("providers", ())), delegate)
    if artifact.format not in BACKENDS[backend].reads:
        readable = ", ".join(sorted(str(f) for f in BACKENDS[backend].reads))
        raise _fail(f"a 'format' that backend {backend} reads ({readable})", "artifact", source,
                    str(artifact.format))
    if not runtime.device:
        raise _fail("a non-empty 'device'", "runtime", source, runtime.device)
    if runtime.threads < 0:
        raise _fail("'threads' >= 0 (0 = one per core)", "runtime", source, runtime.threads)
    if (backend is BackendName.ONNXRUNTIME) != bool(runtime.providers):
        raise _fail("'providers' (non-empty) exactly when backend is onnxruntime", "runtime", source,
                    list(runtime.providers) or f"none, with backend {backend}")
    if delegate is not None and backend is not BackendName.LITERT:
        raise _fail("'delegate' only with backend litert", "runtime", source, delegate.value)
    if (artifact.format is ArtifactFormat.EDGETPU_TFLITE) != (delegate is Delegate.EDGETPU):
        raise _fail("delegate = 'edgetpu' exactly when format is edgetpu-tflite", "runtime", source,
                    f"delegate {delegate.value if delegate else 'unset'} with format {artifact.format}")
    return runtime


def _detect(d: dict[str, Any], source: str) -> Detect:
    fields: dict[str, Any] = {k: (v if k == "any_host" else tuple(v)) for k, v in d.items()}
    detect = Detect(**fields)
    rules: list[tuple[str, Callable[[str], Any], str]] = [
        ("usb_ids", _USB_PCI_ID_RE.fullmatch, "lowercase hex 'vendor:product' like '1a6e:089a'"),
        ("pci_ids", _USB_PCI_ID_RE.fullmatch, "lowercase hex 'vendor:device' like '1ac1:089a'"),
        ("l4t_release", _L4T_RE.fullmatch, "L4T releases like 'R32'"),
        ("dev_nodes", lambda x: x.startswith("/"), "absolute paths like '/dev/apex_0'")]
    for key, ok, what in rules:
        for bad in (x for x in getattr(detect, key) if not ok(x)):
            raise _fail(f"{key!r} entries as {what}", "detect", source, bad)
    return detect


def _where(table: str, source: str) -> str:
    return f"in [{table}] of {source}" if table else f"at the top level of {source}"


def _fail(expected: str, table: str, source: str, got: Any) -> TargetError:
    return TargetError(f"expected {expected} {_where(table, source)}, got {got!r}")


def _check_table(data: Any, table: str, source: str) -> dict[str, Any]:
    """Check one table's keys and value types against SCHEMA; return it as a dict."""
    schema, where = SCHEMA[table], _where(table, source)
    if not isinstance(data, Mapping):
        raise TargetError(f"expected a table {where}, got {type(data).__name__}")
    for key in data:
        if key not in schema:
            raise TargetError(f"unknown key {key!r} {where}; valid keys: {', '.join(schema)}")
    for key, (kind, required) in schema.items():
        if key not in data:
            if required:
                needed = ", ".join(k for k, (_, req) in schema.items() if req)
                raise TargetError(f"missing key {key!r} {where}; required keys: {needed}")
        elif not _IS_KIND[kind](data[key]):
            shown = repr(data[key]) if len(repr(data[key])) <= 60 else repr(data[key])[:57] + "..."
            raise TargetError(f"expected {_KIND_NAMES[kind]} for {key!r} {where}, "
                              f"got {shown} ({type(data[key]).__name__})")
    return dict(data)


def _enum(enum: type[Enum], value: str, key: str, table: str, source: str, registry: Any = None) -> Any:
    """The enum member named ``value`` or, with a ``registry`` (a catalogue table), a name registered there."""
    if registry is not None and value in registry and value not in enum._value2member_map_:
        return value
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(registry if registry is not None else (m.value for m in enum))
        raise _fail(f"{key!r} to be one of {choices}", table, source, value) from None
