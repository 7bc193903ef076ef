"""Catch-up: how long a client that missed 10,000 messages takes to have them all again.

Two ways a client can do it, both timed against a real hub process with nothing else connected:
- over its WebSocket, `{"type": "sync", "after": ID}` until `sync.done`; the hub answers at most
  HUB_SYNC_MAX (1,000) messages per sync and then `{"type": "resync", "after": N}`, and the client
  syncs again from N;
- over HTTP, `GET /api/v1/topics/{slug}/messages?after=ID&limit=200` page by page.
Each run checks what came back: exactly the missed ids, in order, none twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import orjson
from websockets.asyncio.client import connect

from bench.targets import ROOT, TOPIC, Context, Target


def _post_ticket(base: str, token: str) -> str:
    request = urllib.request.Request(base + "/api/v1/ws-tickets", method="POST",
                                     headers={"Authorization": "Token " + token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["ticket"]


def _check(ids: list[int], after: int, last: int) -> str | None:
    if ids != list(range(after + 1, last + 1)):
        got = len(ids)
        dups = got - len(set(ids))
        return f"expected ids {after + 1}..{last} in order, got {got} ids ({dups} repeated)"
    return None


async def _ws_sync(base_ws: str, base_http: str, token: str, after: int, last: int) -> dict:
    ticket = _post_ticket(base_http, token)
    async with connect(f"{base_ws}/ws/topics/{TOPIC}/?ticket={ticket}", max_size=1 << 22,
                       compression=None) as ws:
        ids: list[int] = []
        rounds = 1
        t0 = time.perf_counter()
        await ws.send(orjson.dumps({"type": "sync", "after": after}).decode())
        while True:
            frame = orjson.loads(await ws.recv())
            kind = frame.get("type")
            if kind == "message":
                ids.append(frame["message"]["id"])
            elif kind == "resync":
                rounds += 1
                await ws.send(orjson.dumps({"type": "sync", "after": frame["after"]}).decode())
            elif kind == "sync.done":
                break
            elif kind == "error":
                raise RuntimeError(f"sync answered {frame}")
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rounds": rounds, "received": len(ids), "error": _check(ids, after, last)}


def _http_pages(base_http: str, token: str, after: int, last: int, limit: int = 200) -> dict:
    ids: list[int] = []
    pages = 0
    position = after
    t0 = time.perf_counter()
    while True:
        request = urllib.request.Request(
            f"{base_http}/api/v1/topics/{TOPIC}/messages?after={position}&limit={limit}",
            headers={"Authorization": "Token " + token})
        with urllib.request.urlopen(request, timeout=30) as response:
            page = orjson.loads(response.read())
        pages += 1
        rows = page["results"]
        ids += [row["id"] for row in rows]
        if not rows or not page.get("next"):
            break
        position = rows[-1]["id"]
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "pages": pages, "received": len(ids), "error": _check(ids, after, last)}


async def measure_catchup(ctx: Context, messages: int, servers: tuple[str, ...] = ("daphne", "uvicorn")) -> dict:
    env = dict(os.environ, **ctx.hub_env(), DJANGO_SETTINGS_MODULE="hub.settings", REDIS_URL=ctx.redis_url)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.seed_messages", "--count", str(messages), "--topic", TOPIC],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        return {"messages": messages, "seconds": None, "error": done.stderr[-1500:],
                "summary": "seeding the missed messages failed"}
    seeded = json.loads(done.stdout.strip().splitlines()[-1])
    after, last = seeded["after"], seeded["last"]
    print(f"  stored {last - after:,} messages in {time.perf_counter() - t0:.1f}s")
    out: dict = {"messages": last - after, "runs": {}}
    errors = []
    for server in servers:
        target = Target(f"catchup-{server}", "hub", server, 1)
        try:
            target.start(ctx)
            base_http, base_ws = f"http://127.0.0.1:{target.ports[0]}", f"ws://127.0.0.1:{target.ports[0]}"
            ws = await _ws_sync(base_ws, base_http, ctx.tokens[0], after, last)
            http = _http_pages(base_http, ctx.tokens[0], after, last)
            out["runs"][server] = {"ws_sync": ws, "http_pages": http}
            print(f"  {server}: WebSocket sync {ws['seconds']:.2f}s in {ws['rounds']} syncs; "
                  f"HTTP {http['seconds']:.2f}s in {http['pages']} pages")
            errors += [f"{server} {kind}: {r['error']}" for kind, r in (("sync", ws), ("http", http)) if r["error"]]
        except Exception as exc:
            errors.append(f"{server}: {type(exc).__name__}: {exc}")
            print(f"  {server}: ERROR {errors[-1]}")
        finally:
            target.stop()
    ws_times = [r["ws_sync"]["seconds"] for r in out["runs"].values()]
    out["seconds"] = max(ws_times) if ws_times else None
    out["error"] = "; ".join(errors) or None
    out["summary"] = "; ".join(
        f"{server}: {r['ws_sync']['seconds']:.2f} s over the WebSocket ({r['ws_sync']['rounds']} syncs of ≤ "
        f"HUB_SYNC_MAX), {r['http_pages']['seconds']:.2f} s over HTTP ({r['http_pages']['pages']} pages of 200)"
        for server, r in out["runs"].items()
    ) + f" — {out['messages']:,} missed messages" + (f"; ERRORS: {out['error']}" if out["error"] else "")
    return out
