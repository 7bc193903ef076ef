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
