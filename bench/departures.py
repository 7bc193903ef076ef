"""Each departure from Django and Channels (docs/departures.md), measured in-process against the plain
framework path it replaces: the same work done both ways, in alternating rounds, on this process's
database and channel layer. Prints one table; `--json` prints the figures.

    DATABASE_URL=… REDIS_URL=… DJANGO_SETTINGS_MODULE=hub.settings python -m bench.departures [--rounds 7]

`make bench` runs it on the bench database after the other extras. It needs a migrated database with
the demo data (`seed_demo`); the timestamp departure is measured on PostgreSQL only. CPU time is the
process's (`time.process_time`: every thread), per operation, the median of the rounds; the gain is
how much of the plain path's cost the departure saves. A departure whose gain stays under 10 % of its
path should go (issue 21).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, cast

from hub.lib.asgi import ASGIApp

KEEP_THRESHOLD = 0.10


@dataclass
class Comparison:
    departure: str
    operation: str
    plain_us: float | None  # the framework's own path, µs of CPU per operation
    ours_us: float | None  # with the departure
    note: str = ""

    @property
    def gain(self) -> float | None:
        if not self.plain_us or self.ours_us is None:
            return None
        return 1 - self.ours_us / self.plain_us

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gain": self.gain}


def _alternate(plain: Callable[[], float], ours: Callable[[], float], rounds: int) -> tuple[float, float]:
    """Median CPU µs per operation of each, measured in alternating rounds (a noisy machine shifts both)."""
    a, b = [], []
    plain(), ours()  # warm: caches, compiled SQL, imports
    for _ in range(rounds):
        a.append(plain())
        b.append(ours())
    return statistics.median(a), statistics.median(b)


def _cpu_per_op(fn: Callable[[], Any], n: int) -> float:
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def _acpu_per_op(loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[Any]], n: int) -> Callable[[], float]:
    async def many() -> None:
        for _ in range(n):
            await fn()

    def measure() -> float:
        start = time.process_time()
        loop.run_until_complete(many())
        return (time.process_time() - start) / n * 1e6

    return measure


# --- 1. CompiledQuery ------------------------------------------------------------------------------

def compiled_queries(rounds: int) -> Comparison:
    """The per-frame access re-check's two reads (chat.consumers), compiled once vs built by the ORM."""
    from chat.consumers import _CHANNEL_NOW, _FRAME_FIELDS, _PERSON_NOW
    from chat.models import Topic
    from hub.models import User

    person = User.objects.filter(is_active=True).order_by("pk").first()
    topic = Topic.objects.filter(kind=Topic.Kind.CHANNEL).order_by("pk").first()
    assert person is not None and topic is not None, "seed the database first (manage.py seed_demo)"

    def orm() -> None:
        list(User.objects.filter(pk=person.pk).values_list(*_FRAME_FIELDS)[:1])
        list(Topic.objects.filter(pk=topic.pk).order_by("allowed_centres__code")
             .values_list("slug", "kind", "allowed_roles", "allowed_centres__code"))

    def compiled() -> None:
        _PERSON_NOW.rows(person.pk)
        _CHANNEL_NOW.rows(topic.pk)

    plain_us, ours_us = _alternate(lambda: _cpu_per_op(orm, 300), lambda: _cpu_per_op(compiled, 300), rounds)
    return Comparison("CompiledQuery (hub/lib/compiled_queries.py)", "the per-frame access re-check (2 queries)",
                      plain_us, ours_us)


# --- 2. timestamps parsed in C ------------------------------------------------------------------------

def timestamps_in_c(rounds: int) -> Comparison:
    from django.db import connection

    name = "timestamps by psycopg's C loader (parse_timestamps_in_c, Django #36960)"
    operation = "500 timestamptz values read"
    if connection.vendor != "postgresql":
        return Comparison(name, operation, None, None, note="PostgreSQL only")
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    from hub.lib.compiled_queries import parse_timestamps_in_c

    sql = "SELECT now() + g * interval '1 second' FROM generate_series(1, 500) AS g"

    def read() -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()

    def djangos() -> float:
        connection.ensure_connection()
        register_tzloader(connection.timezone, connection.connection)
        return _cpu_per_op(read, 20)

    def ours() -> float:
        connection.ensure_connection()
        parse_timestamps_in_c(connection)
        return _cpu_per_op(read, 20)

    plain_us, ours_us = _alternate(djangos, ours, rounds)
    return Comparison(name, operation, plain_us, ours_us)


