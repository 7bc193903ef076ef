"""CPU per delivery of a *receiving* hub process (issue 27, target 6), measured in-process.

    .venv/bin/python -m bench.receiver_cpu --clients 500 --events 200 --batches 1,10,100 --rounds 3
        [--profile /tmp/recv.prof] [--database-url postgres://…/hub_bench_<you>] [--redis-url …]

With two hub processes each one fans out every message, including those the *other* process
persisted and published: the second process's CPU is what it costs to receive an event from the
channel layer and hand it to its local sockets. This measures exactly that, apart from everything
else the bench's `hub-uvicorn-2` row mixes in (persisting, the generator, the other process):

- one uvicorn process serves the hub as `make bench` does (`hub.server.serve.command`, the bench's
  environment), with `--clients` idle authenticated topic sockets (`?batch=1`, a ticket each, the
  bench's node generator, which counts every delivery and duplicate);
- this process plays the other hub process's publisher: it publishes `--events` message frames to the
  topic's group through the same channel layer (`hub.realtime.publisher.publish_many`: one layer
  message per `B` events, numbered for gap detection), back to back, for each `B` in `--batches`;
- the receiving process's CPU (user + system, /proc) over the round, divided by the deliveries the
  generator counted, is the CPU per delivery; divided by the events, the CPU per event for all its
  sockets. Rounds alternate between the batch sizes so that machine load spreads over all of them.

CPU time of one process is disturbed far less by a busy machine than wall-clock throughput, but not
immune (cache misses, frequency): compare figures of one run. `--profile` runs the receiving
process under cProfile (the figures then include the profiler's overhead; use it for where the CPU
goes, not how much) and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import procstat
from bench.fanout import LOADGEN, Worker, ensure_node_modules
from bench.targets import ROOT, TOPIC, Context, free_port, wait_http
from hub.server import serve

GROUP = f"topic.{TOPIC}"


def message_frame(phase: int, g: int, message_id: int) -> dict:
    """A message frame shaped and sized like the hub's own (chat.serializers' `MessageWire`); its
    `client_id` is the generator's "b<phase>-<g>-<send µs>", so the generator counts it."""
    now_us = time.monotonic_ns() // 1000
    body = f"bench message {g}"
    return {"type": "message", "message": {
        "id": message_id, "topic": TOPIC,
        "author": {"id": 7, "username": "ht.engineer", "display_name": "Nguyễn Văn An", "centre": "HT",
                   "roles": ["engineer"]},
        "body": body, "html": f"<p>{body}</p>", "client_id": f"b{phase}-{g}-{now_us}",
        "created_at": "2026-12-06T19:30:00.000000+00:00", "edited_at": None, "deleted": False, "reply_to": None,
        "thread": None, "mentions": {"users": [], "centres": []}, "tlp": "clear", "sharing": None,
        "reactions": [], "attachments": [], "pinned": False, "promoted_to": None, "prev_id": message_id - 1,
    }}


async def publish_round(phase: int, events: int, batch: int, first_id: int, rate: float | None) -> None:
    """`events` frames for the topic's group, `batch` per layer message, as another hub process's
    publisher sends them (hub.realtime.publisher.publications → send_publications): back to back, or
    `rate` events per second."""
    from hub.realtime.publisher import publications, send_publications

    items = []
    for g in range(events):
        items += publications([GROUP], message_frame(phase, g, first_id + g))
    start_at = time.monotonic()
    for start in range(0, len(items), batch):
        if rate:
            await asyncio.sleep(max(0.0, start_at + start / rate - time.monotonic()))
        chunk = items[start:start + batch]
        now = time.time()
        for _group, _text, meta in chunk:
            # Stamped when handed over, as a publisher does after its commit: the receiver tells
            # from it whether an event waited for its loop (hub/realtime/receiver.py, `_waited`).
            meta["published_at"] = now
        await send_publications(chunk)


async def run_round(pid: int, workers: list[Worker], phase: int, events: int, batch: int, clients: int,
                    rate: float | None) -> dict:
    for w in workers:
        await w.command({"cmd": "run", "phase": phase, "start_at_us": time.monotonic_ns() // 1000, "rate": 1e6,
                         "total": events, "senders": [], "S": 1, "drain_ms": 30_000, "settle_ms": 200})
    await asyncio.sleep(0.3)  # the generator has its phase set up before anything arrives
    cpu0 = procstat.cpu_seconds(pid)
    wall0 = time.monotonic()
    await publish_round(phase, events, batch, first_id=1_000_000 * phase, rate=rate)
    outs = await asyncio.gather(*(w.read(timeout=120) for w in workers))
    cpu = procstat.cpu_seconds(pid) - cpu0
    wall = time.monotonic() - wall0
    delivered = sum(o["unique"] for o in outs)
    lost = sum(o["lost"] for o in outs)
    dup = sum(o["dup"] for o in outs)
    return {"batch": batch, "rate": rate, "events": events, "clients": clients, "delivered": delivered, "lost": lost,
            "dup": dup, "cpu_s": cpu, "wall_s": wall, "us_per_delivery": 1e6 * cpu / delivered if delivered else None,
            "us_per_event": 1e6 * cpu / events}


def _rate(rate: float) -> str:
    return f"{rate:g} events/s" if rate else "back to back"


