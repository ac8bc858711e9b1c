"""Real OpenSSH servers on loopback ports, each standing for a device (Debian's ``openssh-server``).

Each ``Device`` has its own host key, accepts one generated user key, and runs commands as the
user running the tests (no other account needed; as root, sshd needs its privilege-separation
directory, which Debian's package leaves to systemd: it is created when missing).
"""
from __future__ import annotations

import getpass
import os
import subprocess
import time
from pathlib import Path

from _mosquitto import free_port, missing, wait_port

SSHD = "/usr/sbin/sshd"


def keygen(path: Path) -> str:
    """A new ed25519 key pair at ``path`` (no passphrase); returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)], check=True)
    return path.with_suffix(".pub").read_text().strip() if path.suffix else Path(f"{path}.pub").read_text().strip()


class SshDevice:
    """``sshd -D`` on 127.0.0.1:``port`` with its own host key; ``known_hosts_line`` is what a client should trust."""

    def __init__(self, root: Path, name: str, authorized_key: str) -> None:
        if not Path(SSHD).exists():
            missing("sshd (openssh-server)")
        self.name, self.port, self.dir = name, free_port(), root / name
        self.dir.mkdir(parents=True)
        self.dir.chmod(0o700)
        self.host_key = self.dir / "host_key"
        host_pub = keygen(self.host_key)
        self.known_hosts_line = f"[127.0.0.1]:{self.port} {' '.join(host_pub.split()[:2])}"
        (self.dir / "authorized_keys").write_text(authorized_key + "\n")
        (self.dir / "authorized_keys").chmod(0o600)
        self.config = self.dir / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}", f"PidFile {self.dir / 'sshd.pid'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "PermitRootLogin prohibit-password", f"AllowUsers {getpass.getuser()}", "StrictModes no",
            "LogLevel ERROR", "MaxStartups 20", "MaxSessions 20", ""]))
        self.proc: subprocess.Popen | None = None

    def start(self) -> SshDevice:
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        with open(self.dir / "sshd.log", "ab") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdout=subprocess.DEVNULL,
                                         stderr=log)
        wait_port(self.port)
        time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None
