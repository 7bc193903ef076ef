"""Graceful shutdown done by the application itself, the same under daphne and uvicorn.

On SIGTERM the hub first closes its WebSockets with 4012 ("the server is restarting: reconnect", to
another process; an application code, since autobahn refuses 1012 from a server) and answers every
HTTP request already inside it or arriving within half a second — the ones already on the wire —
while later ones get 503; only then does it
hand the signal to the server's own handler, which stops the process. Daphne on its own stopped
the Twisted reactor at once: open sockets saw the TCP connection drop without a close frame, and
requests in flight were killed unanswered (tests/reliability/test_graceful_shutdown.py). This is
plain Python on the process' signal — the handler the server installed is kept and called, never
imported or reached into.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable, Callable

from django.conf import settings

logger = logging.getLogger(__name__)

CLOSE_SERVICE_RESTART = 4012
# Requests that reach the hub this soon after SIGTERM were sent before it: serve them, 503 the rest.
ACCEPT_AFTER_SIGTERM_SECONDS = 0.5

_installed = False
_draining_since: float | None = None  # when SIGTERM arrived (monotonic); None while serving
_in_flight = 0  # HTTP requests inside the application (hub.server.admission counts them)
_closers: list[Callable[[], Awaitable[object]]] = []  # coroutine functions that close live sockets


def refusing() -> bool:
    """Whether a request arriving now is answered 503 (shutting down, past the acceptance window)."""
    return _draining_since is not None and time.monotonic() - _draining_since > ACCEPT_AFTER_SIGTERM_SECONDS


def request_started() -> None:
    global _in_flight
    _in_flight += 1


def request_finished() -> None:
    global _in_flight
    _in_flight -= 1


def on_shutdown(closer: Callable[[], Awaitable[object]]) -> None:
    """Register a coroutine function run first on SIGTERM (e.g. closing this loop's sockets)."""
    _closers.append(closer)


def install() -> None:
    """Take over SIGTERM, keeping the server's handler for the end. Called on the first ASGI call,
    which runs after the server installed its own handler; only from the main thread's loop."""
    global _installed
    if _installed or not settings.HUB_GRACEFUL_SHUTDOWN or threading.current_thread() is not threading.main_thread():
        return
    _installed = True
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame) -> None:
        global _draining_since
        if _draining_since is not None:
            return
        if loop.is_closed() or not loop.is_running():  # not serving (any more): nothing to drain
            _hand_over(previous, signum, frame)
            return
        _draining_since = time.monotonic()
        loop.call_soon_threadsafe(lambda: loop.create_task(_drain_then_stop(previous, signum, frame)))

    signal.signal(signal.SIGTERM, on_sigterm)


async def _drain_then_stop(previous, signum, frame) -> None:
    started = time.monotonic()
    for closer in list(_closers):
        try:
            await closer()
        except Exception:
            logger.warning("closing sockets on shutdown failed", exc_info=True)
    deadline = started + settings.HUB_SHUTDOWN_GRACE_SECONDS
    await asyncio.sleep(ACCEPT_AFTER_SIGTERM_SECONDS)
    while _in_flight > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # let the close frames and last answers leave the socket buffers
    logger.warning("shutdown: sockets closed, %s request(s) still in flight after %.1fs; stopping the server",
                _in_flight, time.monotonic() - started)
    _hand_over(previous, signum, frame)


def _hand_over(previous, signum, frame) -> None:
    """Give SIGTERM back to whoever had it before: the server's handler, or the default (exit)."""
    signal.signal(signal.SIGTERM, previous)
    if callable(previous):
        previous(signum, frame)
    else:
        os.kill(os.getpid(), signal.SIGTERM)
