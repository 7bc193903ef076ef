"""The MOU's events calendar through the API: organising, changing, cancelling, registering per
centre, the reminder the day before (frame and email, once), the iCalendar export and private feed,
and the yearly report's count."""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import pytest
import time_machine
from django.core import mail
from django.test import Client

from events.models import Event
from events.services import send_reminders
from notify.delivery import deliver_emails
from notify.models import Email
from reports.selectors import cooperation_report
from tests.moments import CALENDAR_EDGES, refused_beyond_the_years

pytestmark = pytest.mark.django_db(transaction=True)  # reminders leave after commit

NOW = datetime.fromisoformat("2026-12-07T09:00:00+07:00")
START = "2027-01-15T08:00:00+07:00"
END = "2027-01-15T17:00:00+07:00"


def workshop(**extra):
    return {"title": "Hội thảo ATTT miền Trung", "kind": "workshop", "starts_at": START, "ends_at": END,
            "place": "Đà Nẵng", **extra}


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_manager_organises_people_register_and_attendance_is_counted_by_centre(cast, api_client):
    created = api_client(cast.dn_manager).post("/api/v1/events", workshop(), content_type="application/json")
    assert created.status_code == 201, created.content
    event = created.json()
    assert (event["organiser"], event["registered_count"], event["can_edit"]) == ("DN", 0, True)
    for person in (cast.dn_security, cast.hue_security, cast.hue_engineer):
        assert api_client(person).post(f"/api/v1/events/{event['id']}/register").status_code == 200
    again = api_client(cast.hue_engineer).post(f"/api/v1/events/{event['id']}/register").json()
    assert again["registered"] is True and again["registered_count"] == 3  # registering twice changes nothing
    assert [(g["centre"], g["count"]) for g in again["registrations"]] == [("DN", 1), ("HUE", 2)]
    assert {p["username"] for p in again["registrations"][1]["people"]} == {"hue.security", "hue.engineer"}
    assert again["can_edit"] is False

    left = api_client(cast.hue_engineer).post(f"/api/v1/events/{event['id']}/unregister").json()
    assert left["registered"] is False and left["registered_count"] == 2

    listed = api_client(cast.ht_manager).get("/api/v1/events?start=2027-01-01&end=2027-02-01").json()
    assert [e["title"] for e in listed["results"]] == ["Hội thảo ATTT miền Trung"] and listed["next"] is None
    assert api_client(cast.ht_manager).get("/api/v1/events?start=2027-02-01&end=2027-03-01").json()["results"] == []


@pytest.mark.parametrize("change, field", [
    ({"ends_at": START}, "ends_at"),
    ({"place": "", "online_url": ""}, "place"),
    ({"place": "", "online_url": "javascript:alert(1)"}, "online_url"),
    ({"title": ""}, "title"),
    ({"kind": "party"}, "kind"),
    ({"topic": "khong-co"}, "topic"),
])
def test_bad_events_are_refused_naming_the_field_in_vietnamese(cast, api_client, change, field):
    response = api_client(cast.dn_manager).post("/api/v1/events", workshop(**change), content_type="application/json",
                                                 HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400
    assert field in response.json()["error"]["detail"]
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("query", "field"), [
    ("start=0001-01-01&end=0001-01-05", "start"),  # a local midnight of year 1 is before the first in UTC
    ("end=9999-12-31", "end"),
    ("start=1999-12-31", "start"),
])
def test_a_calendar_read_beyond_the_years_2000_to_2999_is_refused_in_vietnamese(cast, api_client, query, field):
    refused_beyond_the_years(api_client(cast.dn_manager), f"/api/v1/events?{query}", field)


@pytest.mark.parametrize(("start", "end"), [
    *CALENDAR_EDGES, ("2026-12-31T20:00:00+07:00", "3000-01-01T08:00:00+07:00")])
