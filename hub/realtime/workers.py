"""Where a WebSocket consumer's database work runs."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar, cast

from channels.db import DatabaseSyncToAsync
from django.conf import settings

from hub.lib import ratelimit

P = ParamSpec("P")
R = TypeVar("R")
_executor: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.HUB_WS_DB_THREADS, thread_name_prefix="hub-ws-db")
    return _executor


def waiting() -> int:
    """Calls queued for a database thread right now (GET /metrics: hub_ws_db_waiting). The executor's
    queue is the one place that knows; counting around each call would cost the hot path."""
    return _executor._work_queue.qsize() if _executor is not None else 0


def in_worker_thread(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """`fn` (sync, using the ORM) as a coroutine run in one of the process' `HUB_WS_DB_THREADS`
    database threads, with Django's connection hygiene around it as Channels'
    `database_sync_to_async` does. Not that decorator's default single thread per process: every
    socket's posts, syncs and checks queued behind one another there, so one slow commit (an fsync)
    held up every other sender, and the process stored at most one message at a time. A socket still
    handles its own frames in order; the topic's row lock orders messages within a topic
    (chat.services.post_message). The threads outlive event loops (tests run one per test) and are
    fewer than the connection pool, so sockets can never take every connection from HTTP.

    A frame's rate-limit buckets still pending (hub/lib/ratelimit.py) are charged first, in this
    thread: one Redis call where the frame's work starts, before anything is written."""

    @functools.wraps(fn)
    def charged_first(*args: P.args, **kwargs: P.kwargs) -> R:
        ratelimit.charge()
        return fn(*args, **kwargs)

    return cast(Callable[P, Awaitable[R]], DatabaseSyncToAsync(charged_first, thread_sensitive=False,
                                                                executor=_threads()))
