"""`/ws/notifications/`: frames are sent after commit, once per socket, and only to their audience."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from hub.asgi import application
from hub.models import WsTicket
from hub.realtime.audience import Audience
from hub.realtime.groups import ALL, centre_group, role_group, user_group

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user) -> WebsocketCommunicator:
    ticket = await sync_to_async(WsTicket.issue)(user)
    communicator = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from(timeout=3)
    assert hello["type"] == "hello"
    return communicator


def send_in_transaction(groups, frame, audience=None, rollback=False):
    from hub.realtime.publisher import broadcast_on_commit

    try:
        with transaction.atomic():
            broadcast_on_commit(groups, frame, audience)
            if rollback:
                raise RuntimeError("rolled back")
    except RuntimeError:
        pass


async def test_frame_reaches_the_audience_once_even_through_several_groups(make_user):
    ht_manager = await sync_to_async(make_user)("ht.manager", centre="HT", role="manager")
    dn_engineer = await sync_to_async(make_user)("dn.engineer", centre="DN", role="engineer")
    a, b = await connect(ht_manager), await connect(dn_engineer)
    frame = {"type": "alert", "alert": {"id": 1, "title": "Mã độc mới"}}
    await sync_to_async(send_in_transaction)(
        [ALL, centre_group("HT"), role_group("manager"), user_group(ht_manager.id)], frame,
        Audience(roles=frozenset({"manager", "security_officer"})),
    )
    assert await a.receive_json_from(timeout=3) == frame
    assert await a.receive_nothing(timeout=0.3)  # delivered once, not once per group
    assert await b.receive_nothing(timeout=0.3)  # an engineer is outside the audience
    await a.disconnect()
    await b.disconnect()


async def test_nothing_is_sent_when_the_transaction_rolls_back(make_user):
    user = await sync_to_async(make_user)("qt.engineer", centre="QT")
    socket = await connect(user)
    await sync_to_async(send_in_transaction)([ALL], {"type": "ticket", "ticket": {"id": 9}}, rollback=True)
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_bad_frames_get_error_frames_and_the_socket_stays_open(make_user):
    user = await sync_to_async(make_user)("qt.engineer", centre="QT")
    socket = await connect(user)
    for raw, code in [("not json", "invalid"), ("[1,2]", "invalid"), ('{"type": 5}', "invalid"),
                      ('{"type": "launch.missiles"}', "invalid"), ("x" * 40000, "too_large")]:
        await socket.send_to(text_data=raw)
        reply = await socket.receive_json_from(timeout=3)
        assert reply["type"] == "error" and reply["code"] == code, raw[:30]
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=3))["type"] == "pong"
    await socket.disconnect()
