"""A request's comment or file reaches, in the hub, by email and by webhook, only the people its own
marking lets read it — the rule of the request's page (`requests.selectors.may_read_event`, through
`item_audience`): a comment marked TLP:RED or shared with one centre narrows who reads it below the
request's readers. Decided when the notification is written and again when it is read or sent;
and the content of a TLP:RED or AMBER+STRICT item never goes into an email, whoever reads it.

The cast: HT asks DN for help on a TLP:AMBER request; QB's manager watches it (an AMBER request is
read by its watchers, a RED comment only by the two centres)."""

from __future__ import annotations

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from notify.delivery import queue_digests, run_mail_jobs
from notify.models import Notification
from notify.selectors import READABLE_RELATED, readable
from notify.services import update_preferences
from notify.webhooks import deliver_webhooks, register_webhook
from requests.models import TicketEvent
from requests.services import add_attachment, add_comment, add_watcher, create_ticket, update_ticket
from tests.notify.conftest import html_part, text_part
from tests.notify.test_unseen_and_replies import T0, minutes
from tests.notify.test_webhooks import SECRET as HOOK_SECRET
from tests.notify.test_webhooks import verify

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "Chỉ hai trung tâm: tài khoản admin bị lộ, mật khẩu tạm Zq-7781"
FILE = "matkhau-admin-Zq7781.txt"


def request_watched_by_qb(cast, **fields):
    ticket = create_ticket(by=cast.ht_engineer, title="Rà soát cổng dịch vụ công", category="security",
                           description="Cần hỗ trợ.", target_centre="DN", **fields)
    add_watcher(ticket, by=cast.ht_engineer, username="qb.manager")
    return ticket


def attach(ticket, by, name=FILE, **fields):
    return add_attachment(ticket, by=by, upload=SimpleUploadedFile(name, b"secret", content_type="text/plain"),
                          **fields)


def mails_after_the_unseen_rule(clock) -> None:
    """Everything still unseen ten minutes on is emailed (the unseen rule), in one pass or two."""
    clock.move_to(minutes(30))
    run_mail_jobs()
    clock.move_to(minutes(60))
    run_mail_jobs()


def everything_mailed(smtp) -> list[str]:
    return [part for message in smtp.messages for part in (text_part(message), html_part(message))]


def told_of(user, event_kind: str) -> list[Notification]:
    return list(Notification.objects.filter(user=user, ticket_event__kind=event_kind))


def test_a_red_comment_on_an_amber_request_is_quoted_in_nobody_s_email(cast, smtp):
    with time_machine.travel(T0, tick=False) as clock:
        ticket = request_watched_by_qb(cast)
        clock.move_to(minutes(1))
        add_comment(ticket, by=cast.dn_manager, body=SECRET, tlp="red")
        mails_after_the_unseen_rule(clock)
    # The requester may read it, and is told of it by email: that there is one, not what it says.
    [mail] = smtp.to("ht.engineer@ht.example.vn")
    for part in (text_part(mail), html_part(mail)):
        assert SECRET not in part
        assert "TLP:RED hoặc TLP:AMBER+STRICT" in part, part
    # QB's watcher may not read it at all: not told of it, in the hub or by email.
    assert told_of(cast.qb_manager, TicketEvent.Kind.COMMENT) == []
    assert smtp.to("qb.manager@qb.example.vn"), "QB's watcher is still emailed the rest of the request"
    assert all(SECRET not in part for part in everything_mailed(smtp))


