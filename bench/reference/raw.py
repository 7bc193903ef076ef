"""Reference (b): the practical limit for Python — a broadcaster written with `websockets` alone.

Speaks the hub's topic protocol (`message.send` in, `{"type": "message", "message": {...}}` out) so
the same load generator drives it. Each process holds ONE Redis pub/sub subscription per room, and
each message is decoded once, encoded once and handed to `websockets.broadcast` for every local
socket of the room. No persistence, no authentication: it is the floor the hub is compared with.

    python -m bench.reference.raw --port 9001 --redis redis://127.0.0.1:6379/0 --prefix bench-raw
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal

import orjson
import redis.asyncio as aioredis
import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve


class Broadcaster:
    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.pubsub = self.redis.pubsub()
        self.prefix = prefix
        self.rooms: dict[str, set[ServerConnection]] = {}
        # Subscribing is serialised: concurrent first subscriptions of a cold process raced in
        # redis-py's PubSub and delivered the first message twice (STACK-NOTES "Traps").
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task | None = None
        self.ids = itertools.count(1)

    def channel(self, room: str) -> str:
        return f"{self.prefix}:{room}"

    async def join(self, room: str, ws: ServerConnection) -> None:
        async with self.lock:
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = set()
                await self.pubsub.subscribe(self.channel(room))
                if self.reader is None:
                    self.reader = asyncio.create_task(self.read_loop())
            members.add(ws)

    def leave(self, room: str, ws: ServerConnection) -> None:
        self.rooms.get(room, set()).discard(ws)

    async def read_loop(self) -> None:
        cut = len(self.prefix) + 1
        async for item in self.pubsub.listen():
            if item["type"] != "message":
                continue
            room = item["channel"][cut:].decode()
            members = self.rooms.get(room)
            if members:
                broadcast(members, item["data"], text=True)

    async def handler(self, ws: ServerConnection) -> None:
        path = ws.request.path.strip("/").split("/")
        if len(path) != 3 or path[:2] != ["ws", "topics"]:
            await ws.close(4404)
            return
        room = path[2]
        await self.join(room, ws)
        try:
            async for raw in ws:
                try:
                    frame = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if frame.get("type") != "message.send":
                    continue
                out = orjson.dumps({
                    "type": "message",
                    "message": {"id": next(self.ids), "topic": room, "body": frame.get("body", ""),
                                "client_id": frame.get("client_id")},
                })
                await self.redis.publish(self.channel(room), out)
        finally:
            self.leave(room, ws)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--prefix", default="bench-raw")
    args = parser.parse_args()
    hub = Broadcaster(args.redis, args.prefix)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(hub.handler, args.host, args.port, max_size=64 * 1024, compression=None):
        await stop


if __name__ == "__main__":
    uvloop.run(main())
