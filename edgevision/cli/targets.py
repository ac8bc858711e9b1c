"""``edgevision targets``: the target profiles, and which of them can run on this machine."""
from __future__ import annotations

import argparse
import json
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("profile", nargs="?", help="show one profile in full (an id or a .toml path)")
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from edgevision.targets import detect_device, list_targets, load_target

    if args.profile:
        target = load_target(args.profile)
        ok, reason = target.can_run_here()
        data = {**target.to_dict(), "runs_here": ok, "reason": reason}
        print(json.dumps(data, indent=None if args.json else 2))
        return 0
    detected = detect_device()
    rows = []
    for t in list_targets():
        ok, reason = t.can_run_here()
        d = t.to_dict()
        rows.append({"id": t.id, "name": t.name, "format": d["artifact"]["format"],
                     "precisions": d["artifact"]["precisions"], "backend": d["runtime"]["backend"],
                     "device": d["runtime"].get("device"), "detected": t.id in detected,
                     "runs_here": ok, "reason": reason})
    if args.json:
        print(json.dumps(rows))
        return 0
    from .console import table

    print(table(["target", "artifact", "precisions", "runtime", "runs here"],
                [[r["id"], r["format"], ",".join(r["precisions"]), f"{r['backend']}/{r['device']}",
                  f"{'yes' if r['runs_here'] else 'no'}: {r['reason']}"] for r in rows],
                tty=sys.stdout.isatty()))
    print(f"recognised on this machine: {', '.join(detected) or 'no listed device'}")
    return 0