def test_a_comment_shared_only_with_dn_reaches_neither_qb_s_email_nor_qb_s_bell(cast, smtp, api_client):
    with time_machine.travel(T0, tick=False) as clock:
        ticket = request_watched_by_qb(cast, tlp="green")  # GREEN: the comment's scope alone narrows it
        clock.move_to(minutes(1))
        add_comment(ticket, by=cast.dn_manager, body=SECRET, shared_with=["DN"])
        inbox = api_client(cast.qb_manager).get("/api/v1/notifications").json()
        mails_after_the_unseen_rule(clock)
    assert told_of(cast.qb_manager, TicketEvent.Kind.COMMENT) == []
    assert told_of(cast.ht_engineer, TicketEvent.Kind.COMMENT) == []  # HT is the other centre: not in the scope
    assert [n["ticket_event"] for n in inbox["results"] if n["ticket_event"]] == [
        n.ticket_event_id for n in Notification.objects.filter(user=cast.qb_manager).order_by("-id")]
    assert inbox["unseen"] == len(inbox["results"])
    assert all(SECRET not in part for part in everything_mailed(smtp))
    assert smtp.to("qb.manager@qb.example.vn"), "QB's watcher is still emailed the rest of the request"


def test_a_green_comment_on_a_green_request_is_still_quoted(cast, smtp):
    """What may go by email still does: the fix withholds by the item's marking, not every comment."""
    with time_machine.travel(T0, tick=False) as clock:
        ticket = request_watched_by_qb(cast, tlp="green")
        clock.move_to(minutes(1))
        add_comment(ticket, by=cast.dn_manager, body="Bên em đã nhận, chiều nay kiểm tra.")
        mails_after_the_unseen_rule(clock)
    for address in ("qb.manager@qb.example.vn", "ht.engineer@ht.example.vn"):
        [mail] = smtp.to(address)
        assert "Bên em đã nhận, chiều nay kiểm tra." in text_part(mail)
        assert "Bên em đã nhận, chiều nay kiểm tra." in html_part(mail)


def test_a_red_file_s_name_is_in_the_hub_only_for_its_readers_and_in_nobody_s_email(cast, smtp, api_client):
    with time_machine.travel(T0, tick=False) as clock:
        ticket = request_watched_by_qb(cast)
        clock.move_to(minutes(1))
        attach(ticket, cast.dn_manager, tlp="red")
        qb = api_client(cast.qb_manager).get("/api/v1/notifications").json()["results"]
        ht = api_client(cast.ht_engineer).get("/api/v1/notifications").json()["results"]
        mails_after_the_unseen_rule(clock)
    assert qb and all("matkhau" not in n["text"] for n in qb), [n["text"] for n in qb]
    assert told_of(cast.qb_manager, TicketEvent.Kind.ATTACHMENT) == []
    # The requester reads the file in the hub, where its name is shown …
    assert any(FILE in n["text"] for n in ht), [n["text"] for n in ht]
    # … but its name is TLP:RED content: not in an email.
    [mail] = smtp.to("ht.engineer@ht.example.vn")
    assert "TLP:RED hoặc TLP:AMBER+STRICT" in text_part(mail)
    assert all("matkhau" not in part for part in everything_mailed(smtp))


def test_the_unseen_badge_counts_only_what_the_person_may_still_read(cast, api_client):
    """Rights change after a notification is written: the badge, like the list, follows them."""
    ticket = create_ticket(by=cast.ht_engineer, title="Rà soát", category="security", description="x",
                           target_centre="DN", tlp="green")
    add_watcher(ticket, by=cast.dn_manager)  # DN's manager follows it (and was told of it: a new request)
    add_comment(ticket, by=cast.dn_engineer, body="Chỉ DN: " + SECRET, shared_with=["DN"])
    add_comment(ticket, by=cast.dn_engineer, body="Đã nhận, đang xem.")
    add_comment(ticket, by=cast.dn_engineer, body="Ghi chú nội bộ của DN", internal=True)

    def bell(user) -> tuple[int, int]:
        answer = api_client(user).get("/api/v1/notifications").json()
        unseen = Notification.objects.filter(user=user, seen_at__isnull=True).select_related(*READABLE_RELATED)
        # The badge is counted partly in the database: it is exactly what the list's rule keeps.
        assert answer["unseen"] == len(readable(user, list(unseen)))
        return answer["unseen"], len(answer["results"])

    assert bell(cast.dn_manager) == (4, 4)  # the request, the DN-only comment, the public one, the note
    # HT sends the new request to QB instead: the DN-only comment now has no reader but hub admins (a
    # scope is of the request's two centres), while DN's manager, its watcher, still reads the request.
    update_ticket(ticket, by=cast.ht_engineer, changes={"target_centre": "QB"})
    # The request, the public comment, the redirection, and DN's internal note, which stays DN's.
    assert bell(cast.dn_manager) == (4, 4)
    assert Notification.objects.filter(user=cast.dn_manager, seen_at__isnull=True).count() == 5
    # HT then marks it RED: a watcher from outside its two centres stops reading it, and everything in it.
    update_ticket(ticket, by=cast.ht_engineer, changes={"tlp": "red"})
    assert bell(cast.dn_manager) == (0, 0)
    assert Notification.objects.filter(user=cast.dn_manager, seen_at__isnull=True).count() == 5


