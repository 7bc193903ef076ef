"""What one raised alert costs the server process, in-process (issue 27, target 3: alert bursts).

    DJANGO_SETTINGS_MODULE=hub.settings DATABASE_URL=postgres://…/db \\
        python -m bench.raise_cost --alerts 20 [--profile out.prof] [--expand]

On a database seeded like the bench's (`seed_demo` and `bench.seed_users --count 1000`: ~1,050
readers of a TLP:CLEAR alert), POSTs the alert storm's own payload (bench/alert_storm.py) with
Django's test client and a bench user's token, and prints, per alert: the CPU of this process
(`time.process_time`, so a busy machine disturbs it far less than wall-clock), the wall time, the
SQL queries, and the time PostgreSQL took to answer them (wall time inside `cursor.execute`).
`--expand` also runs the notify app's expansion of the raised alerts (the in-hub notifications and
email outbox rows, notify.services.expand_alert_notices) and prints its cost per alert;
`--profile` writes a cProfile of the raises (and expansions) for `python -m pstats`.
As in the server, each raise's frames are published by an event loop (uvloop, on a thread of its own
here) that the raise's thread hands them to; its CPU is in the figures. `--no-loop` publishes from a
loop of each raise's own instead, as this probe did before 7 December (~3 ms more per raise).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import time
from contextlib import contextmanager
from typing import Any


@contextmanager
def _sql_timer(totals: dict[str, float]):
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            totals["sql_s"] += time.perf_counter() - started
            totals["queries"] += 1

    with connection.execute_wrapper(wrapper):
        yield


def _server_loop():
    """An event loop on a thread of its own, standing for the server's (uvloop, as uvicorn runs it)."""
    import threading

    import uvloop

    loop = uvloop.new_event_loop()
    threading.Thread(target=loop.run_forever, name="server-loop", daemon=True).start()
    return loop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--profile", default="")
    parser.add_argument("--expand", action="store_true")
    parser.add_argument("--no-loop", action="store_true",
                        help="publish without a server event loop (as this probe did before 7 December)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.test import Client

    from bench.alert_storm import _payload
    from hub.models import ApiToken, User

    user = User.objects.filter(username__startswith="bench-").order_by("username").first()
    if user is None:
        raise SystemExit("no bench users: run `python -m bench.seed_users --count 1000 --out …` first")
    token = ApiToken.issue(user, name="raise-cost")[1]
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    expand: Any = None
    if args.expand:
        from notify.services import expand_alert_notices as expand

    def raise_one(seq: int) -> None:
        response = client.post("/api/v1/alerts", _payload(f"Raise cost {time.time():.0f} #", seq),
                               content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"HTTP {response.status_code}: {response.content[:300]!r}")

    # As in the server: the raise's thread hands its frames to the event loop that owns the channel
    # layer, which publishes them (hub.realtime.publisher). Without a loop each raise published from a
    # loop and a thread of its own (`async_to_sync`), about a sixth of its CPU that the server never pays.
    loop = None if args.no_loop else _server_loop()
    if loop is not None:
        from hub.realtime.publisher import publishing_through_server_loop, remember_server_loop

        remember_server_loop(loop)
        through_loop = publishing_through_server_loop()
        through_loop.__enter__()
    for seq in range(args.warm):
        raise_one(seq)
    if expand is not None:
        expand()
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waits
    totals = {"sql_s": 0.0, "queries": 0}
    with _sql_timer(totals):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for seq in range(args.alerts):
            raise_one(seq)
        if profiler:
            profiler.disable()
        if loop is not None:  # the loop's publishing is part of a raise's CPU: wait until it is done
            import asyncio

            asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result()
        cpu1, wall1 = time.process_time(), time.perf_counter()
        raised = dict(totals)
        out: dict[str, Any] = {
            "alerts": args.alerts,
            "raise_cpu_ms": round((cpu1 - cpu0) * 1000 / args.alerts, 2),
            "raise_wall_ms": round((wall1 - wall0) * 1000 / args.alerts, 2),
            "raise_queries": raised["queries"] / args.alerts,
            "raise_sql_wall_ms": round(raised["sql_s"] * 1000 / args.alerts, 2),
        }
        if expand is not None:
            if profiler:
                profiler.enable()
            cpu2, wall2 = time.process_time(), time.perf_counter()
            expanded = expand()
            cpu3, wall3 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.disable()
            out.update({
                "expanded": expanded,
                "expand_cpu_ms": round((cpu3 - cpu2) * 1000 / args.alerts, 2),
                "expand_wall_ms": round((wall3 - wall2) * 1000 / args.alerts, 2),
                "expand_queries": totals["queries"] - raised["queries"],
                "expand_sql_wall_ms": round((totals["sql_s"] - raised["sql_s"]) * 1000 / args.alerts, 2),
            })
    ApiToken.objects.filter(user=user, name="raise-cost").delete()
    if profiler:
        profiler.dump_stats(args.profile)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
