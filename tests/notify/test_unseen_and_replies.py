"""The unseen rule and replies by email, with real SMTP in both directions.

Mentions and request changes are emailed only when the person has not seen them in the hub within
HUB_EMAIL_UNSEEN_MINUTES, as one email per person per HUB_EMAIL_BATCH_MINUTES. A request's email
carries a signed reply address; a reply sent over SMTP to `run_mail_server` becomes a public comment
by that person, quoted text and signature stripped; anything forged, foreign or expired creates
nothing and is only logged. Control characters in a header or a file name are replaced, never a
reason to bounce the message or lose its log row."""

import smtplib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import time_machine
from django.core.management import call_command

from chat.services import create_topic, mark_topic_read, post_message
from notify.delivery import queue_batches, run_mail_jobs
from notify.management.commands.run_mail_server import start_server
from notify.models import Email, InboundEmail, Notification
from notify.services import mark_seen, update_preferences
from notify.tokens import parse_reply_address, reply_address
from requests.models import Comment
from requests.services import add_comment, create_ticket
from tests.live import ROOT, database_url_of_test_db, free_port
from tests.notify.conftest import subject, text_part

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 6, 2, 2, 0, tzinfo=UTC)  # Tuesday 09:00 in Hà Nội


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def ticket(cast):
    with time_machine.travel(T0, tick=False):
        return create_ticket(by=cast.ht_engineer, title="Rà soát cổng dịch vụ công", category="security",
                             description="Cần hỗ trợ.", target_centre="DN")


def test_a_change_unseen_for_ten_minutes_is_emailed_once_with_a_reply_address(cast, smtp, ticket):
    with time_machine.travel(minutes(1), tick=False) as clock:
        add_comment(ticket, by=cast.dn_manager, body="Bên em đã nhận, chiều nay kiểm tra.")
        clock.move_to(minutes(10))
        # The new request (minute 0) is ten minutes unseen by DN's manager; the comment (minute 1) not yet.
        assert [e.user for e in queue_batches()] == [cast.dn_manager]
        clock.move_to(minutes(11))
        counts = run_mail_jobs()
        assert (counts["batches"], counts["sent"]) == (1, 2)
        clock.move_to(minutes(40))
        assert run_mail_jobs()["sent"] == 0  # told once
    [message] = smtp.to("ht.engineer@ht.example.vn")
    assert subject(message) == f"[Hub] {ticket.reference}: một thay đổi bạn chưa xem — Rà soát cổng dịch vụ công"
    assert "Bên em đã nhận, chiều nay kiểm tra." in text_part(message)
    assert f"http://127.0.0.1:8000/tickets/{ticket.pk}/" in text_part(message)
    reply_to = str(message["Reply-To"]).strip()
    token = parse_reply_address(reply_to, today=T0.date())
    assert (token.ticket_id, token.user_id) == (ticket.pk, cast.ht_engineer.pk)
    assert reply_to.startswith("hub+r-") and reply_to.endswith("@hub.example") and len(reply_to.split("@")[0]) <= 64


def test_what_was_seen_in_the_hub_is_not_emailed(cast, smtp, ticket):
    with time_machine.travel(minutes(1), tick=False) as clock:
        add_comment(ticket, by=cast.dn_manager, body="Đã nhận.")
        clock.move_to(minutes(5))
        mark_seen(user=cast.ht_engineer, ticket_id=ticket.pk)  # opened the request's page
        clock.move_to(minutes(30))
        run_mail_jobs()
    assert smtp.to("ht.engineer@ht.example.vn") == []


