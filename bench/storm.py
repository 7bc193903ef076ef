"""The reconnect storm on its own (issue 27, target 1), at any size.

    .venv/bin/python -m bench.storm                     # 1,000 clients: raw-1 and hub-uvicorn-1, alternating
    .venv/bin/python -m bench.storm --clients 5000 --only hub-uvicorn-1    # the 5,000-client line
    .venv/bin/python -m bench.storm --rounds 3 --keep   # three alternating rounds, reusing the database
        [--database-url postgres://…/hub_bench_<you>] [--redis-url redis://…/<n>] [--py-spy PATH]

Each round starts each target afresh (`bench.targets`, the processes `make bench` runs), connects
`--clients` clients all at once with the bench's node generator (two workers; a hub client first
fetches a single-use ticket with its API token, `POST /api/v1/ws-tickets`, then opens its socket with
`?ticket=…&batch=1`, as `make bench` and scripts do), and prints how long until every client was
connected, how many were refused in the storm (a handshake or ticket request failing or taking more
than 15 s counts as refused; the generator retries those calmly, and they are reported), and the
RSS per connection. Targets alternate within a round so that both see the same machine; the ratio
is printed per round. No message is sent: this is the connect path only.

The 5,000-client target (hub-uvicorn-1 connected within 20 s, none refused) is not part of
`make bench`'s 10 minutes: run it here. `--py-spy` samples the hub process through its storms
(collapsed stacks beside the logs, `py-spy record -f raw`).

On a machine shared with other work the times are noisy: compare the two targets of one round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.fanout import TargetResult, ensure_node_modules, measure
from bench.targets import Context, Target

TARGETS = {"raw-1": Target("raw-1", "raw", "websockets", 1),
           "hub-uvicorn-1": Target("hub-uvicorn-1", "hub", "uvicorn", 1),
           "hub-daphne-1": Target("hub-daphne-1", "hub", "daphne", 1)}
# Issue 27, target 1: the hub within 2× raw's time at 1,000 clients; 5,000 within 20 s, none refused.
RATIO_TARGET = 2.0
BIG_CLIENTS, BIG_SECONDS = 5000, 20.0


def fresh(target: Target) -> Target:
    return Target(target.name, target.design, target.server, target.processes, target.layer)


async def storm(target: Target, ctx: Context, clients: int, workers: int, py_spy: str | None) -> TargetResult:
    spy = None
    if py_spy and target.design == "hub":
        # measure() starts the target; sample it from when it listens (the storm starts right after).
        async def attach() -> subprocess.Popen | None:
            while not target.pids:
                await asyncio.sleep(0.05)
            out = ctx.log_dir / f"{target.name}-storm-{time.strftime('%H%M%S')}.pyspy.txt"
            return subprocess.Popen([py_spy, "record", "-p", str(target.pids[0]), "-f", "raw", "-r", "250",
                                     "--threads", "--nonblocking", "-o", str(out)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        spy_task = asyncio.create_task(attach())
    result = await measure(target, ctx, clients, senders=0, workers=workers, phases=[], connect_concurrency=0,
                           burst=False, log=lambda *a: None)
    if py_spy and target.design == "hub":
        spy = await spy_task
        if spy is not None:
            spy.wait(30)
    return result


def line(result: TargetResult) -> str:
    refused = sum(result.storm_failures.values())
    per_client = 1000 * result.connect_cpu_s / max(result.connected, 1)
    text = (f"{result.target}: {result.connected}/{result.clients} connected in {result.connect_s:.2f} s, "
            f"{refused} refused in the storm, server CPU {result.connect_cpu_s:.2f} s ({per_client:.2f} ms per "
            f"client), RSS {result.rss_per_conn_kib:.1f} KiB per connection")
    if result.storm_failures:
        text += f" {result.storm_failures}"
    if result.connect_failures:
        text += f"; still failing: {result.connect_failures}"
    if result.error:
        text += f"; ERROR {result.error}"
    return text


async def main_async(args: argparse.Namespace) -> int:
    ensure_node_modules()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    ctx = Context(redis_url=args.redis_url, database_url=args.database_url, log_dir=log_dir,
                  hub_overrides=dict(kv.split("=", 1) for kv in args.hub_env))
    names = args.only
    if any(TARGETS[n].design == "hub" for n in names):
        print(f"preparing {args.database_url} …", flush=True)
        ctx.prepare_hub_database(min(args.clients, 1000), fresh=not args.keep)
    print(f"{args.clients} clients at once, {args.workers} generator workers; load average "
          f"{os.getloadavg()[0]:.1f}; logs in {log_dir}", flush=True)
    times: dict[str, list[float]] = {n: [] for n in names}
    bad = False
    for round_ in range(1, args.rounds + 1):
        order = names if round_ % 2 else list(reversed(names))
        results = {}
        for name in order:
            result = await storm(fresh(TARGETS[name]), ctx, args.clients, args.workers, args.py_spy)
            results[name] = result
            print(f"  round {round_}: {line(result)} (load {os.getloadavg()[0]:.1f})", flush=True)
            if result.connected == args.clients and not result.error:
                times[name].append(result.connect_s)
            if name.startswith("hub") and (result.connected != args.clients or result.storm_failures or result.error):
                bad = True
        both = [results.get("raw-1"), results.get("hub-uvicorn-1")]
        if all(r is not None and r.connected == args.clients and r.connect_s for r in both):
            ratio = results["hub-uvicorn-1"].connect_s / results["raw-1"].connect_s
            print(f"  round {round_}: hub-uvicorn-1 / raw-1 = {ratio:.2f}× (target ≤ {RATIO_TARGET:.0f}×)", flush=True)
    for name, values in times.items():
        if values:
            print(f"{name}: median {statistics.median(values):.2f} s over {len(values)} rounds "
                  f"({', '.join(f'{v:.2f}' for v in values)})")
    hub = times.get("hub-uvicorn-1") or []
    if args.clients >= BIG_CLIENTS and "hub-uvicorn-1" in names:
        ok = not bad and bool(hub) and max(hub) <= BIG_SECONDS
        print(f"#27.1 {args.clients:,} clients within {BIG_SECONDS:.0f} s, none refused: {'PASS' if ok else 'MISS'}")
    return 1 if bad and args.strict else 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.storm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes (as make bench)")
    parser.add_argument("--only", type=lambda s: [x for x in s.split(",") if x], default=["raw-1", "hub-uvicorn-1"],
                        help=f"comma-separated, of {', '.join(TARGETS)}")
    parser.add_argument("--hub-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the hub's process (experiments)")
    parser.add_argument("--keep", action="store_true", help="reuse the prepared database")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the hub refused or missed a client")
    parser.add_argument("--py-spy", default=os.environ.get("BENCH_PY_SPY"), help="py-spy binary: profile the hub")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hub_bench"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    unknown = [n for n in args.only if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown}; known: {', '.join(TARGETS)}")
    raise SystemExit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
