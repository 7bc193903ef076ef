"""Memory per idle connection, measured and attributed (issue 27, target 2).

    .venv/bin/python -m bench.memory --clients 1000 [--tracemalloc] [--app bare]
        [--database-url postgres://…/hub_bench_<you>] [--redis-url redis://…/<n>]

Starts one uvicorn process with the hub (or the bare reference, `--app bare`) exactly as `make bench`
does (`hub.server.serve.command`, the bench's hub environment), then connects `--clients` idle
authenticated sockets to the bench topic all at once with the bench's own node generator (a ticket
each, `?batch=1`), then as many again. It prints

- **the bench's figure**: (RSS with C idle clients − RSS before the first client) ÷ C, as
  bench/fanout.py computes `rss_per_conn_kib`: it includes what the first clients cause once (lazy
  imports, the database pool's connections, thread stacks, the storm's transient garbage);
- **the marginal figure**: (RSS with 2C − RSS with C) ÷ C, what one more idle socket costs;
- with `--tracemalloc` (tracing starts after the first batch, so the marginal RSS figure includes
  tracemalloc's own memory: run without it for the RSS figures), the Python blocks the second batch
  allocated and still holds, per socket, by the line that allocated them, and by the innermost frame
  of the hub or of Channels/Django.

Memory is not disturbed by CPU noise, so this can run on a busy machine. It uses its own database
(dropped and recreated, as `make bench` does) and Redis database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench import procstat
from bench.fanout import LOADGEN, Worker, ensure_node_modules
from bench.targets import ROOT, TOPIC, Context, free_port, wait_http, wait_tcp
from hub.server import serve

PROBE_APP = "bench.memprobe:application"


async def connect(clients: list[dict], log_dir: Path, name: str) -> tuple[Worker, int]:
    cfg = log_dir / f"{name}.json"
    cfg.write_text(json.dumps({"clients": clients, "handshake_concurrency": len(clients),
                               "connect_deadline_ms": 90_000, "retry_concurrency": 20}))
    proc = await asyncio.create_subprocess_exec(
        "node", str(LOADGEN), str(cfg), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, limit=1 << 24)
    worker = Worker(proc)
    connected = await worker.read(timeout=150)
    if connected["open"] != len(clients):
        print(f"{name}: only {connected['open']}/{len(clients)} connected: {connected['failures']}", flush=True)
    return worker, connected["open"]


def snapshot(pid: int, path: Path) -> tracemalloc.Snapshot:
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not (path.exists() and path.with_suffix(".done").exists()):
        if time.monotonic() > deadline:
            raise RuntimeError("the server wrote no tracemalloc snapshot")
        time.sleep(0.2)
    path.with_suffix(".done").unlink()
    return tracemalloc.Snapshot.load(str(path))


def attribute(snap: tracemalloc.Snapshot, per: int, top: int) -> list[str]:
    """The blocks allocated since tracing started (before the second batch) and still alive, per
    connection of that batch."""
    lines = []
    empty = tracemalloc.Snapshot([], snap.traceback_limit)
    stats = snap.compare_to(empty, "traceback")
    total = sum(s.size_diff for s in stats)
    lines.append(f"Python blocks alive per connection: {total / per / 1024:.2f} KiB "
                 f"({sum(s.count_diff for s in stats) / per:.1f} blocks)")
    lines.append("")
    lines.append("by allocating line (KiB per connection, blocks per connection):")
    by_line = snap.compare_to(empty, "lineno")
    for s in by_line[:top]:
        frame = s.traceback[0]
        where = f"{frame.filename}:{frame.lineno}"
        lines.append(f"  {s.size_diff / per / 1024:7.2f} KiB {s.count_diff / per:6.1f}  {where}")
    lines.append("")
    lines.append("by the innermost frame of the project, Channels, Django, asgiref or uvicorn:")
    own: dict[str, list[int]] = {}
    marks = (str(ROOT) + "/hub", str(ROOT) + "/chat", str(ROOT) + "/bench", "/channels/", "/django/", "/asgiref/",
             "/uvicorn/", "/websockets/", "/redis/", "/channels_redis/")
    for s in stats:
        where = "?"
        for frame in reversed(s.traceback):  # tracemalloc lists the oldest frame first
            if any(m in frame.filename for m in marks):
                where = f"{frame.filename.replace(str(ROOT) + '/', '')}:{frame.lineno}"
                break
        entry = own.setdefault(where, [0, 0])
        entry[0] += s.size_diff
        entry[1] += s.count_diff
    for where, (size, count) in sorted(own.items(), key=lambda kv: -kv[1][0])[:top]:
        lines.append(f"  {size / per / 1024:7.2f} KiB {count / per:6.1f}  {where}")
    return lines


async def main_async(args: argparse.Namespace) -> None:
    ensure_node_modules()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    ctx = Context(redis_url=args.redis_url, database_url=args.database_url, log_dir=log_dir)
    if args.app == "hub":
        print(f"preparing {args.database_url} with {2 * args.clients} bench users …", flush=True)
        ctx.prepare_hub_database(2 * args.clients, fresh=not args.keep)
    port = free_port()
    app = PROBE_APP if args.app == "hub" else "bench.reference.bare:application"
    cmd = serve.command("uvicorn", "127.0.0.1", str(port), app=app)
    env = dict(os.environ, PYTHONUNBUFFERED="1", REDIS_URL=args.redis_url, BENCH_MEMPROBE_DIR=str(log_dir),
               BENCH_MEMPROBE_FRAMES=str(args.frames))
    if args.app == "hub":
        env.update(ctx.hub_env(), HUB_CHANNEL_PREFIX=f"mem-{ctx.run_id}", HUB_JOBS_IN_SERVER="1",
                   HUB_PUBLIC_URL=f"http://127.0.0.1:{port}")
    else:
        env["BENCH_PREFIX"] = f"mem-{ctx.run_id}"
    server_log = log_dir / "server.log"
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(server_log, "w"), stderr=subprocess.STDOUT)
    workers: list[Worker] = []
    try:
        if args.app == "hub":
            wait_http(f"http://127.0.0.1:{port}/healthz", proc, server_log, timeout=300)
        else:
            wait_tcp(port, proc, server_log)
        time.sleep(0.5)

        def clients(first: int) -> list[dict]:
            out = []
            for i in range(first, first + args.clients):
                client = {"url": f"ws://127.0.0.1:{port}/ws/topics/{TOPIC}/"}
                if args.app == "hub":
                    client["url"] += "?batch=1"
                    client["ticket_url"] = f"http://127.0.0.1:{port}/api/v1/ws-tickets"
                    client["token"] = ctx.tokens[i]
                out.append(client)
            return out

        snap_path = log_dir / "snapshot.bin"
        base = procstat.rss_kib(proc.pid)
        worker, first = await connect(clients(0), log_dir, "first")
        workers.append(worker)
        await asyncio.sleep(args.settle)
        one = procstat.rss_kib(proc.pid)
        if args.tracemalloc:  # tracing from here: what the second batch allocates and keeps
            os.kill(proc.pid, signal.SIGUSR2)
            await asyncio.sleep(1)
        worker, second = await connect(clients(args.clients), log_dir, "second")
        workers.append(worker)
        await asyncio.sleep(args.settle)
        two = procstat.rss_kib(proc.pid)
        snap = snapshot(proc.pid, snap_path) if args.tracemalloc else None
        print(f"{args.app} under uvicorn{' (tracemalloc on: RSS not comparable)' if args.tracemalloc else ''}: "
              f"RSS {base / 1024:.1f} MiB before, {one / 1024:.1f} MiB with {first} idle, {two / 1024:.1f} MiB with "
              f"{first + second}")
        print(f"  the bench's figure, (RSS with {first} − before) ÷ {first}: {(one - base) / max(first, 1):.1f} KiB "
              "per connection")
        print(f"  marginal, (RSS with {first + second} − with {first}) ÷ {second}: {(two - one) / max(second, 1):.1f} "
              "KiB per connection")
        if snap is not None and second:
            print("\n".join(attribute(snap, second, args.top)))
    finally:
        for worker in workers:
            try:
                await worker.command({"cmd": "close"})
            except Exception:
                pass
        for worker in workers:
            try:
                await asyncio.wait_for(worker.proc.wait(), 10)
            except Exception:
                worker.proc.kill()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--app", choices=["hub", "bare"], default="hub")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--frames", type=int, default=12, help="traceback depth under tracemalloc")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds idle before each measurement")
    parser.add_argument("--keep", action="store_true", help="reuse the prepared database")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
