"""A socket authenticated by a session lives no longer than that session (issue 20, class 2). The
review: after `POST /accounts/logout/` a cookie-authenticated topic socket stayed open and could
still post. Logout, a password change (Django ends the *other* sessions), the session's expiry and
an admin ending it each close the session's sockets — topic and notifications alike — with 4401
within a second; sockets of the person's other sessions (or their API token) are not touched."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from hub.asgi import application
from hub.models import User

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://127.0.0.1:8000"
WITHIN = 1.0


@pytest.fixture(autouse=True)
def _events_only(settings):
    settings.HUB_WS_REVALIDATE_SECONDS = 3600


@pytest.fixture
def person(make_user):
    from chat.services import create_topic

    user = make_user("dn.engineer", centre="DN")
    create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    Client().get("/accounts/login/")  # the URLconf imported now, not inside the timed request
    return user


def browser_for(user: User) -> Client:
    client = Client()
    client.login(username=user.username, password="pw-" + user.username)
    return client


async def open_with(client: Client, path: str) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    socket = WebsocketCommunicator(application, path, headers=[(b"origin", ORIGIN.encode()),
                                                                 (b"cookie", cookie.encode())])
    assert (await socket.connect())[0]
    first = await socket.receive_json_from(timeout=5)
    assert first["type"] in {"presence", "hello"}, first
    return socket


async def sockets_of(client: Client) -> list[WebsocketCommunicator]:
    return [await open_with(client, "/ws/topics/an-toan-thong-tin/"), await open_with(client, "/ws/notifications/")]


async def closed_with(socket: WebsocketCommunicator, timeout: float = 5) -> int | None:
    output = await socket.receive_output(timeout=timeout)
    while output["type"] == "websocket.send":  # presence frames
        output = await socket.receive_output(timeout=timeout)
    assert output["type"] == "websocket.close", output
    return output.get("code")


async def assert_all_closed_4401_within(sockets, started: float, bound: float = WITHIN) -> None:
    for socket in sockets:
        assert await closed_with(socket) == 4401
    assert time.monotonic() - started < bound


async def still_posting(socket: WebsocketCommunicator, body: str) -> None:
    await socket.send_json_to({"type": "message.send", "body": body, "client_id": body})
    while (frame := await socket.receive_json_from(timeout=5))["type"] != "message":
        assert frame["type"] in {"presence", "typing"}, frame
    assert frame["message"]["body"] == body


async def test_logout_closes_the_sessions_sockets_and_nothing_else(person):
    this, other = await sync_to_async(browser_for)(person), await sync_to_async(browser_for)(person)
    mine, theirs = await sockets_of(this), await sockets_of(other)
    started = time.monotonic()
    response = await sync_to_async(this.post)("/accounts/logout/")
    assert response.status_code == 302
    await assert_all_closed_4401_within(mine, started)
    await still_posting(theirs[0], "phiên khác vẫn mở")
    for socket in theirs:
        await socket.disconnect()


async def test_after_logout_the_socket_can_no_longer_post(person):
    from chat.models import Message

    this = await sync_to_async(browser_for)(person)
    topic, stream = await sockets_of(this)
    await sync_to_async(this.post)("/accounts/logout/")
    assert await closed_with(topic, timeout=WITHIN) == 4401
    await topic.send_json_to({"type": "message.send", "body": "sau khi đăng xuất"})
    await asyncio.sleep(0.3)
    assert await sync_to_async(Message.objects.count)() == 0
    assert await closed_with(stream) == 4401


async def test_a_password_change_ends_the_other_sessions_and_their_sockets(person):
    changer, elsewhere = await sync_to_async(browser_for)(person), await sync_to_async(browser_for)(person)
    theirs = await sockets_of(elsewhere)
    started = time.monotonic()
    response = await sync_to_async(changer.post)("/accounts/password/", {
        "old_password": "pw-dn.engineer", "new_password1": "mật-khẩu-mới-2026", "new_password2": "mật-khẩu-mới-2026"})
    assert response.status_code == 302, response.content[:500]
    await assert_all_closed_4401_within(theirs, started)
    # Django keeps the changing session (under a new key, in the cookie it sent back) …
    mine = await sockets_of(changer)
    await still_posting(mine[0], "phiên đổi mật khẩu vẫn mở")
    for socket in mine:
        await socket.disconnect()
    # … and the other session signs in nothing any more.
    assert await refused(elsewhere) == 4401


async def refused(client: Client) -> int | None:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    socket = WebsocketCommunicator(application, "/ws/notifications/", headers=[(b"origin", ORIGIN.encode()),
                                                                               (b"cookie", cookie.encode())])
    assert (await socket.connect())[0]
    return await closed_with(socket)


async def test_a_password_set_by_an_admin_ends_every_session(person):
    this = await sync_to_async(browser_for)(person)
    sockets = await sockets_of(this)

    def reset() -> None:
        user = User.objects.get(pk=person.pk)
        user.set_password("đặt-lại-bởi-quản-trị")
        user.save()

    started = time.monotonic()
    await sync_to_async(reset)()
    await assert_all_closed_4401_within(sockets, started)


async def test_the_session_expiring_closes_its_sockets(person):
    this = await sync_to_async(browser_for)(person)

    def expire_soon() -> None:
        session = this.session
        session.set_expiry(2)
        session.save()

    await sync_to_async(expire_soon)()
    sockets = await sockets_of(this)
    started = time.monotonic()
    for socket in sockets:
        assert await closed_with(socket, timeout=5) == 4401
    assert 1.0 < time.monotonic() - started < 2 + WITHIN


async def test_an_admin_ending_the_sessions_closes_their_sockets(person, make_user):
    admin = await sync_to_async(make_user)("root", centre=None, role="hub_admin", is_superuser=True, is_staff=True)
    sockets = await sockets_of(await sync_to_async(browser_for)(person))

    def end_in_the_admin() -> int:
        client = Client()
        client.force_login(admin)
        return client.post("/admin/hub/user/", {"action": "end_sessions", "_selected_action": [person.pk]}).status_code

    started = time.monotonic()
    assert await sync_to_async(end_in_the_admin)() == 302
    await assert_all_closed_4401_within(sockets, started)


def delete_in_sql(client: Client) -> None:
    """Delete `client`'s session row the way nothing announces (no signal, no event)."""
    from django.contrib.sessions.models import Session
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Session._meta.db_table} WHERE session_key = %s",
                       [client.cookies[settings.SESSION_COOKIE_NAME].value])


async def test_a_session_deleted_without_any_event_is_caught_by_the_periodic_recheck(person, settings):
    settings.HUB_WS_REVALIDATE_SECONDS = 1
    this = await sync_to_async(browser_for)(person)
    sockets = await sockets_of(this)
    await sync_to_async(delete_in_sql)(this)
    for socket in sockets:
        assert await closed_with(socket, timeout=5) == 4401


async def test_an_api_token_socket_is_not_a_session_socket(person):
    """Tokens are unaffected by sign-out: a ticket socket of the same person stays open."""
    from tests.chat.conftest import open_topic

    this = await sync_to_async(browser_for)(person)
    by_ticket = await open_topic(person, "an-toan-thong-tin")
    await sync_to_async(this.post)("/accounts/logout/")
    await asyncio.sleep(WITHIN)
    await still_posting(by_ticket, "kịch bản vẫn chạy")
    await by_ticket.disconnect()
