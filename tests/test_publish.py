"""Results out to MQTT, against a real Mosquitto broker on loopback: what arrives, restarts, credentials, TLS."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from _mosquitto import Broker, Subscriber, readable_dir

from edgevision.errors import UserInputError
from edgevision.publish import MqttPublisher, change_key, parse_mqtt_url

pytest.importorskip("paho.mqtt")
SYNTHETIC = "synthetic://160x120@30?seed=3&pace=0"


@pytest.fixture
def shared(tmp_path):
    """A directory mosquitto's own user can read (pytest's tmp_path is private to root)."""
    d = readable_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def broker(shared):
    b = Broker(shared).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    import _onnx_models

    pytest.importorskip("onnxruntime")
    return _onnx_models.bright_spot_detector(tmp_path_factory.mktemp("pub") / "det.onnx")


def cli(*args: object, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgevision", *map(str, args)], capture_output=True, text=True,
                          timeout=180, env={**os.environ, **(env or {})})


def test_url_forms_and_mistakes():
    t = parse_mqtt_url("mqtt://cam@127.0.0.1:1884/site/a%20b")
    assert (t.host, t.port, t.topic, t.username, t.tls) == ("127.0.0.1", 1884, "site/a b", "cam", False)
    assert parse_mqtt_url("mqtts://[::1]/t").url() == "mqtts://[::1]:8883/t"
    for bad, why in (("http://h/t", "mqtt://"), ("mqtt://h", "with a topic"), ("mqtt://h/a/#", "with a topic"),
                     ("mqtt://u:secret@h/t", "environment variable"), ("mqtt://h:99999/t", "port")):
        with pytest.raises(UserInputError, match=why):
            parse_mqtt_url(bad)


def test_change_key_follows_what_the_record_shows():
    a = {"task": "classification", "frame": 1, "classes": [{"label": "cat", "score": 0.9}, {"label": "dog"}]}
    b = {**a, "frame": 2, "classes": [{"label": "cat", "score": 0.7}, {"label": "cow"}]}
    assert change_key(a) == change_key(b) == "cat"
    seg = {"task": "segmentation", "classes": [{"label": "road", "pixels": 9}, {"label": "sky", "pixels": 3}]}
    assert change_key(seg) == ["road", "sky"]


def test_run_publishes_exactly_its_json_lines(broker, detector):
    sub = Subscriber(broker.port, "edgevision/test")
    try:
        proc = cli("run", detector, "--source", SYNTHETIC, "--max-frames", 40, "--json", "--mqtt-qos", 1,
                   "--publish", f"mqtt://127.0.0.1:{broker.port}/edgevision/test")
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        records, summary = lines[:-1], json.loads(lines[-1])["summary"]
        assert len(records) == 40
        received = sub.wait_for(40)
    finally:
        sub.close()
    assert [json.loads(m) for m in received] == [json.loads(line) for line in records]
    pub = summary["publish"]
    assert (pub["published"], pub["dropped"], pub["unsent"], pub["reconnects"]) == (40, 0, 0, 0)
    assert "MQTT mqtt://127.0.0.1" in proc.stderr and "40 published" in proc.stderr


def test_on_change_sends_a_record_only_when_what_it_shows_changes(broker, detector):
    sub = Subscriber(broker.port, "t/change")
    try:
        proc = cli("run", detector, "--source", SYNTHETIC, "--max-frames", 60, "--json", "--publish-on-change",
                   "--publish", f"mqtt://127.0.0.1:{broker.port}/t/change")
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout.splitlines()[-1])["summary"]["publish"]
        received = [json.loads(m) for m in sub.wait_for(summary["published"])]
    finally:
        sub.close()
    records = [json.loads(line) for line in proc.stdout.splitlines()[:-1]]
    expected, last = [], object()
    for r in records:
        if change_key(r) != last:
            expected.append(r)
            last = change_key(r)
    assert received == expected
    assert 1 <= len(received) < len(records)
    assert summary["skipped_unchanged"] == len(records) - len(received)


def _record(i: int) -> dict:
    return {"frame": i, "task": "detection", "detections": []}


@pytest.mark.slow
def test_broker_restart_mid_run_reconnects_counts_drops_and_never_blocks(shared):
    broker = Broker(shared).start()
    events: list[str] = []
    sub = Subscriber(broker.port, "t/restart")
    pub = MqttPublisher(f"mqtt://127.0.0.1:{broker.port}/t/restart", qos=1, queue_size=20, reconnect_min_s=1,
                        reconnect_max_s=2, on_event=events.append)
    try:
        for i in range(15):  # fewer than the queue holds: none dropped
            pub.publish(_record(i))
        assert len(sub.wait_for(15)) == 15
        broker.stop()  # the broker goes away mid-run
        deadline = time.monotonic() + 10
        while pub.stats()["connected"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pub.stats()["connected"]
        for i in range(50, 350):  # the run goes on: every call returns, the queue keeps the newest 20
            pub.publish(_record(i))
        stats = pub.stats()
        assert stats["backlog"] == 20 and stats["dropped"] == 300 - 20
        broker.start()  # back on the same port
        deadline = time.monotonic() + 30
        while pub.stats()["reconnects"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pub.stats()["reconnects"] == 1
        sub.subscribed.clear()
        deadline = time.monotonic() + 20  # the subscriber reconnects too; then new records flow again
        got: list[bytes] = []
        i = 350
        while time.monotonic() < deadline and not any(json.loads(m)["frame"] >= 350 for m in got):
            pub.publish(_record(i))
            i += 1
            time.sleep(0.05)
            got = sub.wait_for(0, limit=0)[15:]
        assert any(json.loads(m)["frame"] >= 350 for m in got)
    finally:
        pub.close()
        sub.close()
        broker.stop()
    frames = [json.loads(m)["frame"] for m in got]
    assert all(f >= 330 for f in frames), "only the newest records survive the outage"
    final = pub.stats()
    assert final["dropped"] == 280 and final["unsent"] == 0
    assert any("disconnected" in e for e in events) and any("reconnected" in e for e in events)


def test_credentials_from_the_environment(shared, detector, monkeypatch):
    tmp_path = shared
    passwd = shutil.which("mosquitto_passwd")
    if passwd is None:
        pytest.skip("mosquitto_passwd is not installed")
    subprocess.run([passwd, "-b", "-c", str(tmp_path / "passwd"), "cam", "s3cret"], check=True, capture_output=True)
    os.chmod(tmp_path / "passwd", 0o644)  # read by mosquitto's own user
    broker = Broker(tmp_path, extra=f"allow_anonymous false\npassword_file {tmp_path / 'passwd'}").start()
    try:
        url = f"mqtt://cam@127.0.0.1:{broker.port}/t/auth"
        bad = cli("run", detector, "--source", SYNTHETIC, "--max-frames", 2, "--publish", url,
                  "--mqtt-password-env", "MQTT_PW", env={"MQTT_PW": "wrong"})
        assert bad.returncode == 2 and bad.stdout == ""
        assert bad.stderr.strip().count("\n") == 0 and "expected the MQTT broker" in bad.stderr
        assert "wrong" not in bad.stderr
        monkeypatch.setenv("MQTT_PW_OK", "s3cret")
        pub = MqttPublisher(url, password_env="MQTT_PW_OK", qos=1)
        pub.publish(_record(1))
        pub.close()
        assert pub.stats()["published"] == 1
    finally:
        broker.stop()


def _certificates(d) -> dict:
    """A CA and a broker certificate for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")

    def run(*args):
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=edgevision test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "server.pem")
    for name in ("ca.pem", "server.pem", "server.key"):
        os.chmod(d / name, 0o644)  # read by mosquitto's own user
    return {"ca": str(d / "ca.pem"), "cert": str(d / "server.pem"), "key": str(d / "server.key")}


def test_tls_to_a_broker_checked_against_its_ca(shared):
    tmp_path = shared
    certs = _certificates(tmp_path)
    broker = Broker(tmp_path, extra=f"allow_anonymous true\ncafile {certs['ca']}\ncertfile {certs['cert']}\n"
                                    f"keyfile {certs['key']}").start()
    try:
        sub = Subscriber(broker.port, "t/tls", ca_certs=certs["ca"])
        pub = MqttPublisher(f"mqtts://127.0.0.1:{broker.port}/t/tls", ca_file=certs["ca"], qos=1)
        pub.publish(_record(7))
        pub.close()
        assert [json.loads(m) for m in sub.wait_for(1)] == [_record(7)]
        sub.close()
        with pytest.raises(UserInputError, match="CA file"):
            MqttPublisher(f"mqtts://127.0.0.1:{broker.port}/t/tls", ca_file=str(tmp_path / "missing.pem"))
    finally:
        broker.stop()
