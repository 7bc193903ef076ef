"""The hub's ASGI application for bench/memory.py: the same application, plus signal handlers:
SIGUSR2 starts tracemalloc, SIGUSR1 writes a snapshot of what was allocated since and is still alive
into $BENCH_MEMPROBE_DIR/snapshot.bin. Never used outside the bench."""

from __future__ import annotations

import gc
import os
import signal
import tracemalloc
from pathlib import Path

from hub.asgi import application

__all__ = ["application"]


def _dump(signum, frame) -> None:
    if not tracemalloc.is_tracing():
        return
    gc.collect()
    out = Path(os.environ.get("BENCH_MEMPROBE_DIR", "/tmp")) / "snapshot.bin"
    tracemalloc.take_snapshot().dump(str(out))
    out.with_suffix(".done").write_text("")


def _start(signum, frame) -> None:
    tracemalloc.start(int(os.environ.get("BENCH_MEMPROBE_FRAMES", "12")))


signal.signal(signal.SIGUSR1, _dump)
signal.signal(signal.SIGUSR2, _start)
