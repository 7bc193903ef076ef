"""Fixtures of the fault tests: a topic, people with tokens, hub processes that are always stopped."""

from __future__ import annotations

import signal

import pytest

from tests.live import HubServer, start_hub
from tests.services import postgres_problem, redis_problem, require


@pytest.fixture
def services(settings):
    """Only in the PostgreSQL + Redis pass: these tests run real servers against real services."""
    require(None if settings.REDIS_URL else "REDIS_URL is not set (second pass of make test)")
    require(None if settings.IS_POSTGRES else "DATABASE_URL is not PostgreSQL (second pass of make test)")
    require(redis_problem(settings.REDIS_URL))
    require(postgres_problem(settings.DATABASE_URL))
    return settings


@pytest.fixture
def topic(services):
    from chat.services import create_topic

    return create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Information security")


@pytest.fixture
def people(services, make_user):
    """`people(n, prefix)` → [(username, token)…]: engineers spread over a few centres."""
    from tests.conftest import token_for

    def make(n: int, prefix: str = "eng") -> list[tuple[str, str]]:
        centres = ["HT", "NA", "QB", "DN", "HUE"]
        out = []
        for i in range(n):
            user = make_user(f"{prefix}{i}", centre=centres[i % len(centres)])
            out.append((user.username, token_for(user)))
        return out

    return make


@pytest.fixture
def hubs(services, tmp_path):
    """`hubs(server="daphne", **env)` starts a hub process; all are killed at the end of the test."""
    started: list[HubServer] = []

    def start(server: str = "daphne", **env: str) -> HubServer:
        hub = start_hub(server, {"REDIS_URL": services.REDIS_URL, **env}, tmp_path)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.stop(signal.SIGKILL, timeout=5)
