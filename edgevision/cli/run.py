"""``edgevision run MODEL --source PATH``: one result line per frame (JSON with --json)."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from typing import Any, Optional

from .options import _positive_int, add_model_arguments, load_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.add_argument("--source", required=True, help="an image, a directory of images, or a video file")
    p.add_argument("--json", action="store_true", help="one JSON object per frame on stdout")
    p.add_argument("--max-frames", type=_positive_int, help="stop after this many frames")


def describe(result: Any) -> str:
    """A short human line for one result."""
    d = result.to_dict()
    if d["task"] == "classification":
        return ", ".join(f"{c['label']} {c['score']:.2f}" for c in d["classes"]) or "no class above threshold"
    if d["task"] == "detection":
        items = [f"{x['label']} {x['score']:.2f} [{', '.join(f'{v:.0f}' for v in x['xyxy'])}]" for x in d["detections"]]
        return f"{len(items)} detection{'s' if len(items) != 1 else ''}" + (": " + "; ".join(items) if items else "")
    return ", ".join(f"{c['label']} {100 * c['fraction']:.1f}%" for c in d["classes"])


def run(args: argparse.Namespace) -> int:
    from ..sources import open_source

    frames = open_source(args.source, max_frames=args.max_frames)  # a missing source fails before the model loads
    model = load_model(args)
    info = model.info()
    be = info["backend"]
    header: Optional[str] = (f"model: {info['artifact']['file']} · {info['task']} · {be['backend']} "
                             f"{be['version']} on {be['device']} · {be.get('threads')} threads")
    infer_ms = []
    out = sys.stdout
    for frame in frames:
        if header:  # after the first frame decodes: a source that cannot be read leaves one error line only
            print(header, file=sys.stderr)
            header = None
        result = model.predict(frame.image)
        t = model.timings
        infer_ms.append(1000 * t.infer)
        if args.json:
            record = {"frame": frame.index, "source": frame.name,
                      "size": [frame.image.shape[1], frame.image.shape[0]],
                      "latency_ms": {k: round(1000 * v, 3) for k, v in t._asdict().items()},
                      **result.to_dict()}
            out.write(json.dumps(record) + "\n")
        else:
            out.write(f"frame {frame.index} {frame.name}: {describe(result)} ({1000 * sum(t):.1f} ms)\n")
        out.flush()
    if infer_ms:
        print(f"{len(infer_ms)} frames · median inference {statistics.median(infer_ms):.2f} ms", file=sys.stderr)
    return 0
