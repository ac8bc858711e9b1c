"""What the CLI draws on a terminal: one progress line per task and plain-text tables, both through rich.

rich is imported inside these functions, never on ``import edgevision`` nor per frame:
a progress display imports it when it is created (before anything is timed), and only
when it draws on a terminal. Off a terminal (a CI log, a pipe, a test's ``StringIO``)
nothing here writes a colour, a cursor movement or a box character:

- ``progress``: on a terminal a bar redrawn in place (at most ten times a second);
  otherwise one plain line at 25, 50, 75 and 100 %; ``stream=None``: silent
- ``table``: columns aligned with two spaces between them; ``tty=True`` adds a bold
  header and a rule under it

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> with progress(8, "calibrating", stream=out) as bar:
    ...     for _ in range(8):
    ...         bar.update()
    >>> [line.split(" (")[0] for line in out.getvalue().splitlines()]
    ['calibrating: 25%', 'calibrating: 50%', 'calibrating: 75%', 'calibrating: 100%']
    >>> print(table(["target", "size"], [["cpu", "7.9 KB"], ["intel-cpu", "11.1 KB"]], align="lr"))
    target        size
    cpu         7.9 KB
    intel-cpu  11.1 KB
"""
from __future__ import annotations

import io
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from ..errors import UserInputError

MILESTONES = (0.25, 0.5, 0.75, 1.0)
REDRAW_EVERY_S = 0.1
BAR_WIDTH = 30
TABLE_WIDTH = 100_000  # a table is never wrapped to the terminal: a pasted or piped row stays one line
JUSTIFY = {"l": "left", "r": "right", "c": "center"}
_STDERR = object()  # the default stream: sys.stderr as it is when the display is created, not at import


