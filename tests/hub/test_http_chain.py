"""How Django serves HTTP under ASGI here (hub/server/http.py): the middleware chain and the view run in one
thread per request, entered once from the event loop."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import SyncToAsync
from asgiref.testing import ApplicationCommunicator

from hub.server.http import HubASGIHandler

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


def calls_of(monkeypatch, wrapper: type, target) -> list[str]:
    """The names of what each call of an asgiref wrapper (`SyncToAsync`, `AsyncToSync`) runs, from
    now until the end of the test: how often a request crossed between the loop and a thread."""
    names: list[str] = []
    original = wrapper.__call__

    def counting(self, *args, **kwargs):
        wrapped = target(self)
        names.append(str(getattr(wrapped, "__qualname__", None) or getattr(wrapped, "__name__", repr(wrapped))))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(wrapper, "__call__", counting)
    return names


def get(app, path: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, dict]:
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
    handler = HubASGIHandler()
    assert not asyncio.iscoroutinefunction(getattr(handler, "_middleware_chain"))  # noqa: B009 (Django's private)
    assert isinstance(handler._respond, SyncToAsync)


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
    back_to_the_loop = calls_of(monkeypatch, AsyncToSync, lambda call: call.awaitable)
    SEEN.clear()
    status, answer = get(HubASGIHandler(), "/api/v1/me", ((b"authorization", f"Token {token}".encode()),))
    assert status == 200 and answer["username"] == "chain.user"
    threads = dict(SEEN)
    assert threads["middleware"] == threads["view"] != threads["loop"]
    assert back_to_the_loop == []


def test_an_async_view_still_answers_from_the_sync_chain(settings):
    """`/healthz` is `async def`: Django runs it on the loop from the request's thread."""
    status, answer = get(HubASGIHandler(), "/healthz")
    assert status in {200, 503} and "database" in answer
    assert answer["database"] == "ok"


# --- one hop: the request's signals, chain and view, then the answer ------------------------------------

EVENTS: list[tuple[str, int]] = []


def _plain_view(request):
    from django.http import HttpResponse

    EVENTS.append(("view", threading.get_ident()))
    return HttpResponse(f"{request.method} {len(request.body)}".encode(), content_type="text/plain")


def _streaming_view(request):
    from django.http import StreamingHttpResponse

    def parts():
        for i in range(3):
            EVENTS.append((f"part {i}", threading.get_ident()))
            yield f"dòng {i}\n".encode()

    return StreamingHttpResponse(parts(), content_type="text/csv")


def _file_view(request):
    import io

    from django.http import FileResponse

    return FileResponse(io.BytesIO(b"x" * 300_000), as_attachment=True, filename="bao-cao.bin")


def _urls():
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("plain", csrf_exempt(_plain_view)), path("stream", _streaming_view), path("file", _file_view)]


urlpatterns = _urls()


def _call(app, path: str, method: str = "GET", body: bytes = b"") -> tuple[int, bytes, list[dict]]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000)}

    async def run():
        communicator = ApplicationCommunicator(app, scope)
        half = len(body) // 2
        await communicator.send_input({"type": "http.request", "body": body[:half], "more_body": True})
        await communicator.send_input({"type": "http.request", "body": body[half:], "more_body": False})
        messages = [await communicator.receive_output(10)]
        EVENTS.append(("answer starts", threading.get_ident()))
        while messages[-1]["type"] == "http.response.start" or messages[-1].get("more_body"):
            messages.append(await communicator.receive_output(10))
        await communicator.wait(10)
        return messages

    messages = asyncio.run(run())
    return messages[0]["status"], b"".join(m.get("body", b"") for m in messages[1:]), messages


@pytest.fixture
def recorded(settings):
    from django.core import signals

    settings.ROOT_URLCONF = __name__

    def started(**kwargs):
        EVENTS.append(("request_started", threading.get_ident()))

    def finished(**kwargs):
        EVENTS.append(("request_finished", threading.get_ident()))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    EVENTS.clear()
    yield EVENTS
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def test_signals_chain_and_view_run_in_one_hop_and_the_answer_is_written_after(recorded, monkeypatch):
    """One hop to the request's thread does what Django's handler did in three: `request_started`,
    the chain and view, and `request_finished` (which returns the database connection)."""
    hops = calls_of(monkeypatch, SyncToAsync, lambda call: call.func)
    status, body, _ = _call(HubASGIHandler(), "/plain", "POST", "nội dung ".encode() * 1000)
    assert status == 200 and body == f"POST {len('nội dung '.encode()) * 1000}".encode()
    assert [name for name, _ in recorded] == ["request_started", "view", "request_finished", "answer starts"]
    threads = {name: thread for name, thread in recorded}
    assert threads["request_started"] == threads["view"] == threads["request_finished"] != threads["answer starts"]
    assert hops == ["HubASGIHandler._respond_in_thread"]


def test_a_streaming_answer_is_sent_whole_and_closed_after_its_last_part(recorded):
    status, body, messages = _call(HubASGIHandler(), "/stream")
    assert status == 200 and body.decode() == "dòng 0\ndòng 1\ndòng 2\n"
    # When the first part is produced relative to the server's receiving the start is up to the two
    # threads; what holds is the order of the request's own events.
    assert [name for name, _ in recorded if name != "answer starts"] == [
        "request_started", "part 0", "part 1", "part 2", "request_finished"]
    assert messages[-1].get("more_body", False) is False


def test_a_streaming_answer_is_read_part_by_part_as_it_is_sent_in_the_requests_thread(recorded):
    """Constant memory for exports: each part is produced after the previous one was handed to the
    server (Django's own handler read a synchronous iterator into a list first), in the thread the
    request ran in (where its database connection and cursor are)."""
    handler = HubASGIHandler()

    async def app(scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.body" and message.get("body"):
                EVENTS.append(("sent " + message["body"].decode().strip(), threading.get_ident()))
            await send(message)

        await handler(scope, receive, sending)

    status, body, _messages = _call(app, "/stream")
    assert status == 200 and body.decode() == "dòng 0\ndòng 1\ndòng 2\n"
    names = [name for name, _ in recorded if name != "answer starts"]
    assert names == ["request_started", "part 0", "sent dòng 0", "part 1", "sent dòng 1", "part 2", "sent dòng 2",
                     "request_finished"]
    threads = dict(recorded)
    assert threads["part 0"] == threads["part 2"] == threads["request_started"]


def test_a_file_download_arrives_whole_in_large_chunks(recorded):
    status, body, messages = _call(HubASGIHandler(), "/file")
    headers = dict(messages[0]["headers"])
    assert status == 200 and body == b"x" * 300_000
    assert b"bao-cao.bin" in headers[b"Content-Disposition"]
    # in the handler's chunks (64 KiB), not FileResponse's default 4 KiB blocks
    assert len(messages) == 2 + -(-300_000 // HubASGIHandler.chunk_size)
    assert [name for name, _ in recorded][-1] == "request_finished"


def test_a_missing_page_is_still_a_404_from_django(recorded):
    status, _, _ = _call(HubASGIHandler(), "/no-such-page")
    assert status == 404
    assert [name for name, _ in recorded] == ["request_started", "request_finished", "answer starts"]
