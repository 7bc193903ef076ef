"""Reference (c): the ASGI server's own ceiling — a bare ASGI application with the hub's fan-out shape.

Issue 11 measures daphne against "a bare consumer with process-local fan-out" (STACK-NOTES: "plain
ASGI consumer, one Redis subscription per room per process, frame encoded once, sent to each local
socket"). This is that application, with nothing else: no Django, no Channels, no persistence, no
authentication. Served by daphne (`bare-daphne-1`) and by uvicorn (`bare-uvicorn-1`), it shows in the
same run what each server can deliver at all, so the hub's figures can be read as a share of that.

    daphne bench.reference.bare:application          (REDIS_URL, BENCH_PREFIX from the environment)
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Broadcaster:
    """One per process (and event loop): the rooms' local sockets and one pub/sub subscription each."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.pubsub = self.redis.pubsub()
        self.prefix = prefix
        self.rooms: dict[str, set[Send]] = {}
        # Serialised for the reason given in bench/reference/raw.py (redis-py PubSub set-up race).
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task | None = None
        self.ids = itertools.count(1)

    def channel(self, room: str) -> str:
        return f"{self.prefix}:{room}"

    async def join(self, room: str, send: Send) -> None:
        async with self.lock:
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = set()
                await self.pubsub.subscribe(self.channel(room))
                if self.reader is None:
                    self.reader = asyncio.create_task(self.read_loop())
            members.add(send)

    def leave(self, room: str, send: Send) -> None:
        self.rooms.get(room, set()).discard(send)

    async def read_loop(self) -> None:
        cut = len(self.prefix) + 1
        async for item in self.pubsub.listen():
            if item["type"] != "message":
                continue
            members = self.rooms.get(item["channel"][cut:].decode())
            if not members:
                continue
            message = {"type": "websocket.send", "text": item["data"].decode()}  # one for every socket
            for send in list(members):
                try:
                    await send(message)
                except Exception:  # a socket that went away meanwhile
                    pass

    async def publish(self, room: str, text: str) -> None:
        try:
            frame = orjson.loads(text)
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


_broadcaster: Broadcaster | None = None


def broadcaster() -> Broadcaster:
    global _broadcaster
    if _broadcaster is None:
        _broadcaster = Broadcaster(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                                   os.environ.get("BENCH_PREFIX", "bench-bare"))
    return _broadcaster


async def application(scope: dict[str, Any], receive: Callable, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    path = scope["path"].strip("/").split("/")
    if len(path) != 3 or path[:2] != ["ws", "topics"]:
        await send({"type": "websocket.close", "code": 4404})
        return
    room = path[2]
    await send({"type": "websocket.accept"})
    hub = broadcaster()
    await hub.join(room, send)
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                return
            if event["type"] == "websocket.receive" and event.get("text") is not None:
                await hub.publish(room, event["text"])
    finally:
        hub.leave(room, send)
