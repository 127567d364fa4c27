"""What machine a benchmark ran on, for the comment line above its table in RESULTS.md."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name, for the table's machine line."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError as exc:
        return f"unknown CPU ({exc})"
    return platform.processor() or "unknown CPU"
