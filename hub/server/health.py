"""`GET /healthz`: checks the database and the channel layer for real, each with a short timeout."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 2.0


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # any failure is "unhealthy", with the reason for the operator
        logger.warning("healthz: database check failed: %s", exc)
        return f"error: {type(exc).__name__}"
    finally:
        connection.close_if_unusable_or_obsolete()


async def _check_channel_layer() -> str:
    try:
        if settings.REDIS_URL:
            import redis.asyncio as aioredis

            client = aioredis.from_url(
                settings.REDIS_URL, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
            )
            try:
                await asyncio.wait_for(client.ping(), TIMEOUT_SECONDS)
            finally:
                await client.aclose()
        else:
            from hub.realtime.publisher import channel_layer

            layer = channel_layer()
            channel = await layer.new_channel("healthz.")
            await layer.send(channel, {"type": "healthz"})
            await asyncio.wait_for(layer.receive(channel), TIMEOUT_SECONDS)
        return "ok"
    except Exception as exc:
        logger.warning("healthz: channel layer check failed: %r", exc)
        return f"error: {type(exc).__name__}"


async def healthz(request):
    database, channel_layer = await asyncio.gather(
        sync_to_async(_check_database, thread_sensitive=False)(), _check_channel_layer()
    )
    healthy = database == "ok" and channel_layer == "ok"
    body = {"status": "ok" if healthy else "error", "database": database, "channel_layer": channel_layer}
    return JsonResponse(body, status=200 if healthy else 503)
