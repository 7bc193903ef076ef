"""Classes 1 and 2 across processes (issue 20): a change made anywhere reaches the person's sockets on
every hub process, through Redis, within a second. Two real servers (daphne and uvicorn) on one
PostgreSQL and one Redis; the change is written by this test process (as a management command or a
script would) or served by one of them, and the sockets live on both."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.live import start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WITHIN = 1.0


@pytest.fixture
def hubs(tmp_path):
    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    env = {"REDIS_URL": settings.REDIS_URL, "HUB_CHANNEL_PREFIX": settings.CHANNEL_LAYER_PREFIX,
           "HUB_WS_REVALIDATE_SECONDS": "3600"}  # what acts within a second must be the event
    servers = [start_hub("daphne", env, tmp_path), start_hub("uvicorn", env, tmp_path)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def cast(make_user):
    from chat.services import create_topic

    people = {
        "na_security": make_user("na.security", centre="NA", role="security_officer"),
        "ht_security": make_user("ht.security", centre="HT", role="security_officer"),
    }
    make_user("qb.engineer", centre="QB")
    create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")
    create_topic(slug="doi-ung-cuu", name_vi="Đội ứng cứu", name_en="Response team",
                 allowed_roles=["security_officer"])
    return people


def ticket(user) -> str:
    from hub.models import WsTicket

    return WsTicket.issue(user)


async def first_frame(socket) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), 5))


async def close_code(socket, timeout: float) -> int:
    try:
        while True:
            await asyncio.wait_for(socket.recv(), timeout)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else -1


async def alerts_until_clear(socket) -> list[str]:
    seen = []
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if frame["type"] == "alert":
            seen.append(frame["alert"]["tlp"])
            if frame["alert"]["tlp"] == "clear":
                return seen


def raise_over_http(hub, author, marker: str) -> None:
    from tests.conftest import token_for

    token = token_for(author)
    for tlp, shared in (("amber", []), ("red", ["NA"]), ("clear", [])):
        body = json.dumps({"title": f"{tlp} {marker}", "severity": "high", "tlp": tlp,
                           "shared_with": shared}).encode()
        request = urllib.request.Request(hub.http + "/api/v1/alerts", data=body, method="POST", headers={
            "Authorization": f"Token {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201


def test_a_bulk_change_here_reaches_the_persons_sockets_on_every_process(hubs, cast):
    from hub.models import Centre, User

    person = cast["na_security"]
    tickets = [(hub, ticket(person), ticket(person)) for hub in hubs]
    centre_qb = Centre.objects.get(code="QB")

    async def scenario() -> tuple[list[int], float, list[list[str]]]:
        streams, topics = [], []
        for hub, for_stream, for_topic in tickets:
            streams.append(await connect(f"{hub.ws}/ws/notifications/?ticket={for_stream}"))
            topics.append(await connect(f"{hub.ws}/ws/topics/doi-ung-cuu/?ticket={for_topic}"))
        for socket in streams:
            assert (await first_frame(socket))["type"] == "hello"
        for socket in topics:
            assert (await first_frame(socket))["type"] == "presence"
        started = time.monotonic()
        await asyncio.to_thread(lambda: User.objects.filter(pk=person.pk).update(role="engineer", centre=centre_qb))
        codes = [await close_code(socket, WITHIN) for socket in topics]
        elapsed = time.monotonic() - started
        await asyncio.sleep(WITHIN)
        await asyncio.to_thread(raise_over_http, hubs[0], cast["ht_security"], "sau")
        seen = [await alerts_until_clear(socket) for socket in streams]
        for socket in streams:
            await socket.close()
        return codes, elapsed, seen

    codes, elapsed, seen = asyncio.run(scenario())
    assert codes == [4403, 4403]  # the role-restricted topic, on both processes
    assert elapsed < WITHIN
    assert seen == [["clear"], ["clear"]]  # no AMBER, no RED shared with NA, on either process


def test_a_promotion_here_joins_the_new_groups_on_every_process(hubs, cast):
    """The other direction: QB's engineer becomes NA's security officer; the streams they already had
    open on both processes join the groups they may see now (they were never subscribed to the
    security officers' group), within a second, without reconnecting."""
    from hub.models import Centre, User

    person = User.objects.get(username="qb.engineer")
    tickets = [(hub, ticket(person)) for hub in hubs]
    centre_na = Centre.objects.get(code="NA")

    async def scenario() -> list[list[str]]:
        streams = [await connect(f"{hub.ws}/ws/notifications/?ticket={for_stream}") for hub, for_stream in tickets]
        for socket in streams:
            assert (await first_frame(socket))["type"] == "hello"
        await asyncio.to_thread(lambda: User.objects.filter(pk=person.pk).update(role="security_officer",
                                                                                centre=centre_na))
        await asyncio.sleep(WITHIN)
        await asyncio.to_thread(raise_over_http, hubs[1], cast["ht_security"], "sau khi đổi")
        seen = [await alerts_until_clear(socket) for socket in streams]
        for socket in streams:
            await socket.close()
        return seen

    assert asyncio.run(scenario()) == [["amber", "red", "clear"], ["amber", "red", "clear"]]


def test_a_logout_served_by_one_process_closes_the_sessions_sockets_on_the_other(hubs, cast):
    browser = Client()
    browser.login(username="na.security", password="pw-na.security")
    browser.get("/accounts/login/")
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    daphne, uvicorn = hubs

    def logout_through(hub) -> int:
        # The logout form needs the CSRF token of a page served to this session.
        request = urllib.request.Request(hub.http + "/accounts/login/", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            csrf = next(v.split(";")[0].split("=", 1)[1] for k, v in response.getheaders()
                        if k.lower() == "set-cookie" and v.startswith("csrftoken="))
        request = urllib.request.Request(
            hub.http + "/accounts/logout/", data=f"csrfmiddlewaretoken={csrf}".encode(), method="POST",
            headers={"Cookie": f"{cookie}; csrftoken={csrf}", "Content-Type": "application/x-www-form-urlencoded"})
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    async def scenario() -> tuple[int, int, float]:
        socket = await connect(f"{uvicorn.ws}/ws/notifications/", origin=Origin(f"http://127.0.0.1:{uvicorn.port}"),
                               additional_headers={"Cookie": cookie})
        assert (await first_frame(socket))["type"] == "hello"
        status = await asyncio.to_thread(logout_through, daphne)
        started = time.monotonic()
        code = await close_code(socket, WITHIN)
        return status, code, time.monotonic() - started

    status, code, elapsed = asyncio.run(scenario())
    assert status == 302
    assert code == 4401 and elapsed < WITHIN


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
