"""What ``import edgevision`` costs over a bare interpreter: time, resident memory, and which modules it loads.

Each round starts two fresh interpreters, alternating: a bare one, and one that imports
edgevision. Each reports its own peak RSS (``ru_maxrss``) and the time from its first
line to the end of the import (``time.perf_counter``); the parent also times both whole
processes. Medians over the rounds, and their differences, are printed with the targets
(import adds at most 20 MB RSS and 60 ms), then the heavy modules it loaded (none expected).

Run it from the repository root after ``pip install -e ".[all]"``::

    python examples/bench_import.py --rounds 20
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time

HEAVY = ("numpy", "cv2", "tensorflow", "keras", "nncf", "onnx", "tf2onnx", "torch", "openvino", "onnxruntime",
         "ai_edge_litert", "rich", "edgevision.model", "edgevision.converters")
PROBE = """\
import resource, sys, time, json
start = time.perf_counter()
{body}
took = time.perf_counter() - start
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"seconds": took, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "heavy": heavy}}))
"""
TARGET_MB, TARGET_MS = 20.0, 60.0


def run(body: str) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body, heavy=HEAVY)], capture_output=True,
                         text=True, check=True)
    record = json.loads(out.stdout)
    record["process_seconds"] = time.perf_counter() - started
    return record


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=20, help="bare/import pairs to run (default 20)")
    args = p.parse_args()
    bare, imported = [], []
    for _ in range(args.rounds):  # alternating, so drift on a shared machine hits both alike
        bare.append(run("pass"))
        imported.append(run("import edgevision"))
    med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    rss_mb = (med(imported, "maxrss_kb") - med(bare, "maxrss_kb")) / 1024
    import_ms = 1000 * med(imported, "seconds")
    process_ms = 1000 * (med(imported, "process_seconds") - med(bare, "process_seconds"))
    heavy = sorted({m for r in imported for m in r["heavy"]})
    print(f"python {platform.python_version()} on {platform.machine()}, {args.rounds} rounds, medians")
    print(f"import edgevision: {import_ms:.1f} ms in-process (target <= {TARGET_MS:.0f} ms); whole process "
          f"{process_ms:+.1f} ms over a bare interpreter")
    print(f"peak RSS: {med(imported, 'maxrss_kb') / 1024:.1f} MB vs bare {med(bare, 'maxrss_kb') / 1024:.1f} MB: "
          f"{rss_mb:+.1f} MB (target <= {TARGET_MB:.0f} MB)")
    print(f"heavy modules loaded: {', '.join(heavy) or 'none'}")
    ok = import_ms <= TARGET_MS and rss_mb <= TARGET_MB and not heavy
    print("within targets" if ok else "OUTSIDE the targets")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
