"""Read the device's state where it exposes it: temperatures, CPU clocks and governor, Pi throttling, Jetson power.

Every reader takes ``root`` (the filesystem root, ``/`` on a device) so tests can
point it at a fake sysfs tree, and returns an empty dict or None for what this
machine does not expose; nothing here raises for a missing or unreadable file.

Sources:
- temperatures: ``sys/class/thermal/thermal_zone*/{type,temp}`` (millidegrees Celsius)
- CPU clocks: ``sys/devices/system/cpu/cpu*/cpufreq/{scaling_cur_freq,cpuinfo_max_freq,scaling_governor}`` (kHz)
- Raspberry Pi throttling: ``vcgencmd get_throttled`` when on PATH, else
  ``sys/devices/platform/soc/soc:firmware/get_throttled`` (hex, no ``0x``)
- Jetson power rails (INA3221): ``sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*/{in,curr}N_input``
  with ``inN_label`` (JetPack 5/6), or ``sys/bus/i2c/drivers/ina3221x/*/iio:device*/in_powerN_input``
  with ``rail_name_N`` (JetPack 4)
- Jetson GPU/EMC clocks: ``sys/class/devfreq/*/cur_freq`` (Hz)

Example:
    >>> decode_throttled(0x50005)
    {'now': ['under-voltage', 'currently throttled'], 'since_boot': ['under-voltage', 'throttled']}
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

# Bits of the Raspberry Pi firmware's get_throttled word: 0-3 now, 16-19 since boot.
THROTTLE_NOW = {0: "under-voltage", 1: "arm frequency capped", 2: "currently throttled", 3: "soft temperature limit"}
THROTTLE_SINCE_BOOT = {16: "under-voltage", 17: "arm frequency capped", 18: "throttled", 19: "soft temperature limit"}
THROTTLE_SYSFS = "sys/devices/platform/soc/soc:firmware/get_throttled"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:  # missing, or a sensor that answers EINVAL/ENODATA while asleep
        return None


def _number(path: Path) -> float | None:
    text = _read(path)
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _cpu_key(path: Path) -> tuple[int, str]:
    digits = re.sub(r"\D", "", path.name)
    return (int(digits) if digits else -1, path.name)


def read_temperatures(root: Path = Path("/")) -> dict[str, float]:
    """{zone type: degrees Celsius} for every readable thermal zone (type ``zoneN`` when it has none).

    >>> read_temperatures(Path("/nonexistent"))
    {}
    """
    out: dict[str, float] = {}
    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*"), key=_cpu_key):
        milli = _number(zone / "temp")
        if milli is None:
            continue
        name = _read(zone / "type") or zone.name
        out[name if name not in out else f"{name}/{zone.name}"] = round(milli / 1000.0, 1)
    return out


def read_cpu_freqs(root: Path = Path("/")) -> dict[str, float]:
    """{cpuN: current MHz} from cpufreq (``scaling_cur_freq``, kHz).

    >>> read_cpu_freqs(Path("/nonexistent"))
    {}
    """
    out: dict[str, float] = {}
    for cpu in sorted((root / "sys/devices/system/cpu").glob("cpu[0-9]*"), key=_cpu_key):
        khz = _number(cpu / "cpufreq/scaling_cur_freq")
        if khz is not None:
            out[cpu.name] = round(khz / 1000.0, 1)
    return out


def read_cpu_limits(root: Path = Path("/")) -> dict[str, object]:
    """{"governors": sorted distinct governors, "max_mhz": highest cpuinfo_max_freq} (empty when not exposed).

    >>> read_cpu_limits(Path("/nonexistent"))
    {}
    """
    governors, maxima = set(), []
    for cpu in (root / "sys/devices/system/cpu").glob("cpu[0-9]*"):
        governor = _read(cpu / "cpufreq/scaling_governor")
        if governor:
            governors.add(governor)
        khz = _number(cpu / "cpufreq/cpuinfo_max_freq")
        if khz:
            maxima.append(khz / 1000.0)
    out: dict[str, object] = {}
    if governors:
        out["governors"] = sorted(governors)
    if maxima:
        out["max_mhz"] = round(max(maxima), 1)
    return out


def find_vcgencmd() -> str | None:
    """The ``vcgencmd`` on PATH (Raspberry Pi OS ships it), or None.

    >>> find_vcgencmd()  # doctest: +SKIP
    '/usr/bin/vcgencmd'
    """
    return shutil.which("vcgencmd")


def read_throttled(root: Path = Path("/"), vcgencmd: str | None = None) -> tuple[int | None, str]:
    """(get_throttled word, where it came from): ``vcgencmd`` when given and it answers, else sysfs.

    >>> read_throttled(Path("/nonexistent"))
    (None, 'not exposed')
    """
    if vcgencmd:
        try:
            done = subprocess.run([vcgencmd, "get_throttled"], capture_output=True, text=True, timeout=2)
            match = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", done.stdout)
            if done.returncode == 0 and match:
                return int(match.group(1), 0), "vcgencmd get_throttled"
        except (OSError, subprocess.TimeoutExpired):
            pass  # a vcgencmd that cannot reach the firmware: fall through to sysfs
    text = _read(root / THROTTLE_SYSFS)
    if text:
        try:
            return int(text, 16), f"/{THROTTLE_SYSFS}"  # the firmware driver prints hex without 0x
        except ValueError:
            pass
    return None, "not exposed"


def decode_throttled(word: int) -> dict[str, list[str]]:
    """The flags set in a get_throttled word: what holds now, and what happened since boot."""
    return {"now": [name for bit, name in THROTTLE_NOW.items() if word >> bit & 1],
            "since_boot": [name for bit, name in THROTTLE_SINCE_BOOT.items() if word >> bit & 1]}


def read_power_rails(root: Path = Path("/")) -> dict[str, float]:
    """{rail: milliwatts} from a Jetson's INA3221 monitors (hwmon on JetPack 5/6, iio on JetPack 4).

    >>> read_power_rails(Path("/nonexistent"))
    {}
    """
    out: dict[str, float] = {}
    for hwmon in sorted((root / "sys/bus/i2c/drivers/ina3221").glob("*/hwmon/hwmon*")):
        for label_file in sorted(hwmon.glob("in*_label")):
            channel = label_file.name[2:-len("_label")]
            millivolts, milliamps = _number(hwmon / f"in{channel}_input"), _number(hwmon / f"curr{channel}_input")
            label = _read(label_file)
            if label and millivolts is not None and milliamps is not None:  # "sum of shunt voltages" has no current
                out[label] = round(millivolts * milliamps / 1000.0, 1)
    for iio in sorted((root / "sys/bus/i2c/drivers/ina3221x").glob("*/iio:device*")):
        for name_file in sorted(iio.glob("rail_name_*")):
            channel = name_file.name.rsplit("_", 1)[-1]
            milliwatts, label = _number(iio / f"in_power{channel}_input"), _read(name_file)
            if label and milliwatts is not None:
                out[label] = milliwatts
    return out


def read_devfreq(root: Path = Path("/")) -> dict[str, float]:
    """{devfreq device: current MHz}: a Jetson's GPU (e.g. ``17000000.ga10b``, ``57000000.gpu``) and memory clocks.

    >>> read_devfreq(Path("/nonexistent"))
    {}
    """
    out: dict[str, float] = {}
    for dev in sorted((root / "sys/class/devfreq").glob("*")):
        hz = _number(dev / "cur_freq")
        if hz is not None:
            out[dev.name] = round(hz / 1e6, 1)
    return out


def snapshot(root: Path = Path("/"), vcgencmd: str | None = None) -> dict[str, object]:
    """One reading of everything that changes during a run (sampled in the background while a bench runs).

    >>> sorted(snapshot(Path("/nonexistent")))
    ['cpu_freq_mhz', 'devfreq_mhz', 'power_mw', 'temperature_c', 'throttled']
    """
    return {"temperature_c": read_temperatures(root), "cpu_freq_mhz": read_cpu_freqs(root),
            "throttled": read_throttled(root, vcgencmd)[0], "power_mw": read_power_rails(root),
            "devfreq_mhz": read_devfreq(root)}
