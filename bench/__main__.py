"""`make bench`: the hub's fan-out measured beside the Channels tutorial design and a raw broadcaster.

    .venv/bin/python -m bench                 # the full run (C=1000, every target), < 10 minutes
    .venv/bin/python -m bench --quick         # C=100, short phases: proves the harness in seconds
    .venv/bin/python -m bench --only raw-1,hub-daphne-1 --clients 200
    .venv/bin/python -m bench --only none --skip-catchup --http-messages 0   # only the alert storm
    .venv/bin/python -m bench.departures      # only the departures from Django/Channels, in-process

Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0) and, for the hub, PostgreSQL
(BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/hub_bench — dropped and recreated).
`--only none` runs no fan-out target, only the extras (catch-up, alert storm, HTTP) on the hub.
Prints one table; writes every figure to bench/results/<time>.json and the table to
bench/results/latest.md. Exits 1 if any hub run lost or duplicated a message, a hub client could not connect,
or a target failed, or the alert storm lost or duplicated an alert or got an answer other than 201;
target misses are reported, not fatal (these are benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import procstat
from bench.fanout import Phase, TargetResult, ensure_node_modules, measure
from bench.report import render
from bench.targets import ROOT, Context, Target, free_port, wait_tcp

# In order of importance: if the time budget runs out, the later rows are the ones skipped. First the
# rows issue 27's targets and issue 11's fan-out guards are measured against (raw-1, hub-uvicorn-1,
# bare-uvicorn-1 for #27.2/#27.7, hub-uvicorn-2 for #27.6, the mixed row for issue 26, the tutorial and
# hub-daphne-1 for #11's daphne guard), then the rows kept for the table only.
ALL_TARGETS = [
    Target("raw-1", "raw", "websockets", 1),
    Target("hub-uvicorn-1", "hub", "uvicorn", 1),
    Target("bare-uvicorn-1", "bare", "uvicorn", 1),
    Target("hub-uvicorn-2", "hub", "uvicorn", 2),
    # The same with threaded replies and reactions mixed into the fan-out (issue 26, bench.fanout.MIX_EVERY).
    Target("hub-uvicorn-mixed-1", "hub", "uvicorn", 1, mix=True),
    Target("tutorial-core-1", "tutorial", "daphne", 1, layer="core"),
    Target("hub-daphne-1", "hub", "daphne", 1),
    Target("raw-2", "raw", "websockets", 2),
    # hub-uvicorn-2 with its channel layer over two Redis servers (issue 27, target 8): the run's Redis
    # and a second one (--second-redis-url, else a private redis-server this run starts and stops).
    Target("hub-uvicorn-redis2-2", "hub", "uvicorn", 2, redis_servers=2),
    Target("bare-daphne-1", "bare", "daphne", 1),
    Target("hub-daphne-2", "hub", "daphne", 2),
    Target("tutorial-pubsub-1", "tutorial", "daphne", 1, layer="pubsub"),
    Target("hub-daphne-core-1", "hub", "daphne", 1, layer="core"),
    Target("hub-uvicorn-core-1", "hub", "uvicorn", 1, layer="core"),
]


def phases_for(target: Target, seconds: float) -> list[Phase]:
    """The fixed-rate phases: 5/s and 25/s for `seconds` each (the saturating burst is sized later
    from how these went, see bench.fanout.burst_after).

    The tutorial design is already saturated at 5 messages/s with 1,000 clients (STACK-NOTES), so it
    gets a shorter 5/s phase and no 25/s one: its backlog would only make the run longer.
    """
    if target.design == "tutorial":
        return [Phase("5/s", 5, max(5, int(5 * seconds / 2)), drain_s=30)]
    return [Phase("5/s", 5, int(5 * seconds), drain_s=30), Phase("25/s", 25, int(25 * seconds), drain_s=30)]


async def run(args: argparse.Namespace) -> int:
    ensure_node_modules()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = ROOT / "bench" / "results"
    log_dir = out_dir / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(redis_url=args.redis_url, database_url=args.database_url, log_dir=log_dir,
                  hub_overrides=dict(kv.split("=", 1) for kv in args.hub_env), batch=not args.no_batch)
    targets = [t for t in ALL_TARGETS if args.only is None or t.name in args.only]
    second_redis = None
    if any(t.redis_servers > 1 for t in targets):
        ctx.second_redis_url, second_redis = second_redis_server(args.second_redis_url)
    if args.only and len(targets) != len(args.only):
        known = ", ".join(t.name for t in ALL_TARGETS)
        print(f"unknown target in --only; known: {known}", file=sys.stderr)
        return 2
    machine = procstat.machine()
    print(f"machine: {machine['cpus']} CPUs, {machine['cpu_model']}, {machine['memory']}; "
          f"C={args.clients}, S={args.senders}, generator workers={args.workers}")
    started = time.monotonic()
    extras: dict = {}
    # The hub's extras (catch-up, alert storm, HTTP) run when a hub target is measured, or when no
    # fan-out target is (`--only none`).
    hub_extras = any(t.design == "hub" for t in targets) or not targets
    if hub_extras:
        print("preparing the hub's bench database…")
        from bench.alert_storm import MIN_USERS

        ctx.prepare_hub_database(users=max(args.clients, MIN_USERS if args.alert_storm else 0))
    results: list[TargetResult] = []
    for target in targets:
        if target.redis_servers > 1 and ctx.second_redis_url is None:
            results.append(TargetResult(target.name, target.design, target.server, target.processes, target.layer,
                                        args.clients, error="skipped: no second Redis server (--second-redis-url, "
                                                            "or redis-server on PATH)"))
            print(f"{target.name}: {results[-1].error}")
            continue
        if time.monotonic() - started > args.budget:
            print(f"{target.name}: skipped, the {args.budget:.0f} s budget is spent")
            skipped = TargetResult(target.name, target.design, target.server, target.processes, target.layer,
                                   args.clients, error=f"skipped: the {args.budget:.0f} s time budget was spent")
            results.append(skipped)
            continue
        print(f"{target.name}:")
        phases = phases_for(target, args.seconds)
        results.append(await measure(target, ctx, args.clients, args.senders, args.workers, phases,
                                     args.connect_concurrency))
    if second_redis is not None:
        second_redis.terminate()
        second_redis.wait(10)
    if not args.skip_catchup and hub_extras:
        from bench.catchup import measure_catchup

        print("catch-up:")
        extras["catchup"] = await measure_catchup(ctx, messages=args.catchup_messages)
        if extras["catchup"].get("error"):
            print(f"  catch-up problem: {extras['catchup']['error']}")
    if args.alert_storm and hub_extras:
        from bench.alert_storm import measure_alert_storm

        # Before HTTP: the storm is issue 27's target 3, HTTP's own target is retired (its rows stay).
        # It takes about 35 s per server, and the whole run must stay under 10 minutes.
        if time.monotonic() - started < args.storm_after:
            print(f"alert storm ({args.alert_storm:,} alerts):")
            try:
                extras["alert_storm"] = await measure_alert_storm(
                    ctx, alerts=args.alert_storm, servers=args.alert_storm_servers,
                    processes=args.alert_storm_processes)
            except Exception as exc:  # keep what is already measured
                extras["alert_storm"] = {"alerts": args.alert_storm, "runs": {},
                                         "error": f"{type(exc).__name__}: {exc}"}
                print(f"  ERROR {extras['alert_storm']['error']}")
        else:
            print(f"alert storm: skipped, {args.storm_after:.0f} s had passed (the whole run must stay under "
                  "10 minutes)")
            extras["alert_storm"] = {"skipped": True}
    if args.http_messages and hub_extras:
        from bench.http import measure_http

        # Seeding its 1,000,000 messages alone takes ~140 s and the whole ~210 s: after the storm it
        # runs only when that still ends within 10 minutes (in a full run, seldom; alone: see --help).
        if time.monotonic() - started < args.http_after:
            print("HTTP:")
            try:
                extras["http"] = await measure_http(ctx, messages=args.http_messages, tickets=args.http_tickets)
            except Exception as exc:  # keep the fan-out table that is already measured
                extras["http"] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"  ERROR {extras['http']['error']}")
        else:
            print(f"HTTP: skipped, {args.http_after:.0f} s had passed (the whole run must stay under 10 minutes)")
            extras["http"] = {"skipped": True}
    if not args.skip_departures and hub_extras:
        print("departures from Django and Channels (in-process, plain framework path vs the hub's):")
        extras["departures"] = measure_departures(ctx)
    elapsed = time.monotonic() - started
    machine["load_average_end"] = procstat.machine()["load_average"]
    table, problems = render(results, extras, machine, args, elapsed)
    print()
    print(table)
    (out_dir / "latest.md").write_text(table + "\n")
    (out_dir / f"{stamp}.json").write_text(json.dumps(
        {"machine": machine, "args": vars(args), "elapsed_s": elapsed, "extras": extras,
         "results": [r.to_dict() for r in results]}, indent=1, default=str))
    if problems:
        print("\nFAILED: " + "; ".join(problems))
        return 1
    return 0


def second_redis_server(url: str | None) -> tuple[str | None, subprocess.Popen | None]:
    """The second Redis of the two-Redis row: the one given, else a private redis-server on a free
    port (no persistence, like the deployment's), else none (the row is skipped)."""
    if url:
        return url, None
    binary = shutil.which("redis-server")
    if binary is None:
        return None, None
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_tcp(port, proc, Path(os.devnull))
    return f"redis://127.0.0.1:{port}/0", proc


def measure_departures(ctx: Context) -> dict:
    """bench.departures in its own process on the bench database (docs/departures.md)."""

    env = dict(os.environ, **ctx.hub_env(), DJANGO_SETTINGS_MODULE="hub.settings", REDIS_URL=ctx.redis_url)
    done = subprocess.run([sys.executable, "-m", "bench.departures", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        return {"error": (done.stderr or done.stdout)[-1000:]}
    return {"results": json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=None, help="connected clients (default 1000, quick 100)")
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes")
    parser.add_argument("--seconds", type=float, default=None, help="length of the 5/s and 25/s phases")
    parser.add_argument("--only", type=lambda s: [x for x in s.split(",") if x and x != "none"], default=None,
                        help="comma-separated targets; `none` (or empty): no fan-out target, only the extras")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--connect-concurrency", type=int, default=0, help="0: every client at once")
    parser.add_argument("--hub-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the hub's processes (experiments; printed in the report)")
    parser.add_argument("--no-batch", action="store_true",
                        help="hub clients connect without ?batch=1: one frame per message (docs/chat.md)")
    parser.add_argument("--budget", type=float, default=330,
                        help="seconds after which remaining targets are skipped (reported, not fatal), so that "
                             "`make bench` ends within 10 minutes even when a design is very slow")
    parser.add_argument("--http-messages", type=int, default=1_000_000,
                        help="messages in the history topic for the HTTP benchmark (0: no HTTP benchmark)")
    parser.add_argument("--http-tickets", type=int, default=100_000)
    parser.add_argument("--http-after", type=float, default=340,
                        help="skip the HTTP benchmark (~210 s) if this many seconds have passed before it")
    parser.add_argument("--storm-after", type=float, default=490,
                        help="skip the alert storm (~70 s) if this many seconds have passed before it")
    parser.add_argument("--skip-catchup", action="store_true")
    parser.add_argument("--skip-departures", action="store_true",
                        help="do not re-measure the departures from Django and Channels (bench.departures)")
    parser.add_argument("--catchup-messages", type=int, default=10_000)
    parser.add_argument("--alert-storm", type=int, default=None, metavar="N",
                        help="alerts raised in the alert storm (default 1000, quick 100; 0: no alert storm); "
                             "runs before HTTP, skipped when --storm-after seconds have passed")
    parser.add_argument("--alert-storm-servers", type=lambda s: [x for x in s.split(",") if x],
                        default=["daphne", "uvicorn"], help="comma-separated servers the alert storm runs against")
    parser.add_argument("--alert-storm-processes", type=int, default=1, metavar="P",
                        help="hub processes per alert-storm server (listeners and raising lanes spread over them; "
                             "a row named e.g. uvicorn-2)")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--second-redis-url", default=os.environ.get("BENCH_SECOND_REDIS_URL"),
                        help="the second Redis server of hub-uvicorn-redis2-2 (default: a private redis-server "
                             "started for the run)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL")
                        or "postgres://postgres@127.0.0.1:5432/hub_bench")
    args = parser.parse_args()
    if args.clients is None:
        args.clients = 100 if args.quick else 1000
    if args.alert_storm is None:
        args.alert_storm = 100 if args.quick else 1000
    if args.seconds is None:
        args.seconds = 2 if args.quick else 6
    if args.quick:
        args.http_messages, args.http_tickets = min(args.http_messages, 20_000), min(args.http_tickets, 2_000)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
