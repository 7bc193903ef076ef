"""Past one Redis (issue 27, target 8; docs/deployment.md): the channel layer over two Redis servers.

Two Redis servers started by the test on free ports, two uvicorn hub processes listing both in
HUB_CHANNEL_REDIS_URLS (channels-redis gives each group to one server by consistent hashing, the same
in every process). Topics whose groups live on different servers carry messages and presence across
the processes, and alerts reach another process's notification sockets through both servers; then
one Redis is killed and restarted while messages are posted over HTTP, and a
client that reconnects and syncs gets every stored message once, in order.
"""

from __future__ import annotations

import asyncio
import json
import signal

import pytest
import redis
import websockets
from asgiref.sync import sync_to_async

from hub.models import WsTicket
from tests.alerts.conftest import alert_payload
from tests.chat.test_e2e import GENEROUS, http, next_frame, open_topic
from tests.conftest import token_for
from tests.hub.test_live_server import start_private_redis
from tests.live import free_port, start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Distinct names, as real topics have: channels-redis places a group by the low 12 bits of the CRC-32
# of its name cut into contiguous ranges, and names differing only in a last digit ("chu-de-1",
# "chu-de-2"…) mostly land on the same server (docs/deployment.md, "Past one Redis").
GENEROUS_WAIT = 15  # seconds for a frame on a loaded machine
TOPICS = ["an-toan-thong-tin", "phat-trien-phan-mem", "van-hanh", "giam-sat", "ung-cuu-su-co", "mang-loi"]


def group_channels(url: str, prefix: str) -> set[str]:
    """The pub/sub channels subscribed on one Redis server under the hubs' prefix."""
    client = redis.Redis.from_url(url)
    try:
        return {name.decode() if isinstance(name, bytes) else name for name in client.pubsub_channels(f"{prefix}*")}
    finally:
        client.close()


def shard_of(prefix: str, group: str) -> int:
    """Which of two servers channels-redis gives a group (the same in every process)."""
    from channels_redis.utils import _consistent_hash

    return _consistent_hash(f"{prefix}__group__{group}", 2)


