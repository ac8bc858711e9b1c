"""edgevision fleet against real OpenSSH servers on loopback ports, each standing for a device.

The devices run the commands as the test user with this venv's Python (python= in the hosts
file), so `edgevision` is importable there as it would be on a provisioned Pi.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _sshd import SshDevice, keygen

from edgevision.bundle import Artifact, Manifest, write_bundle
from edgevision.decode import decoder_config
from edgevision.fleet.bench import fleet_bench
from edgevision.fleet.deploy import deploy
from edgevision.fleet.hosts import parse_host, read_hosts
from edgevision.fleet.report import FleetReport, render_fleet_html, render_fleet_text
from edgevision.fleet.ssh import Ssh

pytestmark = pytest.mark.slow
BENCH_ARGS = ["--runs", "10", "--warmup", "2", "--no-device-state"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Three devices (sshd each) and what a client needs: a user key, known_hosts, a hosts file, a bundle."""
    import _onnx_models

    ov = pytest.importorskip("openvino")
    root = tmp_path_factory.mktemp("fleet")
    user_key = root / "id_ed25519"
    public = keygen(user_key)
    devices = [SshDevice(root, name, public).start() for name in ("pi-a", "pi-b", "pi-c")]
    impostor = SshDevice(root, "impostor", public)  # pi-c's known_hosts entry is another machine's key
    known = root / "known_hosts"
    lines = [d.known_hosts_line for d in devices[:2]]
    lines.append(f"[127.0.0.1]:{devices[2].port} {impostor.known_hosts_line.split(' ', 1)[1]}")
    known.write_text("\n".join(lines) + "\n")
    hosts = root / "devices.txt"
    hosts.write_text("# three loopback devices\n" + "".join(
        f"{os.environ.get('USER', 'root')}@127.0.0.1:{d.port} name={d.name} python={sys.executable} "
        f"workdir={root / 'remote' / d.name}\n" for d in devices))
    onnx = _onnx_models.bright_spot_detector(root / "det.onnx")
    ov.save_model(ov.convert_model(str(onnx)), str(root / "det.xml"), compress_to_fp16=False)
    manifest = Manifest(task="detection", decoder=decoder_config("yolo"), labels=list(_onnx_models.LABELS),
                        artifacts={"intel-cpu": Artifact(file="det.xml", format="openvino-ir", precision="fp32")})
    bundle = write_bundle(root / "bundle", manifest, {"det.xml": root / "det.xml", "det.bin": root / "det.bin"})
    yield {"root": root, "key": user_key, "known": known, "hosts": hosts, "bundle": bundle, "devices": devices}
    for d in devices:
        d.stop()


def cli(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgevision", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_fleet_bench_three_devices_one_refused_by_its_host_key(fleet):
    html = fleet["root"] / "fleet.html"
    proc = cli("fleet", "bench", fleet["bundle"], "--hosts", fleet["hosts"], "--known-hosts", fleet["known"],
               "-i", fleet["key"], "--report", html, *BENCH_ARGS)
    assert proc.returncode == 5, proc.stderr
    print(proc.stdout)  # the report a person reads (pytest -s shows it)
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.startswith("pi-")}
    assert "intel-cpu" in rows["pi-a"] and "openvino" in rows["pi-a"] and "intel-cpu" in rows["pi-b"]
    assert "error: RemoteError" in rows["pi-c"] and "host key" in rows["pi-c"]
    assert "failures on pi-c" in proc.stderr.splitlines()[-1]
    page = html.read_text()
    assert page.count("<tr>") == 4 and "pi-c" in page and 'data-chart="fleet-latency"' in page


def test_json_report_reads_back_and_a_second_run_skips_the_copy(fleet):
    devices = read_hosts(fleet["hosts"])[:2]
    ssh = Ssh(known_hosts=str(fleet["known"]), identity=str(fleet["key"]))
    first = fleet_bench(fleet["bundle"], devices, ssh=ssh, bench_args=BENCH_ARGS)
    second = fleet_bench(fleet["bundle"], devices, ssh=ssh, bench_args=BENCH_ARGS)
    assert all(d.ok for d in first.devices + second.devices), [d.error for d in first.devices + second.devices]
    assert [d.bundle["copied"] for d in second.devices] == [False, False]
    assert {d.bundle["digest"] for d in second.devices} == {first.digest}
    again = FleetReport.from_dict(json.loads(json.dumps(second.to_dict())))
    assert render_fleet_text(again) == render_fleet_text(second)
    assert render_fleet_html(again) == render_fleet_html(second)
    run = second.devices[0].report.runs[0]
    assert run.label == "intel-cpu" and run.counts.runs == 10


