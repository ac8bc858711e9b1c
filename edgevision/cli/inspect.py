"""``edgevision inspect MODEL``: inputs and outputs, dtypes, quantisation, op counts (float/int for .tflite)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..offsets import METADATA_NAME as OFFSETS_ENTRY


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a .tflite / .xml / .onnx file or a bundle directory")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _tensor_line(t: dict[str, Any]) -> str:
    q = t.get("quantization")
    quant = ""
    if isinstance(q, dict):
        quant = f"  scale={q['scale']:.6g} zero_point={q['zero_point']}"
    elif q:
        quant = f"  {q}"
    return f"    {t.get('name', '')}: {t.get('dtype')} {t.get('shape')}{quant}"


def render(d: dict[str, Any]) -> str:
    lines = [f"  format: {d['format']}"]
    for key in ("inputs", "outputs"):
        lines.append(f"  {key}:")
        lines += [_tensor_line(t) for t in d.get(key, [])]
    if "ops" in d:
        total = sum(d["ops"].values())
        lines.append(f"  ops ({total}): " + ", ".join(f"{k} x{v}" for k, v in d["ops"].items()))
    if "float_ops" in d:
        lines.append(f"  float ops: {d['float_ops']}, integer ops: {d['int_ops']}, "
                     f"quantize/dequantize: {sum(d['boundary_ops'].values())}, fully quantized: {d['fully_quantized']}")
    if "quantized_ops" in d:
        lines.append(f"  quantize/dequantize ops: {d['quantized_ops']}")
    if d.get("metadata_entries"):
        lines.append("  metadata entries: " + ", ".join(d["metadata_entries"])
                     + ("  (output offsets: the runtime adds them after dequantising)"
                        if OFFSETS_ENTRY in d["metadata_entries"] else ""))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..bundle import read_manifest, verify_artifact
    from ..formats.graphs import digest

    path = Path(args.model)
    if path.is_dir():
        manifest = read_manifest(path)
        report: dict[str, Any] = {"bundle": str(path), "manifest": manifest.to_dict(), "artifacts": {}}
        for target, art in manifest.artifacts.items():  # the bytes checked against the manifest are the ones read
            report["artifacts"][target] = digest(verify_artifact(path, art))
    else:
        from ..metadata import read_metadata

        report = {"model": str(path), **digest(path)}
        meta = read_metadata(path)
        if meta:
            report["metadata"] = meta.to_dict()
    if args.json:
        print(json.dumps(report, default=str))
        return 0
    if "bundle" in report:
        m = report["manifest"]
        print(f"bundle {path}: {m['task']} ({m['decoder']['type']}), {len(m['labels'])} labels, input {m['input']}")
        for target, d in report["artifacts"].items():
            art = m["artifacts"][target]
            print(f"{target}: {art['file']} ({art['format']}, {art['precision']}, {art.get('size', 0)} bytes)")
            print(render(d))
        if m["source"].get("metadata"):
            print("model information from the source's metadata: "
                  + ", ".join(f"{k} ({o})" for k, o in m["source"]["metadata"].items()))
    else:
        print(f"{path}:")
        print(render(report))
        if "metadata" in report:
            from ..metadata import ModelMetadata, describe

            m = report["metadata"]
            print(f"  metadata ({m['exporter']}), the defaults edgevision.load and convert use (flags override):")
            meta = ModelMetadata(settings=m["settings"], origins=m["origins"])
            print("\n".join(f"    {line}" for line in describe(meta)))
    return 0
