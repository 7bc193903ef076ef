"""An event's reminder email goes through notify's outbox like every other email (issue 22 §5):
delivered to a real SMTP server (aiosmtpd, tests/notify/conftest.py) in the person's language, held
by quiet hours until their working time, retried after a refusal, dropped when the person withdrew
or chose not to get it by email — and the in-hub frame still reaches those who chose the hub."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from events.models import Event, Registration
from events.services import register, send_reminders, unregister
from hub.models import User
from notify.delivery import deliver_emails
from notify.models import Email
from notify.services import update_preferences
from tests.notify.conftest import smtp, subject, text_part  # noqa: F401  (the real SMTP server)

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime.fromisoformat("2027-01-15T08:00:00+07:00")  # a Friday


@pytest.fixture
def workshop(cast) -> Event:
    with time_machine.travel("2026-12-07T09:00:00+07:00", tick=False):
        event = Event.objects.create(title="Hội thảo ATTT miền Trung", kind="workshop", starts_at=START,
                                     ends_at=START + timedelta(hours=9), place="Đà Nẵng",
                                     organiser=cast.dn_manager.centre, created_by=cast.dn_manager)
        for person in (cast.hue_security, cast.dn_security):
            register(event, by=person)
    User.objects.filter(pk=cast.dn_security.pk).update(language="en")
    return event


def deliver(at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return deliver_emails(now=at)


def remind(at: datetime):
    with time_machine.travel(at, tick=False):
        return send_reminders(now=at)


def test_the_reminder_reaches_the_smtp_server_in_each_persons_language(cast, workshop, smtp):  # noqa: F811
    at = START - timedelta(hours=24)  # Thursday 08:00: working time, nothing held
    assert remind(at).people == 2
    assert deliver(at)["sent"] == 2
    by_address = {str(m["To"]): m for m in smtp.messages}
    vi, en = by_address["hue.security@example.vn"], by_address["dn.security@example.vn"]
    assert subject(vi) == "[Hub] Sắp diễn ra 08:00 15/01/2027: Hội thảo ATTT miền Trung"
    assert "Bạn đã đăng ký tham dự Hội thảo ATTT miền Trung" in text_part(vi)
    assert "Địa điểm: Đà Nẵng" in text_part(vi)
    assert subject(en) == "[Hub] Coming up 08:00 15/01/2027: Hội thảo ATTT miền Trung"
    assert "You registered for Hội thảo ATTT miền Trung" in text_part(en)
    assert f"/events/?event={workshop.pk}" in text_part(en)
    assert en["List-Unsubscribe"] and en["Auto-Submitted"] == "auto-generated"  # like every outbox email
    assert set(Email.objects.filter(type="event").values_list("status", flat=True)) == {"sent"}


def test_quiet_hours_hold_the_reminder_until_the_persons_working_time(cast, workshop, smtp):  # noqa: F811
    evening = START - timedelta(hours=14)  # Thursday 18:00, after office hours
    remind(evening)
    held = Email.objects.get(type="event", user=cast.hue_security)
    assert held.not_before == datetime.fromisoformat("2027-01-15T07:30:00+07:00")  # Friday's first minute
    assert deliver(evening)["sent"] == 0 and smtp.messages == []
    assert deliver(datetime.fromisoformat("2027-01-15T07:30:00+07:00"))["sent"] == 2
    assert len(smtp.messages) == 2


def test_a_refused_reminder_is_retried_and_a_withdrawn_one_is_not_sent(cast, workshop, smtp):  # noqa: F811
    at = START - timedelta(hours=24)
    remind(at)
    with time_machine.travel(at, tick=False):
        unregister(workshop, by=cast.dn_security)  # withdrew before the email left
    smtp.collector.refuse_next = 1  # the mail server refuses once (451)
    assert deliver(at) == {"sent": 0, "failed": 0, "retry": 1, "skipped": 1}
    retried = Email.objects.get(type="event", user=cast.hue_security)
    assert (retried.status, retried.attempts) == ("pending", 1) and "451" in retried.last_error
    assert deliver(at + timedelta(minutes=1))["sent"] == 1
    assert [str(m["To"]) for m in smtp.messages] == ["hue.security@example.vn"]
    assert Email.objects.get(type="event", user=cast.dn_security).status == "skipped"


def test_a_person_who_wants_reminders_in_the_hub_only_gets_no_email(cast, workshop, smtp):  # noqa: F811
    update_preferences(user=cast.hue_security, channels={"event": "hub"})
    update_preferences(user=cast.dn_security, channels={"event": "off"})
    assert remind(START - timedelta(hours=24)).people == 2
    assert Email.objects.filter(type="event").count() == 0
    assert Registration.objects.filter(event=workshop).count() == 2
