"""WebSocket handshake gate: who is connecting, and from which page.

Rules (../shared/CONTRACT.md): a foreign `Origin` is always refused (4403, Cross-Site WebSocket
Hijacking); a handshake authenticated by the session cookie must carry an allowed `Origin`; one
authenticated by a `?ticket=` may omit it, since a foreign page cannot obtain a ticket. Anything
unauthenticated closes with 4401. The socket is accepted and then closed so that browsers and scripts
see the close code rather than a bare HTTP 403.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.http.cookie import parse_cookie

from hub.lib.asgi import ASGIApp, Receive, Scope, Send
from hub.lib.origins import Origin, parse_origin
from hub.realtime.workers import in_worker_thread
from hub.server.admission import HandshakeLimit

if TYPE_CHECKING:
    from hub.models import User

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def origin_allowed(origin: str) -> bool:
    """The whole origin — scheme, host and port — is one of the hub's own (HUB_PUBLIC_ORIGINS):
    comparing the host name alone let `http://127.0.0.1:9999` or `https://localhost:1234`, pages
    anything else on the machine may serve, open a socket with the user's cookie (issue 20, class 8)."""
    parsed = parse_origin(origin)
    return parsed is not None and parsed in _public_origins(tuple(settings.HUB_PUBLIC_ORIGINS))


@functools.lru_cache(maxsize=8)
def _public_origins(origins: tuple[str, ...]) -> frozenset[Origin]:
    return frozenset(filter(None, map(parse_origin, origins)))


async def reject(receive: Receive, send: Send, code: int) -> None:
    """Complete the handshake only to close it with `code`."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code})


@in_worker_thread
def _redeem_ticket(raw: str) -> User | None:
    from hub.models import WsTicket

    return WsTicket.redeem(raw)


@in_worker_thread
def _resolve_session_user(scope: Scope) -> Any:
    """The session's person (with their centre) and the session's key and expiry, which the socket
    keeps: it lives no longer than the session (hub/realtime/identity.py). None when the session
    signs nobody in."""
    from hub.realtime.identity import current_standing

    user = scope.get("user")
    session = scope.get("session")
    if user is None or session is None or not session.session_key:
        return None
    # Force the lazy object: Channels' AuthMiddleware checked the session as Django's get_user does.
    if not user.is_authenticated or not user.is_active:
        return None
    standing = current_standing(user.pk, session_key=session.session_key)
    if standing is None:
        return None
    return standing, session.session_key


class WsGate:
    """Runs after Channels' session/auth middleware; sets scope["user"] and scope["auth_method"]."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if origin and not origin_allowed(origin):
            return await reject(receive, send, CLOSE_FORBIDDEN)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        ticket = (query.get("ticket") or [""])[0]
        if ticket:
            user: User | None = await _redeem_ticket(ticket)
            if user is None:
                return await reject(receive, send, CLOSE_NOT_AUTHENTICATED)
            method = "ticket"
            extra = {}
        else:
            resolved = await _resolve_session_user(scope)
            if resolved is None:
                return await reject(receive, send, CLOSE_NOT_AUTHENTICATED)
            if not origin:
                return await reject(receive, send, CLOSE_FORBIDDEN)
            standing, session_key = resolved
            user = standing.user
            method = "session"
            extra = {"session_key": session_key, "session_expires": standing.session_expires}
        scope = dict(scope, user=user, auth_method=method, **extra)
        # The consumer sends straight to the server: Channels' session wrapper around `send` only
        # acts on HTTP responses, yet it inspected the session on every frame the fan-out sent —
        # about a tenth of the process' time at 30,000 deliveries/s (docs/benchmarks.md).
        return await self.inner(scope, receive, scope.get(SERVER_SEND, send))


SERVER_SEND = "hub.server_send"


def _has_ticket(scope: Scope) -> bool:
    return scope["type"] == "websocket" and "ticket" in parse_qs(scope.get("query_string", b"").decode("latin-1"))


class _ByCredential:
    """Outermost layer (plain ASGI): remembers the server's own `send` in the scope for WsGate, and
    sends a `?ticket=` handshake straight to WsGate, with the handshake's cookies (the language
    cookie of the error frames) parsed as Channels' CookieMiddleware would. Only a handshake without
    a ticket goes through Channels' cookie, session and auth middleware: a ticket handshake used
    none of them, yet paid a hop to Channels' one shared database thread (its `get_user`), and every
    open socket kept their four copies of the scope, their session and anonymous-user objects and
    their four coroutine frames alive for its whole life (docs/benchmarks.md, "Memory per idle
    connection")."""

    def __init__(self, gate: ASGIApp) -> None:
        self.gate = gate
        self.session_stack = cast(ASGIApp, AuthMiddlewareStack(cast(Any, gate)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _has_ticket(scope):
            cookies: dict[str, str] = {}
            for name, value in scope.get("headers") or ():
                if name == b"cookie":
                    cookies = parse_cookie(value.decode("latin1"))
                    break
            return await self.gate(dict(scope, cookies=cookies, **{SERVER_SEND: send}), receive, send)
        return await self.session_stack(dict(scope, **{SERVER_SEND: send}), receive, send)


def ws_auth_stack(inner: ASGIApp) -> ASGIApp:
    return HandshakeLimit(_ByCredential(WsGate(inner)))
