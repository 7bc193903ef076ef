"""Guards of the hub's departures from Django and Channels (docs/departures.md): each fails loudly when
the framework changes under a departure, before anything breaks quietly.

Every departure leans on private code of a given version. Where the hub re-does what a framework
function does (Django's request flow, Channels' dispatch and consumer start, the session wrapper's
send, Django's timezone loader), the test pins that function's source: any change upstream — even a
patch release — stops the suite here, with the place to re-read. Where the hub calls private methods
(the SQL compiler), it pins their signatures; the behaviour itself is tested beside each departure
(tests/hub/test_sql*.py, test_http_chain.py, test_ws_auth.py, test_notifications.py).

On an upgrade: read the changed upstream code against the departure (docs/departures.md says what to
check), re-measure it (`python -m bench.departures`), then update the fingerprint here.
"""

from __future__ import annotations

import hashlib
import inspect

import channels
import django
import psycopg
import pytest

DEPARTURES = "docs/departures.md"


def fingerprint(function) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def check_source(function, expected: str, departure: str) -> None:
    found = fingerprint(function)
    assert found == expected, (
        f"{function.__module__}.{function.__qualname__} changed upstream (fingerprint {found}, written against "
        f"{expected}): re-check the departure '{departure}' ({DEPARTURES}), re-measure it, then update this test")


def check_signature(function, expected: str, departure: str) -> None:
    found = str(inspect.signature(function))
    assert found == expected, (
        f"{function.__qualname__}{found} is no longer {function.__qualname__}{expected}: "
        f"the departure '{departure}' ({DEPARTURES}) relies on it")


def test_the_versions_the_departures_were_written_against():
    """A new minor version changes private code more often than not: re-read every departure."""
    assert django.VERSION[:2] == (5, 2), f"Django {django.get_version()}: re-check every entry of {DEPARTURES}"
    assert channels.__version__.startswith("4.3."), f"Channels {channels.__version__}: re-check {DEPARTURES}"
    assert psycopg.__version__.startswith("3."), f"psycopg {psycopg.__version__}: re-check {DEPARTURES}"


# --- 1. CompiledQuery: Django's SQL compiler, called directly ------------------------------------

def test_compiled_queries_still_find_the_compiler_api_they_call():
    from django.db.models import DEFERRED, Model
    from django.db.models.sql.compiler import SQLCompiler
    from django.db.models.sql.query import Query

    name = "CompiledQuery"
    check_signature(Query.get_compiler, "(self, using=None, connection=None, elide_empty=True)", name)
    check_signature(SQLCompiler.as_sql, "(self, with_limits=True, with_col_aliases=False)", name)
    check_signature(SQLCompiler.get_converters, "(self, expressions)", name)
    check_signature(SQLCompiler.apply_converters, "(self, rows, converters)", name)
    check_signature(Model.from_db, "(db, field_names, values)", name)
    assert DEFERRED is not None
    # as_sql returns (sql, params) and leaves the selected columns where get_converters reads them
    source = inspect.getsource(SQLCompiler.as_sql)
    assert "return \" \".join(result), tuple(params)" in source, "SQLCompiler.as_sql's answer changed shape"
    assert "self.col_count" in inspect.getsource(SQLCompiler.setup_query), "compiler.col_count is gone"


# --- 2. one hop per HTTP request: Django's ASGIHandler.handle, re-done ------------------------------

@pytest.mark.parametrize("name, expected", [
    ("handle", "98faeb5bef800331"),  # hub.server.http.HubASGIHandler.handle re-does this flow
    ("__call__", "f756809e9c9308dc"),  # ThreadSensitiveContext around handle: ours joins it
    ("read_body", "cf4aa904631d5410"),
    ("create_request", "5eae59c6696013ff"),
    ("send_response", "77eda2b08689b44e"),
])
def test_the_http_path_still_matches_djangos_asgi_handler(name, expected):
    from django.core.handlers.asgi import ASGIHandler

    check_source(getattr(ASGIHandler, name), expected, "one hop per HTTP request (hub/server/http.py)")


def test_the_middleware_chain_can_still_be_built_in_sync_mode():
    from django.core.handlers.base import BaseHandler

    check_signature(BaseHandler.load_middleware, "(self, is_async=False)", "one hop per HTTP request")
    from django.core.handlers.asgi import get_script_prefix  # noqa: F401 (imported by hub.server.http)


# --- 3. timestamps parsed by psycopg's C loader (Django #36960) -------------------------------------

