"""WebSocket handshakes: session or single-use ticket, Origin rules, close codes 4401/4403/4404."""

from typing import Any, cast

import pytest
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import re_path

from hub.lib.asgi import ASGIApp
from hub.models import WsTicket
from hub.realtime.ws_auth import ws_auth_stack

pytestmark = pytest.mark.django_db(transaction=True)


class WhoAmI(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        scope = cast(dict[str, Any], self.scope)  # the gate's keys are the hub's, not Channels'
        await self.send(text_data=f"{scope['user'].username}:{scope['auth_method']}")


app = ws_auth_stack(cast(ASGIApp, URLRouter([re_path(r"^ws/whoami/$", cast(Any, WhoAmI.as_asgi()))])))


async def handshake(query: str = "", origin: str | None = None, cookie: str | None = None):
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(cast(Any, app), "/ws/whoami/" + query, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    message = await communicator.receive_output(timeout=3)
    if message["type"] == "websocket.close":
        return ("closed", message.get("code"))
    await communicator.disconnect()
    return ("open", message["text"])


@database_sync_to_async
def session_cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@database_sync_to_async
def ticket_for(user) -> str:
    return WsTicket.issue(user)


async def test_ticket_without_origin_is_accepted_like_a_script(make_user):
    user = await database_sync_to_async(make_user)("ht.engineer")
    assert await handshake(f"?ticket={await ticket_for(user)}") == ("open", "ht.engineer:ticket")


async def test_reused_ticket_is_refused_with_4401(make_user):
    user = await database_sync_to_async(make_user)("ht.engineer")
    ticket = await ticket_for(user)
    assert (await handshake(f"?ticket={ticket}"))[0] == "open"
    assert await handshake(f"?ticket={ticket}") == ("closed", 4401)


async def test_expired_or_unknown_ticket_is_refused_with_4401(make_user):
    from datetime import timedelta

    import time_machine
    from django.conf import settings
    from django.utils import timezone

    user = await database_sync_to_async(make_user)("ht.engineer")
    ticket = await ticket_for(user)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.WS_TICKET_TTL_SECONDS + 1), tick=True):
        assert await handshake(f"?ticket={ticket}") == ("closed", 4401)
    assert await handshake("?ticket=guessed") == ("closed", 4401)


async def test_ticket_authenticates_its_own_user_whoever_holds_the_session(make_user):
    """A ticket belongs to the user it was issued for; a session cookie of someone else beside it
    does not change who is connected."""
    alice = await database_sync_to_async(make_user)("alice", centre="HT")
    bob = await database_sync_to_async(make_user)("bob", centre="DN")
    result = await handshake(f"?ticket={await ticket_for(alice)}", origin="http://127.0.0.1:8000",
                             cookie=await session_cookie_for(bob))
    assert result == ("open", "alice:ticket")


async def test_session_with_allowed_origin_is_accepted(make_user):
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    result = await handshake(origin="http://127.0.0.1:8000", cookie=await session_cookie_for(user))
    assert result == ("open", "dn.engineer:session")


async def test_session_without_origin_is_refused_with_4403(make_user):
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    assert await handshake(cookie=await session_cookie_for(user)) == ("closed", 4403)


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1.evil.example", "null", "file://"])
async def test_foreign_origin_is_refused_with_4403_even_with_valid_credentials(make_user, origin):
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    assert await handshake(origin=origin, cookie=await session_cookie_for(user)) == ("closed", 4403)
    assert await handshake(f"?ticket={await ticket_for(user)}", origin=origin) == ("closed", 4403)


async def test_anonymous_is_refused_with_4401():
    assert await handshake(origin="http://localhost:8000") == ("closed", 4401)


async def test_deactivated_session_user_is_refused(make_user):
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    cookie = await session_cookie_for(user)
    user.is_active = False
    await database_sync_to_async(user.save)()
    assert await handshake(origin="http://localhost:8000", cookie=cookie) == ("closed", 4401)


async def test_unknown_websocket_path_closes_with_4404(make_user):
    from hub.asgi import application

    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    communicator = WebsocketCommunicator(application, f"/ws/nothing-here/?ticket={await ticket_for(user)}")
    connected, _ = await communicator.connect()
    assert connected
    message = await communicator.receive_output(timeout=3)
    assert message == {"type": "websocket.close", "code": 4404}


class Scope(AsyncWebsocketConsumer):
    """Says what the gate left in its scope."""

    async def connect(self) -> None:
        await self.accept()
        scope = cast(dict[str, Any], self.scope)
        await self.send(text_data=f"{scope['auth_method']}|{'session' in scope}|"
                                  f"{scope['cookies'].get(settings.LANGUAGE_COOKIE_NAME)}")


scope_app = ws_auth_stack(cast(ASGIApp, URLRouter([re_path(r"^ws/scope/$", cast(Any, Scope.as_asgi()))])))


async def test_a_ticket_handshake_skips_the_session_middleware_but_keeps_its_cookies(make_user):
    """A `?ticket=` handshake does not resolve a session it would not use (no hop to Channels' database
    thread, no session objects kept for the socket's life); its cookies are still read (the language
    cookie of the error frames). Without a ticket the session stack runs as before."""
    user = await database_sync_to_async(make_user)("ht.engineer")
    language = f"{settings.LANGUAGE_COOKIE_NAME}=en"
    communicator = WebsocketCommunicator(cast(Any, scope_app), f"/ws/scope/?ticket={await ticket_for(user)}",
                                         headers=[(b"cookie", language.encode())])
    assert (await communicator.connect())[0]
    assert (await communicator.receive_output(timeout=3))["text"] == "ticket|False|en"
    await communicator.disconnect()
    cookie = f"{await session_cookie_for(user)}; {language}"
    communicator = WebsocketCommunicator(cast(Any, scope_app), "/ws/scope/",
                                         headers=[(b"cookie", cookie.encode()), (b"origin", b"http://127.0.0.1:8000")])
    assert (await communicator.connect())[0]
    assert (await communicator.receive_output(timeout=3))["text"] == "session|True|en"
    await communicator.disconnect()
