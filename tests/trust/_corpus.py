"""Run a corpus of bad (and good) inputs as a user would, and classify how each one ended.

Every case is a real process: a command line (``python -m edgevision ...``) or a short
Python program calling the API, run with a timeout in a directory and ``HOME`` of its
own (so zipped bundles unpack into a cache the case owns). How it ended:

- ``typed``: an error was expected and came as exactly one ``edgevision ...: error: ...``
  line on stderr (matching the case's pattern), a non-zero exit, nothing else on stderr;
- ``success``: success was expected, the exit is 0 and the case's own check of the output holds;
- ``traceback``: a Python traceback, an "Exception ignored" report, or any other line on
  stderr beside the one error (library chatter such as OpenCV's ``[ WARN``);
- ``crash``: killed by a signal or an exit code edgevision never uses;
- ``hang``: still running at the timeout (killed then);
- ``wrong-success``: exit 0 where an error was due, or a success whose output is wrong;
- ``wrong-error``: a typed error, but not the expected one (or a valid input refused);
- ``leftover``: a path the case names as "must not exist afterwards" exists (an empty
  output directory, a half-written file, a bundle unpacked from a refused zip).

Example:
    outcomes = run_cases([Case("x", ["run", "missing.tflite", "--source", "a.png"], error="missing path")])
    print(summary(outcomes))
"""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

BAD = ("traceback", "crash", "hang", "wrong-success", "wrong-error", "leftover")
EXIT_CODES = (0, 1, 2, 3, 4)
ERROR_LINE = re.compile(r"^edgevision(?: [\w-]+)?: error: ")
# What edgevision itself writes on stderr besides an error: the header and summary of a run, live-view
# and source events. Anything else (a library's log line) beside an error is chatter.
OWN_LINE = re.compile(r"^(edgevision\b|model: |live view: |\d+ frames in |stopped)")
CHATTER = re.compile(r"^\s*(\[ ?(WARN|ERROR|INFO)|INFO: |WARNING: |E\d{4} |W\d{4} |\[\w+ @ 0x)|Traceback|"
                     r"Exception ignored")

API_WRAPPER = """\
import sys
from edgevision.errors import EdgeVisionError
try:
{body}
except EdgeVisionError as e:
    print(f"edgevision api: error: {{e}}", file=sys.stderr)
    sys.exit(e.exit_code)
"""


@dataclass
class Case:
    """One input tried: ``argv`` for the CLI, or ``code`` (Python, at top level) for the API."""

    id: str
    argv: Sequence[object] = ()
    code: str = ""
    error: str | None = None  # regex the error line must match; None: success is expected
    check: Callable[[str, str], str | None] | None = None  # (stdout, stderr) -> what is wrong, or None
    absent: Sequence[Path] = ()  # paths that must not exist afterwards
    home_absent: Sequence[str] = ()  # globs, relative to the case's own HOME (its zip cache), that must match nothing
    timeout: float = 60.0
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.id.split("/")[0]


@dataclass
class Outcome:
    case: Case
    kind: str
    rc: int | None
    stdout: str
    stderr: str
    why: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        tail = self.stderr.strip().splitlines()[-3:] if self.stderr.strip() else []
        return f"{self.kind:13} {self.case.id}: rc={self.rc} {self.why} | {' / '.join(tail)[:400]}"


def _command(case: Case) -> list[str]:
    if case.code:
        body = textwrap.indent(textwrap.dedent(case.code).strip(), "    ")
        return [sys.executable, "-c", API_WRAPPER.format(body=body)]
    return [sys.executable, "-m", "edgevision", *map(str, case.argv)]


def run_case(case: Case, root: Path) -> Outcome:
    """Run one case in ``root/<id>`` (its cwd and HOME) and classify how it ended."""
    home = root / case.id.replace("/", "__")
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "OPENCV_LOG_LEVEL")}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1", **case.env)
    start = time.monotonic()
    try:
        p = subprocess.run(_command(case), capture_output=True, text=True, errors="replace", timeout=case.timeout,
                           cwd=case.cwd or home, env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return Outcome(case, "hang", None, out, err, f"still running after {case.timeout:g} s", case.timeout)
    outcome = classify(case, p.returncode, p.stdout, p.stderr, home)
    outcome.seconds = time.monotonic() - start
    return outcome


def classify(case: Case, rc: int, stdout: str, stderr: str, home: Path | None = None) -> Outcome:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]

    def outcome(kind: str, why: str = "") -> Outcome:
        return Outcome(case, kind, rc, stdout, stderr, why)

    if rc < 0 or rc not in EXIT_CODES:
        return outcome("crash", f"exit {rc}")
    if "Traceback (most recent call last)" in stderr or "Exception ignored" in stderr:
        return outcome("traceback")
    left = [str(p) for p in case.absent if os.path.lexists(p)]
    left += [m for p in case.home_absent if home is not None for m in glob.glob(str(home / p))]
    if left:
        return outcome("leftover", f"left {', '.join(left)}")
    errors = [ln for ln in lines if ERROR_LINE.match(ln)]
    if case.error is not None:
        if rc == 0:
            return outcome("wrong-success", "exit 0 where an error was due")
        noise = [ln for ln in lines if not OWN_LINE.match(ln)]
        if len(errors) != 1 or noise:
            return outcome("traceback", f"{len(errors)} error lines, other lines: {noise[:2]}")
        if not re.search(case.error, errors[0]):
            return outcome("wrong-error", f"expected /{case.error}/")
        problem = case.check(stdout, stderr) if case.check else None
        return outcome("wrong-error", problem) if problem else outcome("typed")
    if rc != 0:
        return outcome("wrong-error", "a valid input refused")
    chatter = [ln for ln in lines if CHATTER.search(ln)]
    if chatter:
        return outcome("traceback", f"chatter: {chatter[:2]}")
    problem = case.check(stdout, stderr) if case.check else None
    return outcome("wrong-success", problem) if problem else outcome("success")


def run_cases(cases: Sequence[Case], root: Path, *, workers: int = 3) -> list[Outcome]:
    """Every case, ``workers`` at a time (the processes mostly wait on imports and I/O)."""
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda c: run_case(c, root), cases))


def summary(outcomes: Sequence[Outcome]) -> str:
    """``N cases: typed T, traceback 0, crash 0, hang 0, wrong-success 0, leftover 0``, then the rest."""
    n = Counter(o.kind for o in outcomes)
    families = Counter(o.case.family for o in outcomes)
    return (f"{len(outcomes)} cases: typed {n['typed']}, traceback {n['traceback']}, crash {n['crash']}, "
            f"hang {n['hang']}, wrong-success {n['wrong-success']}, leftover {n['leftover']}\n"
            f"  correct successes {n['success']}, wrong errors {n['wrong-error']}; by family: "
            + ", ".join(f"{k} {v}" for k, v in sorted(families.items()))
            + "\n  slowest: " + ", ".join(f"{o.case.id} {o.seconds:.1f} s"
                                         for o in sorted(outcomes, key=lambda o: -o.seconds)[:8]))
