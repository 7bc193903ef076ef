"""The managers' digest, opt-in: daily or weekly at HUB_DIGEST_HOUR, once per period even with two
workers, listing their centre's overdue, due-soon and open requests and the alerts their centre has not
acknowledged (TLP:RED titles withheld), over real SMTP."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from alerts.services import acknowledge_alert, raise_alert
from notify.delivery import queue_digests, run_mail_jobs
from notify.models import Email
from notify.services import update_preferences
from requests.models import Ticket
from requests.services import create_ticket
from tests.alerts.conftest import alert_payload
from tests.notify.conftest import subject, text_part

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY_6AM = datetime(2026, 6, 7, 23, 0, tzinfo=UTC)  # Monday 8 June 06:00 local


def test_a_daily_digest_tells_a_manager_what_needs_attention(cast, smtp):
    with time_machine.travel(MONDAY_6AM - timedelta(days=3), tick=False):
        late = create_ticket(by=cast.ht_engineer, title="Đã quá hạn", category="software", target_centre="DN",
                             priority="urgent")
    with time_machine.travel(MONDAY_6AM - timedelta(hours=2), tick=False):
        soon = create_ticket(by=cast.ht_engineer, title="Sắp đến hạn", category="software", target_centre="DN",
                             priority="high")
        create_ticket(by=cast.ht_engineer, title="Việc của QB", category="software", target_centre="QB")
        raise_alert(by=cast.ht_security, **alert_payload(title="Chưa xác nhận", severity="medium"))
        done = raise_alert(by=cast.ht_security, **alert_payload(title="Đã xác nhận"))
        acknowledge_alert(done, by=cast.dn_security)
        raise_alert(by=cast.ht_security, **alert_payload(title="Bí mật", tlp="red", shared_with=["DN"]))
    with time_machine.travel(MONDAY_6AM, tick=False) as clock:
        update_preferences(user=cast.dn_manager, digest="daily")
        assert queue_digests() == []  # before 07:00
        clock.move_to(MONDAY_6AM + timedelta(hours=1, minutes=5))
        assert len(queue_digests()) == 1
        assert queue_digests() == []  # once per day, however many workers ask
        run_mail_jobs()
    [message] = smtp.to("dn.manager@dn.example.vn")
    assert subject(message) == "[Hub] Bản tin ngày: 2 yêu cầu đang mở, 1 quá hạn"
    text = text_part(message)
    overdue, due_soon = text.split("Quá hạn:")[1].split("Đến hạn trong 48 giờ:")
    assert late.reference in overdue and soon.reference not in overdue
    assert soon.reference in due_soon
    assert "Việc của QB" not in text  # not DN's
    assert "Chưa xác nhận" in text and "Đã xác nhận" not in text
    assert "Bí mật" not in text and "TLP:RED" in text
    assert str(message["List-Unsubscribe"]).strip().startswith("<http://127.0.0.1:8000/notifications/unsubscribe/")
    assert Ticket.objects.count() == 3


def test_a_weekly_digest_goes_on_mondays_only_and_nothing_when_nothing_is_open(cast, smtp):
    with time_machine.travel(MONDAY_6AM - timedelta(days=2), tick=False) as clock:  # Saturday
        update_preferences(user=cast.dn_manager, digest="weekly")
        assert queue_digests() == []  # not before the first Monday after asking
        clock.move_to(MONDAY_6AM + timedelta(days=1, hours=2))  # Tuesday 08:00
        assert len(queue_digests()) == 1  # Monday's slot was missed (worker down): sent now, once
        clock.shift(timedelta(days=1))
        assert queue_digests() == []
        run_mail_jobs()
    assert smtp.messages == []  # nothing to report: no email at all
    assert Email.objects.get(type="digest").status == "skipped"
