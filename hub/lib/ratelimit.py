"""Per-user rate limits: one mechanism for every write the hub accepts (issue 20, class 6).

Token buckets, one per (person, bucket name). With `REDIS_URL` a bucket lives in Redis and is taken by
one Lua script (atomic, Redis' own clock, several buckets all-or-nothing), so every socket and every
server process of a person drains the same buckets; without Redis it lives in this process, which is
then the only one. A refusal is `HubError(RATE_LIMITED)` with `retry_after` (seconds): the API
answers 429 with a `Retry-After` header, a socket a `rate_limited` error frame (hub/api.py,
hub/realtime/consumers.py).

Who is charged, and for what:

- `write` — every unsafe request under /api/v1/ (the API's authentication charges it, so an endpoint
  added tomorrow is limited without anyone remembering to) and every WebSocket frame a consumer does
  not declare read-only (`HubConsumer.unlimited_types`).
- named, tighter buckets, charged by the domain action itself with `charge(name)`: `post` (a chat
  message or edit, a ticket comment, an alert's summary message: text that reaches other people),
  `alert` (raising an alert, which reaches every centre). Because the action charges, what it
  triggers internally costs too: an alert's summary in the security topic is the author's message.
  A bucket is charged at most once per request or frame, and a frame's buckets (`write`, and those
  its consumer declares) in one Redis call where its work starts (hub/realtime/workers.py).

Services call `charge()` freely: it charges the person the current request or frame acts for
(`acting_for`, set by the API's authentication and by the socket for each frame) and does nothing
outside one (`seed_demo`, the escalation worker, management commands, tests calling services).
Limits are settings (`BUCKETS` names them; defaults in hub/settings.py and docs/security.md).
"""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from hub.errors import RATE_LIMITED, HubError


@dataclass(slots=True)  # one per open socket (HubConsumer.bucket): no instance dict
class TokenBucket:
    rate: float  # tokens added per second
    burst: int  # bucket size
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def refill(self, now: float) -> float:
        if self.tokens < 0:
            self.tokens, self.updated = float(self.burst), now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return self.tokens

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.refill(now) >= cost:
            self.tokens -= cost
            return True
        return False

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are there (after `refill`)."""
        return 0.0 if self.tokens >= cost else (cost - self.tokens) / max(self.rate, 1e-9)


# --- limits ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int


# Each bucket and the two settings (tokens per second, bucket size) that are its limit.
BUCKETS: dict[str, tuple[str, str]] = {
    "write": ("HUB_WRITE_LIMIT_PER_SECOND", "HUB_WRITE_LIMIT_BURST"),
    "post": ("HUB_RATE_LIMIT_PER_SECOND", "HUB_RATE_LIMIT_BURST"),
    "alert": ("HUB_ALERT_LIMIT_PER_SECOND", "HUB_ALERT_LIMIT_BURST"),
}


def limit_of(bucket: str) -> Limit:
    """A bucket's limit, read from settings at each call (so a test or an operator's override holds)."""
    rate, burst = BUCKETS[bucket]
    return Limit(float(getattr(settings, rate)), int(getattr(settings, burst)))


# --- taking tokens -------------------------------------------------------------------------------------

# All-or-nothing over several buckets: the tokens each would have now; if one lacks a token, the
# longest wait is returned and nothing is taken.
_LUA = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local wait = 0
local tokens = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local have = tonumber(state[1])
  local ts = tonumber(state[2])
  if have == nil then have = burst; ts = now end
  have = math.min(burst, have + math.max(0, now - ts) * rate)
  tokens[i] = have
  if have < 1 then
    local w = (1 - have) / math.max(rate, 0.000001)
    if w > wait then wait = w end
  end
end
if wait == 0 then
  for i, key in ipairs(KEYS) do
    local rate = tonumber(ARGV[2 * i - 1])
    local burst = tonumber(ARGV[2 * i])
    redis.call('HSET', key, 'tokens', tostring(tokens[i] - 1), 'ts', tostring(now))
    redis.call('EXPIRE', key, math.ceil(burst / math.max(rate, 0.001)) + 1)
  end
end
return tostring(wait)
"""

_lock = threading.Lock()
_local: dict[tuple[str, int], TokenBucket] = {}
_redis_state: dict[str, object] = {}


