"""Scenario 6 (the harness of django/channels#1683): while N clients connect and disconnect in a
loop, M steady clients receive every message of the topic live — no gap, no duplicate id."""

from __future__ import annotations

import asyncio

import pytest

from tests.reliability.harness import LOAD_ENV, TopicClient, post_until_stored, report, stored_ids, wait_until

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STEADY = 6  # M, split over two server processes
CHURNERS = 10  # N, split over the same two processes
MESSAGES = 200
MAX_CYCLES = 40  # per churner: bounded whatever the speed of the machine


def test_steady_clients_miss_nothing_while_others_churn(topic, people, hubs):
    everyone = people(STEADY + CHURNERS + 1)
    steady_people, churn_people, (_sender, sender_token) = (
        everyone[:STEADY], everyone[STEADY:-1], everyone[-1])
    a, b = hubs(**LOAD_ENV), hubs(**LOAD_ENV)

    async def churn(name: str, token: str, hub, stop: asyncio.Event) -> int:
        cycles = 0
        while not stop.is_set() and cycles < MAX_CYCLES:
            client = TopicClient(name, token, topic.slug)
            await client.connect(hub.http, hub.ws)
            await asyncio.sleep(0.05)
            await client.close()
            cycles += 1
        return cycles

    async def scenario():
        steady = [TopicClient(n, t, topic.slug) for n, t in steady_people]
        for i, client in enumerate(steady):
            hub = (a, b)[i % 2]
            await client.connect(hub.http, hub.ws)
        stop = asyncio.Event()
        churners = [asyncio.create_task(churn(n, t, (a, b)[i % 2], stop)) for i, (n, t) in enumerate(churn_people)]
        acked: list[int] = []
        refused: list[tuple[int, object]] = []

        async def send(lane: int) -> None:  # four senders in parallel, alternating processes
            for i in range(lane, MESSAGES, 4):
                hub = (a, b)[i % 2]
                status, answer = await post_until_stored(hub.http, sender_token, topic.slug, f"tin {i}", f"churn-{i}")
                if status == 201:
                    acked.append(answer["id"])
                else:
                    refused.append((status, answer))

        await asyncio.gather(*(send(lane) for lane in range(4)))
        stop.set()
        cycles = sum(await asyncio.gather(*churners))
        await wait_until(lambda: all(len(set(c.live)) >= len(acked) for c in steady), 30)
        for client in steady:
            await client.close()
        return steady, acked, refused, cycles

    steady, acked, refused, cycles = asyncio.run(scenario())
    assert refused == []
    stored = set(stored_ids(topic.slug).values())
    assert set(acked) == stored and len(stored) == MESSAGES
    lost = {c.name: len(stored - set(c.live)) for c in steady}
    duplicated = {c.name: c.live_duplicates() for c in steady}
    out_of_order = sum(sum(1 for x, y in zip(c.live, c.live[1:], strict=False) if y < x) for c in steady)
    report("churn", steady=STEADY, churners=CHURNERS, churn_cycles=cycles, sent=MESSAGES, acknowledged=len(acked),
           received_each=[len(set(c.live)) for c in steady], lost=sum(lost.values()),
           duplicated=sum(duplicated.values()), out_of_order=out_of_order)
    assert cycles >= CHURNERS  # the churn really happened
    assert lost == {c.name: 0 for c in steady}
    assert duplicated == {c.name: 0 for c in steady}
