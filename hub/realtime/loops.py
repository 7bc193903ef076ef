"""One object per running event loop: the process fan-out, the broadcast outbox, the re-check, the
presence heartbeats… Objects holding asyncio tasks, locks or connections belong to one loop: a
server process has one, tests start one per test."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def per_loop(factory: Callable[[asyncio.AbstractEventLoop], T]) -> Callable[..., T]:
    """A getter returning `factory(loop)`'s result for the running loop (or the `loop` given, from a
    worker thread), made on first use and forgotten with the loop."""
    instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()
    lock = threading.Lock()  # worker threads ask for the loop's outbox concurrently

    def get(loop: asyncio.AbstractEventLoop | None = None) -> T:
        loop = loop or asyncio.get_running_loop()
        with lock:
            instance = instances.get(loop)
            if instance is None:
                instance = instances[loop] = factory(loop)
            return instance

    return get
