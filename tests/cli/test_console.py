"""edgevision/cli/console.py: progress and tables through rich, plain off a terminal, rich never on import."""
from __future__ import annotations

import io
import subprocess
import sys

import pytest

from edgevision.cli.bench import BenchProgress
from edgevision.cli.console import progress, table
from edgevision.errors import UserInputError

BOX_CHARS = set("─│┌┐└┘├┤┬┴┼━┃╭╮╯╰")


def test_bench_progress_off_a_terminal_is_one_line_per_quarter():  # moved from tests/bench/test_reports.py
    quiet = io.StringIO()
    bar = BenchProgress("cpu", stream=quiet, tty=False)
    for i in range(1, 11):
        bar("pipeline", i, None, i * 0.1, 1.0)
    assert len(quiet.getvalue().splitlines()) == 4  # 25, 50, 75, 100 %


def test_bench_progress_lines_name_the_row_the_phase_and_the_counts():
    out = io.StringIO()
    bar = BenchProgress("cpu", stream=out, tty=False)
    for phase in ("infer only", "pipeline"):
        for i in range(1, 4):
            bar(phase, i, 3, 0.1 * i, None)
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[-1] == "cpu pipeline: 100% (3/3 runs, 0.3 s)"  # what `edgevision bench --progress` logs
    assert sum(line.startswith("cpu infer only: ") for line in lines) == 3  # 33 %, 67 %, 100 %
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_progress_on_a_terminal_redraws_in_place_and_keeps_finished_phases():
    out = io.StringIO()
    bar = BenchProgress("cpu", stream=out, tty=True)
    bar("pipeline", 5, 10, 0.1, None)
    bar("pipeline", 10, 10, 0.2, None)
    bar("overlapped stream", 0, None, 0.0, None)
    bar.close()
    text = out.getvalue()
    assert "cpu pipeline" in text and " 50% 5/10 runs" in text and "100% 10/10 runs, 0.2 s" in text
    assert "\r\x1b[2K" in text  # the line is erased and redrawn, not a line per update
    assert text.count("\n") <= 3 and "cpu overlapped stream" in text  # the finished phase stays above the new one
    assert text.endswith("\x1b[?25h")  # closing gives the cursor back


def test_progress_counts_steps_and_is_silent_without_a_stream():
    out = io.StringIO()
    with progress(12, "calibrating", stream=out) as bar:
        for _ in range(12):
            bar.update()
    assert [line.split(" (")[0] for line in out.getvalue().splitlines()] == [
        "calibrating: 25%", "calibrating: 50%", "calibrating: 75%", "calibrating: 100%"]
    assert out.getvalue().splitlines()[-1].startswith("calibrating: 100% (12/12, ")
    silent = progress(3, "x", stream=None)
    silent.update(3)
    silent.close()
    assert silent.done == 3 and silent.finished
    with pytest.raises(UserInputError, match="expected a non-negative number of steps, got -1"):
        progress(-1, "x", stream=None)


def test_progress_default_stream_is_stderr_as_it_is_when_made(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)  # e.g. the stream `edgevision convert` hands back from native output
    with progress(1, "calibrating") as bar:
        bar.update()
    assert err.getvalue().startswith("calibrating: 100% (1/1, ")


def test_table_is_plain_aligned_text_off_a_terminal():
    text = table(["target", "size", "runs here"], [["cpu", "7.9 KB", "yes: [bold]x[/bold]"],
                                                   ["intel-cpu", "11.1 KB", None]], align="lr")
    assert text.splitlines() == ["target        size  runs here",
                                 "cpu         7.9 KB  yes: [bold]x[/bold]",  # never read as markup
                                 "intel-cpu  11.1 KB"]  # no trailing spaces
    assert "\x1b" not in text and not BOX_CHARS & set(text)
    assert table(["a", "b"], [], indent=2) == "  a  b"


def test_table_on_a_terminal_has_a_bold_header_and_a_rule():
    text = table(["target", "size"], [["cpu", "1"]], align="lr", tty=True)
    assert "\x1b[1m" in text and "─" in text and "cpu" in text


@pytest.mark.parametrize("kwargs, message", [
    ({"head": ["a"], "rows": [["x", "y"]]}, "expected rows of 1 cells (one per column), got a row of 2"),
    ({"head": ["a"], "rows": [], "align": "x"}, "expected column alignments among l, r, c, got 'x'"),
])
def test_table_misuse_is_one_typed_line(kwargs, message):
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        table(**kwargs)


def test_rich_is_not_imported_by_edgevision_its_cli_or_the_bench():
    code = ("import sys, edgevision, edgevision.bench, edgevision.converters.calibration\n"
            "from edgevision.cli import build_parser\n"
            "build_parser()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'tensorflow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