class ProgressDisplay:
    """One task's progress under ``label``; made by ``progress`` (see there)."""

    def __init__(self, total: int | None, label: str, *, stream: TextIO | None, unit: str = "",
                 duration: float | None = None, tty: bool | None = None) -> None:
        self.stream = stream
        self.unit = unit
        self.tty = bool(stream is not None and (stream.isatty() if tty is None else tty))
        self.label, self.total, self.duration = label, total, duration
        self.done, self.elapsed = 0, 0.0
        self._start = time.monotonic()
        self._milestones = 0  # milestones already written for this label (off a terminal)
        self._last_draw = 0.0
        self._live: Any = None  # rich.progress.Progress on a terminal
        self._task: Any = None
        if self.tty:
            self._open_live()

    # -- the caller's side ---------------------------------------------------------------
    def update(self, advance: int = 1, *, completed: int | None = None, total: int | None = None,
               duration: float | None = None, elapsed: float | None = None,
               label: str | None = None) -> None:
        """Count ``advance`` more steps, or set ``completed``; a new ``label`` starts a new phase.

        A new phase takes the ``total`` and ``duration`` given (None: not bounded that way) and
        the next line (on a terminal the finished line stays above it, an unfinished one is
        replaced); within a phase, a ``total`` or ``duration`` given replaces the current one.
        ``elapsed`` is the caller's clock in seconds (default: since the phase started).
        """
        if label is not None and label != self.label:
            self._new_phase(label, total, duration)
        else:
            self.total = total if total is not None else self.total
            self.duration = duration if duration is not None else self.duration
        self.done = completed if completed is not None else self.done + advance
        if self.total is not None:
            self.done = min(self.done, self.total)
        now = time.monotonic()
        self.elapsed = elapsed if elapsed is not None else now - self._start
        if self.stream is None:
            return
        if self.tty:
            if self.finished or now - self._last_draw >= REDRAW_EVERY_S:
                self._last_draw = now
                self._draw()
        else:
            self._milestone()

    def close(self) -> None:
        """End the display: on a terminal, the last state stays on screen and the cursor comes back."""
        if self._live is not None:
            self._draw(refresh=False)  # the last update may have been between redraws; stop() draws it
            self._live.stop()
            self._live = None

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- what is shown -------------------------------------------------------------------
    @property
    def fraction(self) -> float | None:
        """Done so far, 0 to 1 (by count, else by time); None when the phase has no bound."""
        if self.total:
            return self.done / self.total
        if self.duration:
            return min(1.0, self.elapsed / self.duration)
        return None

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total

    def counted(self) -> str:
        """e.g. '50/100 runs, 0.5 s', '50 runs, 0.5/2 s' or '50 runs'."""
        if self.total:
            return f"{self.done}/{self.total}{self.unit}, {self.elapsed:.1f} s"
        if self.duration:
            return f"{self.done}{self.unit}, {self.elapsed:.1f}/{self.duration:g} s"
        return f"{self.done}{self.unit}"

    def _status(self) -> str:
        fraction = self.fraction
        return f"{100 * (fraction or 0.0):3.0f}% {self.counted()}"

    def _milestone(self) -> None:
        passed = sum((self.fraction or 0.0) >= m - 1e-9 for m in MILESTONES)
        if passed > self._milestones:  # one line per milestone crossed, not per update
            self._milestones = passed
            stream: Any = self.stream
            stream.write(f"{self.label}: {100 * (self.fraction or 0.0):.0f}% ({self.counted()})\n")
            stream.flush()

    def _new_phase(self, label: str, total: int | None, duration: float | None) -> None:
        if self.finished:
            self._task = None  # on a terminal the finished line stays; the new phase gets a line of its own
        self.label, self.total, self.duration = label, total, duration
        self.done, self._milestones, self._start, self._last_draw = 0, 0, time.monotonic(), 0.0

    # -- rich, on a terminal only ----------------------------------------------------------
    def _open_live(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        console = Console(file=self.stream, force_terminal=True, highlight=False, emoji=False, markup=False)
        self._live = Progress(TextColumn("{task.description}", markup=False), BarColumn(bar_width=BAR_WIDTH),
                              TextColumn("{task.fields[status]}", markup=False), console=console,
                              auto_refresh=False,  # no refresh thread beside a timed loop: we redraw
                              redirect_stdout=False, redirect_stderr=False, transient=False)
        self._live.start()

    def _draw(self, refresh: bool = True) -> None:
        if self._live is None:
            return
        fraction = self.fraction
        bound = None if fraction is None else 1.0
        fields = {"total": bound, "completed": fraction or 0.0, "status": self._status()}
        if self._task is None:  # add_task draws at once
            self._task = self._live.add_task(self.label, **fields)
            return
        self._live.update(self._task, description=self.label, **fields)
        if refresh:
            self._live.refresh()


def progress(total: int | None, label: str, *, stream: Any = _STDERR, unit: str = "",
             duration: float | None = None, tty: bool | None = None) -> ProgressDisplay:
    """Progress of ``total`` steps (or ``duration`` seconds) under ``label`` on ``stream`` (default stderr).

    On a terminal, a bar redrawn in place; otherwise one line per quarter done, which a log
    keeps; ``stream=None``: silent. ``tty`` None asks the stream. Use it as a context
    manager, or call ``close()`` when done.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = progress(4, "cpu pipeline", stream=out, unit=" runs")
    >>> bar.update(completed=2, elapsed=0.5); bar.update(completed=4, elapsed=1.0); bar.close()
    >>> print(out.getvalue(), end="")
    cpu pipeline: 50% (2/4 runs, 0.5 s)
    cpu pipeline: 100% (4/4 runs, 1.0 s)
    """
    if total is not None and total < 0:
        raise UserInputError(f"expected a non-negative number of steps, got {total}")
    return ProgressDisplay(total, label, stream=sys.stderr if stream is _STDERR else stream, unit=unit,
                           duration=duration, tty=tty)


def table(head: Sequence[str], rows: Sequence[Sequence[Any]], *, align: str = "", indent: int = 0,
          tty: bool = False) -> str:
    """``rows`` under ``head`` as aligned text, one line per row, without trailing spaces or a final newline.

    ``align`` has one letter per column, ``l`` (left), ``r`` (right) or ``c`` (centre); columns
    past its end are left-aligned. Cells are shown as ``str(cell)`` (None as nothing), never read as markup.
    ``indent`` spaces go before every line. Plain text unless ``tty`` (a terminal): then a
    bold header with a rule under it.

    >>> print(table(["stage", "median"], [["infer", f"{3.91:.3f}"], ["total", "12.500"]], align="lr", indent=2))
      stage  median
      infer   3.910
      total  12.500
    >>> table(["a"], [["x", "y"]])
    Traceback (most recent call last):
    ...
    edgevision.errors.UserInputError: expected rows of 1 cells (one per column), got a row of 2
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    bad = [a for a in align if a not in JUSTIFY]
    if bad:
        raise UserInputError(f"expected column alignments among l, r, c, got {''.join(bad)!r}")
    for row in rows:
        if len(row) != len(head):
            raise UserInputError(f"expected rows of {len(head)} cells (one per column), got a row of {len(row)}")
    grid = Table(box=box.SIMPLE_HEAD if tty else None, show_edge=False, pad_edge=False,
                 header_style="bold" if tty else "")
    for i, name in enumerate(head):
        grid.add_column(Text(str(name)), justify=JUSTIFY[align[i]] if i < len(align) else "left",  # type: ignore
                        no_wrap=True)
    for row in rows:
        grid.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    out = io.StringIO()
    Console(file=out, width=TABLE_WIDTH, force_terminal=tty, color_system="standard" if tty else None,
            highlight=False, emoji=False, markup=False).print(grid)
    pad = " " * indent
    return "\n".join(pad + line.rstrip() for line in out.getvalue().rstrip("\n").split("\n"))
