"""A broadcaster that misbehaves on purpose, so the harness tests can prove losses and duplicates
are counted (a benchmark that only counts losses would call a duplicating server perfect).

    python tests/bench/faulty_server.py --port N --mode dup|drop
dup: every message reaches every client twice. drop: every second message reaches nobody.
batch: not faulty — messages go out in pairs, as the hub's `batch` frames (docs/chat.md), to prove
the generator counts every message inside one.
"""

import argparse
import asyncio
import itertools

import orjson
from websockets.asyncio.server import broadcast, serve

clients: set = set()
counter = itertools.count()
pending: list[bytes] = []


async def handler(ws, mode: str) -> None:
    clients.add(ws)
    try:
        async for raw in ws:
            frame = orjson.loads(raw)
            out = orjson.dumps({"type": "message", "message": {"body": frame["body"], "client_id": frame["client_id"]}})
            n = next(counter)
            if mode == "drop" and n % 2:
                continue
            if mode == "batch":
                pending.append(out)
                if len(pending) == 2:
                    flush()
                else:  # an odd last one goes alone, as the hub sends a lone event
                    asyncio.get_running_loop().call_later(0.05, flush)
                continue
            for _ in range(2 if mode == "dup" else 1):
                broadcast(clients, out, text=True)
    finally:
        clients.discard(ws)


def flush() -> None:
    if len(pending) == 1:
        broadcast(clients, pending[0], text=True)
    elif pending:
        broadcast(clients, b'{"type":"batch","frames":[' + b",".join(pending) + b"]}", text=True)
    pending.clear()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["dup", "drop", "batch"], required=True)
    args = parser.parse_args()
    async with serve(lambda ws: handler(ws, args.mode), "127.0.0.1", args.port):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
