"""Two real daphne processes sharing Redis: a ticket created over HTTP on one reaches the other centre's
socket on the other process, and a change made there comes back — while a third centre hears nothing."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import websockets

from tests.conftest import token_for
from tests.live import start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def call(base: str, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def open_stream(hub, token: str):
    status, body = await asyncio.to_thread(call, hub.http, "POST", "/api/v1/ws-tickets", token)
    assert status == 201
    socket = await websockets.connect(f"{hub.ws}/ws/notifications/?ticket={body['ticket']}")
    assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "hello"
    return socket


async def next_ticket_frame(socket) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if frame["type"] == "ticket":
            return frame


async def nothing_arrives(socket, seconds: float = 1.0) -> bool:
    try:
        frame = json.loads(await asyncio.wait_for(socket.recv(), seconds))
    except TimeoutError:
        return True
    return frame["type"] != "ticket"


async def test_ticket_frames_cross_daphne_processes(people, tmp_path, settings):
    from django.conf import settings as live

    require(None if live.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    env = {"REDIS_URL": live.REDIS_URL, "HUB_CHANNEL_PREFIX": live.CHANNEL_LAYER_PREFIX + "e2e",
           "HUB_MEDIA_ROOT": str(tmp_path / "media")}
    tokens = await asyncio.to_thread(
        lambda: {u.username: token_for(u) for u in (people.ht_engineer, people.dn_engineer, people.qb_engineer)})
    hub_a = await asyncio.to_thread(start_hub, "daphne", env, tmp_path)
    hub_b = await asyncio.to_thread(start_hub, "daphne", env, tmp_path)
    sockets = []
    try:
        ht = await open_stream(hub_a, tokens["ht.engineer"])
        dn = await open_stream(hub_b, tokens["dn.engineer"])
        qb = await open_stream(hub_b, tokens["qb.engineer"])
        sockets = [ht, dn, qb]
        status, created = await asyncio.to_thread(
            call, hub_a.http, "POST", "/api/v1/tickets", tokens["ht.engineer"],
            {"title": "Hỗ trợ phân tích nhật ký tường lửa", "description": "Gấp", "category": "security",
             "priority": "urgent", "target_centre": "DN"})
        assert status == 201
        for socket in (ht, dn):
            frame = await next_ticket_frame(socket)
            assert (frame["ticket"]["reference"], frame["event"]["kind"]) == (created["reference"], "created")
        status, moved = await asyncio.to_thread(
            call, hub_b.http, "POST", f"/api/v1/tickets/{created['id']}/transition", tokens["dn.engineer"],
            {"to": "accepted"})
        assert status == 200
        for socket in (ht, dn):
            frame = await next_ticket_frame(socket)
            assert frame["ticket"]["status"] == "accepted" and frame["ticket"]["version"] == moved["version"]
        assert await nothing_arrives(qb)
    finally:
        for socket in sockets:
            await socket.close()
        hub_a.stop()
        hub_b.stop()
