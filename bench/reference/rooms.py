"""What the raw and bare references share: one Redis pub/sub subscription per room per process, and
the hub's `message.send` → `message` frame, decoded once and encoded once per message."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Generic, TypeVar

import orjson
import redis.asyncio as aioredis

Member = TypeVar("Member")


def room_of(path: str) -> str | None:
    """The room of a `/ws/topics/<room>/` path; None for any other path (closed with 4404)."""
    parts = path.strip("/").split("/")
    return parts[2] if len(parts) == 3 and parts[:2] == ["ws", "topics"] else None


class Rooms(Generic[Member]):
    """The rooms' local members; subclasses say how one published frame reaches them (`deliver`)."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.pubsub = self.redis.pubsub()
        self.prefix = prefix
        self.rooms: dict[str, set[Member]] = {}
        # Subscribing is serialised: concurrent first subscriptions of a cold process raced in
        # redis-py's PubSub and delivered the first message twice (STACK-NOTES "Traps").
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task | None = None
        self.ids = itertools.count(1)

    def channel(self, room: str) -> str:
        return f"{self.prefix}:{room}"

    async def join(self, room: str, member: Member) -> None:
        async with self.lock:
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = set()
                await self.pubsub.subscribe(self.channel(room))
                if self.reader is None:
                    self.reader = asyncio.create_task(self.read_loop())
            members.add(member)

    def leave(self, room: str, member: Member) -> None:
        self.rooms.get(room, set()).discard(member)

    async def read_loop(self) -> None:
        cut = len(self.prefix) + 1
        async for item in self.pubsub.listen():
            if item["type"] != "message":
                continue
            members = self.rooms.get(item["channel"][cut:].decode())
            if members:
                await self.deliver(members, item["data"])

    async def deliver(self, members: Iterable[Member], data: bytes) -> None:
        raise NotImplementedError

    async def publish(self, room: str, raw: str | bytes) -> None:
        """A client's frame: a `message.send` becomes the hub's `message` frame for the whole room;
        anything else is ignored (these references measure fan-out, not validation)."""
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return
        if not isinstance(frame, dict) or frame.get("type") != "message.send":
            return
        out = orjson.dumps({
            "type": "message",
            "message": {"id": next(self.ids), "topic": room, "body": frame.get("body", ""),
                        "client_id": frame.get("client_id")},
        })
        await self.redis.publish(self.channel(room), out)
