"""An ASGI application for bench/memory.py: the hub's (or, with BENCH_MEMPROBE_APP, another, e.g. the
bare reference's) application, plus signal handlers. Never used outside the bench.

- SIGUSR2 starts tracemalloc; SIGUSR1 writes a snapshot of what was allocated since and is still
  alive into $BENCH_MEMPROBE_DIR/snapshot.bin.
- SIGRTMIN writes $BENCH_MEMPROBE_DIR/heap.json: where the process's resident memory sits — its
  threads, pymalloc's arenas (allocated, and the bytes in them that hold live objects); SIGRTMIN+1
  the same, then what glibc's malloc held free (the RSS `malloc_trim` gives back). The trim changes
  the process's memory: measure RSS before sending it.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import re
import signal
import tempfile
import threading
import tracemalloc
from pathlib import Path

_module, _, _name = os.environ.get("BENCH_MEMPROBE_APP", "hub.asgi:application").partition(":")
application = getattr(importlib.import_module(_module), _name)

__all__ = ["application"]


def _out(name: str) -> Path:
    return Path(os.environ.get("BENCH_MEMPROBE_DIR", "/tmp")) / name


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _dump(signum, frame) -> None:
    if not tracemalloc.is_tracing():
        return
    gc.collect()
    out = _out("snapshot.bin")
    tracemalloc.take_snapshot().dump(str(out))
    out.with_suffix(".done").write_text("")


def _start(signum, frame) -> None:
    tracemalloc.start(int(os.environ.get("BENCH_MEMPROBE_FRAMES", "12")))


def _pymalloc() -> dict[str, int]:
    """pymalloc's own account (sys._debugmallocstats, which writes to the C stderr)."""
    import sys

    with tempfile.TemporaryFile() as f:
        saved = os.dup(2)
        os.dup2(f.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode(errors="replace")
    out: dict[str, int] = {}
    for key, pattern in (("arenas_allocated_now", r"# arenas allocated current\s*=\s*([\d,]+)"),
                         ("arena_bytes", r"(\d[\d,]*) arenas \* \d+ bytes/arena\s*=\s*([\d,]+)"),
                         ("used_block_bytes", r"# bytes in allocated blocks\s*=\s*([\d,]+)"),
                         ("free_block_bytes", r"# bytes in available blocks\s*=\s*([\d,]+)"),
                         ("unused_pool_bytes", r"unused pools \* \d+ bytes\s*=\s*([\d,]+)")):
        m = re.search(pattern, text)
        if m:
            out[key] = int(m.groups()[-1].replace(",", ""))
    return out


def _heap(signum, frame) -> None:
    gc.collect()
    report: dict[str, object] = {"rss_kib": _rss_kib(), "threads": threading.active_count(),
                                 "os_threads": len(os.listdir("/proc/self/task")),
                                 "pymalloc": _pymalloc()}
    if signum == signal.SIGRTMIN + 1:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    report["rss_after_malloc_trim_kib"] = _rss_kib()
    report["thread_names"] = sorted(t.name for t in threading.enumerate())
    _out("heap.json.tmp").write_text(json.dumps(report))
    os.replace(_out("heap.json.tmp"), _out("heap.json"))


signal.signal(signal.SIGUSR1, _dump)
signal.signal(signal.SIGUSR2, _start)
signal.signal(signal.SIGRTMIN, _heap)
signal.signal(signal.SIGRTMIN + 1, _heap)
