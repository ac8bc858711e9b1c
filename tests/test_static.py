"""The static checks the test command runs: ruff over the repository, mypy over the installed package.

Both read their settings from pyproject.toml. mypy is given the package as it is installed
(``converters/`` and ``targets/`` are ``edgevision.converters`` and ``edgevision.targets``),
through a tree of links made here, since it cannot follow the editable install's import hook.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    out = _run(["ruff", "check", "--no-cache", str(ROOT)], ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_finds_nothing(tmp_path):
    package = tmp_path / "tree" / "edgevision"
    package.mkdir(parents=True)
    for entry in (ROOT / "edgevision").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for folder in ("converters", "targets"):
        (package / folder).symlink_to(ROOT / folder)
    out = _run(["mypy", "-p", "edgevision", "--config-file", str(ROOT / "pyproject.toml"),
                "--cache-dir", str(tmp_path / "cache")], package.parent)
    assert out.returncode == 0, out.stdout + out.stderr
