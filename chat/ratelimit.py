"""Per-user flood control for posting, shared by HTTP and WebSocket.

A token bucket per user (rate `HUB_RATE_LIMIT_PER_SECOND`, size `HUB_RATE_LIMIT_BURST`). With
`REDIS_URL` the bucket lives in Redis and is updated by one Lua script (atomic, Redis' own clock), so
every socket and every server process of a user drains the same bucket; without Redis it lives in
this process, which is then the only one.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from hub.errors import RATE_LIMITED, HubError
from hub.lib.ratelimit import TokenBucket

_LUA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / math.max(rate, 0.001)) + 1)
return allowed
"""

_lock = threading.Lock()
_local_buckets: dict[int, TokenBucket] = {}
_redis_state: dict[str, object] = {}


def _script():
    """A sync Redis client and the registered script, created once per process."""
    with _lock:
        if _redis_state.get("url") != settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            _redis_state.update(url=settings.REDIS_URL, script=client.register_script(_LUA))
        return _redis_state["script"]


def allow_post(user_id: int) -> bool:
    """Take one token from the user's bucket; False means "rate limited"."""
    rate, burst = settings.HUB_RATE_LIMIT_PER_SECOND, settings.HUB_RATE_LIMIT_BURST
    if settings.REDIS_URL:
        key = f"{settings.CHANNEL_LAYER_PREFIX}:chat:rate:{user_id}"
        try:
            return bool(_script()(keys=[key], args=[rate, burst]))
        except Exception:  # Redis down: fall back to this process' bucket rather than refuse all
            pass
    with _lock:
        bucket = _local_buckets.get(user_id)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = _local_buckets[user_id] = TokenBucket(rate, burst)
        return bucket.take(time.monotonic())


def require_post_allowance(user_id: int, *, change: bool = False) -> None:
    """`allow_post`, or the one refusal both doors give: a post (or, with `change`, an edit) too many."""
    if not allow_post(user_id):
        message = _("Too many changes; slow down.") if change else _("Too many messages; slow down.")
        raise HubError(RATE_LIMITED, message)


def reset_local() -> None:
    with _lock:
        _local_buckets.clear()
