"""Soak: 10,000 frames from ``synthetic://`` through ``edgevision run``; resident memory must grow < 10 MB.

The run is the real command in a child process, with every per-frame path busy:
JSON lines on stdout, annotation and a JPEG written per frame (``--output
latest.jpg``, replaced atomically), and the live view (``--serve``) with a
viewer reading the MJPEG stream the whole time. This script reads the JSON lines
as they come and samples the child's ``VmRSS`` (``/proc/PID/status``) at fixed
frame counts. Growth is measured from the first frame (``--baseline``) to the
last; the growth after a warm-up of 500 frames is printed too (what a leak would
show as: it grows with the frame count, not in the first frames).

The model is the reference detector bundle of ``bench_run_throughput.py`` (the
trained ``examples/models/shapes_detector.keras`` when present, else the same
architecture untrained). Linux only (``/proc``).

Usage:
    python examples/soak_synthetic.py                     # 10,000 frames, live source at 240 fps
    python examples/soak_synthetic.py --source "synthetic://640x480@30?seed=2&pace=0" --frames 20000
    python examples/soak_synthetic.py --track          # + ByteTrack, a counting line and a zone on every frame

Exit code 0 whatever the figure; 2 when the run fails.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_run_throughput import reference_bundle  # noqa: E402

LIMIT_MB = 10.0


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def watch(url: str, stop: threading.Event, counts: list[int]) -> None:
    """A browser stand-in on the MJPEG stream: reads it for the whole run, counting parts."""
    try:
        with urllib.request.urlopen(url + "stream.mjpg", timeout=30) as stream:
            while not stop.is_set():
                chunk = stream.read(65536)
                if not chunk:
                    return
                counts[0] += chunk.count(b"--edgevisionframe")
    except OSError:  # the run ended and closed the connection
        return


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=10_000)
    p.add_argument("--source", default="synthetic://320x240@240?seed=1",
                   help="a synthetic:// URI (default: live, paced at 240 fps: faster than the model, so frames are dropped too)")
    p.add_argument("--baseline", type=int, default=1, help="frame whose RSS growth is measured from (default 1)")
    p.add_argument("--every", type=int, default=1000, help="sample RSS every N frames")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "edgevision-bench")
    p.add_argument("--track", action="store_true", help="also --track --count-line --zone (tracking's memory)")
    args = p.parse_args(argv)
    bundle, model = reference_bundle(args.cache)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "edgevision", "run", str(bundle), "--source", args.source,
                   "--max-frames", str(args.frames), "--threads", str(args.threads), "--json",
                   "--output", str(Path(tmp) / "latest.jpg"), "--serve", "127.0.0.1:0",
                   *(("--track", "--count-line", "0,120,320,120", "--zone", "160,0,320,0,320,240,160,240")
                     if args.track else ())]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        first = child.stderr.readline()
        if not first.startswith("live view: "):
            print(f"soak_synthetic: error: the run did not start: {first}{child.stderr.read()}", file=sys.stderr)
            return 2
        stop, parts = threading.Event(), [0]
        viewer = threading.Thread(target=watch, args=(first.split()[-1], stop, parts), daemon=True)
        viewer.start()
        samples: dict[int, float] = {}
        start, n, summary = time.monotonic(), 0, None
        marks = {1, 10, 100, 500, args.baseline} | set(range(args.every, args.frames + 1, args.every))
        for line in child.stdout:
            record = json.loads(line)
            if "summary" in record:
                summary = record["summary"]
                break
            n += 1  # noqa: SIM113 - frames, not lines: the summary line is not counted
            if n in marks:
                samples[n] = rss_mb(child.pid)
        stop.set()
        err = child.stderr.read()
        child.wait()
    if child.returncode != 0 or summary is None:
        print(f"soak_synthetic: error: the run failed (exit {child.returncode}):\n{err[-2000:]}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - start
    last = max(samples)
    growth, warm = samples[last] - samples[args.baseline], samples[last] - samples.get(500, samples[args.baseline])
    print(f"model: {model}")
    print(f"command: {' '.join('python' if c == sys.executable else c for c in command)}")
    print(f"frames: {summary['frames']} in {elapsed:.1f} s ({summary['fps']:.1f} fps), dropped {summary['dropped']}, "
          f"MJPEG parts read by the viewer: {parts[0]}")
    print("RSS MB by frame: " + ", ".join(f"{k}: {v:.1f}" for k, v in sorted(samples.items())))
    verdict = "meets" if growth < LIMIT_MB else "FAILS"
    print(f"RSS growth frame {args.baseline} -> {last}: {growth:+.2f} MB ({verdict} < {LIMIT_MB:g} MB); "
          f"after a 500-frame warm-up: {warm:+.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
