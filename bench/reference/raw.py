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
import signal
from collections.abc import Iterable

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.reference.rooms import Rooms, room_of


class Broadcaster(Rooms[ServerConnection]):
    async def deliver(self, members: Iterable[ServerConnection], data: bytes) -> None:
        broadcast(members, data, text=True)

    async def handler(self, ws: ServerConnection) -> None:
        room = room_of(ws.request.path)
        if room is None:
            await ws.close(4404)
            return
        await self.join(room, ws)
        try:
            async for raw in ws:
                await self.publish(room, raw)
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
