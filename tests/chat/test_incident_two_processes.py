"""Incident coordination on the hub scaled out (issue 24, "Done means": "on PostgreSQL and Redis with
two processes"): two real server processes (daphne and uvicorn) on one PostgreSQL and one Redis.

A message marked for named centres, posted through process A, reaches only those centres' sockets on
process B; promoting a message through A links it live on every socket of the topic on B, and a second
promotion to the same kind answers 409 with the existing link; an entry added to the alert's record
through B reaches the alert's audience on A, and its TLP keeps it from the others."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.chat.test_e2e import GENEROUS, http, open_topic
from tests.conftest import token_for
from tests.live import start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SLUG = "an-toan-thong-tin"


@pytest.fixture
def hubs(tmp_path):
    from django.conf import settings

    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    env = {"REDIS_URL": settings.REDIS_URL, **GENEROUS}
    servers = [start_hub("daphne", env, tmp_path), start_hub("uvicorn", env, tmp_path)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture
def tokens(make_user, make_topic):
    make_topic(SLUG, default_tlp="amber")
    people = {"dn": make_user("dn.security", centre="DN", role="security_officer"),
              "ht": make_user("ht.security", centre="HT", role="security_officer"),
              "qb": make_user("qb.security", centre="QB", role="security_officer")}
    return {name: token_for(user) for name, user in people.items()}


async def notifications(hub, token: str):
    status, body = await asyncio.to_thread(http, "POST", hub.http + "/api/v1/ws-tickets", token)
    assert status == 201
    socket = await connect(f"{hub.ws}/ws/notifications/?ticket={body['ticket']}")
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "hello"
    return socket


async def next_frame(socket, kind: str, timeout: float = 10) -> dict:
    """The next frame of `kind` (this is the security topic: alerts' summaries and presence come too)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] == kind:
            return frame


async def alert_frame(socket, alert_id: int, timeout: float = 10) -> dict:
    """The next frame about `alert_id` on a notifications stream (other kinds skipped)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if (frame.get("alert") or {}).get("id") == alert_id or frame.get("alert_id") == alert_id:
            return frame


async def test_markings_promotion_and_the_record_cross_processes(hubs, tokens):
    hub_a, hub_b = hubs
    ht, _ = await open_topic(hub_b, tokens["ht"], SLUG)
    qb, _ = await open_topic(hub_b, tokens["qb"], SLUG)
    try:
        # A message for HT only, posted on A: HT's socket on B gets it, QB's does not.
        status, secret = await asyncio.to_thread(http, "POST", f"{hub_a.http}/api/v1/topics/{SLUG}/messages",
                                                 tokens["dn"], {"body": "Chỉ HT: máy chủ thư nhiễm mã độc",
                                                                "tlp": "red", "shared_with": ["HT"]})
        assert status == 201 and secret["tlp"] == "red"
        assert (await next_frame(ht, "message"))["message"]["id"] == secret["id"]
        status, scan = await asyncio.to_thread(http, "POST", f"{hub_a.http}/api/v1/topics/{SLUG}/messages",
                                               tokens["dn"], {"body": "Đà Nẵng thấy quét cổng từ 203.0.113.7"})
        assert status == 201
        assert (await next_frame(qb, "message"))["message"]["id"] == scan["id"]  # the first QB receives
        assert (await next_frame(ht, "message"))["message"]["id"] == scan["id"]

        # Promoted on A: the link reaches both sockets on B, live.
        url = f"{hub_a.http}/api/v1/topics/{SLUG}/messages/{scan['id']}/promote"
        status, promoted = await asyncio.to_thread(http, "POST", url, tokens["ht"], {"to": "alert", "severity": "high"})
        assert status == 201, promoted
        alert = promoted["alert"]
        assert [i["value"] for i in alert["indicators"]] == ["203.0.113.7"]
        for socket in (ht, qb):
            frame = await next_frame(socket, "message.updated")
            assert (frame["message"]["id"], frame["message"]["promoted_to"]) == (
                scan["id"], [{"kind": "alert", "id": alert["id"]}])
        status, again = await asyncio.to_thread(http, "POST", url.replace(hub_a.http, hub_b.http), tokens["dn"],
                                                {"to": "alert"})
        assert status == 409 and again["error"]["promoted_to"] == {"kind": "alert", "id": alert["id"]}
    finally:
        await ht.close()
        await qb.close()

    # The record: an entry added through B reaches the alert's audience on A; a RED alert's does not
    # reach a centre it was not shared with.
    red_alert = {"title": "Chỉ DN", "severity": "medium", "tlp": "red", "shared_with": ["DN"]}
    status, red = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/alerts", tokens["ht"], red_alert)
    assert status == 201
    dn_stream, qb_stream = await notifications(hub_a, tokens["dn"]), await notifications(hub_a, tokens["qb"])
    try:
        for alert_id, text in ((red["id"], "Ghi chú đỏ"), (alert["id"], "Ghi chú chung")):
            status, _ = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/alerts/{alert_id}/entries",
                                                tokens["ht"], {"text": text})
            assert status == 201, _
        assert (await alert_frame(dn_stream, red["id"]))["alert"]["id"] == red["id"]
        assert (await alert_frame(dn_stream, alert["id"]))["alert"]["id"] == alert["id"]
        # QB reads the promoted (topic-wide) alert but never the RED one: its first frame is the other.
        assert (await alert_frame(qb_stream, alert["id"]))["alert"]["id"] == alert["id"]
    finally:
        await dn_stream.close()
        await qb_stream.close()