def test_mentions_read_in_the_topic_are_not_emailed_and_the_rest_come_in_one_email_per_period(cast, smtp):
    topic = create_topic(slug="phat-trien-phan-mem", name_vi="Phát triển phần mềm", name_en="Software")
    with time_machine.travel(T0, tick=False) as clock:
        first, _ = post_message(topic, by=cast.ht_engineer, body="@dn.engineer xem giúp bản vá này")
        mark_topic_read(topic, by=cast.dn_engineer, up_to=first.pk)  # read it in the hub
        post_message(topic, by=cast.ht_engineer, body="@dn.engineer còn một lỗi nữa")
        post_message(topic, by=cast.ht_manager, body="@dn.engineer và lỗi thứ ba")
        clock.move_to(minutes(11))
        run_mail_jobs()
        post_message(topic, by=cast.ht_manager, body="@dn.engineer thêm một câu hỏi")
        clock.move_to(minutes(22))
        run_mail_jobs()  # unseen for 11 minutes, but one email per 15-minute period
        assert len(smtp.to("dn.engineer@dn.example.vn")) == 1
        clock.move_to(minutes(27))
        run_mail_jobs()
    first_mail, second_mail = smtp.to("dn.engineer@dn.example.vn")
    assert subject(first_mail) == "[Hub] 2 nội dung bạn chưa xem"
    body = text_part(first_mail)
    assert "còn một lỗi nữa" in body and "lỗi thứ ba" in body and "bản vá" not in body
    assert "thêm một câu hỏi" in text_part(second_mail)
    assert first_mail["Reply-To"] is None  # not about one request


def test_a_muted_topic_and_mentions_only_follow_the_person_s_choice(cast, smtp):
    topic = create_topic(slug="su-kien-hoi-thao", name_vi="Sự kiện", name_en="Events")
    update_preferences(user=cast.dn_engineer, topics={"su-kien-hoi-thao": "mute"})
    update_preferences(user=cast.dn_manager, topics={"su-kien-hoi-thao": "mentions"})
    post_message(topic, by=cast.ht_engineer, body="@dn.engineer @DN hội thảo tuần sau")
    kinds = {n.user.username for n in Notification.objects.filter(type="mention")}
    # muted: nothing; mentions only: a centre-wide @DN is not a mention of *them*; others in DN: yes.
    assert "dn.engineer" not in kinds and "dn.manager" not in kinds and "dn.security" in kinds


def test_email_preference_off_or_hub_only_sends_nothing(cast, smtp, ticket):
    update_preferences(user=cast.ht_engineer, channels={"ticket": "hub"})
    with time_machine.travel(minutes(1), tick=False) as clock:
        add_comment(ticket, by=cast.dn_manager, body="Đã nhận.")
        clock.move_to(minutes(30))
        run_mail_jobs()
    assert smtp.to("ht.engineer@ht.example.vn") == []
    assert Notification.objects.get(user=cast.ht_engineer, ticket=ticket).channel == "hub"  # still in the hub


# --- replies by email ----------------------------------------------------------------------------------


def reply(to: str, sender: str, text: str, attachment: tuple[str, bytes] | None = None,
          headers: dict | None = None) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, "Re: [Hub] yêu cầu"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if attachment:
        message.add_attachment(attachment[1], maintype="text", subtype="plain", filename=attachment[0])
    return message.as_bytes()


QUOTED = """Em đã kiểm tra, không thấy dấu hiệu xâm nhập.

Trân trọng,
--
Nguyễn Văn A
Vào Th 3, 2 thg 6, 2026 lúc 09:11 Hub <hub+r-xyz@hub.example> đã viết:
> Bên em đã nhận, chiều nay kiểm tra.
"""


@pytest.fixture
def mail_server():
    port = free_port()
    controller = start_server("127.0.0.1", port)
    yield port
    controller.stop()


