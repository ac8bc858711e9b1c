"""``edgevision fleet bench|run BUNDLE --host user@host ... | --hosts FILE``: one bundle on many devices over SSH.

``fleet bench`` copies the bundle where it is missing (skipped when the device has the same
digest), runs ``edgevision bench --json`` on every device in parallel (each within
``--timeout``), and prints one report across devices: a line per device, then the matrix with a
device column (``--json``, ``--report fleet.html``). A device that fails is a row with its
error, and the command exits non-zero after the report. ``fleet run`` starts
``edgevision run --publish`` in the background on every device.

Host keys are checked against known_hosts (``--known-hosts FILE``, default ssh's own); a host
not in it fails, unless ``--accept-new-host-keys`` trusts new hosts on first contact (said on
stderr). Each device needs Python with edgevision installed (``python=`` in the hosts file).

Examples:
    $ edgevision fleet bench bundle/ --host pi@pi5.lan --host pi@pi4.lan:2222 --runs 200 --report fleet.html
    $ edgevision fleet bench bundle/ --hosts devices.txt --timeout 300 --json > fleet.json
    $ edgevision fleet run bundle/ --hosts devices.txt --source csi://0 --publish "mqtt://broker.lan/ev/{device}" \
          --run-args "--mqtt-qos 1"
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import RemoteError, UserInputError
from .options import _positive_int


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle", help="a bundle directory")
    d = p.add_argument_group("devices")
    d.add_argument("--host", action="append", default=[], metavar="[USER@]HOST[:PORT]",
                   help="a device (repeatable); settings as in a hosts file may follow, e.g. "
                        "'pi@pi1 name=door python=/opt/ev/bin/python'")
    d.add_argument("--hosts", metavar="FILE", help="a hosts file: one device a line (see `edgevision fleet --help`)")
    d.add_argument("--python", help="the Python with edgevision on the devices (default: python3; python= wins)")
    s = p.add_argument_group("ssh")
    s.add_argument("--known-hosts", metavar="FILE", help="known_hosts file to check host keys against "
                                                          "(default: ssh's own, ~/.ssh/known_hosts)")
    s.add_argument("--accept-new-host-keys", action="store_true",
                   help="trust the key of a host not yet in known_hosts, and record it (a changed key still fails)")
    s.add_argument("-i", "--identity", metavar="KEY", help="SSH private key (default: ssh's own choice)")
    s.add_argument("--timeout", type=_seconds, default=600.0, metavar="S",
                   help="per device: copy + command must end within S seconds (default 600)")
    s.add_argument("--parallel", type=_positive_int, default=8, metavar="N", help="devices at a time (default 8)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="fleet_command", required=True, parser_class=type(p))
    b = sub.add_parser("bench", help="edgevision bench on every device, one report across them",
                       description="edgevision bench on every device, one report across them")
    _common(b)
    g = b.add_argument_group("bench on each device (as edgevision bench)")
    g.add_argument("--target", action="append", default=[], metavar="ID", help="repeatable: these targets only")
    g.add_argument("--runs", type=_positive_int, help="timed runs")
    g.add_argument("--duration", type=_seconds, metavar="S", help="time for at least S seconds instead")
    g.add_argument("--warmup", type=int, help="untimed runs first")
    g.add_argument("--threads", type=_positive_int, help="inference threads")
    g.add_argument("--source", help="frames: a path on the device (image, directory, video)")
    g.add_argument("--profile", action="store_true", help="per-layer profiles on each device")
    g.add_argument("--no-device-state", action="store_true", help="do not sample temperature, clocks, throttling")
    o = b.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="the report as one JSON object")
    o.add_argument("--report", metavar="PATH", help="an HTML page comparing the devices")
    r = sub.add_parser("run", help="start edgevision run --publish on every device, in the background",
                       description="start edgevision run --publish on every device, in the background")
    _common(r)
    r.add_argument("--source", required=True, help="the camera or stream on each device, e.g. csi://0")
    r.add_argument("--publish", required=True, metavar="URL",
                   help="mqtt://[user@]broker[:port]/topic; {device} becomes each device's name")
    r.add_argument("--run-args", default="", metavar="'OPTIONS'",
                   help="more edgevision run options, quoted as one, e.g. '--mqtt-qos 1 --max-frames 1000'")


def _devices(args: argparse.Namespace) -> list:
    from dataclasses import replace

    from ..fleet.hosts import DEFAULT_PYTHON, check_unique, parse_host, read_hosts

    devices = [parse_host(h) for h in args.host] + (read_hosts(args.hosts) if args.hosts else [])
    if args.python:
        devices = [replace(d, python=args.python) if d.python == DEFAULT_PYTHON else d for d in devices]
    return check_unique(devices)


def _ssh(args: argparse.Namespace) -> Any:
    from ..fleet.ssh import Ssh

    if args.accept_new_host_keys:
        print("edgevision fleet: warning: --accept-new-host-keys: the key of a host not in known_hosts is trusted "
              "on first contact and recorded (a changed key is still refused)", file=sys.stderr)
    return Ssh(known_hosts=args.known_hosts, accept_new=args.accept_new_host_keys, identity=args.identity).check()


def _bench_args(args: argparse.Namespace) -> list[str]:
    out = [x for t in args.target for x in ("--target", t)]
    for flag in ("runs", "duration", "warmup", "threads", "source"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag}", str(value)]
    return out + ["--profile"] * args.profile + ["--no-device-state"] * args.no_device_state


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    if not (Path(args.bundle) / "manifest.json").is_file():
        raise UserInputError(f"expected a bundle directory with a manifest.json, got {args.bundle!r}")
    devices, ssh = _devices(args), _ssh(args)
    if args.fleet_command == "run":
        return _start(args, devices, ssh)
    from ..bench import check_writable, write_atomic
    from ..fleet.bench import fleet_bench
    from ..fleet.report import render_fleet_html, render_fleet_text

    if args.report:
        check_writable(args.report, "--report")

    def done(row: Any) -> None:
        print(f"edgevision fleet: {row.device}: {'done' if row.ok else 'failed'} in {row.seconds:.1f} s",
              file=sys.stderr, flush=True)

    report = fleet_bench(args.bundle, devices, ssh=ssh, bench_args=_bench_args(args), timeout=args.timeout,
                         parallel=args.parallel, command=["edgevision", *sys.argv[1:]], on_done=done)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        sys.stdout.write(render_fleet_text(report))
    sys.stdout.flush()
    if args.report:
        write_atomic(args.report, render_fleet_html(report))
    if report.failed:
        raise RemoteError(f"expected every device to bench, got failures on {', '.join(report.failed)} "
                          f"(the report shows each error)")
    return 0


def _start(args: argparse.Namespace, devices: list, ssh: Any) -> int:
    from ..fleet.start import fleet_start
    from ..mqtt_url import parse_mqtt_url

    parse_mqtt_url(args.publish.replace("{device}", "device"))  # a malformed URL fails here, not on every device
    import shlex

    try:
        extra = shlex.split(args.run_args)
    except ValueError as e:
        raise UserInputError(f"expected --run-args as shell words, got {args.run_args!r} ({e})") from None
    started = fleet_start(args.bundle, devices, ssh=ssh, timeout=args.timeout, parallel=args.parallel,
                          run_args=["--source", args.source, "--publish", args.publish, *extra])
    for s in started:
        print(s.line())
    failed = [s.device for s in started if not s.ok]
    if failed:
        raise RemoteError(f"expected edgevision run to start on every device, got failures on {', '.join(failed)}")
    return 0

