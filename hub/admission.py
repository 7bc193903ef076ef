"""Admission control for HTTP: at most `HUB_HTTP_MAX_CONCURRENT` requests inside Django at once.

Django runs each synchronous view in a thread of its own. When a thousand scripts ask for a
WebSocket ticket at the same moment (a restart, a reconnect storm), a thousand threads fought for the
GIL and for the pool's few database connections; holding a connection while waiting for the GIL,
they timed out of the pool and were answered 503. Waiting here instead — on the event loop, where a
waiting request costs nothing but its socket — serves the same burst in order and in full. Health
checks are not queued: a load balancer must see a live process while it is busy.
"""

from __future__ import annotations

import asyncio

from django.conf import settings

from hub import shutdown
from hub.loops import per_loop

EXEMPT_PATHS = ("/healthz",)


class AdmissionLimit:
    def __init__(self, app) -> None:
        self.app = app
        self._semaphore = per_loop(lambda loop: asyncio.Semaphore(settings.HUB_HTTP_MAX_CONCURRENT))

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if shutdown.refusing():  # SIGTERM: finish what is inside, send the rest elsewhere
            return await _unavailable(send)
        shutdown.request_started()
        try:
            if settings.HUB_HTTP_MAX_CONCURRENT <= 0 or scope["path"] in EXEMPT_PATHS:
                return await self.app(scope, receive, send)
            async with self._semaphore():
                return await self.app(scope, receive, send)
        finally:
            shutdown.request_finished()


async def _unavailable(send) -> None:
    body = b'{"error": {"code": "unavailable", "detail": "This server is shutting down; retry."}}'
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1"),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