def _script():
    """A sync Redis client and the registered script, created once per process."""
    with _lock:
        if _redis_state.get("url") != settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
            _redis_state.update(url=settings.REDIS_URL, script=client.register_script(_LUA))
        return _redis_state["script"]


def key_of(bucket: str, user_id: int) -> str:
    return f"{settings.CHANNEL_LAYER_PREFIX}:rate:{bucket}:{user_id}"


def _take_locally(user_id: int, buckets: list[str]) -> float:
    now = time.monotonic()
    with _lock:
        held = []
        for bucket in buckets:
            limit = limit_of(bucket)
            state = _local.get((bucket, user_id))
            if state is None or state.rate != limit.per_second or state.burst != limit.burst:
                state = _local[(bucket, user_id)] = TokenBucket(limit.per_second, limit.burst)
            state.refill(now)
            held.append(state)
        wait = max(state.wait() for state in held)
        if wait == 0:
            for state in held:
                state.tokens -= 1
        return wait


def take(user_id: int, *buckets: str) -> float:
    """Take one token from each of the person's `buckets`, all or none: 0 when taken, else the seconds
    until they would be there."""
    names = list(dict.fromkeys(buckets))
    if not names:
        return 0.0
    if settings.REDIS_URL:
        args: list[float] = []
        for bucket in names:
            limit = limit_of(bucket)
            args += [limit.per_second, limit.burst]
        try:
            return float(_script()(keys=[key_of(b, user_id) for b in names], args=args))
        except Exception:  # Redis down: this process' buckets rather than refusing everyone
            pass
    return _take_locally(user_id, names)


def refuse(wait: float) -> HubError:
    seconds = max(1, math.ceil(wait))
    return HubError(RATE_LIMITED, _("Too many requests; try again in %(retry_after)s s."),
                    extra={"retry_after": seconds}, retry_after=seconds)


def charge_user(user_id: int, *buckets: str) -> None:
    """Charge `user_id` now, or raise HubError(RATE_LIMITED) with `retry_after`."""
    wait = take(user_id, *buckets)
    if wait > 0:
        raise refuse(wait)


# --- who is acting -------------------------------------------------------------------------------------

@dataclass
class _Acting:
    user_id: int
    pending: list[str] = field(default_factory=list)  # charged with the next `charge()`
    charged: set[str] = field(default_factory=set)  # each bucket at most once per request or frame


_acting: contextvars.ContextVar[_Acting | None] = contextvars.ContextVar("hub_rate_limited", default=None)


@contextmanager
def acting_for(user_id: int, pending: tuple[str, ...] = ()) -> Iterator[None]:
    """Within this block, `charge()` charges `user_id`; `pending` buckets go with the first charge (a
    socket frame's `write`, taken in the worker thread where the frame's work starts)."""
    token = _acting.set(_Acting(user_id, list(pending)))
    try:
        yield
    finally:
        _acting.reset(token)


def begin_request(user_id: int) -> None:
    """The API's authentication: this request acts for `user_id` (until `end_request`)."""
    _acting.set(_Acting(user_id))


def end_request(token: contextvars.Token) -> None:
    _acting.reset(token)


def open_request() -> contextvars.Token:
    """Around each HTTP request (RateLimitScopeMiddleware): nobody acts until authentication says."""
    return _acting.set(None)


def charge(*buckets: str) -> None:
    """Charge the person the current request or frame acts for — the pending buckets and these — or
    raise HubError(RATE_LIMITED). Outside any request or frame, nothing (seeding, workers, commands)."""
    acting = _acting.get()
    if acting is None:
        return
    names = [name for name in dict.fromkeys([*acting.pending, *buckets]) if name not in acting.charged]
    acting.pending.clear()
    if names:
        charge_user(acting.user_id, *names)
        acting.charged.update(names)


def has_pending() -> bool:
    acting = _acting.get()
    return acting is not None and bool(acting.pending)


def reset_local() -> None:
    with _lock:
        _local.clear()


class RateLimitScopeMiddleware:
    """Each HTTP request starts with nobody to charge and leaves none behind for the next request its
    thread serves; the API's authentication names the person (hub/lib/api_support.py)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = open_request()
        try:
            return self.get_response(request)
        finally:
            end_request(token)
