"""WebSocket handshake gate: who is connecting, and from which page.

Rules (../shared/CONTRACT.md): a foreign `Origin` is always refused (4403, Cross-Site WebSocket
Hijacking); a handshake authenticated by the session cookie must carry an allowed `Origin`; one
authenticated by a `?ticket=` may omit it, since a foreign page cannot obtain a ticket. A ticket a
browser session fetched needs that session's cookie too, and its socket keeps the session (it ends
with it, as a cookie socket). Anything unauthenticated closes with 4401. The socket is accepted and
then closed so that browsers and scripts see the close code rather than a bare HTTP 403.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from django.conf import settings
from django.http.cookie import parse_cookie
from django.utils.crypto import constant_time_compare

from hub.lib.asgi import ASGIApp, Receive, Scope, Send
from hub.lib.origins import Origin, parse_origin
from hub.realtime.workers import in_worker_thread
from hub.server.admission import HANDSHAKE_DONE, HandshakeLimit

if TYPE_CHECKING:
    from hub.models import User
    from hub.realtime.identity import Standing

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


SERVER_SEND = "hub.server_send"


class WsGate:
    """The WebSocket stack's outermost layer (plain ASGI): admits the handshake
    (hub.server.admission.HandshakeLimit), checks the `Origin`, authenticates by `?ticket=` or by the
    session, and hands the consumer a scope with `user`, `auth_method` (and a session's key and
    expiry), the server's own `send` (SERVER_SEND) and the admission's release (HANDSHAKE_DONE).

    A `?ticket=` handshake runs none of Channels' cookie, session and auth middleware: it used none
    of them, yet paid a hop to Channels' one shared database thread (its `get_user`), and every open
    socket kept their copies of the scope, their session and anonymous-user objects and their
    coroutine frames alive for its whole life. Its cookies (the language cookie of the error frames)
    are parsed as Channels' CookieMiddleware would. Only a handshake without a ticket goes through
    Channels' stack (then `_SessionGate`).

    Everything an open socket keeps of its handshake is what this coroutine's frame holds while the
    consumer runs: ONE copy of the server's scope (the admission, the credential check and the gate
    were three layers, each keeping its own copy, and the gate its parsed headers and query) —
    docs/benchmarks.md, "Memory per idle connection"."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner
        self.limit = HandshakeLimit()
        self.session_stack = cast(ASGIApp, AuthMiddlewareStack(cast(Any, _SessionGate(inner))))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        done = await self.limit.admit()
        try:
            ours = dict(scope, **{SERVER_SEND: send, HANDSHAKE_DONE: done})
            refusal = _refused_origin(ours)
            if refusal is None and _has_ticket(ours):
                refusal = await _by_ticket(ours)
            elif refusal is None:
                return await self.session_stack(ours, receive, send)
            if refusal is not None:
                return await reject(receive, send, refusal)
            # The consumer sends straight to the server: Channels' session wrapper around `send` only
            # acts on HTTP responses, yet it inspected the session on every frame the fan-out sent —
            # about a tenth of the process' time at 30,000 deliveries/s (docs/benchmarks.md).
            return await self.inner(ours, receive, send)
        finally:
            done()  # refused before a consumer ran, or the consumer failed (else it said so already)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return dict(scope.get("headers") or [])


def _refused_origin(scope: Scope) -> int | None:
    """4403 for a foreign `Origin` (Cross-Site WebSocket Hijacking), whatever the credentials."""
    origin = _headers(scope).get(b"origin", b"").decode("latin-1")
    return CLOSE_FORBIDDEN if origin and not origin_allowed(origin) else None


def _has_ticket(scope: Scope) -> bool:
    return "ticket" in parse_qs(scope.get("query_string", b"").decode("latin-1"))


async def _by_ticket(scope: dict[str, Any]) -> int | None:
    """Redeem the handshake's ticket into `scope` (user, auth_method, cookies; for a session's ticket
    the session's key and expiry, as `_SessionGate` gives them); the close code when it does not hold."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    ticket = (query.get("ticket") or [""])[0]
    user = await _redeem_ticket(ticket) if ticket else None
    if user is None:
        return CLOSE_NOT_AUTHENTICATED
    cookie = _headers(scope).get(b"cookie")
    cookies = parse_cookie(cookie.decode("latin1")) if cookie else {}
    scope.update(user=user, auth_method="ticket", cookies=cookies)
    if user.ws_session_tag is not None:
        standing = await _ticket_session(user, cookies.get(settings.SESSION_COOKIE_NAME, ""), user.ws_session_tag)
        if standing is None:
            return CLOSE_NOT_AUTHENTICATED
        scope.update(user=standing.user, session_key=cookies[settings.SESSION_COOKIE_NAME],
                     session_expires=standing.session_expires)
    return None


@in_worker_thread
def _ticket_session(user: User, session_key: str, tag: str) -> Standing | None:
    """A ticket a browser session fetched is bound to that session (the digest of its key, `tag`): it
    opens a socket only when the handshake carries that session's cookie — a same-origin page sends
    it with the handshake — and the session still signs the person in. The socket then keeps the
    session's key, as a cookie socket: logout, "sign out everywhere", a new password or the session's
    expiry end it (4401, hub/realtime/consumers.py), which a socket knowing no session outlived
    (review of 7 December, finding 5). None when the session is not there, not that one, or over."""
    from hub.realtime.identity import session_standing
    from hub.services import session_digest

    if not session_key or not constant_time_compare(session_digest(session_key), tag):
        return None
    return session_standing(user, session_key)


class _SessionGate:
    """After Channels' cookie, session and auth middleware: a handshake without a ticket is the
    session's person's, from an allowed `Origin` only (a foreign page cannot read a ticket, but it
    can make the browser send the cookie)."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        resolved = await _resolve_session_user(scope)
        if resolved is None:
            return await reject(receive, send, CLOSE_NOT_AUTHENTICATED)
        if not _headers(scope).get(b"origin"):
            return await reject(receive, send, CLOSE_FORBIDDEN)
        standing, session_key = resolved
        scope = dict(scope, user=standing.user, auth_method="session", session_key=session_key,
                     session_expires=standing.session_expires)
        return await self.inner(scope, receive, scope.get(SERVER_SEND, send))


def ws_auth_stack(inner: ASGIApp) -> ASGIApp:
    return WsGate(inner)
