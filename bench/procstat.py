"""CPU time and resident memory of a process, from /proc (psutil is not installed, and not needed)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (0 if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine() -> dict[str, str]:
    """What the figures were measured on (for the report and docs/benchmarks.md)."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    return {
        "load_average": load,
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def nice_database_backend(cursor, niceness: int = 10) -> bool:
    """Lower the priority of the PostgreSQL backend serving `cursor` (bulk seeding on a machine
    shared with others): `renice` its process when PostgreSQL runs on this machine and we may;
    False when it could not be done (remote server, no permission) — seeding goes on regardless."""
    import subprocess

    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    if not Path(f"/proc/{pid}").exists():
        return False
    done = subprocess.run(["renice", "-n", str(niceness), "-p", str(pid)], capture_output=True)
    return done.returncode == 0
