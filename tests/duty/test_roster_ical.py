"""The roster as iCalendar (duty/ical.py, docs/duty.md): what the export tells whom — a person's email
only to their own centre and hub admins, the hub's one rule for contact details
(`hub.selectors.sees_contact_details`) — and the import: only for the roster's keepers, all or
nothing, every event the file cannot give a start and end for a 400 naming it."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
import time_machine
from django.test import Client

from duty import services
from duty.models import Shift
from hub.models import Centre
from tests.duty.conftest import local

pytestmark = pytest.mark.django_db

START = local(2026, 3, 2, 7, 30)
EMAILS = {"Nguyễn Thị An": "mailto:ht.security@example.vn", "Trần Văn Bình": "mailto:ht.security2@example.vn"}
NO_MAILBOX = {"Nguyễn Thị An": "mailto:ht.security@invalid", "Trần Văn Bình": "mailto:ht.security2@invalid"}


def rostered(cast) -> Shift:
    return services.create_shift(Centre.objects.get(code="HT"), by=cast.ht_manager, starts_at=START,
                                 ends_at=START + timedelta(hours=24), officer="ht.security", deputy="ht.security2")


def attendees(body: bytes) -> dict[str, str]:
    """Each ATTENDEE's name (CN) and address, over the file's events."""
    found = {}
    for event in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        listed = event.get("attendee")
        for attendee in listed if isinstance(listed, list) else [listed]:
            found[str(attendee.params["CN"])] = str(attendee)
    return found


@pytest.mark.parametrize("reader,sees", [
    ("ht_engineer", True),  # a colleague of the same centre
    ("ht_security", True),  # the officer themselves
    ("admin", True),  # a hub admin (of no centre)
    ("dn_manager", False),  # another centre, whatever the role
    ("dn_security", False),
])
def test_the_export_gives_a_person_s_email_to_their_own_centre_and_hub_admins_only(cast, api_client, reader, sees):
    rostered(cast)
    client = api_client(getattr(cast, reader))
    response = client.get("/api/v1/centres/HT/roster.ics?start=2026-03-01&end=2026-03-08")
    assert response.status_code == 200
    assert attendees(response.content) == (EMAILS if sees else NO_MAILBOX)
    body = response.content.decode().replace("\r\n ", "")  # unfolded (RFC 5545 §3.1)
    assert ("@example.vn" in body) is sees
    # Who stands the shift, by name and username, is everyone's to know (the roster's JSON says as much).
    assert "X-HUB-OFFICER:ht.security\r\n" in body and "X-HUB-DEPUTY:ht.security2\r\n" in body
    roster = client.get("/api/v1/centres/HT/roster?start=2026-03-01&end=2026-03-08").json()
    assert roster[0]["officer"]["display_name"] == "Nguyễn Thị An" and "example.vn" not in str(roster)


def test_the_private_feed_is_the_centre_s_own_and_carries_its_people_s_emails(cast, api_client):
    """Only the centre's managers see and give out the feed's address (`issue_roster_feed`): the
    feed is read as by the centre itself."""
    rostered(cast)
    url = api_client(cast.ht_manager).get("/api/v1/centres/HT/roster/feed").json()["url"]
    with time_machine.travel(START, tick=False):  # the feed: from a month ago to a year ahead
        response = Client().get(url.split("testserver", 1)[1])
    assert response.status_code == 200
    assert attendees(response.content) == EMAILS


def test_a_file_exported_by_another_centre_imports_back_by_its_usernames(cast, api_client):
    """The addresses naming no mailbox do not lose who stands the shift: the import reads X-HUB-OFFICER
    and X-HUB-DEPUTY first, so HT's manager may re-import what DN's manager downloaded."""
    shift = rostered(cast)
    exported = api_client(cast.dn_manager).get("/api/v1/centres/HT/roster.ics?start=2026-03-01&end=2026-03-08")
    response = api_client(cast.ht_manager).post("/api/v1/centres/HT/roster/import", exported.content,
                                                content_type="text/calendar")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 0, "updated": 1}
    shift.refresh_from_db()
    assert (shift.officer.username, shift.deputy and shift.deputy.username) == ("ht.security", "ht.security2")


def ics(event: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n" + event
            + "X-HUB-OFFICER:ht.security\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


BAD_EVENTS = {
    "a start that is no date": "UID:bad-1\r\nDTSTART:garbage\r\n",
    "a start that is a time of day": "UID:bad-2\r\nDTSTART;VALUE=TIME:080000\r\n",
    "a start that is a period": "UID:bad-3\r\nDTSTART;VALUE=PERIOD:20270101T080000Z/PT8H\r\n",
    "two starts": "UID:bad-4\r\nDTSTART:20270101T080000Z\r\nDTSTART:20270102T080000Z\r\n",
    "a duration that is no duration": "UID:bad-5\r\nDTSTART:20270101T080000Z\r\nDURATION:xx\r\n",
    "a duration that is a moment":
        "UID:bad-6\r\nDTSTART:20270101T080000Z\r\nDURATION;VALUE=DATE-TIME:20270101T160000Z\r\n",
    "an end and a duration": "UID:bad-7\r\nDTSTART:20270101T080000Z\r\nDTEND:20270101T160000Z\r\nDURATION:PT8H\r\n",
    "a day that ends at a time": "UID:bad-8\r\nDTSTART;VALUE=DATE:20270101\r\nDTEND:20270101T160000Z\r\n",
    "a start at the end of year 9999": "UID:bad-9\r\nDTSTART:99991231T230000Z\r\nDURATION:P3D\r\n",
    "the last day of year 9999": "UID:bad-10\r\nDTSTART;VALUE=DATE:99991231\r\n",
    "a start in year 1": "UID:bad-11\r\nDTSTART;TZID=Asia/Ho_Chi_Minh:00010101T000000\r\nDURATION:PT8H\r\n",
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_an_event_without_a_usable_start_and_end_is_a_400_naming_it(cast, api_client, case):
    client = api_client(cast.ht_manager)
    client.raise_request_exception = False
    response = client.post("/api/v1/centres/HT/roster/import", ics(BAD_EVENTS[case]), content_type="text/calendar")
    assert response.status_code == 400, (response.status_code, response.content[:200])
    error = response.json()["error"]
    assert error["fields"] == ["file"]
    uid = BAD_EVENTS[case].split("\r\n", 1)[0].removeprefix("UID:")
    assert error["detail"].startswith(f"Sự kiện {uid}: ")  # Vietnamese, the hub's language
    assert not Shift.objects.exists()


def test_the_reason_is_in_the_reader_s_language(cast, api_client):
    client = api_client(cast.ht_manager)
    response = client.post("/api/v1/centres/HT/roster/import", ics(BAD_EVENTS["a start that is no date"]),
                           content_type="text/calendar", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"]["detail"].startswith("Event bad-1: its start, end or duration is not a date")


@pytest.mark.parametrize("who", ["ht_engineer", "ht_security", "dn_manager"])
@pytest.mark.parametrize("body", [b"", ics(BAD_EVENTS["a start that is no date"])], ids=["empty", "broken"])
def test_only_the_roster_s_keepers_reach_the_import_whatever_the_file(cast, api_client, who, body):
    """Refused before the file is read: an empty or broken file is a 403, not a 400 or a 500."""
    client = api_client(getattr(cast, who))
    client.raise_request_exception = False
    response = client.post("/api/v1/centres/HT/roster/import", body, content_type="text/calendar")
    assert response.status_code == 403, (response.status_code, response.content[:200])
    assert response.json()["error"]["code"] == "forbidden"
