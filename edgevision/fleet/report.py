"""One report across devices: each device's ``BenchReport`` (or its error), as JSON, a text matrix and HTML.

The matrix has one row per device and target, with a ``device`` column first; a device that
could not be reached, refused its host key, timed out or failed is one row with its error.

Example:
    >>> down = DeviceRun.failed("pi4-yard", "pi@10.0.0.22", RunError("RemoteError", "no route", 5), 3.0)
    >>> report = FleetReport(devices=(down,), bundle="bundle")
    >>> FleetReport.from_dict(report.to_dict()) == report
    True
    >>> print(render_fleet_text(report).splitlines()[-2])
    pi4-yard  pi@10.0.0.22  -       error: RemoteError: no route
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..bench.report import BenchReport
from ..bench.sections import RunError
from ..bench.text import fmt_fidelity, runtime_line, short_version
from ..errors import UserInputError

SCHEMA = "edgevision.fleet-bench/1"


@dataclass(frozen=True)
class DeviceRun:
    """One device's outcome: its bench report, or the error that stopped it; how its bundle got there."""

    device: str
    host: str
    ok: bool
    seconds: float
    report: BenchReport | None = None
    error: RunError | None = None
    bundle: Mapping[str, Any] = field(default_factory=dict)  # path, digest, copied, copy_seconds

    @classmethod
    def failed(cls, device: str, host: str, error: RunError, seconds: float,
               bundle: Mapping[str, Any] | None = None) -> DeviceRun:
        return cls(device=device, host=host, ok=False, seconds=seconds, error=error, bundle=dict(bundle or {}))

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "host": self.host, "status": "ok" if self.ok else "failed",
                "seconds": self.seconds, "bundle": dict(self.bundle),
                "report": self.report.to_dict() if self.report else None,
                "error": self.error.to_dict() if self.error else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeviceRun:
        return cls(device=data["device"], host=data["host"], ok=data["status"] == "ok", seconds=data["seconds"],
                   report=BenchReport.from_dict(data["report"]) if data.get("report") else None,
                   error=RunError.from_dict(data["error"]) if data.get("error") else None,
                   bundle=dict(data.get("bundle") or {}))


@dataclass(frozen=True)
class FleetReport:
    """Every device's run of one bundle; ``to_dict`` is what ``edgevision fleet bench --json`` prints."""

    devices: tuple[DeviceRun, ...] = ()
    bundle: str | None = None
    digest: str | None = None
    created: str | None = None
    command: tuple[str, ...] | None = None
    schema: str = SCHEMA

    @property
    def failed(self) -> list[str]:
        """Names of devices that failed, or that ran with a failing target."""
        return [d.device for d in self.devices
                if not d.ok or (d.report is not None and any(not r.ok for r in d.report.runs))]

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema, "created": self.created, "bundle": self.bundle, "digest": self.digest,
                "command": list(self.command) if self.command is not None else None,
                "devices": [d.to_dict() for d in self.devices]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FleetReport:
        if data.get("schema", SCHEMA) != SCHEMA:
            raise UserInputError(f"expected a fleet report of schema {SCHEMA}, got {data.get('schema')!r}")
        try:
            return cls(devices=tuple(DeviceRun.from_dict(d) for d in data.get("devices", ())),
                       bundle=data.get("bundle"), digest=data.get("digest"), created=data.get("created"),
                       command=tuple(data["command"]) if data.get("command") is not None else None)
        except (KeyError, TypeError, ValueError) as e:
            raise UserInputError(f"expected a fleet report as `edgevision fleet bench --json` writes it, got "
                                 f"{type(e).__name__}: {e}") from None


HEAD = ["device", "host", "target", "format", "precision", "fidelity", "infer-only", "infer p50", "infer p95",
        "total p50", "FPS", "runtime"]


def matrix_rows(report: FleetReport) -> list[list[str]]:
    """One row per device and target (``HEAD``'s columns); a failed device or target: its error, last."""
    rows = []
    for d in report.devices:
        if not d.ok or d.report is None:
            e = d.error
            rows.append([d.device, d.host, "-", *[""] * (len(HEAD) - 4),
                         f"error: {e.type if e else '?'}: {e.message if e else '?'}"])
            continue
        for run in d.report.runs:
            m = run.model
            row = [d.device, d.host, run.label, str(m.format or "-"), str(m.precision or "-"),
                   fmt_fidelity(m.fidelity)[:30]]
            if run.ok:
                fig = run.measured()
                inf, tot = fig.stages["infer"], fig.stages["total"]
                row += [f"{fig.infer_only.summary.median:.2f}", f"{inf.median:.2f}", f"{inf.p95:.2f}",
                        f"{tot.median:.2f}", f"{fig.fps.from_mean_total:.1f}", runtime_line(run.runtime)]
            else:
                e = run.error
                row += [""] * (len(HEAD) - len(row) - 1) + [f"error: {e.type if e else '?'}: {e.message if e else '?'}"]
            rows.append(row)
        for s in d.report.skipped:
            rows.append([d.device, d.host, s.target, str(s.format or "-"), *[""] * (len(HEAD) - 5),
                         f"skipped: {s.reason}"])
    return rows


