"""The hub as deployed: a real server process (daphne or uvicorn) on PostgreSQL + Redis."""

import json
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.live import free_port, start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SERVERS = ["daphne", "uvicorn"]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


@pytest.fixture
def redis_url(settings):
    from django.conf import settings as django_settings

    require(None if django_settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    return django_settings.REDIS_URL


@pytest.mark.parametrize("server", SERVERS)
def test_served_hub_answers_healthz_login_and_token_api(server, redis_url, make_user, tmp_path):
    from tests.conftest import token_for

    user = make_user("hue.security", centre="HUE", role="security_officer")
    hub = start_hub(server, {"REDIS_URL": redis_url}, tmp_path)
    try:
        assert get(hub.http + "/healthz") == (200, {"status": "ok", "database": "ok", "channel_layer": "ok"})
        status, page = get(hub.http + "/accounts/login/")
        assert status == 200 and 'name="username"' in page
        status, me = get(hub.http + "/api/v1/me", {"Authorization": f"Token {token_for(user)}"})
        assert status == 200 and me["centre"]["code"] == "HUE"
    finally:
        assert hub.stop() is not None


def start_private_redis(port: int) -> subprocess.Popen:
    binary = shutil.which("redis-server")
    require(None if binary else "redis-server binary not installed")
    assert binary is not None
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return process


def wait_for_status(url: str, wanted: int, timeout: float = 20) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    status, body = get(url)
    while status != wanted and time.monotonic() < deadline:
        time.sleep(0.3)
        status, body = get(url)
    return status, body


def test_healthz_reports_redis_down_and_recovers_without_restart(redis_url, tmp_path):
    port = free_port()
    redis_proc = start_private_redis(port)
    hub = start_hub("daphne", {"REDIS_URL": f"redis://127.0.0.1:{port}/0"}, tmp_path)
    try:
        assert get(hub.http + "/healthz")[0] == 200
        redis_proc.send_signal(signal.SIGKILL)
        redis_proc.wait(5)
        status, body = wait_for_status(hub.http + "/healthz", 503)
        assert status == 503
        assert body["database"] == "ok" and body["channel_layer"].startswith("error")
        redis_proc = start_private_redis(port)
        status, body = wait_for_status(hub.http + "/healthz", 200)
        assert (status, body["status"]) == (200, "ok")
    finally:
        hub.stop()
        redis_proc.kill()


@pytest.mark.parametrize("server", SERVERS)
def test_sockets_are_not_compressed_even_when_the_client_offers_it(server, redis_url, make_user, tmp_path):
    """Every browser offers permessage-deflate. Accepted (uvicorn's default), each socket kept a zlib
    compressor and decompressor for its whole life (~45 KiB of an idle hub socket) and the fan-out
    compressed every frame again for each socket; so neither server accepts it unless the deployment
    says so (hub/server/serve.py `per_message_deflate`, docs/deployment.md)."""
    import asyncio

    from websockets.asyncio.client import connect

    from tests.conftest import token_for
    from tests.factories import TopicFactory

    slug = "giam-sat-nen"
    TopicFactory.create(slug=slug)
    token = token_for(make_user("dn.deflate", centre="DN"))
    hub = start_hub(server, {"REDIS_URL": redis_url}, tmp_path)
    try:
        request = urllib.request.Request(hub.http + "/api/v1/ws-tickets", data=b"{}", method="POST",
                                         headers={"Authorization": f"Token {token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            ticket = json.loads(response.read())["ticket"]

        async def handshake() -> tuple[str | None, str]:
            async with connect(f"{hub.ws}/ws/topics/{slug}/?ticket={ticket}", compression="deflate") as socket:
                assert socket.response is not None
                first = json.loads(await asyncio.wait_for(socket.recv(), 10))
                return socket.response.headers.get("Sec-WebSocket-Extensions"), first["type"]

        assert asyncio.run(handshake()) == (None, "presence")
    finally:
        assert hub.stop() is not None
