"""CPU seconds of running processes, read from /proc (Linux), for benchmarks that count what each
kind of process spent."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first); None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw.rpartition(")")[2].split()  # the name may hold spaces and parentheses


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User and system CPU seconds of a process (0 once it is gone); with reaped=True, also those
    of the children it has waited for."""
    f = _fields(pid)
    if f is None:
        return 0.0
    ticks = int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if reaped else 0)
    return ticks / _TICK


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            f = _fields(int(entry.name))
            if f is not None and int(f[1]) == pid:
                found.append(int(entry.name))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a server and its children: the live ones, and those it has reaped (a
    PostgreSQL backend that ended is counted in its postmaster's children's time)."""
    return cpu_seconds(pid, reaped=True) + sum(cpu_seconds(child) for child in children(pid))
