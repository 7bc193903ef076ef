"""A request shows whether the other centre has seen its latest public comment (requests/seen.py):
opening the request's page after the comment is what counts, by someone of the other centre."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from requests.services import add_comment, add_watcher, create_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {"ht": make_user("ht.eng", centre="HT", display_name="Lê Hà"),
            "dn": make_user("dn.eng", centre="DN", display_name="Võ Đà"),
            "dn2": make_user("dn.eng2", centre="DN", display_name="Hồ Hai")}


def test_the_other_centre_has_seen_the_latest_comment_once_someone_opens_the_request(people, client, api_client):
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        ticket = create_ticket(by=people["ht"], title="Nhờ rà soát", category="security", target_centre="DN")
        add_comment(ticket, by=people["ht"], body="Chi tiết ở đây")
        seen = api_client(people["ht"]).get(f"/api/v1/tickets/{ticket.pk}/seen").json()
        assert (seen["other_centre"], seen["seen"], seen["seen_by"]) == ("DN", False, [])

        clock.move_to(now + timedelta(minutes=5))
        client.force_login(people["dn"])
        assert client.get(f"/tickets/{ticket.pk}/").status_code == 200
        seen = api_client(people["ht"]).get(f"/api/v1/tickets/{ticket.pk}/seen").json()
        assert (seen["seen"], seen["seen_by"]) == (True, ["Võ Đà"])

        # DN answers: now HT is the other centre, and has not opened the request since.
        clock.move_to(now + timedelta(minutes=10))
        add_comment(ticket, by=people["dn2"], body="Đã nhận")
        seen = api_client(people["dn"]).get(f"/api/v1/tickets/{ticket.pk}/seen").json()
        assert (seen["other_centre"], seen["seen"]) == ("HT", False)
    assert api_client(people["dn"]).get("/api/v1/tickets/999999/seen").status_code == 404



def test_a_read_by_the_api_with_a_token_counts_and_is_announced_once(people, api_client, monkeypatch):
    """A script of the other centre reading the request (`GET /api/v1/tickets/{id}` with a token) has
    seen the comment as much as a person on the page; the view that makes it seen is announced to
    the request's readers once (a `ticket.seen` frame), not at every later read."""
    from hub.realtime import publisher

    sent: list[dict] = []
    real = publisher.broadcast_on_commit

    def recording(groups, frame, audience=None, **kwargs):
        if frame.get("type") == "ticket.seen":
            sent.append(frame)
        return real(groups, frame, audience, **kwargs)

    monkeypatch.setattr(publisher, "broadcast_on_commit", recording)
    now = timezone.now()
    with time_machine.travel(now, tick=False) as clock:
        ticket = create_ticket(by=people["ht"], title="Nhờ rà soát", category="security", target_centre="DN")
        add_comment(ticket, by=people["ht"], body="Chi tiết ở đây")
        clock.move_to(now + timedelta(minutes=2))
        # The requester's own reads, and the /seen question itself, count for nothing.
        assert api_client(people["ht"]).get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
        assert api_client(people["dn"]).get(f"/api/v1/tickets/{ticket.pk}/seen").json()["seen"] is False
        assert sent == []
        reader = api_client(people["dn2"])
        assert reader.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
        clock.move_to(now + timedelta(minutes=3))
        assert reader.get(f"/api/v1/tickets/{ticket.reference}").status_code == 200  # again: no news
    seen = api_client(people["ht"]).get(f"/api/v1/tickets/{ticket.pk}/seen").json()
    assert (seen["other_centre"], seen["seen"], seen["seen_by"]) == ("DN", True, ["Hồ Hai"])
    assert len(sent) == 1
    assert sent[0]["ticket"] == ticket.pk and sent[0]["seen"]["seen_by"] == ["Hồ Hai"]


@pytest.fixture
def watched_with_a_red_comment(people, make_user):
    """HT asks DN under TLP:GREEN; QB's manager watches; HT's latest comment is TLP:RED (the two
    centres only), the one before it GREEN."""
    outsider = make_user("qb.manager", centre="QB", role="manager")
    ticket = create_ticket(by=people["ht"], title="Rà soát cổng dịch vụ công", category="security",
                           target_centre="DN", tlp="green")
    add_watcher(ticket, by=people["ht"], username="qb.manager")
    readable = add_comment(ticket, by=people["ht"], body="Nhờ Đà Nẵng kiểm tra giúp.")
    red = add_comment(ticket, by=people["ht"], body="Máy chủ đã bị xâm nhập, giữ kín.", tlp="red")
    return ticket, outsider, readable, red


def test_the_answer_is_about_the_latest_comment_the_asker_may_read(people, watched_with_a_red_comment, api_client):
    """A watcher from a third centre is told about the GREEN comment it reads, never of the RED one
    (requests.selectors.may_read_item) — as the request's page hides it from them."""
    ticket, outsider, readable, red = watched_with_a_red_comment
    client = api_client(outsider)
    assert [c["id"] for c in client.get(f"/api/v1/tickets/{ticket.pk}").json()["comments"]] == [readable.pk]
    seen = client.get(f"/api/v1/tickets/{ticket.pk}/seen").json()
    assert (seen["comment"], seen["other_centre"], seen["seen"]) == (readable.pk, "DN", False)
    assert api_client(people["ht"]).get(f"/api/v1/tickets/{ticket.pk}/seen").json()["comment"] == red.pk


@pytest.mark.django_db(transaction=True)
async def test_the_frame_about_a_red_comment_reaches_its_readers_only(people, watched_with_a_red_comment):
    """DN reading the request makes HT's RED comment seen: HT hears it live, the QB watcher (who
    reads the request but not that comment) hears nothing."""
    from asgiref.sync import sync_to_async

    from requests.seen import record_view
    from tests.chat.conftest import open_socket

    ticket, outsider, _, red = watched_with_a_red_comment
    sockets = []
    for person in (people["ht"], outsider):
        socket = await open_socket(person, "/ws/notifications/")
        assert (await socket.receive_json_from(timeout=5))["type"] == "hello"
        sockets.append(socket)
    requester, watcher = sockets
    await sync_to_async(record_view)(ticket, people["dn"])
    frame = await requester.receive_json_from(timeout=5)
    assert (frame["type"], frame["seen"]["comment"], frame["seen"]["seen"]) == ("ticket.seen", red.pk, True)
    assert await watcher.receive_nothing(timeout=0.5)
    for socket in sockets:
        await socket.disconnect()
