"""A ticket handshake and an idle socket, measured in-process (issue 27, targets 1 and 2).

    DATABASE_URL=… REDIS_URL=… DJANGO_SETTINGS_MODULE=hub.settings python -m bench.handshake \
        [--sockets 300] [--rounds 5] [--top 25]

Runs the hub's own ASGI application (`hub.asgi.application`) in this process, without a server: each
client asks for a ticket (`POST /api/v1/ws-tickets` with an API token, through the HTTP stack) and
opens `/ws/topics/<bench topic>/?ticket=…&batch=1` (through the WebSocket stack: the handshake limit,
the gate, the router, `TopicConsumer`) on the configured database and channel layer. It prints

- **CPU per client**: process CPU time (every thread: the event loop, the request and socket
  database threads) per ticket + handshake + close, the median of `--rounds` rounds of `--sockets`
  clients opened together — what the reconnect storm costs the server's Python, without a server's
  framing and without another process's noise (a busy machine slows it, but hardly changes it);
- **Python memory per idle socket**: tracemalloc's traced blocks that `--sockets` open, idle,
  authenticated sockets keep (after their first presence frame), per socket, by allocating line —
  the hub's and Channels' share of bench/memory.py's RSS figure, without the server's own per-socket
  objects (the test harness's queues are left out).

Run it on two checkouts in turn (`PYTHONPATH=<checkout> python <this file>`) to compare code, on a
database prepared by `python -m bench.memory` or `bench.storm` (the bench users, the demo topics).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import time
import tracemalloc
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")

TOPIC = "an-toan-thong-tin"
HARNESS = ("asgiref/testing.py", "channels/testing/", "bench/handshake.py", "tracemalloc.py")


async def ticket(app: Any, key: str) -> str:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/v1/ws-tickets", "raw_path": b"/api/v1/ws-tickets", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Token {key}".encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    body: list[bytes] = []
    status: list[int] = []
    done = asyncio.Event()
    asked: list[bool] = []

    async def receive() -> dict[str, Any]:
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    done.set()
    assert status == [201], (status, b"".join(body)[:300])
    return json.loads(b"".join(body))["ticket"]


async def open_socket(app: Any, key: str) -> Any:
    from channels.testing import WebsocketCommunicator

    raw = await ticket(app, key)
    socket = WebsocketCommunicator(app, f"/ws/topics/{TOPIC}/?batch=1&ticket={raw}")
    connected, code = await socket.connect(timeout=30)
    assert connected, code
    return socket


async def storm(app: Any, keys: list[str]) -> list[Any]:
    return list(await asyncio.gather(*(open_socket(app, key) for key in keys)))


async def close_all(sockets: list[Any]) -> None:
    await asyncio.gather(*(s.disconnect(timeout=10) for s in sockets))


def tokens(count: int) -> list[str]:
    from hub.models import ApiToken, User

    people = list(User.objects.filter(is_active=True, username__startswith="bench").order_by("pk")[:count])
    assert len(people) == count, f"needs {count} bench users (prepare the database with bench.memory or bench.storm)"
    return [ApiToken.issue(person, name="bench.handshake")[1] for person in people]


def not_harness(trace: tracemalloc.Trace) -> bool:
    return not any(any(h in frame.filename for h in HARNESS) for frame in trace.traceback)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.handshake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-memory", action="store_true")
    args = parser.parse_args()
    import django

    django.setup()
    from hub.asgi import application
    from hub.models import ApiToken

    keys = tokens(args.sockets)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(close_all(loop.run_until_complete(storm(application, keys[:20]))))  # warm
        per_client = []
        for _ in range(args.rounds):
            gc.collect()
            start = time.process_time()
            sockets = loop.run_until_complete(storm(application, keys))
            loop.run_until_complete(close_all(sockets))
            per_client.append((time.process_time() - start) / args.sockets * 1e6)
            loop.run_until_complete(asyncio.sleep(1))  # presence of the last round announced, threads idle
        print(f"CPU per client (ticket + handshake + close), {args.sockets} at once: median "
              f"{statistics.median(per_client):,.0f} µs ({', '.join(f'{v:,.0f}' for v in per_client)})")
        if not args.no_memory:
            tracemalloc.start(25)
            gc.collect()
            before = tracemalloc.take_snapshot()
            sockets = loop.run_until_complete(storm(application, keys))
            loop.run_until_complete(asyncio.sleep(1.5))  # their presence frames delivered
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            mine = after.filter_traces([tracemalloc.Filter(False, f"*{h}*", all_frames=True) for h in HARNESS])
            base = before.filter_traces([tracemalloc.Filter(False, f"*{h}*", all_frames=True) for h in HARNESS])
            stats = mine.compare_to(base, "lineno")
            total = sum(s.size_diff for s in stats)
            print("Python memory per idle socket (tracemalloc, harness left out): "
                  f"{total / args.sockets / 1024:.2f} KiB")
            for s in stats[:args.top]:
                frame = s.traceback[0]
                print(f"  {s.size_diff / args.sockets / 1024:6.2f} KiB {s.count_diff / args.sockets:6.1f}  "
                      f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}")
            by_file: dict[str, int] = {}
            for s in stats:
                name = s.traceback[0].filename.split("site-packages/")[-1].split("/work/wt/")[-1]
                by_file[name] = by_file.get(name, 0) + s.size_diff
            print("by file:")
            for name, size in sorted(by_file.items(), key=lambda kv: -kv[1])[:args.top]:
                print(f"  {size / args.sockets / 1024:6.2f} KiB  {name}")
            loop.run_until_complete(close_all(sockets))
    finally:
        ApiToken.objects.filter(name="bench.handshake").delete()
        loop.close()


if __name__ == "__main__":
    main()
