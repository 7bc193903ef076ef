"""The page's socket needs no ticket: the browser's `LiveSocket` (frontend/static/frontend/js/socket.js)
opens the hub's own origin with the session cookie, and the gate accepts the session with that
`Origin` (issue 27, target 1: a reconnect storm of browsers costs no ticket requests). Tickets are for
scripts, which cannot send the cookie (docs/benchmarks.md, "The browser")."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from hub.asgi import application

JS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend" / "js"

URL_OF = """
globalThis.window = {addEventListener() {}, location: {protocol: "http:", host: "127.0.0.1:8000"}};
globalThis.navigator = {onLine: true};
const {LiveSocket} = await import(process.argv[1]);
console.log(new LiveSocket("/ws/notifications/").url());
"""


def page_socket_url() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is needed for this test")
        pytest.skip("node is not installed")
    done = subprocess.run([node, "--input-type=module", "-e", URL_OF, (JS / "socket.js").as_uri()],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_no_page_script_asks_for_a_ticket():
    for script in JS.rglob("*.js"):
        text = script.read_text()
        assert "ws-tickets" not in text and "ticket=" not in text, script


@pytest.mark.django_db(transaction=True)
async def test_the_page_socket_opens_with_the_session_cookie_alone(make_user):
    url = urlsplit(page_socket_url())
    assert (url.scheme, url.netloc) == ("ws", "127.0.0.1:8000") and "ticket" not in url.query
    user = await database_sync_to_async(make_user)("dn.engineer", centre="DN")

    @database_sync_to_async
    def session_cookie() -> str:
        client = Client()
        client.force_login(user)
        return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    socket = WebsocketCommunicator(application, f"{url.path}?{url.query}", headers=[
        (b"origin", b"http://127.0.0.1:8000"), (b"cookie", (await session_cookie()).encode())])
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
    await socket.disconnect()