def device_line(d: DeviceRun) -> str:
    """One line per device: what it is, its runtimes, how the bundle got there, how long it took."""
    copied = ("copied" if d.bundle.get("copied") else "already there (same digest)") if d.bundle else "not placed"
    if d.report is None or d.report.host is None:
        return f"{d.device} ({d.host}): bundle {copied} · {d.seconds:.1f} s"
    h = d.report.host
    versions = ", ".join(f"{k} {short_version(v)}" for k, v in h.versions.items())
    return (f"{d.device} ({d.host}): {h.cpu} ({h.machine}, {h.cores_usable} cores usable) · {h.system} · "
            f"{versions} · bundle {copied} · {d.seconds:.1f} s")


def render_fleet_text(report: FleetReport | Mapping[str, Any]) -> str:
    """The terminal report: a line per device, then the matrix with a device column."""
    from ..cli.console import table

    report = report if isinstance(report, FleetReport) else FleetReport.from_dict(report)
    lines = [f"edgevision fleet bench · {report.bundle or ''}"
             + (f" (digest {report.digest[:16]})" if report.digest else "") + f" · {len(report.devices)} devices"]
    lines += [device_line(d) for d in report.devices] + [""]
    lines += table(HEAD, matrix_rows(report), align="lllllrrrrrrl").split("\n")
    lines.append("[latency in ms, per device and target; infer-only = median back to back on a random tensor; "
                 "infer, total = the pipeline; FPS = 1 / mean total; threads in the runtime column]")
    return "\n".join(lines).rstrip() + "\n"


def render_fleet_html(report: FleetReport | Mapping[str, Any]) -> str:
    """One self-contained page comparing the devices: the matrix, bar charts per device and target, device facts."""
    from ..bench import svg
    from ..bench.html import CSS

    report = report if isinstance(report, FleetReport) else FleetReport.from_dict(report)
    title = f"edgevision fleet bench · {report.bundle or ''}"
    rows = matrix_rows(report)
    body = []
    for row in rows:
        error = row[-1].startswith(("error:", "skipped:"))
        cells = [f'<td class="l">{escape(c)}</td>' for c in row[:6]]
        if error:
            cells.append(f'<td class="l {"err" if row[-1].startswith("error") else "meta"}" colspan="{len(HEAD) - 6}">'
                         f"{escape(row[-1])}</td>")
        else:
            cells += [f"<td>{escape(c)}</td>" for c in row[6:-1]] + [f'<td class="l">{escape(row[-1])}</td>']
        body.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f'<th class="{"l" if i < 6 or i == len(HEAD) - 1 else ""}">{escape(h)}</th>'
                   for i, h in enumerate(HEAD))
    ok = [(f"{d.device} · {r.label}", r) for d in report.devices if d.report for r in d.report.runs if r.ok]
    charts = ""
    if ok:
        labels = [label for label, _ in ok]
        series = {"infer p50": [r.stages["infer"].median for _, r in ok],
                  "infer p95": [r.stages["infer"].p95 for _, r in ok],
                  "total p50": [r.stages["total"].median for _, r in ok]}
        charts = ('<div class="grid"><figure class="chart-box" data-chart="fleet-latency">'
                  + svg.bars(labels, series, title="latency per device and target (ms)") + "</figure></div>")
    facts = "".join(f"<li>{escape(device_line(d))}</li>" for d in report.devices)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
            f"<h1>{escape(title)}</h1><p class=\"meta\">{escape(report.created or '')}"
            + (f" · digest <code>{escape(report.digest)}</code>" if report.digest else "")
            + (f"<br>command: <code>{escape(' '.join(report.command))}</code>" if report.command else "")
            + f"</p><h2>Devices</h2><ul>{facts}</ul><h2>Matrix</h2><table><tr>{head}</tr>{''.join(body)}</table>"
            + charts + "</body></html>\n")
