"""Persist, then broadcast: the sending half of every domain action.

Services call `broadcast_on_commit(...)` inside their transaction; the frame is encoded once and
handed to the channel layer only after the transaction commits, so no client ever sees something the
database does not have (and a rolled-back action sends nothing). Sending failures are logged, never
raised: the data is safe, and clients recover it through `sync` / the API.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from django.db import transaction

from hub.audience import Audience
from hub.fanout import publish
from hub.jsonutil import dumps
from hub.loops import per_loop

logger = logging.getLogger(__name__)

# Group names, one place: a socket joins the groups of its identity (see hub/notifications.py).
ALL = "all"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def centre_group(code: str) -> str:
    return f"centre.{code}"


def role_group(role: str) -> str:
    return f"role.{role}"


def topic_group(slug: str) -> str:
    return f"topic.{slug}"


def control_group(user_id: int) -> str:
    """Every socket of a user joins this group, whatever its route (see hub/services.py)."""
    return f"control.{user_id}"


def cursor_of(frame: dict[str, Any]) -> int | None:
    """The position of a frame in its stream: a topic message's id (ids grow in commit order within a
    topic). A receiving process that detects lost events tells sockets to sync from the last cursor
    it received before the gap (hub/fanout.py)."""
    message = frame.get("message") if frame.get("type") == "message" else None
    value = message.get("id") if isinstance(message, dict) else None
    return value if isinstance(value, int) else None


async def send_now(groups: list[str], frame: dict[str, Any], audience: Audience | None = None) -> None:
    text = dumps(frame)
    event_id = uuid.uuid4().hex
    meta = audience.as_meta() if audience is not None else None
    cursor = cursor_of(frame)
    for group in dict.fromkeys(groups):
        try:
            await publish(group, text, event_id=event_id, audience=meta, cursor=cursor)
        except Exception:
            logger.exception("broadcast to %s failed (clients will recover through sync)", group)


class _Outbox:
    """The event loop's queue of publishes handed over by worker threads, sent one at a time in the
    order they were committed.

    The thread that committed (a request's, or a socket's database thread) does not wait for its
    publish: when each waited for the event loop — busy fanning the previous message out to a
    thousand sockets — that wait, not the database, capped the messages per second
    (docs/benchmarks.md). One drain task keeps the commit order that clients rely on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: deque[Callable[[], Coroutine[Any, Any, None]]] = deque()
        self.task: asyncio.Task | None = None

    def put(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:  # on the loop
        self.queue.append(make)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._drain(), name="hub-broadcast-outbox")

    async def _drain(self) -> None:
        while self.queue:
            make = self.queue.popleft()
            try:
                await make()
            except Exception:
                logger.exception("broadcast failed (clients will recover through sync)")


_outbox = per_loop(_Outbox)


def _run_publisher(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a publishing coroutine from sync code: queued on the server's event loop (which owns the
    channel layer's connections) when called from one of its worker threads, else on a loop of its
    own, to completion."""
    loop = None
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid():
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None:

        async def run() -> None:
            await make()

        async_to_sync(run)()
        return
    if loop.is_closed() or not loop.is_running():
        # Shutting down (SIGTERM) after this thread committed: publish from a loop of our own in this
        # thread, or the other processes' sockets would never hear of data that is already stored.
        asyncio.run(make())
        return
    outbox = _outbox(loop)
    try:
        loop.call_soon_threadsafe(outbox.put, make)
    except RuntimeError:  # the loop closed between the check and the call
        asyncio.run(make())


def broadcast_on_commit(groups: list[str], frame: dict[str, Any], audience: Audience | None = None) -> None:
    """Schedule `frame` for `groups` once the current transaction commits (at once outside one)."""

    def send() -> None:
        try:
            _run_publisher(lambda: send_now(groups, frame, audience))
        except Exception:
            logger.exception("broadcast of %s failed", frame.get("type"))

    transaction.on_commit(send, robust=True)


def broadcast_control_on_commit(user_id: int, action: str, **meta: Any) -> None:
    """Tell every live socket of `user_id` about `action` (e.g. "user_deactivated") after commit."""

    def send() -> None:
        async def go() -> None:
            await publish(control_group(user_id), "", event_id=uuid.uuid4().hex, control=action, **meta)

        try:
            _run_publisher(go)
        except Exception:
            logger.exception("control broadcast %s for user %s failed", action, user_id)

    transaction.on_commit(send, robust=True)
