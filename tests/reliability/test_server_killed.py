"""Scenario 2: one of two daphne processes is SIGKILLed under load. Its clients reconnect to the other,
sync from the last id they saw, and end up with every message — no gap, no duplicate — without a
full re-read; its WebSocket senders re-send what was not acknowledged (same client_id) and nothing is
stored twice."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import websockets

from tests.reliability.harness import LOAD_ENV, TopicClient, post_until_stored, report, stored_ids, wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RECEIVERS_PER_PROCESS = 4
HTTP_MESSAGES = 120
WS_MESSAGES = 40  # per WebSocket sender (both on the process that is killed)
KILL_AFTER = 40  # HTTP messages sent before the kill


def test_clients_of_a_killed_process_reconnect_and_sync_without_gaps(topic, people, hubs):
    accounts = people(2 * RECEIVERS_PER_PROCESS + 3)
    a, b = hubs(**LOAD_ENV), hubs(**LOAD_ENV)
    # Receivers behave like the web client: a message whose `prev_id` they never got makes them sync
    # (a message stored on A just before the kill may never have been published).
    receivers = [TopicClient(n, t, topic.slug, auto_catch_up=True) for n, t in accounts[: 2 * RECEIVERS_PER_PROCESS]]
    victims = receivers[:RECEIVERS_PER_PROCESS]  # on A
    ws_senders = [TopicClient(n, t, topic.slug) for n, t in accounts[2 * RECEIVERS_PER_PROCESS: -1]]
    _, http_token = accounts[-1]
    reconnect_seconds: list[float] = []
    http_acked: dict[str, int] = {}
    ws_sent: dict[str, list[str]] = {s.name: [] for s in ws_senders}
    killed_at: list[float] = []

    async def survive(client: TopicClient, outbox: list[str] | None = None) -> None:
        """What a real client does: on a lost connection, reconnect elsewhere and sync after the last
        id it saw; a sender then re-sends every client_id still waiting for its acknowledgement."""
        await client.wait_lost(120)
        await client.connect(b.http, b.ws)
        await client.catch_up()
        reconnect_seconds.append(time.monotonic() - killed_at[0])
        for client_id in outbox or ():
            if client_id not in client.own:
                await client.send(f"ws {client_id}", client_id)

    async def ws_lane(sender: TopicClient) -> None:
        for i in range(WS_MESSAGES):
            client_id = f"{sender.name}-{i}"
            ws_sent[sender.name].append(client_id)
            while True:
                try:
                    await sender.send(f"ws {client_id}", client_id)
                    break
                except websockets.ConnectionClosed:
                    await asyncio.sleep(0.2)  # the survive() task reconnects; the outbox keeps it
            await asyncio.sleep(0.05)

    async def scenario():
        for client in victims + ws_senders:
            await client.connect(a.http, a.ws)
        for client in receivers[RECEIVERS_PER_PROCESS:]:
            await client.connect(b.http, b.ws)
        guards = [asyncio.create_task(survive(c)) for c in victims]
        guards += [asyncio.create_task(survive(s, ws_sent[s.name])) for s in ws_senders]
        ws_lanes = [asyncio.create_task(ws_lane(s)) for s in ws_senders]
        for i in range(HTTP_MESSAGES):
            if i == KILL_AFTER:
                a.process.send_signal(signal.SIGKILL)
                killed_at.append(time.monotonic())
            status, answer = await post_until_stored(b.http, http_token, topic.slug, f"tin {i}", f"http-{i}")
            assert status == 201, answer
            http_acked[f"http-{i}"] = answer["id"]
        await asyncio.gather(*ws_lanes)
        await asyncio.wait_for(asyncio.gather(*guards), 60)
        for sender in ws_senders:  # the last sends before the kill may need the re-send above
            assert await wait_until(lambda s=sender: set(ws_sent[s.name]) <= set(s.own), 15), sender.name
        total = HTTP_MESSAGES + len(ws_senders) * WS_MESSAGES
        await wait_until(lambda: all(len(c.seen()) >= total for c in receivers), 20)
        for client in receivers + ws_senders:
            await client.close()

    asyncio.run(scenario())
    assert a.process.wait(5) == -signal.SIGKILL
    stored = stored_ids(topic.slug)
    expected = set(stored.values())
    assert len(stored) == HTTP_MESSAGES + len(ws_senders) * WS_MESSAGES  # each send stored exactly once
    assert all(stored[cid] == mid for cid, mid in http_acked.items())
    assert all(stored[cid] == mid for s in ws_senders for cid, mid in s.own.items())
    lost = {c.name: sorted(expected - c.seen()) for c in receivers}
    assert lost == {c.name: [] for c in receivers}
    assert [c.live_duplicates() for c in receivers] == [0] * len(receivers)
    assert all(c.connections == 2 for c in victims + ws_senders)
    report("daphne SIGKILL", processes=2, receivers=len(receivers), moved=len(victims) + len(ws_senders),
           sent=len(stored), acknowledged=len(http_acked) + sum(len(s.own) for s in ws_senders),
           recovered_by_sync_each=[len(c.synced) for c in victims], lost=0, duplicated=0,
           reconnect_and_sync_max_s=round(max(reconnect_seconds), 2))
