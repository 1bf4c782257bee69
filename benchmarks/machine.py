"""Machine facts and process memory, read without extra dependencies (no psutil).

Decisions: RSS comes from /proc/self/status (VmRSS now, VmHWM the peak so far) on Linux, falling back to
resource.getrusage's ru_maxrss (peak only) elsewhere; both are reported in MB (2**20 bytes).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
from pathlib import Path


def _status_kb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """Resident memory now (MB); the peak where the current value is not available."""
    kb = _status_kb("VmRSS")
    return round((kb if kb is not None else _maxrss_kb()) / 1024, 1)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    kb = _status_kb("VmHWM")
    return round((kb if kb is not None else _maxrss_kb()) / 1024, 1)


def _maxrss_kb() -> float:
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / 1024 if sys.platform == "darwin" else value  # macOS reports bytes, Linux kB


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def info() -> dict:
    import sqlite3

    try:
        import PySide6
        from PySide6 import QtCore

        qt = {"pyside6": PySide6.__version__, "qt": QtCore.qVersion()}
    except ImportError:
        qt = {"pyside6": None, "qt": None}
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "memory_gb": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **qt,
    }