def test_a_webhook_whose_owner_may_not_read_a_file_carries_neither_it_nor_its_name(cast, receivers,
                                                                                    allow_private):
    qb_hook, dn_hook = receivers(), receivers()
    # QB's manager watches the request, so QB's SIEM hears of its changes (AMBER: within its ceiling).
    register_webhook(user=cast.qb_manager, url=qb_hook.url, events=["ticket"], secret=HOOK_SECRET, max_tlp="amber")
    # DN's manager may read every file of it, but DN's SIEM takes GREEN at most.
    register_webhook(user=cast.dn_manager, url=dn_hook.url, events=["ticket"], secret=HOOK_SECRET)
    ticket = request_watched_by_qb(cast, tlp="green")
    attach(ticket, cast.dn_manager, name="bao-cao-chung.txt")  # the request's marking: GREEN
    attach(ticket, cast.dn_manager, tlp="red")
    attach(ticket, cast.dn_manager, name="amber-noi-bo.txt", tlp="amber")
    for _ in range(12):  # each pass sends each webhook's oldest delivery
        counts = deliver_webhooks()
        if not (counts["delivered"] or counts["running"]):
            break
    qb = [verify(r) for r in qb_hook.requests]
    dn = [verify(r) for r in dn_hook.requests]
    assert [(e["event"], e["data"]["change"]["after"].get("name")) for e in qb if e["event"] == "ticket.attachment"] \
        == [("ticket.attachment", "bao-cao-chung.txt"), ("ticket.attachment", "amber-noi-bo.txt")]
    assert [(e["event"], e["data"]["change"]["after"].get("name")) for e in dn if e["event"] == "ticket.attachment"] \
        == [("ticket.attachment", "bao-cao-chung.txt")]
    sent = b"".join(r["body"] for r in qb_hook.requests + dn_hook.requests)
    assert b"matkhau" not in sent and b"amber-noi-bo" not in b"".join(r["body"] for r in dn_hook.requests)


def test_a_red_request_s_title_is_not_in_its_centre_s_digest(cast, smtp):
    """The digest lists the centre's open requests: a TLP:RED one by its reference and link only."""
    with time_machine.travel(T0, tick=False) as clock:
        create_ticket(by=cast.ht_engineer, title="Lộ mật khẩu quản trị cổng thanh toán", category="security",
                      description="x", target_centre="DN", tlp="red")
        create_ticket(by=cast.ht_engineer, title="Cập nhật danh bạ", category="software", description="x",
                      target_centre="DN", tlp="green")
        update_preferences(user=cast.dn_manager, digest="daily")
        clock.move_to(minutes(60 * 24))
        assert len(queue_digests()) == 1
        run_mail_jobs()
    [digest] = [m for m in smtp.to("dn.manager@dn.example.vn") if "Bản tin" in str(m["Subject"])]
    for part in (text_part(digest), html_part(digest)):
        assert "Cập nhật danh bạ" in part
        assert "Lộ mật khẩu" not in part and "TLP:RED" in part