def test_django_still_registers_a_python_timestamptz_loader_and_checks_its_zone():
    from django.db.backends.postgresql import base, psycopg_any

    name = "timestamps parsed in C (hub.lib.compiled_queries.parse_timestamps_in_c)"
    check_source(psycopg_any.register_tzloader, "b98320a954840389", name)
    # Django subclasses psycopg's pure-Python loader (the C one cannot be subclassed): while this holds,
    # ours is the faster one. When Django's loader parses in C (#36960 fixed), drop the departure.
    assert psycopg_any.BaseTzLoader.__mro__[1].__module__.startswith("psycopg."), "#36960 may be fixed: re-measure"
    source = inspect.getsource(base.DatabaseWrapper.create_cursor)
    assert "tzloader.timezone" in source, "Django no longer compares the loader's `timezone` before each cursor"


# --- 4. HubConsumer.dispatch without Channels' per-frame hop -----------------------------------------

def test_channels_dispatch_is_still_the_one_the_hub_shortens():
    from channels.consumer import AsyncConsumer

    check_source(AsyncConsumer.dispatch, "39f34e7d4fb0f655", "HubConsumer.dispatch skips aclose_old_connections")


# --- 5. HubConsumer.__call__: no per-socket layer channel, no per-frame task --------------------------

def test_channels_consumer_start_is_still_the_one_the_hub_re_does():
    """HubConsumer.__call__ re-does AsyncConsumer.__call__ for a consumer without a layer channel:
    anything new there (or in await_many_dispatch, which it replaces) must be copied or re-checked."""
    from channels.consumer import AsyncConsumer
    from channels.utils import await_many_dispatch

    name = "HubConsumer.__call__ (no layer channel, no await_many_dispatch)"
    check_source(AsyncConsumer.__call__, "e52238720872dbc3", name)
    check_source(await_many_dispatch, "30ef889498560da3", name)


async def test_a_hub_socket_awaits_its_client_in_its_own_task_and_ends_on_stop_consumer():
    """No layer channel, no extra task while idle; frames dispatched in order; `websocket.disconnect`
    (StopConsumer) ends the consumer cleanly, as in Channels."""
    import asyncio

    from channels.exceptions import StopConsumer
    from channels.testing import ApplicationCommunicator

    from hub.realtime.consumers import HubConsumer

    seen: list[str] = []

    class Probe(HubConsumer):
        async def websocket_connect(self, message) -> None:
            await self.accept()

        async def websocket_receive(self, message) -> None:
            seen.append(message["text"])

        async def websocket_disconnect(self, message) -> None:
            seen.append("bye")
            raise StopConsumer()  # as Channels' websocket_disconnect ends

    socket = ApplicationCommunicator(Probe.as_asgi(), {"type": "websocket", "path": "/ws/probe/", "headers": [],
                                                       "query_string": b"", "subprotocols": []})
    await socket.send_input({"type": "websocket.connect"})
    assert (await socket.receive_output(timeout=3))["type"] == "websocket.accept"
    assert len(asyncio.all_tasks()) == 2  # this test's and the socket's own: nothing waits beside it
    for text in ("một", "hai", "ba"):
        await socket.send_input({"type": "websocket.receive", "text": text})
    await socket.send_input({"type": "websocket.disconnect", "code": 1000})
    await socket.wait(timeout=3)  # returned: StopConsumer ended it, no exception
    assert seen == ["một", "hai", "ba", "bye"]


# --- 6. sending through the server's own send (hub/realtime/ws_auth.py) -----------------------------

def test_the_session_wrapper_still_only_acts_on_http_answers():
    from channels.sessions import InstanceSessionWrapper

    check_source(InstanceSessionWrapper.send, "e951315e4ef0f195", "the server's own send (ws_auth)")
    assert set(InstanceSessionWrapper.save_message_types) == {"http.response.start"}


# --- 7. hold_prefetched: what a transaction wrote, held as a prefetch (hub/lib/prefetch.py) -------------

def test_a_prefetch_is_still_stored_as_hold_prefetched_stores_it():
    from django.db.models import query

    check_source(query.prefetch_one_level, "80f1773ec0be528f", "hold_prefetched (hub.lib.prefetch)")


def test_every_departure_is_listed():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / DEPARTURES).read_text(encoding="utf-8")
    for guard in ("CompiledQuery", "HubASGIHandler", "parse_timestamps_in_c", "HubConsumer.dispatch",
                  "HubConsumer.__call__", "SERVER_SEND", "hold_prefetched"):
        assert guard in page, guard
