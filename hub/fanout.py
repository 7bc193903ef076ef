"""Process-local fan-out: one channel-layer subscription per group per process, not per socket.

The Channels tutorial design gives every socket its own channel and has the layer deliver one copy
per recipient (a layer message, a dispatch and a `json.dumps` each). Measured on this hardware that
saturates at a few thousand deliveries/s (../shared/STACK-NOTES.md). Here each process owns a single
layer channel; the first local socket interested in a group adds that channel to the group, and one
reader task relays each event — whose frame was encoded once, by the publisher — to every local
socket in the group. Delivery is still best-effort: sockets recover anything missed from the database
through `sync`, never from the layer.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Protocol

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

EVENT_TYPE = "hub.event"
# channels-redis forgets group membership after `group_expiry`; re-adding well before keeps a
# long-lived process subscribed (core layer; harmless for the pub/sub layer).
REFRESH_SECONDS = 600


class Listener(Protocol):
    async def deliver(self, event: dict[str, Any]) -> None: ...


def event(group: str, frame_text: str, **meta: Any) -> dict[str, Any]:
    """The one message shape on the layer: the already-encoded frame plus routing metadata."""
    return {"type": EVENT_TYPE, "group": group, "frame": frame_text, **meta}


async def publish(group: str, frame_text: str, **meta: Any) -> None:
    layer = get_channel_layer()
    await layer.group_send(group, event(group, frame_text, **meta))


class LocalFanout:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.groups: dict[str, set[Listener]] = {}
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task | None = None
        self._refresher: asyncio.Task | None = None

    async def _ensure_started(self) -> None:
        if self.channel is None:
            self.channel = await self.layer.new_channel("hub.process.")
            self._reader = asyncio.create_task(self._read_loop(), name="hub-fanout-reader")
            self._refresher = asyncio.create_task(self._refresh_loop(), name="hub-fanout-refresh")

    async def join(self, group: str, listener: Listener) -> None:
        # Subscriptions are serialised: concurrent first subscriptions to one group raced in
        # redis-py's PubSub and delivered the first message twice (STACK-NOTES "Traps").
        async with self._lock:
            await self._ensure_started()
            members = self.groups.get(group)
            if members is None:
                members = self.groups[group] = set()
                await self.layer.group_add(group, self.channel)
            members.add(listener)

    async def leave(self, group: str, listener: Listener) -> None:
        async with self._lock:
            members = self.groups.get(group)
            if members is None:
                return
            members.discard(listener)
            if not members:
                del self.groups[group]
                try:
                    await self.layer.group_discard(group, self.channel)
                except Exception:  # the layer being down must not break a disconnect
                    logger.warning("group_discard(%s) failed", group, exc_info=True)

    async def _read_loop(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message.get("type") != EVENT_TYPE:
                continue
            for listener in list(self.groups.get(message.get("group"), ())):
                try:
                    await listener.deliver(message)
                except Exception:
                    logger.exception("delivery to a local socket failed")

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            for group in list(self.groups):
                try:
                    await self.layer.group_add(group, self.channel)
                except Exception:
                    logger.warning("refreshing group %s failed", group, exc_info=True)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LocalFanout] = weakref.WeakKeyDictionary()


def local_fanout() -> LocalFanout:
    """The fan-out of the running event loop (one per server process; tests get one per loop)."""
    loop = asyncio.get_running_loop()
    fanout = _by_loop.get(loop)
    if fanout is None:
        fanout = _by_loop[loop] = LocalFanout()
    return fanout
