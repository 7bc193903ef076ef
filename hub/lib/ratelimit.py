"""A token bucket, the arithmetic of the hub's flood control.

Two users: each socket's own bucket for the frames that cost a token (`HubConsumer.rate_limited_types`;
a socket lives in one process), and the per-user posting limit shared by HTTP and every socket
(`chat.ratelimit`), which keeps its buckets in Redis (one Lua script) and falls back on these, in
process, without Redis. There is no cache-backed bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float  # tokens added per second
    burst: int  # bucket size
    tokens: float = field(default=-1.0)
    updated: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.updated = float(self.burst), now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False