async def next_alert(ws) -> int:
    """The id of the next `alert` frame on a notifications socket (other frames skipped)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=GENEROUS_WAIT))
        if frame["type"] == "alert":
            return frame["alert"]["id"]


@pytest.fixture
def two_redis():
    from django.conf import settings

    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    ports = [free_port(), free_port()]
    servers = [start_private_redis(port) for port in ports]
    yield ports, servers
    for server in servers:
        server.kill()
        server.wait(5)


async def reconnect(hub, token: str, slug: str):
    """A client reconnecting as the browser does (hub's socket.js: again, after a pause). The first
    handshake after a Redis restart may find the process's pooled connection to it dropped and fail
    once (its group_add is that connection's first use); the next one is served."""
    for attempt in range(3):
        try:
            return (await open_topic(hub, token, slug))[0]
        except (EOFError, OSError, websockets.exceptions.ConnectionClosed, AssertionError):
            if attempt == 2:
                raise
            await asyncio.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


async def test_two_redis_servers_carry_messages_and_presence_and_survive_a_restart(two_redis, make_user, make_topic,
                                                                                   tmp_path):
    ports, servers = two_redis
    urls = [f"redis://127.0.0.1:{port}/0" for port in ports]
    prefix = "two-redis"
    for slug in TOPICS:
        await sync_to_async(make_topic)(slug)
    dn = await sync_to_async(make_user)("dn.tworedis", centre="DN")
    hue = await sync_to_async(make_user)("hue.tworedis", centre="HUE")
    dn_token, hue_token = await sync_to_async(token_for)(dn), await sync_to_async(token_for)(hue)
    env = {"REDIS_URL": urls[0], "HUB_CHANNEL_REDIS_URLS": ",".join(urls), "HUB_CHANNEL_PREFIX": prefix, **GENEROUS}
    hub_a, hub_b = await asyncio.to_thread(start_hub, "uvicorn", env, tmp_path), \
        await asyncio.to_thread(start_hub, "uvicorn", env, tmp_path)
    try:
        sockets = {}
        for slug in TOPICS:
            sockets[slug] = (await open_topic(hub_a, dn_token, slug))[0], (await open_topic(hub_b, hue_token, slug))[0]

        # The topics' groups are spread over both servers: each holds some of the subscriptions.
        on_each = [await asyncio.to_thread(group_channels, url, prefix) for url in urls]
        assert all(any("topic." in name for name in channels) for channels in on_each), on_each
        assert not (on_each[0] & on_each[1])

        for slug, (on_a, on_b) in sockets.items():
            presence = await next_frame(on_a, "presence")  # the other process's client arrived
            assert {c["centre"] for c in presence["online"]} == {"DN", "HUE"}, slug
            hello = {"type": "message.send", "body": f"Chào từ Đà Nẵng ({slug})", "client_id": slug}
            await on_a.send(json.dumps(hello))
            sent = (await next_frame(on_a, "message"))["message"]
            assert (await next_frame(on_b, "message"))["message"] == sent
            status, posted = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{slug}/messages",
                                                     hue_token, {"body": f"Huế trả lời ({slug})"})
            assert status == 201
            assert (await next_frame(on_a, "message"))["message"]["id"] == posted["id"]

        # Alerts cross too, through both servers: a public one goes to the `all` group, an AMBER one
        # shared with QB to `centre.HT`, `centre.QB` and the admins' group, which lie on different
        # servers (channels-redis' hash of the prefixed names, checked here so the test says so).
        assert {shard_of(prefix, "all"), shard_of(prefix, "centre.QB")} == {0, 1}
        raiser = await sync_to_async(make_user)("ht.officer.tworedis", centre="HT", role="security_officer")
        qb = await sync_to_async(make_user)("qb.officer.tworedis", centre="QB", role="security_officer")
        dn_officer = await sync_to_async(make_user)("dn.officer.tworedis", centre="DN", role="security_officer")
        listeners = {}
        for person in (qb, dn_officer):
            ticket = await sync_to_async(WsTicket.issue)(person)
            listeners[person.username] = await websockets.connect(f"{hub_a.ws}/ws/notifications/?ticket={ticket}")
            assert json.loads(await listeners[person.username].recv())["type"] == "hello"
        raiser_token = await sync_to_async(token_for)(raiser)
        status, public = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/alerts", raiser_token,
                                                 alert_payload(tlp="clear", title="Bản tin công khai"))
        assert status == 201, public
        status, amber = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/alerts", raiser_token,
                                                alert_payload(tlp="amber", shared_with=["QB"]))
        assert status == 201, amber
        assert [await next_alert(listeners[qb.username]) for _ in range(2)] == [public["id"], amber["id"]]
        assert await next_alert(listeners[dn_officer.username]) == public["id"]  # AMBER shared with QB only
        for listener in listeners.values():
            await listener.close()

        # The Redis holding one topic's group restarts while messages are posted to that topic: none
        # is lost for a client that reconnects.
        slug = next(s for s in TOPICS if any(name.endswith(f"topic.{s}") for name in on_each[1]))
        reader, _writer = sockets[slug]
        status, first = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{slug}/messages",
                                                hue_token, {"body": "trước khi Redis khởi động lại"})
        last_seen = (await next_frame(reader, "message"))["message"]["id"]
        while last_seen < first["id"]:  # the alerts' summary messages, when this is their topic
            last_seen = (await next_frame(reader, "message"))["message"]["id"]
        assert last_seen == first["id"]
        for on_a, on_b in sockets.values():
            await on_a.close()
            await on_b.close()
        servers[1].send_signal(signal.SIGKILL)
        servers[1].wait(5)
        posted_ids = []
        for i in range(10):
            status, body = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{slug}/messages",
                                                   hue_token, {"body": f"trong lúc gián đoạn {i}"})
            assert status == 201  # stored: the database is the truth, Redis only carries the news
            posted_ids.append(body["id"])
        servers[1] = start_private_redis(ports[1])
        for i in range(5):
            status, body = await asyncio.to_thread(http, "POST", f"{hub_a.http}/api/v1/topics/{slug}/messages",
                                                   dn_token, {"body": f"sau khi khởi động lại {i}"})
            assert status == 201
            posted_ids.append(body["id"])

        reader = await reconnect(hub_a, dn_token, slug)
        await reader.send(json.dumps({"type": "sync", "after": last_seen}))
        received = []
        while (frame := await next_frame(reader, "message", "sync.done", "resync"))["type"] == "message":
            received.append(frame["message"]["id"])
        assert (frame["type"], frame["latest"]) == ("sync.done", posted_ids[-1])
        assert received == posted_ids  # every one, once, in order
        # And the restarted server carries new messages across the processes again. A process's first
        # use of a pooled connection that Redis dropped may fail once: the receiving process then sees
        # the sequence gap and sends `resync`, and the client syncs (hub/realtime/receiver.py).
        seen = set(received)
        for attempt in range(3):
            status, back = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{slug}/messages",
                                                   hue_token, {"body": f"đã trở lại {attempt}"})
            assert status == 201
            try:
                frame = await next_frame(reader, "message", "resync", timeout=5)
            except TimeoutError:
                continue
            if frame["type"] == "resync":
                await reader.send(json.dumps({"type": "sync", "after": max(seen)}))
                while (frame := await next_frame(reader, "message", "sync.done", "resync"))["type"] == "message":
                    seen.add(frame["message"]["id"])
            else:
                seen.add(frame["message"]["id"])
            if back["id"] in seen:
                break
        assert back["id"] in seen
        await reader.close()
    finally:
        hub_a.stop()
        hub_b.stop()
