"""Presence in Redis: one heartbeat per process keeps every local socket of a topic online."""

import asyncio
import time
from typing import cast

import pytest
from django.conf import settings

from chat import presence
from tests.services import require

Scored = list[tuple[bytes, float]]  # what redis-py answers to zrange(…, withscores=True)


async def beating() -> None:
    """Until this loop's presence heartbeat stops (it does once nobody is left)."""
    task = presence._beats().task
    if task is not None:
        await task


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
        first = dict(cast(Scored, await client.zrange(key, 0, -1, withscores=True)))
        assert len(first) == 300
        await presence.leave(slug, members[0])
        await asyncio.sleep(0.5)  # at least one heartbeat
        later = dict(cast(Scored, await client.zrange(key, 0, -1, withscores=True)))
        assert members[0].encode() not in later  # left: not brought back by the heartbeat
        assert len(later) == 299
        assert all(later[m.encode()] > first[m.encode()] for m in members[1:])  # every other one refreshed
        for member in members[1:]:
            await presence.leave(slug, member)
        await asyncio.wait_for(beating(), 2)  # the heartbeat stops once nobody is left
        assert await client.exists(key) == 0
    finally:
        await client.aclose()


async def test_a_socket_that_leaves_while_a_heartbeat_is_on_its_way_is_not_brought_back(
        redis_presence, monkeypatch):
    """The heartbeat's ZADD and a leave's ZREM travel on different connections: a ZADD that reaches
    Redis after the ZREM must not leave the socket online until its TTL runs out."""
    import redis.asyncio as aioredis

    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.05)
    slug = f"presence-race-{time.time_ns()}"
    leaving, staying = '{"s": "a", "username": "a"}', '{"s": "b", "username": "b"}'
    await presence.enter(slug, leaving)
    await presence.enter(slug, staying)
    real_touch, on_its_way = presence._touch, asyncio.Event()

    async def slow_heartbeat(touched_slug, touched):
        if len(touched) == 2:  # the heartbeat of both: held back until the leave below is done
            on_its_way.set()
            await asyncio.sleep(0.3)
        await real_touch(touched_slug, touched)

    monkeypatch.setattr(presence, "_touch", slow_heartbeat)
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    try:
        await asyncio.wait_for(on_its_way.wait(), 2)
        await presence.leave(slug, leaving)
        await asyncio.sleep(0.6)  # the held-back heartbeat lands, and the next ones
        online = await client.zrange(presence._key(slug), 0, -1)
        assert online == [staying.encode()]
        await presence.leave(slug, staying)
        await asyncio.wait_for(beating(), 2)
    finally:
        await client.aclose()


async def test_joins_and_leaves_arriving_together_are_one_write_and_each_caller_returns_once_stored(
        redis_presence, monkeypatch):
    """A reconnect storm's joins (and a shutdown's leaves) go to Redis as a few pipelines, not one
    round trip per socket; whoever awaited `enter` finds its entry stored, `leave` its entry gone."""
    import redis.asyncio as aioredis

    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.2)
    pipelines = 0
    real_pipeline = presence._redis().pipeline

    def counted(*args, **kwargs):
        nonlocal pipelines
        pipelines += 1
        return real_pipeline(*args, **kwargs)

    monkeypatch.setattr(presence._redis(), "pipeline", counted)
    slug = f"presence-test-{time.time_ns()}"
    members = [f'{{"s": "{i}", "username": "u{i}", "centre": "DN"}}' for i in range(200)]
    client = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, max_connections=4))
    try:
        async def join_then_look(member: str) -> bool:
            await presence.enter(slug, member)
            return await client.zscore(presence._key(slug), member) is not None

        assert all(await asyncio.gather(*(join_then_look(m) for m in members)))
        assert pipelines <= 2
        pipelines = 0
        await asyncio.gather(*(presence.leave(slug, m) for m in members[:150]))
        assert pipelines <= 2
        assert sorted(await client.zrange(presence._key(slug), 0, -1)) == sorted(m.encode() for m in members[150:])
        await asyncio.gather(*(presence.leave(slug, m) for m in members[150:]))
        await asyncio.wait_for(beating(), 2)
    finally:
        await client.aclose()
