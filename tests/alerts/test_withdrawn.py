"""`alert.withdrawn` on `/ws/notifications/`: when an alert's marking tightens (TLP raised, sharing
narrowed), the people who could see it and no longer can are told to take it off their pages — its id,
nothing else — while those who still may see it get the usual `alert` update, and nobody else hears
anything (a hub admin sees every alert: never withdrawn from them)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from alerts.services import update_alert
from tests.alerts.conftest import listen, raise_as

pytestmark = pytest.mark.django_db(transaction=True)

KEEP = ["ht_security", "dn_security", "dn_manager", "admin"]  # AMBER shared with DN: HT's and DN's officers
LOSE = ["dn_engineer", "qb_manager", "qb_engineer"]  # GREEN reached them; AMBER (DN) does not


async def frames_until_quiet(socket) -> list[dict]:
    frames = []
    while not await socket.receive_nothing(timeout=0.5):
        frames.append(await socket.receive_json_from(timeout=5))
    return frames


async def test_raising_the_tlp_withdraws_the_alert_from_exactly_those_who_lose_it(cast):
    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="green")
    sockets = {name: await listen(getattr(cast, name)) for name in KEEP + LOSE}
    try:
        await sync_to_async(update_alert)(alert, by=cast.ht_security,
                                          changes={"tlp": "amber", "shared_with": ["DN"], "note": "Thu hẹp"})
        got = {name: await frames_until_quiet(socket) for name, socket in sockets.items()}
        for name in LOSE:
            assert got[name] == [{"type": "alert.withdrawn", "id": alert.pk}], name  # the id, no content
        for name in KEEP:
            assert [(f["type"], f["event"], f["alert"]["tlp"]) for f in got[name]] == [
                ("alert", "updated", "amber")], name

        # Widening it again withdraws nothing (everyone it reached still may see it) …
        await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"tlp": "green"})
        got = {name: await frames_until_quiet(socket) for name, socket in sockets.items()}
        assert all([f["type"] for f in frames] == ["alert"] for frames in got.values()), got
        # … nor does a change that leaves its audience as it was.
        await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"severity": "critical"})
        got = {name: await frames_until_quiet(socket) for name, socket in sockets.items()}
        assert all([f["type"] for f in frames] == ["alert"] for frames in got.values()), got
    finally:
        for socket in sockets.values():
            await socket.disconnect()


async def test_narrowing_the_sharing_withdraws_the_alert_from_the_centre_left_out(cast):
    """Sharing narrowed at the same TLP (AMBER with DN and QB → with DN): QB's officers lose it."""
    alert = await sync_to_async(raise_as)(cast.ht_security, tlp="amber", shared_with=["DN", "QB"])
    qb, dn, qb_engineer = await listen(cast.qb_manager), await listen(cast.dn_manager), await listen(cast.qb_engineer)
    try:
        await sync_to_async(update_alert)(alert, by=cast.ht_security, changes={"shared_with": ["DN"]})
        assert await frames_until_quiet(qb) == [{"type": "alert.withdrawn", "id": alert.pk}]
        assert [f["type"] for f in await frames_until_quiet(dn)] == ["alert"]
        assert await frames_until_quiet(qb_engineer) == []  # never saw it (AMBER: officers only)
    finally:
        for socket in (qb, dn, qb_engineer):
            await socket.disconnect()
