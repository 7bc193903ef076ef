"""Persist, then broadcast: the sending half of every domain action (the publisher).

Services call `broadcast_on_commit(...)` inside their transaction; the frame is encoded once and
handed to the channel layer only after the transaction commits, so no client ever sees something the
database does not have (and a rolled-back action sends nothing). Sending failures are logged, never
raised: the data is safe, and clients recover it through `sync` / the API.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, Protocol, cast

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from hub import metrics
from hub.lib.jsonutil import dumps
from hub.realtime.audience import Audience, Lost, Reach
from hub.realtime.groups import control_group, groups_for
from hub.realtime.loops import per_loop

logger = logging.getLogger(__name__)

# The one message shape on the channel layer (hub.realtime.receiver reads it).
EVENT_TYPE = "hub.event"
# Several events of one group in one layer message, in order (see `publish_many`).
BATCH_TYPE = "hub.events"
MAX_BATCH = 100

# Every event carries its publisher (one id per process) and a sequence number per group, so that
# receivers notice events the layer skipped (hub.realtime.receiver, gap detection).
PUBLISHER_ID = uuid.uuid4().hex
_sequences: dict[str, itertools.count[int]] = {}
_sequences_lock = threading.Lock()


class ChannelLayer(Protocol):
    """What the hub uses of a Channels layer (the in-memory one and both of channels-redis')."""

    async def new_channel(self, prefix: str = ...) -> str: ...
    async def send(self, channel: str, message: dict[str, Any]) -> None: ...
    async def receive(self, channel: str) -> dict[str, Any]: ...
    async def group_add(self, group: str, channel: str) -> None: ...
    async def group_discard(self, group: str, channel: str) -> None: ...
    async def group_send(self, group: str, message: dict[str, Any]) -> None: ...


def channel_layer() -> ChannelLayer:
    """The process's default layer (configured in hub/settings.py for every deployment)."""
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured (CHANNEL_LAYERS)")
    return cast(ChannelLayer, layer)


def _next_sequence(group: str) -> int:
    # Publishers run on the event loop and in sync threads (broadcast_on_commit), hence the lock.
    with _sequences_lock:
        counter = _sequences.get(group)
        if counter is None:
            counter = _sequences[group] = itertools.count(1)
        return next(counter)


def event(group: str, frame_text: str, **meta: Any) -> dict[str, Any]:
    """The one message shape on the layer: the already-encoded frame plus routing metadata."""
    return {"type": EVENT_TYPE, "group": group, "frame": frame_text, **meta}


async def publish(group: str, frame_text: str, **meta: Any) -> None:
    layer = channel_layer()
    # The number is taken even if the send fails: receivers then see the gap and say so.
    sequence = _next_sequence(group)
    await layer.group_send(group, event(group, frame_text, publisher=PUBLISHER_ID, seq=sequence, **meta))


async def publish_many(group: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    """Several frames for one group, in order, as one layer message.

    A publish is a Redis round trip whose answer waits for a turn of the event loop, and under load
    a turn lasts a whole fan-out (1,000 sockets: 20-40 ms). Sent one by one, publishes were capped at
    one per fan-out, and so was each process' message rate: the hub's saturation (docs/benchmarks.md).
    A batch goes out in one round trip, and receivers hand its frames to each socket back to back,
    which lets the server write them together."""
    if len(items) == 1:
        text, meta = items[0]
        await publish(group, text, **meta)
        return
    events = [event(group, text, publisher=PUBLISHER_ID, seq=_next_sequence(group), **meta) for text, meta in items]
    await channel_layer().group_send(group, {"type": BATCH_TYPE, "group": group, "events": events})


def cursor_of(frame: Mapping[str, Any]) -> int | None:
    """The position of a frame in its stream: a topic message's id (ids grow in commit order within a
    topic). A receiving process that detects lost events tells sockets to sync from the last cursor
    it received before the gap (hub/realtime/receiver.py)."""
    message = frame.get("message") if frame.get("type") == "message" else None
    value = message.get("id") if isinstance(message, dict) else None
    return value if isinstance(value, int) else None


# What the outbox holds: a group, the frame's text (encoded once), and the event's metadata.
Publication = tuple[str, str, dict[str, Any]]


def publications(groups: list[str], frame: Mapping[str, Any], audience: Reach | None = None, *,
                 state: str | None = None, version: int | None = None) -> list[Publication]:
    """One event (one id, so a socket in several of the groups gets it once) for each group. `state`
    names what the frame carries the whole of (e.g. one message's reactions): such an event may wait
    a moment for company, and a newer one of the same state replaces it (hub.realtime.receiver) —
    newer by `version` when it has one (states published by two processes may arrive crossed),
    else by arrival."""
    meta = {"event_id": uuid.uuid4().hex, "audience": audience.as_meta() if audience is not None else None,
            "cursor": cursor_of(frame), "published_at": metrics.published_at()}
    if state is not None:
        meta["state"] = state
        if version is not None:
            meta["version"] = version
    text = dumps(frame)
    return [(group, text, meta) for group in dict.fromkeys(groups)]


async def send_publications(items: list[Publication]) -> None:
    """In order; consecutive ones for the same group go as one layer message (`publish_many`)."""
    for group, run in itertools.groupby(items, key=itemgetter(0)):
        frames = [(text, meta) for _group, text, meta in run]
        for start in range(0, len(frames), MAX_BATCH):
            try:
                await publish_many(group, frames[start:start + MAX_BATCH])
                metrics.PUBLISHED.inc(len(frames[start:start + MAX_BATCH]))
            except Exception:
                metrics.LAYER_ERRORS.labels("publish").inc()
                logger.exception("broadcast to %s failed (clients will recover through sync)", group)


async def send_now(groups: list[str], frame: dict[str, Any], audience: Reach | None = None) -> None:
    await send_publications(publications(groups, frame, audience))


class _Outbox:
    """The event loop's queue of publications handed over by worker threads, sent in the order they
    were committed.

    The thread that committed (a request's, or a socket's database thread) does not wait for its
    publish: when each waited for the event loop — busy fanning the previous message out to a
    thousand sockets — that wait, not the database, capped the messages per second
    (docs/benchmarks.md). One drain task keeps the commit order that clients rely on, and sends
    whatever piled up during a fan-out together (`send_publications`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: deque[Publication] = deque()
        self.task: asyncio.Task[None] | None = None

    def put(self, items: list[Publication]) -> None:  # on the loop
        self.queue.extend(items)
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._drain(), name="hub-broadcast-outbox")

    async def _drain(self) -> None:
        while self.queue:
            items = list(self.queue)
            self.queue.clear()
            await send_publications(items)


_outbox = per_loop(_Outbox)

# The event loop this server process serves its sockets on, recorded by the application's first call
# (hub/asgi.py), and the background threads (hub.jobs) whose publications go through it.
_server_loop: asyncio.AbstractEventLoop | None = None
_through_server_loop = threading.local()


def remember_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _server_loop
    _server_loop = loop


@contextmanager
def publishing_through_server_loop() -> Iterator[None]:
    """Inside this block, a thread that is none of the server's (the jobs thread) publishes through
    the server's event loop, like a request's thread does. On the embedded default the channel layer
    is in memory: a frame sent from a loop of the thread's own would never wake the server loop's
    sockets. Before the server loop is known (no request or socket yet) it publishes from a loop of
    its own, which reaches other processes through Redis (and, in memory, nobody is connected yet)."""
    _through_server_loop.active = True
    try:
        yield
    finally:
        _through_server_loop.active = False


def _run_publisher(items: list[Publication]) -> None:
    """Publish from sync code: queued on the server's event loop (which owns the channel layer's
    connections) when called from one of its worker threads, else sent from a loop of its own, to
    completion."""
    loop = None
    if getattr(SyncToAsync.threadlocal, "main_event_loop_pid", None) == os.getpid():
        loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is None and getattr(_through_server_loop, "active", False):
        loop = _server_loop
    if loop is None:
        async_to_sync(send_publications)(items)
        return
    if loop.is_closed() or not loop.is_running():
        # Shutting down (SIGTERM) after this thread committed: publish from a loop of our own in this
        # thread, or the other processes' sockets would never hear of data that is already stored.
        asyncio.run(send_publications(items))
        return
    outbox = _outbox(loop)
    try:
        loop.call_soon_threadsafe(outbox.put, items)
    except RuntimeError:  # the loop closed between the check and the call
        asyncio.run(send_publications(items))


def broadcast_on_commit(groups: list[str], frame: Mapping[str, Any], audience: Reach | None = None, *,
                        state: str | None = None, version: int | None = None) -> None:
    """Schedule `frame` for `groups` once the current transaction commits (at once outside one).
    `state`: the frame is the whole current state it names, `version` its order (see `publications`)."""
    _publish_on_commit(lambda: publications(groups, frame, audience, state=state, version=version),
                       lambda: str(frame.get("type")))


# One frame's broadcast: its groups, the frame, its audience.
Broadcast = tuple[list[str], Mapping[str, Any], Reach | None]


def withdrawal(frame: Mapping[str, Any], *, before: Audience | None, after: Audience,
               groups: list[str] | None = None) -> list[Broadcast]:
    """The broadcast of `frame` — one that takes a thing off the screens of the people whose right to
    it a change just ended (`alert.withdrawn`, `ticket.withdrawn`, `message.withdrawn`) — to exactly
    those people: the ones `before` admitted and `after` refuses (`Lost`), over `groups` (a topic's
    group for a message) or else the groups that cover `before`. None when the audience did not
    change (or `before` is not known): a change that left everyone who saw the thing able to see it
    withdraws nothing. To hand over with the change's own frames (`broadcast_together_on_commit`)."""
    if before is None or before == after:
        return []
    return [(groups if groups is not None else groups_for(before), frame, Lost(before=before, after=after))]


def broadcast_together_on_commit(broadcasts: Sequence[Broadcast]) -> None:
    """Several frames of one action, handed over in one piece once the transaction commits: those
    for the same group then leave as one layer message (`send_publications`), so a socket that
    takes batches gets them as one frame — a threaded reply and its thread's new count
    (chat.services). Handed over one by one, the event loop could publish the first before the
    second arrived: two layer messages, and a second write to every socket."""
    _publish_on_commit(lambda: [item for groups, frame, audience in broadcasts
                                for item in publications(groups, frame, audience)],
                       lambda: ", ".join(str(f.get("type")) for _g, f, _a in broadcasts))


def _publish_on_commit(make: Callable[[], list[Publication]], what: Callable[[], str]) -> None:
    """After commit: encode the publications then (not before: a rolled-back action costs nothing)
    and hand them to the publisher; a failure is logged, never raised (the data is stored)."""

    def send() -> None:
        try:
            _run_publisher(make())
        except Exception:
            logger.exception("broadcast of %s failed", what())

    transaction.on_commit(send, robust=True)


_order_locks: dict[Hashable, threading.Lock] = {}
_order_locks_guard = threading.Lock()


@contextmanager
def published_in_commit_order(stream: Hashable) -> Iterator[Callable[[], None]]:
    """Wrap a transaction whose broadcasts must leave this process in commit order with those of
    other transactions on the same stream (a topic's messages, whose ids grow in commit order); call
    what it yields as the transaction body's last statement, while the stream's row lock is held.

    The database orders the commits (a row lock), but each thread hands its publications over after
    its COMMIT returns, and a thread kept waiting for the GIL there was overtaken by the next
    committer: about one message in 300 went out after its successor in a ten-sender burst
    (tests/chat/test_e2e.py). A per-stream lock taken just before COMMIT and released once the
    after-commit hooks have queued the publications makes hand-over order commit order. It is not
    taken for the whole transaction: that serialised the next message's queries behind this one's
    hooks and cost a quarter of one process's burst throughput (docs/benchmarks.md). Inside an
    outer transaction the hooks only run at its end, so there this does nothing."""
    if transaction.get_connection().in_atomic_block:
        yield lambda: None
        return
    with _order_locks_guard:
        lock = _order_locks.setdefault(stream, threading.Lock())
    held = False

    def before_commit() -> None:
        nonlocal held
        lock.acquire()
        held = True

    try:
        yield before_commit
    finally:
        if held:
            lock.release()


def broadcast_control_on_commit(user_id: int, action: str, **meta: Any) -> None:
    """Tell every live socket of `user_id` about `action` (e.g. "user_deactivated") after commit."""
    # `user`: the group is shared with other people (hub.realtime.groups.CONTROL_GROUPS).
    _control_on_commit(control_group(user_id), action, user=user_id, **meta)


def broadcast_group_control_on_commit(group: str, action: str) -> None:
    """Tell every live socket in `group` — a topic's, say — about `action` after commit. The event
    names nobody, so each socket hearing it holds what arrives next, re-reads its person and decides
    again whether it may stay (HubConsumer._control): those that may not close (4403) before
    anything published after this change reaches them (one group's events arrive in order)."""
    _control_on_commit(group, action)


def _control_on_commit(group: str, action: str, **meta: Any) -> None:
    def send() -> None:
        try:
            _run_publisher([(group, "", {"event_id": uuid.uuid4().hex, "control": action, **meta})])
        except Exception:
            logger.exception("control broadcast %s to %s failed", action, group)

    transaction.on_commit(send, robust=True)