# --- 3. one hop per HTTP request ----------------------------------------------------------------------

def http_one_hop(rounds: int) -> Comparison:
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler

    from hub.models import ApiToken, User
    from hub.server.http import HubASGIHandler

    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h and not h.startswith(".")), "localhost")
    person = User.objects.filter(is_active=True).order_by("pk").first()
    assert person is not None, "seed the database first (manage.py seed_demo)"
    token, key = ApiToken.issue(person, name="bench.departures")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/api/v1/me", "raw_path": b"/api/v1/me", "query_string": b"", "root_path": "",
        "headers": [(b"host", host.encode()), (b"authorization", f"Token {key}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }

    statuses: list[int] = []

    def request(handler: Any) -> Callable[[], Awaitable[None]]:
        async def one() -> None:
            asked: list[bool] = []
            done = asyncio.Event()

            async def receive() -> dict[str, Any]:
                if not asked:  # the body, then (Django's disconnect listener) nothing until the answer
                    asked.append(True)
                    return {"type": "http.request", "body": b"", "more_body": False}
                await done.wait()
                return {"type": "http.disconnect"}

            await handler(dict(scope), receive, send)
            done.set()

        return one

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    loop = asyncio.new_event_loop()
    try:
        plain, ours = ASGIHandler(), HubASGIHandler()
        plain_us, ours_us = _alternate(_acpu_per_op(loop, request(plain), 100), _acpu_per_op(loop, request(ours), 100),
                                       rounds)
    finally:
        loop.close()
        token.delete()
    assert set(statuses) == {200}, f"GET /api/v1/me answered {set(statuses)}"
    return Comparison("one hop per HTTP request (hub.server.http.HubASGIHandler)",
                      "GET /api/v1/me in-process (token, one query)", plain_us, ours_us)


# --- 4–6. the socket path ----------------------------------------------------------------------------

def _probe_consumer() -> Any:
    from hub.realtime.consumers import HubConsumer

    class Probe(HubConsumer):
        async def websocket_noop(self, message: dict[str, Any]) -> None:
            return None

    return Probe


def dispatch_hop(rounds: int) -> Comparison:
    """A frame's dispatch: HubConsumer's vs Channels' own (with its `aclose_old_connections()` hop)."""
    from channels.consumer import AsyncConsumer

    consumer = _probe_consumer()()
    message = {"type": "websocket.noop"}
    loop = asyncio.new_event_loop()
    try:
        plain_us, ours_us = _alternate(
            _acpu_per_op(loop, lambda: AsyncConsumer.dispatch(consumer, message), 500),
            _acpu_per_op(loop, lambda: consumer.dispatch(message), 500), rounds)
    finally:
        loop.close()
    return Comparison("HubConsumer.dispatch (no per-frame hop)", "one frame dispatched to its handler",
                      plain_us, ours_us)


def layer_channel(rounds: int) -> Comparison:
    """A socket's life (connect, accept, disconnect) with Channels' `AsyncConsumer.__call__` — a
    per-socket layer channel, its listening task and `await_many_dispatch` — vs HubConsumer's own
    `__call__` (no layer channel, the client's messages awaited in place)."""
    from channels import DEFAULT_CHANNEL_LAYER
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.layers import channel_layers
    from channels.testing import ApplicationCommunicator

    from hub.realtime.consumers import HubConsumer

    class Plain(AsyncWebsocketConsumer):
        channel_layer_alias = DEFAULT_CHANNEL_LAYER

    class Ours(AsyncWebsocketConsumer):
        __call__ = HubConsumer.__call__  # type: ignore[assignment]  # Channels' stubs type the scope narrowly

    plain_app, ours_app = Plain.as_asgi(), Ours.as_asgi()
    scope = {"type": "websocket", "path": "/ws/probe/", "headers": [], "query_string": b"", "subprotocols": []}

    async def life(app: Any) -> None:
        socket = ApplicationCommunicator(app, dict(scope))
        await socket.send_input({"type": "websocket.connect"})
        await socket.receive_output(timeout=5)
        await socket.send_input({"type": "websocket.disconnect", "code": 1000})
        await socket.wait(timeout=5)

    loop = asyncio.new_event_loop()
    try:
        plain_us, ours_us = _alternate(_acpu_per_op(loop, lambda: life(plain_app), 100),
                                       _acpu_per_op(loop, lambda: life(ours_app), 100), rounds)
        layer = channel_layers[DEFAULT_CHANNEL_LAYER]
        if hasattr(layer, "flush"):
            loop.run_until_complete(layer.flush())
    finally:
        channel_layers.backends.clear()
        loop.close()
    return Comparison("no per-socket layer channel, no per-frame task (HubConsumer.__call__)",
                      "a socket's connect, accept and disconnect", plain_us, ours_us,
                      note="plus, with Channels', a layer receive and a task pending per socket for its whole life")


def server_send(rounds: int) -> Comparison:
    """A delivery (HubConsumer.deliver) sent through Channels' session/auth wrappers, vs through the
    server's own send (ws_auth's SERVER_SEND)."""
    from channels.auth import AuthMiddlewareStack

    from hub.realtime.receiver import Delivery

    async def server(message: dict[str, Any]) -> None:
        return None

    wrapped: list[Any] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        wrapped.append(send)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.disconnect"}

    loop = asyncio.new_event_loop()
    try:
        scope = {"type": "websocket", "path": "/ws/probe/", "headers": [(b"cookie", b"sessionid=bench")],
                 "query_string": b""}
        stack: ASGIApp = cast(ASGIApp, AuthMiddlewareStack(inner))
        loop.run_until_complete(stack(scope, receive, server))
        session_send = wrapped[0]
        delivery = Delivery({"frame": '{"type":"message","message":{"id":1}}', "audience": None})

        def consumer(send: Any) -> Any:
            socket = _probe_consumer()()
            socket.base_send, socket.closed, socket.user = send, False, None
            socket.recent_events = {}
            socket._held = None  # no re-read of the person under way (HubConsumer's per-socket state)
            socket.may_receive = lambda delivery: True
            return socket

        plain, ours = consumer(session_send), consumer(server)
        plain_us, ours_us = _alternate(_acpu_per_op(loop, lambda: plain.deliver(delivery), 5000),
                                       _acpu_per_op(loop, lambda: ours.deliver(delivery), 5000), rounds)
    finally:
        loop.close()
    return Comparison("the server's own send (hub/realtime/ws_auth.py SERVER_SEND)",
                      "one delivery to one socket, before the server's framing", plain_us, ours_us)


MEASURES = (compiled_queries, timestamps_in_c, http_one_hop, dispatch_hop, layer_channel, server_send)


def measure_all(rounds: int = 7) -> list[Comparison]:
    import django

    django.setup()
    results = []
    for measure in MEASURES:
        try:
            results.append(measure(rounds))
        except Exception as exc:  # one broken measurement must not hide the others
            results.append(Comparison(measure.__name__, "", None, None, note=f"ERROR {type(exc).__name__}: {exc}"))
    return results


def table(results: list[Comparison]) -> str:
    lines = ["| departure | operation | plain framework µs | with the departure µs | gain | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        gain = r.gain
        verdict = "" if gain is None else ("keep" if gain >= KEEP_THRESHOLD else "under 10 %: remove?")
        cells = [r.departure, r.operation + (f" ({r.note})" if r.note else ""),
                 "—" if r.plain_us is None else f"{r.plain_us:,.1f}", "—" if r.ours_us is None else f"{r.ours_us:,.1f}",
                 "—" if gain is None else f"{gain:.0%}", verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.departures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = measure_all(args.rounds)
    print(json.dumps([r.to_dict() for r in results]) if args.json else table(results))


if __name__ == "__main__":
    main()
