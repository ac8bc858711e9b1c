"""``edgevision doctor``: check this device (runtimes, delegates, accelerators, clocks, heat, cameras, memory).

One line per check, OK / WARN / FAIL, with the fix under each line that is not OK; ``--json``
for scripts. Exits 1 when a check fails. ``--root DIR`` checks a device's filesystem tree
mounted elsewhere (an SD card image, or a test's fake tree) instead of ``/``.

Example:
    $ edgevision doctor
    $ edgevision doctor --json | jq '.checks[] | select(.status != "OK")'
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object: every check and the counts")
    p.add_argument("--root", type=Path, default=Path("/"), metavar="DIR",
                   help="the device's filesystem root (default /)")


def run(args: argparse.Namespace) -> int:
    from ..doctor import Status, run_checks
    from ..errors import UserInputError

    if not args.root.is_dir():
        raise UserInputError(f"expected --root to be a directory, got {str(args.root)!r}")
    checks = run_checks(args.root)
    counts = {s.value.lower(): sum(c.status is s for c in checks) for s in Status}
    if args.json:
        print(json.dumps({"root": str(args.root), "checks": [c.to_dict() for c in checks], "counts": counts}))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            print(f"{c.status.value:<4}  {c.name:<{width}}  {c.found}")
            if c.fix:
                print(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
        print(f"{counts['ok']} OK, {counts['warn']} WARN, {counts['fail']} FAIL")
    sys.stdout.flush()
    return 1 if counts["fail"] else 0
