"""Alert email, end to end over real SMTP: who gets it, at once or after quiet hours, in their language,
with TLP respected, one-click unsubscribe, retries when the mail server refuses, and the recipient's
rights checked again when it is sent."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from alerts.services import raise_alert
from hub.models import Role
from notify.delivery import deliver_emails
from notify.models import Email, Notification
from notify.services import expand_alert_notices, update_preferences
from tests.alerts.conftest import alert_payload
from tests.notify.conftest import html_part, subject, text_part

pytestmark = pytest.mark.django_db(transaction=True)

# Tuesday 2 June 2026, 09:00 in Hà Nội time: inside everyone's working hours.
WORKING = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)
# The same day at 22:00 local: outside them.
EVENING = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)


def raise_(user, **overrides):
    """Raise an alert, and expand its notice as the job `notify.alerts` does within seconds: the
    raise writes one outbox row, the expansion the readers' notifications and emails."""
    alert = raise_alert(by=user, **alert_payload(**overrides))
    expand_alert_notices()
    return alert


def test_a_critical_alert_mails_the_security_officers_at_once_in_their_language(cast, smtp):
    update_preferences(user=cast.dn_security, language="en")
    with time_machine.travel(WORKING, tick=True):
        alert = raise_(cast.ht_security, severity="critical", title="Mã độc mã hóa dữ liệu")
        assert smtp.messages == []  # raising never talks to a mail server: the worker does
        assert deliver_emails()["sent"] == 1
    [message] = smtp.messages
    assert message["To"] == "dn.security@dn.example.vn"  # not the raiser, not the managers (browser)
    assert subject(message) == f"[Hub] Critical alert #{alert.pk}: Mã độc mã hóa dữ liệu"
    assert message.get_content_type() == "multipart/alternative"
    url = f"http://127.0.0.1:8000/alerts/{alert.pk}/"
    assert url in text_part(message) and f'href="{url}"' in html_part(message)
    assert "203.0.113.7" in text_part(message)  # the indicators travel with a TLP:GREEN alert
    assert "Hello" in text_part(message)
    unsubscribe = str(message["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<http://127.0.0.1:8000/notifications/unsubscribe/") and unsubscribe.endswith(">")
    assert str(message["List-Unsubscribe-Post"]).strip() == "List-Unsubscribe=One-Click"
    assert str(message["Auto-Submitted"]).strip() == "auto-generated"
    sent = Email.objects.get()
    assert (sent.status, sent.to_address, sent.subject) == ("sent", "dn.security@dn.example.vn", subject(message))
    note = Notification.objects.get(user=cast.dn_security)
    assert (note.type, note.channel, note.email_id) == ("alert", "email", sent.pk)


def test_vietnamese_is_the_default_language(cast, smtp):
    with time_machine.travel(WORKING, tick=True):
        alert = raise_(cast.ht_security, severity="high", title="Dò quét cổng")
        deliver_emails()
    [message] = smtp.messages
    assert subject(message) == f"[Hub] Cảnh báo mức Cao #{alert.pk}: Dò quét cổng"
    assert "Xin chào" in text_part(message)


@pytest.mark.parametrize("tlp", ["red"])
def test_a_red_alert_never_puts_its_content_in_an_email(cast, smtp, tlp):
    with time_machine.travel(WORKING, tick=True):
        alert = raise_(cast.ht_security, severity="critical", tlp=tlp, shared_with=["DN"],
                       title="Tài khoản quản trị bị lộ", description="Mật khẩu của máy chủ X")
        deliver_emails()
    [message] = smtp.messages
    assert message["To"] == "dn.security@dn.example.vn"
    everything = subject(message) + text_part(message) + html_part(message)
    for secret in ("Tài khoản quản trị bị lộ", "Mật khẩu", "203.0.113.7", "một cửa"):
        assert secret not in everything
    assert f"/alerts/{alert.pk}/" in text_part(message)
    assert "TLP:RED" in text_part(message)


def test_only_people_who_may_read_the_alert_get_anything(cast, smtp):
    update_preferences(user=cast.dn_engineer, channels={"alert_critical": "email"})
    update_preferences(user=cast.qb_manager, channels={"alert_critical": "email"})
    with time_machine.travel(WORKING, tick=True):
        raise_(cast.ht_security, severity="critical", tlp="amber")  # security officers and managers only
        raise_(cast.ht_security, severity="critical", tlp="red", shared_with=["DN"])
        deliver_emails()
    recipients = sorted(str(m["To"]) for m in smtp.messages)
    # The engineer chose email: TLP:AMBER is not for engineers, but the red one is for all of DN;
    # QB's manager chose email too and gets the amber one, not the red one that does not name QB.
    assert recipients == ["dn.engineer@dn.example.vn", "dn.security@dn.example.vn", "dn.security@dn.example.vn",
                          "qb.manager@qb.example.vn"]


def test_quiet_hours_hold_a_high_alert_until_the_working_day_but_never_a_critical_one(cast, smtp):
    with time_machine.travel(EVENING, tick=True) as clock:
        high = raise_(cast.ht_security, severity="high")
        critical = raise_(cast.ht_security, severity="critical")
        deliver_emails()
        assert [subject(m).split("#")[1].split(":")[0] for m in smtp.messages] == [str(critical.pk)]
        held = Email.objects.get(alert=high)
        # Wednesday 07:30 local is 00:30 UTC.
        assert held.not_before == datetime(2026, 6, 3, 0, 30, tzinfo=UTC)
        clock.move_to(datetime(2026, 6, 3, 0, 31, tzinfo=UTC))
        deliver_emails()
    assert len(smtp.messages) == 2
    assert Email.objects.get(alert=high).status == "sent"


def test_a_mail_server_that_refuses_is_tried_again_later_and_the_hub_keeps_the_notification(cast, smtp):
    smtp.collector.refuse_next = 1
    with time_machine.travel(WORKING, tick=True) as clock:
        raise_(cast.ht_security, severity="critical")
        assert deliver_emails()["retry"] == 1
        email = Email.objects.get()
        assert (email.status, email.attempts) == ("pending", 1) and "451" in email.last_error
        assert Notification.objects.filter(user=cast.dn_security).exists()  # the hub still tells them
        assert deliver_emails()["sent"] == 0  # not before its back-off
        clock.shift(timedelta(minutes=2))
        assert deliver_emails()["sent"] == 1
    assert Email.objects.get().status == "sent" and len(smtp.messages) == 1


def test_an_email_gives_up_after_the_last_attempt(cast, smtp, settings):
    settings.HUB_EMAIL_MAX_ATTEMPTS = 2
    smtp.collector.refuse_next = 5
    with time_machine.travel(WORKING, tick=True) as clock:
        raise_(cast.ht_security, severity="critical")
        deliver_emails()
        clock.shift(timedelta(minutes=5))
        assert deliver_emails()["failed"] == 1
    assert Email.objects.get().status == "failed"


def test_rights_are_checked_again_when_the_email_is_sent(cast, smtp):
    with time_machine.travel(EVENING, tick=True) as clock:
        raise_(cast.ht_security, severity="high", tlp="amber")  # held by quiet hours
        cast.dn_security.role = Role.ENGINEER  # moved to another job meanwhile: no more TLP:AMBER
        cast.dn_security.save()
        clock.move_to(datetime(2026, 6, 3, 0, 31, tzinfo=UTC))
        assert deliver_emails()["skipped"] == 1
    assert smtp.messages == []
    assert Email.objects.get().status == "skipped"


def test_one_click_unsubscribe_stops_that_kind_of_email(cast, smtp):
    with time_machine.travel(WORKING, tick=True):
        raise_(cast.ht_security, severity="critical")
        deliver_emails()
        url = str(smtp.messages[0]["List-Unsubscribe"]).strip().strip("<>").removeprefix("http://127.0.0.1:8000")
        anonymous = Client(enforce_csrf_checks=True)
        assert anonymous.get(url).status_code == 200  # a confirmation page: prefetching links changes nothing
        answer = anonymous.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 200
        raise_(cast.ht_security, severity="critical")
        deliver_emails()
    assert len(smtp.messages) == 1
    assert Client().post(url[:-5] + "xxxx/").status_code == 404  # a damaged token does nothing


def test_the_officer_on_duty_is_mailed_first_and_has_no_quiet_hours(cast, smtp, make_user):
    from duty.models import Shift

    on_duty = make_user("dn.security2", centre="DN", role="security_officer", email="dn.security2@dn.example.vn")
    Shift.objects.create(centre=on_duty.centre, officer=on_duty, starts_at=EVENING - timedelta(hours=2),
                         ends_at=EVENING + timedelta(hours=10))
    with time_machine.travel(EVENING, tick=True):
        raise_(cast.ht_security, severity="high")  # 22:00: everyone else's quiet hours
        deliver_emails()
    assert [str(m["To"]) for m in smtp.messages] == ["dn.security2@dn.example.vn"]
    emails = list(Email.objects.order_by("id").values_list("user__username", "status"))
    assert emails == [("dn.security2", "sent"), ("dn.security", "pending")]  # on duty first; the other held


@pytest.mark.services
def test_a_served_hub_prints_alert_emails_on_its_console(cast, tmp_path, api_client):
    """`make run` serves with the console backend and runs the jobs in the server process: the email of
    a critical alert appears in its output without any worker started."""
    import time

    from tests.live import start_hub

    hub = start_hub("daphne", extra_env={"HUB_JOBS_TICK_SECONDS": "0.2", "REDIS_URL": ""}, tmp_dir=tmp_path)
    try:
        answer = api_client(cast.ht_security).post("/api/v1/alerts", alert_payload(severity="critical"),
                                                   content_type="application/json")
        assert answer.status_code == 201
        deadline = time.monotonic() + 30
        while "To: dn.security@dn.example.vn" not in hub.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = hub.log()
        assert "To: dn.security@dn.example.vn" in log
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in log
    finally:
        hub.stop()


def test_a_title_with_a_line_break_still_makes_one_subject_line(cast, smtp):
    """New titles are one line (the shared text validator); rows from before it, or written around
    the services, must still not break the mail header."""
    from alerts.models import Alert

    with time_machine.travel(WORKING, tick=True):
        alert = raise_(cast.ht_security, severity="critical", title="Dòng một")
        Alert.objects.filter(pk=alert.pk).update(title="Dòng một\nDòng hai")
        assert deliver_emails()["sent"] == 1
    assert subject(smtp.messages[0]) == f"[Hub] Cảnh báo mức Nghiêm trọng #{alert.pk}: Dòng một Dòng hai"


def test_raising_an_alert_costs_the_same_queries_for_ten_recipients_as_for_fifty(cast, make_user):
    """Each recipient's quiet hours come from their centre's calendar: the centre is read with the
    recipient, not by a query per person (an alert to 1,000 people cost 1,000 more queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_of_one_alert() -> int:
        with time_machine.travel(EVENING, tick=True), CaptureQueriesContext(connection) as queries:
            raise_(cast.ht_security, severity="high")
        return len(queries.captured_queries)

    def add_officers(n: int, start: int) -> None:
        for i in range(start, start + n):
            # A security officer's default for a high alert is an email (notify/preferences.py).
            make_user(f"dn.officer{i}", centre="DN", role="security_officer", email=f"o{i}@dn.example.vn")

    add_officers(10, 0)
    queries_of_one_alert()  # the first fills the process's caches (calendars, the security topic)
    few = queries_of_one_alert()
    add_officers(40, 10)  # 50: under SQLite's bulk_create batch (999 variables), which would add one
    many = queries_of_one_alert()
    assert Email.objects.filter(user__username__startswith="dn.officer").count() == 10 + 10 + 50
    assert many == few
