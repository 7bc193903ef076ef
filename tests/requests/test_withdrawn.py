"""`ticket.withdrawn` on `/ws/notifications/`: when a request's readers shrink (a watcher removed, its
TLP raised past its watchers, accepted by one centre, merged), the people who could read it and no
longer can are told to take it off their pages — its id, nothing else — while its readers get the
usual `ticket` frame, and nobody else hears anything (a hub admin reads every request)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from requests import services
from tests.requests.test_live import close, sockets

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_until_quiet(socket) -> list[dict]:
    frames = []
    while not await socket.receive_nothing(timeout=0.5):
        frames.append(await socket.receive_json_from(timeout=5))
    return frames


def kinds(frames: list[dict]) -> list[tuple[str, str | int]]:
    return [(f["type"], f["event"]["kind"] if f["type"] == "ticket" else f["id"]) for f in frames]


async def test_a_removed_watcher_is_told_the_request_is_withdrawn_and_its_readers_are_not(people, new_ticket):
    ticket = await sync_to_async(new_ticket)(target="DN")
    await sync_to_async(services.add_watcher)(ticket, by=people.ht_engineer, username="qb.engineer")
    await sync_to_async(services.add_watcher)(ticket, by=people.ht_engineer, username="qb.manager")
    qb, qb_still, ht, dn, admin = await sockets(people.qb_engineer, people.qb_manager, people.ht_engineer,
                                                people.dn_manager, people.admin)
    try:
        await sync_to_async(services.remove_watcher)(ticket, by=people.ht_engineer, username="qb.engineer")
        # The leaving watcher hears of its removal, then that the request is withdrawn from them.
        assert kinds(await frames_until_quiet(qb)) == [("ticket", "watcher_removed"), ("ticket.withdrawn", ticket.pk)]
        for socket in (qb_still, ht, dn, admin):
            assert kinds(await frames_until_quiet(socket)) == [("ticket", "watcher_removed")]
    finally:
        await close(qb, qb_still, ht, dn, admin)


async def test_raising_the_tlp_past_the_watchers_withdraws_the_request_from_them(people, new_ticket):
    """AMBER+STRICT and RED keep a request to its two centres: a watcher of a third one loses it."""
    ticket = await sync_to_async(new_ticket)(target="DN")
    await sync_to_async(services.add_watcher)(ticket, by=people.ht_engineer, username="qb.engineer")
    qb, qb_other, ht, dn, admin = await sockets(people.qb_engineer, people.qb_manager, people.ht_engineer,
                                                people.dn_manager, people.admin)
    try:
        await sync_to_async(services.update_ticket)(ticket, by=people.ht_engineer, changes={"tlp": "red"})
        withdrawn = await frames_until_quiet(qb)
        assert withdrawn == [{"type": "ticket.withdrawn", "id": ticket.pk}]  # the id, no content
        for socket in (ht, dn, admin):
            frames = await frames_until_quiet(socket)
            assert [(f["type"], f["ticket"]["tlp"]) for f in frames] == [("ticket", "red")]
        assert await frames_until_quiet(qb_other) == []  # watching is personal: never read it
        # A change that keeps its readers withdraws nothing.
        await sync_to_async(services.update_ticket)(ticket, by=people.ht_engineer, changes={"title": "Rà soát gấp"})
        assert await frames_until_quiet(qb) == []
        assert kinds(await frames_until_quiet(dn)) == [("ticket", "field")]
    finally:
        await close(qb, qb_other, ht, dn, admin)


async def test_a_request_to_any_centre_is_withdrawn_from_the_others_when_one_accepts_it(people, new_ticket):
    ticket = await sync_to_async(new_ticket)(target=None)
    ht, dn, qb, admin = await sockets(people.ht_engineer, people.dn_engineer, people.qb_engineer, people.admin)
    try:
        await sync_to_async(services.transition_ticket)(ticket, by=people.qb_engineer, to="accepted")
        assert kinds(await frames_until_quiet(dn)) == [("ticket.withdrawn", ticket.pk)]
        for socket in (ht, qb, admin):
            assert kinds(await frames_until_quiet(socket)) == [("ticket", "transition")]
    finally:
        await close(ht, dn, qb, admin)