def test_an_event_outside_the_years_2000_to_2999_is_refused_in_vietnamese(cast, api_client, start, end):
    client = api_client(cast.dn_manager)
    client.raise_request_exception = False
    response = client.post("/api/v1/events", workshop(starts_at=start, ends_at=end), content_type="application/json",
                           HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["fields"] in (["starts_at"], ["ends_at"])
    assert error["detail"].endswith(": một ngày trong khoảng năm 2000 đến 2999.")
    assert Event.objects.count() == 0


def test_only_managers_organise_and_only_the_organisers_change_or_cancel(cast, api_client):
    assert api_client(cast.dn_security).post("/api/v1/events", workshop(),
                                             content_type="application/json").status_code == 403
    event = api_client(cast.dn_manager).post("/api/v1/events", workshop(), content_type="application/json").json()
    patch = {"title": "Hội thảo (đổi tên)"}
    assert api_client(cast.ht_manager).patch(f"/api/v1/events/{event['id']}", patch,
                                             content_type="application/json").status_code == 403
    changed = api_client(cast.dn_manager).patch(f"/api/v1/events/{event['id']}", patch, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["title"] == "Hội thảo (đổi tên)"
    assert api_client(cast.ht_manager).post(f"/api/v1/events/{event['id']}/cancel").status_code == 403
    cancelled = api_client(cast.dn_manager).post(f"/api/v1/events/{event['id']}/cancel").json()
    assert cancelled["cancelled_at"] is not None
    refused = api_client(cast.hue_security).post(f"/api/v1/events/{event['id']}/register")
    assert refused.status_code == 409
    # A hub admin organises for any centre.
    other = api_client(cast.admin).post("/api/v1/events", workshop(organiser="HUE"), content_type="application/json")
    assert other.status_code == 201 and other.json()["organiser"] == "HUE"


def test_registrants_are_reminded_the_day_before_once(cast, api_client):
    event = api_client(cast.dn_manager).post("/api/v1/events", workshop(), content_type="application/json").json()
    api_client(cast.hue_security).post(f"/api/v1/events/{event['id']}/register")
    api_client(cast.dn_security).post(f"/api/v1/events/{event['id']}/register")
    day_before = datetime.fromisoformat(START) - timedelta(hours=24)
    assert send_reminders(now=day_before - timedelta(minutes=1)).events == []
    report = send_reminders(now=day_before)
    assert [e.pk for e in report.events] == [event["id"]] and report.people == 2
    # The emails are notify's outbox rows, sent by its delivery job (tests/events/test_event_email.py).
    assert sorted(Email.objects.filter(type="event").values_list("user__username", flat=True)) == [
        "dn.security", "hue.security"]
    assert deliver_emails(now=day_before)["sent"] == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["dn.security@example.vn", "hue.security@example.vn"]
    assert "Hội thảo ATTT miền Trung" in mail.outbox[0].subject
    assert send_reminders(now=day_before + timedelta(minutes=5)).events == []  # once
    assert deliver_emails(now=day_before + timedelta(minutes=5))["sent"] == 0
    assert len(mail.outbox) == 2


def test_the_calendar_as_icalendar_and_the_private_feed(cast, api_client):
    event = api_client(cast.dn_manager).post("/api/v1/events", workshop(), content_type="application/json").json()
    ics = api_client(cast.hue_security).get("/api/v1/events.ics")
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    (vevent,) = icalendar.Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(vevent["uid"]) == event["uid"] and str(vevent["location"]) == "Đà Nẵng"
    url = api_client(cast.hue_security).get("/api/v1/events/feed").json()["url"]
    path = url.split("testserver", 1)[1]
    assert Client().get(path).status_code == 200
    api_client(cast.hue_security).post("/api/v1/events/feed/reset")
    assert Client().get(path).status_code == 404


def test_the_yearly_report_counts_the_events_held(cast, api_client):
    api_client(cast.dn_manager).post("/api/v1/events", workshop(), content_type="application/json")
    second = api_client(cast.dn_manager).post("/api/v1/events", workshop(title="Khóa học"),
                                              content_type="application/json").json()
    api_client(cast.dn_manager).post(f"/api/v1/events/{second['id']}/cancel")
    assert cooperation_report(2027).network["events"] == 1  # the cancelled one was not held
    assert cooperation_report(2026).network["events"] == 0


def test_ids_beyond_the_column_are_absent_not_errors(cast, api_client):
    client = api_client(cast.dn_manager)
    assert client.get(f"/api/v1/events/{2**70}").status_code == 404
    assert client.post(f"/api/v1/events/{2**63}/register").status_code == 404
    assert client.patch(f"/api/v1/roster/{2**64}", {}, content_type="application/json").status_code == 404
