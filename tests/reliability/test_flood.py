"""A flooding client is limited while the others go on (issue 8, "Rate limits").

One person floods the topic over two sockets, on two server processes, as fast as the sockets take
frames; two other people keep talking at a normal pace. The flooder gets `rate_limited` error frames
and only its bucket's worth is stored; everyone else's messages are all stored and delivered. Their
delivery latency during the flood is reported (not asserted: timing belongs to `make bench`)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import pytest
import websockets

from tests.reliability.harness import TopicClient, report, stored_ids

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FLOOD_SECONDS = 4
TALK_EVERY = 0.4  # a person writing every 0.4 s is well inside the default 5/s, burst 20


def test_a_flooder_is_limited_and_the_others_are_delivered(topic, people, hubs):
    (flooder_name, flooder_token), (alice, alice_token), (bob, bob_token), (reader, reader_token) = people(4)
    a, b = hubs(), hubs()  # the default per-user limit: 5 messages/s, burst 20, shared through Redis
    floods = [TopicClient(flooder_name, flooder_token, topic.slug) for _ in range(2)]
    talkers = [TopicClient(alice, alice_token, topic.slug), TopicClient(bob, bob_token, topic.slug)]
    listener = TopicClient(reader, reader_token, topic.slug)
    sent_at: dict[str, float] = {}

    async def flood(client: TopicClient, lane: int) -> int:
        sent, deadline = 0, time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            try:
                await client.socket.send(json.dumps({"type": "message.send", "body": "spam",
                                                     "client_id": f"flood-{lane}-{sent}"}))
            except websockets.ConnectionClosed:
                return sent  # cut off for abuse (4429): what should happen to a flooder
            sent += 1
            await asyncio.sleep(0)  # as fast as the socket takes frames
        return sent

    async def talk(client: TopicClient) -> list[str]:
        ids: list[str] = []
        deadline = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < deadline:
            client_id = f"{client.name}-{len(ids)}"
            sent_at[client_id] = time.monotonic()
            await client.send(f"tin bình thường {len(ids)}", client_id)
            ids.append(client_id)
            await asyncio.sleep(TALK_EVERY)
        return ids

    async def scenario():
        await floods[0].connect(a.http, a.ws)
        await floods[1].connect(b.http, b.ws)
        await talkers[0].connect(a.http, a.ws)
        await talkers[1].connect(b.http, b.ws)
        await listener.connect(a.http, a.ws)
        results = await asyncio.gather(flood(floods[0], 0), flood(floods[1], 1), *(talk(t) for t in talkers))
        await asyncio.sleep(3)  # drain
        for client in floods + talkers + [listener]:
            await client.close()
        return results[:2], results[2:]

    flood_counts, talk_ids = asyncio.run(scenario())
    stored = stored_ids(topic.slug)
    talked = [cid for ids in talk_ids for cid in ids]
    flood_stored = [cid for cid in stored if cid and cid.startswith("flood-")]
    rate_limited = sum(1 for c in floods for e in c.errors if e.get("code") == "rate_limited")
    flooder_closes = [code for c in floods for code in c.close_codes]
    latencies = [listener.live_at[cid] - sent_at[cid] for cid in talked if cid in listener.live_at]
    report("flood", flood_frames=sum(flood_counts), flooder_closed_with=flooder_closes,
           flood_stored=len(flood_stored), rate_limited=rate_limited,
           others_sent=len(talked), others_stored=sum(cid in stored for cid in talked),
           others_delivered=len(latencies),
           others_p50_ms=round(1000 * statistics.median(latencies)) if latencies else None,
           others_max_ms=round(1000 * max(latencies)) if latencies else None)
    # The flooder: limited to its bucket (burst 20 + 5/s over the flood, shared by both sockets), told so.
    assert sum(flood_counts) > 40
    assert len(flood_stored) <= 20 + 5 * (FLOOD_SECONDS + 4)
    assert rate_limited > 0
    assert 4429 in flooder_closes  # a client that keeps abusing is closed, with an application code
    # Everyone else: every message stored and delivered live to the listener on the other process.
    assert all(cid in stored for cid in talked)
    assert len(latencies) == len(talked)
    assert not any(e.get("code") == "rate_limited" for t in talkers for e in t.errors)