def send_smtp(port: int, sender: str, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(sender, [to], raw)


def test_a_reply_over_smtp_becomes_a_public_comment_by_that_person(cast, ticket, mail_server):
    address = reply_address(ticket_id=ticket.pk, user_id=cast.ht_engineer.pk)
    raw = reply(address, "Kỹ sư HT <ht.engineer@ht.example.vn>", QUOTED, attachment=("nhat-ky.txt", b"log line\n"))
    send_smtp(mail_server, "ht.engineer@ht.example.vn", address, raw)
    comment = Comment.objects.get(ticket=ticket)
    assert (comment.author, comment.internal) == (cast.ht_engineer, False)
    assert comment.body == "Em đã kiểm tra, không thấy dấu hiệu xâm nhập.\n\nTrân trọng,"
    assert [a.original_name for a in comment.attachments.all()] == ["nhat-ky.txt"]
    assert InboundEmail.objects.get().outcome == "commented"


@pytest.mark.parametrize("case", ["forged", "other_sender", "other_person", "unknown", "auto_reply", "expired"])
def test_forged_foreign_or_expired_replies_create_nothing_and_are_logged(cast, ticket, mail_server, case):
    address = reply_address(ticket_id=ticket.pk, user_id=cast.ht_engineer.pk)
    sender, headers = "ht.engineer@ht.example.vn", {}
    if case == "forged":  # the ticket number changed, the signature kept
        local, domain = address.split("@")
        parts = local.split("-")
        parts[1] = "1" + parts[1]
        address = "-".join(parts) + "@" + domain
    elif case == "other_sender":  # forwarded to someone else, who answers
        sender = "stranger@example.org"
    elif case == "other_person":  # a token for QB's manager, who may not see the request
        address = reply_address(ticket_id=ticket.pk, user_id=cast.qb_manager.pk)
        sender = "qb.manager@qb.example.vn"
    elif case == "unknown":
        address = "hub@hub.example"
    elif case == "auto_reply":
        headers = {"Auto-Submitted": "auto-replied"}
    elif case == "expired":
        address = reply_address(ticket_id=ticket.pk, user_id=cast.ht_engineer.pk,
                                today=datetime(2025, 1, 1).date())
    send_smtp(mail_server, sender, address, reply(address, sender, "Trả lời", headers=headers))
    assert not Comment.objects.filter(ticket=ticket).exists()
    record = InboundEmail.objects.get()
    assert record.outcome == "refused" and record.reason


def raw_reply(to: str, subject: bytes, attachment_header: bytes | None = None) -> bytes:
    """A reply written byte for byte: an encoded word or a file name may carry what EmailMessage
    would not write (a NUL)."""
    plain = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    head = (b"From: ht.engineer@ht.example.vn\r\nTo: " + to.encode() + b"\r\nSubject: " + subject
            + b"\r\nMIME-Version: 1.0\r\n")
    text = "Em đã kiểm tra, không thấy dấu hiệu xâm nhập.".encode()
    if attachment_header is None:
        return head + plain + text + b"\r\n"
    return (head + b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n" + plain + text + b"\r\n--XX\r\n"
            + attachment_header + b"\r\nContent-Transfer-Encoding: base64\r\n\r\nbmjhuq10IGvDvQo=\r\n--XX--\r\n")


def test_a_subject_with_a_nul_becomes_the_comment_and_is_logged_with_the_nul_replaced(cast, ticket, mail_server):
    """An encoded word can carry a NUL; the message is logged with it replaced, not answered with an
    SMTP 500 carrying the exception's text (review 3)."""
    address = reply_address(ticket_id=ticket.pk, user_id=cast.ht_engineer.pk)
    send_smtp(mail_server, "ht.engineer@ht.example.vn", address,
              raw_reply(address, b"=?utf-8?b?UmU6IAB5w6p1IGPhuqd1?="))  # "Re: \x00yêu cầu"
    record = InboundEmail.objects.get()
    comment = Comment.objects.get(ticket=ticket)
    assert (record.ticket_id, record.outcome, record.comment_id) == (ticket.pk, "commented", comment.pk)
    assert record.subject == "Re: \ufffdyêu cầu"


def test_an_attachment_named_with_a_nul_is_kept_with_the_comment_and_its_log_row(cast, ticket, mail_server):
    """The comment and its log row are written together (the comment was committed, then its log row
    refused); the file is kept under its name with the NUL replaced (review 3)."""
    address = reply_address(ticket_id=ticket.pk, user_id=cast.ht_engineer.pk)
    header = b"Content-Type: text/plain\r\nContent-Disposition: attachment; filename*=utf-8''nhat%00ky.txt"
    send_smtp(mail_server, "ht.engineer@ht.example.vn", address, raw_reply(address, b"Re: yeu cau", header))
    comment = Comment.objects.get(ticket=ticket)
    record = InboundEmail.objects.get()
    assert (record.outcome, record.comment_id, record.reason) == ("commented", comment.pk, "")
    assert [a.original_name for a in comment.attachments.all()] == ["nhat\ufffdky.txt"]


def test_receive_email_reads_one_message_on_standard_input(cast, ticket, tmp_path):
    address = reply_address(ticket_id=ticket.pk, user_id=cast.ht_engineer.pk)
    raw = reply(address, "ht.engineer@ht.example.vn", "Đồng ý phương án.\n\nOn Tue, 2 Jun 2026 at 09:11, Hub "
                "<hub@hub.example> wrote:\n> cũ\n")
    env = {"DATABASE_URL": database_url_of_test_db(), "DJANGO_DEBUG": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "manage.py", "receive_email", "--recipient", address], input=raw,
                          cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert Comment.objects.get(ticket=ticket).body == "Đồng ý phương án."
    forged = subprocess.run([sys.executable, "manage.py", "receive_email"],
                            input=b"From: x@y\nTo: hub@hub.example\n\nhi", cwd=ROOT, env=env, capture_output=True,
                            timeout=60)
    assert forged.returncode == 0  # refused quietly: no bounce
    assert b"refused" in forged.stdout
    assert Comment.objects.filter(ticket=ticket).count() == 1


def test_the_reply_in_the_email_round_trip(cast, smtp, ticket, mail_server):
    """Out by SMTP with the reply address, back in by SMTP as a comment."""
    with time_machine.travel(minutes(1), tick=True) as clock:
        add_comment(ticket, by=cast.dn_manager, body="Anh cho em xin nhật ký.")
        clock.move_to(minutes(12))
        run_mail_jobs()
        [message] = smtp.to("ht.engineer@ht.example.vn")
        reply_to = str(message["Reply-To"]).strip()
        send_smtp(mail_server, "ht.engineer@ht.example.vn", reply_to,
                  reply(reply_to, "ht.engineer@ht.example.vn", "Em gửi anh nhật ký ở tệp đính kèm.",
                        attachment=("auth.log", b"Jun 2 sshd[1]: Failed password\n")))
    comments = list(Comment.objects.filter(ticket=ticket).order_by("id"))
    assert [c.author.username for c in comments] == ["dn.manager", "ht.engineer"]
    assert Email.objects.filter(user=cast.ht_engineer, status="sent").count() == 1


def test_the_mail_server_command_answers_and_stops(cast):
    port = free_port()
    process = subprocess.Popen([sys.executable, "manage.py", "run_mail_server", "--port", str(port)], cwd=ROOT,
                               env={"DATABASE_URL": database_url_of_test_db(), "DJANGO_DEBUG": "1",
                                    "PATH": "/usr/bin:/bin"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        lines: list[str] = []
        assert process.stdout is not None  # stdout=PIPE
        while not any("run_mail_server:" in line for line in lines):
            lines.append(process.stdout.readline().decode())
            assert lines[-1], "".join(lines)
        assert f"SMTP on 127.0.0.1:{port}" in lines[-1]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            assert client.noop()[0] == 250
    finally:
        process.terminate()
        assert process.wait(20) == 0
    call_command("check")


def test_a_strict_message_s_mention_is_emailed_without_its_text(cast, smtp):
    topic = create_topic(slug="an-toan-thong-tin", name_vi="An toàn thông tin", name_en="Security")
    with time_machine.travel(T0, tick=False) as clock:
        post_message(topic, by=cast.ht_security, body="@dn.security mật khẩu quản trị bị lộ", tlp="amber+strict",
                     shared_with=["DN"])
        clock.move_to(minutes(11))
        run_mail_jobs()
    [message] = smtp.to("dn.security@dn.example.vn")
    text = text_part(message)
    assert "mật khẩu" not in text and "TLP:AMBER+STRICT" in text
    assert "/topics/an-toan-thong-tin/#m-" in text
