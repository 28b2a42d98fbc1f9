"""The machine a benchmark ran on, for its header and JSON: speeds differ several-fold between
the CPUs a published file may come from, so each file says which one it was."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe() -> str:
    """``CPU model, N cores``: the header's words for this machine."""
    return f"{cpu_model()}, {os.cpu_count()} cores"
