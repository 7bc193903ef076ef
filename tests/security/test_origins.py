"""The WebSocket Origin check compares the whole origin — scheme, host and port — with the hub's own
public origins (`HUB_PUBLIC_ORIGINS`), and the CSP lets pages connect to those only (issue 20, class 8).
The review's `http://127.0.0.1:9999` and `https://localhost:1234` were accepted for a cookie socket."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.hub.test_ws_auth import handshake, session_cookie_for, ticket_for

pytestmark = pytest.mark.django_db(transaction=True)

# `make run`'s defaults: ALLOWED_HOSTS in DEBUG, PORT 8000, plain HTTP.
OWN = ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000", "HTTP://LOCALHOST:8000"]
FOREIGN = [
    "http://127.0.0.1:9999", "https://localhost:1234", "https://127.0.0.1:8000", "http://localhost",
    "http://localhost:80", "ws://localhost:8000", "http://127.0.0.1:8000.evil.example", "http://evil.example:8000",
    "null", "http://localhost:8000@evil.example", "http://[::1]:8001", "http://localhost:99999",
]


@pytest.mark.parametrize("origin", OWN)
async def test_the_hubs_own_origins_open_a_cookie_socket(make_user, origin):
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    assert await handshake(origin=origin, cookie=await session_cookie_for(user)) == ("open", "dn.engineer:session")


@pytest.mark.parametrize("origin", FOREIGN)
async def test_any_other_scheme_host_or_port_is_refused_with_4403(make_user, origin):
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    assert await handshake(origin=origin, cookie=await session_cookie_for(user)) == ("closed", 4403)
    # A ticket does not make a foreign page's socket acceptable either.
    assert await handshake(f"?ticket={await ticket_for(user)}", origin=origin) == ("closed", 4403)


async def test_a_configured_public_origin_replaces_the_defaults(make_user, settings):
    settings.HUB_PUBLIC_ORIGINS = ["https://hub.ttcntt.vn"]
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")
    cookie = await session_cookie_for(user)
    for origin in ("https://hub.ttcntt.vn", "https://hub.ttcntt.vn:443", "https://HUB.ttcntt.vn"):
        assert (await handshake(origin=origin, cookie=cookie))[0] == "open", origin
    for origin in ("http://hub.ttcntt.vn", "https://hub.ttcntt.vn:8443", "http://127.0.0.1:8000"):
        assert await handshake(origin=origin, cookie=cookie) == ("closed", 4403), origin


def test_derived_defaults_and_their_websocket_twins():
    from hub.lib.origins import derive_public_origins, websocket_origins

    derived = derive_public_origins(["127.0.0.1", "localhost", "[::1]", ".example.vn", "*"], https=False, port=8000)
    assert derived == ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"]
    assert derive_public_origins(["hub.ttcntt.vn"], https=True, port=None) == ["https://hub.ttcntt.vn"]
    assert websocket_origins(["https://hub.ttcntt.vn", "http://localhost:8000"]) == [
        "wss://hub.ttcntt.vn", "ws://localhost:8000"]
    # CSP cannot name an IPv6 literal (chromium rejects the source on every page); 'self' covers it.
    assert websocket_origins(["http://[::1]:8000"]) == []


def test_the_csp_lets_pages_connect_to_the_hub_only():
    csp = Client().get("/accounts/login/").headers["Content-Security-Policy"]
    connect = next(d for d in csp.split(";") if d.strip().startswith("connect-src")).split()[1:]
    assert connect == ["'self'", "ws://127.0.0.1:8000", "ws://localhost:8000"]
    assert "ws:" not in connect and "wss:" not in connect  # not "any socket server anywhere"


@pytest.mark.services
def test_a_served_hub_checks_the_whole_origin(make_user, tmp_path):
    """Through a real server: its own address (derived from HOST/PORT, as under `make run`) opens, the
    same host on another port does not."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Origin

    from tests.live import start_hub

    user = make_user("dn.engineer", centre="DN")
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    hub = start_hub("uvicorn", tmp_dir=tmp_path)

    async def attempt(origin: str) -> str | int:
        async with connect(hub.ws + "/ws/notifications/", origin=Origin(origin),
                           additional_headers={"Cookie": cookie}) as socket:
            try:
                return json.loads(await asyncio.wait_for(socket.recv(), 5))["type"]
            except ConnectionClosed as closed:
                assert closed.rcvd is not None  # the server closed it, with a code
                return closed.rcvd.code

    try:
        assert asyncio.run(attempt(f"http://127.0.0.1:{hub.port}")) == "hello"
        assert asyncio.run(attempt(f"http://localhost:{hub.port}")) == "hello"
        assert asyncio.run(attempt(f"http://127.0.0.1:{hub.port + 1}")) == 4403
        assert asyncio.run(attempt(f"https://127.0.0.1:{hub.port}")) == 4403
    finally:
        hub.stop()
