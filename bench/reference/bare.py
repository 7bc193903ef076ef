"""Reference (c): the ASGI server's own ceiling — a bare ASGI application with the hub's fan-out shape.

Issue 11 measures daphne against "a bare consumer with process-local fan-out" (STACK-NOTES: "plain
ASGI consumer, one Redis subscription per room per process, frame encoded once, sent to each local
socket"). This is that application, with nothing else: no Django, no Channels, no persistence, no
authentication. Served by daphne (`bare-daphne-1`) and by uvicorn (`bare-uvicorn-1`), it shows in the
same run what each server can deliver at all, so the hub's figures can be read as a share of that.

    daphne bench.reference.bare:application          (REDIS_URL, BENCH_PREFIX from the environment)
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bench.reference.rooms import Rooms, room_of

Send = Callable[[dict[str, Any]], Awaitable[None]]


class Broadcaster(Rooms[Send]):
    """One per process: each published frame becomes ONE ASGI message handed to every local socket."""

    async def deliver(self, members: Iterable[Send], data: bytes) -> None:
        message = {"type": "websocket.send", "text": data.decode()}
        for send in list(members):
            try:
                await send(message)
            except Exception:  # a socket that went away meanwhile
                pass


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
    room = room_of(scope["path"])
    if room is None:
        await send({"type": "websocket.close", "code": 4404})
        return
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
