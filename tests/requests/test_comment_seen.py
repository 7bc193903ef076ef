"""A request shows whether the other centre has seen its latest public comment (requests/seen.py):
opening the request's page after the comment is what counts, by someone of the other centre."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from requests.services import add_comment, create_ticket

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
