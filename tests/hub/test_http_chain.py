"""How Django serves HTTP under ASGI here (hub/http.py): the middleware chain and the view run in one
thread per request, entered once from the event loop."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import SyncToAsync
from asgiref.testing import ApplicationCommunicator

from hub.http import HubASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)

SEEN: list[tuple[str, int]] = []


class RecordThreads:
    """A test middleware: where the chain runs, and where the view is about to run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        SEEN.append(("middleware", threading.get_ident()))
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        SEEN.append(("view", threading.get_ident()))


def get(app, path: str, headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, dict]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"127.0.0.1"), *headers],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}

    async def run():
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await communicator.receive_output(10)
        body = b""
        while True:
            part = await communicator.receive_output(10)
            body += part.get("body", b"")
            if not part.get("more_body"):
                break
        await communicator.wait(10)
        return start["status"], json.loads(body or b"{}"), threading.get_ident()

    status, answer, loop_thread = asyncio.run(run())
    SEEN.append(("loop", loop_thread))
    return status, answer


def test_the_chain_is_built_sync_and_entered_with_one_hop():
    chain = HubASGIHandler()._middleware_chain
    assert isinstance(chain, SyncToAsync)
    assert not asyncio.iscoroutinefunction(chain.func)


def test_a_sync_view_runs_with_its_middleware_in_one_thread_and_never_waits_for_the_loop(
    settings, make_user, monkeypatch
):
    """Django's default (an async chain around sync middleware and views) went back to the event loop
    in the middle of every request; a connect storm's ticket requests waited there for a loop busy
    with handshakes and fan-out (docs/benchmarks.md)."""
    from asgiref.sync import AsyncToSync

    from tests.conftest import token_for

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.hub.test_http_chain.RecordThreads"]
    token = token_for(make_user("chain.user", centre="HT"))
    back_to_the_loop = []
    original = AsyncToSync.__call__

    def counting(self, *args, **kwargs):
        back_to_the_loop.append(getattr(self.awaitable, "__qualname__", repr(self.awaitable)))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AsyncToSync, "__call__", counting)
    SEEN.clear()
    status, answer = get(HubASGIHandler(), "/api/v1/me", [(b"authorization", f"Token {token}".encode())])
    assert status == 200 and answer["username"] == "chain.user"
    threads = dict(SEEN)
    assert threads["middleware"] == threads["view"] != threads["loop"]
    assert back_to_the_loop == []


def test_an_async_view_still_answers_from_the_sync_chain(settings):
    """`/healthz` is `async def`: Django runs it on the loop from the request's thread."""
    status, answer = get(HubASGIHandler(), "/healthz")
    assert status in {200, 503} and "database" in answer
    assert answer["database"] == "ok"
