"""`/healthz` checks the database and the channel layer for real."""

import pytest
from django.test import AsyncClient

from tests.live import free_port


@pytest.mark.django_db
async def test_healthy_hub_reports_ok():
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "channel_layer": "ok"}


@pytest.mark.django_db
async def test_unreachable_redis_makes_healthz_503_naming_the_channel_layer(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["channel_layer"].startswith("error")
