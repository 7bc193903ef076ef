"""Scenario 3: PostgreSQL becomes unreachable for a few seconds (a TCP proxy between the hub and the
shared PostgreSQL is cut: listener closed, live sessions reset) while messages are being posted.

HTTP answers 503 with the contract's error body, a socket gets an error frame and stays open, nothing
is half-written (a message is stored with its mentions or not at all), and the hub recovers by itself
when the database is back — no restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.live import database_url_of_test_db
from tests.reliability.harness import (
    LOAD_ENV,
    TopicClient,
    http,
    post_message,
    report,
    wait_for_health,
    wait_until,
)
from tests.reliability.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 3


@pytest.fixture
def proxied_database(services):
    """(proxy, DATABASE_URL through it): the hub's database connection goes through the proxy."""
    from django.db import connection

    s = connection.settings_dict
    proxy = TcpProxy(s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432))
    port = proxy.start()
    url = database_url_of_test_db().replace(f":{s['PORT'] or 5432}/", f":{port}/")
    assert str(port) in url
    yield proxy, url
    proxy.stop()


def test_database_outage_answers_503_writes_nothing_half_and_recovers(topic, people, hubs, proxied_database):
    from chat.models import Mention, Message

    proxy, url = proxied_database
    (name, token), (buddy, _), (listener_name, listener_token) = people(3)
    hub = hubs(DATABASE_URL=url, **LOAD_ENV)
    outcomes: dict[str, list] = {}  # client_id → every HTTP status it got, in order
    timeline: dict[str, float] = {}

    async def poster(lane: int, stop: asyncio.Event) -> None:
        i = 0
        while not stop.is_set() and i < 400:
            client_id = f"lane{lane}-{i}"
            status, answer = await post_message(hub.http, token, topic.slug, f"@{buddy} xem sự cố {i}", client_id)
            outcomes.setdefault(client_id, []).append((status, answer))
            i += 1
            await asyncio.sleep(0.02)

    async def scenario():
        # A real client: it follows `prev_id` holes and unasked `resync` notices with a catch-up.
        listener = TopicClient(listener_name, listener_token, topic.slug, auto_catch_up=True)
        await listener.connect(hub.http, hub.ws)
        stop = asyncio.Event()
        lanes = [asyncio.create_task(poster(lane, stop)) for lane in range(2)]
        await asyncio.sleep(1)
        proxy.cut()
        timeline["cut"] = time.monotonic()
        await asyncio.sleep(0.5)
        # Every kind of request fails clearly while the database is away.
        outage: dict[str, Any] = {
            "healthz": await asyncio.to_thread(http, "GET", hub.http + "/healthz"),
            "post": await post_message(hub.http, token, topic.slug, "trong lúc mất CSDL", "during-outage"),
            "ticket": await asyncio.to_thread(http, "POST", hub.http + "/api/v1/ws-tickets", token),
        }
        await asyncio.sleep(OUTAGE_SECONDS - 0.5)
        proxy.restore()
        timeline["restored"] = time.monotonic()
        timeline["healthy_after"] = (await asyncio.to_thread(wait_for_health, hub.http, 200))[0]
        await asyncio.sleep(2)  # posting goes on after the recovery
        stop.set()
        await asyncio.gather(*lanes)
        await wait_until(lambda: not listener.catching_up, 10)
        outage["listener_survived"] = not listener.is_lost
        await listener.close()
        return listener, outage

    listener, outage = asyncio.run(scenario())
    stored = dict(Message.objects.filter(topic=topic).values_list("client_id", "id"))
    failed = {cid for cid, tries in outcomes.items() if tries[-1][0] != 201}

    # HTTP: a 503 with the contract's error body (or a refused connection), never a 500 or a hang.
    status, body = outage["post"]
    assert status == 503 and body["error"]["code"] == "unavailable" and body["error"]["detail"], outage["post"]
    assert outage["ticket"][0] == 503 and outage["ticket"][1]["error"]["code"] == "unavailable", outage["ticket"]
    assert outage["healthz"][0] == 503 and outage["healthz"][1]["database"].startswith("error"), outage["healthz"]
    statuses = {tries[-1][0] for tries in outcomes.values()}
    assert statuses <= {201, 503}, statuses
    assert failed, "the outage did not hit any post"
    # Nothing half-written: every stored message has its mention, nothing refused was stored
    # (bar the rare commit whose answer was lost with the connection: retried below, exactly once).
    assert "during-outage" not in stored
    with_mentions = set(Mention.objects.filter(message__topic=topic).values_list("message__client_id", flat=True))
    assert set(stored) <= with_mentions
    ambiguous = failed & set(stored)
    # The client's retry with the same client_id is answered 201 with the one stored message.
    for client_id in sorted(failed):
        status, answer = http("POST", f"{hub.http}/api/v1/topics/{topic.slug}/messages", token,
                              {"body": "retry", "client_id": client_id})
        assert status == 201, answer
    after_retry = dict(Message.objects.filter(topic=topic).values_list("client_id", "id"))
    assert set(after_retry) == set(outcomes)
    assert all(after_retry[cid] == stored[cid] for cid in stored)  # retries did not store twice
    report("postgres outage", posts=len(outcomes), acknowledged=len(outcomes) - len(failed),
           refused_503=len(failed), stored_despite_503=len(ambiguous), half_written=0,
           healthz_200_after_restore_s=round(timeline["healthy_after"], 1),
           listener_live=len(set(listener.live)), listener_caught_up=len(set(listener.synced) - set(listener.live)))
    # The listener's socket lived through the outage and has everything that was stored, once live.
    # A commit whose answer was lost with the connection is stored but never broadcast (its
    # transaction's on-commit hooks were dropped): the next message's `prev_id` leads the listener to
    # it through a catch-up, so that one arrives by `sync`, not live.
    assert outage["listener_survived"]
    assert listener.seen() == set(stored.values()), sorted(set(stored.values()) - listener.seen())
    assert listener.live_duplicates() == 0
    assert set(listener.live) >= {stored[cid] for cid in set(stored) - ambiguous}


def test_socket_gets_an_error_frame_during_a_database_outage_and_stays_usable(topic, people, hubs,
                                                                              proxied_database):
    proxy, url = proxied_database
    (name, token), = people(1)
    hub = hubs(DATABASE_URL=url)

    async def scenario():
        client = TopicClient(name, token, topic.slug)
        await client.connect(hub.http, hub.ws)
        proxy.cut()
        try:
            await client.send("qua socket trong lúc mất CSDL", "ws-during-outage")
            deadline = time.monotonic() + 10
            while not client.errors and not client.is_lost and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            proxy.restore()
        during = (list(client.errors), client.is_lost, list(client.close_codes))
        if not client.is_lost:
            await client.send("sau khi CSDL trở lại", "ws-after-outage")
            deadline = time.monotonic() + 10
            while "ws-after-outage" not in client.own and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        await client.close()
        return client, during

    client, (errors, lost, close_codes) = asyncio.run(scenario())
    assert not lost, f"the socket was closed with {close_codes} instead of answering an error frame"
    assert [e["type"] for e in errors] == ["error"] and errors[0]["detail"], errors
    assert "ws-after-outage" in client.own
