"""Live `ticket` frames on `/ws/notifications/`: every change is stored, then reaches both centres of
the ticket and its watchers — and nobody else; internal notes reach only the target centre."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from hub.models import WsTicket
from requests import services
from requests.models import Ticket
from tests.factories import staff

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user) -> WebsocketCommunicator:
    ticket = await sync_to_async(WsTicket.issue)(user)
    communicator = WebsocketCommunicator(application, f"/ws/notifications/?ticket={ticket}")
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from(timeout=3))["type"] == "hello"
    return communicator


async def sockets(*users) -> list[WebsocketCommunicator]:
    return [await connect(u) for u in users]


async def close(*communicators) -> None:
    for c in communicators:
        await c.disconnect()


async def next_frame(communicator) -> dict:
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "ticket"
    return frame


async def test_a_new_ticket_reaches_both_centres_and_not_a_third(people):
    ht, dn, qb = await sockets(people.ht_manager, people.dn_security, people.qb_engineer)
    ticket = await sync_to_async(services.create_ticket)(
        by=people.ht_engineer, title="Hỗ trợ cấu hình WAF", category="security", priority="high",
        target_centre="DN")
    for socket in (ht, dn):
        frame = await next_frame(socket)
        assert frame["ticket"]["reference"] == ticket.reference
        assert frame["ticket"]["status"] == "new"
        assert frame["event"]["kind"] == "created"
        # What the frame says is already in the database.
        assert await sync_to_async(Ticket.objects.filter(pk=frame["ticket"]["id"]).exists)()
    assert await qb.receive_nothing(timeout=0.5)
    await close(ht, dn, qb)


async def test_every_change_is_a_frame_to_both_sides(people):
    ticket = await sync_to_async(services.create_ticket)(
        by=people.ht_engineer, title="Chia sẻ phần mềm", category="software", target_centre="DN")
    ht, dn, qb = await sockets(people.ht_engineer, people.dn_engineer, people.qb_manager)
    steps: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
        (services.transition_ticket, {"by": people.dn_engineer, "to": "accepted"}, "transition"),
        (services.assign_ticket, {"by": people.dn_manager, "username": "dn.security"}, "assigned"),
        (services.update_ticket, {"by": people.ht_engineer, "changes": {"title": "Chia sẻ phần mềm một cửa"}}, "field"),
        (services.add_comment, {"by": people.ht_engineer, "body": "Đã gửi tài liệu"}, "comment"),
        (services.transition_ticket, {"by": people.dn_security, "to": "in_progress"}, "transition"),
    ]
    version = 1
    for action, kwargs, kind in steps:
        await sync_to_async(action)(ticket, **kwargs)
        for socket in (ht, dn):
            frame = await next_frame(socket)
            assert frame["event"]["kind"] == kind
            assert frame["ticket"]["version"] > version
        version = frame["ticket"]["version"]
    assert frame["ticket"]["status"] == "in_progress"
    assert frame["ticket"]["assignee"]["username"] == "dn.security"
    assert await qb.receive_nothing(timeout=0.5)
    await close(ht, dn, qb)


async def test_internal_notes_reach_only_the_target_centre(people):
    ticket = await sync_to_async(services.create_ticket)(
        by=people.ht_engineer, title="Hỏi về đào tạo", category="training", target_centre="DN")
    ht, dn, qb = await sockets(people.ht_manager, people.dn_manager, people.qb_manager)
    await sync_to_async(services.add_comment)(ticket, by=people.dn_engineer, body="Nội bộ: chưa đủ giảng viên",
                                              internal=True)
    frame = await next_frame(dn)
    assert frame["comment"]["internal"] is True and frame["event"]["internal"] is True
    assert await ht.receive_nothing(timeout=0.5)
    assert await qb.receive_nothing(timeout=0.5)
    await sync_to_async(services.add_comment)(ticket, by=people.dn_engineer, body="Chúng tôi sẽ trả lời trong tuần")
    assert (await next_frame(ht))["comment"]["body"] == "Chúng tôi sẽ trả lời trong tuần"
    assert (await next_frame(dn))["comment"]["internal"] is False
    await close(ht, dn, qb)


async def test_an_any_centre_request_reaches_every_centre_until_one_accepts(people):
    ht, dn, qb = await sockets(people.ht_engineer, people.dn_engineer, people.qb_engineer)
    ticket = await sync_to_async(services.create_ticket)(
        by=people.ht_engineer, title="Cần chuyên gia tư vấn dự án", category="consulting", target_centre=None)
    for socket in (ht, dn, qb):
        assert (await next_frame(socket))["ticket"]["target_centre"] is None
    await sync_to_async(services.transition_ticket)(ticket, by=people.qb_engineer, to="accepted")
    for socket in (ht, qb):
        assert (await next_frame(socket))["ticket"]["target_centre"] == "QB"
    await sync_to_async(services.add_comment)(ticket, by=people.qb_engineer, body="Đã nhận")
    await next_frame(ht), await next_frame(qb)
    # DN is out of it now: told once to take it off its pages (tests/requests/test_withdrawn.py), then nothing.
    assert await dn.receive_json_from(timeout=5) == {"type": "ticket.withdrawn", "id": ticket.pk}
    assert await dn.receive_nothing(timeout=0.5)
    await close(ht, dn, qb)


async def test_a_watcher_of_another_centre_gets_the_frames(people):
    ticket = await sync_to_async(services.create_ticket)(
        by=people.ht_engineer, title="Hội thảo chuyển đổi số", category="events", target_centre="DN")
    await sync_to_async(services.add_watcher)(ticket, by=people.ht_manager, username="qb.engineer")
    qb, qb_other = await sockets(people.qb_engineer, people.qb_manager)
    await sync_to_async(services.transition_ticket)(ticket, by=people.dn_engineer, to="accepted")
    assert (await next_frame(qb))["ticket"]["status"] == "accepted"
    assert await qb_other.receive_nothing(timeout=0.5)  # watching is personal, not for the whole centre
    await close(qb, qb_other)


async def test_a_refused_change_sends_nothing(people):
    from hub.errors import HubError

    ticket = await sync_to_async(services.create_ticket)(
        by=people.ht_engineer, title="Thử", category="other", target_centre="DN")
    ht, dn = await sockets(people.ht_engineer, people.dn_engineer)
    with pytest.raises(HubError):
        await sync_to_async(services.transition_ticket)(ticket, by=people.ht_engineer, to="accepted")
    assert await ht.receive_nothing(timeout=0.5)
    assert await dn.receive_nothing(timeout=0.5)
    await close(ht, dn)


async def test_a_merge_reaches_both_centres_each_about_its_own_request(people):
    """Issue 26 §4: the duplicate's centre hears that it was merged, the survivor's that it took it in;
    a centre that reads neither hears nothing."""
    survivor = await sync_to_async(services.create_ticket)(
        by=people.ht_engineer, title="Cổng dịch vụ công lỗi chứng thư số", category="security", target_centre="DN")
    duplicate = await sync_to_async(services.create_ticket)(
        by=people.qb_engineer, title="Lỗi chứng thư số", category="security", target_centre="DN")
    hue_engineer = await sync_to_async(staff)("hue.engineer")
    ht, qb, dn, hue = await sockets(people.ht_manager, people.qb_manager, people.dn_manager, hue_engineer)
    await sync_to_async(services.merge_ticket)(duplicate, by=people.dn_engineer, into=survivor.pk)
    frame = await next_frame(ht)
    assert (frame["ticket"]["id"], frame["event"]["kind"]) == (survivor.pk, "merged_from")
    frame = await next_frame(qb)
    assert (frame["ticket"]["id"], frame["event"]["kind"], frame["ticket"]["merged_into"]) == (
        duplicate.pk, "merged", survivor.pk)
    seen = {(f["ticket"]["id"], f["event"]["kind"]) for f in [await next_frame(dn), await next_frame(dn)]}
    assert seen == {(duplicate.pk, "merged"), (survivor.pk, "merged_from")}
    assert await hue.receive_nothing(timeout=0.5)
    await close(ht, qb, dn, hue)
