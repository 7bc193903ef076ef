"""Reference (a): the Channels tutorial design, as small as Django allows (not the hub's settings).

`BENCH_LAYER=core|pubsub` picks channels_redis' RedisChannelLayer or RedisPubSubChannelLayer.
`max_connections` is set on the host entry: without it channels-redis 4.3.0 with redis-py 8.1 fails
with `MaxConnectionsError` during a burst of connects (STACK-NOTES "Traps"), and the reference would
measure that bug instead of the design. `capacity` is raised from 100 so a saturated run queues
rather than drops (the run counts drops as losses).
"""

import os

SECRET_KEY = "bench-reference-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
ASGI_APPLICATION = "bench.reference.tutorial.asgi.application"
USE_TZ = True
DATABASES: dict = {}

_host = {"address": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), "max_connections": 1000}
_prefix = os.environ.get("BENCH_PREFIX", "bench-tutorial")
if os.environ.get("BENCH_LAYER", "core") == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [_host], "prefix": _prefix},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [_host], "prefix": _prefix, "capacity": 1000},
        }
    }
