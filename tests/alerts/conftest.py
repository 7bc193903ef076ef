"""The cast of the alert tests: three centres with their people, and helpers to raise and listen."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from hub.models import WsTicket
from tests.factories import staff


@dataclass
class Cast:
    """HT raises; DN and QB receive. `admin` is a hub admin outside any centre."""

    ht_security: Any
    ht_manager: Any
    dn_security: Any
    dn_manager: Any
    dn_engineer: Any
    qb_manager: Any
    qb_engineer: Any
    admin: Any

    def everyone(self) -> list:
        return [getattr(self, name) for name in self.__dataclass_fields__]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The cast has eight people; PBKDF2 for each would dominate these tests' run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db) -> Cast:
    """tests.factories.staff: each name says the centre and the role."""

    def person(username: str, **extra: Any) -> Any:
        return staff(username, email=f"{username}@example.vn", **extra)

    return Cast(
        ht_security=person("ht.security"), ht_manager=person("ht.manager"),
        dn_security=person("dn.security"), dn_manager=person("dn.manager"), dn_engineer=person("dn.engineer"),
        qb_manager=person("qb.manager"), qb_engineer=person("qb.engineer"),
        admin=person("admin", centre=None),
    )


def alert_payload(**overrides) -> dict:
    payload = {
        "title": "Mã độc mã hóa dữ liệu trên máy chủ một cửa",
        "severity": "high",
        "tlp": "green",
        "description": "Phát hiện **ransomware** trên máy chủ.",
        "indicators": [{"type": "ipv4", "value": "203.0.113.7"}],
        "affected_systems": ["Hệ thống một cửa điện tử"],
        "recommended_actions": "Chặn IP tại tường lửa.",
    }
    payload.update(overrides)
    return payload


def raise_as(user, **overrides):
    """Raise through the one service function (what the API and the web UI call)."""
    from alerts.services import raise_alert

    payload = alert_payload(**overrides)
    return raise_alert(by=user, **payload)


async def listen(user) -> WebsocketCommunicator:
    """A connected `/ws/notifications/` socket for `user` (its hello frame consumed)."""
    from hub.asgi import application

    ticket = await sync_to_async(WsTicket.issue)(user)
    socket = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_json_from(timeout=5))["type"] == "hello"
    return socket


async def next_alert_frame(socket: WebsocketCommunicator) -> dict:
    """The next `alert` frame on a notifications socket (skipping unrelated frames such as mentions)."""
    while True:
        frame = await socket.receive_json_from(timeout=5)
        if frame["type"] == "alert":
            return frame