async def main_async(args: argparse.Namespace) -> None:
    ensure_node_modules()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    ctx = Context(redis_url=args.redis_url, database_url=args.database_url, log_dir=log_dir)
    print(f"preparing {args.database_url} with {args.clients} bench users …", flush=True)
    ctx.prepare_hub_database(args.clients, fresh=not args.keep)
    prefix = f"recv-{ctx.run_id}"
    port = free_port()
    cmd = serve.command("uvicorn", "127.0.0.1", str(port))
    if args.profile:
        # uvicorn re-raises SIGTERM after its shutdown with the handler it found, which by default
        # kills the process before cProfile writes: found, it is one that exits normally.
        assert cmd[1:3] == ["-m", "uvicorn"], cmd
        code = ("import cProfile, signal, sys; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
                f"sys.argv = ['uvicorn', *{cmd[3:]!r}]; from uvicorn.main import main; "
                f"cProfile.run('main()', {args.profile!r})")
        cmd = [cmd[0], "-c", code]
    env = dict(os.environ, PYTHONUNBUFFERED="1", REDIS_URL=args.redis_url, **ctx.hub_env(),
               HUB_CHANNEL_PREFIX=prefix, HUB_JOBS_IN_SERVER="1", HUB_PUBLIC_URL=f"http://127.0.0.1:{port}",
               DJANGO_SETTINGS_MODULE="hub.settings")
    env.update(dict(kv.split("=", 1) for kv in args.hub_env))
    # This process publishes as another hub process would: same settings, same layer prefix.
    os.environ.update({k: v for k, v in env.items() if k.startswith(("HUB_", "DJANGO_", "DATABASE_", "REDIS_"))})
    import django

    django.setup()
    server_log = log_dir / "server.log"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(server_log, "w"), stderr=subprocess.STDOUT)
    workers: list[Worker] = []
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, server_log, timeout=300)
        shares: list[list[dict]] = [[] for _ in range(args.workers)]
        for i in range(args.clients):
            shares[i % args.workers].append({
                "url": f"ws://127.0.0.1:{port}/ws/topics/{TOPIC}/?batch=1",
                "ticket_url": f"http://127.0.0.1:{port}/api/v1/ws-tickets", "token": ctx.tokens[i]})
        for w, share in enumerate(shares):
            cfg = log_dir / f"worker{w}.json"
            cfg.write_text(json.dumps({"clients": share, "handshake_concurrency": 50,
                                       "connect_deadline_ms": 120_000, "retry_concurrency": 20}))
            node = await asyncio.create_subprocess_exec(
                "node", str(LOADGEN), str(cfg), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=1 << 24)
            workers.append(Worker(node))
        connected = sum(c["open"] for c in await asyncio.gather(*(w.read(timeout=180) for w in workers)))
        print(f"{connected}/{args.clients} sockets connected to one uvicorn hub process; {args.events} events per "
              f"round, published by this process in layer messages of B events", flush=True)
        await asyncio.sleep(2)
        idle0, t0 = procstat.cpu_seconds(proc.pid), time.monotonic()
        await asyncio.sleep(3)
        idle = (procstat.cpu_seconds(proc.pid) - idle0) / (time.monotonic() - t0)
        print(f"idle: {100 * idle:.1f} % of a core (presence, pings, periodic jobs)", flush=True)
        cases = [(b, r) for r in args.rates for b in args.batches]
        results: dict[tuple[int, float], list[dict]] = {case: [] for case in cases}
        phase = 0
        for _ in range(args.rounds):
            for batch, rate in cases:
                phase += 1
                r = await run_round(proc.pid, workers, phase, args.events, batch, connected, rate or None)
                results[batch, rate].append(r)
                print(f"  B={batch:<4} {_rate(rate)} {r['delivered']:>7} deliveries (lost {r['lost']}, "
                      f"dup {r['dup']}): "
                      f"CPU {r['cpu_s']:.3f} s, wall {r['wall_s']:.2f} s → {r['us_per_delivery']:.2f} µs per delivery, "
                      f"{r['us_per_event'] / 1000:.2f} ms per event", flush=True)
                await asyncio.sleep(0.5)
        print("\nmedian over rounds (µs of the receiving process's CPU per delivery; the idle share not subtracted):")
        for (batch, rate), rs in results.items():
            per = sorted(r["us_per_delivery"] for r in rs if r["us_per_delivery"])
            if per:
                every = ", ".join(f"{x:.2f}" for x in per)
                print(f"  B={batch:<4} {_rate(rate)} {per[len(per) // 2]:.2f} µs  (all: {every})")
    finally:
        for worker in workers:
            try:
                await worker.command({"cmd": "close"})
                await asyncio.wait_for(worker.proc.wait(), 10)
            except Exception:
                worker.proc.kill()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if args.profile and Path(args.profile).exists():
        import pstats

        stats = pstats.Stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="node generator processes")
    parser.add_argument("--events", type=int, default=200, help="events per round")
    parser.add_argument("--batches", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 100],
                        help="events per layer message, one round each, alternating")
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[0.0],
                        help="events per second offered (0: back to back), each with every batch size")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default=None, help="run the receiving process under cProfile, stats here")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="reuse the prepared database")
    parser.add_argument("--hub-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
