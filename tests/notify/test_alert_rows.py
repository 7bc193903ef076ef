"""An alert's in-hub notifications, as rows: one per reader whose channel records one, with the
reader's channel, the alert, the verb, the email it was sent with, in recipient order (ids), nothing
else set. They are written when the raise's notice is expanded (notify.services.expand_alert_notices,
the job `notify.alerts`). On PostgreSQL by one INSERT … SELECT over arrays
(`_insert_notifications`), elsewhere by bulk_create: this test holds both to the same rows."""

import pytest

from alerts.services import raise_alert
from notify.models import Channel, Email, Kind, Notification, Preference
from notify.services import expand_alert_notices

pytestmark = pytest.mark.django_db


def test_each_reader_gets_the_row_their_channel_asks_for(cast):
    Preference.objects.create(user=cast.dn_manager, kind=Kind.ALERT_HIGH, channel=Channel.EMAIL)
    Preference.objects.create(user=cast.qb_manager, kind=Kind.ALERT_HIGH, channel=Channel.HUB)  # no row
    alert = raise_alert(by=cast.ht_security, title="Chiến dịch lừa đảo", severity="high", tlp="green",
                        description="Thư giả mạo.")
    expand_alert_notices()
    rows = list(Notification.objects.filter(alert=alert).order_by("id"))
    emailed = {e.user_id: e.pk for e in Email.objects.filter(alert=alert)}
    # Security officers: email (their default for high); managers and engineers: browser; the hub
    # admin: browser; the raiser: nothing; QB's manager chose "in the hub only": no row.
    expected = {cast.dn_security.pk: Channel.EMAIL, cast.dn_manager.pk: Channel.EMAIL,
                cast.ht_manager.pk: Channel.BROWSER, cast.ht_engineer.pk: Channel.BROWSER,
                cast.dn_engineer.pk: Channel.BROWSER, cast.admin.pk: Channel.BROWSER}
    assert {r.user_id: r.channel for r in rows} == expected
    assert set(emailed) == {cast.dn_security.pk, cast.dn_manager.pk}
    for row in rows:
        assert (row.type, row.verb, row.alert_id) == (Notification.Type.ALERT, "raised", alert.pk)
        assert row.email_id == emailed.get(row.user_id)
        assert row.actor_id is None and row.ticket_id is None and row.message_id is None and row.seen_at is None
        assert row.created_at is not None
    # Recipient order: the security officers first (the outbox mails in id order).
    assert rows[0].user_id == cast.dn_security.pk
