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
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from django.db import transaction

from hub.audience import Audience
from hub.fanout import publish
from hub.jsonutil import dumps

logger = logging.getLogger(__name__)

# How long a request thread waits for its after-commit publish. Bounded because the server's event
# loop may have stopped under it (SIGTERM): an unbounded wait hung the thread, and with it the
# process' exit, forever (tests/reliability/test_graceful_shutdown.py).
PUBLISH_TIMEOUT_SECONDS = 5.0

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


def _run_publisher(make: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a publishing coroutine from sync code: on the server's event loop (which owns the channel
    layer's connections) when called from one of its worker threads, else on a loop of its own."""
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
    future = asyncio.run_coroutine_threadsafe(make(), loop)
    try:
        future.result(PUBLISH_TIMEOUT_SECONDS)
    except TimeoutError:
        future.cancel()
        raise


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
