"""Sample the device's state in a background thread while a bench runs, and summarise it with warnings.

The thread wakes at a low rate (2 Hz by default) and reads a handful of small
sysfs files, so it takes well under a millisecond of CPU per second of bench.

Example:
    >>> with DeviceSampler(root=Path("/nonexistent"), interval=0.05) as sampler:
    ...     pass
    >>> state = sampler.summary()
    >>> state["temperature_c"], state["governor"]
    ('not exposed', 'not exposed')
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from .device import decode_throttled, find_vcgencmd, read_cpu_limits, read_throttled, snapshot

NOT_EXPOSED = "not exposed"
HOT_C = 80.0  # most SoCs (Pi 4/5, Jetson) start to cap clocks between 80 and 85 °C
FREQ_DROP = 0.9  # a performance governor below 90 % of the max clock: the device capped it


def _span(values: list[float]) -> dict[str, float]:
    return {"min": round(min(values), 1), "mean": round(sum(values) / len(values), 1), "max": round(max(values), 1)}


def _per_key(samples: list[dict], field: str) -> Any:
    keys: dict[str, list[float]] = {}
    for s in samples:
        for k, v in (s.get(field) or {}).items():
            keys.setdefault(k, []).append(v)
    return {k: _span(v) for k, v in keys.items()} or NOT_EXPOSED


class DeviceSampler:
    """A context manager: samples ``device.snapshot`` every ``interval`` seconds between enter and exit.

    ``root`` stands in for ``/`` (tests pass a fake sysfs tree); ``vcgencmd`` is the
    command to ask for the Pi's throttling ("auto": the one on PATH, None: sysfs only).
    """

    def __init__(self, *, root: Path = Path("/"), interval: float = 0.5, vcgencmd: str | None = "auto") -> None:
        if interval <= 0:
            raise ValueError(f"expected a positive sampling interval, got {interval}")
        self.root = Path(root)
        self.interval = float(interval)
        self.vcgencmd = find_vcgencmd() if vcgencmd == "auto" else vcgencmd
        self.samples: list[dict[str, Any]] = []
        self.limits: dict[str, Any] = {}
        self.throttle_source = NOT_EXPOSED
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    def _sample(self) -> None:
        reading = snapshot(self.root, self.vcgencmd)
        reading["t"] = round(time.monotonic() - self._t0, 3)
        self.samples.append(reading)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> DeviceSampler:
        """Take a first sample now, then keep sampling in a daemon thread."""
        self._t0 = time.monotonic()
        self.limits = read_cpu_limits(self.root)
        self.throttle_source = read_throttled(self.root, self.vcgencmd)[1]
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="edgevision-device-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and take a last sample, so even a short run has a start and an end reading."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._sample()

    def __enter__(self) -> DeviceSampler:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def summary(self) -> dict[str, Any]:
        """Min/mean/max of each reading, the governor, decoded throttling, warnings and the raw samples."""
        return summarize_samples(self.samples, limits=self.limits, throttle_source=self.throttle_source,
                                 interval=self.interval)


def _throttling(samples: list[dict], source: str) -> tuple[Any, list[str]]:
    words = [s["throttled"] for s in samples if s.get("throttled") is not None]
    if not words:
        return NOT_EXPOSED, []
    seen_now = sorted({flag for w in words for flag in decode_throttled(w)["now"]})
    first, last = decode_throttled(words[0]), decode_throttled(words[-1])
    new_since_boot = [f for f in last["since_boot"] if f not in first["since_boot"]]
    info = {"source": source, "start": hex(words[0]), "end": hex(words[-1]), "during_run": seen_now,
            "since_boot_at_end": last["since_boot"]}
    warnings = []
    during = sorted(set(seen_now) | set(new_since_boot))
    if during:
        warnings.append(f"the device throttled during the run ({', '.join(during)}; get_throttled "
                        f"{info['start']} -> {info['end']}): figures are below what it reaches when cool and powered")
    elif first["since_boot"]:
        warnings.append(f"the device throttled earlier since boot ({', '.join(first['since_boot'])}), "
                        f"not during this run")
    return info, warnings


def summarize_samples(samples: list[dict], *, limits: dict | None = None, throttle_source: str = NOT_EXPOSED,
                      interval: float = 0.5) -> dict[str, Any]:
    """The device-state section of a bench report, from raw samples (see ``DeviceSampler``).

    >>> s = summarize_samples([{"t": 0, "temperature_c": {"cpu-thermal": 50.0}, "throttled": 0x4},
    ...                        {"t": 1, "temperature_c": {"cpu-thermal": 82.0}, "throttled": 0x40000}])
    >>> s["temperature_c"]["cpu-thermal"]["max"], len(s["warnings"])
    (82.0, 2)
    """
    limits = limits or {}
    governors = limits.get("governors")
    out: dict[str, Any] = {
        "samples": len(samples), "interval_s": interval,
        "temperature_c": _per_key(samples, "temperature_c"),
        "cpu_freq_mhz": _per_key(samples, "cpu_freq_mhz"),
        "cpu_max_mhz": limits.get("max_mhz", NOT_EXPOSED),
        "governor": ",".join(governors) if governors else NOT_EXPOSED,
        "power_mw": _per_key(samples, "power_mw"),
        "devfreq_mhz": _per_key(samples, "devfreq_mhz"),
    }
    out["throttling"], warnings = _throttling(samples, throttle_source)
    if isinstance(out["temperature_c"], dict):
        hottest = max(out["temperature_c"].items(), key=lambda kv: kv[1]["max"])
        if hottest[1]["max"] >= HOT_C:
            warnings.append(f"{hottest[0]} reached {hottest[1]['max']:.1f} °C, where most SoCs cap their clocks")
    max_mhz = limits.get("max_mhz")
    if governors == ["performance"] and max_mhz and isinstance(out["cpu_freq_mhz"], dict):
        low = min(v["min"] for v in out["cpu_freq_mhz"].values())
        if low < FREQ_DROP * max_mhz:
            warnings.append(f"CPU clock fell to {low:.0f} MHz (max {max_mhz:.0f} MHz) under the performance governor")
    notes = []
    if governors and governors != ["performance"]:
        notes.append(f"CPU governor {out['governor']!r}: clocks follow load; set 'performance' for steadier figures")
    out["warnings"], out["notes"] = warnings, notes
    out["raw"] = samples
    return out
