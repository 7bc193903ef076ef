"""Who is online in a topic, across every server process.

With `REDIS_URL` each topic has a sorted set in Redis: one member per open socket (its user and
centre), scored by the socket's last heartbeat. Sockets refresh their score every
`HEARTBEAT_SECONDS`; readers first drop members older than `TTL_SECONDS`, so a process that died
without saying goodbye vanishes from presence within a TTL. Without Redis there is one process, and
a dictionary is the whole truth.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from django.conf import settings

from chat.frames import OnlineCentre, PresenceFrame, PresentPerson
from hub.lib.jsonutil import dumps
from hub.realtime.groups import topic_group
from hub.realtime.loops import per_loop
from hub.realtime.publisher import publish

HEARTBEAT_SECONDS = float(getattr(settings, "CHAT_PRESENCE_HEARTBEAT_SECONDS", 15))
TTL_SECONDS = float(getattr(settings, "CHAT_PRESENCE_TTL_SECONDS", 45))
# Joins and leaves within this window are announced together: when a thousand people connect at
# once, the topic gets a few presence frames instead of a thousand (each sent to everyone).
COALESCE_SECONDS = float(getattr(settings, "CHAT_PRESENCE_COALESCE_SECONDS", 0.5))

logger = logging.getLogger(__name__)

_local: dict[str, dict[str, dict[str, Any]]] = {}


def _new_redis(loop):
    """An asyncio Redis client for one loop (redis-py clients belong to one loop), on a blocking
    pool: a burst of joins waits for a connection instead of failing with MaxConnectionsError
    (STACK-NOTES "Traps"; it did, with 1,000 clients connecting at once)."""
    import redis.asyncio as aioredis

    pool = aioredis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=3, max_connections=50, timeout=5
    )
    return aioredis.Redis(connection_pool=pool)


_redis = per_loop(_new_redis)


def _key(slug: str) -> str:
    return f"{settings.CHANNEL_LAYER_PREFIX}:chat:presence:{slug}"


def entry(socket_id: str, user) -> str:
    """The member string of one socket (stable for its lifetime, so it can be removed exactly)."""
    return dumps({
        "s": socket_id, "username": user.username, "display_name": user.get_display_name(),
        "centre": user.centre.code if user.centre is not None else None,
    })


async def _touch(slug: str, members: list[str]) -> None:
    key = _key(slug)
    now = time.time()
    async with _redis().pipeline(transaction=False) as pipe:
        pipe.zadd(key, {member: now for member in members})
        pipe.expire(key, int(TTL_SECONDS * 2))  # an abandoned topic's set goes away too
        await pipe.execute()


class _Heartbeats:
    """This process' open sockets per topic, refreshed together: one pipeline per topic per
    interval for the whole process, not a task and a Redis round trip per socket (1,000 sockets
    that joined together also beat together, and exhausted the connection pool)."""

    def __init__(self) -> None:
        self.members: dict[str, set[str]] = {}
        self.task: asyncio.Task | None = None

    def add(self, slug: str, member: str) -> None:
        self.members.setdefault(slug, set()).add(member)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._loop(), name="chat-presence-heartbeat")

    def discard(self, slug: str, member: str) -> None:
        members = self.members.get(slug)
        if members is not None:
            members.discard(member)
            if not members:
                del self.members[slug]

    async def _loop(self) -> None:
        while self.members:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for slug, members in list(self.members.items()):
                beating = list(members)
                try:
                    await _touch(slug, beating)
                    # A socket that left while this heartbeat was on its way had its ZREM sent on
                    # another connection, which could reach Redis before the heartbeat's ZADD and
                    # leave it online for a TTL (found by tests/chat/test_presence.py in CI).
                    gone = set(beating) - self.members.get(slug, set())
                    if gone:
                        await _redis().zrem(_key(slug), *gone)
                except Exception:
                    logger.warning("presence heartbeat for %s failed", slug, exc_info=True)


_beats = per_loop(lambda loop: _Heartbeats())


class _Writes:
    """Sockets' entries and exits, written to Redis together: the joins and leaves of this process
    that arrive while a write is on its way go as ONE pipeline, and each caller returns once its
    own change is stored. A reconnect storm was one Redis round trip per socket here, a quarter of
    the handshake's event-loop time (docs/benchmarks.md, "7 December"); a lone join still goes at
    once. A socket's leave follows its own enter's return, so the two are never in one pipeline."""

    def __init__(self) -> None:
        self.adds: dict[str, set[str]] = {}
        self.removes: dict[str, set[str]] = {}
        self.batch: asyncio.Task | None = None

    async def write(self, slug: str, member: str, *, present: bool) -> None:
        (self.adds if present else self.removes).setdefault(slug, set()).add(member)
        if self.batch is None:
            self.batch = asyncio.get_running_loop().create_task(self._flush())
        # Shielded: a handshake cancelled while waiting must not cancel the others' write.
        await asyncio.shield(self.batch)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the changes of this turn of the loop join the batch
        adds, removes = self.adds, self.removes
        self.adds, self.removes, self.batch = {}, {}, None  # later changes: the next batch
        now = time.time()
        async with _redis().pipeline(transaction=False) as pipe:
            for slug, members in adds.items():
                pipe.zadd(_key(slug), dict.fromkeys(members, now))
                pipe.expire(_key(slug), int(TTL_SECONDS * 2))  # an abandoned topic's set goes away too
            for slug, members in removes.items():
                pipe.zrem(_key(slug), *members)
            await pipe.execute()


_writes = per_loop(lambda loop: _Writes())


async def enter(slug: str, member: str) -> None:
    """Count `member` (one socket) as online in the topic until `leave`; kept fresh by this
    process' heartbeat."""
    if settings.REDIS_URL:
        _beats().add(slug, member)
        await _writes().write(slug, member, present=True)
        return
    _local.setdefault(slug, {})[member] = {}


