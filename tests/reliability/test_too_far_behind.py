"""Scenario 8: a client more than HUB_SYNC_MAX messages behind gets an explicit `resync` (never a
silent partial catch-up) and recovers everything through repeated syncs or paged HTTP history."""

from __future__ import annotations

import asyncio

import pytest

from tests.reliability.harness import TopicClient, http, report, stored_ids

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SYNC_MAX = 40
MISSED = 3 * SYNC_MAX + 7  # three full pages and a partial one


def test_client_too_far_behind_is_told_to_resync_and_recovers_every_message(topic, people, hubs):
    from chat.services import post_message
    from hub.models import User

    (name, token), = people(1)
    author = User.objects.get(username=name)
    hub = hubs(HUB_SYNC_MAX=str(SYNC_MAX))
    for i in range(MISSED):  # written while the client was away
        post_message(topic, by=author, body=f"đã lỡ {i}", client_id=f"missed-{i}")
    expected = sorted(stored_ids(topic.slug).values())
    assert len(expected) == MISSED

    async def scenario():
        client = TopicClient(name, token, topic.slug)
        await client.connect(hub.http, hub.ws)
        first = await client.sync(0)
        rounds = 1 + await client.catch_up(first["after"]) if first["type"] == "resync" else 1
        await client.close()
        return client, first, rounds

    client, first, rounds = asyncio.run(scenario())
    # The first answer says, in so many words, that this was not everything.
    assert first == {"type": "resync", "after": expected[SYNC_MAX - 1], "latest": expected[-1]}
    assert client.synced == expected  # every message once, in order, nothing live mixed in
    assert rounds == 4 and len(client.resyncs) == 3

    # The same recovery through the paged HTTP history (what a client does after a long absence).
    pages, after, through_history = 0, 0, []
    while True:
        status, page = http("GET", f"{hub.http}/api/v1/topics/{topic.slug}/messages?after={after}&limit=50", token)
        assert status == 200, page
        pages += 1
        through_history += [m["id"] for m in page["results"]]
        if not page["results"] or len(page["results"]) < 50:
            break
        after = page["results"][-1]["id"]
    assert through_history == expected
    report("too far behind", missed=MISSED, sync_max=SYNC_MAX, sync_rounds=rounds, resync_frames=len(client.resyncs),
           recovered=len(set(client.synced)), lost=len(set(expected) - set(client.synced)),
           duplicated=len(client.synced) - len(set(client.synced)), history_pages=pages)
