"""HTTP throughput of the history and ticket-list endpoints on a large database (issue 9).

1,000,000 messages in one topic and 100,000 tickets (bench/seed_history.py), then for each server
(one hub process, daphne and uvicorn) 16 concurrent keep-alive clients (bench/httpload.js) request,
for a few seconds each:
- message history: `GET /api/v1/topics/{slug}/messages?before=ID&limit=50` at positions spread over
  the whole topic (keyset pages deep in the history, as a client scrolling back does), and
- the ticket list: `GET /api/v1/tickets?limit=50`, unfiltered and filtered by status and centre, and
- the floor: `GET /api/v1/me` (token authentication and one query): what any API request costs on
  this server and machine before its own work, i.e. the best p99 one process can give at 16 in flight.
Then the ticket list once more against two processes of each server (as deployed on two cores: the
proxy spreads requests over them; here the load generator alternates).
Reported: requests/s, p50/p99/max, non-2xx answers, and the SQL queries one request costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time

from bench.fanout import percentile
from bench.targets import ROOT, Context, Target

HISTORY_TOPIC = "phat-trien-phan-mem"
FLOOR_URL = "/api/v1/me"


def _seed(ctx: Context, messages: int, tickets: int) -> dict:
    env = dict(os.environ, **ctx.hub_env(), DJANGO_SETTINGS_MODULE="hub.settings", REDIS_URL=ctx.redis_url)
    done = subprocess.run([sys.executable, "-m", "bench.seed_history", "--messages", str(messages), "--tickets",
                           str(tickets), "--topic", HISTORY_TOPIC], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"seeding history failed: {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _queries(ctx: Context, urls: list[str]) -> dict:
    env = dict(os.environ, **ctx.hub_env(), DJANGO_SETTINGS_MODULE="hub.settings", REDIS_URL=ctx.redis_url)
    env["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    done = subprocess.run([sys.executable, "-m", "bench.count_queries", ctx.tokens[0], *urls], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        return {url: {"queries": None, "status": None, "error": done.stderr[-300:]} for url in urls}
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _load(ctx: Context, name: str, urls: list[str], concurrency: int, seconds: float) -> dict:
    cfg = ctx.log_dir / f"http-{name}.json"
    cfg.write_text(json.dumps({"urls": urls, "token": ctx.tokens[0], "concurrency": concurrency,
                               "seconds": seconds}))
    proc = await asyncio.create_subprocess_exec("node", str(ROOT / "bench" / "httpload.js"), str(cfg),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), seconds + 60)
    if proc.returncode:
        raise RuntimeError(f"httpload failed: {err.decode()[-500:]}")
    result = json.loads(out)
    hist = result.pop("hist")
    result["p50_ms"], result["p99_ms"] = percentile(hist, 0.50), percentile(hist, 0.99)
    return result


async def measure_http(ctx: Context, messages: int, tickets: int, concurrency: int = 16, seconds: float = 6,
                       servers: tuple[str, ...] = ("daphne", "uvicorn")) -> dict:
    t0 = time.perf_counter()
    seeded = _seed(ctx, messages, tickets)
    seeded["seed_s"] = time.perf_counter() - t0
    problem = f" (tickets: {seeded['tickets_error']})" if "tickets_error" in seeded else ""
    print(f"  seeded {seeded.get('messages', 0):,} messages and {seeded.get('tickets', 0):,} tickets "
          f"in {seeded['seed_s']:.0f}s{problem}")
    rng = random.Random(9)
    first, last = seeded["first_id"], seeded["last_id"]
    history = [f"/api/v1/topics/{HISTORY_TOPIC}/messages?before={rng.randint(first + 50, last)}&limit=50"
               for _ in range(500)]
    ticket_urls = ["/api/v1/tickets?limit=50", "/api/v1/tickets?limit=50&status=new",
                   "/api/v1/tickets?limit=50&centre=HT", "/api/v1/tickets?limit=50&status=in_progress"]
    kinds = {"history": (history, seconds)}
    if "tickets_error" not in seeded:
        kinds["tickets"] = (ticket_urls, seconds)
    kinds["floor"] = ([FLOOR_URL], seconds * 2 / 3)
    out: dict = {"seeded": seeded, "concurrency": concurrency,
                 "queries": _queries(ctx, [history[0], *ticket_urls, FLOOR_URL]), "runs": {}}
    plan = [(server, 1, kinds) for server in servers]
    if "tickets" in kinds:
        plan += [(server, 2, {"tickets": kinds["tickets"]}) for server in servers]
    for server, processes, wanted in plan:
        label = server if processes == 1 else f"{server}×{processes}"
        target = Target(f"http-{server}-{processes}", "hub", server, processes)
        try:
            target.start(ctx)
            for kind, (paths, duration) in wanted.items():
                # Each path on each process in turn: the lanes spread evenly, as a proxy would.
                urls = [f"http://127.0.0.1:{port}{path}" for path in paths for port in target.ports]
                r = await _load(ctx, f"{label}-{kind}", urls, concurrency, duration)
                out["runs"][f"{label} {kind}"] = r
                print(f"  {label} {kind}: {r['per_s']:,.0f} requests/s, p50 {r['p50_ms']:.1f} ms, "
                      f"p99 {r['p99_ms']:.1f} ms, statuses {r['statuses']}")
        except Exception as exc:
            out["runs"][f"{label} error"] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"  {label}: ERROR {exc}")
        finally:
            target.stop()
    return out
