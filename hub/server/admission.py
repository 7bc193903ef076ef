"""Admission control: at most `HUB_HTTP_MAX_CONCURRENT` HTTP requests inside Django at once, and at
most `HUB_WS_MAX_CONCURRENT_HANDSHAKES` WebSocket handshakes being worked on (`HandshakeLimit`).

Django runs each synchronous view in a thread of its own. When a thousand scripts ask for a
WebSocket ticket at the same moment (a restart, a reconnect storm), a thousand threads fought for the
GIL and for the pool's few database connections; holding a connection while waiting for the GIL,
they timed out of the pool and were answered 503. Waiting here instead — on the event loop, where a
waiting request costs nothing but its socket — serves the same burst in order and in full. Health
checks are not queued: a load balancer must see a live process while it is busy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from hub import i18n, metrics
from hub.errors import UNAVAILABLE, http_status_of
from hub.realtime.loops import per_loop
from hub.server import shutdown

# A load balancer must see a live process, and an operator its figures, while it is busy.
EXEMPT_PATHS = ("/healthz", "/metrics")


class AdmissionLimit:
    def __init__(self, app) -> None:
        self.app = app
        self._semaphore = per_loop(lambda loop: asyncio.Semaphore(settings.HUB_HTTP_MAX_CONCURRENT))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if shutdown.refusing():  # SIGTERM: finish what is inside, send the rest elsewhere
            return await _unavailable(scope, send)
        shutdown.request_started()
        try:
            if settings.HUB_HTTP_MAX_CONCURRENT <= 0 or scope["path"] in EXEMPT_PATHS:
                return await self.app(scope, receive, send)
            semaphore = self._semaphore()
            metrics.HTTP_WAITING.inc()
            try:
                await semaphore.acquire()
            finally:
                metrics.HTTP_WAITING.dec()
            try:
                return await self.app(scope, receive, send)
            finally:
                semaphore.release()
        finally:
            shutdown.request_finished()


SHUTTING_DOWN = _("This server is shutting down; retry.")


async def _unavailable(scope, send) -> None:
    """503 in the hub's error shape, in the caller's `Accept-Language` (else Vietnamese): nothing past
    this point may touch the database (the process is draining), so no preference or session is read."""
    headers = dict(scope.get("headers") or [])
    language = i18n.from_accept_language(headers.get(b"accept-language", b"").decode("latin-1"))
    with translation.override(language or settings.LANGUAGE_CODE):
        detail = str(SHUTTING_DOWN)
    body = json.dumps({"error": {"code": UNAVAILABLE, "detail": detail}}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": http_status_of(UNAVAILABLE),
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1"),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# The consumer calls `scope[HANDSHAKE_DONE]()` once its `connect()` has run (hub/realtime/consumers.py).
HANDSHAKE_DONE = "hub.handshake_done"


class HandshakeLimit:
    """At most `HUB_WS_MAX_CONCURRENT_HANDSHAKES` WebSocket handshakes being worked on at once, from
    the ticket's redemption to the end of the consumer's `connect()`; the rest wait in arrival order.

    A handshake is several trips to the database threads (the ticket, the topic and its access
    rule). Unlimited, a thousand handshakes arriving together (a restart's reconnect storm) advanced
    in step: all did their first trip, then all their second, and none was answered before nearly
    all were — on a slow day after 6 of 10 s, so clients gave up together (docs/benchmarks.md).
    Admitted a few at a time, each is answered in milliseconds and those behind it wait their turn;
    the whole burst takes as long, but nobody waits for everybody. The socket's later life is not
    limited."""

    def __init__(self, app=None) -> None:
        self.app = app
        self._semaphore = per_loop(lambda loop: asyncio.Semaphore(settings.HUB_WS_MAX_CONCURRENT_HANDSHAKES))

    async def admit(self) -> Callable[[], None]:
        """Wait for a place; the answer frees it (once, however often it is called). The WebSocket
        gate (hub.realtime.ws_auth) calls this itself, so that the one scope it copies carries it."""
        if settings.HUB_WS_MAX_CONCURRENT_HANDSHAKES <= 0:
            return _nothing_to_free
        semaphore = self._semaphore()
        await semaphore.acquire()
        return _Place(semaphore)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        done = await self.admit()
        try:
            return await self.app(dict(scope, **{HANDSHAKE_DONE: done}), receive, send)
        finally:
            done()  # refused before a consumer ran, or the consumer failed


class _Place:
    """One admitted handshake's place, freed at the first call. An object of one slot rather than a
    closure and its cell: every open socket's scope keeps it."""

    __slots__ = ("semaphore",)

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self.semaphore: asyncio.Semaphore | None = semaphore

    def __call__(self) -> None:
        semaphore, self.semaphore = self.semaphore, None
        if semaphore is not None:
            semaphore.release()


def _nothing_to_free() -> None:
    return None
