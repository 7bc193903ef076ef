"""Memory per idle connection, measured and attributed (issue 27, target 2).

    .venv/bin/python -m bench.memory --clients 1000 [--tracemalloc | --trace-first [--save PREFIX]]
        [--app bare] [--deflate] [--database-url postgres://…/hub_bench_<you>] [--redis-url redis://…/<n>]

Starts one uvicorn process with the hub (or the bare reference, `--app bare`) exactly as `make bench`
does (`hub.server.serve.command`, the bench's hub environment), then connects `--clients` idle
authenticated sockets to the bench topic all at once with the bench's own node generator (a ticket
each, `?batch=1`), then as many again. It prints

- **the bench's figure**: (RSS with C idle clients − RSS before the first client) ÷ C, as
  bench/fanout.py computes `rss_per_conn_kib`: it includes what the first clients cause once (lazy
  imports, the database pool's connections, thread stacks, the storm's transient garbage);
- **the marginal figure**: (RSS with 2C − RSS with C) ÷ C, what one more idle socket costs;
- where RSS grew, by kind of mapping (/proc/<pid>/smaps: glibc's main heap, its per-thread arenas,
  thread stacks, other anonymous memory — pymalloc's arenas —, files), pymalloc's own account of its
  arenas and live blocks at each step, the TCP connections open at each measurement (the ticket
  requests' kept-alive HTTP connections are still open 1 s after the storm) and the server's own to
  Redis and PostgreSQL, and how much `malloc_trim` gives back at the end (bench/memprobe.py);
- with `--tracemalloc` (tracing starts after the first batch, so the marginal RSS figure includes
  tracemalloc's own memory: run without it for the RSS figures), what the process holds more after
  the second batch than before it, per socket, by the line that allocated it and by the innermost
  frame of the hub or of Channels/Django; `--trace-first` the same for the first batch from before
  it (one-off costs included, as in the bench's figure; `--save` keeps the snapshots to compare
  the hub's with the bare application's).

`--deflate`: the clients offer permessage-deflate, as every browser does (the bench's own do not).

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
APPS = {"hub": "hub.asgi:application", "bare": "bench.reference.bare:application"}


def regions(pid: int) -> dict[str, int]:
    """The process's resident memory (KiB) by kind of mapping, from /proc/<pid>/smaps: the main
    heap (glibc's main arena), glibc's per-thread arenas (64 MiB reservations, the resident part),
    thread stacks (8 MiB reservations behind a guard page), other anonymous memory (pymalloc's
    1 MiB arenas, large mallocs, the interpreter's), and files (code, shared libraries)."""
    maps: list[tuple[int, int, str, str, int]] = []  # start, end, perms, name, rss
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            start, end = (int(x, 16) for x in head[0].split("-"))
            maps.append((start, end, head[1], head[5] if len(head) > 5 else "", 0))
        elif head[0] == "Rss:" and maps:
            s, e, perms, name, _ = maps[-1]
            maps[-1] = (s, e, perms, name, int(head[1]))
    out = {"heap": 0, "thread arenas": 0, "thread stacks": 0, "other anonymous": 0, "files": 0, "total": 0}
    arena = 64 << 20
    for i, (start, end, _perms, name, rss) in enumerate(maps):
        out["total"] += rss
        if name == "[heap]":
            out["heap"] += rss
        elif name.startswith("/") or name.startswith("["):
            out["files"] += rss
        elif start % arena == 0 and (end - start == arena or (
                i + 1 < len(maps) and maps[i + 1][1] - start == arena and maps[i + 1][2].startswith("---"))):
            out["thread arenas"] += rss
        elif i > 0 and maps[i - 1][2].startswith("---") and maps[i - 1][1] == start \
                and maps[i - 1][1] - maps[i - 1][0] == 4096 and end - start >= 1 << 20:
            out["thread stacks"] += rss
        else:
            out["other anonymous"] += rss
    return out


def show_regions(label: str, now: dict[str, int], before: dict[str, int] | None, per: int) -> str:
    parts = []
    for key, kib in now.items():
        if before is None:
            parts.append(f"{key} {kib / 1024:.1f} MiB")
        else:
            parts.append(f"{key} {(kib - before.get(key, 0)) / max(per, 1):+.1f}")
    return f"  {label}: " + ", ".join(parts) + ("" if before is None else " KiB per connection")


async def connect(clients: list[dict], log_dir: Path, name: str, deflate: bool = False) -> tuple[Worker, int]:
    cfg = log_dir / f"{name}.json"
    cfg.write_text(json.dumps({"clients": clients, "handshake_concurrency": len(clients),
                               "connect_deadline_ms": 90_000, "retry_concurrency": 20,
                               "per_message_deflate": deflate}))
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


def open_connections(port: int) -> int:
    """Established TCP connections to the server's port: its WebSockets, and the ticket requests'
    HTTP connections the client keeps alive for a few seconds after their answer."""
    out = subprocess.run(["ss", "-Htn", "state", "established", f"sport = :{port}"], capture_output=True, text=True)
    return len(out.stdout.splitlines())


def outgoing(pid: int) -> str:
    """The server's own connections out, by remote port (Redis, PostgreSQL): pools that grew in the storm."""
    out = subprocess.run(["ss", "-Htnp", "state", "established"], capture_output=True, text=True).stdout
    ports: dict[str, int] = {}
    for line in out.splitlines():
        if f"pid={pid}," in line:
            peer = line.split()[3]
            port = peer.rsplit(":", 1)[-1]
            if port in ("6379", "5432"):
                ports[port] = ports.get(port, 0) + 1
    return ", ".join(f"to :{port} {n}" for port, n in sorted(ports.items())) or "none"


def heap_report(pid: int, path: Path, trim: bool = False) -> dict:
    """bench/memprobe.py's account of the memory tracemalloc cannot see (SIGRTMIN; +1 to trim)."""
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGRTMIN + 1 if trim else signal.SIGRTMIN)
    deadline = time.monotonic() + 60
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the server wrote no heap report")
        time.sleep(0.2)
    time.sleep(0.2)
    return json.loads(path.read_text())


def attribute(snap: tracemalloc.Snapshot, before: tracemalloc.Snapshot, per: int, top: int) -> list[str]:
    """What the process holds more after the second batch than before it (both snapshots traced
    from long enough before that the first batch's keepalive timers, replaced every ping interval,
    are traced in both and cancel out), per connection of that batch."""
    lines = []
    empty = before
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
    cmd = serve.command("uvicorn", "127.0.0.1", str(port), app=PROBE_APP)
    env = dict(os.environ, PYTHONUNBUFFERED="1", REDIS_URL=args.redis_url, BENCH_MEMPROBE_DIR=str(log_dir),
               BENCH_MEMPROBE_FRAMES=str(args.frames), BENCH_MEMPROBE_APP=APPS[args.app])
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
        if args.trace_first:  # what the first batch leaves behind, one-off costs included (the bench's figure)
            os.kill(proc.pid, signal.SIGUSR2)
            await asyncio.sleep(2)
            start = snapshot(proc.pid, snap_path)
            worker, first = await connect(clients(0), log_dir, "first", args.deflate)
            workers.append(worker)
            await asyncio.sleep(args.settle)
            early, http_open = snapshot(proc.pid, snap_path), open_connections(port) - first
            await asyncio.sleep(args.trace_warm)
            end = snapshot(proc.pid, snap_path)
            if args.save:
                early.dump(f"{args.save}-early.bin")
                start.dump(f"{args.save}-before.bin")
                end.dump(f"{args.save}-after.bin")
            print(f"{args.app} under uvicorn, traced from before the first {first} connections "
                  f"({http_open} other connections open {args.settle:.0f} s after):")
            print("\n".join(attribute(end, start, first, args.top)))
            return
        base = procstat.rss_kib(proc.pid)
        maps = [regions(proc.pid)]
        heaps = [heap_report(proc.pid, log_dir / "heap.json")]
        worker, first = await connect(clients(0), log_dir, "first", args.deflate)
        workers.append(worker)
        await asyncio.sleep(args.settle)
        one = procstat.rss_kib(proc.pid)
        conns = [open_connections(port)]
        outs = [outgoing(proc.pid)]
        maps.append(regions(proc.pid))
        heaps.append(heap_report(proc.pid, log_dir / "heap.json"))
        before: tracemalloc.Snapshot | None = None
        if args.tracemalloc:  # tracing from here: what the second batch allocates and keeps
            os.kill(proc.pid, signal.SIGUSR2)
            await asyncio.sleep(args.trace_warm)
            before = snapshot(proc.pid, snap_path)
        worker, second = await connect(clients(args.clients), log_dir, "second", args.deflate)
        workers.append(worker)
        await asyncio.sleep(args.trace_warm if args.tracemalloc else args.settle)
        two = procstat.rss_kib(proc.pid)
        conns.append(open_connections(port))
        outs.append(outgoing(proc.pid))
        maps.append(regions(proc.pid))
        snap = snapshot(proc.pid, snap_path) if args.tracemalloc else None
        heaps.append(heap_report(proc.pid, log_dir / "heap.json", trim=not args.tracemalloc))
        print(f"{args.app} under uvicorn{' (tracemalloc on: RSS not comparable)' if args.tracemalloc else ''}: "
              f"RSS {base / 1024:.1f} MiB before, {one / 1024:.1f} MiB with {first} idle, {two / 1024:.1f} MiB with "
              f"{first + second}")
        print(f"  the bench's figure, (RSS with {first} − before) ÷ {first}: {(one - base) / max(first, 1):.1f} KiB "
              "per connection")
        print(f"  marginal, (RSS with {first + second} − with {first}) ÷ {second}: {(two - one) / max(second, 1):.1f} "
              "KiB per connection")
        print(f"  TCP connections open at each measurement: {conns[0]}, {conns[1]}; the server's own: {outs[0]}; "
              f"{outs[1]}")
        print(show_regions("RSS before, by mapping", maps[0], None, 1))
        print(show_regions(f"the first {first}", maps[1], maps[0], first))
        print(show_regions(f"the next {second}", maps[2], maps[1], second))
        for label, heap in zip(("before", f"with {first}", f"with {first + second}"), heaps, strict=True):
            pym = heap["pymalloc"]
            print(f"  {label}: {heap['os_threads']} threads; pymalloc {pym.get('arena_bytes', 0) / 2**20:.1f} MiB "
                  f"in arenas, {pym.get('used_block_bytes', 0) / 2**20:.1f} MiB of it in live blocks")
        pym = [h["pymalloc"].get("used_block_bytes", 0) / 1024 for h in heaps]
        print(f"  pymalloc's live blocks per connection: the first {first} {(pym[1] - pym[0]) / max(first, 1):+.1f} "
              f"KiB, the next {second} {(pym[2] - pym[1]) / max(second, 1):+.1f} KiB")
        print(f"  threads at the end: {', '.join(heaps[-1]['thread_names'])}")
        if not args.tracemalloc:
            trimmed = (heaps[-1]["rss_kib"] - heaps[-1]["rss_after_malloc_trim_kib"]) / 1024
            print(f"  malloc_trim gave back {trimmed:.1f} MiB at the end (glibc's free memory that RSS counted)")
        if snap is not None and before is not None and second:
            print("\n".join(attribute(snap, before, second, args.top)))
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
    parser.add_argument("--deflate", action="store_true",
                        help="clients offer permessage-deflate, as browsers do (the bench's clients do not)")
    parser.add_argument("--frames", type=int, default=12, help="traceback depth under tracemalloc")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--trace-first", action="store_true",
                        help="tracemalloc from before the first batch (one-off costs included); no second batch")
    parser.add_argument("--save", help="with --trace-first: keep both snapshots as SAVE-before.bin, SAVE-after.bin")
    parser.add_argument("--trace-warm", type=float, default=45.0,
                        help="seconds traced before the first snapshot (over two keepalive intervals)")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds idle before each measurement")
    parser.add_argument("--keep", action="store_true", help="reuse the prepared database")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
