"""Presence in Redis: one heartbeat per process keeps every local socket of a topic online."""

import asyncio
import time

import pytest
from django.conf import settings

from chat import presence
from tests.services import require

pytestmark = pytest.mark.services


@pytest.fixture
def redis_presence():
    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")


async def test_one_heartbeat_refreshes_every_socket_of_the_topic_and_forgets_those_that_left(
        redis_presence, monkeypatch):
    import redis.asyncio as aioredis

    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.2)
    slug = f"presence-test-{time.time_ns()}"
    members = [f'{{"s": "{i}", "username": "u{i}", "centre": "HT"}}' for i in range(300)]
    for member in members:
        await presence.enter(slug, member)
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        key = presence._key(slug)
        first = dict(await client.zrange(key, 0, -1, withscores=True))
        assert len(first) == 300
        await presence.leave(slug, members[0])
        await asyncio.sleep(0.5)  # at least one heartbeat
        later = dict(await client.zrange(key, 0, -1, withscores=True))
        assert members[0].encode() not in later  # left: not brought back by the heartbeat
        assert len(later) == 299
        assert all(later[m.encode()] > first[m.encode()] for m in members[1:])  # every other one refreshed
        for member in members[1:]:
            await presence.leave(slug, member)
        assert await client.exists(key) == 0
    finally:
        await client.aclose()