def test_a_changed_bundle_is_copied_again(fleet, tmp_path):
    bundle = shutil.copytree(fleet["bundle"], tmp_path / "bundle")
    device = read_hosts(fleet["hosts"])[0]
    ssh = Ssh(known_hosts=str(fleet["known"]), identity=str(fleet["key"]))
    first = deploy(ssh, device, bundle, timeout=60)
    (Path(bundle) / "labels.txt").write_text("changed\n")
    second = deploy(ssh, device, bundle, timeout=60)
    assert second.digest != first.digest and second.copied
    assert deploy(ssh, device, bundle, timeout=60).copied is False


def test_unknown_host_fails_unless_new_keys_are_accepted_and_then_recorded(fleet, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("")
    device = read_hosts(fleet["hosts"])[1]
    strict = Ssh(known_hosts=str(known), identity=str(fleet["key"]))
    row = fleet_bench(fleet["bundle"], [device], ssh=strict, bench_args=BENCH_ARGS).devices[0]
    assert not row.ok and "host key is known" in row.error.message and "not in known_hosts" in row.error.message
    assert "--accept-new-host-keys" in row.error.message
    trusting = Ssh(known_hosts=str(known), accept_new=True, identity=str(fleet["key"]))
    assert trusting.run(device, "true", timeout=30).returncode == 0
    assert fleet["devices"][1].known_hosts_line.split()[-1] in known.read_text()  # its key (the name may be hashed)
    assert strict.run(device, "true", timeout=30).returncode == 0  # now known


def test_a_device_past_its_timeout_is_a_row_and_the_others_finish(fleet, tmp_path):
    slow = tmp_path / "slow-python"
    slow.write_text(f"#!/bin/sh\nsleep 30\nexec {sys.executable} \"$@\"\n")
    slow.chmod(0o755)
    devices = read_hosts(fleet["hosts"])[:2]
    devices[1] = parse_host(f"{devices[1].destination}:{devices[1].port} name=slow python={slow} "
                            f"workdir={devices[1].workdir}")
    ssh = Ssh(known_hosts=str(fleet["known"]), identity=str(fleet["key"]))
    report = fleet_bench(fleet["bundle"], devices, ssh=ssh, bench_args=BENCH_ARGS, timeout=20)
    assert report.devices[0].ok
    slow_row = report.devices[1]
    assert not slow_row.ok and "within 20 s" in slow_row.error.message and slow_row.seconds < 29


def test_fleet_run_starts_run_publish_on_every_device(fleet, tmp_path):
    import _onnx_models  # noqa: F401 - the bundle's model comes from there
    from _mosquitto import Broker, Subscriber, readable_dir

    shared = readable_dir()
    broker = Broker(shared).start()
    sub = Subscriber(broker.port, "fleet/#")
    try:
        proc = cli("fleet", "run", fleet["bundle"], "--hosts", fleet["hosts"], "--known-hosts", fleet["known"],
                   "-i", fleet["key"], "--source", "synthetic://160x120@30?seed=1&pace=0",
                   "--publish", f"mqtt://127.0.0.1:{broker.port}/fleet/{{device}}", "--run-args", "--max-frames 5")
        assert proc.returncode == 5, proc.stderr  # pi-c: its host key does not match
        lines = proc.stdout.splitlines()
        assert [ln.split()[0] for ln in lines] == ["pi-a", "pi-b", "pi-c"]
        assert "started, pid" in lines[0] and "started, pid" in lines[1] and "error" in lines[2]
        messages = sub.wait_for(10, limit=60)
    finally:
        sub.close()
        broker.stop()
        shutil.rmtree(shared, ignore_errors=True)
    assert len(messages) == 10 and {json.loads(m)["frame"] for m in messages} == set(range(5))
    assert sorted(set(sub.topics)) == ["fleet/pi-a", "fleet/pi-b"]  # {device}: a topic per device
