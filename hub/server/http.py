"""Django over ASGI with the whole request — middleware and view — in one reused thread, entered once.

Two costs of Django's own `ASGIHandler` showed up when a thousand clients asked for WebSocket tickets
at once (py-spy of the connect storm, docs/benchmarks.md):

- Its middleware chain is built in async mode around an async core. The hub's middleware and views
  are synchronous, so a request went from the event loop to its thread (the middleware), back to the
  loop (the core), to the thread (the view) and back twice more. Each return waited for a turn of a
  loop that was also accepting handshakes and fanning messages out: request threads sat parked in
  `AsyncToSync` while the process was half idle. Here the chain is built in sync mode, as under WSGI,
  and entered with one hop; `async def` views (only `/healthz`) run from that thread on the loop, as
  Django does for them under WSGI.
- Around the chain, Django's handler went to a thread and back three times per request (the
  `request_started` receivers, the chain, `response.close()`) and ran two tasks (the view, and a
  listener for the client's disconnect, which cannot stop a sync view anyway): under the ticket-list
  load the event loop held the GIL for a quarter of the time, ~1 ms per request on the smallest
  endpoint. Here one hop does all three, and the loop only reads the body and writes the answer.
  Streaming answers (file downloads, CSV exports) are closed after they are sent, as Django does.
- Every request got a new thread (a `ThreadSensitiveContext` with no executor makes one) and, at its
  end, another thread to join the first. `Thread.start` blocks its caller — the event loop — until
  the new thread gets the GIL: a fifth of the loop's time during the storm. Here a request runs in
  one of a few long-lived threads, one request per thread at a time, as many as requests may be
  inside at once (`HUB_HTTP_MAX_CONCURRENT`, hub/server/admission.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import set_script_prefix

# Requests that bypass admission (/healthz) may be inside as well; beyond the spares a request gets
# a thread of its own, as under Django's default.
SPARE_THREADS = 2


class _RequestThreads:
    """Single-thread executors handed to one request at a time. Taken and given back on the event
    loop thread only."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.made = 0
        self.free: list[ThreadPoolExecutor] = []

    def take(self) -> ThreadPoolExecutor | None:
        if self.free:
            return self.free.pop()
        if self.made < self.size:
            self.made += 1
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hub-http-{self.made}")
        return None

    def give(self, executor: ThreadPoolExecutor) -> None:
        self.free.append(executor)


def _next_part(parts: Iterator[bytes]) -> bytes | None:
    """The next part, or None at the end (a response's parts are bytes, never None)."""
    return next(parts, None)


class HubASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._threads = _RequestThreads(max(settings.HUB_HTTP_MAX_CONCURRENT, 0) + SPARE_THREADS)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        # Thread-sensitive: in the request's thread (below), where the response is closed too — which
        # returns its database connection to the pool.
        self._respond = sync_to_async(self._respond_in_thread, thread_sensitive=True)
        self._close = sync_to_async(self._close_in_thread, thread_sensitive=True)

    async def handle(self, scope, receive, send) -> None:
        """Django's `ASGIHandler.handle`, with everything between reading the body and writing the
        answer done in one hop to the request's thread."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await self._respond(scope, body_file)
            if isinstance(response, StreamingHttpResponse) and not response.is_async:
                response.streaming_content = self._pulled(response)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await self._close(response)
        finally:
            body_file.close()

    def _respond_in_thread(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """`request_started`, the request, the middleware chain and view (`BaseHandler.get_response`),
        and — unless it streams — the response closed (`request_finished`), as under WSGI."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, refusal = self.create_request(scope, body_file)
        response = self.get_response(request) if request is not None else refusal
        assert response is not None  # create_request gives a request or the answer refusing it
        response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django's handler sets it
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # the server chunks the socket writes itself
        if not response.streaming:
            response.close()
        return response

    def _pulled(self, response: StreamingHttpResponse) -> AsyncIterator[bytes]:
        """A synchronous streaming answer (a CSV export, a file) as an async iterator that takes one
        part at a time from the request's thread. Django's own `__aiter__` consumed a synchronous
        iterator whole with `sync_to_async(list)` before sending a byte: a 100,000-ticket export was
        held in memory entire, and its database cursor was read on whatever thread `list` ran in.
        Here memory stays at one part, and the parts are read where the view ran (its connection)."""
        parts = iter(cast(Iterator[bytes], response.streaming_content))  # not is_async: the caller checked
        step = sync_to_async(_next_part, thread_sensitive=True)

        async def pull() -> AsyncIterator[bytes]:
            while True:
                part = await step(parts)
                if part is None:
                    return
                yield part

        return pull()

    @staticmethod
    def _close_in_thread(response: HttpResponseBase) -> None:
        response.close()

    async def __call__(self, scope, receive, send) -> None:
        executor = self._threads.take() if scope["type"] == "http" else None
        if executor is None:
            return await super().__call__(scope, receive, send)
        try:
            # Django's own ThreadSensitiveContext inside then joins this one.
            async with ThreadSensitiveContext(executor=executor):
                await super().__call__(scope, receive, send)
        finally:
            self._threads.give(executor)


def get_asgi_application() -> HubASGIHandler:
    """`django.core.asgi.get_asgi_application`, with the hub's handler."""
    import django

    django.setup(set_prefix=False)
    return HubASGIHandler()
