"""Scenario 7: the channels-redis core layer's two silent limits, shortened so a test can reach them.

- `group_expiry`: the layer forgets a group membership that was not re-added within it. A socket
  older than the expiry must still receive (hub/realtime/receiver.py re-adds its groups well within it).
- `capacity`: `group_send` silently skips a channel that already holds `capacity` messages. A process
  that fell behind must not miss messages silently: the fan-out notices the gap in the publisher's
  sequence numbers (on that publisher's next event), tells its topic sockets to `resync` from the
  last message id received before the gap, and they catch up from the database.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.reliability.harness import LOAD_ENV, TopicClient, post_until_stored, report, stored_ids

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GROUP_EXPIRY = 3  # seconds (production: 86400)
CAPACITY = 3  # messages per channel (production default in hub/settings.py: 5000)
BURST = 60


async def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return predicate()


def core_env(**extra: str) -> dict[str, str]:
    return {"HUB_CHANNEL_LAYER": "core", "HUB_GROUP_EXPIRY": str(GROUP_EXPIRY), **LOAD_ENV, **extra}


def test_a_connection_older_than_the_group_expiry_still_receives(topic, people, hubs):
    (name, token), (sender, sender_token) = people(2)
    hub = hubs(**core_env())

    async def scenario():
        client = TopicClient(name, token, topic.slug)
        await client.connect(hub.http, hub.ws)
        received = []
        for round_ in range(3):  # three times the expiry, one message after each
            await asyncio.sleep(GROUP_EXPIRY + 0.5)
            status, answer = await post_until_stored(hub.http, sender_token, topic.slug, f"vẫn nhận {round_}",
                                                f"old-{round_}")
            assert status == 201, answer
            received.append(await wait_until(lambda i=answer["id"]: i in client.live, 5))
        age = time.monotonic() - started
        await client.close()
        return received, age

    started = time.monotonic()
    received, age = asyncio.run(scenario())
    report("group expiry", group_expiry_s=GROUP_EXPIRY, connection_age_s=round(age, 1), sent=3,
           received_live=sum(received), lost=3 - sum(received))
    assert received == [True, True, True]


def test_a_process_that_fell_behind_tells_its_sockets_to_resync_and_they_catch_up(topic, people, hubs, settings):
    from channels.layers import channel_layers

    from chat.serializers import message_out
    from chat.services import post_message as store
    from hub.models import User
    from hub.realtime.groups import topic_group
    from hub.realtime.publisher import send_now

    accounts = people(4)
    hub = hubs(**core_env(HUB_CHANNEL_CAPACITY=str(CAPACITY), HUB_GROUP_EXPIRY="60"))
    author = User.objects.get(username=accounts[-1][0])
    # The burst is stored first (its broadcast going nowhere: an in-memory layer in this process) …
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    warm_up, _ = store(topic, by=author, body="trước đợt", client_id="warm-up")
    burst = [store(topic, by=author, body=f"đợt {i}", client_id=f"burst-{i}")[0] for i in range(BURST)]
    tail, _ = store(topic, by=author, body="sau đợt", client_id="tail")
    # … then published at once by another process of the deployment (this one, on the same core layer).
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [settings.REDIS_URL], "prefix": settings.CHANNEL_LAYER_PREFIX,
                   "capacity": CAPACITY, "group_expiry": 60},
    }}
    channel_layers.backends = {}
    # Without `prev_id`, so that only the fan-out's own gap detection can reveal the loss (the clients
    # follow `prev_id` too, and would otherwise catch up before the notice; tests/chat/test_prev_id.py).
    frames = [{"type": "message", "message": {**message_out(m), "prev_id": None}} for m in [warm_up, *burst, tail]]

    async def scenario():
        clients = [TopicClient(n, t, topic.slug, auto_catch_up=True) for n, t in accounts[:3]]
        for client in clients:
            await client.connect(hub.http, hub.ws)
        await send_now([topic_group(topic.slug)], frames[0])  # the baseline every socket receives
        assert await wait_until(lambda: all(warm_up.id in c.live for c in clients), 10)
        await asyncio.gather(*(send_now([topic_group(topic.slug)], f) for f in frames[1:-1]))
        await asyncio.sleep(0.5)
        # The gap shows when the publisher's next event arrives: its sequence number jumped.
        await send_now([topic_group(topic.slug)], frames[-1])
        await wait_until(lambda: all(len(c.seen()) >= BURST + 2 for c in clients), 20)
        for client in clients:
            await client.close()
        return clients

    clients = asyncio.run(scenario())
    expected = set(stored_ids(topic.slug).values())
    live = [len(set(c.live) - {warm_up.id, tail.id}) for c in clients]
    report("capacity overflow", capacity=CAPACITY, burst=BURST, received_live_each=live,
           dropped_by_layer_each=[BURST - n for n in live],
           resync_notices_each=[c.unsolicited_resyncs for c in clients],
           recovered_by_sync_each=[len(c.seen() - set(c.live)) for c in clients],
           lost=sum(len(expected - c.seen()) for c in clients))
    assert min(live) < BURST, "the layer dropped nothing: the scenario did not reach the capacity limit"
    assert all(c.unsolicited_resyncs >= 1 for c in clients)
    assert [sorted(expected - c.seen()) for c in clients] == [[] for _ in clients]
