"""What every benchmark shares: the machine line, CPU sampling, percentiles and the report's formats.

Standard library only: the benchmarks that time code in their own process (ami_ingest,
kb_search, agi_sessions, ...) import this and nothing of the server stack with it. What the
end-to-end benchmarks stand up (database, server, simulator, sockets) is in bench/rig.py.
A benchmark run as `python bench/x.py` has bench/ on sys.path, so `import harness` finds this.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import platform
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CpuSample",
    "Usage",
    "cpu_model",
    "cpu_seconds",
    "machine_busy_s",
    "ms",
    "percentile_ms",
    "print_report",
    "ratio",
    "share",
]


# -- the machine ---------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name, for the machine line above a table in RESULTS.md."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError as exc:
        return f"unknown CPU ({exc})"
    return platform.processor() or "unknown CPU"


# -- percentiles ---------------------------------------------------------------------------------


def percentile_ms(sorted_s: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds (NaN when empty)."""
    if not sorted_s:
        return math.nan
    return sorted_s[max(1, math.ceil(q * len(sorted_s))) - 1] * 1000


# -- CPU -----------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), or None when unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of all cores since boot, from /proc/stat; None when unreadable."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(t) for t in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # idle and iowait are the 4th and 5th counters; guest time is already inside user.
    total = sum(ticks[:8])
    hz = os.sysconf("SC_CLK_TCK")
    return (total - ticks[3] - ticks[4]) / hz, total / hz


@dataclass(frozen=True)
class CpuSample:
    """The CPU counters that matter, read at one moment."""

    at_s: float  # time.perf_counter()
    server_s: float | None
    generator_s: float
    machine: tuple[float, float] | None

    @classmethod
    def take(cls, pid: int) -> CpuSample:
        """Read the server's, this process's and the whole machine's CPU time now."""
        return cls(time.perf_counter(), cpu_seconds(pid), time.process_time(), machine_busy_s())


@dataclass(frozen=True)
class Usage:
    """CPU spent between two samples, to tell a quiet run from a disturbed one."""

    start: CpuSample
    end: CpuSample

    @property
    def window_s(self) -> float:
        """Wall time between the samples."""
        return self.end.at_s - self.start.at_s

    @property
    def server_cpu_s(self) -> float | None:
        """CPU seconds of the server process (all its threads)."""
        if self.start.server_s is None or self.end.server_s is None:
            return None
        return self.end.server_s - self.start.server_s

    @property
    def server_share(self) -> float | None:
        """The server's CPU as a share of one core."""
        cpu_s = self.server_cpu_s
        return None if cpu_s is None else cpu_s / self.window_s

    @property
    def generator_share(self) -> float:
        """This process's CPU (simulator and clients) as a share of one core."""
        return (self.end.generator_s - self.start.generator_s) / self.window_s

    @property
    def machine_busy(self) -> float | None:
        """Share of all cores busy, whoever used them: PostgreSQL, this run, and anything else."""
        if self.start.machine is None or self.end.machine is None:
            return None
        return (self.end.machine[0] - self.start.machine[0]) / (self.end.machine[1] - self.start.machine[1])


# -- the report ----------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    """A time in milliseconds for a table cell."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.1f} ms"


def ratio(ours: float | None, floor: float | None) -> str:
    """Hotline's figure over the baseline's, in bold; a dash when either is missing."""
    if ours is None or floor is None or math.isnan(ours) or math.isnan(floor) or floor <= 0:
        return "–"
    return f"**{ours / floor:.1f}×**"


def share(value: float | None) -> str:
    """A share of a core (or of the machine) as a percentage."""
    return "n/a" if value is None else f"{value:.0%}"


def print_report(report: Coroutine[object, None, list[str]]) -> int:
    """Run a benchmark and print its table; Ctrl-C stops the servers and exits 130."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    try:
        lines = asyncio.run(report)
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    print("\n".join(lines))
    return 0
