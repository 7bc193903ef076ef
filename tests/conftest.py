"""Fixtures shared by every test package: people, API clients, channel layers, live servers."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.live import HubServer, start_hub  # noqa: F401  (re-exported for test modules)


@pytest.fixture(autouse=True)
def _fresh_channel_layers():
    """Each test gets new channel-layer objects: an in-memory layer's queues (and a Redis layer's
    connections) belong to the event loop of the test that created them."""
    from channels.layers import channel_layers

    channel_layers.backends = {}
    yield
    channel_layers.backends = {}


@pytest.fixture(autouse=True)
def _no_axes_lockouts_between_tests(settings):
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with full rate-limit buckets (hub/lib/ratelimit.py): in this process, and in
    Redis under this run's prefix (user ids restart with each test database)."""
    from django.conf import settings

    from hub.lib.ratelimit import reset_local

    reset_local()
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{settings.CHANNEL_LAYER_PREFIX}:rate:*", count=500))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def seeded(db):
    """The demo data set: every centre, topic and demo user of `seed_demo` (without history)."""
    from django.core.management import call_command

    call_command("seed_demo", stdout=open("/dev/null", "w"))


@pytest.fixture
def make_user(db):
    """`make_user(username, centre="HT", role="engineer", **fields)`: tests.factories.UserFactory
    with the centre by code (None: no centre)."""
    from tests.factories import CentreFactory, UserFactory

    def make(username: str, centre: str | None = "HT", role: str = "engineer", **extra):
        return UserFactory.create(username=username, centre=CentreFactory.create(code=centre) if centre else None,
                                  role=role, **extra)

    return make


def token_for(user) -> str:
    from hub.models import ApiToken

    return ApiToken.issue(user)[1]


@pytest.fixture
def api_client():
    """`api_client(user)` → a test client that sends `Authorization: Token …` for that user."""

    def make(user) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Token {token_for(user)}")

    return make


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Let the test database be dropped at the end: sockets served from thread pools and server
    subprocesses may still hold PostgreSQL sessions on it."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
