"""Helpers for topic-channel tests: topics, sockets on the real ASGI app, frame waiting."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from hub.models import WsTicket

# Frames the server sends on its own (someone joined, someone is typing, someone's read receipt
# moved); tests waiting for a specific frame skip these unless they ask for them.
BACKGROUND = {"presence", "typing", "receipt"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """make_user hashes a password per person; the slow production hasher adds nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_buckets():
    """Empty rate buckets and presence for every test: in-process, and in Redis under this run's
    channel prefix (user ids restart with each new test database, so a bucket left by an earlier
    run could otherwise belong to a different person now)."""
    from django.conf import settings

    from chat.ratelimit import reset_local

    def clear() -> None:
        reset_local()
        if settings.REDIS_URL:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            keys = list(client.scan_iter(f"{settings.CHANNEL_LAYER_PREFIX}:chat:*", count=500))
            if keys:
                client.delete(*keys)
            client.close()

    clear()
    yield
    clear()


# The topic of the socket-level tests, and three people around it (modules may define their own).
SLUG = "an-toan-thong-tin"


@pytest.fixture
def people(make_user, make_topic):
    make_topic(SLUG)
    return {
        "dn": make_user("dn.engineer", centre="DN"),
        "ht": make_user("ht.engineer", centre="HT"),
        "hts": make_user("ht.security", centre="HT", role="security_officer"),
    }


@pytest.fixture
def cast(make_user):
    """People of several centres for the direct-conversation tests (and a hub admin)."""
    return {
        "ht": make_user("ht.engineer", centre="HT"),
        "dn": make_user("dn.engineer", centre="DN"),
        "qb": make_user("qb.manager", centre="QB", role="manager"),
        "hue": make_user("hue.engineer", centre="HUE"),
        "ct": make_user("ct.engineer", centre="CT"),
        "admin": make_user("admin", centre=None, role="hub_admin"),
    }


@pytest.fixture
def make_topic(db):
    from chat.services import create_topic

    def make(slug: str = "an-toan-thong-tin", **extra):
        return create_topic(slug=slug, name_vi=extra.pop("name_vi", f"Chủ đề {slug}"),
                            name_en=extra.pop("name_en", f"Topic {slug}"), **extra)

    return make


async def open_socket(user, path: str) -> WebsocketCommunicator:
    ticket = await sync_to_async(WsTicket.issue)(user)
    communicator = WebsocketCommunicator(application, f"{path}{'&' if '?' in path else '?'}ticket={ticket}")
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def open_topic(user, slug: str, query: str = "") -> WebsocketCommunicator:
    """A socket on /ws/topics/<slug>/ that is open and joined (its first presence frame is read)."""
    communicator = await open_socket(user, f"/ws/topics/{slug}/" + (f"?{query}" if query else ""))
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "presence", first
    return communicator


async def close_code(user, path: str) -> int | None:
    """Open a socket that the server is expected to refuse; return the close code."""
    communicator = await open_socket(user, path)
    output = await communicator.receive_output(timeout=5)
    assert output["type"] == "websocket.close", output
    return output.get("code")


async def next_frame(communicator: WebsocketCommunicator, *types: str, timeout: float = 5,
                     skip: tuple[str, ...] = ()) -> dict:
    """The next frame of one of `types`, skipping background frames (presence, typing) and `skip`."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] in types:
            return frame
        assert frame["type"] in BACKGROUND | set(skip), f"unexpected frame while waiting for {types}: {frame}"


async def nothing_but_background(communicator: WebsocketCommunicator, timeout: float = 0.3) -> bool:
    """True if nothing but presence/typing frames arrive within `timeout`."""
    while not await communicator.receive_nothing(timeout=timeout):
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] not in BACKGROUND:
            return False
    return True
