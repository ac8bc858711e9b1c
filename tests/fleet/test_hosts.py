"""Devices on the command line and in hosts files: forms, settings, and mistakes as one typed line."""
from __future__ import annotations

import subprocess
import sys

import pytest

from edgevision.errors import UserInputError
from edgevision.fleet.hosts import check_unique, parse_host, read_hosts


def test_forms_and_settings():
    d = parse_host("pi@[::1]:2222 name=door workdir=/srv/ev identity=~/.ssh/fleet")
    assert (d.user, d.host, d.port, d.name, d.workdir, d.identity) == ("pi", "::1", 2222, "door", "/srv/ev",
                                                                       "~/.ssh/fleet")
    assert parse_host("nuc.lan").destination == "nuc.lan" and parse_host("nuc.lan").port == 22


@pytest.mark.parametrize("text, why", [
    ("pi@host:99999", "expected a host"), ("pi@ho st", "expected settings key=value"),
    ("pi@host colour=red", "with a key among name, python, workdir, identity"),
    ("pi@host python=$(reboot)", "expected a plain path for python="), ("", "expected a host"),
])
def test_mistakes(text, why):
    with pytest.raises(UserInputError, match=why.replace("(", r"\(").replace("$", r"\$")):
        parse_host(text)


def test_hosts_file_comments_line_numbers_and_unique_names(tmp_path):
    f = tmp_path / "hosts"
    f.write_text("# fleet\n\npi@a name=a  # the door\npi@b:2200 name=b\n")
    assert [(d.name, d.port) for d in read_hosts(f)] == [("a", 22), ("b", 2200)]
    f.write_text("pi@a\npi@b speed=1\n")
    with pytest.raises(UserInputError, match=r"hosts:2: expected settings"):
        read_hosts(f)
    with pytest.raises(UserInputError, match="distinct device names, got x more than once"):
        check_unique([parse_host("pi@a name=x"), parse_host("pi@b name=x")])


def test_cli_without_devices_is_one_error_line(tmp_path):
    (tmp_path / "manifest.json").write_text("{}")
    for args, text in ((["bench", str(tmp_path)], "expected at least one device"),
                       (["bench", str(tmp_path / "nope"), "--host", "pi@a"], "expected a bundle directory"),
                       (["run", str(tmp_path), "--host", "pi@a", "--source", "csi://0", "--publish", "http://x/t"],
                        "expected --publish mqtt://")):
        proc = subprocess.run([sys.executable, "-m", "edgevision", "fleet", *args], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
        assert text in proc.stderr
