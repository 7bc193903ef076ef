"""Topic channels end to end: real server processes (daphne and uvicorn) sharing one Redis and one
PostgreSQL, driven by the `websockets` client library and plain HTTP, as browsers and scripts do."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from chat.models import Message
from tests.chat.conftest import BACKGROUND
from tests.chat.test_rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, XSS_CORPUS, Elements
from tests.conftest import token_for
from tests.live import start_hub
from tests.services import require

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SERVERS = ["daphne", "uvicorn"]
SLUG = "phat-trien-phan-mem"
GENEROUS = {"HUB_RATE_LIMIT_PER_SECOND": "1000", "HUB_RATE_LIMIT_BURST": "1000",
            "HUB_WRITE_LIMIT_PER_SECOND": "1000", "HUB_WRITE_LIMIT_BURST": "1000"}


@pytest.fixture
def redis_url():
    from django.conf import settings

    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    return settings.REDIS_URL


@pytest.fixture
def two_hubs(request, redis_url, tmp_path):
    """Two server processes of the given kind on one Redis: the hub scaled out. The parameter is
    the server name, or (server name, extra environment)."""
    server, extra = (request.param, {}) if isinstance(request.param, str) else request.param
    env = {"REDIS_URL": redis_url, **GENEROUS, **extra}
    hubs = [start_hub(server, env, tmp_path), start_hub(server, env, tmp_path)]
    yield hubs
    for hub in hubs:
        hub.stop()


@pytest.fixture
def people(make_user, make_topic):
    make_topic(SLUG)
    return {"dn": make_user("dn.engineer", centre="DN"), "hue": make_user("hue.engineer", centre="HUE")}


def http(method: str, url: str, user_token: str, payload: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Token {user_token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def ticket(hub, token: str) -> str:
    status, body = await asyncio.to_thread(http, "POST", hub.http + "/api/v1/ws-tickets", token)
    assert status == 201
    return body["ticket"]


async def open_topic(hub, token: str, slug: str = SLUG, query: str = "", **options):
    socket = await connect(f"{hub.ws}/ws/topics/{slug}/?{query}{'&' if query else ''}ticket={await ticket(hub, token)}",
                           **options)
    first = json.loads(await asyncio.wait_for(socket.recv(), 10))
    assert first["type"] == "presence", first
    return socket, first


async def next_frame(socket, *types: str, timeout: float = 10) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if frame["type"] in types:
            return frame
        assert frame["type"] in BACKGROUND, f"unexpected {frame} while waiting for {types}"


@pytest.mark.parametrize("two_hubs", SERVERS, indirect=True)
async def test_two_processes_on_one_redis_behave_as_one_hub(two_hubs, people):
    hub_a, hub_b = two_hubs
    dn_token = await sync_to_async(token_for)(people["dn"])
    hue_token = await sync_to_async(token_for)(people["hue"])
    dn, _ = await open_topic(hub_a, dn_token)
    hue, _ = await open_topic(hub_b, hue_token)

    # presence crosses: the first client sees the second, who is on the other process
    presence = await next_frame(dn, "presence")
    assert {(c["centre"], tuple(u["username"] for u in c["users"])) for c in presence["online"]} == {
        ("DN", ("dn.engineer",)), ("HUE", ("hue.engineer",))}

    # a message sent on process A reaches process B (and its sender), stored once
    await dn.send(json.dumps({"type": "message.send", "body": "Xin chào **Huế**", "client_id": "x-1"}))
    mine, theirs = await next_frame(dn, "message"), await next_frame(hue, "message")
    assert mine == theirs and mine["message"]["html"] == "<p>Xin chào <strong>Huế</strong></p>"
    message_id = mine["message"]["id"]

    # an HTTP post on B is broadcast to A exactly like a socket message
    status, posted = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{SLUG}/messages",
                                             hue_token, {"body": "Qua HTTP", "client_id": "h-1"})
    assert status == 201
    assert (await next_frame(dn, "message"))["message"] == posted
    assert (await next_frame(hue, "message"))["message"] == posted

    # edits and deletions cross too
    await dn.send(json.dumps({"type": "message.edit", "id": message_id, "body": "Xin chào _Huế_"}))
    updated = await next_frame(hue, "message.updated")
    assert updated["message"]["html"] == "<p>Xin chào <em>Huế</em></p>"
    assert await next_frame(dn, "message.updated") == updated
    status, _ = await asyncio.to_thread(http, "DELETE", f"{hub_b.http}/api/v1/topics/{SLUG}/messages/{posted['id']}",
                                        hue_token)
    assert status == 200
    assert (await next_frame(dn, "message.deleted"))["message"]["id"] == posted["id"]
    assert (await next_frame(hue, "message.deleted"))["message"]["deleted"] is True

    # typing crosses, and leaving updates the other process' presence
    await hue.send(json.dumps({"type": "typing"}))
    assert (await next_frame(dn, "typing"))["user"]["username"] == "hue.engineer"
    await hue.close()
    while (frame := await next_frame(dn, "presence"))["count"] != 1:
        pass
    assert frame["online"][0]["centre"] == "DN"
    await dn.close()


@pytest.mark.parametrize("two_hubs", SERVERS, indirect=True)
async def test_client_disconnected_during_100_messages_syncs_each_exactly_once_in_order(two_hubs, people):
    hub_a, hub_b = two_hubs
    dn_token = await sync_to_async(token_for)(people["dn"])
    hue_token = await sync_to_async(token_for)(people["hue"])
    reader, _ = await open_topic(hub_a, dn_token)
    await reader.send(json.dumps({"type": "message.send", "body": "trước khi mất mạng", "client_id": "before"}))
    last_seen = (await next_frame(reader, "message"))["message"]["id"]
    await reader.close()

    posted = []
    for i in range(100):
        status, body = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{SLUG}/messages",
                                               hue_token, {"body": f"tin số {i}", "client_id": f"m-{i}"})
        assert status == 201
        posted.append(body["id"])

    reader, _ = await open_topic(hub_a, dn_token)
    await reader.send(json.dumps({"type": "sync", "after": last_seen}))
    received = []
    while (frame := await next_frame(reader, "message", "sync.done", "resync"))["type"] == "message":
        received.append(frame["message"])
    assert (frame["type"], frame["latest"]) == ("sync.done", posted[-1])
    assert [m["id"] for m in received] == posted  # all 100, once each, in order
    assert [m["body"] for m in received] == [f"tin số {i}" for i in range(100)]
    await reader.close()


@pytest.mark.parametrize("two_hubs", SERVERS, indirect=True)
async def test_a_burst_reaches_batch_and_plain_clients_alike_once_each_in_order(two_hubs, people):
    """Ten senders on one process post 300 messages as fast as they can. On the other process a
    client that asked for `batch` frames (docs/chat.md) and one that did not both get every message
    once, in id order — however the burst was cut into batches. (Without
    hub.realtime.publisher.published_in_commit_order about one message in 300 came after its successor.)"""
    hub_a, hub_b = two_hubs
    dn_token = await sync_to_async(token_for)(people["dn"])
    hue_token = await sync_to_async(token_for)(people["hue"])
    batched, _ = await open_topic(hub_a, dn_token, query="batch=1")
    plain, _ = await open_topic(hub_a, dn_token)
    # The senders never read: an unbounded queue lets them close at once afterwards (with the default
    # one, the unread frames hold back the server's close frame until the close timeout).
    senders = [(await open_topic(hub_b, hue_token, max_queue=None))[0] for _ in range(10)]

    async def send_share(index: int, socket) -> None:
        for i in range(index, 300, len(senders)):
            await socket.send(json.dumps({"type": "message.send", "body": f"dồn dập {i}", "client_id": f"burst-{i}"}))

    async def collect(socket) -> tuple[list[int], int]:
        ids: list[int] = []
        batches = 0
        while len(ids) < 300:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 30))
            if frame["type"] == "batch":
                batches += 1
                assert len(frame["frames"]) > 1
                frames = frame["frames"]
            else:
                frames = [frame]
            for one in frames:
                assert one["type"] in BACKGROUND | {"message"}, one
                if one["type"] == "message":
                    ids.append(one["message"]["id"])
        return ids, batches

    collecting = [asyncio.create_task(collect(batched)), asyncio.create_task(collect(plain))]
    await asyncio.gather(*(send_share(i, socket) for i, socket in enumerate(senders)))
    (batched_ids, _batches), (plain_ids, plain_batches) = await asyncio.gather(*collecting)
    assert batched_ids == plain_ids == sorted(set(plain_ids))
    assert plain_batches == 0
    stored = await sync_to_async(lambda: list(
        Message.objects.filter(body__startswith="dồn dập").order_by("id").values_list("id", flat=True)))()
    assert batched_ids == stored and len(stored) == 300
    for socket in (batched, plain, *senders):
        await socket.close()


@pytest.mark.parametrize("two_hubs", ["daphne"], indirect=True)
async def test_xss_corpus_posted_over_http_arrives_sanitised_on_the_other_process(two_hubs, people):
    hub_a, hub_b = two_hubs
    dn_token = await sync_to_async(token_for)(people["dn"])
    hue_token = await sync_to_async(token_for)(people["hue"])
    watcher, _ = await open_topic(hub_a, dn_token)
    for payload in XSS_CORPUS:
        status, _ = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{SLUG}/messages",
                                            hue_token, {"body": payload})
        assert status == 201
        frame = await next_frame(watcher, "message")
        assert frame["message"]["body"] == payload  # kept as written
        elements = Elements()
        elements.feed(frame["message"]["html"])
        for tag, attrs in elements.found:
            assert tag in ALLOWED_TAGS and all(name in ALLOWED_ATTRIBUTES for name, _ in attrs), payload
    await watcher.close()


STRICT = {"HUB_RATE_LIMIT_PER_SECOND": "0.01", "HUB_RATE_LIMIT_BURST": "4"}


@pytest.mark.parametrize("two_hubs", [("uvicorn", STRICT)], indirect=True)
async def test_rate_limit_is_per_user_across_processes(two_hubs, people):
    hub_a, hub_b = two_hubs
    token = await sync_to_async(token_for)(people["dn"])
    socket, _ = await open_topic(hub_a, token)
    for i in range(2):
        await socket.send(json.dumps({"type": "message.send", "body": f"qua socket {i}"}))
        await next_frame(socket, "message")
    statuses = []
    for i in range(3):
        status, _ = await asyncio.to_thread(http, "POST", f"{hub_b.http}/api/v1/topics/{SLUG}/messages", token,
                                            {"body": f"qua HTTP {i}"})
        statuses.append(status)
    assert statuses == [201, 201, 429]  # the bucket of 4 was shared by both processes
    await socket.send(json.dumps({"type": "message.send", "body": "thêm nữa"}))
    assert await _error_after_messages(socket) == "rate_limited"
    await socket.close()


async def _error_after_messages(socket) -> str:
    """Skip the two HTTP messages' live copies; return the code of the next error frame."""
    while (frame := await next_frame(socket, "error", "message"))["type"] != "error":
        pass
    return frame["code"]


@pytest.mark.parametrize("two_hubs", SERVERS, indirect=True)
async def test_bad_frames_on_a_live_server_get_errors_and_the_socket_stays_open(two_hubs, people, settings):
    hub_a, _ = two_hubs
    token = await sync_to_async(token_for)(people["dn"])
    socket, _ = await open_topic(hub_a, token)
    over_body_limit = json.dumps({"type": "message.send", "body": "ê" * (settings.HUB_MAX_BODY_BYTES // 2 + 1)})
    for raw, code in [("{oops", "invalid"), ('{"type": "nope"}', "invalid"), (over_body_limit, "too_large")]:
        await socket.send(raw)
        assert (await next_frame(socket, "error"))["code"] == code
    await socket.send(json.dumps({"type": "message.send", "body": "vẫn hoạt động"}))
    assert (await next_frame(socket, "message"))["message"]["body"] == "vẫn hoạt động"
    # beyond the server's own WebSocket message limit the server itself closes (1009)
    await socket.send("x" * (int(hub_a.env.get("HUB_WS_MAX_MESSAGE_BYTES", 64 * 1024)) + 1))
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await next_frame(socket, "never")
    # uvicorn sends close 1009; daphne (autobahn) drops the TCP connection without a close frame
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