async def leave(slug: str, member: str) -> None:
    if settings.REDIS_URL:
        _beats().discard(slug, member)
        await _writes().write(slug, member, present=False)
        return
    members = _local.get(slug)
    if members is not None:
        members.pop(member, None)
        if not members:
            _local.pop(slug, None)


async def members(slug: str) -> list[dict[str, Any]]:
    import orjson

    if settings.REDIS_URL:
        client = _redis()
        await client.zremrangebyscore(_key(slug), "-inf", time.time() - TTL_SECONDS)
        raw = await client.zrange(_key(slug), 0, -1)
        return [orjson.loads(m) for m in raw]
    return [orjson.loads(m) for m in _local.get(slug, {})]


def frame(slug: str, entries: list[dict[str, Any]]) -> PresenceFrame:
    """`{"type": "presence", "topic", "count", "online": [{"centre", "count", "users": [...]}]}` — each
    person once however many sockets they have, grouped by centre (sorted, people without a centre
    last).

    The rule for big topics (as read receipts have one): people are named only while at most
    `HUB_PRESENCE_MAX_NAMES` are online; beyond that each centre gives its count and no names. The
    frame goes to every socket of the topic at every change, so a named list costs online² bytes: with
    5,000 people connecting after a deploy, ~300 KB to each of 5,000 sockets every coalescing window,
    which kept the reconnect storm from ever finishing (docs/benchmarks.md, "Reconnect storm")."""
    by_centre: dict[str | None, dict[str, PresentPerson]] = {}
    for item in entries:
        by_centre.setdefault(item.get("centre"), {})[item["username"]] = {
            "username": item["username"], "display_name": item.get("display_name") or item["username"],
        }
    total = sum(len(people) for people in by_centre.values())
    named = total <= settings.HUB_PRESENCE_MAX_NAMES
    online: list[OnlineCentre] = [
        {"centre": centre, "count": len(people),
         "users": sorted(people.values(), key=lambda p: p["username"]) if named else []}
        for centre, people in sorted(by_centre.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]
    return {"type": "presence", "topic": slug, "count": total, "online": online}


class _Announcer:
    """One pending presence broadcast per topic per process (per event loop)."""

    def __init__(self) -> None:
        self.pending: dict[str, asyncio.Task] = {}

    def schedule(self, slug: str) -> None:
        if slug not in self.pending:
            self.pending[slug] = asyncio.get_running_loop().create_task(self._announce(slug))

    async def _announce(self, slug: str) -> None:
        await asyncio.sleep(COALESCE_SECONDS)
        # Forget the pending task before reading: a change from now on schedules a new broadcast,
        # and every change before is covered by the read below.
        self.pending.pop(slug, None)
        try:
            text = dumps(frame(slug, await members(slug)))
            await publish(topic_group(slug), text, event_id=uuid.uuid4().hex)
        except Exception:
            logger.warning("presence broadcast for %s failed", slug, exc_info=True)


_announcer = per_loop(lambda loop: _Announcer())


def announce(slug: str) -> None:
    """Broadcast the topic's presence to its group soon (coalescing bursts of joins and leaves)."""
    _announcer().schedule(slug)
